//! Printing results: pretty JSON, JSON lines, a table of key columns or
//! CSV, optionally through a jq filter. Only data goes to stdout.

use std::io::{self, Write};

use anyhow::Result;
use comfy_table::{ContentArrangement, Table, presets};
use serde_json::Value;
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

/// Writes records in one format, keeping CSV's header state between calls
/// so pages can be streamed.
pub struct Printer<'a> {
    format: Format,
    object: Option<&'a Object>,
    jq: Option<Jq>,
    csv: Option<csv::Writer<io::Stdout>>,
}

impl<'a> Printer<'a> {
    /// A printer for records of `object` (when known).
    pub fn new(format: Format, object: Option<&'a Object>, jq: Option<Jq>) -> Self {
        Self {
            format,
            object,
            jq,
            csv: None,
        }
    }

    /// Prints one result: a record, a list of records or anything else the
    /// server returned.
    pub fn print(&mut self, value: &Value) -> Result<()> {
        if let Some(jq) = &self.jq {
            let outputs = jq.run(value)?;
            let mut out = io::stdout().lock();
            for output in outputs {
                match (self.format, &output) {
                    // Text prints raw, as with `jq -r`, so that
                    // `id=$(twenty ... --jq .id)` gives a usable id.
                    (_, Value::String(s)) => writeln!(out, "{s}")?,
                    (Format::Json, _) => {
                        writeln!(out, "{}", serde_json::to_string_pretty(&output)?)?
                    }
                    _ => writeln!(out, "{}", serde_json::to_string(&output)?)?,
                }
            }
            return Ok(());
        }
        match self.format {
            Format::Json => {
                let mut out = io::stdout().lock();
                writeln!(out, "{}", serde_json::to_string_pretty(value)?)?;
            }
            Format::Jsonl => match value {
                Value::Array(items) => self.stream(items)?,
                other => self.stream(std::slice::from_ref(other))?,
            },
            Format::Table => match value {
                Value::Array(items) => self.table(items)?,
                other => self.table(std::slice::from_ref(other))?,
            },
            Format::Csv => match value {
                Value::Array(items) => self.stream(items)?,
                other => self.stream(std::slice::from_ref(other))?,
            },
        }
        Ok(())
    }

    /// Prints records as they arrive (`list --all`): JSON lines for the
    /// JSON formats, CSV rows after one header, one table per page.
    pub fn stream(&mut self, records: &[Value]) -> Result<()> {
        if self.jq.is_some() {
            for record in records {
                self.print(record)?;
            }
            return Ok(());
        }
        match self.format {
            Format::Json | Format::Jsonl => {
                let mut out = io::stdout().lock();
                for record in records {
                    writeln!(out, "{}", serde_json::to_string(record)?)?;
                }
            }
            Format::Table => self.table(records)?,
            Format::Csv => {
                for record in records {
                    self.csv_row(record)?;
                }
                if let Some(w) = self.csv.as_mut() {
                    w.flush()?;
                }
            }
        }
        Ok(())
    }

    fn csv_row(&mut self, record: &Value) -> Result<()> {
        let cells: Vec<(String, String)> = match self.object {
            Some(object) => values::flatten_record(object, record),
            None => loose_flatten(record),
        };
        if self.csv.is_none() {
            let mut writer = csv::Writer::from_writer(io::stdout());
            let header: Vec<String> = match self.object {
                Some(object) => values::columns(object),
                None => cells.iter().map(|(k, _)| k.clone()).collect(),
            };
            writer.write_record(&header)?;
            self.csv = Some(writer);
        }
        if let Some(writer) = self.csv.as_mut() {
            writer.write_record(cells.iter().map(|(_, v)| v))?;
        }
        Ok(())
    }

    fn table(&self, records: &[Value]) -> Result<()> {
        let columns = table_columns(records);
        let mut table = Table::new();
        table
            .load_preset(presets::UTF8_FULL_CONDENSED)
            .set_content_arrangement(ContentArrangement::Dynamic)
            .set_header(columns.iter().map(|c| c.to_string()));
        for record in records {
            table.add_row(columns.iter().map(|c| short_cell(record.get(*c))));
        }
        outln!("{table}")?;
        Ok(())
    }
}

/// Up to five key columns that the records carry.
fn table_columns(records: &[Value]) -> Vec<&'static str> {
    let present = |c: &str| records.iter().any(|r| r.get(c).is_some());
    let mut out: Vec<&'static str> = TABLE_COLUMNS.into_iter().filter(|c| present(c)).collect();
    out.truncate(5);
    if out.is_empty() {
        out.push("id");
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

/// Flattens a record of an unknown object one level deep, for CSV of
/// `call` results.
fn loose_flatten(record: &Value) -> Vec<(String, String)> {
    let Value::Object(map) = record else {
        return vec![("value".into(), record.to_string())];
    };
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
        let records = vec![json!({
            "id": "1", "name": "x", "status": "RUNNING", "createdAt": "t",
            "workflowVersionId": "v", "stage": "s", "output": {}
        })];
        assert_eq!(
            table_columns(&records),
            ["id", "name", "status", "stage", "workflowVersionId"]
        );
    }
}
