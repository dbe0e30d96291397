//! The import job: check, plan batches, send them concurrently, settle
//! refusals and unknown outcomes, report.

use std::collections::{HashMap, HashSet};
use std::io::{IsTerminal, Write};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use anyhow::Context;
use indicatif::{ProgressBar, ProgressStyle};
use serde_json::{Map, Value, json};
use tokio::sync::Mutex;
use twenty_client::Client;
use twenty_core::{Catalog, FieldType, Object};

use super::journal::{self, Header, Journal, JournalError, Outcome, Rejection};
use super::remote::{self, Pages};
use super::rows::{self, FileFormat, Row};
use super::{EXIT_ALL_DONE, EXIT_INVALID_INPUT, EXIT_SOME_REJECTED, ImportArgs};

/// How many times the rows of a batch are sent again after failures that
/// leave their fate unknown or that a repeat may cure, before the import
/// stops (resumably) with the error.
const MAX_UNKNOWN_OUTCOMES: u32 = 8;

/// Values per `field[in]:[...]` look-up for `--update-by`.
const KEYS_PER_LOOKUP: usize = 50;

/// One row on its way to the server.
#[derive(Debug, Clone)]
struct Item {
    line: u64,
    id: String,
    body: Map<String, Value>,
}

/// A create many request's worth of rows.
#[derive(Debug)]
struct Batch {
    number: u64,
    items: Vec<Item>,
    /// Journaled as sent by an earlier run: some of its records may exist.
    resumed: bool,
}

/// A rejected row as written to the reject file.
#[derive(Debug)]
struct Reject {
    row: u64,
    reason: String,
}

/// What the workers share.
struct Job {
    client: Client,
    object: Object,
    journal: Option<Journal>,
    progress: ProgressBar,
    stop: AtomicBool,
}

/// Imports the rows of `args.file` into `object`.
///
/// Returns the exit code: [`EXIT_ALL_DONE`] when every row was created or
/// updated, [`EXIT_SOME_REJECTED`] when some were rejected (they are in the
/// reject file), [`EXIT_INVALID_INPUT`] when the file cannot be used or no
/// row could be sent. Fails with the client's error when the server
/// cannot be reached or refuses the key; the journal then lets
/// `--resume` finish the job.
pub async fn import(
    client: &Client,
    catalog: &Catalog,
    object: &Object,
    args: &ImportArgs,
) -> anyhow::Result<i32> {
    // Read and check every row before anything is sent.
    let bytes = match std::fs::read(&args.file) {
        Ok(bytes) => bytes,
        Err(e) => {
            let reason = crate::io_reason(&e);
            return invalid(&format!(
                "failed to read `{}`: {reason}",
                args.file.display()
            ));
        }
    };
    let Some(format) = import_format(args) else {
        return invalid(&format!(
            "cannot tell the format of `{}` from its extension: pass --as csv or --as jsonl",
            args.file.display()
        ));
    };
    let Ok(text) = std::str::from_utf8(&bytes) else {
        return invalid(&format!("`{}` is not UTF-8 text", args.file.display()));
    };
    let rows = match rows::read(object, format, text) {
        Ok(rows) => rows,
        Err(e) => return invalid(&format!("`{}`: {e}", args.file.display())),
    };
    let max = catalog.max_limit().max(1);
    let batch_size = args.batch_size.unwrap_or(max);
    if batch_size > max {
        return invalid(&format!(
            "--batch-size {batch_size} is above the server's maximum of {max} records per request"
        ));
    }
    let update_by = match &args.update_by {
        Some(column) => match rows::resolve_key(object, column) {
            Ok(path) => Some(path),
            Err(reason) => return invalid(&format!("--update-by: {reason}")),
        },
        None => None,
    };

    let reject_path = args
        .reject_file
        .clone()
        .unwrap_or_else(|| suffixed(&args.file, ".rejects.jsonl"));
    let by_line: HashMap<u64, &Row> = rows.iter().map(|r| (r.line, r)).collect();
    let mut rejects: Vec<Reject> = rows
        .iter()
        .filter_map(|r| {
            r.body.as_ref().err().map(|reason| Reject {
                row: r.line,
                reason: reason.clone(),
            })
        })
        .collect();
    let valid: Vec<&Row> = rows.iter().filter(|r| r.body.is_ok()).collect();

    if args.dry_run {
        write_rejects(&reject_path, &rejects, &by_line)?;
        eprintln!(
            "dry run: {} of {} rows are valid, {} rejected{}; nothing was sent",
            valid.len(),
            rows.len(),
            rejects.len(),
            see(&reject_path, rejects.len())
        );
        return Ok(exit_code(valid.len(), rejects.len()));
    }
    if valid.is_empty() {
        write_rejects(&reject_path, &rejects, &by_line)?;
        if rows.is_empty() {
            eprintln!("`{}` holds no rows; nothing to do", args.file.display());
            return Ok(EXIT_ALL_DONE);
        }
        eprintln!(
            "error: none of the {} rows is valid{}; nothing was sent",
            rows.len(),
            see(&reject_path, rejects.len())
        );
        return Ok(EXIT_INVALID_INPUT);
    }

    // Open the journal: a fresh one, or the one a killed run left.
    let journal_path = journal::path_for(&args.file);
    let header = Header::new(&object.plural, &bytes, update_by.as_deref());
    let opened = if args.resume {
        Journal::resume(&journal_path, &header)
    } else {
        Journal::create(&journal_path, &header).map(|j| (j, Default::default()))
    };
    let (journal, history) = match opened {
        Ok(opened) => opened,
        Err(e @ (JournalError::Exists { .. } | JournalError::Missing { .. })) => {
            return invalid(&e.to_string());
        }
        Err(e @ JournalError::Mismatch { .. }) => return invalid(&e.to_string()),
        Err(e) => return Err(e.into()),
    };

    // Settle what the journal knows; whatever it does not know is new.
    let mut created = 0usize;
    let mut batches = Vec::new();
    let mut planned: HashSet<u64> = HashSet::new();
    let mut next_number = 0u64;
    for (number, record) in &history {
        next_number = next_number.max(number + 1);
        planned.extend(record.rows.iter().copied());
        match &record.outcome {
            Some(outcome) => {
                created += outcome.created.len();
                rejects.extend(outcome.rejected.iter().map(|r| Reject {
                    row: r.row,
                    reason: r.reason.clone(),
                }));
            }
            None => {
                let items = record
                    .rows
                    .iter()
                    .zip(&record.ids)
                    .filter_map(|(line, id)| {
                        let body = by_line.get(line)?.body.as_ref().ok()?;
                        Some(item(*line, id, body))
                    })
                    .collect();
                batches.push(Batch {
                    number: *number,
                    items,
                    resumed: true,
                });
            }
        }
    }
    let fresh: Vec<&Row> = valid
        .iter()
        .copied()
        .filter(|r| !planned.contains(&r.line))
        .collect();

    let progress = progress_bar(args, valid.len() as u64);
    progress
        .inc(created as u64 + rejects.iter().filter(|r| planned.contains(&r.row)).count() as u64);
    let job = Arc::new(Job {
        client: client.clone(),
        object: object.clone(),
        journal: Some(journal),
        progress,
        stop: AtomicBool::new(false),
    });

    // With --update-by, rows whose key matches a record become updates.
    let mut to_create = fresh;
    let mut updated = 0usize;
    if let Some(path) = &update_by {
        let (creates, updates) = match_existing(&job, path, to_create).await?;
        to_create = creates;
        let (done, refused) = run_updates(&job, updates, args.concurrency).await?;
        updated = done;
        rejects.extend(refused);
    }

    for chunk in to_create.chunks(batch_size as usize) {
        let items = chunk
            .iter()
            .filter_map(|r| {
                let body = r.body.as_ref().ok()?;
                let id = body
                    .get("id")
                    .and_then(Value::as_str)
                    .map_or_else(|| uuid::Uuid::new_v4().to_string(), str::to_owned);
                Some(item(r.line, &id, body))
            })
            .collect();
        batches.push(Batch {
            number: next_number,
            items,
            resumed: false,
        });
        next_number += 1;
    }

    // Send, several batches at a time.
    let result = run_batches(&job, batches, args.concurrency).await;
    job.progress.finish_and_clear();
    let outcome = match result {
        Ok(outcome) => outcome,
        Err(e) => {
            write_rejects(&reject_path, &rejects, &by_line)?;
            return Err(e.context(format!(
                "import stopped; run the same command with --resume to finish it \
                 (journal `{}`)",
                journal_path.display()
            )));
        }
    };
    created += outcome.created.len();
    rejects.extend(outcome.rejected.into_iter().map(|r| Reject {
        row: r.row,
        reason: r.reason,
    }));

    // Report; the journal has served its purpose once every batch is settled.
    write_rejects(&reject_path, &rejects, &by_line)?;
    if let Some(journal) = Arc::into_inner(job).and_then(|job| job.journal) {
        journal.finish()?;
    } else {
        std::fs::remove_file(&journal_path)
            .with_context(|| format!("failed to remove `{}`", journal_path.display()))?;
    }
    let mut summary = format!("{created} {} created", object.plural);
    if update_by.is_some() {
        summary.push_str(&format!(", {updated} updated"));
    }
    summary.push_str(&format!(
        ", {} rejected{}",
        rejects.len(),
        see(&reject_path, rejects.len())
    ));
    eprintln!("{summary}");
    Ok(exit_code(created + updated, rejects.len()))
}

fn item(line: u64, id: &str, body: &Map<String, Value>) -> Item {
    let mut body = body.clone();
    body.insert("id".to_owned(), Value::String(id.to_owned()));
    Item {
        line,
        id: id.to_owned(),
        body,
    }
}

fn exit_code(done: usize, rejected: usize) -> i32 {
    match (done, rejected) {
        (_, 0) => EXIT_ALL_DONE,
        (0, _) => EXIT_INVALID_INPUT,
        _ => EXIT_SOME_REJECTED,
    }
}

fn invalid(message: &str) -> anyhow::Result<i32> {
    eprintln!("error: {message}");
    Ok(EXIT_INVALID_INPUT)
}

fn see(path: &Path, count: usize) -> String {
    if count == 0 {
        String::new()
    } else {
        format!(" (see {})", path.display())
    }
}

fn suffixed(path: &Path, suffix: &str) -> PathBuf {
    let mut name = path.as_os_str().to_owned();
    name.push(suffix);
    PathBuf::from(name)
}

fn import_format(args: &ImportArgs) -> Option<FileFormat> {
    args.as_format
        .or_else(|| args.format_hint.as_deref().and_then(FileFormat::from_name))
        .or_else(|| FileFormat::from_path(&args.file))
}

fn progress_bar(args: &ImportArgs, total: u64) -> ProgressBar {
    if args.no_progress || !std::io::stderr().is_terminal() {
        return ProgressBar::hidden();
    }
    let bar = ProgressBar::new(total);
    if let Ok(style) = ProgressStyle::with_template("{bar:40} {pos}/{len} rows {per_sec} eta {eta}")
    {
        bar.set_style(style);
    }
    bar
}

/// Writes the reject file, sorted by row; removes a stale one when there
/// is nothing to reject, so that its presence always means something.
fn write_rejects(
    path: &Path,
    rejects: &[Reject],
    by_line: &HashMap<u64, &Row>,
) -> anyhow::Result<()> {
    if rejects.is_empty() {
        match std::fs::remove_file(path) {
            Ok(()) => {}
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(e) => {
                return Err(e).with_context(|| format!("failed to remove `{}`", path.display()));
            }
        }
        return Ok(());
    }
    let mut sorted: Vec<&Reject> = rejects.iter().collect();
    sorted.sort_by_key(|r| r.row);
    let mut out = Vec::new();
    for reject in sorted {
        let input = by_line
            .get(&reject.row)
            .map_or(Value::Null, |r| r.input.clone());
        let line = json!({"row": reject.row, "reason": reject.reason, "input": input});
        serde_json::to_writer(&mut out, &line)?;
        out.write_all(b"\n")?;
    }
    std::fs::write(path, out).with_context(|| format!("failed to write `{}`", path.display()))
}

/// Sends `batches` with at most `concurrency` in flight; the first error
/// that is not a refusal stops every worker.
async fn run_batches(
    job: &Arc<Job>,
    batches: Vec<Batch>,
    concurrency: u32,
) -> anyhow::Result<Outcome> {
    let queue = Arc::new(Mutex::new(batches.into_iter()));
    let mut workers = tokio::task::JoinSet::new();
    for _ in 0..concurrency.max(1) {
        let job = Arc::clone(job);
        let queue = Arc::clone(&queue);
        workers.spawn(async move {
            let mut total = Outcome::default();
            loop {
                if job.stop.load(Ordering::Relaxed) {
                    break;
                }
                let Some(batch) = queue.lock().await.next() else {
                    break;
                };
                match send_batch(&job, batch).await {
                    Ok(outcome) => {
                        total.created.extend(outcome.created);
                        total.rejected.extend(outcome.rejected);
                    }
                    Err(e) => {
                        job.stop.store(true, Ordering::Relaxed);
                        return Err(e);
                    }
                }
            }
            Ok(total)
        });
    }

    let mut total = Outcome::default();
    let mut first_error = None;
    while let Some(joined) = workers.join_next().await {
        match joined.context("an import worker failed")? {
            Ok(outcome) => {
                total.created.extend(outcome.created);
                total.rejected.extend(outcome.rejected);
            }
            Err(e) => {
                first_error.get_or_insert(e);
            }
        }
    }
    match first_error {
        Some(e) => Err(e),
        None => Ok(total),
    }
}

/// Creates one batch's rows exactly once: journals the ids, sends, and
/// halves a refused group until the refused rows stand alone.
async fn send_batch(job: &Job, batch: Batch) -> anyhow::Result<Outcome> {
    let mut outcome = Outcome::default();
    let mut pending = batch.items;

    if batch.resumed {
        let present = existing(job, &pending).await?;
        pending.retain(|item| {
            let done = present.contains(&item.id);
            if done {
                outcome.created.push(item.line);
            }
            !done
        });
    } else if let Some(journal) = &job.journal {
        let lines: Vec<u64> = pending.iter().map(|i| i.line).collect();
        let ids: Vec<String> = pending.iter().map(|i| i.id.clone()).collect();
        journal.sending(batch.number, &lines, &ids)?;
    }

    let mut groups = vec![(pending, 0u32)];
    while let Some((mut group, unknown)) = groups.pop() {
        if group.is_empty() {
            continue;
        }
        let records = group
            .iter()
            .map(|i| Value::Object(i.body.clone()))
            .collect();
        let error = match remote::create_many(&job.client, &job.object, records).await {
            Ok(()) => {
                job.progress.inc(group.len() as u64);
                outcome.created.extend(group.iter().map(|i| i.line));
                continue;
            }
            Err(error) => error,
        };
        let refused = remote::refusal(&error);
        if refused.is_none() {
            if !remote::worth_repeating(&error) || unknown >= MAX_UNKNOWN_OUTCOMES {
                return Err(error.into());
            }
            tracing::debug!("repeating a create of {} rows after: {error}", group.len());
            tokio::time::sleep(remote::pause(unknown + 1)).await;
            if remote::surely_unprocessed(&error) {
                groups.push((group, unknown + 1));
                continue;
            }
        }

        // Whether the server refused the group or its answer was lost, some
        // records may exist: an earlier attempt whose answer was lost makes
        // a repeat fail with `Record already exists`. The ids are ours, so
        // the ones found are this job's records.
        let present = existing(job, &group).await?;
        group.retain(|item| {
            let done = present.contains(&item.id);
            if done {
                job.progress.inc(1);
                outcome.created.push(item.line);
            }
            !done
        });
        match refused {
            None => groups.push((group, unknown + 1)),
            Some(reason) if group.len() == 1 => {
                job.progress.inc(1);
                outcome.rejected.push(Rejection {
                    row: group[0].line,
                    reason,
                });
            }
            Some(_) => {
                let right = group.split_off(group.len() / 2);
                groups.push((right, unknown));
                groups.push((group, unknown));
            }
        }
    }

    if let Some(journal) = &job.journal {
        journal.done(batch.number, &outcome)?;
    }
    Ok(outcome)
}

async fn existing(job: &Job, items: &[Item]) -> anyhow::Result<HashSet<String>> {
    let ids: Vec<String> = items.iter().map(|i| i.id.clone()).collect();
    Ok(remote::existing_ids(&job.client, &job.object, &ids).await?)
}

/// Splits `rows` into those to create and those whose `path` value
/// matches an existing record, which are returned with its id.
async fn match_existing<'a>(
    job: &Job,
    path: &str,
    rows: Vec<&'a Row>,
) -> anyhow::Result<(Vec<&'a Row>, Vec<(u64, String, Map<String, Value>)>)> {
    let fold = folds_case(&job.object, path);
    let normal = |text: String| if fold { text.to_lowercase() } else { text };

    let mut keys: Vec<String> = rows
        .iter()
        .filter_map(|r| rows::text_at(r.body.as_ref().ok()?, path))
        .map(normal)
        .collect();
    keys.sort();
    keys.dedup();

    // Twenty splits an `in` list on every comma, quoted or not, so such
    // values are looked up one by one.
    let (plain, awkward): (Vec<String>, Vec<String>) = keys
        .into_iter()
        .partition(|k| !k.contains(',') && !k.contains('"'));
    let mut filters: Vec<String> = plain
        .chunks(KEYS_PER_LOOKUP)
        .map(|chunk| {
            let quoted: Vec<String> = chunk.iter().map(|k| format!("\"{k}\"")).collect();
            format!("{path}[in]:[{}]", quoted.join(","))
        })
        .collect();
    filters.extend(awkward.iter().map(|k| format!("{path}[eq]:\"{k}\"")));

    let mut found: HashMap<String, String> = HashMap::new();
    for filter in filters {
        let mut pages = Pages::new(&job.object, Some(filter), None, None, 60);
        while let Some(records) = pages.next_page(&job.client).await? {
            for record in records {
                let (Some(id), Some(key)) = (
                    record.get("id").and_then(Value::as_str),
                    record.as_object().and_then(|r| rows::text_at(r, path)),
                ) else {
                    continue;
                };
                found.entry(normal(key)).or_insert_with(|| id.to_owned());
            }
        }
    }

    let mut creates = Vec::new();
    let mut updates = Vec::new();
    for row in rows {
        let Ok(body) = &row.body else { continue };
        let hit = rows::text_at(body, path).and_then(|k| found.get(&normal(k)));
        match hit {
            Some(id) => {
                let mut body = body.clone();
                body.remove("id");
                updates.push((row.line, id.clone(), body));
            }
            None => creates.push(row),
        }
    }
    Ok((creates, updates))
}

/// Whether the server lower-cases values of `path` (e-mail addresses), so
/// that matching must ignore case.
fn folds_case(object: &Object, path: &str) -> bool {
    let (head, sub) = path.split_once('.').unwrap_or((path, ""));
    let Some(field) = object.field(head) else {
        return false;
    };
    if sub.is_empty() {
        return field.kind == FieldType::Email;
    }
    field
        .sub_field(sub)
        .is_some_and(|f| f.kind == FieldType::Email || f.name == "primaryEmail")
}

/// Sends the updates, `concurrency` at a time. Updates are idempotent, so a
/// resumed job simply sends them again.
async fn run_updates(
    job: &Arc<Job>,
    updates: Vec<(u64, String, Map<String, Value>)>,
    concurrency: u32,
) -> anyhow::Result<(usize, Vec<Reject>)> {
    let queue = Arc::new(Mutex::new(updates.into_iter()));
    let mut workers = tokio::task::JoinSet::new();
    for _ in 0..concurrency.max(1) {
        let job = Arc::clone(job);
        let queue = Arc::clone(&queue);
        workers.spawn(async move {
            let mut done = 0usize;
            let mut refused = Vec::new();
            loop {
                if job.stop.load(Ordering::Relaxed) {
                    break;
                }
                let Some((line, id, body)) = queue.lock().await.next() else {
                    break;
                };
                match remote::update_one(&job.client, &job.object, &id, body).await {
                    Ok(()) => done += 1,
                    Err(e) => match remote::refusal(&e) {
                        Some(reason) => refused.push(Reject { row: line, reason }),
                        None => {
                            job.stop.store(true, Ordering::Relaxed);
                            return Err(anyhow::Error::from(e));
                        }
                    },
                }
                job.progress.inc(1);
            }
            Ok((done, refused))
        });
    }
    let mut done = 0;
    let mut refused = Vec::new();
    let mut first_error = None;
    while let Some(joined) = workers.join_next().await {
        match joined.context("an update worker failed")? {
            Ok((n, r)) => {
                done += n;
                refused.extend(r);
            }
            Err(e) => {
                first_error.get_or_insert(e);
            }
        }
    }
    match first_error {
        Some(e) => Err(e),
        None => Ok((done, refused)),
    }
}
