//! Records as JSON objects: checking and normalizing a request body against
//! the object's fields, defaults of a new record, server-set fields and the
//! sub-field merge of partial updates.

use chrono::{DateTime, NaiveDate, NaiveDateTime, SecondsFormat, Utc};
use serde_json::{Map, Value, json};
use twenty_core::{CompositeKind, Field, FieldType, Object};

use crate::error::{AppError, AppResult};

/// Now, as Twenty writes timestamps: UTC, milliseconds, `Z`.
pub(crate) fn now() -> String {
    Utc::now().to_rfc3339_opts(SecondsFormat::Millis, true)
}

/// A timestamp or date in any of the forms clients send, rewritten as
/// `YYYY-MM-DDTHH:MM:SS.mmmZ` so that stored values sort and compare as
/// timestamps.
pub(crate) fn normalize_datetime(text: &str) -> Option<String> {
    let text = text.trim();
    if let Ok(t) = DateTime::parse_from_rfc3339(text) {
        return Some(
            t.with_timezone(&Utc)
                .to_rfc3339_opts(SecondsFormat::Millis, true),
        );
    }
    for format in [
        "%Y-%m-%dT%H:%M:%S%.f",
        "%Y-%m-%d %H:%M:%S%.f",
        "%Y-%m-%dT%H:%M",
    ] {
        if let Ok(t) = NaiveDateTime::parse_from_str(text, format) {
            return Some(t.and_utc().to_rfc3339_opts(SecondsFormat::Millis, true));
        }
    }
    let date = NaiveDate::parse_from_str(text, "%Y-%m-%d").ok()?;
    Some(
        date.and_hms_opt(0, 0, 0)?
            .and_utc()
            .to_rfc3339_opts(SecondsFormat::Millis, true),
    )
}

/// Whether `text` is a UUID in the usual hyphenated form.
pub(crate) fn is_uuid(text: &str) -> bool {
    text.len() == 36 && uuid::Uuid::try_parse(text).is_ok()
}

fn type_error(object: &Object, field: &str, expected: &str, got: &Value) -> AppError {
    AppError::bad(format!(
        "invalid value for field \"{field}\" of {}: expected {expected}, got {got}",
        object.singular
    ))
}

/// The default value of a field in a new record.
pub(crate) fn default_value(field: &Field, api_key_name: &str) -> Value {
    match &field.kind {
        FieldType::Text => Value::String(String::new()),
        FieldType::Composite { fields } => {
            if field.kind.composite_kind() == Some(CompositeKind::Actor) {
                return actor(api_key_name, fields);
            }
            let mut out = Map::new();
            for sub in fields {
                let value = match sub.kind {
                    FieldType::Text
                    | FieldType::Email
                    | FieldType::Url
                    | FieldType::Enum { .. } => Value::String(String::new()),
                    _ => Value::Null,
                };
                out.insert(sub.name.clone(), value);
            }
            Value::Object(out)
        }
        _ => Value::Null,
    }
}

fn actor(name: &str, fields: &[Field]) -> Value {
    // Twenty always answers these four, whether or not the document lists
    // `context`.
    let mut out = Map::new();
    out.insert("source".into(), json!("API"));
    out.insert("workspaceMemberId".into(), Value::Null);
    out.insert("name".into(), json!(name));
    out.insert("context".into(), json!({}));
    for sub in fields {
        out.entry(sub.name.clone()).or_insert(Value::Null);
    }
    Value::Object(out)
}

/// Checks one value against a field type and returns it normalized
/// (timestamps in one form, e-mails lower-cased).
fn check_value(object: &Object, name: &str, kind: &FieldType, value: &Value) -> AppResult<Value> {
    if value.is_null() {
        if matches!(kind, FieldType::Composite { .. }) {
            return Err(AppError::bad(format!(
                "invalid value for field \"{name}\" of {}: a composite field cannot be null; send its sub-fields empty to clear it",
                object.singular
            )));
        }
        return Ok(Value::Null);
    }
    Ok(match kind {
        FieldType::Text | FieldType::Url => match value {
            Value::String(_) => value.clone(),
            _ => return Err(type_error(object, name, "a string", value)),
        },
        FieldType::Email => match value {
            Value::String(s) => Value::String(s.to_lowercase()),
            _ => return Err(type_error(object, name, "a string", value)),
        },
        FieldType::Number => match value {
            Value::Number(_) => value.clone(),
            // Servers have sent amountMicros as a numeric string.
            Value::String(s) => match s.trim().parse::<f64>() {
                Ok(f) if f.fract() == 0.0 && f.abs() < 9e15 => json!(f as i64),
                Ok(f) => json!(f),
                Err(_) => return Err(type_error(object, name, "a number", value)),
            },
            _ => return Err(type_error(object, name, "a number", value)),
        },
        FieldType::Integer => match value.as_i64() {
            Some(i) => json!(i),
            None => return Err(type_error(object, name, "an integer", value)),
        },
        FieldType::Boolean => match value {
            Value::Bool(_) => value.clone(),
            _ => return Err(type_error(object, name, "true or false", value)),
        },
        FieldType::Uuid | FieldType::RelationId { .. } => match value.as_str() {
            Some(s) if is_uuid(s) => Value::String(s.to_lowercase()),
            _ => return Err(type_error(object, name, "a UUID", value)),
        },
        FieldType::DateTime => match value.as_str().and_then(normalize_datetime) {
            Some(t) => Value::String(t),
            None => return Err(type_error(object, name, "an ISO 8601 date-time", value)),
        },
        FieldType::Date => match value.as_str() {
            Some(s) if s.len() >= 10 && NaiveDate::parse_from_str(&s[..10], "%Y-%m-%d").is_ok() => {
                Value::String(s[..10].to_string())
            }
            _ => return Err(type_error(object, name, "a date YYYY-MM-DD", value)),
        },
        FieldType::Enum { values } => match value.as_str() {
            Some(s) if values.iter().any(|v| v == s) => value.clone(),
            _ => {
                return Err(AppError::bad(format!(
                    "invalid input value for enum {}_{name}_enum: {value}; allowed values are {}",
                    object.singular,
                    values.join(", ")
                )));
            }
        },
        FieldType::Json => value.clone(),
        FieldType::List { item } => match value {
            Value::Array(items) => Value::Array(
                items
                    .iter()
                    .map(|v| check_value(object, name, item, v))
                    .collect::<AppResult<_>>()?,
            ),
            _ => return Err(type_error(object, name, "an array", value)),
        },
        FieldType::Composite { fields } => {
            let Value::Object(sent) = value else {
                return Err(type_error(object, name, "an object", value));
            };
            let mut out = Map::new();
            for (key, v) in sent {
                let sub = fields.iter().find(|f| &f.name == key).ok_or_else(|| {
                    AppError::bad(format!(
                        "Field metadata for field \"{name}.{key}\" is missing in object metadata"
                    ))
                })?;
                let path = format!("{name}.{key}");
                out.insert(key.clone(), check_value(object, &path, &sub.kind, v)?);
            }
            if kind.composite_kind() == Some(CompositeKind::Emails) {
                lower_emails(&mut out);
            }
            Value::Object(out)
        }
        FieldType::Relation { .. } => {
            return Err(AppError::bad(format!(
                "field \"{name}\" of {} is a relation and cannot be written; set its id field instead",
                object.singular
            )));
        }
    })
}

/// E-mails are stored lower-cased whatever type the document gives the
/// sub-fields.
fn lower_emails(emails: &mut Map<String, Value>) {
    if let Some(Value::String(s)) = emails.get_mut("primaryEmail") {
        *s = s.to_lowercase();
    }
    if let Some(Value::Array(items)) = emails.get_mut("additionalEmails") {
        for item in items {
            if let Value::String(s) = item {
                *s = s.to_lowercase();
            }
        }
    }
}

/// A request body checked against the object: unknown fields refused,
/// values normalized, server-set fields other than `id` dropped.
pub(crate) fn check_body(object: &Object, body: &Value) -> AppResult<Map<String, Value>> {
    let Value::Object(sent) = body else {
        return Err(AppError::bad("the request body must be a JSON object"));
    };
    let mut out = Map::new();
    for (key, value) in sent {
        let field = object.field(key).ok_or_else(|| {
            AppError::bad(format!(
                "Field metadata for field \"{key}\" is missing in object metadata"
            ))
        })?;
        if matches!(key.as_str(), "createdAt" | "updatedAt" | "deletedAt") {
            continue;
        }
        if key == "id" {
            match value.as_str() {
                Some(s) if is_uuid(s) => {
                    out.insert(key.clone(), Value::String(s.to_lowercase()));
                }
                _ => return Err(AppError::bad(format!("'{value}' is not a valid UUID"))),
            }
            continue;
        }
        out.insert(key.clone(), check_value(object, key, &field.kind, value)?);
    }
    Ok(out)
}

/// A new record from a checked body: every stored field in catalog order,
/// sent values over defaults, and the server-set fields.
pub(crate) fn new_record(
    object: &Object,
    body: &Map<String, Value>,
    now: &str,
    api_key_name: &str,
) -> Map<String, Value> {
    let mut record = Map::new();
    for field in &object.fields {
        if matches!(field.kind, FieldType::Relation { .. }) {
            continue;
        }
        let value = match field.name.as_str() {
            "id" => body
                .get("id")
                .cloned()
                .unwrap_or_else(|| Value::String(uuid::Uuid::new_v4().to_string())),
            "createdAt" | "updatedAt" => Value::String(now.to_string()),
            "deletedAt" => Value::Null,
            "position" => body.get("position").cloned().unwrap_or(json!(0)),
            name => {
                let default = default_value(field, api_key_name);
                match (body.get(name), default) {
                    (Some(Value::Object(sent)), Value::Object(mut base)) => {
                        for (k, v) in sent {
                            base.insert(k.clone(), v.clone());
                        }
                        Value::Object(base)
                    }
                    (Some(sent), _) => sent.clone(),
                    (None, default) => default,
                }
            }
        };
        record.insert(field.name.clone(), value);
    }
    record
}

/// Applies a checked partial body to a stored record: sent keys change,
/// composites merge sub-field by sub-field, `updatedAt` moves.
pub(crate) fn apply_update(record: &mut Map<String, Value>, body: &Map<String, Value>, now: &str) {
    for (key, value) in body {
        if key == "id" {
            continue;
        }
        match (record.get_mut(key), value) {
            (Some(Value::Object(stored)), Value::Object(sent)) => {
                for (k, v) in sent {
                    stored.insert(k.clone(), v.clone());
                }
            }
            _ => {
                record.insert(key.clone(), value.clone());
            }
        }
    }
    if record.contains_key("updatedAt") {
        record.insert("updatedAt".into(), Value::String(now.to_string()));
    }
}

/// Relation id fields set to a record id in `body`, as (field, target
/// singular, id).
pub(crate) fn relation_ids<'a>(
    object: &'a Object,
    body: &'a Map<String, Value>,
) -> Vec<(&'a str, &'a str, &'a str)> {
    object
        .fields
        .iter()
        .filter_map(|f| match &f.kind {
            FieldType::RelationId { target, .. } => {
                let id = body.get(&f.name)?.as_str()?;
                Some((f.name.as_str(), target.as_str(), id))
            }
            _ => None,
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn datetimes_normalize_to_utc_millis() {
        assert_eq!(
            normalize_datetime("2024-01-02T03:04:05+02:00").as_deref(),
            Some("2024-01-02T01:04:05.000Z")
        );
        assert_eq!(
            normalize_datetime("2024-01-02").as_deref(),
            Some("2024-01-02T00:00:00.000Z")
        );
        assert_eq!(normalize_datetime("yesterday"), None);
    }
}
