//! `--each FILE|-`: the verb once per JSON line, results in input order.
//!
//! A regular file is read and checked whole before the first request, so
//! a mistake on any line sends nothing (exit 2). Standard input or a pipe
//! is a stream, checked line by line as it is read: a mistake stops the
//! run, and the message says which lines ran before it. With
//! `--continue-on-error` every line runs, and a failed one gets an error
//! line in its place: `{"line": 3, "error": "...", "status": 400,
//! "exit_code": 2}`, where `line` counts from 1 as an editor does and
//! `status` is there only when a server answered. An empty source runs
//! nothing and exits 0.
//!
//! The exit code is one rule a script can rely on: 0 when every line ran;
//! 1 when some line ran (or may have: its answer was lost) and another
//! failed or was never sent; otherwise no line took effect, and the code
//! is the first failure's (2 when it was a bad line, so nothing was sent).
//! Ctrl-C stops sending, gives the lines in flight a moment to finish and
//! exits 130. When a result cannot be written (stdout closed by `| head
//! -1`, a full disk), sending stops too: a read on a closed stdout ends
//! quietly as `list | head` does, but a verb that changes records says on
//! stderr which lines ran and exits 1, in every format, since the reader
//! never saw some results of changes that were made.

use std::collections::VecDeque;
use std::fs::File;
use std::io::{BufRead, BufReader, Seek, SeekFrom};
use std::sync::Arc;
use std::time::Duration;

use anyhow::Result;
use serde_json::{Map, Value};
use tokio::sync::mpsc;
use tokio::time::{Instant, sleep_until};
use twenty_client::Client;
use twenty_core::Object;

use super::{Job, Lost, Outcome, Unwritten, changes_records, complain, execute, unwritten};
use crate::UsageError;
use crate::inputs::{self, Call};
use crate::jq;
use crate::output::Printer;

/// How the lines run.
pub struct Settings {
    /// `--continue-on-error`.
    pub continue_on_error: bool,
    /// `--concurrency`: lines in flight at once.
    pub concurrency: usize,
}

/// Where the lines come from.
pub struct Source {
    /// `` `items.jsonl` `` for a file, empty for standard input, as messages
    /// name it after `--each`.
    name: String,
    reader: Box<dyn BufRead + Send>,
}

impl Source {
    /// Opens `path` (`-` for standard input). A regular file is checked
    /// whole here, unless `--continue-on-error` asks to run the valid
    /// lines anyway.
    pub fn open(path: &str, job: &Job<'_>, settings: &Settings) -> Result<Source, UsageError> {
        let (name, mut file) = if path == "-" {
            match stdin_file() {
                Some(file) => (String::new(), file),
                None => {
                    return Ok(Source {
                        name: String::new(),
                        reader: Box::new(BufReader::new(std::io::stdin())),
                    });
                }
            }
        } else {
            let name = format!(" `{path}`");
            let file = File::open(path).map_err(|e| {
                let reason = crate::io_reason(&e);
                UsageError::new(format!("failed to open --each{name}: {reason}"), None)
            })?;
            (name, file)
        };
        let failed = |e: std::io::Error| {
            let reason = crate::io_reason(&e);
            UsageError::new(format!("failed to read --each{name}: {reason}"), None)
        };
        // A pipe such as `<(cmd)` is a file name too, but can be read only
        // once: it is run as a stream.
        let regular = file.metadata().is_ok_and(|m| m.is_file());
        if regular && !settings.continue_on_error {
            let start = file.stream_position().map_err(failed)?;
            check_all(&name, BufReader::new(&file), job)?;
            file.seek(SeekFrom::Start(start)).map_err(failed)?;
        }
        Ok(Source {
            name,
            reader: Box::new(BufReader::new(file)),
        })
    }
}

impl Source {
    /// The source's non-blank lines with their numbers, read on a thread
    /// of their own: a read from a terminal or a slow pipe may block, and
    /// Ctrl-C must be heard meanwhile. Reading stays at most `ahead` lines
    /// ahead of the run. The thread ends when the receiver is dropped,
    /// after its current read.
    fn read_ahead(self, ahead: usize) -> mpsc::Receiver<(usize, std::io::Result<String>)> {
        let (tx, rx) = mpsc::channel(ahead.max(1));
        std::thread::spawn(move || {
            for (number, line) in numbered(self.reader) {
                if line.as_ref().is_ok_and(|l| l.trim().is_empty()) {
                    continue;
                }
                let failed = line.is_err();
                if tx.blocking_send((number, line)).is_err() || failed {
                    break;
                }
            }
        });
        rx
    }
}

/// Standard input as a file when a file was redirected to it
/// (`--each - < items.jsonl`), so that it can be checked whole too.
#[cfg(unix)]
fn stdin_file() -> Option<File> {
    use std::os::fd::AsFd;
    let fd = std::io::stdin().as_fd().try_clone_to_owned().ok()?;
    let file = File::from(fd);
    file.metadata().is_ok_and(|m| m.is_file()).then_some(file)
}

#[cfg(not(unix))]
fn stdin_file() -> Option<File> {
    None
}

/// Lines with their numbers, counted from 1 like an editor does (blank
/// lines count, though they run nothing).
fn numbered(reader: impl BufRead) -> impl Iterator<Item = (usize, std::io::Result<String>)> {
    reader.lines().enumerate().map(|(i, line)| (i + 1, line))
}

/// Checks every line of a file; the first invalid one is the error, and
/// the hint counts the others.
fn check_all(name: &str, reader: impl BufRead, job: &Job<'_>) -> Result<(), UsageError> {
    let mut first: Option<(usize, UsageError)> = None;
    let mut others: Vec<usize> = Vec::new();
    let mut more = 0usize;
    for (number, line) in numbered(reader) {
        // A read error may well repeat on every later read: it ends the
        // check at once.
        let line = line.map_err(|e| {
            UsageError::new(
                format!("--each{name} line {number} cannot be read: {e}"),
                None,
            )
        })?;
        if line.trim().is_empty() {
            continue;
        }
        let Err(error) = prepare_line(job, &line) else {
            continue;
        };
        match first {
            None => first = Some((number, error)),
            // Only a few are named; a file of bad lines is fixed at once.
            Some(_) if others.len() < 5 => others.push(number),
            Some(_) => more += 1,
        }
    }
    let Some((number, error)) = first else {
        return Ok(());
    };
    let mut hint = String::new();
    if let Some(own) = &error.hint {
        hint = format!("{own}; ");
    }
    hint.push_str("nothing was sent: every line of a file is checked before the first is sent");
    if !others.is_empty() {
        let mut named: Vec<String> = others.iter().map(usize::to_string).collect();
        if more > 0 {
            named.push(format!("{more} more"));
        }
        let (noun, verb) = match named.len() {
            1 => ("line", "is"),
            _ => ("lines", "are"),
        };
        hint.push_str(&format!("; {noun} {} {verb} invalid too", join_and(&named)));
    }
    Err(UsageError::new(
        format!("--each{name} line {number}: {}", error.message),
        Some(hint),
    ))
}

/// One line's inputs over the command line's, checked.
fn prepare_line(job: &Job<'_>, line: &str) -> Result<Call, UsageError> {
    let parsed = serde_json::from_str::<Value>(line);
    // A plain `list` prints one pretty array, whose first line is `[`: the
    // usual JSON error ("EOF while parsing a list") would not say why. An
    // array of records on one line (`jq -c .`) is the same mistake.
    let records = match &parsed {
        Ok(Value::Array(items)) => items.iter().all(Value::is_object),
        Ok(_) => false,
        Err(_) => line.trim_start().starts_with('['),
    };
    if records {
        return Err(UsageError::new(
            "starts a JSON array, but --each reads one JSON object per line",
            Some(
                "write one record per line: add `--format jsonl` to the command that writes \
                 them (such as `list --format jsonl`), or pipe its JSON through `jq -c '.[]'`"
                    .into(),
            ),
        ));
    }
    let item = match parsed {
        Ok(Value::Object(map)) => map,
        Ok(_) => {
            return Err(UsageError::new(
                "not a JSON object: each line holds one object, such as {\"name\": \"x\"}",
                None,
            ));
        }
        Err(e) => {
            let text = e.to_string();
            let what = text.split(" at line ").next().unwrap_or(&text);
            return Err(UsageError::new(
                format!("not valid JSON at column {}: {what}", e.column()),
                None,
            ));
        }
    };
    let inputs = inputs::merge_item(job.op, &job.defaults, &item)?;
    job.prepare(&inputs)
}

/// How long the lines in flight get to finish after Ctrl-C; a second
/// Ctrl-C stops the wait at once.
const SETTLE_AFTER_INTERRUPT: Duration = Duration::from_secs(3);

/// A line on its way: sent, or refused before sending.
enum Pending {
    Sent(tokio::task::JoinHandle<Result<Outcome, twenty_client::Error>>),
    Refused(UsageError),
}

/// What a sent line's task came to.
type Joined = Result<Result<Outcome, twenty_client::Error>, tokio::task::JoinError>;

/// Why a line failed, in the forms the error line and stderr need.
struct Failure {
    /// For the error line: the server's messages, or what is wrong.
    reason: String,
    /// For stderr: the whole error, naming the request.
    message: String,
    hint: Option<String>,
    status: Option<u16>,
    exit_code: i32,
    /// Whether the line may have changed something anyway: it ran but its
    /// result could not be printed, or the answer was lost.
    took_effect: bool,
    /// Whether it was a change whose answer was lost (a broken connection
    /// after sending, a timeout or a 5xx): it may have run, and the
    /// summary must say so, or a re-run of the file makes it twice.
    answer_lost: bool,
}

impl From<UsageError> for Failure {
    fn from(error: UsageError) -> Self {
        Failure {
            reason: error.message.clone(),
            message: error.message,
            hint: error.hint,
            status: None,
            exit_code: 2,
            took_effect: false,
            answer_lost: false,
        }
    }
}

impl Failure {
    /// A failed call; `changes` says whether the verb changes records, as
    /// only then can a lost answer have done anything.
    fn from_client(error: twenty_client::Error, changes: bool) -> Self {
        let reason = match error.messages() {
            [] => error.to_string(),
            messages => messages.join("; "),
        };
        let answer_lost = changes && error.outcome_unknown();
        Failure {
            reason,
            message: error.to_string(),
            // The hint a single call gives: for a lost answer, to look
            // before sending again rather than to check the server.
            hint: crate::hint_for(&error),
            status: error.status(),
            exit_code: error.exit_code(),
            took_effect: answer_lost,
            answer_lost,
        }
    }
}

/// What has happened so far, for the exit code and the closing hint.
#[derive(Default)]
struct Tally {
    /// Lines that ran, as (first, last) of unbroken stretches.
    ran: Vec<(usize, usize)>,
    /// Whether the last settled line ran, so the next one extends its
    /// stretch.
    extending: bool,
    /// Lines that ran but whose result could not be written.
    unwritten: Vec<usize>,
    /// Why they could not be, from the first failed write.
    lost: Option<Lost>,
    /// Changes that failed with their answer lost: they may have run.
    maybe: Vec<usize>,
    first_exit: Option<i32>,
    took_effect: bool,
    sent: bool,
}

impl Tally {
    fn ran(&mut self, line: usize) {
        match self.ran.last_mut() {
            Some(stretch) if self.extending => stretch.1 = line,
            _ => self.ran.push((line, line)),
        }
        self.extending = true;
        self.took_effect = true;
    }

    /// A line that ran with its result lost.
    fn ran_unwritten(&mut self, line: usize) {
        self.ran(line);
        self.unwritten.push(line);
    }

    /// The first failed write: what stops the run, and where the results
    /// after it went.
    fn lose(&mut self, lost: Lost) {
        self.lost.get_or_insert(lost);
    }

    fn failed(&mut self, line: usize, failure: &Failure) {
        self.extending = false;
        if failure.answer_lost {
            self.maybe.push(line);
        }
        self.took_effect |= failure.took_effect;
        self.first_exit.get_or_insert(failure.exit_code);
    }

    /// The exit code of a run that ended without Ctrl-C: see the module
    /// docs.
    fn exit_code(&self) -> i32 {
        match self.first_exit {
            None => 0,
            Some(_) if self.took_effect => 1,
            Some(code) => code,
        }
    }

    /// `lines 1-2 and 4 ran (their results are on stdout)`.
    fn ran_lines(&self) -> String {
        let many = |count: usize, one: &'static str, more: &'static str| match count {
            1 => one,
            _ => more,
        };
        let ran = self.ran.iter().map(|(a, b)| b - a + 1).sum();
        let stretches: Vec<String> = self.ran.iter().map(|&(a, b)| span(a, b)).collect();
        let lines = format!("{} {}", many(ran, "line", "lines"), join_and(&stretches));
        if self.unwritten.is_empty() {
            let where_ = many(ran, "its result is", "their results are");
            return format!("{lines} ran ({where_} on stdout)");
        }
        let lost: Vec<String> = self.unwritten.iter().map(usize::to_string).collect();
        let place = self.lost.as_ref().map_or("the closed stdout", Lost::place);
        format!(
            "{lines} ran, but the {} of {} {} could not be written to {place}",
            many(lost.len(), "result", "results"),
            many(lost.len(), "line", "lines"),
            join_and(&lost)
        )
    }

    /// What ran and what was not sent: the closing hint of a run that
    /// stopped early. `abandoned` are lines sent but not waited for.
    fn summary(&self, last_read: usize, abandoned: &[usize]) -> String {
        if !self.sent {
            return "nothing was sent".to_string();
        }
        let mut parts = Vec::new();
        match (self.ran.is_empty(), self.maybe.is_empty()) {
            (true, true) => parts.push("no line ran".to_string()),
            (false, _) => parts.push(self.ran_lines()),
            (true, false) => {}
        }
        if !self.maybe.is_empty() {
            let (its, was) = match self.maybe.len() {
                1 => ("its answer", "was"),
                _ => ("their answers", "were"),
            };
            parts.push(format!(
                "{} may have run: {its} {was} lost",
                lines_named(&self.maybe)
            ));
        }
        if !abandoned.is_empty() {
            let (was, it) = match abandoned.len() {
                1 => ("was", "it"),
                _ => ("were", "they"),
            };
            parts.push(format!(
                "{} {was} sent, but not waited for: {it} may have run",
                lines_named(abandoned)
            ));
        }
        parts.push(format!("nothing after line {last_read} was sent"));
        parts.join("; ")
    }
}

/// `3` or `1-2`.
fn span(first: usize, last: usize) -> String {
    match first == last {
        true => first.to_string(),
        false => format!("{first}-{last}"),
    }
}

/// Why a run stopped before its source ran out, besides a failed line.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Stop {
    /// Ctrl-C.
    Interrupted,
    /// A result of a change could not be written (stdout was closed, or
    /// the disk is full): the reader would miss the results of the next
    /// lines too.
    Unwritable,
}

/// What the run loop waits for.
enum Event {
    Interrupt,
    /// The lines in flight had their time after Ctrl-C.
    GiveUp,
    /// The oldest pending line settled: `None` for a refused one.
    Settled(Option<Joined>),
    /// The next line of the source, or its end.
    Line(Option<(usize, std::io::Result<String>)>),
}

/// Runs every line of `source`, printing one result (or error line) per
/// line in input order; returns the exit code (see the module docs).
pub async fn run(
    client: &Client,
    job: &Job<'_>,
    source: Source,
    settings: &Settings,
    raw: bool,
    printer: &mut Printer<'_>,
) -> Result<i32> {
    let object: Option<Arc<Object>> = job.object.map(|o| Arc::new(o.clone()));
    let op = Arc::new(job.op.clone());
    let changes = changes_records(job.op);
    let name = source.name.clone();
    let mut lines = source.read_ahead(settings.concurrency);
    let (mut interrupts, _watcher) = watch_interrupts();
    let mut pending: VecDeque<(usize, Pending)> = VecDeque::new();
    let mut tally = Tally::default();
    let mut reading = true;
    let mut last_read = 0;
    let mut stop: Option<Stop> = None;
    let mut give_up_at: Option<Instant> = None;

    loop {
        // Lines are started until `concurrency` are in flight, and settled
        // oldest first, so output keeps input order.
        let room = reading && pending.len() < settings.concurrency;
        if !room && pending.is_empty() {
            break;
        }
        let event = tokio::select! {
            biased;
            Some(()) = interrupts.recv() => Event::Interrupt,
            () = sleep_until(give_up_at.unwrap_or_else(Instant::now)), if give_up_at.is_some() => {
                Event::GiveUp
            }
            joined = oldest(&mut pending), if !pending.is_empty() => Event::Settled(joined),
            line = lines.recv(), if room => Event::Line(line),
        };

        let (number, entry, joined) = match event {
            Event::Interrupt if stop == Some(Stop::Interrupted) => break,
            Event::Interrupt => {
                stop = Some(Stop::Interrupted);
                reading = false;
                let in_flight = sent_lines(&pending);
                if !in_flight.is_empty() {
                    errln!(
                        "interrupted: waiting up to {}s for {} in flight; Ctrl-C again to \
                         stop waiting",
                        SETTLE_AFTER_INTERRUPT.as_secs(),
                        lines_named(&in_flight)
                    );
                }
                give_up_at = Some(Instant::now() + SETTLE_AFTER_INTERRUPT);
                continue;
            }
            Event::GiveUp => break,
            Event::Line(None) => {
                reading = false;
                continue;
            }
            Event::Line(Some((number, line))) => {
                last_read = number;
                let prepared = match line {
                    Ok(line) => prepare_line(job, &line),
                    Err(e) => {
                        // A read error may well repeat on every later read.
                        reading = false;
                        Err(UsageError::new(format!("cannot be read: {e}"), None))
                    }
                };
                match prepared {
                    Ok(call) => {
                        let (client, object, op) = (client.clone(), object.clone(), op.clone());
                        let task = tokio::spawn(async move {
                            execute(&client, object.as_deref(), &op, call, raw).await
                        });
                        pending.push_back((number, Pending::Sent(task)));
                        tally.sent = true;
                    }
                    Err(error) => {
                        pending.push_back((number, Pending::Refused(error)));
                        reading &= settings.continue_on_error;
                    }
                }
                continue;
            }
            Event::Settled(joined) => match pending.pop_front() {
                Some((number, entry)) => (number, entry, joined),
                None => continue,
            },
        };

        let failure = match settle(
            entry,
            joined,
            printer,
            stop == Some(Stop::Unwritable),
            changes,
        )? {
            Settled::Ran => {
                tally.ran(number);
                continue;
            }
            Settled::RanUnwritten(Unwritten::Quiet) => {
                // Nothing to tell a reader who went away.
                tally.ran(number);
                return Ok(tally.exit_code());
            }
            Settled::RanUnwritten(Unwritten::Lost(lost)) => {
                tally.ran_unwritten(number);
                tally.lose(lost);
                stop.get_or_insert(Stop::Unwritable);
                reading = false;
                continue;
            }
            Settled::RanUnprinted => {
                tally.ran_unwritten(number);
                continue;
            }
            Settled::Failed(failure) => failure,
        };
        tally.failed(number, &failure);
        let error_line = settings.continue_on_error
            && printer.shows_error_lines()
            && stop != Some(Stop::Unwritable);
        if error_line {
            let mut line = Map::new();
            line.insert("line".into(), number.into());
            line.insert("error".into(), failure.reason.into());
            if let Some(status) = failure.status {
                line.insert("status".into(), status.into());
            }
            line.insert("exit_code".into(), failure.exit_code.into());
            if let Err(error) = printer.line(&Value::Object(line)) {
                match unwritten(error, changes)? {
                    Unwritten::Quiet => return Ok(tally.exit_code()),
                    Unwritten::Lost(lost) => {
                        tally.lose(lost);
                        stop.get_or_insert(Stop::Unwritable);
                        reading = false;
                    }
                }
            }
        } else {
            let hints: Vec<String> = failure.hint.into_iter().collect();
            complain(
                &format!("--each{name} line {number}: {}", failure.message),
                &hints,
            );
        }
        reading &= settings.continue_on_error;
    }

    // The table of every line's result is printed only now.
    if stop != Some(Stop::Unwritable)
        && let Err(error) = printer.finish()
    {
        match unwritten(error, changes)? {
            Unwritten::Quiet => return Ok(tally.exit_code()),
            Unwritten::Lost(lost) => {
                tally.lose(lost);
                stop = Some(stop.unwrap_or(Stop::Unwritable));
                let ran: Vec<usize> = tally.ran.iter().flat_map(|&(a, b)| a..=b).collect();
                tally.unwritten = ran;
            }
        }
    }

    let abandoned = sent_lines(&pending);
    match stop {
        Some(Stop::Interrupted) => {
            complain(
                &format!("--each{name} was interrupted (Ctrl-C)"),
                &[tally.summary(last_read, &abandoned)],
            );
            Ok(EXIT_INTERRUPTED)
        }
        Some(Stop::Unwritable) => {
            let why = match &tally.lost {
                Some(Lost {
                    closed: false,
                    reason,
                }) => {
                    format!("a result could not be written to stdout: {reason}")
                }
                _ => "stdout was closed before every result was written".to_string(),
            };
            complain(
                &format!("--each{name} stopped: {why}"),
                &[tally.summary(last_read, &abandoned)],
            );
            Ok(1)
        }
        None => {
            if tally.first_exit.is_some() && !settings.continue_on_error {
                errln!("hint: {}", tally.summary(last_read, &abandoned));
            }
            Ok(tally.exit_code())
        }
    }
}

/// How a line settled.
enum Settled {
    /// It ran and its result was written.
    Ran,
    /// It ran, but its result could not be written: what that means.
    RanUnwritten(Unwritten),
    /// It ran after a write had failed: its result was not tried.
    RanUnprinted,
    Failed(Failure),
}

/// Settles the oldest line: `joined` is its task's end (`None` for a
/// refused line), and its result is printed unless a write failed
/// already. A failure to print other than a failed write or a jq error
/// ends the run.
fn settle(
    entry: Pending,
    joined: Option<Joined>,
    printer: &mut Printer<'_>,
    stdout_failed: bool,
    changes: bool,
) -> Result<Settled> {
    let outcome = match (entry, joined) {
        (Pending::Refused(error), _) => return Ok(Settled::Failed(error.into())),
        (Pending::Sent(_), Some(Ok(Ok(outcome)))) => outcome,
        (Pending::Sent(_), Some(Ok(Err(error)))) => {
            return Ok(Settled::Failed(Failure::from_client(error, changes)));
        }
        (Pending::Sent(_), Some(Err(e))) => anyhow::bail!("an --each task failed: {e}"),
        (Pending::Sent(_), None) => anyhow::bail!("an --each line settled before its task"),
    };
    if stdout_failed {
        return Ok(Settled::RanUnprinted);
    }
    let error = match print(outcome, printer) {
        Ok(()) => return Ok(Settled::Ran),
        Err(error) => match unwritten(error, changes) {
            Ok(unwritten) => return Ok(Settled::RanUnwritten(unwritten)),
            Err(error) => error,
        },
    };
    match error.downcast::<jq::Failed>() {
        // The call itself ran; only its output is missing.
        Ok(failed) => Ok(Settled::Failed(Failure {
            reason: failed.to_string(),
            message: failed.to_string(),
            hint: None,
            status: None,
            exit_code: 1,
            took_effect: true,
            answer_lost: false,
        })),
        Err(error) => Err(error),
    }
}

/// Exit code after Ctrl-C: 128 + SIGINT, as shells report a process that
/// SIGINT ended.
const EXIT_INTERRUPTED: i32 = 130;

/// Waits for the oldest pending line: its task's end, or `None` at once
/// for a refused line.
async fn oldest(pending: &mut VecDeque<(usize, Pending)>) -> Option<Joined> {
    match pending.front_mut() {
        Some((_, Pending::Sent(task))) => Some(task.await),
        _ => None,
    }
}

/// The numbers of the lines sent and not yet settled.
fn sent_lines(pending: &VecDeque<(usize, Pending)>) -> Vec<usize> {
    pending
        .iter()
        .filter(|(_, entry)| matches!(entry, Pending::Sent(_)))
        .map(|(number, _)| *number)
        .collect()
}

/// `line 3` or `lines 3 and 4`.
fn lines_named(numbers: &[usize]) -> String {
    let named: Vec<String> = numbers.iter().map(usize::to_string).collect();
    match named.len() {
        1 => format!("line {}", named[0]),
        _ => format!("lines {}", join_and(&named)),
    }
}

/// Prints one line's result.
fn print(outcome: Outcome, printer: &mut Printer<'_>) -> Result<()> {
    match outcome {
        Outcome::Raw(text) if !printer.filters() => {
            outln!("{}", text.trim_end()).map_err(anyhow::Error::from)
        }
        other => printer.item(&other.into_value()),
    }
}

/// Ctrl-C presses, as messages, for as long as the guard lives. Once
/// watched, Ctrl-C no longer ends the process: the run loop decides.
fn watch_interrupts() -> (mpsc::UnboundedReceiver<()>, AbortOnDrop) {
    let (tx, rx) = mpsc::unbounded_channel();
    // On unix the handler is in place before this returns, so a Ctrl-C
    // right after the first line is sent is not lost; `ctrl_c` installs it
    // only when first polled.
    #[cfg(unix)]
    let task = {
        use tokio::signal::unix::{SignalKind, signal};
        let signals = signal(SignalKind::interrupt());
        tokio::spawn(async move {
            // Without a handler, Ctrl-C ends the process as it always does.
            let Ok(mut signals) = signals else { return };
            while signals.recv().await.is_some() {
                if tx.send(()).is_err() {
                    break;
                }
            }
        })
    };
    #[cfg(not(unix))]
    let task = tokio::spawn(async move {
        while tokio::signal::ctrl_c().await.is_ok() {
            if tx.send(()).is_err() {
                break;
            }
        }
    });
    (rx, AbortOnDrop(task))
}

/// Aborts the task when dropped.
struct AbortOnDrop(tokio::task::JoinHandle<()>);

impl Drop for AbortOnDrop {
    fn drop(&mut self) {
        self.0.abort();
    }
}

/// `a`, `a and b`, `a, b and c`.
fn join_and(parts: &[String]) -> String {
    match parts {
        [] => String::new(),
        [one] => one.clone(),
        [rest @ .., last] => format!("{} and {last}", rest.join(", ")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ran_lines_are_named_as_stretches() {
        let mut tally = Tally::default();
        tally.ran(1);
        tally.ran(2);
        let refused = Failure::from(UsageError::new("x", None));
        tally.failed(3, &refused);
        tally.ran(4);
        assert_eq!(
            tally.ran_lines(),
            "lines 1-2 and 4 ran (their results are on stdout)"
        );
        assert_eq!(tally.first_exit, Some(2));
        let mut one = Tally::default();
        one.ran(3);
        assert_eq!(one.ran_lines(), "line 3 ran (its result is on stdout)");
    }

    #[test]
    fn the_summary_names_lines_left_in_flight() {
        let mut tally = Tally {
            sent: true,
            ..Tally::default()
        };
        tally.ran(1);
        assert_eq!(
            tally.summary(3, &[2, 3]),
            "line 1 ran (its result is on stdout); lines 2 and 3 were sent, but not waited \
             for: they may have run; nothing after line 3 was sent"
        );
        assert_eq!(
            tally.summary(6, &[6]),
            "line 1 ran (its result is on stdout); line 6 was sent, but not waited for: it \
             may have run; nothing after line 6 was sent"
        );
        assert_eq!(Tally::default().summary(0, &[]), "nothing was sent");
    }

    #[test]
    fn the_summary_names_lines_whose_answer_was_lost() {
        let lost = Failure {
            took_effect: true,
            answer_lost: true,
            ..Failure::from(UsageError::new("x", None))
        };
        let mut tally = Tally {
            sent: true,
            ..Tally::default()
        };
        tally.failed(1, &lost);
        assert_eq!(
            tally.summary(1, &[]),
            "line 1 may have run: its answer was lost; nothing after line 1 was sent"
        );
        assert_eq!(tally.exit_code(), 1);
        let mut tally = Tally {
            sent: true,
            ..Tally::default()
        };
        tally.ran(1);
        tally.failed(2, &lost);
        tally.failed(3, &lost);
        assert_eq!(
            tally.summary(3, &[]),
            "line 1 ran (its result is on stdout); lines 2 and 3 may have run: their answers \
             were lost; nothing after line 3 was sent"
        );
    }

    #[test]
    fn the_exit_code_is_1_once_a_line_took_effect() {
        let not_found = |took_effect| Failure {
            exit_code: 6,
            took_effect,
            ..Failure::from(UsageError::new("x", None))
        };
        let mut none_ran = Tally::default();
        none_ran.failed(1, &not_found(false));
        assert_eq!(none_ran.exit_code(), 6);
        // An answer lost on a change may have changed something.
        let mut lost = Tally::default();
        lost.failed(1, &not_found(true));
        assert_eq!(lost.exit_code(), 1);
        let mut some_ran = Tally::default();
        some_ran.ran(1);
        some_ran.failed(2, &not_found(false));
        assert_eq!(some_ran.exit_code(), 1);
        let mut all_ran = Tally::default();
        all_ran.ran(1);
        assert_eq!(all_ran.exit_code(), 0);
    }
}
