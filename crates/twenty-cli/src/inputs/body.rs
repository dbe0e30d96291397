//! Request bodies that are not records, such as merge's
//! `{ids, conflictPriorityIndex, dryRun}`: the document gives their JSON
//! schema, whose top-level properties the command builder turns into flags
//! and against which a body built from flags, `--set` and `--data` is
//! checked here, before anything is sent.
//!
//! Only the schema features these bodies use are read: `type`, `format`,
//! `enum`, `items`, `required`, `description` and `default`. A property of
//! any other shape takes any JSON.

use serde_json::{Map, Value};
use twenty_core::{Field, FieldType, Object, Operation, OperationKind, names, values};

use super::{Input, Inputs};
use crate::UsageError;

/// One top-level property of a body schema.
#[derive(Debug, Clone, PartialEq)]
pub struct Property {
    /// Name as the API spells it (`conflictPriorityIndex`).
    pub name: String,
    /// Its type, in the catalog's terms.
    pub kind: FieldType,
    /// Whether the schema lists it as required.
    pub required: bool,
    /// The schema's description.
    pub description: Option<String>,
    /// The schema's default.
    pub default: Option<Value>,
}

/// The top-level properties of an object schema, in document order; none
/// for a schema that is not an object with properties.
pub fn properties(schema: &Value) -> Vec<Property> {
    let required: Vec<&str> = schema
        .get("required")
        .and_then(Value::as_array)
        .map(|names| names.iter().filter_map(Value::as_str).collect())
        .unwrap_or_default();
    let Some(Value::Object(props)) = schema.get("properties") else {
        return Vec::new();
    };
    props
        .iter()
        .map(|(name, prop)| Property {
            name: name.clone(),
            kind: kind_of(prop),
            required: required.contains(&name.as_str()),
            description: prop
                .get("description")
                .and_then(Value::as_str)
                .map(str::to_string),
            default: prop.get("default").cloned(),
        })
        .collect()
}

fn kind_of(schema: &Value) -> FieldType {
    if let Some(Value::Array(allowed)) = schema.get("enum") {
        let values: Option<Vec<String>> = allowed
            .iter()
            .map(|v| v.as_str().map(str::to_string))
            .collect();
        if let Some(values) = values {
            return FieldType::Enum { values };
        }
    }
    let format = schema.get("format").and_then(Value::as_str);
    match schema.get("type").and_then(Value::as_str) {
        Some("string") => match format {
            Some("uuid") => FieldType::Uuid,
            Some("date-time") => FieldType::DateTime,
            Some("date") => FieldType::Date,
            Some("email") => FieldType::Email,
            Some("uri" | "url") => FieldType::Url,
            _ => FieldType::Text,
        },
        Some("number") => FieldType::Number,
        Some("integer") => FieldType::Integer,
        Some("boolean") => FieldType::Boolean,
        Some("array") => FieldType::List {
            item: Box::new(schema.get("items").map_or(FieldType::Json, kind_of)),
        },
        _ => FieldType::Json,
    }
}

/// Builds the body of `op` from `--data`, then flags and `--set` paths
/// over it, and checks it against `schema`: every key a property, every
/// value of its property's type, every required property present.
pub fn build(
    op: &Operation,
    command: &str,
    schema: &Value,
    inputs: &Inputs,
) -> Result<Value, UsageError> {
    let props = properties(schema);
    // Values are converted and checked by the core's rules for fields, so
    // the messages read like those of record bodies.
    let shape = Object {
        singular: format!("{} body", op.kind.verb().unwrap_or(&op.id)),
        plural: String::new(),
        description: None,
        fields: props
            .iter()
            .map(|p| Field {
                name: p.name.clone(),
                description: None,
                kind: p.kind.clone(),
                writable: true,
            })
            .collect(),
        operations: Vec::new(),
    };

    let mut body = match inputs.data.clone() {
        None => Map::new(),
        Some(Value::Object(map)) => map,
        Some(_) => {
            return Err(UsageError::new(
                format!("--data must be a JSON object for `twenty {command}`"),
                None,
            ));
        }
    };
    for (path, input) in &inputs.fields {
        let (head, rest) = match path.split_once('.') {
            Some((head, rest)) => (head, Some(rest)),
            None => (path.as_str(), None),
        };
        let prop = find(&props, head).ok_or_else(|| unknown(command, &props, head))?;
        let value = match (input, rest) {
            (Input::Text(text), None) => values::parse_input(&shape, &prop.name, text)?,
            (Input::Texts(texts), None) => {
                values::parse_input(&shape, &prop.name, &texts.join(","))?
            }
            (Input::Json(value), None) => value.clone(),
            // A path into a property: only JSON properties have insides.
            (input, Some(_)) => match input {
                Input::Json(value) => value.clone(),
                Input::Text(t) => serde_json::from_str(t).unwrap_or(Value::String(t.clone())),
                Input::Texts(t) => Value::Array(t.iter().cloned().map(Value::String).collect()),
            },
        };
        let path = match rest {
            Some(rest) => format!("{}.{rest}", prop.name),
            None => prop.name.clone(),
        };
        values::set_path(&mut body, &path, value);
    }

    let mut out = Map::new();
    for (key, value) in body {
        let prop = find(&props, &key).ok_or_else(|| unknown(command, &props, &key))?;
        let checked = if twenty_core::catalog::is_server_set(&prop.name) {
            // The core's record rules would refuse these names outright.
            value
        } else {
            let one = Value::Object(Map::from_iter([(prop.name.clone(), value)]));
            match values::check_body(&shape, &one)? {
                Value::Object(mut map) => map.remove(&prop.name).unwrap_or(Value::Null),
                other => other,
            }
        };
        out.insert(prop.name.clone(), checked);
    }
    if let Some(missing) = props
        .iter()
        .find(|p| p.required && !out.contains_key(&p.name))
    {
        return Err(UsageError::new(
            format!(
                "missing `--{}`: `twenty {command}` requires it (`{}` in --data)",
                names::kebab(&missing.name),
                missing.name
            ),
            None,
        ));
    }
    if op.kind == OperationKind::Merge {
        check_merge(&out)?;
    }
    Ok(Value::Object(out))
}

/// The property a key names: the API's spelling, or kebab or snake case.
fn find<'p>(props: &'p [Property], key: &str) -> Option<&'p Property> {
    let camel = names::camel(key);
    props
        .iter()
        .find(|p| p.name == key || p.name == camel)
        .or_else(|| props.iter().find(|p| p.name.eq_ignore_ascii_case(&camel)))
}

fn unknown(command: &str, props: &[Property], key: &str) -> UsageError {
    let names_of = || props.iter().map(|p| p.name.as_str());
    let hint = names::nearest(key, names_of())
        .or_else(|| names::nearest(&names::camel(key), names_of()))
        .map(|near| format!("did you mean `{near}`?"));
    UsageError::new(
        format!(
            "the body of `twenty {command}` has no `{key}`; its keys are {}",
            names_of().collect::<Vec<_>>().join(", ")
        ),
        hint,
    )
}

/// Merge's `conflictPriorityIndex` picks one of the `ids`.
fn check_merge(body: &Map<String, Value>) -> Result<(), UsageError> {
    let (Some(index), Some(Value::Array(ids))) =
        (body.get("conflictPriorityIndex"), body.get("ids"))
    else {
        return Ok(());
    };
    let fits = index.as_u64().is_some_and(|i| (i as usize) < ids.len());
    if fits {
        return Ok(());
    }
    let range = match ids.len() {
        0 => "an index into --ids, which is empty".to_string(),
        1 => "0, the index of the only record in --ids".to_string(),
        n => format!(
            "from 0 to {}, the index of one of the {n} records in --ids",
            n - 1
        ),
    };
    Err(UsageError::new(
        format!("--conflict-priority-index must be {range}, got `{index}`"),
        Some("it picks the record whose values win where the records differ".into()),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn properties_follow_the_schema() {
        let schema = json!({
            "type": "object",
            "properties": {
                "ids": {"type": "array", "items": {"type": "string", "format": "uuid"}},
                "conflictPriorityIndex": {"type": "number"},
                "dryRun": {"type": "boolean", "default": false},
                "mode": {"type": "string", "enum": ["A", "B"]},
                "extra": {"oneOf": []}
            },
            "required": ["ids", "conflictPriorityIndex"]
        });
        let props = properties(&schema);
        let kinds: Vec<(&str, &FieldType, bool)> = props
            .iter()
            .map(|p| (p.name.as_str(), &p.kind, p.required))
            .collect();
        assert_eq!(
            kinds,
            [
                (
                    "ids",
                    &FieldType::List {
                        item: Box::new(FieldType::Uuid)
                    },
                    true
                ),
                ("conflictPriorityIndex", &FieldType::Number, true),
                ("dryRun", &FieldType::Boolean, false),
                (
                    "mode",
                    &FieldType::Enum {
                        values: vec!["A".into(), "B".into()]
                    },
                    false
                ),
                ("extra", &FieldType::Json, false),
            ]
        );
        assert_eq!(props[2].default, Some(json!(false)));
    }
}
