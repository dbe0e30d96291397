//! `twenty import` and `twenty export`: moving many records in and out of
//! a workspace.
//!
//! Import checks every row of a CSV or JSON-lines file against the catalog
//! before sending anything, creates the good rows with create many in
//! batches of the server's maximum with several batches in flight, splits
//! a batch the server refuses to find the rows at fault, and keeps a
//! journal so that a killed or interrupted (Ctrl-C) import resumes without
//! creating any row twice.
//! Export streams every record page by page into the same formats, so that
//! an export can be imported back.

use std::path::PathBuf;

mod export;
mod import;
pub mod journal;
mod remote;
pub mod rows;

pub use export::export;
pub use import::import;
pub use rows::FileFormat;

/// Exit code: every row was created or updated.
pub const EXIT_ALL_DONE: i32 = 0;
/// Exit code: some rows were rejected and written to the reject file; the
/// others were created or updated.
pub const EXIT_SOME_REJECTED: i32 = 1;
/// Exit code: the input file cannot be used, or no row could be sent.
pub const EXIT_INVALID_INPUT: i32 = 2;
/// Exit code: the import was interrupted with Ctrl-C, and `--resume`
/// finishes it; or an export to a file was, and left the file as it was.
/// 128 + SIGINT, as shells report a process that SIGINT ended.
pub const EXIT_INTERRUPTED: i32 = 130;

/// A count of `object`'s records in words, singular or plural as the
/// catalog names them: `1 person`, `3 workflow runs`.
fn records(count: usize, object: &twenty_core::Object) -> String {
    let name = if count == 1 {
        &object.singular
    } else {
        &object.plural
    };
    format!("{count} {}", crate::commands::human(name))
}

/// Prints a refusal of what the user typed the way every command does,
/// and returns [`EXIT_INVALID_INPUT`].
fn refuse(usage: &crate::UsageError) -> i32 {
    errln!("error: {}", usage.message);
    if let Some(hint) = &usage.hint {
        errln!("hint: {hint}");
    }
    EXIT_INVALID_INPUT
}

/// Options of `twenty import <resource> FILE`.
#[derive(clap::Args, Debug, Clone)]
#[command(
    about = "Create or update records from a CSV or JSON-lines file",
    long_about = None
)]
pub struct ImportArgs {
    /// File to import: CSV with a header row of fields and sub-fields
    /// (`name.firstName,emails.primaryEmail,companyId`), or JSON lines
    /// (path)
    #[arg(value_name = "FILE")]
    pub file: PathBuf,

    /// Format of FILE (one of csv, jsonl; default: from its extension,
    /// else the global --format)
    #[arg(
        long = "as",
        value_enum,
        ignore_case = true,
        value_name = "FORMAT",
        hide_possible_values = true,
        help_heading = "Input"
    )]
    pub as_format: Option<FileFormat>,

    /// The global `--format` value, passed in by the command line so that
    /// `--format csv` works as well as `--as csv`.
    #[arg(skip)]
    pub format_hint: Option<String>,

    /// Update the record whose FIELD has the row's value instead of
    /// creating another, such as emails.primaryEmail, or id for rows
    /// exported earlier (field path; default: create every row)
    #[arg(long, value_name = "FIELD", help_heading = "Input")]
    pub update_by: Option<String>,

    /// Records per create many request (integer; default and maximum: the
    /// server's limit, 60 for Twenty v1.0)
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u32).range(1..),
          help_heading = "Sending")]
    pub batch_size: Option<u32>,

    /// Requests in flight at once (integer; 1 to 64; default 4)
    #[arg(long, value_name = "N", default_value_t = 4, hide_default_value = true,
          value_parser = clap::value_parser!(u32).range(1..=64), help_heading = "Sending")]
    pub concurrency: u32,

    /// Check every row and write the reject file, without sending anything
    /// (switch)
    #[arg(long, help_heading = "Sending")]
    pub dry_run: bool,

    /// Finish an interrupted import from its journal, FILE.journal
    /// (switch)
    #[arg(long, help_heading = "Sending")]
    pub resume: bool,

    /// Where rejected rows go, one JSON line `{row, reason, input}` each
    /// (path; default FILE.rejects.jsonl)
    #[arg(long, value_name = "PATH", help_heading = "Report")]
    pub reject_file: Option<PathBuf>,

    /// Hide the progress bar, which shows only on a terminal anyway
    /// (switch)
    #[arg(long, help_heading = "Report")]
    pub no_progress: bool,

    /// Whether Ctrl-C stops the import resumably (see
    /// [`EXIT_INTERRUPTED`]) instead of ending the process. The command
    /// line sets it; a program embedding the import may keep SIGINT for
    /// itself.
    #[arg(skip = true)]
    pub interruptible: bool,
}

/// Options of `twenty export <resource>`.
#[derive(clap::Args, Debug, Clone)]
#[command(
    about = "Write every record of a resource to a CSV or JSON-lines file",
    long_about = None
)]
pub struct ExportArgs {
    /// Export only the records matching this filter, such as
    /// `emails.primaryEmail[like]:"%@acme.com"` (text; default: every
    /// record)
    #[arg(long, value_name = "FILTER", help_heading = "Parameters")]
    pub filter: Option<String>,

    /// Sort order, such as `name.lastName,createdAt[DescNullsLast]`
    /// (text; default: by id)
    #[arg(long, value_name = "ORDER", help_heading = "Parameters")]
    pub order_by: Option<String>,

    /// Relation levels to include (integer; one of the server's depth
    /// values; default 0; CSV holds only the record's own fields)
    #[arg(long, value_name = "N", help_heading = "Parameters")]
    pub depth: Option<u8>,

    /// Records per request (integer; default and maximum: the server's
    /// limit, 60 for Twenty v1.0)
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u32).range(1..),
          help_heading = "Parameters")]
    pub page_size: Option<u32>,

    /// Format to write (one of csv, jsonl; default: the global --format
    /// when it is one of them, else from --output-file's extension, which
    /// must then be .csv or .jsonl, else jsonl)
    #[arg(
        long = "as",
        value_enum,
        ignore_case = true,
        value_name = "FORMAT",
        hide_possible_values = true,
        help_heading = "Output"
    )]
    pub as_format: Option<FileFormat>,

    /// The global `--format` value, passed in by the command line.
    #[arg(skip)]
    pub format_hint: Option<String>,

    /// Write to this file instead of standard output (path)
    #[arg(long, short = 'o', value_name = "FILE", help_heading = "Output")]
    pub output_file: Option<PathBuf>,

    /// Whether Ctrl-C stops an export to a file cleanly (removing the
    /// unfinished file, see [`EXIT_INTERRUPTED`]) instead of ending the
    /// process. The command line sets it; a program embedding the export
    /// may keep SIGINT for itself.
    #[arg(skip = true)]
    pub interruptible: bool,
}
