//! Writing a catalog back out as an OpenAPI document in Twenty's style, which
//! the sandbox serves at `/rest/open-api/core`. Reading the written document
//! with [`crate::load`] gives back the same catalog.

use serde_json::{Map, Value, json};

use crate::builtin::param_ref;
use crate::catalog::{
    Body, Cardinality, Catalog, Field, FieldType, Object, Operation, OperationKind, Param,
    ParamLocation,
};
use crate::names::pascal;

/// The OpenAPI 3.1 document of `catalog`, with `server_url` (which should
/// end in `/rest/`, as Twenty's does) as its only server.
pub fn to_openapi(catalog: &Catalog, server_url: &str) -> Value {
    let mut schemas = Map::new();
    for object in &catalog.objects {
        let name = pascal(&object.singular);
        let create = object_schema(object, false);
        schemas.insert(name.clone(), create.clone());
        schemas.insert(format!("{name}ForUpdate"), create);
        schemas.insert(format!("{name}ForResponse"), object_schema(object, true));
    }

    // Parameters go to `components.parameters` under Twenty's names when
    // every operation agrees on their definition, and inline otherwise.
    let mut parameters = Map::new();
    let mut conflicting = Vec::new();
    for (_, op) in catalog.operations() {
        for param in &op.params {
            let reference = param_ref(&param.name);
            let written = param_json(param);
            match parameters.get(&reference) {
                Some(existing) if *existing != written => conflicting.push(reference),
                Some(_) => {}
                None => {
                    parameters.insert(reference, written);
                }
            }
        }
    }
    for reference in &conflicting {
        parameters.remove(reference);
    }

    let mut paths = Map::new();
    for (object, op) in catalog.operations() {
        let entry = paths
            .entry(op.path.clone())
            .or_insert_with(|| Value::Object(Map::new()));
        let method = op.method.as_str().to_ascii_lowercase();
        entry[method] = operation_json(object, op, &conflicting);
    }

    json!({
        "openapi": "3.1.0",
        "info": {
            "title": "Twenty Api",
            "description": "The REST API of a Twenty workspace, as served by twenty-rs.",
            "version": "v0.1",
        },
        "servers": [{ "url": server_url, "description": "Production Development" }],
        "components": {
            "securitySchemes": {
                "bearerAuth": { "type": "http", "scheme": "bearer", "bearerFormat": "JWT" }
            },
            "schemas": schemas,
            "parameters": parameters,
            "responses": error_responses(),
        },
        "security": [{ "bearerAuth": [] }],
        "paths": paths,
    })
}

fn object_schema(object: &Object, response: bool) -> Value {
    let properties: Map<String, Value> = object
        .fields
        .iter()
        .filter(|f| response || f.writable)
        .map(|f| (f.name.clone(), field_schema(f, response)))
        .collect();
    let mut schema = json!({ "type": "object", "properties": properties });
    if let Some(description) = &object.description {
        schema["description"] = json!(description);
    }
    schema
}

fn field_schema(field: &Field, response: bool) -> Value {
    let mut schema = type_schema(&field.kind, response);
    if let Some(description) = &field.description {
        schema["description"] = json!(description);
    }
    schema
}

fn type_schema(kind: &FieldType, response: bool) -> Value {
    let reference = |target: &str| json!({ "$ref": format!("#/components/schemas/{}ForResponse", pascal(target)) });
    match kind {
        FieldType::Text => json!({ "type": "string" }),
        FieldType::Number => json!({ "type": "number" }),
        FieldType::Integer => json!({ "type": "integer" }),
        FieldType::Boolean => json!({ "type": "boolean" }),
        FieldType::Uuid | FieldType::RelationId { .. } => {
            json!({ "type": "string", "format": "uuid" })
        }
        FieldType::Email => json!({ "type": "string", "format": "email" }),
        FieldType::Url => json!({ "type": "string", "format": "uri" }),
        FieldType::DateTime => json!({ "type": "string", "format": "date-time" }),
        FieldType::Date => json!({ "type": "string", "format": "date" }),
        FieldType::Enum { values } => json!({ "type": "string", "enum": values }),
        FieldType::Json => json!({ "type": "object" }),
        FieldType::List { item } => {
            json!({ "type": "array", "items": type_schema(item, response) })
        }
        FieldType::Composite { fields } => {
            let properties: Map<String, Value> = fields
                .iter()
                .filter(|f| response || f.writable)
                .map(|f| (f.name.clone(), field_schema(f, response)))
                .collect();
            json!({ "type": "object", "properties": properties })
        }
        FieldType::Relation {
            target,
            cardinality: Cardinality::ManyToOne { .. },
        } => json!({ "type": "object", "oneOf": [reference(target)] }),
        FieldType::Relation { target, .. } => {
            json!({ "type": "array", "items": reference(target) })
        }
    }
}

fn param_json(param: &Param) -> Value {
    let mut schema = match &param.kind {
        FieldType::Enum { .. } => json!({ "type": "string" }),
        other => type_schema(other, false),
    };
    if !param.allowed.is_empty() {
        schema["enum"] = Value::Array(param.allowed.clone());
    }
    if let Some(minimum) = param.minimum {
        schema["minimum"] = json!(minimum);
    }
    if let Some(maximum) = param.maximum {
        schema["maximum"] = json!(maximum);
    }
    if let Some(default) = &param.default {
        schema["default"] = default.clone();
    }
    let mut written = json!({
        "name": param.name,
        "in": match param.location { ParamLocation::Path => "path", ParamLocation::Query => "query" },
        "required": param.required,
        "schema": schema,
    });
    if let Some(description) = &param.description {
        written["description"] = json!(description);
    }
    written
}

fn operation_json(object: Option<&Object>, op: &Operation, inline: &[String]) -> Value {
    let parameters: Vec<Value> = op
        .params
        .iter()
        .map(|p| {
            let reference = param_ref(&p.name);
            if inline.contains(&reference) {
                param_json(p)
            } else {
                json!({ "$ref": format!("#/components/parameters/{reference}") })
            }
        })
        .collect();
    let tag = object.map_or("General", |o| o.plural.as_str());
    let mut written = json!({ "tags": [tag], "operationId": op.id });
    if let Some(summary) = &op.summary {
        written["summary"] = json!(summary);
    }
    if let Some(description) = &op.description {
        written["description"] = json!(description);
    }
    if !parameters.is_empty() {
        written["parameters"] = Value::Array(parameters);
    }
    if let (Some(body), Some(object)) = (&op.body, object) {
        written["requestBody"] = json!({
            "required": true,
            "content": { "application/json": { "schema": body_schema(body, object, op.kind) } },
        });
    } else if let Some(Body::Schema { schema }) = &op.body {
        written["requestBody"] = json!({
            "required": true,
            "content": { "application/json": { "schema": schema } },
        });
    }
    let (status, data) = match object {
        Some(object) => success(object, op.kind),
        None => ("200", json!({ "type": "object" })),
    };
    written["responses"] = json!({
        status: {
            "description": "Successful operation",
            "content": { "application/json": { "schema": data } },
        },
        "400": { "$ref": "#/components/responses/400" },
        "401": { "$ref": "#/components/responses/401" },
    });
    written
}

fn body_schema(body: &Body, object: &Object, kind: OperationKind) -> Value {
    let name = pascal(&object.singular);
    let record = match kind {
        OperationKind::UpdateOne | OperationKind::UpdateMany => format!("{name}ForUpdate"),
        _ => name,
    };
    let record = json!({ "$ref": format!("#/components/schemas/{record}") });
    match body {
        Body::Record => record,
        Body::RecordList => json!({ "type": "array", "items": record }),
        Body::Duplicates => json!({
            "type": "object",
            "properties": {
                "data": { "type": "array", "items": record },
                "ids": { "type": "array", "items": { "type": "string", "format": "uuid" } },
            },
        }),
        Body::Schema { schema } => schema.clone(),
    }
}

/// The success status and response schema of an operation, with the
/// envelope keys Twenty uses.
fn success(object: &Object, kind: OperationKind) -> (&'static str, Value) {
    let name = pascal(&object.singular);
    let record = json!({ "$ref": format!("#/components/schemas/{name}ForResponse") });
    let records = json!({ "type": "array", "items": record });
    let page_info = json!({
        "type": "object",
        "properties": {
            "hasNextPage": { "type": "boolean" },
            "hasPreviousPage": { "type": "boolean" },
            "startCursor": { "type": "string" },
            "endCursor": { "type": "string" },
        },
    });
    let data = |key: String, value: Value| {
        json!({
            "type": "object",
            "properties": { "data": { "type": "object", "properties": { key: value } } },
        })
    };
    let (s, p) = (&object.singular, pascal(&object.plural));
    match kind {
        OperationKind::FindMany => {
            let mut schema = data(object.plural.clone(), records);
            schema["properties"]["pageInfo"] = page_info;
            schema["properties"]["totalCount"] = json!({ "type": "integer" });
            ("200", schema)
        }
        OperationKind::FindOne => ("200", data(s.clone(), record)),
        OperationKind::CreateOne => ("201", data(format!("create{name}"), record)),
        OperationKind::CreateMany => ("201", data(format!("create{p}"), records)),
        OperationKind::UpdateOne => ("200", data(format!("update{name}"), record)),
        OperationKind::DeleteOne => (
            "200",
            data(
                format!("delete{name}"),
                json!({ "type": "object", "properties": { "id": { "type": "string", "format": "uuid" } } }),
            ),
        ),
        OperationKind::UpdateMany => ("200", data(format!("update{p}"), records)),
        OperationKind::DeleteMany => ("200", data(format!("delete{p}"), records)),
        OperationKind::RestoreOne => ("200", data(format!("restore{name}"), record)),
        OperationKind::RestoreMany => ("200", data(format!("restore{p}"), records)),
        OperationKind::Merge => ("200", data(format!("merge{p}"), record)),
        OperationKind::FindDuplicates => (
            "200",
            json!({
                "type": "object",
                "properties": { "data": { "type": "array", "items": {
                    "type": "object",
                    "properties": {
                        "totalCount": { "type": "number" },
                        "pageInfo": page_info,
                        format!("{s}Duplicates"): records,
                    },
                } } },
            }),
        ),
        OperationKind::GroupBy | OperationKind::Other => ("200", json!({ "type": "object" })),
    }
}

fn error_responses() -> Value {
    let body = json!({
        "type": "object",
        "properties": {
            "statusCode": { "type": "number" },
            "messages": { "type": "array", "items": { "type": "string" } },
            "error": { "type": "string" },
        },
    });
    json!({
        "400": { "description": "Bad Request", "content": { "application/json": { "schema": body } } },
        "401": { "description": "Unauthorized", "content": { "application/json": { "schema": body } } },
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_standard_model_survives_a_round_trip() {
        let catalog = crate::builtin::standard();
        let document = to_openapi(&catalog, "http://127.0.0.1:3000/rest/");
        let text = serde_json::to_string(&document).unwrap();
        assert_eq!(crate::load::from_str(&text).unwrap(), catalog);
    }

    #[test]
    fn envelopes_use_twenty_keys() {
        let catalog = crate::builtin::standard();
        let document = to_openapi(&catalog, "http://127.0.0.1:3000/rest/");
        let update = &document["paths"]["/workflowRuns/{id}"]["patch"];
        assert_eq!(update["operationId"], "UpdateOneWorkflowRun");
        let data = &update["responses"]["200"]["content"]["application/json"]["schema"]["properties"]
            ["data"];
        assert!(data["properties"]["updateWorkflowRun"].is_object());
        assert_eq!(document["servers"][0]["url"], "http://127.0.0.1:3000/rest/");
    }
}
