//! Printing results: pretty JSON, JSON lines, a table of key columns or
//! CSV, optionally through a jq filter. Only data goes to stdout.
//!
//! Results arrive three ways, each with its method: the one result of a
//! call ([`Printer::print`]), one result per `--each` item
//! ([`Printer::item`]) and the records of `list --all` page by page
//! ([`Printer::page`]). A run that used the last two ends with
//! [`Printer::finish`], which closes the streamed JSON array or prints the
//! table collected from the items.
//!
//! With `--jq`, an output that is an object or an array of objects becomes
//! table or CSV rows in those formats, so the filter picks the columns
//! (`--jq '[.[] | {id, city}]' --format table`); text prints raw, as with
//! `jq -r`, and anything else as JSON.

use std::collections::HashMap;
use std::io::{self, Write};

use anyhow::Result;
use comfy_table::{ContentArrangement, Table, presets};
use serde_json::{Map, Value};
use twenty_core::{Object, values};

use crate::globals::Format;
use crate::jq::Jq;

/// Columns a table shows, best first; the first five present are used.
const TABLE_COLUMNS: [&str; 16] = [
    "id",
    "name",
    "title",
    "subject",
    "displayName",
    "label",
    "handle",
    "status",
    "stage",
    "emails",
    "domainName",
    "jobTitle",
    "city",
    "amount",
    "workflowVersionId",
    "createdAt",
];

/// How a JSON value that is not shown as rows is written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Json {
    /// Indented, as a single result reads best.
    Pretty,
    /// On one line, so that a stream of results is JSON lines.
    Line,
}

/// One table row: (column, cell) in the record's order.
type Row = Vec<(String, String)>;

/// Writes results in one format, keeping what a stream needs between
/// calls: CSV's header, the table rows not printed yet, and whether the
/// streamed JSON array is open.
pub struct Printer<'a> {
    format: Format,
    object: Option<&'a Object>,
    jq: Option<Jq>,
    csv: Option<Csv>,
    rows: Vec<Row>,
    /// `None` until [`Printer::page`] streams a JSON array; then whether
    /// an element has been written (and so the `[` too).
    array: Option<bool>,
    /// Results are find duplicates answers, whose records are nested.
    duplicates: bool,
    /// [`Printer::page`] has run: the results are a list's records.
    paged: bool,
}

/// The CSV writer once its header is written.
struct Csv {
    writer: csv::Writer<io::Stdout>,
    header: Vec<String>,
}

impl<'a> Printer<'a> {
    /// A printer for records of `object` (when known).
    pub fn new(format: Format, object: Option<&'a Object>, jq: Option<Jq>) -> Self {
        Self {
            format,
            object,
            jq,
            csv: None,
            rows: Vec::new(),
            array: None,
            duplicates: false,
            paged: false,
        }
    }

    /// Reads results as find duplicates answers: a list of one
    /// `{personDuplicates: [...]}` per input. JSON keeps that shape, to
    /// tell the inputs apart; a table or CSV shows the duplicate records
    /// of every input, in input order, as rows of the object's records.
    pub fn duplicates(mut self, yes: bool) -> Self {
        self.duplicates = yes;
        self
    }

    /// Whether results go through `--jq`.
    pub fn filters(&self) -> bool {
        self.jq.is_some()
    }

    /// Whether `--each` error lines belong on stdout with the results:
    /// in the JSON formats they are JSON lines like the results; a CSV or
    /// table would no longer parse or line up, so they go to stderr.
    pub fn shows_error_lines(&self) -> bool {
        matches!(self.format, Format::Json | Format::Jsonl)
    }

    /// Prints one result: a record, a list of records or anything else the
    /// server returned.
    pub fn print(&mut self, value: &Value) -> Result<()> {
        if let Some(outputs) = self.run_jq(value)? {
            for output in outputs {
                self.jq_output(output, Json::Pretty)?;
            }
            return self.flush_table(false);
        }
        match self.format {
            Format::Json => outln!("{}", serde_json::to_string_pretty(value)?)?,
            Format::Jsonl => {
                let mut out = io::stdout().lock();
                for record in elements(value) {
                    writeln!(out, "{}", serde_json::to_string(record)?)?;
                }
            }
            Format::Table => {
                for record in self.rows_of(value) {
                    self.rows.push(key_cells(record));
                }
                self.flush_table(true)?;
            }
            Format::Csv => {
                self.record_rows(self.rows_of(value).into_iter())?;
                self.header_of_none()?;
            }
        }
        Ok(())
    }

    /// The records a table or CSV shows of one result: the items of a
    /// list, else the value itself; of a find duplicates answer, the
    /// records in each input's `...Duplicates` list.
    fn rows_of<'v>(&self, value: &'v Value) -> Vec<&'v Value> {
        if !self.duplicates {
            return elements(value).collect();
        }
        elements(value)
            .filter_map(Value::as_object)
            .flat_map(|answer| {
                answer
                    .iter()
                    .filter(|(key, list)| key.ends_with("Duplicates") && list.is_array())
                    .flat_map(|(_, list)| elements(list))
            })
            .collect()
    }

    /// Prints the result of one `--each` item: one JSON line in the JSON
    /// formats, CSV rows, or rows of the table printed by
    /// [`Printer::finish`].
    pub fn item(&mut self, value: &Value) -> Result<()> {
        if let Some(outputs) = self.run_jq(value)? {
            for output in outputs {
                self.jq_output(output, Json::Line)?;
            }
            return Ok(());
        }
        match self.format {
            Format::Json | Format::Jsonl => self.line(value)?,
            Format::Table => {
                for record in self.rows_of(value) {
                    self.rows.push(key_cells(record));
                }
            }
            Format::Csv => self.record_rows(self.rows_of(value).into_iter())?,
        }
        Ok(())
    }

    /// Prints one page of `list --all`: the pretty JSON array opened by the
    /// first page and closed by [`Printer::finish`], JSON lines, CSV rows,
    /// or a table per page. With `--jq` the filter runs on each record, so
    /// that no more than a page is ever held.
    pub fn page(&mut self, records: &[Value]) -> Result<()> {
        self.paged = true;
        if self.jq.is_some() {
            for record in records {
                for output in self.run_jq(record)?.unwrap_or_default() {
                    self.jq_output(output, Json::Pretty)?;
                }
            }
            return self.flush_table(false);
        }
        match self.format {
            Format::Json => {
                // The same text as the pretty array of a plain `list`,
                // written element by element.
                let mut out = io::stdout().lock();
                for record in records {
                    let text = serde_json::to_string_pretty(record)?.replace('\n', "\n  ");
                    let open = if self.array == Some(true) {
                        ",\n"
                    } else {
                        "[\n"
                    };
                    write!(out, "{open}  {text}")?;
                    self.array = Some(true);
                }
                self.array.get_or_insert(false);
            }
            Format::Jsonl => {
                let mut out = io::stdout().lock();
                for record in records {
                    writeln!(out, "{}", serde_json::to_string(record)?)?;
                }
            }
            Format::Table => {
                for record in records {
                    self.rows.push(key_cells(record));
                }
                self.flush_table(true)?;
            }
            Format::Csv => self.record_rows(records.iter())?,
        }
        Ok(())
    }

    /// Writes one value as a JSON line (an `--each` error line).
    pub fn line(&mut self, value: &Value) -> Result<()> {
        outln!("{}", serde_json::to_string(value)?)?;
        Ok(())
    }

    /// Ends a stream: closes the JSON array of `list --all` and prints the
    /// table of `--each` items.
    pub fn finish(&mut self) -> Result<()> {
        match self.array.take() {
            Some(true) => outln!("\n]")?,
            Some(false) => outln!("[]")?,
            None => {}
        }
        self.flush_table(false)?;
        if self.paged {
            self.header_of_none()?;
        }
        if let Some(csv) = self.csv.as_mut() {
            csv.writer.flush()?;
        }
        Ok(())
    }

    /// Writes the CSV header of a result with no records: the object's
    /// columns, the ones its records would have had and that `export`
    /// writes, so a reader gets the columns and no rows rather than
    /// nothing, as a table prints its header. A `--jq` result's columns
    /// are the keys of its objects, so with no object out of the filter
    /// there is no header to know, and nothing is printed; nor for a
    /// result of an unknown object.
    fn header_of_none(&mut self) -> Result<()> {
        let (Format::Csv, None, None, Some(object)) =
            (self.format, &self.csv, &self.jq, self.object)
        else {
            return Ok(());
        };
        self.start_csv(values::columns(object))?;
        self.flush_csv()
    }

    /// Starts the CSV output with its header.
    fn start_csv(&mut self, header: Vec<String>) -> Result<()> {
        let mut writer = csv::Writer::from_writer(io::stdout());
        writer.write_record(&header)?;
        self.csv = Some(Csv { writer, header });
        Ok(())
    }

    fn run_jq(&self, value: &Value) -> Result<Option<Vec<Value>>> {
        match &self.jq {
            Some(jq) => Ok(Some(jq.run(value)?)),
            None => Ok(None),
        }
    }

    fn jq_output(&mut self, output: Value, json: Json) -> Result<()> {
        if let Value::String(text) = &output {
            // Raw, so that `id=$(twenty ... --jq .id)` gives a usable id.
            return Ok(outln!("{text}")?);
        }
        if matches!(self.format, Format::Table | Format::Csv)
            && let Some(objects) = as_objects(&output)
        {
            for object in objects {
                match self.format {
                    Format::Table => self.rows.push(
                        object
                            .iter()
                            .map(|(k, v)| (k.clone(), short_cell(Some(v))))
                            .collect(),
                    ),
                    _ => self.csv_row(loose_flatten(object), None)?,
                }
            }
            return self.flush_csv();
        }
        if json == Json::Pretty && self.format == Format::Json {
            outln!("{}", serde_json::to_string_pretty(&output)?)?;
        } else {
            outln!("{}", serde_json::to_string(&output)?)?;
        }
        Ok(())
    }

    /// CSV rows of records: the object's columns when it is known.
    fn record_rows<'v>(&mut self, records: impl Iterator<Item = &'v Value>) -> Result<()> {
        for record in records {
            match self.object {
                Some(object) => {
                    let cells = values::flatten_record(object, record);
                    self.csv_row(cells, Some(values::columns(object)))?;
                }
                None => match record {
                    Value::Object(map) => self.csv_row(loose_flatten(map), None)?,
                    other => self.csv_row(vec![("value".into(), scalar(other))], None)?,
                },
            }
        }
        self.flush_csv()
    }

    /// Writes one CSV row under the header, which the first row sets:
    /// `header` when given, else that row's own columns. A later row's
    /// column that the header lacks is refused rather than dropped.
    fn csv_row(&mut self, cells: Row, header: Option<Vec<String>>) -> Result<()> {
        if self.csv.is_none() {
            let header = header.unwrap_or_else(|| cells.iter().map(|(k, _)| k.clone()).collect());
            self.start_csv(header)?;
        }
        let Some(csv) = self.csv.as_mut() else {
            return Ok(());
        };
        let in_order = cells.len() == csv.header.len()
            && cells.iter().zip(&csv.header).all(|((k, _), h)| k == h);
        if in_order {
            csv.writer.write_record(cells.iter().map(|(_, v)| v))?;
            return Ok(());
        }
        let mut by_column: HashMap<&str, &str> = HashMap::new();
        for (column, cell) in &cells {
            if !csv.header.contains(column) {
                let fix = match self.jq.is_some() {
                    true => "; give every --jq result the same keys, such as `{id, name}`",
                    false => "",
                };
                anyhow::bail!(
                    "cannot write a CSV row with `{column}`: the header, taken from the first \
                     result, has only {}{fix}",
                    csv.header.join(",")
                );
            }
            by_column.insert(column, cell);
        }
        let row = csv
            .header
            .iter()
            .map(|h| by_column.get(h.as_str()).copied().unwrap_or_default());
        csv.writer.write_record(row)?;
        Ok(())
    }

    fn flush_csv(&mut self) -> Result<()> {
        if let Some(csv) = self.csv.as_mut() {
            csv.writer.flush()?;
        }
        Ok(())
    }

    /// Prints the collected rows as one table. Rows of records show up to
    /// five key columns; rows a jq filter built show every key it gave.
    fn flush_table(&mut self, even_empty: bool) -> Result<()> {
        if self.rows.is_empty() && !even_empty {
            return Ok(());
        }
        let rows = std::mem::take(&mut self.rows);
        let columns = if self.jq.is_some() {
            let mut columns: Vec<String> = Vec::new();
            for (column, _) in rows.iter().flatten() {
                if !columns.contains(column) {
                    columns.push(column.clone());
                }
            }
            columns
        } else {
            table_columns(&rows)
        };
        let mut table = Table::new();
        table
            .load_preset(presets::UTF8_FULL_CONDENSED)
            .set_content_arrangement(ContentArrangement::Dynamic)
            .set_header(columns.iter());
        for row in &rows {
            table.add_row(columns.iter().map(|c| {
                row.iter()
                    .find(|(k, _)| k == c)
                    .map(|(_, v)| v.as_str())
                    .unwrap_or_default()
            }));
        }
        outln!("{table}")?;
        Ok(())
    }
}

/// Whether `error` comes from writing to a stdout whose reader has gone
/// away (`twenty ... | head`).
pub fn is_closed_pipe(error: &anyhow::Error) -> bool {
    unwritten(error).is_some_and(|e| e.kind() == io::ErrorKind::BrokenPipe)
}

/// The I/O error under `error` when it is a failed write (a closed pipe, a
/// full disk): the only I/O a [`Printer`] does is writing to stdout. The
/// CSV writer wraps the I/O error in its own, without giving it as the
/// source.
pub fn unwritten(error: &anyhow::Error) -> Option<&io::Error> {
    error.chain().find_map(|cause| {
        cause.downcast_ref::<io::Error>().or_else(|| {
            match cause.downcast_ref::<csv::Error>().map(csv::Error::kind) {
                Some(csv::ErrorKind::Io(e)) => Some(e),
                _ => None,
            }
        })
    })
}

/// The records of a result: the items of a list, else the value itself.
fn elements(value: &Value) -> std::slice::Iter<'_, Value> {
    match value {
        Value::Array(items) => items.iter(),
        other => std::slice::from_ref(other).iter(),
    }
}

/// The objects a jq output is made of, when it is an object or a
/// non-empty array of nothing but objects.
fn as_objects(value: &Value) -> Option<Vec<&Map<String, Value>>> {
    match value {
        Value::Object(map) => Some(vec![map]),
        Value::Array(items) if !items.is_empty() => items.iter().map(Value::as_object).collect(),
        _ => None,
    }
}

/// A record's cells in the columns a table may show; only these are kept,
/// so a table collected over many `--each` items stays small.
fn key_cells(record: &Value) -> Row {
    TABLE_COLUMNS
        .iter()
        .filter_map(|c| record.get(*c).map(|v| (c.to_string(), short_cell(Some(v)))))
        .collect()
}

/// Up to five key columns that the rows carry.
fn table_columns(rows: &[Row]) -> Vec<String> {
    let present = |c: &str| rows.iter().flatten().any(|(k, _)| k == c);
    let mut out: Vec<String> = TABLE_COLUMNS
        .into_iter()
        .filter(|c| present(c))
        .map(str::to_string)
        .collect();
    out.truncate(5);
    if out.is_empty() {
        out.push("id".into());
    }
    out
}

/// A composite shown by its main part (a name's first and last name, the
/// primary e-mail or link); anything else as short compact JSON.
fn short_cell(value: Option<&Value>) -> String {
    let text = match value {
        None | Some(Value::Null) => String::new(),
        Some(Value::String(s)) => s.clone(),
        Some(Value::Object(map)) => {
            if let (Some(first), Some(last)) = (map.get("firstName"), map.get("lastName")) {
                format!(
                    "{} {}",
                    first.as_str().unwrap_or_default(),
                    last.as_str().unwrap_or_default()
                )
                .trim()
                .to_string()
            } else if let Some(Value::String(s)) = map
                .get("primaryEmail")
                .or_else(|| map.get("primaryLinkUrl"))
                .or_else(|| map.get("primaryPhoneNumber"))
            {
                s.clone()
            } else if let Some(micros) = map.get("amountMicros") {
                let amount = micros
                    .as_f64()
                    .or_else(|| micros.as_str().and_then(|s| s.parse().ok()));
                match amount {
                    Some(a) => format!(
                        "{} {}",
                        a / 1_000_000.0,
                        map.get("currencyCode")
                            .and_then(Value::as_str)
                            .unwrap_or_default()
                    ),
                    None => String::new(),
                }
            } else {
                Value::Object(map.clone()).to_string()
            }
        }
        Some(other) => other.to_string(),
    };
    if text.chars().count() > 48 {
        text.chars().take(47).collect::<String>() + "…"
    } else {
        text
    }
}

/// Flattens an object of an unknown shape one level deep, for CSV of
/// `call` results and of jq outputs.
fn loose_flatten(map: &Map<String, Value>) -> Row {
    let mut out = Vec::new();
    for (key, value) in map {
        match value {
            Value::Object(sub) => {
                for (sub_key, sub_value) in sub {
                    out.push((format!("{key}.{sub_key}"), scalar(sub_value)));
                }
            }
            other => out.push((key.clone(), scalar(other))),
        }
    }
    out
}

fn scalar(value: &Value) -> String {
    match value {
        Value::Null => String::new(),
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn short_cells_show_the_main_part_of_composites() {
        let name = json!({"firstName": "Ada", "lastName": "Lovelace"});
        assert_eq!(short_cell(Some(&name)), "Ada Lovelace");
        let emails = json!({"primaryEmail": "ada@example.com", "additionalEmails": null});
        assert_eq!(short_cell(Some(&emails)), "ada@example.com");
        let amount = json!({"amountMicros": 1_500_000, "currencyCode": "EUR"});
        assert_eq!(short_cell(Some(&amount)), "1.5 EUR");
    }

    #[test]
    fn table_keeps_at_most_five_present_columns() {
        let rows = vec![key_cells(&json!({
            "id": "1", "name": "x", "status": "RUNNING", "createdAt": "t",
            "workflowVersionId": "v", "stage": "s", "output": {}
        }))];
        assert_eq!(
            table_columns(&rows),
            ["id", "name", "status", "stage", "workflowVersionId"]
        );
    }

    #[test]
    fn only_objects_and_arrays_of_objects_become_rows() {
        assert_eq!(as_objects(&json!({"id": 1})).map(|o| o.len()), Some(1));
        assert_eq!(
            as_objects(&json!([{"id": 1}, {"id": 2}])).map(|o| o.len()),
            Some(2)
        );
        assert!(as_objects(&json!([{"id": 1}, 2])).is_none());
        assert!(as_objects(&json!([])).is_none());
        assert!(as_objects(&json!(3)).is_none());
    }
}
