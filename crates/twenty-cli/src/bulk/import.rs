//! The import job: check, plan batches, send them concurrently, settle
//! refusals and unknown outcomes, report.
//!
//! Create many is all or nothing, so a refused batch says only that some
//! row of it is bad. The rows at fault are found by sending parts of the
//! batch: halves while refusals are rare (a lone bad row costs about
//! log2(batch) requests), one row at a time once many rows turn out bad
//! (where halving would cost two requests a row).
//!
//! Every record is sent with an id fixed before the first send, so that a
//! repeat after a lost answer is refused instead of creating twice, and
//! the ids found afterwards tell what the lost send did. That reading is
//! only sound for ids no record had before the import: a row's own id (an
//! exported file carries them) is looked up before its batch is journaled,
//! and a row whose id exists is rejected rather than taken for ours.

use std::collections::{HashMap, HashSet};
use std::io::{IsTerminal, Write};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::Duration;

use anyhow::Context;
use indicatif::{ProgressBar, ProgressStyle};
use serde_json::{Map, Value, json};
use tokio::sync::{Mutex, Notify};
use tokio::time::Instant;
use twenty_client::Client;
use twenty_core::{Catalog, FieldType, Object};

use super::journal::{self, Header, Journal, JournalError, Outcome, Rejection};
use super::remote::{self, Pages};
use super::rows::{self, FileFormat, Row, Table};
use super::{
    EXIT_ALL_DONE, EXIT_INTERRUPTED, EXIT_INVALID_INPUT, EXIT_SOME_REJECTED, ImportArgs, records,
    refuse,
};
use crate::UsageError;

/// How many times the rows of a group are sent again after failures that
/// leave their fate unknown or that a repeat may cure, before the import
/// stops (resumably) with the error.
const MAX_UNKNOWN_OUTCOMES: u32 = 8;

/// Values per `field[in]:[...]` look-up for `--update-by`.
const KEYS_PER_LOOKUP: usize = 50;

/// How long the batches in flight get to settle into the journal after
/// Ctrl-C. A batch still sending then is left journaled as in flight,
/// which `--resume` settles by reading its ids back.
const SETTLE_AFTER_INTERRUPT: Duration = Duration::from_secs(3);

/// The end of the reason given for a row whose id names an existing
/// record; the summary counts these to suggest the fix once.
const UPDATE_BY_ID: &str = "; to update it, import the row with --update-by id";

/// One row on its way to the server.
#[derive(Debug, Clone)]
struct Item {
    line: u64,
    id: String,
    /// The row's body, shared with the row: each send sets the id in a
    /// copy, so that only the rows in flight are held twice.
    body: Arc<Map<String, Value>>,
    /// The id came with the row and nobody has looked it up yet: it may
    /// name a record that was there before the import.
    id_may_exist: bool,
}

impl Item {
    /// The record to send: the row's body with its id.
    fn record(&self) -> Value {
        let mut body = Map::clone(&self.body);
        body.insert("id".to_owned(), Value::String(self.id.clone()));
        Value::Object(body)
    }
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
    /// Start no more requests: a worker failed, or the user pressed
    /// Ctrl-C.
    stop: AtomicBool,
    /// The user pressed Ctrl-C.
    interrupted: AtomicBool,
    /// Woken on each Ctrl-C.
    signals: Notify,
    /// Rows this run settled (created, updated or rejected).
    settled: AtomicUsize,
    /// Records of resumed batches that an earlier run had created: this
    /// run settles them but did not create them.
    found: AtomicUsize,
    /// What the finished batches of this run came to.
    outcome: std::sync::Mutex<Outcome>,
}

impl Job {
    fn stopping(&self) -> bool {
        self.stop.load(Ordering::Relaxed)
    }

    fn settle(&self, rows: usize) {
        self.progress.inc(rows as u64);
        self.settled.fetch_add(rows, Ordering::Relaxed);
    }

    fn interrupt(&self) {
        self.interrupted.store(true, Ordering::Relaxed);
        self.stop.store(true, Ordering::Relaxed);
        self.signals.notify_one();
    }

    fn was_interrupted(&self) -> bool {
        self.interrupted.load(Ordering::Relaxed)
    }

    fn record(&self, outcome: &Outcome) {
        // A poisoned lock only means a worker panicked while appending; the
        // lines appended before are still right.
        let mut total = self.outcome.lock().unwrap_or_else(|e| e.into_inner());
        total.created.extend(&outcome.created);
        total.rejected.extend(outcome.rejected.iter().cloned());
    }

    fn take_outcome(&self) -> Outcome {
        std::mem::take(&mut *self.outcome.lock().unwrap_or_else(|e| e.into_inner()))
    }
}

/// Imports the rows of `args.file` into `object`.
///
/// Returns the exit code: [`EXIT_ALL_DONE`] when every row was created or
/// updated, [`EXIT_SOME_REJECTED`] when some were rejected (they are in the
/// reject file), [`EXIT_INVALID_INPUT`] when the file cannot be read or
/// used or no row could be sent, [`EXIT_INTERRUPTED`] after Ctrl-C (with
/// `args.interruptible`). A job that stops on an error once its journal
/// is open (the server cannot be reached, refuses the key, keeps rate
/// limiting; a file cannot be written) keeps the journal, says so and how
/// `--resume` finishes it, and returns the error's exit code. Fails only
/// when the journal itself cannot be opened.
pub async fn import(
    client: &Client,
    catalog: &Catalog,
    object: &Object,
    args: &ImportArgs,
) -> anyhow::Result<i32> {
    // The journal lives beside the file and resume reads the file again,
    // so a pipe (`<(...)`, `/dev/stdin`) cannot be imported.
    // (A folder gets the read's own error.)
    if std::fs::metadata(&args.file).is_ok_and(|m| !m.is_file() && !m.is_dir()) {
        return invalid(&format!(
            "`{}` is a pipe or a device, not a file: import keeps its journal beside the file and reads \
             it again on --resume; save the rows to a file first, such as with `twenty \
             export ... -o rows.csv`",
            args.file.display()
        ));
    }
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
    let table = match rows::read(object, format, text) {
        Ok(table) => table,
        Err(e) => return invalid(&format!("`{}`: {e}", args.file.display())),
    };
    let (columns, rows) = (&table.columns, &table.rows);
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
    // Rows without the key are created, so a file that lacks it would
    // silently create every row.
    if let Some(path) = &update_by
        && !rows.is_empty()
        && !rows::covers(object, columns, path)
    {
        return Ok(refuse(&missing_key(args, format, path, columns)));
    }

    let reject_path = args
        .reject_file
        .clone()
        .unwrap_or_else(|| suffixed(&args.file, ".rejects.jsonl"));
    // The reject file is written at the end; a folder that is not there
    // would fail the job only after every row was sent.
    let folder = reject_path.parent().filter(|p| !p.as_os_str().is_empty());
    if let Some(folder) = folder.filter(|f| !f.is_dir()) {
        return invalid(&format!(
            "--reject-file `{}`: the folder `{}` does not exist",
            reject_path.display(),
            folder.display()
        ));
    }
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
    let (valid, twice) = claim_ids(rows.iter().filter(|r| r.body.is_ok()).collect());
    rejects.extend(twice);
    // Rows that are settled without a request, counted as done on Ctrl-C.
    let checked_out = rejects.len();

    if args.dry_run {
        write_rejects(&reject_path, &rejects, &table, &by_line)?;
        errln!(
            "dry run: {} of {} rows are valid, {} rejected{}; nothing was sent",
            valid.len(),
            rows.len(),
            rejects.len(),
            see(&reject_path, rejects.len())
        );
        return Ok(exit_code(valid.len(), rejects.len()));
    }
    if valid.is_empty() {
        write_rejects(&reject_path, &rejects, &table, &by_line)?;
        if rows.is_empty() {
            errln!("`{}` holds no rows; nothing to do", args.file.display());
            return Ok(EXIT_ALL_DONE);
        }
        errln!(
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
        Err(e @ JournalError::Io { .. }) => return Err(e.into()),
        Err(e) => return Ok(refuse(&UsageError::new(e.to_string(), e.hint()))),
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
                // Rows refused before sending (their id existed) are in the
                // outcome only.
                planned.extend(outcome.rejected.iter().map(|r| r.row));
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
                        // The earlier run looked the row's own id up before
                        // it journaled the batch.
                        Some(item(*line, id, body, false))
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

    // What the journal says earlier runs created, so that the summary can
    // tell this run's part from the job's.
    let created_before = created;
    let progress = progress_bar(args, valid.len() as u64);
    let settled_before = created + rejects.len() - checked_out;
    progress.inc(settled_before as u64);
    let job = Arc::new(Job {
        client: client.clone(),
        object: object.clone(),
        journal: Some(journal),
        progress,
        stop: AtomicBool::new(false),
        interrupted: AtomicBool::new(false),
        signals: Notify::new(),
        settled: AtomicUsize::new(0),
        found: AtomicUsize::new(0),
        outcome: std::sync::Mutex::new(Outcome::default()),
    });
    let _watcher = args.interruptible.then(|| {
        let job = Arc::clone(&job);
        AbortOnDrop(tokio::spawn(async move {
            while tokio::signal::ctrl_c().await.is_ok() {
                job.interrupt();
            }
        }))
    });
    let done = || settled_before + checked_out + job.settled.load(Ordering::Relaxed);
    let total = rows.len();
    let interrupted = |rejects: &[Reject]| -> anyhow::Result<i32> {
        job.progress.finish_and_clear();
        write_rejects(&reject_path, rejects, &table, &by_line)?;
        let done = done();
        errln!(
            "interrupted: {done} of {} rows done; run the same command with --resume to \
             finish (journal `{}`)",
            rows.len(),
            journal_path.display()
        );
        Ok(EXIT_INTERRUPTED)
    };

    // From here on the journal holds the job, so however the job stops,
    // the user learns that it did and how to finish it.
    let ran: anyhow::Result<i32> = async {
        // With --update-by, rows whose key matches a record become updates.
        let mut to_create = fresh;
        let mut updated = 0usize;
        if let Some(path) = &update_by {
            let Some(matched) = match_existing(&job, path, to_create).await? else {
                return interrupted(&rejects);
            };
            to_create = matched.creates;
            job.settle(matched.rejects.len());
            rejects.extend(matched.rejects);
            let (done, refused) = run_updates(&job, matched.updates, args.concurrency).await?;
            updated = done;
            rejects.extend(refused);
            if job.was_interrupted() {
                return interrupted(&rejects);
            }
        }

        // `--update-by id` has just looked every row's own id up.
        let ids_checked = update_by.as_deref() == Some("id");
        for chunk in to_create.chunks(batch_size as usize) {
            let items = chunk
                .iter()
                .filter_map(|r| {
                    let body = r.body.as_ref().ok()?;
                    Some(match own_id(body) {
                        Some(id) => item(r.line, &id, body, !ids_checked),
                        None => item(r.line, &uuid::Uuid::new_v4().to_string(), body, false),
                    })
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
        let outcome = job.take_outcome();
        created += outcome.created.len();
        rejects.extend(outcome.rejected.into_iter().map(|r| Reject {
            row: r.row,
            reason: r.reason,
        }));
        result?;
        // A Ctrl-C after the last batch settled interrupted nothing.
        if job.was_interrupted() && done() < rows.len() {
            return interrupted(&rejects);
        }
        job.progress.finish_and_clear();

        // Report; the journal has served its purpose once every batch is settled.
        write_rejects(&reject_path, &rejects, &table, &by_line)?;
        if let Some(journal) = &job.journal {
            journal.finish()?;
        }
        let updated = update_by.is_some().then_some(updated);
        let found = job.found.load(Ordering::Relaxed);
        let created = Created {
            now: created - created_before - found,
            before: created_before + found,
        };
        summarize(object, created, updated, &rejects, &reject_path, &valid);
        Ok(exit_code(
            created.now + created.before + updated.unwrap_or(0),
            rejects.len(),
        ))
    }
    .await;
    match ran {
        Ok(code) => Ok(code),
        Err(error) => {
            job.progress.finish_and_clear();
            if let Err(e) = write_rejects(&reject_path, &rejects, &table, &by_line) {
                errln!("warning: {}", crate::chain_text(e.chain()));
            }
            Ok(stopped(&error, done(), total, &journal_path))
        }
    }
}

/// Records a job created: by this run, and by the runs before it that
/// `--resume` finishes.
#[derive(Debug, Clone, Copy)]
struct Created {
    now: usize,
    before: usize,
}

/// Prints what a finished job did; `updated` is `None` without
/// `--update-by`. Rows rejected because they name existing records get a
/// hint with the fix.
fn summarize(
    object: &Object,
    created: Created,
    updated: Option<usize>,
    rejects: &[Reject],
    reject_path: &Path,
    valid: &[&Row],
) {
    let mut summary = format!("{} created", records(created.now, object));
    // A resumed job's total alone would claim the earlier runs' records
    // for this one.
    if created.before > 0 {
        summary.push_str(&format!(
            " ({} with earlier runs)",
            created.now + created.before
        ));
    }
    if let Some(updated) = updated {
        summary.push_str(&format!(", {} updated", records(updated, object)));
    }
    summary.push_str(&format!(
        ", {} rejected{}",
        rejects.len(),
        see(reject_path, rejects.len())
    ));
    errln!("{summary}");

    let existed = rejects
        .iter()
        .filter(|r| r.reason.ends_with(UPDATE_BY_ID))
        .count();
    if existed == 0 {
        return;
    }
    // Rows without an id were created with new ids, so only a file where
    // every row names its record can be sent again whole.
    let again = if valid
        .iter()
        .all(|r| r.body.as_deref().ok().and_then(own_id).is_some())
    {
        "run the same command with --update-by id".to_owned()
    } else {
        format!(
            "import those rows again with --update-by id (they are in {})",
            reject_path.display()
        )
    };
    let names = if existed == 1 {
        "row names"
    } else {
        "rows name"
    };
    errln!("hint: {existed} {names} records that already exist; to update them, {again}");
}

/// Reports a job that stopped on `error` with its journal kept, and
/// returns the exit code the error calls for: the client's for a failed
/// request (4 network, 3 key refused, 5 rate limited), 1 otherwise.
fn stopped(error: &anyhow::Error, done: usize, total: usize, journal: &Path) -> i32 {
    let api = error
        .chain()
        .find_map(|cause| cause.downcast_ref::<twenty_client::Error>());
    let (code, cause, hint) = match api {
        // The client's message is whole; its causes would repeat it.
        Some(api) => (api.exit_code(), api.to_string(), crate::hint_for(api)),
        None => (1, crate::chain_text(error.chain()), None),
    };
    errln!(
        "error: import stopped with {done} of {total} rows done, its journal `{}` kept: {cause}",
        journal.display()
    );
    let finish = "run the same command with --resume to finish it";
    match hint {
        Some(hint) => errln!("hint: {hint}; then {finish}"),
        None => errln!("hint: {finish}"),
    }
    code
}

/// Stops the Ctrl-C watcher when the import returns, however it returns.
struct AbortOnDrop(tokio::task::JoinHandle<()>);

impl Drop for AbortOnDrop {
    fn drop(&mut self) {
        self.0.abort();
    }
}

/// A row's own id, lower-cased as servers return ids, so that it matches
/// what a look-up finds.
fn own_id(body: &Map<String, Value>) -> Option<String> {
    body.get("id")
        .and_then(Value::as_str)
        .map(str::to_ascii_lowercase)
}

/// Keeps the first row of each id and rejects the others: two rows cannot
/// create one record, and the second would be refused as a record that
/// exists, which a repeat after a lost answer reads as its own.
fn claim_ids(rows: Vec<&Row>) -> (Vec<&Row>, Vec<Reject>) {
    let mut first: HashMap<String, u64> = HashMap::new();
    let mut kept = Vec::with_capacity(rows.len());
    let mut rejected = Vec::new();
    for row in rows {
        let Some(id) = row.body.as_deref().ok().and_then(own_id) else {
            kept.push(row);
            continue;
        };
        match first.get(&id) {
            Some(line) => rejected.push(Reject {
                row: row.line,
                reason: format!(
                    "the id `{id}` is also the id of row {line}; give each row its own"
                ),
            }),
            None => {
                first.insert(id, row.line);
                kept.push(row);
            }
        }
    }
    (kept, rejected)
}

fn item(line: u64, id: &str, body: &Arc<Map<String, Value>>, id_may_exist: bool) -> Item {
    Item {
        line,
        id: id.to_owned(),
        body: Arc::clone(body),
        id_may_exist,
    }
}

/// The refusal of an `--update-by` field that no column of the file gives.
fn missing_key(
    args: &ImportArgs,
    format: FileFormat,
    path: &str,
    columns: &[String],
) -> UsageError {
    let given = args.update_by.as_deref().unwrap_or(path);
    let file = args.file.display();
    let listed: Vec<String> = columns.iter().map(|c| format!("`{c}`")).collect();
    let listed = if listed.is_empty() {
        "none".to_owned()
    } else {
        listed.join(", ")
    };
    let message = match format {
        FileFormat::Csv => {
            format!("--update-by {given}: `{file}` has no `{path}` column; its columns: {listed}")
        }
        FileFormat::Jsonl => format!(
            "--update-by {given}: no line of `{file}` has the key `{path}`; its keys: {listed}"
        ),
    };
    let hint = "every row would be created: add the values to the file, or update by a field it \
                has";
    UsageError::new(message, Some(hint.to_owned()))
}

fn exit_code(done: usize, rejected: usize) -> i32 {
    match (done, rejected) {
        (_, 0) => EXIT_ALL_DONE,
        (0, _) => EXIT_INVALID_INPUT,
        _ => EXIT_SOME_REJECTED,
    }
}

fn invalid(message: &str) -> anyhow::Result<i32> {
    errln!("error: {message}");
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
    table: &Table,
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
            .map_or(Value::Null, |r| table.input(r));
        let line = json!({"row": reject.row, "reason": reject.reason, "input": input});
        serde_json::to_writer(&mut out, &line)?;
        out.write_all(b"\n")?;
    }
    std::fs::write(path, out).with_context(|| format!("failed to write `{}`", path.display()))
}

/// Sends `batches` with at most `concurrency` in flight; the first error
/// that is not a refusal stops every worker. After Ctrl-C no batch is
/// started, and the batches in flight get [`SETTLE_AFTER_INTERRUPT`] (or
/// until a second Ctrl-C) to finish.
async fn run_batches(job: &Arc<Job>, batches: Vec<Batch>, concurrency: u32) -> anyhow::Result<()> {
    let queue = Arc::new(Mutex::new(batches.into_iter()));
    let mut workers = tokio::task::JoinSet::new();
    for _ in 0..concurrency.max(1) {
        let job = Arc::clone(job);
        let queue = Arc::clone(&queue);
        workers.spawn(async move {
            while !job.stopping() {
                let Some(batch) = queue.lock().await.next() else {
                    break;
                };
                if let Err(e) = send_batch(&job, batch).await {
                    job.stop.store(true, Ordering::Relaxed);
                    return Err(e);
                }
            }
            Ok(())
        });
    }

    let mut first_error = None;
    let mut settle_until: Option<Instant> = None;
    let mut aborted = false;
    loop {
        let joined = tokio::select! {
            joined = workers.join_next() => joined,
            () = job.signals.notified() => {
                if settle_until.is_some() {
                    workers.abort_all();
                    aborted = true;
                }
                settle_until.get_or_insert_with(|| Instant::now() + SETTLE_AFTER_INTERRUPT);
                continue;
            }
            () = tokio::time::sleep_until(settle_until.unwrap_or_else(Instant::now)),
                if settle_until.is_some() && !aborted =>
            {
                // The batches cut off here stay journaled as in flight.
                workers.abort_all();
                aborted = true;
                continue;
            }
        };
        let Some(joined) = joined else {
            break;
        };
        match joined {
            Ok(Ok(())) => {}
            Ok(Err(e)) => {
                first_error.get_or_insert(e);
            }
            Err(e) if e.is_cancelled() => {}
            Err(e) => return Err(anyhow::anyhow!("an import worker failed: {e}")),
        }
    }
    match first_error {
        Some(e) => Err(e),
        None => Ok(()),
    }
}

/// Rows of a batch sent in one request; a group the server refuses is
/// split to find the rows at fault.
#[derive(Debug)]
struct Group {
    items: Vec<Item>,
    /// Known to hold a row the server refuses, without sending it: the
    /// group it was split from was refused and the other half was created.
    refused: bool,
    /// The first half of a split. Its second half lies right under it on
    /// the stack, since halves are pushed second first.
    first_half: bool,
    /// A send's answer was lost, so some of its records may exist.
    doubt: bool,
    /// Sends that failed without a refusal.
    failures: u32,
}

impl Group {
    fn new(items: Vec<Item>) -> Group {
        Group {
            items,
            refused: false,
            first_half: false,
            doubt: false,
            failures: 0,
        }
    }
}

/// Rows of one batch settled since its first refusal, which tell a batch
/// with a few bad rows from one with many.
#[derive(Debug, Default)]
struct Density {
    settled: usize,
    refused: usize,
}

impl Density {
    /// Whether to send the rest of a refused group row by row. Halving
    /// finds a lone bad row in n with about log2(n) requests but pays two
    /// requests a row when most rows are bad; past about one bad row in
    /// three, one request a row is cheaper (the point where Hwang's
    /// generalised binary splitting tests items one by one). Two settled
    /// rows are the least evidence: before that, every batch would look
    /// dense after its first refused row.
    fn dense(&self) -> bool {
        self.settled >= 2 && self.refused * 3 >= self.settled
    }
}

/// Creates one batch's rows exactly once: looks up the ids rows brought,
/// journals the ids, sends, and splits a refused group until the refused
/// rows stand alone.
async fn send_batch(job: &Job, batch: Batch) -> anyhow::Result<()> {
    let mut outcome = Outcome::default();
    let mut pending = batch.items;

    if batch.resumed {
        // The run that journaled the batch stopped before its answer: the
        // ids found are the records it created.
        let present = existing(job, &pending).await?;
        pending.retain(|item| {
            let done = present.contains(&item.id);
            if done {
                job.settle(1);
                job.found.fetch_add(1, Ordering::Relaxed);
                outcome.created.push(item.line);
            }
            !done
        });
    } else {
        // Once the batch is journaled, a record found with one of its ids
        // counts as this job's, so the ids that rows brought are looked up
        // before: one that exists names a record the job did not create.
        let own: Vec<Item> = pending.iter().filter(|i| i.id_may_exist).cloned().collect();
        if !own.is_empty() {
            let present = existing(job, &own).await?;
            pending.retain(|item| {
                let taken = present.contains(&item.id);
                if taken {
                    job.settle(1);
                    outcome.rejected.push(Rejection {
                        row: item.line,
                        reason: format!(
                            "a record with id `{}` already exists{UPDATE_BY_ID}",
                            item.id
                        ),
                    });
                }
                !taken
            });
        }
        if let Some(journal) = &job.journal {
            let lines: Vec<u64> = pending.iter().map(|i| i.line).collect();
            let ids: Vec<String> = pending.iter().map(|i| i.id.clone()).collect();
            journal.sending(batch.number, &lines, &ids)?;
        }
    }

    let mut density = Density::default();
    let mut stack = vec![Group::new(pending)];
    while let Some(mut group) = stack.pop() {
        if group.items.is_empty() {
            continue;
        }
        if group.items.len() > 1 && (group.refused || density.dense()) {
            split(&mut stack, group, density.dense());
            continue;
        }

        let records = group.items.iter().map(Item::record).collect();
        let error = match remote::create_many(&job.client, &job.object, records).await {
            Ok(()) => {
                job.settle(group.items.len());
                density.settled += group.items.len();
                outcome.created.extend(group.items.iter().map(|i| i.line));
                if group.first_half {
                    // The whole was refused and this half is fine, so the
                    // other half holds the fault.
                    if let Some(second) = stack.last_mut() {
                        second.refused = true;
                    }
                }
                continue;
            }
            Err(error) => error,
        };
        let Some(reason) = remote::refusal(&error) else {
            let repeats = remote::may_repeat(&job.client) && group.failures < MAX_UNKNOWN_OUTCOMES;
            if !remote::worth_repeating(&error) || !repeats {
                return Err(error.into());
            }
            tracing::debug!(
                "repeating a create of {} rows after: {error}",
                group.items.len()
            );
            group.failures += 1;
            tokio::time::sleep(remote::pause(group.failures)).await;
            group.doubt |= !remote::surely_unprocessed(&error);
            stack.push(group);
            continue;
        };

        // A repeat after a lost answer is refused when the lost send created
        // the records (`Record already exists`, a unique e-mail taken by
        // itself). Every id in the group was fixed by this job or checked
        // before the journal named it, so the ones found are its own.
        if group.doubt {
            let present = existing(job, &group.items).await?;
            group.doubt = false;
            let before = group.items.len();
            group.items.retain(|item| {
                let done = present.contains(&item.id);
                if done {
                    job.settle(1);
                    density.settled += 1;
                    outcome.created.push(item.line);
                }
                !done
            });
            if group.items.len() < before {
                // The refusal may have been about the records just found.
                group.refused = false;
                stack.push(group);
                continue;
            }
        }
        if let [item] = group.items.as_slice() {
            job.settle(1);
            density.settled += 1;
            density.refused += 1;
            outcome.rejected.push(Rejection {
                row: item.line,
                reason,
            });
            continue;
        }
        split(&mut stack, group, density.dense());
    }

    if let Some(journal) = &job.journal {
        journal.done(batch.number, &outcome)?;
    }
    job.record(&outcome);
    Ok(())
}

/// Pushes the parts of a group known to hold a refused row: every row on
/// its own, or two halves with the first on top.
fn split(stack: &mut Vec<Group>, group: Group, row_by_row: bool) {
    if row_by_row {
        stack.extend(
            group
                .items
                .into_iter()
                .rev()
                .map(|item| Group::new(vec![item])),
        );
        return;
    }
    let mut first = group.items;
    let second = first.split_off(first.len() / 2);
    stack.push(Group::new(second));
    stack.push(Group {
        first_half: true,
        ..Group::new(first)
    });
}

/// Which of the items' ids exist, lower-cased.
async fn existing(job: &Job, items: &[Item]) -> anyhow::Result<HashSet<String>> {
    let ids: Vec<String> = items.iter().map(|i| i.id.clone()).collect();
    let found = remote::existing_ids(&job.client, &job.object, &ids).await?;
    Ok(found.iter().map(|id| id.to_ascii_lowercase()).collect())
}

/// An update the importer found for a row: its line, the record's id, the
/// row's body (which may set the id it is matched on).
type Update = (u64, String, Arc<Map<String, Value>>);

/// What `--update-by` makes of the rows: records to create, records to
/// update, and rows it cannot place.
struct Matched<'a> {
    creates: Vec<&'a Row>,
    updates: Vec<Update>,
    rejects: Vec<Reject>,
}

/// Splits `rows` by their `path` value: rows whose value matches no record
/// are created, rows that match one record update it. A row that matches
/// several records, or repeats the value of an earlier row, is rejected:
/// either way the value does not say which record the row is, and
/// updating one of them would be a guess. `None` when the job was stopped
/// before every look-up was made.
async fn match_existing<'a>(
    job: &Job,
    path: &str,
    rows: Vec<&'a Row>,
) -> anyhow::Result<Option<Matched<'a>>> {
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

    let mut found: HashMap<String, Vec<String>> = HashMap::new();
    for filter in filters {
        if job.stopping() {
            return Ok(None);
        }
        let mut pages = Pages::new(&job.object, Some(filter), None, None, 60);
        while let Some(records) = pages.next_page(&job.client).await? {
            for record in records {
                let (Some(id), Some(key)) = (
                    record.get("id").and_then(Value::as_str),
                    record.as_object().and_then(|r| rows::text_at(r, path)),
                ) else {
                    continue;
                };
                found.entry(normal(key)).or_default().push(id.to_owned());
            }
        }
    }

    let mut matched = Matched {
        creates: Vec::new(),
        updates: Vec::new(),
        rejects: Vec::new(),
    };
    let mut first_row: HashMap<String, u64> = HashMap::new();
    for row in rows {
        let Ok(body) = &row.body else { continue };
        let Some(value) = rows::text_at(body, path) else {
            matched.creates.push(row);
            continue;
        };
        let key = normal(value.clone());
        if let Some(first) = first_row.get(&key) {
            matched.rejects.push(Reject {
                row: row.line,
                reason: format!(
                    "row {first} has the same {path} `{value}`; with --update-by each value may \
                     be in one row only"
                ),
            });
            continue;
        }
        first_row.insert(key.clone(), row.line);
        match found.get(&key).map(Vec::as_slice) {
            None | Some([]) => matched.creates.push(row),
            Some([id]) => matched
                .updates
                .push((row.line, id.clone(), Arc::clone(body))),
            Some(ids) => matched.rejects.push(Reject {
                row: row.line,
                reason: format!(
                    "{} have {path} `{value}`, so the row does not say which to update and none \
                     was; update by a field whose values are unique, such as id",
                    records(ids.len(), &job.object),
                ),
            }),
        }
    }
    Ok(Some(matched))
}

/// Whether the server lower-cases values of `path` (e-mail addresses, ids),
/// so that matching must ignore case.
fn folds_case(object: &Object, path: &str) -> bool {
    let (head, sub) = path.split_once('.').unwrap_or((path, ""));
    let Some(field) = object.field(head) else {
        return false;
    };
    if sub.is_empty() {
        return matches!(field.kind, FieldType::Email | FieldType::Uuid);
    }
    field
        .sub_field(sub)
        .is_some_and(|f| f.kind == FieldType::Email || f.name == "primaryEmail")
}

/// Sends the updates, `concurrency` at a time. Updates are idempotent, so a
/// resumed job simply sends them again.
async fn run_updates(
    job: &Arc<Job>,
    updates: Vec<Update>,
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
            while !job.stopping() {
                let Some((line, id, body)) = queue.lock().await.next() else {
                    break;
                };
                let mut body = Map::clone(&body);
                body.remove("id");
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
                job.settle(1);
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
