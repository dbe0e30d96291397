//! Typed input values: text a person typed (a CLI flag, `--set
//! field=value`, a CSV cell) turned into the JSON the API expects, checks
//! on whole create and update bodies, and the flat `field.subField` columns
//! that export and import share.
//!
//! The CLI, the bulk importer and the sandbox all go through here, so that
//! a value refused by one is refused by all with the same message.
//!
//! Text-to-JSON conversion ([`parse_input`]) reads the empty string and
//! the word `null` as `null`, which clears the field, for every type except
//! text, e-mail and URL: there the empty string stays the empty string
//! (Twenty's default for those) and `null` is the word. So a CSV export and
//! import round trip keeps every value except a text field that was
//! `null`, which comes back as `""`.

use serde_json::{Map, Value};

use crate::catalog::{Cardinality, Field, FieldType, Object};
use crate::names;

/// A value or body that does not fit the object's fields.
///
/// `field` is always the name as the user wrote it (`name.first-name`,
/// `links.secondaryLinks[0].url`), so the message points at their input.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum InputError {
    /// The object has no field of that name.
    #[error("field '{field}' does not exist in '{object}' object{}", did_you_mean(.suggestion))]
    UnknownField {
        /// Singular name of the object.
        object: String,
        /// The field as written.
        field: String,
        /// The closest existing field, if one is close.
        suggestion: Option<String>,
    },
    /// The composite field has no sub-field of that name.
    #[error(
        "sub-field '{sub_field}' does not exist in '{field}'{} (sub-fields: {})",
        did_you_mean(.suggestion),
        .allowed.join(", ")
    )]
    UnknownSubField {
        /// The composite field as written.
        field: String,
        /// The sub-field as written.
        sub_field: String,
        /// The closest existing sub-field, if one is close.
        suggestion: Option<String>,
        /// Every sub-field of the composite.
        allowed: Vec<String>,
    },
    /// A sub-field was given for a field that has none.
    #[error("'{field}' has no sub-fields: set {field} itself instead of {field}.{sub_field}")]
    NotComposite {
        /// The field as written.
        field: String,
        /// The sub-field as written.
        sub_field: String,
    },
    /// The value is not one of the enum's values.
    #[error("invalid value '{value}' for {field}: expected one of {}", .allowed.join(", "))]
    InvalidEnum {
        /// The field as written.
        field: String,
        /// The value as written.
        value: String,
        /// The values the field accepts.
        allowed: Vec<String>,
    },
    /// The text is not valid JSON.
    #[error("invalid JSON in {field} at line {line}, column {column}: {message}")]
    InvalidJson {
        /// The field as written.
        field: String,
        /// Line of the error, from 1.
        line: usize,
        /// Column of the error, from 1.
        column: usize,
        /// The parser's description of the problem.
        message: String,
    },
    /// The value is not a UUID.
    #[error(
        "invalid UUID '{value}' for {field}: expected 8-4-4-4-12 hex digits \
         such as 3f2a9c4e-0b1d-4e5f-8a7b-6c5d4e3f2a1b"
    )]
    InvalidUuid {
        /// The field as written.
        field: String,
        /// The value as written.
        value: String,
    },
    /// The value is not a number (or not a whole one, for integers).
    #[error("invalid number '{value}' for {field}: expected {expected}")]
    InvalidNumber {
        /// The field as written.
        field: String,
        /// The value as written.
        value: String,
        /// What was expected: a number, or a whole number.
        expected: String,
    },
    /// The value is not a boolean.
    #[error("invalid boolean '{value}' for {field}: expected true or false (or yes/no, 1/0)")]
    InvalidBoolean {
        /// The field as written.
        field: String,
        /// The value as written.
        value: String,
    },
    /// The value is not a timestamp.
    #[error(
        "invalid date-time '{value}' for {field}: expected RFC 3339 such as \
         2024-05-01T10:00:00Z, or 2024-05-01 or 2024-05-01T10:00:00 (read as UTC)"
    )]
    InvalidDateTime {
        /// The field as written.
        field: String,
        /// The value as written.
        value: String,
    },
    /// The value is not a calendar date.
    #[error("invalid date '{value}' for {field}: expected YYYY-MM-DD such as 2024-05-01")]
    InvalidDate {
        /// The field as written.
        field: String,
        /// The value as written.
        value: String,
    },
    /// The value does not have the shape of an e-mail address or URL.
    #[error("invalid {kind} '{value}' for {field}: expected {expected}")]
    InvalidFormat {
        /// The field as written.
        field: String,
        /// `e-mail address` or `URL`.
        kind: String,
        /// The value as written.
        value: String,
        /// An example of a valid value.
        expected: String,
    },
    /// The field cannot be set by a create or update body.
    #[error("{field} cannot be written: {reason}")]
    NotWritable {
        /// The field as written.
        field: String,
        /// Why, and what to set instead.
        reason: String,
    },
    /// A JSON value of the wrong type.
    #[error("wrong type for {field}: expected {expected}, found {found}")]
    WrongType {
        /// The field as written.
        field: String,
        /// What the field takes (`a string`, `an object`).
        expected: String,
        /// What was given (`a number`, `null`).
        found: String,
    },
}

fn did_you_mean(suggestion: &Option<String>) -> String {
    match suggestion {
        Some(s) => format!("; did you mean '{s}'?"),
        None => String::new(),
    }
}

/// A field, and for composite paths the sub-field, that a path names.
struct Target<'o> {
    field: &'o Field,
    sub: Option<&'o Field>,
}

impl Target<'_> {
    fn kind(&self) -> &FieldType {
        self.sub.map_or(&self.field.kind, |s| &s.kind)
    }

    fn api_path(&self) -> String {
        match self.sub {
            Some(sub) => format!("{}.{}", self.field.name, sub.name),
            None => self.field.name.clone(),
        }
    }
}

/// The field named `name` in any accepted spelling: the API's
/// (`workflowVersionId`), kebab or snake case (`workflow-version-id`), or
/// another letter case.
fn find_in<'f>(fields: &'f [Field], name: &str) -> Option<&'f Field> {
    let camel = names::camel(name);
    fields
        .iter()
        .find(|f| f.name == name)
        .or_else(|| fields.iter().find(|f| f.name == camel))
        .or_else(|| fields.iter().find(|f| f.name.eq_ignore_ascii_case(&camel)))
}

fn lookup<'o>(object: &'o Object, path: &str) -> Result<Target<'o>, InputError> {
    let (name, sub_name) = match path.split_once('.') {
        Some((name, sub)) => (name, Some(sub)),
        None => (path, None),
    };
    let Some(field) = find_in(&object.fields, name) else {
        return Err(unknown_field(object, name));
    };
    let Some(sub_name) = sub_name else {
        return Ok(Target { field, sub: None });
    };

    let subs = field.kind.sub_fields();
    if subs.is_empty() {
        return Err(InputError::NotComposite {
            field: name.to_string(),
            sub_field: sub_name.to_string(),
        });
    }
    match find_in(subs, sub_name) {
        Some(sub) => Ok(Target {
            field,
            sub: Some(sub),
        }),
        None => Err(unknown_sub_field(name, sub_name, subs)),
    }
}

fn unknown_field(object: &Object, name: &str) -> InputError {
    let suggestion = object
        .suggest_field(name)
        .or_else(|| object.suggest_field(&names::camel(name)))
        .map(str::to_string);
    InputError::UnknownField {
        object: object.singular.clone(),
        field: name.to_string(),
        suggestion,
    }
}

fn unknown_sub_field(field: &str, sub: &str, subs: &[Field]) -> InputError {
    let names = || subs.iter().map(|f| f.name.as_str());
    InputError::UnknownSubField {
        field: field.to_string(),
        sub_field: sub.to_string(),
        suggestion: names::nearest(sub, names())
            .or_else(|| names::nearest(&names::camel(sub), names()))
            .map(str::to_string),
        allowed: names().map(str::to_string).collect(),
    }
}

/// Why a relation field cannot be set, naming the field to set instead.
fn relation_reason(kind: &FieldType) -> String {
    match kind {
        FieldType::Relation {
            cardinality: Cardinality::ManyToOne { id_field },
            ..
        } => format!("it is a relation; set its id field {id_field} instead"),
        FieldType::Relation {
            target,
            cardinality:
                Cardinality::OneToMany {
                    inverse: Some(inverse),
                },
        } => format!("it is a relation; set {inverse} on the {target} records instead"),
        FieldType::Relation { target, .. } => {
            format!("it is a relation; change it from the {target} records")
        }
        _ => "it is read-only".to_string(),
    }
}

/// The API spelling of a path given in any accepted spelling:
/// `name.first-name` -> `name.firstName`, `workflow-version-id` ->
/// `workflowVersionId`.
pub fn resolve_path(object: &Object, path: &str) -> Result<String, InputError> {
    lookup(object, path).map(|t| t.api_path())
}

/// Converts the text a person typed for `path` (a field or
/// `field.subField`, in API, kebab or snake spelling) to the JSON value the
/// API expects for that field's type.
///
/// Enum values are canonicalized (`not started` -> `NOT_STARTED`),
/// timestamps normalized to RFC 3339 UTC with milliseconds, lists read as a
/// JSON array or comma-separated items, composites and JSON fields read as
/// JSON. The empty string and `null` are `null` except for text, e-mail
/// and URL types, where they are the text as typed.
/// Relation fields are refused: their id field is what can be set.
pub fn parse_input(object: &Object, path: &str, text: &str) -> Result<Value, InputError> {
    let target = lookup(object, path)?;
    if matches!(target.field.kind, FieldType::Relation { .. }) {
        return Err(InputError::NotWritable {
            field: path.to_string(),
            reason: relation_reason(&target.field.kind),
        });
    }
    convert(target.kind(), path, text)
}

fn convert(kind: &FieldType, name: &str, text: &str) -> Result<Value, InputError> {
    let trimmed = text.trim();
    match kind {
        FieldType::Text => return Ok(Value::String(text.to_string())),
        FieldType::Email | FieldType::Url if trimmed.is_empty() => {
            return Ok(Value::String(String::new()));
        }
        // `--set companyId=null` reads as a person means it; no value of
        // these types is spelled `null`, so nothing else is lost.
        _ if trimmed.is_empty() || trimmed == "null" => return Ok(Value::Null),
        _ => {}
    }

    match kind {
        FieldType::Number | FieldType::Integer => {
            let whole = matches!(kind, FieldType::Integer);
            parse_number(trimmed, whole).map_err(|expected| InputError::InvalidNumber {
                field: name.to_string(),
                value: text.to_string(),
                expected: expected.to_string(),
            })
        }
        FieldType::Boolean => {
            parse_boolean(trimmed)
                .map(Value::Bool)
                .ok_or_else(|| InputError::InvalidBoolean {
                    field: name.to_string(),
                    value: text.to_string(),
                })
        }
        FieldType::Json => serde_json::from_str(text).map_err(|e| json_error(name, &e)),
        FieldType::List { item } => {
            if trimmed.starts_with('[') {
                let value: Value =
                    serde_json::from_str(trimmed).map_err(|e| json_error(name, &e))?;
                return check_value(kind, name, &value);
            }
            let mut items = Vec::new();
            for (i, part) in trimmed.split(',').enumerate() {
                let item_name = format!("{name}[{i}]");
                let value = convert(item, &item_name, part.trim())?;
                if value.is_null() {
                    return Err(InputError::WrongType {
                        field: item_name,
                        expected: item.label(),
                        found: "an empty item".to_string(),
                    });
                }
                items.push(value);
            }
            Ok(Value::Array(items))
        }
        FieldType::Composite { .. } => {
            let value: Value = serde_json::from_str(trimmed).map_err(|e| json_error(name, &e))?;
            check_value(kind, name, &value)
        }
        FieldType::Relation { .. } => Err(InputError::NotWritable {
            field: name.to_string(),
            reason: relation_reason(kind),
        }),
        // Every remaining type is a string on the wire.
        _ => check_value(kind, name, &Value::String(trimmed.to_string())),
    }
}

fn json_error(name: &str, error: &serde_json::Error) -> InputError {
    // serde_json appends " at line L column C" to its Display; the position
    // is carried in its own fields, so keep only the description.
    let full = error.to_string();
    let message = match full.rfind(" at line ") {
        Some(i) => full[..i].to_string(),
        None => full,
    };
    InputError::InvalidJson {
        field: name.to_string(),
        line: error.line(),
        column: error.column(),
        message,
    }
}

/// The largest whole number Twenty's server, which reads JSON numbers as
/// JavaScript doubles, keeps exact: past it digits are silently lost.
pub const MAX_EXACT_INTEGER: i64 = (1 << 53) - 1;

/// Reads a number (only a whole one when `whole`), keeping whole numbers
/// whole so that `3` and `3.0` stay as written. The error says what was
/// expected.
fn parse_number(text: &str, whole: bool) -> Result<Value, &'static str> {
    const OUT_OF_RANGE: &str =
        "a whole number from -9007199254740991 to 9007199254740991 (Twenty loses digits past them)";
    let digits = text.strip_prefix(['-', '+']).unwrap_or(text);
    if !digits.is_empty() && digits.bytes().all(|b| b.is_ascii_digit()) {
        return match text.parse::<i64>() {
            Ok(n) if n.unsigned_abs() <= MAX_EXACT_INTEGER as u64 => Ok(Value::from(n)),
            _ => Err(OUT_OF_RANGE),
        };
    }
    if whole {
        return Err("a whole number such as 3");
    }
    text.parse::<f64>()
        .ok()
        .and_then(serde_json::Number::from_f64)
        .map(Value::Number)
        .ok_or("a number such as 3 or 2.5")
}

/// `true`/`false`, `yes`/`no`, `1`/`0`, in any letter case.
pub fn parse_boolean(text: &str) -> Option<bool> {
    match text.to_ascii_lowercase().as_str() {
        "true" | "yes" | "1" => Some(true),
        "false" | "no" | "0" => Some(false),
        _ => None,
    }
}

/// Whether `text` has the 8-4-4-4-12 hex shape of a UUID.
pub fn is_uuid(text: &str) -> bool {
    let bytes = text.as_bytes();
    bytes.len() == 36
        && bytes.iter().enumerate().all(|(i, b)| match i {
            8 | 13 | 18 | 23 => *b == b'-',
            _ => b.is_ascii_hexdigit(),
        })
}

/// A timestamp in RFC 3339, `YYYY-MM-DD` or `YYYY-MM-DDTHH:MM:SS` (the last
/// two read as UTC), as RFC 3339 UTC with milliseconds:
/// `2024-05-01T10:00:00.000Z`. `None` when it is none of these.
pub fn normalize_date_time(text: &str) -> Option<String> {
    use chrono::{DateTime, NaiveDate, NaiveDateTime, Utc};

    let text = text.trim();
    let format = |t: DateTime<Utc>| t.format("%Y-%m-%dT%H:%M:%S%.3fZ").to_string();
    // chrono's parsers accept one-digit months and days; Twenty does not.
    if !has_date_prefix(text) {
        return None;
    }
    if let Ok(t) = DateTime::parse_from_rfc3339(text) {
        return Some(format(t.with_timezone(&Utc)));
    }
    for pattern in [
        "%Y-%m-%dT%H:%M:%S%.f",
        "%Y-%m-%dT%H:%M:%S",
        "%Y-%m-%d %H:%M:%S",
    ] {
        if let Ok(t) = NaiveDateTime::parse_from_str(text, pattern) {
            return Some(format(t.and_utc()));
        }
    }
    if text.len() == 10 {
        let date = NaiveDate::parse_from_str(text, "%Y-%m-%d").ok()?;
        return Some(format(date.and_hms_opt(0, 0, 0)?.and_utc()));
    }
    None
}

/// A calendar date as `YYYY-MM-DD`. Also accepts a timestamp at midnight
/// UTC, the form v1.0 servers returned date fields in.
pub fn normalize_date(text: &str) -> Option<String> {
    let text = text.trim();
    if !has_date_prefix(text) {
        return None;
    }
    if text.len() == 10 {
        return chrono::NaiveDate::parse_from_str(text, "%Y-%m-%d")
            .ok()
            .map(|d| d.format("%Y-%m-%d").to_string());
    }
    let normalized = normalize_date_time(text)?;
    normalized
        .strip_suffix("T00:00:00.000Z")
        .map(str::to_string)
}

fn has_date_prefix(text: &str) -> bool {
    let b = text.as_bytes();
    b.len() >= 10
        && b[..10].iter().enumerate().all(|(i, c)| match i {
            4 | 7 => *c == b'-',
            _ => c.is_ascii_digit(),
        })
}

/// The enum value `text` means: itself when it is one, else the one value
/// equal to it without regard to case and to `-`, `_` and spaces
/// (`not started` -> `NOT_STARTED`).
pub fn canonical_enum<'v>(values: &'v [String], text: &str) -> Option<&'v str> {
    if let Some(exact) = values.iter().find(|v| *v == text) {
        return Some(exact);
    }
    let key = |s: &str| -> String {
        s.chars()
            .filter(|c| !matches!(c, '-' | '_' | ' '))
            .flat_map(char::to_uppercase)
            .collect()
    };
    let wanted = key(text.trim());
    let mut matches = values.iter().filter(|v| key(v) == wanted);
    match (matches.next(), matches.next()) {
        (Some(only), None) => Some(only),
        _ => None,
    }
}

fn looks_like_email(text: &str) -> bool {
    match text.rsplit_once('@') {
        Some((local, domain)) => {
            !local.is_empty()
                && domain.contains('.')
                && !domain.starts_with('.')
                && !domain.ends_with('.')
                && !text.chars().any(char::is_whitespace)
        }
        None => false,
    }
}

fn looks_like_url(text: &str) -> bool {
    // Twenty stores links with or without a scheme (`twenty.com`).
    !text.chars().any(char::is_whitespace)
        && (text.contains("://") || text.contains('.') || text.starts_with("localhost"))
}

/// `a string`, `a number`, ...: what a JSON value is, as messages say
/// what was found.
pub fn json_type(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

/// Checks one JSON value against a type and returns it normalized
/// (canonical enum values and timestamps). `null` passes for every type:
/// callers that refuse it (whole composites) check before.
fn check_value(kind: &FieldType, name: &str, value: &Value) -> Result<Value, InputError> {
    if value.is_null() {
        return Ok(Value::Null);
    }
    let wrong = |expected: &str| InputError::WrongType {
        field: name.to_string(),
        expected: expected.to_string(),
        found: json_type(value).to_string(),
    };

    match kind {
        FieldType::Json => Ok(value.clone()),
        FieldType::Number | FieldType::Integer => match value {
            // The text of a JSON number is read as a field flag's would be,
            // so both ways of giving a value meet the same checks.
            Value::Number(n) => parse_number(&n.to_string(), matches!(kind, FieldType::Integer))
                .map_err(|expected| InputError::InvalidNumber {
                    field: name.to_string(),
                    value: n.to_string(),
                    expected: expected.to_string(),
                }),
            _ if matches!(kind, FieldType::Integer) => Err(wrong("a whole number")),
            _ => Err(wrong("a number")),
        },
        FieldType::Boolean => match value {
            Value::Bool(_) => Ok(value.clone()),
            _ => Err(wrong("true or false")),
        },
        FieldType::List { item } => {
            let Value::Array(items) = value else {
                return Err(wrong(&format!("an array ({})", kind.label())));
            };
            let mut out = Vec::with_capacity(items.len());
            for (i, element) in items.iter().enumerate() {
                out.push(check_value(item, &format!("{name}[{i}]"), element)?);
            }
            Ok(Value::Array(out))
        }
        FieldType::Composite { fields } => {
            let Value::Object(map) = value else {
                return Err(wrong("an object"));
            };
            let mut out = Map::new();
            for (key, sub_value) in map {
                let Some(sub) = find_in(fields, key) else {
                    return Err(unknown_sub_field(name, key, fields));
                };
                let sub_name = format!("{name}.{key}");
                out.insert(
                    sub.name.clone(),
                    check_value(&sub.kind, &sub_name, sub_value)?,
                );
            }
            Ok(Value::Object(out))
        }
        FieldType::Relation { .. } => Err(InputError::NotWritable {
            field: name.to_string(),
            reason: relation_reason(kind),
        }),
        FieldType::Text
        | FieldType::Email
        | FieldType::Url
        | FieldType::Uuid
        | FieldType::RelationId { .. }
        | FieldType::DateTime
        | FieldType::Date
        | FieldType::Enum { .. } => {
            let Value::String(text) = value else {
                return Err(wrong("a string"));
            };
            check_string(kind, name, text).map(Value::String)
        }
    }
}

fn check_string(kind: &FieldType, name: &str, text: &str) -> Result<String, InputError> {
    let field = name.to_string();
    let value = text.to_string();
    match kind {
        FieldType::Uuid | FieldType::RelationId { .. } if !is_uuid(text) => {
            Err(InputError::InvalidUuid { field, value })
        }
        FieldType::Email if !text.is_empty() && !looks_like_email(text) => {
            Err(InputError::InvalidFormat {
                field,
                kind: "e-mail address".to_string(),
                value,
                expected: "an address such as ada@example.com".to_string(),
            })
        }
        FieldType::Url if !text.is_empty() && !looks_like_url(text) => {
            Err(InputError::InvalidFormat {
                field,
                kind: "URL".to_string(),
                value,
                expected: "a link such as https://example.com or example.com".to_string(),
            })
        }
        FieldType::DateTime => {
            normalize_date_time(text).ok_or(InputError::InvalidDateTime { field, value })
        }
        FieldType::Date => normalize_date(text).ok_or(InputError::InvalidDate { field, value }),
        FieldType::Enum { values } => match canonical_enum(values, text) {
            Some(canonical) => Ok(canonical.to_string()),
            None => Err(InputError::InvalidEnum {
                field,
                value,
                allowed: values.clone(),
            }),
        },
        _ => Ok(value),
    }
}

/// Sets `path` (an API path: `field` or `field.subField`, as
/// [`resolve_path`] gives) in a body. A sub-field goes into the composite
/// object, which is created when missing and otherwise keeps its other
/// sub-fields; a whole field replaces what was there.
pub fn set_path(body: &mut Map<String, Value>, path: &str, value: Value) {
    let Some((field, sub)) = path.split_once('.') else {
        body.insert(path.to_string(), value);
        return;
    };
    let entry = body
        .entry(field.to_string())
        .or_insert_with(|| Value::Object(Map::new()));
    if !entry.is_object() {
        *entry = Value::Object(Map::new());
    }
    if let Value::Object(map) = entry {
        map.insert(sub.to_string(), value);
    }
}

/// Checks a create or update body (a JSON object of field values) against
/// `object` and returns it normalized: canonical enum values, timestamps in
/// RFC 3339 UTC with milliseconds, sub-field names as the API spells them.
///
/// Keys are API field names. Refused: unknown fields, relation fields (set
/// the id field instead), fields the server sets (`createdAt`,
/// `updatedAt`, `deletedAt`) and other read-only fields, values of the
/// wrong type, and `null` for a composite field. `id` is accepted, as a
/// client-supplied UUID.
pub fn check_body(object: &Object, body: &Value) -> Result<Value, InputError> {
    let Value::Object(map) = body else {
        return Err(InputError::WrongType {
            field: "the body".to_string(),
            expected: format!("a JSON object of {} fields", object.singular),
            found: json_type(body).to_string(),
        });
    };

    let mut out = Map::new();
    for (key, value) in map {
        let Some(field) = object.field(key) else {
            return Err(unknown_field(object, key));
        };
        let normalized = check_body_field(field, value)?;
        out.insert(key.clone(), normalized);
    }
    Ok(Value::Object(out))
}

fn check_body_field(field: &Field, value: &Value) -> Result<Value, InputError> {
    let name = field.name.as_str();
    if matches!(field.kind, FieldType::Relation { .. }) {
        return Err(InputError::NotWritable {
            field: name.to_string(),
            reason: relation_reason(&field.kind),
        });
    }
    if name == "id" {
        // A client may choose the id of the record it creates.
        return match value {
            Value::String(id) if is_uuid(id) => Ok(value.clone()),
            Value::String(id) => Err(InputError::InvalidUuid {
                field: name.to_string(),
                value: id.clone(),
            }),
            other => Err(InputError::WrongType {
                field: name.to_string(),
                expected: "a UUID string".to_string(),
                found: json_type(other).to_string(),
            }),
        };
    }
    if field.is_server_set() {
        return Err(InputError::NotWritable {
            field: name.to_string(),
            reason: "the server sets it".to_string(),
        });
    }
    if !field.writable {
        return Err(InputError::NotWritable {
            field: name.to_string(),
            reason: "it is read-only".to_string(),
        });
    }
    if value.is_null() && matches!(field.kind, FieldType::Composite { .. }) {
        return Err(InputError::WrongType {
            field: name.to_string(),
            expected: "an object (to clear a composite, send its sub-fields empty)".to_string(),
            found: "null".to_string(),
        });
    }
    check_value(&field.kind, name, value)
}

/// The CSV columns of an object, in a stable order: every field except
/// relations, in catalog order, with composites expanded to one
/// `field.subField` column per sub-field.
pub fn columns(object: &Object) -> Vec<String> {
    let mut out = Vec::new();
    for field in &object.fields {
        match &field.kind {
            FieldType::Relation { .. } => {}
            FieldType::Composite { fields } => {
                out.extend(fields.iter().map(|s| format!("{}.{}", field.name, s.name)));
            }
            _ => out.push(field.name.clone()),
        }
    }
    out
}

/// One record as CSV cells, one per [`columns`] entry in the same order:
/// scalars as text, lists, JSON fields and nested structures as compact
/// JSON, `null` and missing values as the empty string. Relation objects a
/// deeper read included are left out.
///
/// [`parse_input`] on each cell gives back the record's values (see the
/// module documentation for the one exception).
pub fn flatten_record(object: &Object, record: &Value) -> Vec<(String, String)> {
    let mut out = Vec::new();
    for field in &object.fields {
        let value = record.get(&field.name);
        match &field.kind {
            FieldType::Relation { .. } => {}
            FieldType::Composite { fields } => {
                for sub in fields {
                    let sub_value = value.and_then(|v| v.get(&sub.name));
                    out.push((
                        format!("{}.{}", field.name, sub.name),
                        cell(&sub.kind, sub_value),
                    ));
                }
            }
            kind => out.push((field.name.clone(), cell(kind, value))),
        }
    }
    out
}

fn cell(kind: &FieldType, value: Option<&Value>) -> String {
    match value {
        None | Some(Value::Null) => String::new(),
        // A JSON field holding a string keeps its quotes, so that reading
        // the cell back as JSON gives the string and not a parse error.
        Some(v) if matches!(kind, FieldType::Json) => v.to_string(),
        Some(Value::String(s)) => s.clone(),
        Some(v) => v.to_string(),
    }
}
