//! The export job: every record matching a filter, page by page, written
//! as it arrives so that memory stays flat however many records there are.
//!
//! An output file is written under a temporary name beside it and renamed
//! into place only once the last page is in, so an export that fails or is
//! stopped leaves a file that was there as it was, and never a file that
//! looks complete and is not.

use std::collections::HashMap;
use std::fs::{self, File, OpenOptions};
use std::io::{self, BufWriter, Write};
use std::path::{Path, PathBuf};

use anyhow::Context;
use serde_json::Value;
use twenty_client::Client;
use twenty_core::{Catalog, Object, OperationKind, values};

use super::remote::Pages;
use super::rows::FileFormat;
use super::{EXIT_ALL_DONE, EXIT_INTERRUPTED, EXIT_INVALID_INPUT, ExportArgs, records, refuse};
use crate::UsageError;
use crate::commands::human;
use crate::inputs::{self, Inputs};

/// Writes every record of `object` matching `args.filter` to
/// `args.output_file` (standard output when absent), as CSV with one
/// column per field and sub-field ([`values::columns`]) or as JSON lines.
///
/// Returns [`EXIT_ALL_DONE`], also when the reader of standard output
/// goes away (`twenty export people | head`); [`EXIT_INVALID_INPUT`] before
/// anything is sent for options `list` would refuse (a filter or order on
/// an unknown field, a depth or page size the server does not allow) and
/// for an output file that cannot be created; [`EXIT_INTERRUPTED`] after
/// Ctrl-C (with `args.interruptible` and an output file). Fails with the
/// client's error when a page cannot be fetched after retries, or when the
/// output cannot be written: records written to standard output until
/// then stay written, an output file is left as it was.
pub async fn export(
    client: &Client,
    catalog: &Catalog,
    object: &Object,
    args: &ExportArgs,
) -> anyhow::Result<i32> {
    let format = match checked_format(args) {
        Ok(format) => format,
        Err(usage) => return Ok(refuse(&usage)),
    };
    let query = match checked_query(catalog, object, args) {
        Ok(query) => query,
        Err(usage) => return Ok(refuse(&usage)),
    };
    let max = catalog.max_limit().max(1);
    let page_size = query.limit.unwrap_or(max);
    if page_size > max {
        errln!(
            "error: --page-size {page_size} is above the server's maximum of {max} records per page"
        );
        return Ok(EXIT_INVALID_INPUT);
    }

    let (sink, staged): (Box<dyn Write>, _) = match &args.output_file {
        Some(path) => match Staged::create(path) {
            Ok((file, staged)) => (Box::new(file), staged),
            Err(usage) => return Ok(refuse(&usage)),
        },
        None => (Box::new(std::io::stdout().lock()), None),
    };
    let write = write_all(client, object, format, &query, page_size, sink);
    // The default Ctrl-C would end the process and leave the staged file
    // behind; only a staged file needs the signal caught.
    let written = match &staged {
        Some(staged) if args.interruptible => tokio::select! {
            // Ctrl-C first, so that its handler is in place before the
            // first request goes out.
            biased;
            Ok(()) = tokio::signal::ctrl_c() => {
                staged.discard();
                let left = if staged.replaces { "left as it was" } else { "not written" };
                let shown = args.output_file.as_deref().unwrap_or(&staged.target);
                errln!("interrupted: the export stopped; `{}` was {left}", shown.display());
                return Ok(EXIT_INTERRUPTED);
            }
            written = write => written,
        },
        _ => write.await,
    };
    let count = match written {
        Ok(count) => count,
        // The reader has what it wanted (`| head`): not a failure, and
        // nothing to report.
        Err(e) if is_closed_pipe(&e) => return Ok(EXIT_ALL_DONE),
        Err(e) => return Err(e),
    };
    if let Some(staged) = &staged {
        staged.commit()?;
    }

    let target = args.output_file.as_ref().map_or_else(
        || "standard output".to_owned(),
        |p| format!("`{}`", p.display()),
    );
    errln!("exported {} to {target}", records(count, object));
    Ok(EXIT_ALL_DONE)
}

fn is_closed_pipe(error: &anyhow::Error) -> bool {
    error.chain().any(|cause| {
        cause
            .downcast_ref::<io::Error>()
            .is_some_and(|e| e.kind() == io::ErrorKind::BrokenPipe)
    })
}

/// Writes every page to `sink` in `format`; returns how many records were
/// written. The sink is dropped, so closed, before this returns.
async fn write_all(
    client: &Client,
    object: &Object,
    format: FileFormat,
    query: &Query,
    page_size: u32,
    sink: Box<dyn Write>,
) -> anyhow::Result<usize> {
    let mut out = match format {
        FileFormat::Csv => {
            let columns = values::columns(object);
            let writer = csv::WriterBuilder::new()
                .buffer_capacity(64 * 1024)
                .from_writer(sink);
            Output::Csv(Box::new(writer), CsvRows::new(columns))
        }
        FileFormat::Jsonl => Output::Jsonl(BufWriter::with_capacity(64 * 1024, sink)),
    };

    // Each page is written before the next is fetched, so at most one page
    // is held in memory.
    let mut pages = Pages::new(
        object,
        query.filter.clone(),
        query.order_by.clone(),
        query.depth,
        page_size,
    );
    let mut count = 0;
    out.header().context("failed to write the export")?;
    while let Some(records) = pages.next_page(client).await? {
        records
            .iter()
            .try_for_each(|r| out.record(object, r))
            .context("failed to write the export")?;
        count += records.len();
    }
    out.flush().context("failed to write the export")?;
    Ok(count)
}

/// An output file written under a temporary name beside its target, which
/// replaces the target on [`Staged::commit`] and is removed otherwise.
#[derive(Debug)]
struct Staged {
    temp: PathBuf,
    target: PathBuf,
    /// The target existed before the export.
    replaces: bool,
}

impl Staged {
    /// The file to write for `path`, with the staging that goes with it.
    /// A path that exists and is no regular file (`/dev/stdout`, a named
    /// pipe) is written directly: it cannot be replaced, and its reader
    /// has no half-written file to keep anyway.
    fn create(path: &Path) -> Result<(File, Option<Staged>), UsageError> {
        let cannot = |e: io::Error| {
            UsageError::new(
                format!(
                    "cannot create `{}`: {}",
                    path.display(),
                    crate::io_reason(&e)
                ),
                None,
            )
        };
        // Through a link, the file linked to is replaced, not the link.
        let target = fs::canonicalize(path).unwrap_or_else(|_| path.to_owned());
        let existing = match fs::metadata(&target) {
            Ok(meta) => Some(meta),
            Err(e) if e.kind() == io::ErrorKind::NotFound => None,
            Err(e) => return Err(cannot(e)),
        };
        let (Some(name), true) = (
            target.file_name(),
            existing.as_ref().is_none_or(fs::Metadata::is_file),
        ) else {
            return File::create(path).map(|f| (f, None)).map_err(cannot);
        };
        if existing.is_some() {
            // A file the user may not write to stays refused, although
            // renaming over it would only need the folder's permission.
            OpenOptions::new()
                .write(true)
                .open(&target)
                .map_err(cannot)?;
        }

        let mut temp_name = std::ffi::OsString::from(".");
        temp_name.push(name);
        temp_name.push(format!(".{}.part", std::process::id()));
        let temp = target.with_file_name(temp_name);
        let file = File::create(&temp).map_err(|e| {
            let denied = e.kind() == io::ErrorKind::PermissionDenied;
            let mut usage = cannot(e);
            // The file itself may be writable: the folder is the problem.
            usage.hint = denied.then(|| {
                format!(
                    "an export is written to `{}` and renamed into place once complete, so \
                     the folder must be writable",
                    temp.display()
                )
            });
            usage
        })?;
        let replaces = existing.is_some();
        if let Some(meta) = existing {
            // Best effort: the export is worth more than the old file's mode.
            let _ = fs::set_permissions(&temp, meta.permissions());
        }
        let staged = Staged {
            temp,
            target,
            replaces,
        };
        Ok((file, Some(staged)))
    }

    /// Puts the finished file in place of the target.
    fn commit(&self) -> anyhow::Result<()> {
        fs::rename(&self.temp, &self.target).with_context(|| {
            format!(
                "failed to move `{}` into place as `{}`",
                self.temp.display(),
                self.target.display()
            )
        })
    }

    /// Removes the staged file, leaving the target as it was.
    fn discard(&self) {
        match fs::remove_file(&self.temp) {
            Ok(()) => {}
            Err(e) if e.kind() == io::ErrorKind::NotFound => {}
            Err(e) => errln!(
                "warning: failed to remove `{}`: {}",
                self.temp.display(),
                crate::io_reason(&e)
            ),
        }
    }
}

impl Drop for Staged {
    /// A staged file that was not committed holds an incomplete export.
    fn drop(&mut self) {
        self.discard();
    }
}

/// The export's query as it goes on the wire.
#[derive(Debug, Default)]
struct Query {
    filter: Option<String>,
    order_by: Option<String>,
    depth: Option<u8>,
    limit: Option<u32>,
}

/// Checks the options with the code `list` checks its parameters with
/// (fields of the object, the document's allowed values and limits), so
/// that a typo costs no request and gets the same message.
fn checked_query(
    catalog: &Catalog,
    object: &Object,
    args: &ExportArgs,
) -> Result<Query, UsageError> {
    let Some(op) = object
        .operations
        .iter()
        .find(|op| op.kind == OperationKind::FindMany)
    else {
        return Err(UsageError::new(
            format!(
                "this server cannot list {}, so they cannot be exported",
                human(&object.plural)
            ),
            None,
        ));
    };
    let order_by = if op.param("orderBy").is_some() {
        "orderBy"
    } else {
        "order_by"
    };
    let given = [
        ("filter", "--filter", args.filter.clone()),
        (order_by, "--order-by", args.order_by.clone()),
        ("depth", "--depth", args.depth.map(|d| d.to_string())),
        (
            "limit",
            "--page-size",
            args.page_size.map(|n| n.to_string()),
        ),
    ];
    let mut inputs = Inputs::default();
    for (name, flag, value) in given {
        let Some(value) = value else { continue };
        if op.param(name).is_none() {
            return Err(UsageError::new(
                format!(
                    "{flag} cannot be used: this server's list of {} takes no `{name}`",
                    human(&object.plural)
                ),
                None,
            ));
        }
        inputs.params.push((name.to_owned(), value));
    }

    let limits = inputs::Limits::of(catalog);
    let call = inputs::prepare(Some(object), op, "export", &inputs, &limits).map_err(|mut e| {
        // `list` calls the page size --limit; here it is --page-size.
        if let Some(rest) = e.message.strip_prefix("--limit ") {
            e.message = format!("--page-size {rest}");
        }
        e
    })?;
    let mut query = Query::default();
    for (name, value) in call.query {
        match name.as_str() {
            "filter" => query.filter = Some(value),
            "depth" => query.depth = value.parse().ok(),
            "limit" => query.limit = value.parse().ok(),
            _ => query.order_by = Some(value),
        }
    }
    Ok(query)
}

/// The format to write: `--as`, else the global `--format`, else the
/// output file's extension, else JSON lines. A `--format` that is no file
/// format (`table`) is refused rather than ignored, and so is a format
/// that disagrees with `--as` or with the output file's extension, which
/// import would then read in the wrong format, and an output file named
/// so that import could not tell its format when no format is given.
fn checked_format(args: &ExportArgs) -> Result<FileFormat, UsageError> {
    let named = match args.format_hint.as_deref() {
        None => None,
        Some(name) => match FileFormat::from_name(name) {
            Some(format) => Some(format),
            None => {
                return Err(UsageError::new(
                    format!(
                        "--format {name} does not apply to `twenty export`: it writes csv or \
                         jsonl"
                    ),
                    Some(
                        "give --format csv or --format jsonl (or --as), or use `list --all \
                         --format FORMAT` to print records"
                            .into(),
                    ),
                ));
            }
        },
    };
    if let (Some(given), Some(named)) = (args.as_format, named)
        && given != named
    {
        return Err(UsageError::new(
            format!("--as {given} and --format {named} disagree"),
            Some("give one of them".into()),
        ));
    }
    let from_file = args.output_file.as_deref().and_then(FileFormat::from_path);
    let chosen = args.as_format.or(named);
    if let (Some(chosen), Some(from_file), Some(path)) =
        (chosen, from_file, args.output_file.as_deref())
        && chosen != from_file
    {
        let flag = match args.as_format {
            Some(_) => "--as",
            None => "--format",
        };
        return Err(UsageError::new(
            format!(
                "{flag} {chosen} disagrees with --output-file `{}`, whose extension says \
                 {from_file}: `twenty import` would read it as {from_file}",
                path.display()
            ),
            Some(format!(
                "name the file for its format, such as `{}`, or drop {flag} {chosen} to \
                 write {from_file}",
                path.with_extension(chosen.to_string()).display()
            )),
        ));
    }
    // Import tells csv from jsonl by the extension alone: written to any
    // other name, the export could not be imported back as it was named.
    if let (None, None, Some(path)) = (chosen, from_file, args.output_file.as_deref()) {
        return Err(UsageError::new(
            format!(
                "cannot tell the format to write --output-file `{}` in from its extension: \
                 `twenty import` would not read it back",
                path.display()
            ),
            Some(format!(
                "name it `{}` or `{}`, or give --as jsonl or --as csv (and the same --as to \
                 `twenty import`)",
                path.with_extension("jsonl").display(),
                path.with_extension("csv").display()
            )),
        ));
    }
    Ok(chosen.or(from_file).unwrap_or(FileFormat::Jsonl))
}

/// Where the records go, in their format.
enum Output {
    Csv(Box<csv::Writer<Box<dyn Write>>>, CsvRows),
    Jsonl(BufWriter<Box<dyn Write>>),
}

impl Output {
    fn header(&mut self) -> io::Result<()> {
        match self {
            Output::Csv(writer, rows) => writer.write_record(&rows.columns).map_err(csv_io),
            Output::Jsonl(_) => Ok(()),
        }
    }

    fn record(&mut self, object: &Object, record: &Value) -> io::Result<()> {
        match self {
            Output::Csv(writer, rows) => writer
                .write_record(rows.row(object, record))
                .map_err(csv_io),
            Output::Jsonl(writer) => {
                serde_json::to_writer(&mut *writer, record)?;
                writer.write_all(b"\n")
            }
        }
    }

    fn flush(&mut self) -> io::Result<()> {
        match self {
            Output::Csv(writer, _) => writer.flush(),
            Output::Jsonl(writer) => writer.flush(),
        }
    }
}

/// The I/O error inside a csv error. The csv crate gives its error no
/// `source()`, which would hide a closed pipe behind a message.
fn csv_io(error: csv::Error) -> io::Error {
    match error.into_kind() {
        csv::ErrorKind::Io(error) => error,
        other => io::Error::other(format!("cannot write a csv row: {other:?}")),
    }
}

/// Lays flattened records out in the header's column order.
struct CsvRows {
    columns: Vec<String>,
    index: HashMap<String, usize>,
    cells: Vec<String>,
}

impl CsvRows {
    fn new(columns: Vec<String>) -> CsvRows {
        let index = columns
            .iter()
            .enumerate()
            .map(|(i, c)| (c.clone(), i))
            .collect();
        let cells = vec![String::new(); columns.len()];
        CsvRows {
            columns,
            index,
            cells,
        }
    }

    fn row(&mut self, object: &Object, record: &Value) -> &[String] {
        for cell in &mut self.cells {
            cell.clear();
        }
        // Cells the header has no column for (relations at depth 1) are
        // left out: the header is fixed before the first record arrives.
        for (column, text) in values::flatten_record(object, record) {
            if let Some(&i) = self.index.get(&column) {
                self.cells[i] = text;
            }
        }
        debug_assert_eq!(self.cells.len(), self.columns.len());
        &self.cells
    }
}
