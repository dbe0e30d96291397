//! Reading an import file into request bodies.
//!
//! Every row is converted and checked against the catalog before anything
//! is sent, so that a bad row is reported with its line number and the
//! good rows go out untouched. A CSV header names fields and sub-fields
//! (`name.firstName`); JSON lines hold nested objects or the same dotted
//! keys. Kebab spellings (`company-id`) are accepted in both.

use std::collections::HashSet;
use std::fmt;
use std::sync::Arc;

use serde_json::{Map, Value};
use twenty_core::{FieldType, Object, names, values};

/// The two file formats an import reads and an export writes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum FileFormat {
    /// Comma-separated values with a header row.
    Csv,
    /// One JSON object per line.
    Jsonl,
}

impl FileFormat {
    /// The format a file name's extension implies (`.csv`, `.jsonl`,
    /// `.ndjson`), if any.
    pub fn from_path(path: &std::path::Path) -> Option<FileFormat> {
        let ext = path.extension()?.to_str()?.to_ascii_lowercase();
        match ext.as_str() {
            "csv" => Some(FileFormat::Csv),
            "jsonl" | "ndjson" => Some(FileFormat::Jsonl),
            _ => None,
        }
    }

    /// The format named by a `--format` value, if it is one of ours.
    pub fn from_name(name: &str) -> Option<FileFormat> {
        match name.to_ascii_lowercase().as_str() {
            "csv" => Some(FileFormat::Csv),
            "jsonl" | "ndjson" => Some(FileFormat::Jsonl),
            _ => None,
        }
    }
}

impl fmt::Display for FileFormat {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            FileFormat::Csv => "csv",
            FileFormat::Jsonl => "jsonl",
        })
    }
}

/// One data row of the input file.
#[derive(Debug, Clone)]
pub struct Row {
    /// Line of the file where the row starts, 1-based; in a CSV file the
    /// header is line 1, so this is also the spreadsheet row number.
    pub line: u64,
    /// Byte offset where the row's text starts, from which
    /// [`Table::input`] reads it again for the reject file; `None` for a
    /// CSV row the csv crate could not read, of which nothing is kept.
    /// Only the rejected rows are needed as read, so keeping every row's
    /// cells would hold the file a second time over, and several times
    /// its size as JSON values.
    start: Option<usize>,
    /// The request body, or why the row cannot be sent. Shared, so that
    /// the requests that send it need not hold copies of every row.
    pub body: Result<Arc<Map<String, Value>>, String>,
}

/// An import file as read: its columns and its rows.
#[derive(Debug, Clone)]
pub struct Table<'t> {
    /// The CSV header, or every key the JSON lines use, in the order
    /// first met.
    pub columns: Vec<String>,
    /// Every data row.
    pub rows: Vec<Row>,
    text: &'t str,
    format: FileFormat,
}

impl Table<'_> {
    /// A row as read, for the reject file: cells keyed by column for CSV
    /// (a plain array of them when the row has more or fewer cells than
    /// the header), the object (or the raw text, when it is not JSON) for
    /// JSON lines; null for a CSV row that could not be read.
    pub fn input(&self, row: &Row) -> Value {
        let Some(rest) = row.start.and_then(|start| self.text.get(start..)) else {
            return Value::Null;
        };
        match self.format {
            FileFormat::Csv => {
                // A record read from where it starts reads as it did in the
                // whole file: the csv crate keeps no state between records.
                let mut reader = csv::ReaderBuilder::new()
                    .has_headers(false)
                    .flexible(true)
                    .from_reader(rest.as_bytes());
                let mut record = csv::StringRecord::new();
                if !matches!(reader.read_record(&mut record), Ok(true)) {
                    return Value::Null;
                }
                let cells = record.iter().map(|c| Value::String(c.to_owned()));
                if record.len() != self.columns.len() {
                    // The cells cannot be matched to columns, so they are
                    // given as they stand, to be fixed and imported again.
                    return Value::Array(cells.collect());
                }
                Value::Object(self.columns.iter().cloned().zip(cells).collect())
            }
            FileFormat::Jsonl => {
                let raw = rest.lines().next().unwrap_or_default();
                serde_json::from_str(raw).unwrap_or_else(|_| Value::String(raw.to_owned()))
            }
        }
    }
}

/// A problem with the file as a whole, which stops the import before
/// anything is sent.
#[derive(Debug)]
pub struct FileError(pub String);

impl fmt::Display for FileError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for FileError {}

/// Where a column or key goes in a request body.
#[derive(Debug, Clone, PartialEq)]
enum Target {
    /// A writable field or `field.subField`, in API spelling.
    Path(String),
    /// A field the server sets itself (`createdAt`) or a read-only
    /// relation: exported files carry them, so an import skips them
    /// rather than refusing every row.
    Ignored,
}

/// Reads every row of `text` in `format`.
pub fn read<'t>(
    object: &Object,
    format: FileFormat,
    text: &'t str,
) -> Result<Table<'t>, FileError> {
    match format {
        FileFormat::Csv => read_csv(object, text),
        FileFormat::Jsonl => Ok(read_jsonl(object, text)),
    }
}

fn read_csv<'t>(object: &Object, text: &'t str) -> Result<Table<'t>, FileError> {
    // Flexible, so that a row with too few or too many cells still comes
    // back whole: the crate's own check keeps nothing of the row but a
    // message comparing it with "the previous record".
    let mut reader = csv::ReaderBuilder::new()
        .has_headers(true)
        .flexible(true)
        .from_reader(text.as_bytes());
    let headers = reader
        .headers()
        .map_err(|e| FileError(format!("cannot read the csv header: {e}")))?
        .clone();
    check_quotes(text, &headers)?;

    // A misspelt column would silently drop a value from every row, and a
    // column given twice would keep one of two values, so both stop the
    // import before anything is sent.
    let mut targets = Vec::with_capacity(headers.len());
    for (index, column) in headers.iter().enumerate() {
        if let Some(first) = headers
            .iter()
            .take(index)
            .position(|c| c.trim() == column.trim())
        {
            return Err(FileError(format!(
                "csv header: column `{}` is given twice (columns {} and {})",
                column.trim(),
                first + 1,
                index + 1
            )));
        }
        match resolve(object, column) {
            Ok(target) => targets.push(target),
            Err(reason) => return Err(FileError(format!("csv header: {reason}"))),
        }
    }
    check_overlaps(&headers, &targets)?;

    let lines = LineIndex::new(text);
    let mut rows = Vec::new();
    for record in reader.records() {
        let record = match record {
            Ok(record) => record,
            Err(e) => {
                let line = e.position().map_or(0, |p| lines.line_at(p.byte()));
                rows.push(Row {
                    line,
                    start: None,
                    body: Err(format!("unreadable csv row: {e}")),
                });
                continue;
            }
        };
        let start = record.position().map(|p| p.byte());
        let line = start.map_or(0, |byte| lines.line_at(byte));
        let start = start.and_then(|byte| usize::try_from(byte).ok());
        if record.len() != headers.len() {
            rows.push(Row {
                line,
                start,
                body: Err(format!(
                    "the row has {} {}, the header has {}",
                    record.len(),
                    if record.len() == 1 { "cell" } else { "cells" },
                    headers.len()
                )),
            });
            continue;
        }
        let body = csv_body(object, &targets, &headers, &record).map(Arc::new);
        rows.push(Row { line, start, body });
    }
    let columns = headers.iter().map(str::to_owned).collect();
    Ok(Table {
        columns,
        rows,
        text,
        format: FileFormat::Csv,
    })
}

/// Line numbers from byte offsets. The csv crate's own line count is one
/// short after a CRLF line ending, which spreadsheets write.
struct LineIndex<'t> {
    text: &'t [u8],
    /// Offset of every `\n`.
    breaks: Vec<usize>,
}

impl<'t> LineIndex<'t> {
    fn new(text: &'t str) -> LineIndex<'t> {
        let text = text.as_bytes();
        let breaks = text
            .iter()
            .enumerate()
            .filter(|(_, b)| **b == b'\n')
            .map(|(i, _)| i)
            .collect();
        LineIndex { text, breaks }
    }

    /// The 1-based line of a record the csv crate says starts at byte
    /// `offset`. That offset can point at the line ending before the
    /// record or at blank lines, which no record starts with.
    fn line_at(&self, offset: u64) -> u64 {
        let mut start = usize::try_from(offset).unwrap_or(usize::MAX);
        while self
            .text
            .get(start)
            .is_some_and(|b| matches!(b, b'\r' | b'\n'))
        {
            start += 1;
        }
        self.breaks.partition_point(|b| *b < start) as u64 + 1
    }
}

/// Refuses quoting that RFC 4180 does not allow: a field opened with a
/// quote that never closes, or a closing quote followed by more text. The
/// csv crate reads on past both (an unclosed quote takes the rest of the
/// file as one cell, a stray one shifts the cells after it), so the rows
/// would be sent with values the user never wrote.
fn check_quotes(text: &str, headers: &csv::StringRecord) -> Result<(), FileError> {
    #[derive(Clone, Copy)]
    enum State {
        FieldStart,
        Unquoted,
        Quoted,
        /// A quote inside a quoted field: the field's end, or the first
        /// of two quotes standing for one.
        QuoteInQuoted,
    }
    let column = |field: usize| match headers.get(field) {
        Some(name) => format!("column `{}`", name.trim()),
        None => format!("column {}", field + 1),
    };

    let mut state = State::FieldStart;
    let mut line = 1u64;
    // Where the quoted field being read opened, and which column it is.
    let mut opened = (1u64, 0usize);
    let mut field = 0usize;
    for byte in text.bytes() {
        state = match (state, byte) {
            (State::FieldStart, b'"') => {
                opened = (line, field);
                State::Quoted
            }
            (State::Quoted, b'"') => State::QuoteInQuoted,
            (State::Quoted, _) => State::Quoted,
            (State::QuoteInQuoted, b'"') => State::Quoted,
            (State::QuoteInQuoted, b'\r') => State::Unquoted,
            (State::QuoteInQuoted, b',' | b'\n') | (State::FieldStart | State::Unquoted, b',') => {
                field += 1;
                State::FieldStart
            }
            (State::QuoteInQuoted, other) => {
                let place = if opened.0 == line {
                    format!("line {line}, {}", column(opened.1))
                } else {
                    format!(
                        "line {line}, in {} opened on line {}",
                        column(opened.1),
                        opened.0
                    )
                };
                return Err(FileError(format!(
                    "{place}: `{}` follows the quote that closes the field; write a quote \
                     inside a quoted field twice (`\"\"`)",
                    char::from(other).escape_default()
                )));
            }
            (State::FieldStart | State::Unquoted, _) => State::Unquoted,
        };
        if byte == b'\n' {
            line += 1;
            if !matches!(state, State::Quoted) {
                field = 0;
                state = State::FieldStart;
            }
        }
    }
    if matches!(state, State::Quoted) {
        return Err(FileError(format!(
            "line {}, {}: the quoted field that opens here is never closed",
            opened.0,
            column(opened.1)
        )));
    }
    Ok(())
}

/// Refuses two columns that set the same value: `jobTitle` and
/// `job-title`, or `name` and `name.firstName`.
fn check_overlaps(headers: &csv::StringRecord, targets: &[Target]) -> Result<(), FileError> {
    let paths: Vec<(&str, &str)> = headers
        .iter()
        .zip(targets)
        .filter_map(|(column, target)| match target {
            Target::Path(path) => Some((column.trim(), path.as_str())),
            Target::Ignored => None,
        })
        .collect();
    for (i, (column, path)) in paths.iter().enumerate() {
        for (other, other_path) in &paths[..i] {
            let covers =
                |a: &str, b: &str| a == b || b.strip_prefix(a).is_some_and(|r| r.starts_with('.'));
            if covers(path, other_path) || covers(other_path, path) {
                return Err(FileError(format!(
                    "csv header: columns `{other}` and `{column}` both set `{}`",
                    if path.len() >= other_path.len() {
                        path
                    } else {
                        other_path
                    }
                )));
            }
        }
    }
    Ok(())
}

fn csv_body(
    object: &Object,
    targets: &[Target],
    headers: &csv::StringRecord,
    record: &csv::StringRecord,
) -> Result<Map<String, Value>, String> {
    let mut body = Map::new();
    for ((target, column), cell) in targets.iter().zip(headers.iter()).zip(record.iter()) {
        let Target::Path(path) = target else { continue };
        // An empty cell means "not given": the server's default applies,
        // which is also what an export writes for an empty value.
        if cell.is_empty() {
            continue;
        }
        let value = values::parse_input(object, path, cell)
            .map_err(|e| format!("column `{column}`: {e}"))?;
        values::set_path(&mut body, path, value);
    }
    check(object, body)
}

fn read_jsonl<'t>(object: &Object, text: &'t str) -> Table<'t> {
    let mut rows = Vec::new();
    let mut columns: Vec<String> = Vec::new();
    let mut seen: HashSet<String> = HashSet::new();
    let mut next = 0;
    // The lines of `text.lines()`, with the offset of each.
    for (index, piece) in text.split_inclusive('\n').enumerate() {
        let start = next;
        next += piece.len();
        let raw = piece.lines().next().unwrap_or_default();
        if raw.trim().is_empty() {
            continue;
        }
        let body = match serde_json::from_str::<Value>(raw) {
            Ok(Value::Object(map)) => {
                for key in map.keys() {
                    if seen.insert(key.clone()) {
                        columns.push(key.clone());
                    }
                }
                json_body(object, &map).map(Arc::new)
            }
            Ok(_) => Err("expected a JSON object on this line".to_owned()),
            Err(e) => Err(format!("invalid JSON: {e}")),
        };
        rows.push(Row {
            line: index as u64 + 1,
            start: Some(start),
            body,
        });
    }
    Table {
        columns,
        rows,
        text,
        format: FileFormat::Jsonl,
    }
}

fn json_body(object: &Object, input: &Map<String, Value>) -> Result<Map<String, Value>, String> {
    let mut body = Map::new();
    for (key, value) in input {
        let Target::Path(path) = resolve(object, key)? else {
            continue;
        };
        let is_composite = !path.contains('.')
            && object
                .field(&path)
                .is_some_and(|f| matches!(f.kind, FieldType::Composite { .. }));
        match value {
            // A nested composite is taken apart so that each sub-field is
            // converted and checked like a `field.subField` column.
            Value::Object(subs) if is_composite => {
                for (sub, sub_value) in subs {
                    let key = format!("{key}.{sub}");
                    let sub_path = match resolve(object, &key) {
                        Ok(Target::Path(sub_path)) => sub_path,
                        Ok(Target::Ignored) => continue,
                        // Responses carry sub-fields the document does not
                        // list (`createdBy.context: {}`); an exported record
                        // must import back, and an empty value sets nothing.
                        Err(_) if is_empty(sub_value) => continue,
                        Err(reason) => return Err(reason),
                    };
                    let converted = json_value(object, &sub_path, sub_value)
                        .map_err(|e| format!("key `{key}`: {e}"))?;
                    values::set_path(&mut body, &sub_path, converted);
                }
            }
            _ => {
                let converted =
                    json_value(object, &path, value).map_err(|e| format!("key `{key}`: {e}"))?;
                values::set_path(&mut body, &path, converted);
            }
        }
    }
    check(object, body)
}

fn is_empty(value: &Value) -> bool {
    match value {
        Value::Null => true,
        Value::String(s) => s.is_empty(),
        Value::Array(a) => a.is_empty(),
        Value::Object(o) => o.is_empty(),
        _ => false,
    }
}

/// Converts a JSON value for `path`: text goes through the same
/// conversion as a CSV cell (so `"42"` is a number for a number field),
/// anything else is taken as typed and left to the body check.
fn json_value(object: &Object, path: &str, value: &Value) -> Result<Value, String> {
    match value {
        Value::String(text) if !is_json_field(object, path) => {
            values::parse_input(object, path, text).map_err(|e| e.to_string())
        }
        other => Ok(other.clone()),
    }
}

fn is_json_field(object: &Object, path: &str) -> bool {
    !path.contains('.')
        && object
            .field(path)
            .is_some_and(|f| f.kind == FieldType::Json)
}

fn check(object: &Object, body: Map<String, Value>) -> Result<Map<String, Value>, String> {
    match values::check_body(object, &Value::Object(body)) {
        Ok(Value::Object(body)) => Ok(body),
        Ok(_) => Err("the row is not an object".to_owned()),
        Err(e) => Err(e.to_string()),
    }
}

/// Resolves a column or key, in API or kebab spelling, to its place in a
/// body.
fn resolve(object: &Object, column: &str) -> Result<Target, String> {
    let column = column.trim();
    let (head, sub) = match column.split_once('.') {
        Some((head, sub)) => (head, Some(sub)),
        None => (column, None),
    };
    let field = object
        .field(head)
        .or_else(|| object.field(&names::camel(head)))
        .ok_or_else(|| unknown(object, column, head))?;

    if field.name == "id" {
        return Ok(Target::Path("id".to_owned()));
    }
    if field.is_server_set() || !field.writable {
        return Ok(Target::Ignored);
    }
    let Some(sub) = sub else {
        return Ok(Target::Path(field.name.clone()));
    };
    if matches!(field.kind, FieldType::Json) {
        return Err(format!(
            "unknown column `{column}`: `{}` is a JSON field; give it whole as one column",
            field.name
        ));
    }
    let sub_field = field
        .sub_field(sub)
        .or_else(|| field.sub_field(&names::camel(sub)))
        .ok_or_else(|| {
            let known: Vec<&str> = field
                .kind
                .sub_fields()
                .iter()
                .map(|f| f.name.as_str())
                .collect();
            if known.is_empty() {
                format!(
                    "unknown column `{column}`: `{}` has no sub-fields",
                    field.name
                )
            } else {
                format!(
                    "unknown column `{column}`: `{}` has the sub-fields {}",
                    field.name,
                    known.join(", ")
                )
            }
        })?;
    Ok(Target::Path(format!("{}.{}", field.name, sub_field.name)))
}

fn unknown(object: &Object, column: &str, head: &str) -> String {
    let mut message = format!(
        "unknown column `{column}`: {} has no field `{head}`",
        crate::commands::human(&object.singular)
    );
    if let Some(near) = object.suggest_field(&names::camel(head)) {
        message.push_str(&format!(" (did you mean `{near}`?)"));
    }
    message
}

/// The value at `path` (`field` or `field.subField`) of a body, as text
/// for matching records on it; `None` when the row does not set it.
pub fn text_at(body: &Map<String, Value>, path: &str) -> Option<String> {
    let mut parts = path.splitn(2, '.');
    let head = body.get(parts.next()?)?;
    let value = match parts.next() {
        Some(sub) => head.get(sub)?,
        None => head,
    };
    match value {
        Value::String(s) if !s.is_empty() => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        Value::Bool(b) => Some(b.to_string()),
        _ => None,
    }
}

/// Resolves `--update-by` to a field path in API spelling. Only a field
/// that holds one plain value can name a record: rows are matched on that
/// value as text, so a composite, list or JSON value would match nothing
/// and every row would be created.
pub fn resolve_key(object: &Object, column: &str) -> Result<String, String> {
    let path = match resolve(object, column)? {
        Target::Path(path) => path,
        Target::Ignored => {
            return Err(format!(
                "`{column}` is set by the server and cannot identify rows to update"
            ));
        }
    };
    let (head, sub) = path.split_once('.').unwrap_or((&path, ""));
    let field = object.field(head);
    let kind = match sub {
        "" => field.map(|f| &f.kind),
        sub => field.and_then(|f| f.sub_field(sub)).map(|f| &f.kind),
    };
    match kind {
        Some(FieldType::Composite { fields }) => {
            let subs: Vec<String> = fields
                .iter()
                .map(|f| format!("{path}.{}", f.name))
                .collect();
            Err(format!(
                "`{path}` has sub-fields; name the one that identifies a record: {}",
                subs.join(", ")
            ))
        }
        Some(FieldType::List { .. }) => Err(format!(
            "`{path}` holds a list, which cannot identify a record; name a field of one value"
        )),
        Some(FieldType::Json) => Err(format!(
            "`{path}` holds JSON, which cannot identify a record; name a field of one value"
        )),
        _ => Ok(path),
    }
}

/// Whether one of `columns` gives values for `path`: the column itself,
/// or the whole composite it is a sub-field of (`emails` for
/// `emails.primaryEmail`).
pub fn covers(object: &Object, columns: &[String], path: &str) -> bool {
    columns.iter().any(|column| match resolve(object, column) {
        Ok(Target::Path(given)) => {
            given == path
                || path
                    .strip_prefix(given.as_str())
                    .is_some_and(|rest| rest.starts_with('.'))
        }
        _ => false,
    })
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn people() -> Object {
        let catalog = twenty_core::builtin::standard();
        catalog.object("people").expect("people").clone()
    }

    #[test]
    fn csv_rows_read_again_as_the_whole_file_reads_them() {
        let text = "city,jobTitle\r\n\
                    Paris,Engineer\r\n\
                    \r\n\
                    \"Lyon, \"\"old\"\" town\",\"two\r\nlines\"\r\n\
                    Nice\r\n\
                    Lille,Chef,extra\n\
                    \n\
                    ,\n\
                    Metz,Pilot";
        let table = read(&people(), FileFormat::Csv, text).expect("table");

        let mut reader = csv::ReaderBuilder::new()
            .flexible(true)
            .from_reader(text.as_bytes());
        let records: Vec<csv::StringRecord> = reader.records().map(Result::unwrap).collect();
        assert_eq!(table.rows.len(), records.len());
        for (row, record) in table.rows.iter().zip(&records) {
            let cells: Vec<&str> = record.iter().collect();
            let expected = if cells.len() == 2 {
                json!({"city": cells[0], "jobTitle": cells[1]})
            } else {
                json!(cells)
            };
            assert_eq!(table.input(row), expected, "row on line {}", row.line);
        }
    }

    #[test]
    fn json_lines_read_again_as_they_stand() {
        let text = "{\"city\": \"Paris\"}\r\n\
                    \n\
                    [1, 2]\n\
                    {\"city\": \n\
                    {\"jobTitle\": \"Chef\"}";
        let table = read(&people(), FileFormat::Jsonl, text).expect("table");
        let inputs: Vec<(u64, Value)> = table
            .rows
            .iter()
            .map(|r| (r.line, table.input(r)))
            .collect();
        assert_eq!(
            inputs,
            [
                (1, json!({"city": "Paris"})),
                (3, json!([1, 2])),
                (4, json!("{\"city\": ")),
                (5, json!({"jobTitle": "Chef"})),
            ]
        );
    }
}
