//! Reading an OpenAPI document, as Twenty serves it at
//! `GET /rest/open-api/core`, into a [`Catalog`].
//!
//! Twenty generates one document per workspace from its data model, and the
//! generator has changed across versions: object paths with or without a
//! `/rest` prefix, 7 or 13 operations per object, relation fields that are
//! real relations or plain text. This module reads what every version writes
//! and resolves it into the same catalog types.

use std::path::Path;

use indexmap::IndexMap;
use serde_json::Value;

use crate::catalog::{
    Body, Cardinality, Catalog, Field, FieldType, Method, Object, Operation, OperationKind, Param,
    ParamLocation,
};
use crate::names::{lower_first, pascal};
use crate::openapi::{Document, OperationObject, Parameter, Schema};

/// Why a document could not be read.
#[derive(Debug, thiserror::Error)]
pub enum LoadError {
    /// The file could not be read.
    #[error("failed to read `{path}`")]
    Read {
        /// The file.
        path: String,
        /// The cause.
        #[source]
        source: std::io::Error,
    },
    /// The text is neither JSON nor YAML of the expected shape.
    #[error("not a Twenty OpenAPI document: {0}")]
    Syntax(String),
    /// A `$ref` points at nothing.
    #[error("unresolved reference `{0}`")]
    Reference(String),
    /// The document describes no object at all.
    #[error("the document describes no objects (was it fetched without an API key?)")]
    Empty,
}

/// Reads a document in JSON or YAML.
///
/// # Errors
/// [`LoadError::Syntax`] when the text does not parse, [`LoadError::Reference`]
/// when it refers to a parameter it does not define.
pub fn from_str(text: &str) -> Result<Catalog, LoadError> {
    let json = text.trim_start().starts_with('{');
    let parsed = if json {
        serde_json::from_str(text).map_err(|e| e.to_string())
    } else {
        serde_yaml_ng::from_str(text).map_err(|e| e.to_string())
    };
    match parsed {
        Ok(document) => from_document(&document),
        Err(reason) => Err(LoadError::Syntax(not_openapi(text, json).unwrap_or(reason))),
    }
}

/// Why `text` is not an OpenAPI document at all, in words that quote
/// nothing from it, or `None` when it looks like one (and the parser's
/// own reason, which may quote it, can be shown).
///
/// A file passed as `--schema` by mistake may be a key file or
/// `/etc/passwd`, and the parser's reason (`invalid type: string "..."`)
/// would print it whole.
fn not_openapi(text: &str, json: bool) -> Option<String> {
    let value: Result<serde_json::Value, ()> = if json {
        serde_json::from_str(text).map_err(drop)
    } else {
        serde_yaml_ng::from_str(text).map_err(drop)
    };
    let what = match value {
        // A syntax error's reason gives a position and no content.
        Err(()) => return None,
        Ok(serde_json::Value::Object(map)) if map.contains_key("openapi") => return None,
        Ok(serde_json::Value::Object(_)) => "an object with no `openapi` key",
        Ok(serde_json::Value::Array(_)) => "a list",
        Ok(serde_json::Value::String(_)) => "plain text",
        Ok(serde_json::Value::Number(_)) => "a number",
        Ok(serde_json::Value::Bool(_)) => "a boolean",
        Ok(serde_json::Value::Null) => "empty",
    };
    Some(format!(
        "it is {what}, where an OpenAPI document is an object with `openapi`, `paths` and \
         `components` (Twenty serves it at /rest/open-api/core)"
    ))
}

/// Reads a document from a file, in JSON or YAML.
///
/// # Errors
/// [`LoadError::Read`] when the file cannot be read, and those of [`from_str`].
pub fn from_path(path: &Path) -> Result<Catalog, LoadError> {
    let text = std::fs::read_to_string(path).map_err(|source| LoadError::Read {
        path: path.display().to_string(),
        source,
    })?;
    from_str(&text)
}

/// Resolves an already parsed document.
///
/// # Errors
/// As [`from_str`].
pub fn from_document(document: &Document) -> Result<Catalog, LoadError> {
    let schemas = &document.components.schemas;

    // Group operations by the object whose plural name is their path's
    // first segment (after `batch/` or `restore/`), in document order.
    let mut grouped: IndexMap<String, Vec<(String, Method, &OperationObject)>> = IndexMap::new();
    let mut general = Vec::new();
    for (raw_path, item) in &document.paths {
        let path = relative_path(raw_path);
        let methods = [
            (Method::Get, &item.get),
            (Method::Post, &item.post),
            (Method::Put, &item.put),
            (Method::Patch, &item.patch),
            (Method::Delete, &item.delete),
        ];
        for (method, op) in methods {
            let Some(op) = op else { continue };
            match object_segment(&path) {
                Some(plural) if op.tags.first().is_none_or(|t| t != "General") => grouped
                    .entry(plural.to_owned())
                    .or_default()
                    .push((path.clone(), method, op)),
                _ => general.push(operation(document, &path, method, op, None)?),
            }
        }
    }

    let mut objects = Vec::new();
    for (plural, ops) in &grouped {
        let singular = singular_name(plural, ops);
        let schema_name = pascal(&singular);
        let create = schemas.get(&schema_name);
        let response = schemas.get(&format!("{schema_name}ForResponse")).or(create);
        let description = response.and_then(|s| s.description.clone());
        let fields = match response {
            Some(response) => fields(response, create),
            None => Vec::new(),
        };
        let operations = ops
            .iter()
            .map(|(path, method, op)| operation(document, path, *method, op, Some(plural)))
            .collect::<Result<Vec<_>, _>>()?;
        objects.push(Object {
            singular,
            plural: plural.clone(),
            description,
            fields,
            operations,
        });
    }
    if objects.is_empty() {
        return Err(LoadError::Empty);
    }

    pair_relations(&mut objects);
    Ok(Catalog { objects, general })
}

/// The path relative to the REST root: `/rest/people` and `/people` are the
/// same operation, served under a URL that does or does not end in `/rest/`.
fn relative_path(raw: &str) -> String {
    match raw.strip_prefix("/rest") {
        Some(rest) if rest.starts_with('/') => rest.to_owned(),
        _ => raw.to_owned(),
    }
}

/// The plural name of the object a path belongs to, if any.
fn object_segment(path: &str) -> Option<&str> {
    let mut segments = path.split('/').filter(|s| !s.is_empty());
    let first = segments.next()?;
    let segment = match first {
        "batch" | "restore" => segments.next()?,
        "open-api" | "metadata" => return None,
        _ => first,
    };
    (!segment.starts_with('{')).then_some(segment)
}

/// The singular name as the API uses it: the key of the find one response
/// (`data.person`), else of the create one response (`data.createPerson`),
/// else the request body's schema name.
fn singular_name(plural: &str, ops: &[(String, Method, &OperationObject)]) -> String {
    let response_key = |op: &OperationObject, status: &str| -> Option<String> {
        let data = op
            .responses
            .get(status)?
            .pointer("/content/application~1json/schema/properties/data/properties")?;
        data.as_object()?.keys().next().cloned()
    };
    for (path, method, op) in ops {
        let kind = classify(*method, path, plural);
        if kind == OperationKind::FindOne
            && let Some(key) = response_key(op, "200")
        {
            return key;
        }
        if kind == OperationKind::CreateOne
            && let Some(key) =
                response_key(op, "201").and_then(|k| k.strip_prefix("create").map(lower_first))
        {
            return key;
        }
    }
    for (_, _, op) in ops {
        let body = op
            .request_body
            .as_ref()
            .and_then(|b| b.content.get("application/json"));
        if let Some(name) = body
            .and_then(|m| m.schema.get("$ref"))
            .and_then(Value::as_str)
            .and_then(|r| r.rsplit('/').next())
        {
            return lower_first(name.trim_end_matches("ForUpdate"));
        }
    }
    plural.to_owned()
}

/// What an operation does, from its method and the shape of its path.
fn classify(method: Method, path: &str, plural: &str) -> OperationKind {
    use OperationKind::*;
    let segments: Vec<&str> = path.split('/').filter(|s| !s.is_empty()).collect();
    match (method, segments.as_slice()) {
        (Method::Get, [p]) if *p == plural => FindMany,
        (Method::Post, [p]) if *p == plural => CreateOne,
        (Method::Patch, [p]) if *p == plural => UpdateMany,
        (Method::Delete, [p]) if *p == plural => DeleteMany,
        (Method::Post, ["batch", p]) if *p == plural => CreateMany,
        (Method::Post, [p, "duplicates"]) if *p == plural => FindDuplicates,
        (Method::Patch, [p, "merge"]) if *p == plural => Merge,
        (Method::Get, [p, "groupBy"]) if *p == plural => GroupBy,
        (Method::Get, [p, "{id}"]) if *p == plural => FindOne,
        (Method::Patch | Method::Put, [p, "{id}"]) if *p == plural => UpdateOne,
        (Method::Delete, [p, "{id}"]) if *p == plural => DeleteOne,
        (Method::Patch, ["restore", p, "{id}"]) if *p == plural => RestoreOne,
        (Method::Patch, ["restore", p]) if *p == plural => RestoreMany,
        _ => Other,
    }
}

fn operation(
    document: &Document,
    path: &str,
    method: Method,
    op: &OperationObject,
    plural: Option<&str>,
) -> Result<Operation, LoadError> {
    let kind = plural.map_or(OperationKind::Other, |p| classify(method, path, p));
    let params = op
        .parameters
        .iter()
        .map(|p| param(document, p))
        .collect::<Result<Vec<_>, _>>()?;
    let body = op
        .request_body
        .as_ref()
        .and_then(|b| b.content.get("application/json"))
        .map(|m| body_shape(&m.schema, kind));
    Ok(Operation {
        kind,
        id: op.operation_id.clone(),
        method,
        path: path.to_owned(),
        summary: op.summary.clone(),
        description: op.description.clone(),
        params,
        body,
    })
}

fn param(document: &Document, raw: &Parameter) -> Result<Param, LoadError> {
    let resolved = match &raw.reference {
        Some(reference) => {
            let name = reference.rsplit('/').next().unwrap_or_default();
            document
                .components
                .parameters
                .get(name)
                .ok_or_else(|| LoadError::Reference(reference.clone()))?
        }
        None => raw,
    };
    let schema = resolved.schema.clone().unwrap_or_default();
    Ok(Param {
        name: resolved.name.clone(),
        location: if resolved.location == "path" {
            ParamLocation::Path
        } else {
            ParamLocation::Query
        },
        description: resolved.description.clone(),
        required: resolved.required,
        kind: scalar_type(&schema),
        allowed: schema.allowed.clone().unwrap_or_default(),
        minimum: schema.minimum,
        maximum: schema.maximum,
        default: schema.default.clone(),
    })
}

/// The body shape. Record bodies refer to the object's schema by `$ref`;
/// anything else is kept as written so it can still be sent and exported.
fn body_shape(schema: &Value, kind: OperationKind) -> Body {
    let is_ref = schema.get("$ref").is_some();
    let is_ref_array = schema.get("type").and_then(Value::as_str) == Some("array")
        && schema.pointer("/items/$ref").is_some();
    match kind {
        OperationKind::FindDuplicates => Body::Duplicates,
        _ if is_ref => Body::Record,
        _ if is_ref_array => Body::RecordList,
        _ => Body::Schema {
            schema: schema.clone(),
        },
    }
}

/// A parameter's or sub-field's type, from a schema without properties.
fn scalar_type(schema: &Schema) -> FieldType {
    if let Some(values) = &schema.allowed
        && schema.kind.as_deref() == Some("string")
    {
        return FieldType::Enum {
            values: values
                .iter()
                .map(|v| v.as_str().map_or_else(|| v.to_string(), str::to_owned))
                .collect(),
        };
    }
    match (schema.kind.as_deref(), schema.format.as_deref()) {
        (Some("string"), Some("uuid")) => FieldType::Uuid,
        (Some("string"), Some("date-time")) => FieldType::DateTime,
        (Some("string"), Some("date")) => FieldType::Date,
        (Some("string"), Some("email")) => FieldType::Email,
        (Some("string"), Some("uri")) => FieldType::Url,
        (Some("string"), _) => FieldType::Text,
        (Some("number"), _) => FieldType::Number,
        (Some("integer"), _) => FieldType::Integer,
        (Some("boolean"), _) => FieldType::Boolean,
        _ => FieldType::Json,
    }
}

/// The type of a property, with writability of composite sub-fields taken
/// from the create schema's version of the same property.
fn field_type(schema: &Schema, create: Option<&Schema>) -> FieldType {
    let ref_target = |s: &Schema| {
        s.ref_name()
            .map(|n| lower_first(n.trim_end_matches("ForResponse")))
    };
    if let Some(target) = schema
        .one_of
        .as_ref()
        .and_then(|o| o.first())
        .and_then(ref_target)
    {
        return FieldType::Relation {
            target,
            // Filled in by `fields`, which knows the property's name.
            cardinality: Cardinality::ManyToOne {
                id_field: String::new(),
            },
        };
    }
    match schema.kind.as_deref() {
        Some("array") => match schema.items.as_deref() {
            Some(items) if items.reference.is_some() => FieldType::Relation {
                target: ref_target(items).unwrap_or_default(),
                cardinality: Cardinality::OneToMany { inverse: None },
            },
            Some(items) => FieldType::List {
                item: Box::new(field_type(items, create.and_then(|c| c.items.as_deref()))),
            },
            None => FieldType::List {
                item: Box::new(FieldType::Json),
            },
        },
        Some("object") => match &schema.properties {
            Some(properties) => FieldType::Composite {
                fields: properties
                    .iter()
                    .map(|(name, sub)| {
                        let created = create
                            .and_then(|c| c.properties.as_ref())
                            .and_then(|p| p.get(name));
                        Field {
                            name: name.clone(),
                            description: sub.description.clone(),
                            kind: field_type(sub, created),
                            writable: created.is_some(),
                        }
                    })
                    .collect(),
            },
            None => FieldType::Json,
        },
        _ => scalar_type(schema),
    }
}

/// The fields of an object: every property of its response schema, writable
/// when its create schema has it too.
fn fields(response: &Schema, create: Option<&Schema>) -> Vec<Field> {
    let Some(properties) = &response.properties else {
        return Vec::new();
    };
    let created = |name: &str| create.and_then(|c| c.properties.as_ref()?.get(name));
    let mut fields: Vec<Field> = properties
        .iter()
        .map(|(name, schema)| {
            let create_schema = created(name);
            let mut kind = field_type(schema, create_schema);
            if let FieldType::Relation {
                cardinality: Cardinality::ManyToOne { id_field },
                ..
            } = &mut kind
            {
                *id_field = format!("{name}Id");
            }
            Field {
                name: name.clone(),
                description: schema
                    .description
                    .clone()
                    .or_else(|| create_schema.and_then(|c| c.description.clone())),
                kind,
                writable: create_schema.is_some(),
            }
        })
        .collect();

    // An id field backs the many-to-one relation named like it without `Id`.
    let relations: Vec<(String, String)> = fields
        .iter()
        .filter_map(|f| match &f.kind {
            FieldType::Relation {
                target,
                cardinality: Cardinality::ManyToOne { id_field },
            } => Some((id_field.clone(), format!("{}\0{target}", f.name))),
            _ => None,
        })
        .collect();
    for field in &mut fields {
        if let Some((_, both)) = relations.iter().find(|(id, _)| *id == field.name)
            && matches!(field.kind, FieldType::Uuid)
        {
            let (relation, target) = both.split_once('\0').unwrap_or_default();
            field.kind = FieldType::RelationId {
                target: target.to_owned(),
                relation: relation.to_owned(),
            };
        }
    }
    fields
}

/// Infers, for every one-to-many relation, the id field on the other side
/// that backs it. The documents never state it: a person's
/// `pointOfContactForOpportunities` is backed by opportunity
/// `pointOfContactId` only because that is the one many-to-one relation of
/// opportunity that points at person.
fn pair_relations(objects: &mut [Object]) {
    let mut inverses = Vec::new();
    for (index, object) in objects.iter().enumerate() {
        for (field_index, field) in object.fields.iter().enumerate() {
            let FieldType::Relation {
                target,
                cardinality: Cardinality::OneToMany { .. },
            } = &field.kind
            else {
                continue;
            };
            let Some(other) = objects.iter().find(|o| o.singular == *target) else {
                continue;
            };
            let inverse = infer_inverse(object, &field.name, other);
            inverses.push((index, field_index, inverse));
        }
    }
    for (index, field_index, inverse) in inverses {
        if let FieldType::Relation {
            cardinality: Cardinality::OneToMany { inverse: slot },
            ..
        } = &mut objects[index].fields[field_index].kind
        {
            *slot = inverse;
        }
    }
}

fn infer_inverse(source: &Object, field_name: &str, other: &Object) -> Option<String> {
    let candidates: Vec<(&str, &str)> = other
        .fields
        .iter()
        .filter_map(|f| match &f.kind {
            FieldType::Relation {
                target,
                cardinality: Cardinality::ManyToOne { id_field },
            } if *target == source.singular => Some((f.name.as_str(), id_field.as_str())),
            _ => None,
        })
        .collect();
    match candidates.as_slice() {
        [(_, id_field)] => return Some((*id_field).to_owned()),
        [] => {}
        several => {
            // Several relations point back: the one-to-many field is named
            // after its partner (`pointOfContactForOpportunities`), or the
            // partner is named after the source object (`person`).
            return several
                .iter()
                .find(|(name, _)| field_name.starts_with(name))
                .or_else(|| several.iter().find(|(name, _)| *name == source.singular))
                .map(|(_, id)| (*id).to_owned());
        }
    }
    // Polymorphic targets of newer servers (`targetPerson` on a note target)
    // are plain fields, not relations.
    let polymorphic = format!("target{}", pascal(&source.singular));
    [format!("{polymorphic}Id"), polymorphic]
        .into_iter()
        .find(|name| other.field(name).is_some())
}
