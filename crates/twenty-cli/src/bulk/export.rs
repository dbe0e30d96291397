//! The export job: every record matching a filter, page by page, written
//! as it arrives so that memory stays flat however many records there are.

use std::collections::HashMap;
use std::io::{BufWriter, Write};

use anyhow::Context;
use serde_json::Value;
use twenty_client::Client;
use twenty_core::{Catalog, Object, values};

use super::remote::Pages;
use super::rows::FileFormat;
use super::{EXIT_ALL_DONE, EXIT_INVALID_INPUT, ExportArgs};

/// Writes every record of `object` matching `args.filter` to
/// `args.output_file` (standard output when absent), as CSV with one
/// column per field and sub-field ([`values::columns`]) or as JSON lines.
///
/// Returns [`EXIT_ALL_DONE`], or [`EXIT_INVALID_INPUT`] for arguments that
/// cannot work (a page size above the server's maximum). Fails with the
/// client's error when a page cannot be fetched after retries, or when the
/// output cannot be written; records written until then stay written.
pub async fn export(
    client: &Client,
    catalog: &Catalog,
    object: &Object,
    args: &ExportArgs,
) -> anyhow::Result<i32> {
    let format = export_format(args);
    let max = catalog.max_limit().max(1);
    let page_size = args.page_size.unwrap_or(max);
    if page_size > max {
        eprintln!(
            "error: --page-size {page_size} is above the server's maximum of {max} records per page"
        );
        return Ok(EXIT_INVALID_INPUT);
    }

    let sink: Box<dyn Write> = match &args.output_file {
        Some(path) => Box::new(
            std::fs::File::create(path)
                .with_context(|| format!("failed to create `{}`", path.display()))?,
        ),
        None => Box::new(std::io::stdout().lock()),
    };
    let mut out = match format {
        FileFormat::Csv => {
            let columns = values::columns(object);
            let mut writer = csv::WriterBuilder::new()
                .buffer_capacity(64 * 1024)
                .from_writer(sink);
            writer.write_record(&columns)?;
            Output::Csv(writer, CsvRows::new(columns))
        }
        FileFormat::Jsonl => Output::Jsonl(BufWriter::with_capacity(64 * 1024, sink)),
    };

    // Each page is written before the next is fetched, so at most one page
    // is held in memory.
    let mut pages = Pages::new(
        object,
        args.filter.clone(),
        args.order_by.clone(),
        args.depth,
        page_size,
    );
    let mut count = 0u64;
    while let Some(records) = pages.next_page(client).await? {
        for record in &records {
            match &mut out {
                Output::Csv(writer, rows) => writer.write_record(rows.row(object, record))?,
                Output::Jsonl(writer) => {
                    serde_json::to_writer(&mut *writer, record)?;
                    writer.write_all(b"\n")?;
                }
            }
        }
        count += records.len() as u64;
    }
    match &mut out {
        Output::Csv(writer, _) => writer.flush(),
        Output::Jsonl(writer) => writer.flush(),
    }
    .context("failed to write the export")?;

    let target = args.output_file.as_ref().map_or_else(
        || "standard output".to_owned(),
        |p| format!("`{}`", p.display()),
    );
    eprintln!("exported {count} {} to {target}", object.plural);
    Ok(EXIT_ALL_DONE)
}

fn export_format(args: &ExportArgs) -> FileFormat {
    args.as_format
        .or_else(|| args.format_hint.as_deref().and_then(FileFormat::from_name))
        .or_else(|| args.output_file.as_deref().and_then(FileFormat::from_path))
        .unwrap_or(FileFormat::Jsonl)
}

/// Where the records go, in their format.
enum Output {
    Csv(csv::Writer<Box<dyn Write>>, CsvRows),
    Jsonl(BufWriter<Box<dyn Write>>),
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
