//! From what the user typed (flags, `--set`, `--data`, one `--each` line)
//! to a checked request: path with the id, query and body.
//!
//! Everything is checked here, before a connection is opened: a mistake
//! costs no request and gets one message naming the input and the fix.

pub mod body;

use std::io::Read;

use clap::ArgMatches;
use clap::parser::ValueSource;
use serde_json::{Map, Value};
use twenty_core::{
    Body, Catalog, FieldType, Object, Operation, OperationKind, Param, names, values,
};

use crate::UsageError;
use crate::commands::{BODY, BODY_LIST, FIELD, PARAM, human};

/// One input value: text from the command line, or a JSON value from an
/// `--each` line.
#[derive(Debug, Clone, PartialEq)]
pub enum Input {
    /// As typed; converted by the field's type.
    Text(String),
    /// Already JSON; checked against the field's type.
    Json(Value),
    /// The values of a list flag given several times or with commas
    /// (`--ids a,b --ids c`), each converted by the list's item type.
    Texts(Vec<String>),
}

/// What the loaded schema allows beyond each parameter's own range.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// The most records one create many takes: the `limit` maximum, which
    /// Twenty also applies to batches.
    pub batch_max: usize,
}

impl Limits {
    /// The limits of a catalog.
    pub fn of(catalog: &Catalog) -> Self {
        Self {
            batch_max: catalog.max_limit() as usize,
        }
    }
}

/// Every input of one call, before checking.
#[derive(Debug, Clone, Default)]
pub struct Inputs {
    /// The record id, for operations whose path has one.
    pub id: Option<String>,
    /// Parameters by wire name.
    pub params: Vec<(String, String)>,
    /// Field and sub-field values by API path (`name.firstName`), applied
    /// in order over `data`.
    pub fields: Vec<(String, Input)>,
    /// The whole body given with `--data`.
    pub data: Option<Value>,
    /// `--ids` of find duplicates.
    pub ids: Vec<String>,
    /// These are an `--each` line's inputs over the command line's, so a
    /// message about what is missing speaks of the line.
    pub line: bool,
}

/// A checked request, ready to send.
#[derive(Debug, Clone, PartialEq)]
pub struct Call {
    /// The record id, when the path has one.
    pub id: Option<String>,
    /// Path relative to the REST root, id filled in.
    pub path: String,
    /// Query parameters, only those given.
    pub query: Vec<(String, String)>,
    /// The body, for operations that take one.
    pub body: Option<Value>,
}

/// Reads the inputs from a verb's matches. `--data` files and stdin are
/// read here.
pub fn from_matches(m: &ArgMatches) -> Result<Inputs, UsageError> {
    // `call` takes the id as `--id` too.
    let id = ["id", "id-option"]
        .iter()
        .find_map(|name| m.try_get_one::<String>(name).ok().flatten());
    let mut inputs = Inputs {
        id: id.cloned(),
        ..Inputs::default()
    };
    let given = |id: &str| m.value_source(id) == Some(ValueSource::CommandLine);

    for id in m.ids() {
        let id = id.as_str();
        if !given(id) {
            continue;
        }
        if let Some(wire) = id.strip_prefix(PARAM) {
            if let Some(value) = m.get_one::<String>(id) {
                inputs.params.push((wire.to_string(), value.clone()));
            }
        } else if let Some(path) = id.strip_prefix(FIELD).or_else(|| id.strip_prefix(BODY)) {
            if let Some(value) = m.get_one::<String>(id) {
                inputs
                    .fields
                    .push((path.to_string(), Input::Text(value.clone())));
            }
        } else if let Some(path) = id.strip_prefix(BODY_LIST)
            && let Some(values) = m.get_many::<String>(id)
        {
            let values = values.cloned().collect();
            inputs.fields.push((path.to_string(), Input::Texts(values)));
        }
    }
    if let Ok(Some(sets)) = m.try_get_many::<String>("set") {
        for set in sets {
            let Some((path, value)) = set.split_once('=') else {
                return Err(UsageError::new(
                    format!("`--set {set}` has no `=`"),
                    Some(
                        "write it as `--set path=value`, such as `--set name.firstName=Ada`".into(),
                    ),
                ));
            };
            inputs
                .fields
                .push((path.trim().to_string(), Input::Text(value.to_string())));
        }
    }
    if let Ok(Some(data)) = m.try_get_one::<String>("data") {
        inputs.data = Some(read_json_arg("--data", data)?);
    }
    if let Ok(Some(ids)) = m.try_get_many::<String>("ids") {
        inputs.ids = ids.cloned().collect();
    }
    Ok(inputs)
}

/// Reads `--data`-style text: inline JSON, `@file` or `-` for stdin.
pub fn read_json_arg(flag: &str, text: &str) -> Result<Value, UsageError> {
    let (source, body) = if text == "-" {
        let mut buf = String::new();
        std::io::stdin()
            .read_to_string(&mut buf)
            .map_err(|e| UsageError::new(format!("failed to read {flag} from stdin: {e}"), None))?;
        ("stdin".to_string(), buf)
    } else if let Some(path) = text.strip_prefix('@') {
        let body = std::fs::read_to_string(path).map_err(|e| {
            UsageError::new(format!("failed to read {flag} file `{path}`: {e}"), None)
        })?;
        (format!("`{path}`"), body)
    } else {
        ("the argument".to_string(), text.to_string())
    };
    serde_json::from_str(&body).map_err(|e| {
        UsageError::new(
            format!(
                "{flag} is not valid JSON ({source}): {} at line {} column {}",
                strip_position(&e.to_string()),
                e.line(),
                e.column()
            ),
            Some("quote the JSON for the shell, such as --data '{\"name\":\"x\"}'".into()),
        )
    })
}

/// serde_json appends " at line L column C"; the message states them once.
fn strip_position(message: &str) -> &str {
    message.split(" at line ").next().unwrap_or(message)
}

/// Merges an `--each` line over the command-line defaults: `id`, parameter
/// names (wire, camel or kebab spelling) and field paths.
pub fn merge_item(
    op: &Operation,
    defaults: &Inputs,
    item: &Map<String, Value>,
) -> Result<Inputs, UsageError> {
    let mut inputs = defaults.clone();
    inputs.line = true;
    for (key, value) in item {
        if key == "id" && op.takes_id() {
            inputs.id = Some(scalar_text(value));
            continue;
        }
        if let Some(param) = find_param(op, key) {
            inputs.params.retain(|(w, _)| *w != param.name);
            inputs.params.push((param.name.clone(), scalar_text(value)));
            continue;
        }
        if key == "ids" && op.body == Some(Body::Duplicates) {
            inputs.ids = match value {
                Value::Array(items) => items.iter().map(scalar_text).collect(),
                other => vec![scalar_text(other)],
            };
            continue;
        }
        inputs
            .fields
            .push((key.clone(), Input::Json(value.clone())));
    }
    Ok(inputs)
}

fn find_param<'a>(op: &'a Operation, key: &str) -> Option<&'a Param> {
    op.params.iter().find(|p| {
        p.location == twenty_core::ParamLocation::Query
            && (p.name == key || names::camel(&p.name) == key || names::kebab(&p.name) == key)
    })
}

fn scalar_text(value: &Value) -> String {
    match value {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

/// Checks every input of one call and builds the request.
pub fn prepare(
    object: Option<&Object>,
    op: &Operation,
    command: &str,
    inputs: &Inputs,
    limits: &Limits,
) -> Result<Call, UsageError> {
    // The id, when the path has one.
    let mut path = op.path.clone();
    let id = if op.takes_id() {
        let given = inputs.id.as_deref().is_some_and(|id| !id.trim().is_empty());
        if inputs.line && !given {
            return Err(UsageError::new(
                format!("missing record id: the line has no `id`, which `twenty {command}` needs"),
                Some(format!(
                    "add one to every line, such as {{\"id\": \"{EXAMPLE_ID}\"}}"
                )),
            ));
        }
        let id = check_id(command, inputs.id.as_deref())?;
        path = path.replace("{id}", &id);
        Some(id)
    } else {
        None
    };

    // Parameters, in the operation's order so requests are reproducible.
    let mut query = Vec::new();
    for param in &op.params {
        if param.location != twenty_core::ParamLocation::Query {
            continue;
        }
        if let Some((_, text)) = inputs.params.iter().rev().find(|(w, _)| *w == param.name) {
            query.push((param.name.clone(), check_param(object, param, text)?));
        } else if param.required {
            return Err(UsageError::new(
                format!(
                    "missing `--{}`: {command} requires it",
                    names::kebab(&param.name)
                ),
                None,
            ));
        }
    }

    // Without a filter these would touch every record: only on purpose.
    let every = match op.kind {
        OperationKind::UpdateMany => Some("update"),
        OperationKind::DeleteMany => Some("delete"),
        OperationKind::RestoreMany => Some("restore"),
        _ => None,
    };
    let unfiltered = op.param("filter").is_some() && !query.iter().any(|(k, _)| k == "filter");
    if let Some(verb) = every.filter(|_| unfiltered) {
        let records = match (op.kind, object) {
            (OperationKind::RestoreMany, Some(o)) => format!("soft-deleted {}", human(&o.plural)),
            (_, Some(o)) => human(&o.plural),
            (_, None) => "records".to_string(),
        };
        return Err(UsageError::new(
            format!("`twenty {command}` needs --filter: without one it would {verb} all {records}"),
            Some(format!(
                "to {verb} every record on purpose, say so: --filter 'id[is]:NOT_NULL'"
            )),
        ));
    }

    let body = build_body(object, op, command, inputs, limits, id.as_deref())?;
    let update = matches!(
        op.kind,
        OperationKind::UpdateOne | OperationKind::UpdateMany
    );
    if update
        && body
            .as_ref()
            .is_some_and(|b| b.as_object().is_some_and(Map::is_empty))
    {
        // An empty PATCH changes nothing but `updatedAt`: surely a mistake.
        let hint = match inputs.line {
            true => "add a field to the line, such as {\"name\": \"x\"}, or give a field \
                     flag as every line's default"
                .to_string(),
            false => format!("`twenty {command} --help` lists the field flags"),
        };
        return Err(UsageError::new(
            "nothing to update: give a field flag, --set or --data",
            Some(hint),
        ));
    }
    Ok(Call {
        id,
        path,
        query,
        body,
    })
}

/// A record id for examples in hints.
const EXAMPLE_ID: &str = "8d7f2a8e-1f4b-4c39-9a4e-2f6c2b1d9e10";

fn check_id(command: &str, id: Option<&str>) -> Result<String, UsageError> {
    let Some(id) = id.map(str::trim).filter(|s| !s.is_empty()) else {
        return Err(UsageError::new(
            format!("missing record id: `twenty {command}` needs the id of the record"),
            Some(format!(
                "pass it after the verb, such as `twenty {command} {EXAMPLE_ID}`"
            )),
        ));
    };
    // An id copied from JSON output keeps its quotes; they cannot be part of
    // an id, so dropping them is safe.
    let id = id
        .strip_prefix('"')
        .and_then(|s| s.strip_suffix('"'))
        .unwrap_or(id);
    match uuid::Uuid::parse_str(id) {
        Ok(uuid) => Ok(uuid.hyphenated().to_string()),
        Err(_) => Err(UsageError::new(
            format!("record id `{id}` is not a uuid"),
            Some("record ids look like 8d7f2a8e-1f4b-4c39-9a4e-2f6c2b1d9e10; copy the `id` of a listed record".into()),
        )),
    }
}

/// Checks one parameter value against the operation's constraints and
/// returns it as it goes on the wire.
fn check_param(object: Option<&Object>, param: &Param, text: &str) -> Result<String, UsageError> {
    let flag = format!("--{}", names::kebab(&param.name));
    let allowed_list = || {
        param
            .allowed
            .iter()
            .map(|v| match v {
                Value::String(s) => s.clone(),
                other => other.to_string(),
            })
            .collect::<Vec<_>>()
    };

    let value = match &param.kind {
        FieldType::Integer | FieldType::Number => {
            let number: f64 = text.trim().parse().map_err(|_| {
                UsageError::new(format!("{flag} expects a number, got `{text}`"), None)
            })?;
            if matches!(param.kind, FieldType::Integer) && number.fract() != 0.0 {
                return Err(UsageError::new(
                    format!("{flag} expects a whole number, got `{text}`"),
                    None,
                ));
            }
            let out_of_range = param.minimum.is_some_and(|min| number < min)
                || param.maximum.is_some_and(|max| number > max);
            if out_of_range {
                let range = match (param.minimum, param.maximum) {
                    (Some(min), Some(max)) => format!("from {min} to {max}"),
                    (Some(min), None) => format!("at least {min}"),
                    (None, Some(max)) => format!("at most {max}"),
                    (None, None) => String::new(),
                };
                return Err(UsageError::new(
                    format!("{flag} must be {range} for this server's schema, got `{text}`"),
                    None,
                ));
            }
            if matches!(param.kind, FieldType::Integer) {
                format!("{}", number as i64)
            } else {
                text.trim().to_string()
            }
        }
        // The words a boolean field takes (`yes`, `0`), sent as Twenty
        // reads them: `?upsert=true` only turns on with exactly `true`.
        FieldType::Boolean => match values::parse_boolean(text.trim()) {
            Some(value) => value.to_string(),
            None => {
                return Err(UsageError::new(
                    format!("{flag} expects true or false (or yes/no, 1/0), got `{text}`"),
                    None,
                ));
            }
        },
        FieldType::Uuid => uuid::Uuid::parse_str(text.trim())
            .map(|u| u.hyphenated().to_string())
            .map_err(|_| UsageError::new(format!("{flag} expects a uuid, got `{text}`"), None))?,
        _ => text.to_string(),
    };

    if !param.allowed.is_empty() {
        let allowed = allowed_list();
        if !allowed.contains(&value) {
            return Err(UsageError::new(
                format!(
                    "{flag} must be one of {} for this server's schema, got `{text}`",
                    allowed.join(", ")
                ),
                None,
            ));
        }
    }

    // The filter grammar is checked against the object's fields, so a typo
    // is caught here with a caret instead of as a server 400.
    if let Some(object) = object {
        if param.name == "filter" {
            let checked = twenty_core::filter::parse_filter_for(&value, object).map_err(|e| {
                UsageError::new(
                    format!(
                        "--filter is invalid: {}\n  {}",
                        e.message,
                        e.render(&value).replace('\n', "\n  ")
                    ),
                    None,
                )
            })?;
            // The check spells enum values as the server wants them
            // (`done` is DONE); otherwise the text goes as the user wrote it.
            if twenty_core::filter::parse_filter(&value).is_ok_and(|plain| plain != checked) {
                return Ok(checked.to_string());
            }
        } else if param.name == "order_by" || param.name == "orderBy" {
            return checked_order(object, &flag, &value);
        }
    }
    if let (Some(object), "order_by_for_records") = (object, param.name.as_str()) {
        return checked_order(object, &flag, &value);
    }
    check_param_shape(object, param, &flag, &value)?;
    Ok(value)
}

/// Checks an order-by text against the object's fields; returns what to
/// send: the text as written, or the checked order's print when that
/// spells a direction as Twenty does (`descnullslast` is DescNullsLast).
fn checked_order(object: &Object, flag: &str, text: &str) -> Result<String, UsageError> {
    let checked = twenty_core::filter::parse_order_by_for(text, object).map_err(|e| {
        UsageError::new(
            format!(
                "{flag} is invalid: {}\n  {}",
                e.message,
                e.render(text).replace('\n', "\n  ")
            ),
            None,
        )
    })?;
    match twenty_core::filter::parse_order_by(text) {
        Ok(plain) if plain == checked => Ok(text.to_string()),
        _ => Ok(checked.to_string()),
    }
}

/// The parameters whose text has a shape of its own: cursors, and the
/// JSON texts of group by.
fn check_param_shape(
    object: Option<&Object>,
    param: &Param,
    flag: &str,
    text: &str,
) -> Result<(), UsageError> {
    match param.name.as_str() {
        "starting_after" | "ending_before" => check_cursor(param, flag, text),
        "group_by" => check_group_by(object, flag, text),
        "aggregate" => match serde_json::from_str::<Value>(text) {
            Ok(Value::Array(items)) if !items.is_empty() && items.iter().all(Value::is_string) => {
                Ok(())
            }
            _ => Err(UsageError::new(
                format!("{flag} must be a JSON array of aggregate names, got `{text}`"),
                Some(format!("such as {flag} '[\"countNotEmptyId\"]'")),
            )),
        },

        _ => Ok(()),
    }
}

/// Twenty's cursors are base64 of a JSON object (the record's sort keys
/// and id); anything else comes back as a 400 `Invalid cursor`.
fn check_cursor(param: &Param, flag: &str, text: &str) -> Result<(), UsageError> {
    use base64::Engine as _;
    use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};

    let trimmed = text.trim();
    let bytes = STANDARD
        .decode(trimmed)
        .or_else(|_| URL_SAFE_NO_PAD.decode(trimmed.trim_end_matches('=')));
    let is_object = bytes
        .ok()
        .and_then(|b| serde_json::from_slice::<Value>(&b).ok())
        .is_some_and(|v| v.is_object());
    if is_object {
        return Ok(());
    }
    let which = if param.name == "ending_before" {
        "startCursor"
    } else {
        "endCursor"
    };
    Err(UsageError::new(
        format!("{flag} `{text}` is not a cursor: Twenty's cursors are base64 of a JSON object"),
        Some(format!(
            "pass the `pageInfo.{which}` of a page, which `list --raw --jq .pageInfo.{which}` prints"
        )),
    ))
}

/// `--group-by`: a JSON array of objects whose keys are fields of the
/// object, each `true` or an object (a sub-field or a date granularity).
fn check_group_by(object: Option<&Object>, flag: &str, text: &str) -> Result<(), UsageError> {
    let example = || Some(format!("such as {flag} '[{{\"status\": true}}]'"));
    let items = match serde_json::from_str::<Value>(text) {
        Ok(Value::Array(items)) if !items.is_empty() => items,
        Ok(_) => {
            return Err(UsageError::new(
                format!("{flag} must be a JSON array of fields to group by, got `{text}`"),
                example(),
            ));
        }
        Err(e) => {
            return Err(UsageError::new(
                format!(
                    "{flag} is not valid JSON: {} at column {}",
                    strip_position(&e.to_string()),
                    e.column()
                ),
                example(),
            ));
        }
    };
    for item in &items {
        let Some(map) = item.as_object().filter(|m| !m.is_empty()) else {
            return Err(UsageError::new(
                format!("{flag} items must be objects such as {{\"status\": true}}, got `{item}`"),
                example(),
            ));
        };
        for (key, value) in map {
            if let Some(object) = object
                && object.field(key).is_none()
            {
                let near = object
                    .suggest_field(key)
                    .map(|s| format!("; did you mean '{s}'?"))
                    .unwrap_or_default();
                return Err(UsageError::new(
                    format!(
                        "{flag}: field '{key}' does not exist in '{}' object{near}",
                        object.singular
                    ),
                    None,
                ));
            }
            if !(value == &Value::Bool(true) || value.is_object()) {
                return Err(UsageError::new(
                    format!(
                        "{flag}: `{key}` must be true, or an object naming a sub-field or \
                         a granularity, got `{value}`"
                    ),
                    example(),
                ));
            }
        }
    }
    Ok(())
}

fn build_body(
    object: Option<&Object>,
    op: &Operation,
    command: &str,
    inputs: &Inputs,
    limits: &Limits,
    id: Option<&str>,
) -> Result<Option<Value>, UsageError> {
    let Some(shape) = &op.body else {
        if inputs.fields.is_empty() && inputs.data.is_none() {
            return Ok(None);
        }
        return Err(no_body(op, command, inputs));
    };
    if let Body::Schema { schema } = shape {
        return body::build(op, command, schema, inputs).map(Some);
    }
    let Some(object) = object else {
        return Ok(Some(loose_body(inputs)));
    };
    let inputs = &without_server_set(object, inputs, id)?;

    match shape {
        Body::Record => {
            let mut record = match inputs.data.clone() {
                None => Map::new(),
                Some(Value::Object(map)) => map,
                Some(_) => {
                    return Err(UsageError::new(
                        "--data must be a JSON object for this operation".to_string(),
                        None,
                    ));
                }
            };
            apply_fields(object, &mut record, &inputs.fields)?;
            check(object, Value::Object(record)).map(Some)
        }
        Body::RecordList => {
            let records = match inputs.data.clone() {
                None => vec![Value::Object(Map::new())],
                Some(Value::Array(items)) => items,
                Some(Value::Object(map)) => vec![Value::Object(map)],
                Some(_) => {
                    return Err(UsageError::new(
                        "--data must be a JSON array of records for this operation".to_string(),
                        None,
                    ));
                }
            };
            if records.is_empty() {
                return Err(UsageError::new(
                    "nothing to create: --data is an empty array",
                    Some("give at least one record, such as --data '[{\"name\": \"x\"}]'".into()),
                ));
            }
            let listed = matches!(inputs.data, Some(Value::Array(_)));
            let mut out = Vec::with_capacity(records.len());
            for (index, record) in records.into_iter().enumerate() {
                let record = record_of_data(object, record, &inputs.fields);
                out.push(record.map_err(|e| in_element(e, listed, index))?);
            }
            if out.len() > limits.batch_max {
                let max = limits.batch_max;
                return Err(UsageError::new(
                    format!(
                        "--data holds {} records, more than the {max} this server's schema \
                         takes in one create-many",
                        out.len()
                    ),
                    Some(format!(
                        "send at most {max} per call, or write them one per line and use \
                         `twenty import {} FILE`, which batches for you",
                        names::kebab(&object.plural)
                    )),
                ));
            }
            Ok(Some(Value::Array(out)))
        }
        Body::Duplicates => {
            // Twenty takes either `ids` or `data`, and would answer nothing
            // for neither: a silent empty result, or inputs quietly dropped.
            let given_data = inputs.data.is_some() || !inputs.fields.is_empty();
            let whole = inputs
                .data
                .as_ref()
                .is_some_and(|d| d.get("ids").is_some() || d.get("data").is_some());
            if (!inputs.ids.is_empty() && given_data) || (whole && !inputs.fields.is_empty()) {
                return Err(UsageError::new(
                    format!(
                        "`twenty {command}` looks for records like given ids or like given \
                         values, not both: --ids (or a --data with `ids` or `data`) cannot go \
                         with field flags, --set or other --data"
                    ),
                    Some(
                        "drop --ids to look for records like the values, or drop the field \
                         inputs to look for records like the ids"
                            .into(),
                    ),
                ));
            }
            if !inputs.ids.is_empty() {
                let mut ids = Vec::new();
                for id in &inputs.ids {
                    ids.push(Value::String(check_id("find-duplicates", Some(id))?));
                }
                return Ok(Some(serde_json::json!({ "ids": ids })));
            }
            let records = match inputs.data.clone() {
                Some(Value::Object(map)) if map.contains_key("ids") || map.contains_key("data") => {
                    return Ok(Some(Value::Object(map)));
                }
                Some(Value::Object(map)) => vec![Value::Object(map)],
                Some(Value::Array(items)) => items,
                None => vec![Value::Object(Map::new())],
                Some(_) => {
                    return Err(UsageError::new(
                        "--data must be a JSON object or array of records".to_string(),
                        None,
                    ));
                }
            };
            let listed = matches!(inputs.data, Some(Value::Array(_)));
            let mut out = Vec::new();
            for (index, record) in records.into_iter().enumerate() {
                let record = record_of_data(object, record, &inputs.fields);
                out.push(record.map_err(|e| in_element(e, listed, index))?);
            }
            if out.iter().all(|r| r.as_object().is_none_or(Map::is_empty)) {
                let example = format!(
                    "give values to compare (field flags, --set or --data), or the records to \
                     compare with --ids, such as --ids {EXAMPLE_ID}"
                );
                return Err(UsageError::new(
                    format!("nothing to look for: `twenty {command}` needs field values or --ids"),
                    Some(example),
                ));
            }
            Ok(Some(serde_json::json!({ "data": out })))
        }
        // Built above, before an object is needed.
        Body::Schema { .. } => Ok(Some(loose_body(inputs))),
    }
}

/// One record of a `--data` array with the field inputs laid over it,
/// checked.
fn record_of_data(
    object: &Object,
    record: Value,
    fields: &[(String, Input)],
) -> Result<Value, UsageError> {
    let Value::Object(mut map) = record else {
        return Err(UsageError::new(
            format!(
                "it is {}, not a JSON object of fields",
                values::json_type(&record)
            ),
            None,
        ));
    };
    apply_fields(object, &mut map, fields)?;
    check(object, Value::Object(map))
}

/// A refusal of one element of a `--data` array, named 1-based as a
/// person counts (`record 2 of --data: ...`); a record that was no array
/// element needs no name.
fn in_element(mut error: UsageError, listed: bool, index: usize) -> UsageError {
    if listed {
        error.message = format!("record {} of --data: {}", index + 1, error.message);
    }
    error
}

/// Keys of a record that the server sets itself.
const SERVER_SET: [&str; 3] = ["createdAt", "updatedAt", "deletedAt"];

/// `inputs` without the keys the server sets itself (`createdAt`,
/// `updatedAt`, `deletedAt`, and an `id` equal to `target`, the record the
/// path names) where a whole record is given: `--data` and `--each`
/// lines. Those usually are a record the server returned, edited, and
/// fetch, edit and send back is the most common script; so they are
/// dropped, as `import --update-by id` drops them from an exported file.
/// Typed inputs (`--set updatedAt=...`) are left for the core to refuse:
/// a person asked for them. An `id` in `--data` that names another record
/// than `target` is refused, since it cannot be what was meant.
///
/// Twenty also answers `createdBy.context` where its document (v1.0.3's)
/// lists no such sub-field; a whole record loses that too, and only that:
/// any other unknown sub-field is still a mistake to report.
fn without_server_set(
    object: &Object,
    inputs: &Inputs,
    target: Option<&str>,
) -> Result<Inputs, UsageError> {
    let unlisted_context: Vec<&str> = object
        .fields
        .iter()
        .filter(|f| {
            f.kind.composite_kind() == Some(twenty_core::CompositeKind::Actor)
                && !f.kind.sub_fields().iter().any(|sub| sub.name == "context")
        })
        .map(|f| f.name.as_str())
        .collect();
    // Whether `value`, given for `field`, lost a `context` Twenty added.
    let drop_context = |field: &str, value: &mut Value| match value {
        Value::Object(actor) if unlisted_context.contains(&field) => {
            actor.remove("context").is_some()
        }
        _ => false,
    };
    let mut dropped: Vec<String> = Vec::new();
    let mut strip = |map: &mut Map<String, Value>, target: Option<&str>, at: &str| {
        for key in SERVER_SET {
            if map.remove(key).is_some() {
                dropped.push(format!("{at}{key}"));
            }
        }
        for (field, value) in map.iter_mut() {
            if drop_context(field, value) {
                dropped.push(format!("{at}{field}.context"));
            }
        }
        let (Some(target), Some(id)) = (target, map.get("id")) else {
            return Ok(());
        };
        let same = id
            .as_str()
            .and_then(|id| uuid::Uuid::parse_str(id.trim()).ok())
            .is_some_and(|id| id.hyphenated().to_string() == target);
        if !same {
            return Err(UsageError::new(
                format!(
                    "--data has `id` {}, but the record this call changes is {target}",
                    scalar_text(id)
                ),
                Some("drop `id` from --data, or pass the id of the record --data is for".into()),
            ));
        }
        map.remove("id");
        dropped.push(format!("{at}id"));
        Ok(())
    };

    let mut out = inputs.clone();
    match &mut out.data {
        Some(Value::Object(map)) => strip(map, target, "")?,
        Some(Value::Array(items)) => {
            for (index, item) in items.iter_mut().enumerate() {
                if let Value::Object(map) = item {
                    strip(map, None, &format!("record {}'s ", index + 1))?;
                }
            }
        }
        _ => {}
    }
    // Only an `--each` line gives JSON values by key.
    for (path, input) in &mut out.fields {
        if let Input::Json(value) = input
            && drop_context(path, value)
        {
            dropped.push(format!("{path}.context"));
        }
    }
    out.fields.retain(|(path, input)| {
        let server_set = matches!(input, Input::Json(_)) && SERVER_SET.contains(&path.as_str());
        if server_set {
            dropped.push(path.clone());
        }
        !server_set
    });
    if !dropped.is_empty() {
        tracing::debug!(
            "dropped {} from the body: the server sets them itself",
            dropped.join(", ")
        );
    }
    Ok(out)
}

/// The refusal of field values for an operation that takes no body (a
/// delete, a get): the keys are named, and for `--each` lines, which
/// usually come whole from another command's output, so is the way to
/// keep only the id.
fn no_body(op: &Operation, command: &str, inputs: &Inputs) -> UsageError {
    let mut keys: Vec<&str> = Vec::new();
    for (path, _) in &inputs.fields {
        let head = path.split('.').next().unwrap_or(path);
        if !keys.contains(&head) {
            keys.push(head);
        }
    }
    let shown: Vec<String> = keys.iter().take(5).map(|k| format!("`{k}`")).collect();
    let mut named = shown.join(", ");
    if keys.len() > shown.len() {
        named.push_str(&format!(" and {} more", keys.len() - shown.len()));
    }
    if named.is_empty() {
        named = "a body".to_string();
    }
    if !inputs.line {
        return UsageError::new(
            format!("`twenty {command}` takes no body, so it cannot send {named}"),
            None,
        );
    }
    let mut allowed: Vec<String> = Vec::new();
    if op.takes_id() {
        allowed.push("`id`".to_string());
    }
    allowed.extend(
        op.params
            .iter()
            .filter(|p| p.location == twenty_core::ParamLocation::Query)
            .map(|p| format!("`{}`", p.name)),
    );
    let hint = match (allowed.as_slice(), op.takes_id()) {
        ([], _) => "its lines take no keys, so each is `{}`".to_string(),
        (_, true) => format!(
            "a line may hold only {}: keep just the id, such as with `--jq '{{id}}'` on the \
             command that writes the lines",
            allowed.join(", ")
        ),
        (_, false) => format!("a line may hold only {}", allowed.join(", ")),
    };
    UsageError::new(
        format!("`twenty {command}` takes no fields, but the line has {named}"),
        Some(hint),
    )
}

/// A body the catalog gives no record shape for: `--data` with `--set`
/// paths laid over it, values parsed as JSON when they are JSON.
fn loose_body(inputs: &Inputs) -> Value {
    let mut map = match inputs.data.clone() {
        Some(Value::Object(map)) => map,
        Some(other) if inputs.fields.is_empty() => return other,
        _ => Map::new(),
    };
    for (path, input) in &inputs.fields {
        let value = match input {
            Input::Json(v) => v.clone(),
            Input::Text(t) => serde_json::from_str(t).unwrap_or_else(|_| Value::String(t.clone())),
            Input::Texts(t) => Value::Array(t.iter().cloned().map(Value::String).collect()),
        };
        values::set_path(&mut map, path, value);
    }
    Value::Object(map)
}

fn check(object: &Object, body: Value) -> Result<Value, UsageError> {
    values::check_body(object, &body).map_err(UsageError::from)
}

/// The type of the field or sub-field at `path`, if the object has it.
fn kind_at<'a>(object: &'a Object, path: &str) -> Option<&'a FieldType> {
    let (head, sub) = match path.split_once('.') {
        Some((h, s)) => (h, Some(s)),
        None => (path, None),
    };
    let field = object.field(head)?;
    match sub {
        None => Some(&field.kind),
        Some(sub) => field.sub_field(sub).map(|f| &f.kind),
    }
}

fn apply_fields(
    object: &Object,
    record: &mut Map<String, Value>,
    fields: &[(String, Input)],
) -> Result<(), UsageError> {
    for (path, input) in fields {
        let value = match input {
            Input::Text(text) => typed_text(object, path, text)?,
            // Record fields have no repeated flags; a list field's values
            // are read as its comma-separated text would be.
            Input::Texts(texts) => typed_text(object, path, &texts.join(","))?,
            // A JSON string for a typed field is parsed like typed text (so
            // an `--each` line can carry "completed"); JSON fields and other
            // values are kept and checked with the whole body.
            Input::Json(Value::String(text))
                if !matches!(kind_at(object, path), Some(FieldType::Json) | None) =>
            {
                typed_text(object, path, text)?
            }
            Input::Json(value) => {
                if kind_at(object, path).is_none() {
                    // Let the core name the unknown field and suggest one.
                    values::parse_input(object, path, &value.to_string())
                        .map_err(UsageError::from)?;
                }
                value.clone()
            }
        };
        // A composite given whole merges with the sub-fields set before it
        // (`--data`'s, or the flags that are an `--each` line's defaults),
        // the later value winning for each sub-field, as Twenty merges an
        // update: `{"name": {"firstName": "E1"}}` keeps `--name.last-name`.
        let composite = matches!(kind_at(object, path), Some(FieldType::Composite { .. }));
        if composite
            && let (Value::Object(given), Some(Value::Object(set))) = (&value, record.get_mut(path))
        {
            set.extend(given.clone());
            continue;
        }
        values::set_path(record, path, value);
    }
    Ok(())
}

/// Text typed for a field, as the JSON the field takes.
fn typed_text(object: &Object, path: &str, text: &str) -> Result<Value, UsageError> {
    let text = match kind_at(object, path) {
        Some(FieldType::Enum { values }) => loose_enum(values, text),
        Some(FieldType::List { item }) => list_of_composites(item, path, text)?,
        _ => text.to_string(),
    };
    values::parse_input(object, path, &text).map_err(UsageError::from)
}

/// Comma-separated text for a list of composites (`a.com,b.com` for
/// `secondaryLinks`) as the JSON array the core reads: each item fills the
/// composite's first writable sub-field (`url`, a file's `fileId`). Other
/// text is returned as typed.
fn list_of_composites(item: &FieldType, path: &str, text: &str) -> Result<String, UsageError> {
    let first = item.sub_fields().iter().find(|f| f.writable);
    let json = text.trim().is_empty() || text.trim().starts_with('[');
    let (Some(first), false) = (first, json) else {
        return Ok(text.to_string());
    };
    let mut items = Vec::new();
    for (i, part) in text.split(',').map(str::trim).enumerate() {
        if part.is_empty() {
            return Err(UsageError::new(
                format!("{path}[{i}] is empty: give one {} per comma", first.name),
                None,
            ));
        }
        items.push(serde_json::json!({ first.name.as_str(): part }));
    }
    Ok(Value::Array(items).to_string())
}

/// Maps `completed`, `not started` or `NOT-STARTED` to the allowed value
/// they mean; anything else is returned as typed, for the core to refuse
/// with the list of allowed values.
pub fn loose_enum(allowed: &[String], text: &str) -> String {
    let wanted: String = text
        .trim()
        .chars()
        .map(|c| match c {
            ' ' | '-' => '_',
            c => c.to_ascii_uppercase(),
        })
        .collect();
    allowed
        .iter()
        .find(|a| a.eq_ignore_ascii_case(&wanted))
        .cloned()
        .unwrap_or_else(|| text.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn loose_enum_accepts_case_and_separator_variants() {
        let allowed: Vec<String> = ["NOT_STARTED", "RUNNING", "COMPLETED"]
            .iter()
            .map(|s| s.to_string())
            .collect();
        assert_eq!(loose_enum(&allowed, "completed"), "COMPLETED");
        assert_eq!(loose_enum(&allowed, "not started"), "NOT_STARTED");
        assert_eq!(loose_enum(&allowed, "NOT-STARTED"), "NOT_STARTED");
        assert_eq!(loose_enum(&allowed, "done"), "done");
    }

    #[test]
    fn ids_are_checked_and_normalised() {
        let id = "8d7f2a8e-1f4b-4c39-9a4e-2f6c2b1d9e10";
        assert_eq!(check_id("people get", Some(id)).unwrap(), id);
        assert_eq!(
            check_id("people get", Some(&format!("\"{id}\"\n"))).unwrap(),
            id
        );
        assert_eq!(
            check_id("people get", Some(&id.to_uppercase())).unwrap(),
            id
        );
        let err = check_id("people get", Some("8d7f2a8e")).unwrap_err();
        assert_eq!(err.message, "record id `8d7f2a8e` is not a uuid");
        let err = check_id("people get", Some(" ")).unwrap_err();
        assert!(
            err.message.starts_with("missing record id"),
            "{}",
            err.message
        );
    }

    #[test]
    fn json_errors_name_line_and_column() {
        let err = read_json_arg("--output", "{\"rows\":\n 12,}").unwrap_err();
        assert!(
            err.message.contains("--output is not valid JSON"),
            "{}",
            err.message
        );
        assert!(err.message.contains("line 2 column"), "{}", err.message);
    }
}
