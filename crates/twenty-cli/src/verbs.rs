//! Running one operation: from the verb's matches to requests and printed
//! results, for a single call, `list --all`, or `--each` over input lines.

use std::collections::VecDeque;
use std::io::BufRead;
use std::sync::Arc;

use anyhow::{Context as _, Result};
use clap::ArgMatches;
use serde_json::{Map, Value};
use twenty_client::{Client, ListQuery, Request, RetrySafety, unwrap_envelope};
use twenty_core::{Catalog, Object, Operation, OperationKind};

use crate::UsageError;
use crate::context;
use crate::globals::Globals;
use crate::inputs::{self, Call, Inputs};
use crate::jq::{self, Jq};
use crate::output::Printer;

/// What a run of one operation does besides the inputs.
struct Mode {
    all: bool,
    each: Option<String>,
    continue_on_error: bool,
    concurrency: usize,
    limits: inputs::Limits,
}

/// Runs `op` with the inputs in `m`; returns the exit code.
pub fn run(
    globals: &Globals,
    catalog: &Catalog,
    object: Option<&Object>,
    op: &Operation,
    command: &str,
    m: &ArgMatches,
) -> Result<i32> {
    let mode = Mode {
        all: m
            .try_get_one::<bool>("all")
            .ok()
            .flatten()
            .copied()
            .unwrap_or(false),
        each: m.get_one::<String>("each").cloned(),
        continue_on_error: m.get_flag("continue-on-error"),
        concurrency: m
            .get_one::<u16>("concurrency")
            .map_or(1, |n| usize::from(*n)),
        limits: inputs::Limits::of(catalog),
    };

    // Everything the user typed is checked before a client exists.
    let jq = globals.jq.as_deref().map(Jq::compile).transpose()?;
    let defaults = inputs::from_matches(m)?;
    let single = if mode.each.is_none() {
        Some(inputs::prepare(
            object,
            op,
            command,
            &defaults,
            &mode.limits,
        )?)
    } else {
        None
    };

    context::init_logging(globals);
    let runtime = context::runtime()?;
    runtime.block_on(async {
        let (client, sandbox) = connect(globals, catalog).await?;
        let result = match (single, mode.each.as_deref()) {
            (Some(call), _) if mode.all && op.kind == OperationKind::FindMany => {
                list_all(&client, globals, object, call, jq).await
            }
            (Some(call), _) => {
                let out = execute(&client, object, op, call, globals.raw).await?;
                let mut printer = Printer::new(globals.format, object, jq);
                match out {
                    Outcome::Raw(text) if globals.jq.is_none() => outln!("{text}")?,
                    Outcome::Raw(text) => {
                        let value: Value =
                            serde_json::from_str(&text).unwrap_or(Value::String(text));
                        printer.print(&value)?;
                    }
                    Outcome::Data(value) => printer.print(&value)?,
                }
                Ok(0)
            }
            (None, Some(source)) => {
                each(
                    &client, globals, object, op, command, &defaults, source, &mode,
                )
                .await
            }
            (None, None) => Ok(0),
        };
        if let Some(sandbox) = sandbox {
            sandbox.shutdown().await;
        }
        result
    })
}

/// A client for the workspace, or for the local sandbox with `--sandbox`
/// (which is returned too, to be shut down cleanly at the end).
pub async fn connect(
    globals: &Globals,
    catalog: &Catalog,
) -> Result<(Client, Option<twenty_sandbox::Sandbox>)> {
    if globals.sandbox {
        let sandbox = crate::sandbox::start_persistent(catalog.clone()).await?;
        let creds = context::Credentials {
            url: sandbox.url(),
            key: Some(
                twenty_client::ApiKey::new(sandbox.api_key())
                    .map_err(|e| anyhow::anyhow!("the sandbox key is unusable: {e}"))?,
            ),
        };
        let client = context::client(globals, creds)?;
        tracing::debug!("every request carries Authorization: Bearer [redacted]");
        return Ok((client, Some(sandbox)));
    }
    let creds = context::credentials(globals)?;
    if creds.key.is_some() {
        tracing::debug!("every request carries Authorization: Bearer [redacted]");
    }
    Ok((context::client(globals, creds)?, None))
}

/// The result of one call.
pub enum Outcome {
    /// `--raw`: the server's body as sent.
    Raw(String),
    /// The record, list or value out of the envelope.
    Data(Value),
}

/// The depth given, for the client's record verbs.
fn depth_of(call: &Call) -> Option<u8> {
    call.query
        .iter()
        .find(|(k, _)| k == "depth")
        .and_then(|(_, v)| v.parse().ok())
}

/// Sends one checked call. Creates go through the client's safe create
/// (client-generated ids, read back after a lost answer), unless they carry
/// parameters it does not take or the raw answer is wanted; those still get
/// ids first so a repeat cannot create twice.
pub async fn execute(
    client: &Client,
    object: Option<&Object>,
    op: &Operation,
    mut call: Call,
    raw: bool,
) -> Result<Outcome, twenty_client::Error> {
    let only_depth = call.query.iter().all(|(k, _)| k == "depth");
    if let (Some(object), false, true) = (object, raw, only_depth) {
        match (op.kind, call.body.take()) {
            (OperationKind::CreateOne, Some(body)) => {
                let record = client.create_one(object, body, depth_of(&call)).await?;
                return Ok(Outcome::Data(record));
            }
            (OperationKind::CreateMany, Some(Value::Array(records))) => {
                let records = client.create_many(object, records, depth_of(&call)).await?;
                return Ok(Outcome::Data(Value::Array(records)));
            }
            (_, body) => call.body = body,
        }
    }
    if matches!(
        op.kind,
        OperationKind::CreateOne | OperationKind::CreateMany
    ) {
        if let Some(body) = call.body.as_mut() {
            add_ids(body);
        }
    }

    let mut request = Request::new(op.method, call.path.clone());
    request.query = call.query.clone();
    request.body = call.body.clone();
    request.retry = if op.kind.is_idempotent() {
        RetrySafety::Always
    } else {
        RetrySafety::WhenUnprocessed
    };
    let response = client.send(request).await?;
    if raw {
        return Ok(Outcome::Raw(response.text));
    }
    match object {
        Some(object) => Ok(Outcome::Data(unwrap_envelope(
            object,
            op.kind,
            &response.body,
        )?)),
        None => Ok(Outcome::Data(response.body)),
    }
}

/// Gives every record without an `id` a fresh one, so that a create sent
/// twice after a lost answer is refused instead of creating twice.
fn add_ids(body: &mut Value) {
    let give = |record: &mut Value| {
        if let Value::Object(map) = record {
            map.entry("id")
                .or_insert_with(|| Value::String(uuid::Uuid::new_v4().to_string()));
        }
    };
    match body {
        Value::Array(items) => items.iter_mut().for_each(give),
        other => give(other),
    }
}

/// `list --all`: every page in turn, printed as it arrives, one page held
/// in memory at a time.
async fn list_all(
    client: &Client,
    globals: &Globals,
    object: Option<&Object>,
    call: Call,
    jq: Option<Jq>,
) -> Result<i32> {
    let Some(object) = object else {
        return Err(UsageError::new("--all needs a resource's list verb", None).into());
    };
    let mut query = ListQuery::default();
    for (name, value) in call.query {
        match name.as_str() {
            "filter" => query.filter = Some(value),
            "order_by" => query.order_by = Some(value),
            "limit" => query.limit = value.parse().ok(),
            "depth" => query.depth = value.parse().ok(),
            "starting_after" => query.starting_after = Some(value),
            "ending_before" => query.ending_before = Some(value),
            _ => query.extra.push((name, value)),
        }
    }
    let mut printer = Printer::new(globals.format, Some(object), jq);
    let mut pages = client.find_all(object, query);
    while let Some(page) = pages.next_page().await? {
        if let Err(error) = printer.page(&page.records) {
            let Some(failed) = error.downcast_ref::<jq::Failed>() else {
                return Err(error);
            };
            complain(&failed.to_string(), &[each_record_hint(&failed.expr)]);
            return Ok(1);
        }
    }
    printer.finish()?;
    Ok(0)
}

/// Why a filter may fail with `--all`, and the per-record filter to try
/// when it starts by taking the list apart (`.[].id` -> `.id`).
fn each_record_hint(expr: &str) -> String {
    let base = "with --all, --jq runs on each record in turn, not on the whole list";
    let Some(rest) = expr.trim().strip_prefix(".[]") else {
        return format!("{base}; for a filter over the whole list, pipe the output to jq");
    };
    let rest = rest.trim_start();
    let rest = rest.strip_prefix('|').map_or(rest, str::trim_start);
    let suggestion = match rest.chars().next() {
        None => ".".to_string(),
        Some('[') => format!(".{rest}"),
        Some(_) => rest.to_string(),
    };
    format!("{base}: write `{suggestion}` instead of `{}`", expr.trim())
}

/// Prints `error:` and `hint:` lines as [`crate::report`] does, for a
/// failure whose exit code or hints no error type carries.
fn complain(message: &str, hints: &[String]) {
    eprintln!("error: {message}");
    for hint in hints {
        eprintln!("hint: {hint}");
    }
}

/// `--each`: one call per input line, results in input order.
#[allow(clippy::too_many_arguments)]
async fn each(
    client: &Client,
    globals: &Globals,
    object: Option<&Object>,
    op: &Operation,
    command: &str,
    defaults: &Inputs,
    source: &str,
    mode: &Mode,
) -> Result<i32> {
    let reader: Box<dyn BufRead> = if source == "-" {
        Box::new(std::io::BufReader::new(std::io::stdin()))
    } else {
        Box::new(std::io::BufReader::new(
            std::fs::File::open(source)
                .with_context(|| format!("failed to open --each `{source}`"))?,
        ))
    };
    let object_owned: Option<Arc<Object>> = object.map(|o| Arc::new(o.clone()));
    let op_owned = Arc::new(op.clone());
    let raw = globals.raw;

    let mut pending: VecDeque<(usize, Pending)> = VecDeque::new();
    let mut index = 0usize;
    let mut code = 0;
    for line in reader.lines() {
        let line = line.with_context(|| format!("failed to read --each `{source}`"))?;
        if line.trim().is_empty() {
            continue;
        }
        let this = index;
        index += 1;

        let prepared = parse_item(&line, this)
            .and_then(|item| inputs::merge_item(op, defaults, &item))
            .and_then(|inputs| inputs::prepare(object, op, command, &inputs, &mode.limits));
        match prepared {
            Ok(call) => {
                let client = client.clone();
                let object = object_owned.clone();
                let op = op_owned.clone();
                pending.push_back((
                    this,
                    Pending::Task(tokio::spawn(async move {
                        execute(&client, object.as_deref(), &op, call, raw).await
                    })),
                ));
            }
            Err(usage) => pending.push_back((this, Pending::Invalid(usage))),
        }

        while pending.len() >= mode.concurrency {
            let Some((position, next)) = pending.pop_front() else {
                break;
            };
            let done = finish(next, position, mode).await?;
            if done != 0 {
                code = done;
                if !mode.continue_on_error {
                    return Ok(code);
                }
            }
        }
    }
    while let Some((position, next)) = pending.pop_front() {
        let done = finish(next, position, mode).await?;
        if done != 0 {
            code = done;
            if !mode.continue_on_error {
                return Ok(code);
            }
        }
    }
    Ok(code)
}

/// An `--each` item on its way: sent, or refused before sending.
enum Pending {
    Task(tokio::task::JoinHandle<Result<Outcome, twenty_client::Error>>),
    Invalid(UsageError),
}

fn parse_item(line: &str, index: usize) -> Result<Map<String, Value>, UsageError> {
    match serde_json::from_str::<Value>(line) {
        Ok(Value::Object(map)) => Ok(map),
        Ok(_) => Err(UsageError::new(
            format!("--each line {} is not a JSON object", index + 1),
            None,
        )),
        Err(e) => Err(UsageError::new(
            format!("--each line {} is not valid JSON: {e}", index + 1),
            None,
        )),
    }
}

/// Prints one item's result line (or error line) and returns its exit
/// code; without --continue-on-error a failure is printed to stderr the
/// usual way instead.
async fn finish(pending: Pending, index: usize, mode: &Mode) -> Result<i32> {
    let result = match pending {
        Pending::Task(task) => task
            .await
            .map_err(|e| anyhow::anyhow!("an --each task failed: {e}"))?,
        Pending::Invalid(usage) => {
            if !mode.continue_on_error {
                return Err(usage.into());
            }
            let line = serde_json::json!({"index": index, "error": usage.message, "status": null});
            outln!("{line}")?;
            return Ok(2);
        }
    };
    match result {
        Ok(Outcome::Data(value)) => outln!("{}", serde_json::to_string(&value)?)?,
        Ok(Outcome::Raw(text)) => outln!("{}", text.trim_end())?,
        Err(error) => {
            if !mode.continue_on_error {
                return Err(error.into());
            }
            let reason = match error.messages() {
                [] => error.to_string(),
                messages => messages.join("; "),
            };
            let line =
                serde_json::json!({"index": index, "error": reason, "status": error.status()});
            outln!("{line}")?;
            return Ok(error.exit_code());
        }
    }
    Ok(0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_all_hint_rewrites_a_filter_over_the_list() {
        for (expr, suggestion) in [
            (".[].id", "`.id`"),
            (".[] | .name", "`.name`"),
            (".[]|{id, city}", "`{id, city}`"),
            (".[][0]", "`.[0]`"),
            (".[]", "`.`"),
        ] {
            let hint = each_record_hint(expr);
            assert!(
                hint.contains(&format!("write {suggestion} instead")),
                "{hint}"
            );
        }
        assert!(each_record_hint("length").contains("pipe the output to jq"));
    }
}
