//! `twenty import` and `twenty export`: moving many records in and out of
//! a workspace.
//!
//! Import checks every row of a CSV or JSON-lines file against the catalog
//! before sending anything, creates the good rows with create many in
//! batches of the server's maximum with several batches in flight, splits
//! a batch the server refuses to find the rows at fault, and keeps a
//! journal so that a killed import resumes without creating any row twice.
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

/// Arguments of `twenty import <resource> FILE`.
#[derive(clap::Args, Debug, Clone)]
pub struct ImportArgs {
    /// File to import: CSV with a header row naming fields and sub-fields
    /// (`name.firstName,emails.primaryEmail,companyId`), or JSON lines
    pub file: PathBuf,

    /// File format (csv or jsonl; default: from the file's extension, or
    /// the global --format when it is csv or jsonl)
    #[arg(long = "as", value_enum, value_name = "FORMAT")]
    pub as_format: Option<FileFormat>,

    /// The global `--format` value, passed in by the command line so that
    /// `--format csv` works as well as `--as csv`.
    #[arg(skip)]
    pub format_hint: Option<String>,

    /// Records per create many request (number; default and maximum: the
    /// server's limit, 60 for Twenty v1.0)
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u32).range(1..))]
    pub batch_size: Option<u32>,

    /// Requests in flight at once (number; default 4)
    #[arg(long, value_name = "N", default_value_t = 4,
          value_parser = clap::value_parser!(u32).range(1..=64))]
    pub concurrency: u32,

    /// Check every row and report, without sending anything
    #[arg(long)]
    pub dry_run: bool,

    /// Update the records that already have a row's value of this field
    /// (such as emails.primaryEmail) instead of creating them again
    #[arg(long, value_name = "FIELD")]
    pub update_by: Option<String>,

    /// Where rejected rows go, as JSON lines (default: FILE.rejects.jsonl)
    #[arg(long, value_name = "PATH")]
    pub reject_file: Option<PathBuf>,

    /// Finish an import that was interrupted, from its journal
    /// (FILE.journal)
    #[arg(long)]
    pub resume: bool,

    /// Do not show a progress bar (it shows only on a terminal anyway)
    #[arg(long)]
    pub no_progress: bool,
}

/// Arguments of `twenty export <resource>`.
#[derive(clap::Args, Debug, Clone)]
pub struct ExportArgs {
    /// Export only the records matching this filter
    /// (`emails.primaryEmail[like]:"%@acme.com"`)
    #[arg(long, value_name = "FILTER")]
    pub filter: Option<String>,

    /// Sort order (`name.lastName,createdAt[DescNullsLast]`; default: id)
    #[arg(long, value_name = "ORDER")]
    pub order_by: Option<String>,

    /// File format (csv or jsonl; default: the global --format when it is
    /// csv or jsonl, else from --output-file's extension, else jsonl)
    #[arg(long = "as", value_enum, value_name = "FORMAT")]
    pub as_format: Option<FileFormat>,

    /// The global `--format` value, passed in by the command line.
    #[arg(skip)]
    pub format_hint: Option<String>,

    /// Write to this file instead of standard output
    #[arg(long, short = 'o', value_name = "FILE")]
    pub output_file: Option<PathBuf>,

    /// Relation levels to include in JSON lines (number; default 0; CSV
    /// holds only the record's own fields)
    #[arg(long, value_name = "N")]
    pub depth: Option<u8>,

    /// Records per request (number; default and maximum: the server's
    /// limit)
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u32).range(1..))]
    pub page_size: Option<u32>,
}
