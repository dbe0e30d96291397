//! Running one operation: from the verb's matches to requests and printed
//! results, for a single call, `list --all`, or `--each` over input lines
//! (in the `each` module).

mod each;

use anyhow::Result;
use clap::ArgMatches;
use serde_json::Value;
use twenty_client::{Client, ListQuery, Request, RetrySafety, unwrap_envelope};
use twenty_core::{Catalog, Object, Operation, OperationKind};

use crate::UsageError;
use crate::context;
pub use crate::context::connect;
use crate::globals::Globals;
use crate::inputs::{self, Call, Inputs, Limits};
use crate::jq::{self, Jq};
use crate::output::Printer;

/// One operation with the inputs typed on the command line: what every
/// call of a run is prepared from.
struct Job<'a> {
    object: Option<&'a Object>,
    op: &'a Operation,
    command: &'a str,
    defaults: Inputs,
    limits: Limits,
}

impl Job<'_> {
    /// Checks `inputs` and builds the request.
    fn prepare(&self, inputs: &Inputs) -> Result<Call, UsageError> {
        inputs::prepare(self.object, self.op, self.command, inputs, &self.limits)
    }
}

/// What a run sends: one call, or one per line of an `--each` source.
enum Plan {
    Single(Call),
    Each(each::Source),
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
    // First: preparing the calls logs decisions too (the fields dropped
    // from a record sent back), and a log before this is lost.
    context::init_logging(globals);
    let all = op.kind == OperationKind::FindMany
        && m.try_get_one::<bool>("all").ok().flatten() == Some(&true);
    let settings = each::Settings {
        continue_on_error: m.get_flag("continue-on-error"),
        concurrency: m
            .get_one::<u16>("concurrency")
            .map_or(1, |n| usize::from(*n)),
    };

    // Everything the user typed is checked before a client exists: the
    // one call, or every line of an --each file.
    let jq = globals.jq.as_deref().map(Jq::compile).transpose()?;
    let job = Job {
        object,
        op,
        command,
        defaults: inputs::from_matches(m)?,
        limits: Limits::of(catalog),
    };
    check_raw(globals, all)?;
    let plan = match m.get_one::<String>("each") {
        None => Plan::Single(job.prepare(&job.defaults)?),
        Some(source) => Plan::Each(each::Source::open(source, &job, &settings)?),
    };
    if let Plan::Single(call) = &plan
        && all
        && call.query.iter().any(|(k, v)| k == "limit" && v == "0")
    {
        // The server answers an empty page that says more follow, with no
        // cursor to follow: paging could never end.
        return Err(UsageError::new(
            "--all cannot page with --limit 0: every page would be empty",
            Some("leave --limit out to page by the server's default, or give at least 1".into()),
        )
        .into());
    }
    let mut printer = Printer::new(globals.format, object, jq)
        .duplicates(op.kind == OperationKind::FindDuplicates);

    let runtime = context::runtime()?;
    runtime.block_on(async {
        let (client, sandbox) = connect(globals, catalog).await?;
        let result = match plan {
            Plan::Single(call) if all => list_all(&client, object, call, &mut printer).await,
            Plan::Single(call) => {
                let target = call.id.clone();
                let out = execute(&client, object, op, call, globals.raw).await?;
                // Named before printing, which takes the result.
                let made = made(object, op, command, target, &out);
                let printed = match out {
                    Outcome::Raw(text) if globals.jq.is_none() => {
                        outln!("{text}").map_err(anyhow::Error::from)
                    }
                    other => printer.print(&other.into_value()),
                };
                let Err(error) = printed else { return Ok(0) };
                match unwritten(error, changes_records(op))? {
                    Unwritten::Quiet => Ok(0),
                    Unwritten::Lost(lost) => {
                        let (message, hint) = made;
                        let message = format!(
                            "{message}, but its result could not be written to {}",
                            lost.place_and_reason()
                        );
                        complain(&message, &hint.into_iter().collect::<Vec<_>>());
                        Ok(1)
                    }
                }
            }
            Plan::Each(source) => {
                let raw = globals.raw;
                each::run(&client, &job, source, &settings, raw, &mut printer).await
            }
        };
        if let Some(sandbox) = sandbox {
            sandbox.shutdown().await;
        }
        result
    })
}

/// Whether the verb can change records: a read is safe to stop anywhere,
/// so a reader who goes away need not be told what ran.
fn changes_records(op: &Operation) -> bool {
    match op.kind {
        OperationKind::FindMany
        | OperationKind::FindOne
        | OperationKind::FindDuplicates
        | OperationKind::GroupBy => false,
        _ => op.method != twenty_core::Method::Get,
    }
}

/// A result that could not be written to stdout, and why.
struct Lost {
    /// The reader went away (`| head -1`), as opposed to a full disk or
    /// another failed write.
    closed: bool,
    reason: String,
}

impl Lost {
    /// Where the result went, for `could not be written to ...`.
    fn place(&self) -> &'static str {
        match self.closed {
            true => "the closed stdout",
            false => "stdout",
        }
    }

    /// The place with the reason, for a message that gives it once.
    fn place_and_reason(&self) -> String {
        match self.closed {
            true => self.place().to_string(),
            false => format!("{}: {}", self.place(), self.reason),
        }
    }
}

/// What a result that could not be written means for the run.
enum Unwritten {
    /// A read whose reader went away: the run ends quietly, as `list |
    /// head` does.
    Quiet,
    /// A change whose result was lost: the run says on stderr what was
    /// made and exits 1, or the user, seeing no result, sends it again.
    Lost(Lost),
}

/// The one rule for a failed print, for every format, single calls and
/// `--each` alike: [`Unwritten`] when the write to stdout failed, and
/// `error` itself for anything else (such as a read's full disk, or a
/// failure other than writing).
fn unwritten(error: anyhow::Error, changes: bool) -> Result<Unwritten> {
    let Some(io) = crate::output::unwritten(&error) else {
        return Err(error);
    };
    let closed = io.kind() == std::io::ErrorKind::BrokenPipe;
    match (changes, closed) {
        (true, _) => Ok(Unwritten::Lost(Lost {
            closed,
            reason: crate::io_reason(io),
        })),
        (false, true) => Ok(Unwritten::Quiet),
        (false, false) => Err(error),
    }
}

/// What a single call that changes records did, for when its result
/// cannot be shown: `person ID was created`, and a hint for a create,
/// the one change that sending again repeats.
fn made(
    object: Option<&Object>,
    op: &Operation,
    command: &str,
    target: Option<String>,
    out: &Outcome,
) -> (String, Option<String>) {
    let generic = (format!("`twenty {command}` made its change"), None);
    let Some(object) = object else {
        return generic;
    };
    let name = crate::commands::human(&object.singular);
    let done = match op.kind {
        OperationKind::CreateOne => "created",
        OperationKind::UpdateOne => "updated",
        OperationKind::DeleteOne => "deleted",
        OperationKind::RestoreOne => "restored",
        _ => return generic,
    };
    let id = target.or_else(|| {
        let value = match out {
            Outcome::Data(value) => value.clone(),
            Outcome::Raw(text) => {
                let body = serde_json::from_str(text).ok()?;
                unwrap_envelope(object, op.kind, &body).ok()?
            }
        };
        value.get("id")?.as_str().map(str::to_string)
    });
    let Some(id) = id else {
        return (format!("the {name} was {done}"), None);
    };
    let hint = (op.kind == OperationKind::CreateOne).then(|| {
        format!(
            "do not create it again: `twenty {} get {id}` shows it",
            crate::commands::resource_name(object)
        )
    });
    (format!("{name} {id} was {done}"), hint)
}

/// `--raw` prints one answer as the server sent it, so it cannot mean
/// anything with `--all`, which joins many, or with a format that would
/// rewrite it; with `--jq` the filter runs on the answer and its output is
/// formatted as usual.
fn check_raw(globals: &Globals, all: bool) -> Result<(), UsageError> {
    if !globals.raw {
        return Ok(());
    }
    if all {
        return Err(UsageError::new(
            "--raw cannot be used with --all: --raw prints one answer as the server sent it, \
             and --all joins the records of every page",
            Some("drop --raw for every record, or --all for the first page's answer".into()),
        ));
    }
    let format = globals.format_name.as_deref().unwrap_or("json");
    if format != "json" && globals.jq.is_none() {
        return Err(UsageError::new(
            format!(
                "--raw cannot be used with --format {format}: it prints the server's answer \
                 unchanged, as JSON"
            ),
            Some(format!(
                "drop --raw for {format}, or add --jq to pick from the answer what to print \
                 as {format}"
            )),
        ));
    }
    Ok(())
}

/// The result of one call.
pub enum Outcome {
    /// `--raw`: the server's body as sent.
    Raw(String),
    /// The record, list or value out of the envelope.
    Data(Value),
}

impl Outcome {
    /// The result as JSON, for `--jq`: a raw body that is not JSON is
    /// taken as text.
    fn into_value(self) -> Value {
        match self {
            Outcome::Raw(text) => serde_json::from_str(&text).unwrap_or(Value::String(text)),
            Outcome::Data(value) => value,
        }
    }
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
    ) && let Some(body) = call.body.as_mut()
    {
        add_ids(body);
    }

    let mut request = Request::new(op.method, call.path.clone());
    request.query = call.query.clone();
    request.body = call.body.clone();
    request.retry = if op.kind.is_idempotent() {
        RetrySafety::Always
    } else {
        RetrySafety::WhenUnprocessed
    };
    let sent = client.send_noting_repeats(request).await;
    let response = match sent.result {
        Ok(response) => response,
        Err(error @ twenty_client::Error::NotFound { .. }) if sent.repeated_after_unknown => {
            return after_lost_answer(client, object, op, &call, raw, error).await;
        }
        Err(error) => return Err(error),
    };
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

/// The result of a delete or restore of one record whose first answer was
/// lost and whose repeat was refused with "not found": the lost attempt did
/// the work, so the repeat found nothing left to do. A delete then returns
/// what Twenty returns, the id; a restore reads the record back, and only
/// a record that is there and not deleted counts as restored. Anything
/// else keeps the repeat's `error`.
async fn after_lost_answer(
    client: &Client,
    object: Option<&Object>,
    op: &Operation,
    call: &Call,
    raw: bool,
    error: twenty_client::Error,
) -> Result<Outcome, twenty_client::Error> {
    let (Some(object), Some(id)) = (object, call.id.as_deref()) else {
        return Err(error);
    };
    let record = match op.kind {
        OperationKind::DeleteOne => serde_json::json!({ "id": id }),
        OperationKind::RestoreOne => match client.find_one(object, id, depth_of(call)).await {
            Ok(record) if record.get("deletedAt").is_none_or(Value::is_null) => record,
            _ => return Err(error),
        },
        _ => return Err(error),
    };
    tracing::debug!(
        "{} {id}: the repeat found nothing left to do, so the unanswered attempt did it",
        object.singular
    );
    if !raw {
        return Ok(Outcome::Data(record));
    }
    // No answer of the server's own survives: the one Twenty sends for
    // this operation is rebuilt, so `--raw` output keeps its shape.
    let verb = match op.kind {
        OperationKind::DeleteOne => "delete",
        _ => "restore",
    };
    let key = format!("{verb}{}", twenty_core::names::pascal(&object.singular));
    Ok(Outcome::Raw(
        serde_json::json!({ "data": { key: record } }).to_string(),
    ))
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
    object: Option<&Object>,
    call: Call,
    printer: &mut Printer<'_>,
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
    errln!("error: {message}");
    for hint in hints {
        errln!("hint: {hint}");
    }
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
