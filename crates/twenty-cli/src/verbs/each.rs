//! `--each FILE|-`: the verb once per JSON line, results in input order.
//!
//! A regular file is read and checked whole before the first request, so
//! a mistake on any line sends nothing (exit 2). Standard input or a pipe
//! is a stream, checked line by line as it is read: a mistake stops the
//! run, and the message says which lines ran before it. With
//! `--continue-on-error` every line runs, and a failed one gets an error
//! line in its place: `{"line": 3, "error": "...", "status": 400,
//! "exit_code": 2}`, where `line` counts from 1 as an editor does and
//! `status` is there only when a server answered.
//!
//! The exit code is 0 when every line ran, else that of the first failed
//! line; but 2 promises that nothing was done, so it becomes 1 once any
//! line has run.

use std::collections::VecDeque;
use std::fs::File;
use std::io::{BufRead, BufReader, Seek, SeekFrom};
use std::sync::Arc;

use anyhow::Result;
use serde_json::{Map, Value};
use twenty_client::Client;
use twenty_core::Object;

use super::{Job, Outcome, complain, execute};
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
    reader: Box<dyn BufRead>,
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
    let item = match serde_json::from_str::<Value>(line) {
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

/// A line on its way: sent, or refused before sending.
enum Pending {
    Sent(tokio::task::JoinHandle<Result<Outcome, twenty_client::Error>>),
    Refused(UsageError),
}

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
        }
    }
}

impl From<twenty_client::Error> for Failure {
    fn from(error: twenty_client::Error) -> Self {
        let reason = match error.messages() {
            [] => error.to_string(),
            messages => messages.join("; "),
        };
        Failure {
            reason,
            message: error.to_string(),
            hint: error.hint(),
            status: error.status(),
            exit_code: error.exit_code(),
            took_effect: error.outcome_unknown(),
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

    fn failed(&mut self, failure: &Failure) {
        self.extending = false;
        self.took_effect |= failure.took_effect;
        self.first_exit.get_or_insert(failure.exit_code);
    }

    /// `lines 1-2 and 4 ran (their results are on stdout)`.
    fn ran_lines(&self) -> String {
        let parts: Vec<String> = self
            .ran
            .iter()
            .map(|(a, b)| match a == b {
                true => a.to_string(),
                false => format!("{a}-{b}"),
            })
            .collect();
        match self.ran.as_slice() {
            [(a, b)] if a == b => format!("line {a} ran (its result is on stdout)"),
            _ => format!(
                "lines {} ran (their results are on stdout)",
                join_and(&parts)
            ),
        }
    }
}

/// Runs every line of `source`, printing one result (or error line) per
/// line in input order; returns the exit code.
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
    let name = source.name;
    let mut lines = numbered(source.reader);
    let mut pending: VecDeque<(usize, Pending)> = VecDeque::new();
    let mut tally = Tally::default();
    let mut reading = true;
    let mut last_read = 0;

    loop {
        // Start lines until `concurrency` are in flight; a refused line
        // ends the reading unless the run goes on past failures.
        while reading && pending.len() < settings.concurrency {
            let Some((number, line)) = lines.next() else {
                reading = false;
                break;
            };
            last_read = number;
            let line = match line {
                Ok(line) if line.trim().is_empty() => continue,
                Ok(line) => line,
                Err(e) => {
                    let error = UsageError::new(format!("cannot be read: {e}"), None);
                    pending.push_back((number, Pending::Refused(error)));
                    reading = false;
                    break;
                }
            };
            match prepare_line(job, &line) {
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
        }

        // Then settle the oldest, so output keeps input order.
        let Some((number, next)) = pending.pop_front() else {
            break;
        };
        let failure = match settle(next, printer).await? {
            None => {
                tally.ran(number);
                continue;
            }
            Some(failure) => failure,
        };
        tally.failed(&failure);
        if settings.continue_on_error && printer.shows_error_lines() {
            let mut line = Map::new();
            line.insert("line".into(), number.into());
            line.insert("error".into(), failure.reason.into());
            if let Some(status) = failure.status {
                line.insert("status".into(), status.into());
            }
            line.insert("exit_code".into(), failure.exit_code.into());
            printer.line(&Value::Object(line))?;
        } else {
            let hints: Vec<String> = failure.hint.into_iter().collect();
            complain(
                &format!("--each{name} line {number}: {}", failure.message),
                &hints,
            );
        }
        reading &= settings.continue_on_error;
    }
    printer.finish()?;

    let Some(exit) = tally.first_exit else {
        return Ok(0);
    };
    if !settings.continue_on_error {
        let sent = match (tally.ran.is_empty(), tally.sent) {
            (_, false) => "nothing was sent".to_string(),
            (true, true) => format!("no line ran; nothing after line {last_read} was sent"),
            (false, true) => format!(
                "{}; nothing after line {last_read} was sent",
                tally.ran_lines()
            ),
        };
        eprintln!("hint: {sent}");
    }
    Ok(if exit == 2 && tally.took_effect {
        1
    } else {
        exit
    })
}

/// Waits for one line and prints its result; returns why it failed, if it
/// did.
async fn settle(pending: Pending, printer: &mut Printer<'_>) -> Result<Option<Failure>> {
    let outcome = match pending {
        Pending::Refused(error) => return Ok(Some(error.into())),
        Pending::Sent(task) => match task.await {
            Ok(Ok(outcome)) => outcome,
            Ok(Err(error)) => return Ok(Some(error.into())),
            Err(e) => anyhow::bail!("an --each task failed: {e}"),
        },
    };
    let printed = match outcome {
        Outcome::Raw(text) if !printer.filters() => {
            outln!("{}", text.trim_end()).map_err(anyhow::Error::from)
        }
        other => printer.item(&other.into_value()),
    };
    match printed {
        Ok(()) => Ok(None),
        Err(error) => match error.downcast_ref::<jq::Failed>() {
            // The call itself ran; only its output is missing.
            Some(failed) => Ok(Some(Failure {
                reason: failed.to_string(),
                message: failed.to_string(),
                hint: None,
                status: None,
                exit_code: 1,
                took_effect: true,
            })),
            None => Err(error),
        },
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
        tally.failed(&refused);
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
}
