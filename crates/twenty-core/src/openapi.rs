//! Plain serde types that mirror the parts of an OpenAPI 3.1 document that
//! Twenty's generator writes. Only [`crate::load`] and [`crate::export`] look
//! at these; the rest of the project works from the resolved catalog.

use indexmap::IndexMap;
use serde::{Deserialize, Serialize};
use serde_json::Value;

/// A whole document as served at `GET /rest/open-api/core`.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct Document {
    /// The OpenAPI version, `3.1.0` for Twenty.
    #[serde(default)]
    pub openapi: String,
    /// Title, description, version.
    #[serde(default)]
    pub info: Value,
    /// Server URLs; the 2026 document ends its URL with `/rest/`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub servers: Vec<Server>,
    /// Reusable schemas and parameters.
    #[serde(default)]
    pub components: Components,
    /// Every path with its operations, in document order.
    #[serde(default)]
    pub paths: IndexMap<String, PathItem>,
    /// Everything else (security, tags, webhooks), kept but not read.
    #[serde(flatten)]
    pub rest: IndexMap<String, Value>,
}

/// One server entry.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Server {
    /// The base URL.
    pub url: String,
    /// Free text.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
}

/// `components` of a document.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct Components {
    /// Named schemas: `Person`, `PersonForUpdate`, `PersonForResponse`.
    #[serde(default)]
    pub schemas: IndexMap<String, Schema>,
    /// Named parameters: `idPath`, `depth`, `limit`, ...
    #[serde(default)]
    pub parameters: IndexMap<String, Parameter>,
    /// Everything else (responses, security schemes).
    #[serde(flatten)]
    pub rest: IndexMap<String, Value>,
}

/// The operations of one path, by method.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct PathItem {
    /// `GET`
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub get: Option<OperationObject>,
    /// `POST`
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub post: Option<OperationObject>,
    /// `PUT`
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub put: Option<OperationObject>,
    /// `PATCH`
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub patch: Option<OperationObject>,
    /// `DELETE`
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub delete: Option<OperationObject>,
}

/// One operation as written in the document.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct OperationObject {
    /// Tags; Twenty puts the object's plural name here.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub tags: Vec<String>,
    /// One-line summary.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub summary: Option<String>,
    /// Longer description.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// `operationId`.
    #[serde(default)]
    pub operation_id: String,
    /// Parameters, inline or by reference.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub parameters: Vec<Parameter>,
    /// The request body.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub request_body: Option<RequestBody>,
    /// Responses by status code.
    #[serde(default)]
    pub responses: IndexMap<String, Value>,
}

/// A request body.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct RequestBody {
    /// Free text.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// Whether it must be sent.
    #[serde(default)]
    pub required: bool,
    /// By media type; Twenty only uses `application/json`.
    #[serde(default)]
    pub content: IndexMap<String, MediaType>,
}

/// The schema of one media type.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct MediaType {
    /// The body's schema.
    #[serde(default)]
    pub schema: Value,
}

/// A parameter, or a `$ref` to one in `components.parameters`.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct Parameter {
    /// `#/components/parameters/<name>` when this is a reference.
    #[serde(rename = "$ref", default, skip_serializing_if = "Option::is_none")]
    pub reference: Option<String>,
    /// Wire name.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub name: String,
    /// `path` or `query`.
    #[serde(rename = "in", default, skip_serializing_if = "String::is_empty")]
    pub location: String,
    /// Free text.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// Whether it must be given.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub required: bool,
    /// The value's schema.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub schema: Option<Schema>,
    /// Everything else (examples).
    #[serde(flatten)]
    pub rest: IndexMap<String, Value>,
}

/// A JSON schema, as far as Twenty's documents use it.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Schema {
    /// `#/components/schemas/<name>` when this is a reference.
    #[serde(rename = "$ref", default, skip_serializing_if = "Option::is_none")]
    pub reference: Option<String>,
    /// `string`, `number`, `integer`, `boolean`, `object`, `array`.
    #[serde(rename = "type", default, skip_serializing_if = "Option::is_none")]
    pub kind: Option<String>,
    /// `uuid`, `date-time`, `date`, `email`, `uri`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub format: Option<String>,
    /// Free text.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// Allowed values.
    #[serde(rename = "enum", default, skip_serializing_if = "Option::is_none")]
    pub allowed: Option<Vec<Value>>,
    /// Object properties, in document order.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub properties: Option<IndexMap<String, Schema>>,
    /// Array items.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub items: Option<Box<Schema>>,
    /// Alternatives; Twenty wraps a many-to-one relation in a one-element
    /// `oneOf`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub one_of: Option<Vec<Schema>>,
    /// Default value.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub default: Option<Value>,
    /// Smallest number.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub minimum: Option<f64>,
    /// Largest number.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub maximum: Option<f64>,
    /// Everything else (example, required, additionalProperties).
    #[serde(flatten)]
    pub rest: IndexMap<String, Value>,
}

impl Schema {
    /// The name a `$ref` points at (`PersonForResponse`).
    pub fn ref_name(&self) -> Option<&str> {
        self.reference.as_deref()?.rsplit('/').next()
    }
}
