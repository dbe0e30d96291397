//! The resolved shape of a Twenty workspace: objects, their fields and the
//! operations the API offers on them.
//!
//! Everything outside this crate works from these types, never from the raw
//! OpenAPI document, so that a catalog built from a live server's document,
//! from a file, or from the built-in standard model behaves the same.

use serde::{Deserialize, Serialize};

use crate::names;

/// Every object and operation of one workspace's REST API.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Catalog {
    /// The objects, in the order the document lists them.
    pub objects: Vec<Object>,
    /// Operations that belong to no object, such as the one that returns
    /// the OpenAPI document itself.
    pub general: Vec<Operation>,
}

/// One object of the data model, such as `person` or `workflowRun`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Object {
    /// Singular name as the API spells it (`workflowRun`, `person`).
    pub singular: String,
    /// Plural name as the API spells it (`workflowRuns`, `people`); it is
    /// the path segment of every operation on the object.
    pub plural: String,
    /// Human description from the document ("A workflow run").
    pub description: Option<String>,
    /// Every field a record of this object can carry, in document order.
    pub fields: Vec<Field>,
    /// Every operation the document offers on this object.
    pub operations: Vec<Operation>,
}

/// One field of an object.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Field {
    /// Name as the API spells it (`workflowVersionId`, `createdBy`).
    pub name: String,
    /// Human description from the document.
    pub description: Option<String>,
    /// What values the field holds.
    pub kind: FieldType,
    /// Whether a create or update body may set it. Server-set fields and
    /// relation objects are read-only.
    pub writable: bool,
}

/// The type of a field or of a composite field's sub-field.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "camelCase")]
pub enum FieldType {
    /// Free text.
    Text,
    /// A number that may have a fraction (`position`, `amountMicros`).
    Number,
    /// A whole number.
    Integer,
    /// `true` or `false`.
    Boolean,
    /// A UUID that is not a relation's id field.
    Uuid,
    /// An e-mail address (items of `emails.additionalEmails`).
    Email,
    /// A URL (`links.secondaryLinks[].url`).
    Url,
    /// An ISO 8601 timestamp.
    DateTime,
    /// A calendar date, `YYYY-MM-DD`.
    Date,
    /// One value out of a fixed list.
    Enum {
        /// The allowed values, in document order.
        values: Vec<String>,
    },
    /// Any JSON value, stored and returned as sent (`output`, `context`).
    Json,
    /// A list of values of one type (`scopes`, multi-select `statuses`).
    List {
        /// The type of each element.
        item: Box<FieldType>,
    },
    /// A structured value with named, typed sub-fields (`name`, `emails`,
    /// `createdBy`, `links.secondaryLinks` items).
    Composite {
        /// The sub-fields, in document order.
        fields: Vec<Field>,
    },
    /// The id field that backs a many-to-one relation (`companyId`).
    RelationId {
        /// Singular name of the object it points at.
        target: String,
        /// Name of the relation field it backs (`company`).
        relation: String,
    },
    /// A relation to other records, read-only and present in responses
    /// only from depth 1.
    Relation {
        /// Singular name of the related object.
        target: String,
        /// Which side of the relation this field is.
        cardinality: Cardinality,
    },
}

/// Which side of a relation a relation field is.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "side", rename_all = "camelCase")]
pub enum Cardinality {
    /// This record points at one record of the target through `id_field`.
    ManyToOne {
        /// The id field on this object (`companyId` for `company`).
        id_field: String,
    },
    /// Records of the target point at this one. `inverse` names the id
    /// field on the target that backs the relation (opportunity
    /// `pointOfContactId` for person `pointOfContactForOpportunities`).
    /// The documents do not state it, so it is inferred; it is `None` when
    /// the document gives no field that could back it.
    OneToMany {
        /// The target's id field, when one could be inferred.
        inverse: Option<String>,
    },
}

/// What an operation does, read from its method and path.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum OperationKind {
    /// `GET /{plural}`
    FindMany,
    /// `GET /{plural}/{id}`
    FindOne,
    /// `POST /{plural}`
    CreateOne,
    /// `POST /batch/{plural}`
    CreateMany,
    /// `PATCH /{plural}/{id}`
    UpdateOne,
    /// `DELETE /{plural}/{id}`
    DeleteOne,
    /// `POST /{plural}/duplicates`
    FindDuplicates,
    /// `PATCH /{plural}` with a filter
    UpdateMany,
    /// `DELETE /{plural}` with a filter
    DeleteMany,
    /// `PATCH /restore/{plural}/{id}`
    RestoreOne,
    /// `PATCH /restore/{plural}` with a filter
    RestoreMany,
    /// `PATCH /{plural}/merge`
    Merge,
    /// `GET /{plural}/groupBy`
    GroupBy,
    /// Anything else the document offers; kept so it can still be called.
    Other,
}

impl OperationKind {
    /// Every kind, in the order the CLI lists verbs.
    pub const ALL: [OperationKind; 14] = [
        Self::FindMany,
        Self::FindOne,
        Self::CreateOne,
        Self::CreateMany,
        Self::UpdateOne,
        Self::DeleteOne,
        Self::FindDuplicates,
        Self::UpdateMany,
        Self::DeleteMany,
        Self::RestoreOne,
        Self::RestoreMany,
        Self::Merge,
        Self::GroupBy,
        Self::Other,
    ];

    /// The command-line verb for this kind (`list`, `get`, `update`, ...),
    /// or `None` for [`OperationKind::Other`].
    pub fn verb(self) -> Option<&'static str> {
        Some(match self {
            Self::FindMany => "list",
            Self::FindOne => "get",
            Self::CreateOne => "create",
            Self::CreateMany => "create-many",
            Self::UpdateOne => "update",
            Self::DeleteOne => "delete",
            Self::FindDuplicates => "find-duplicates",
            Self::UpdateMany => "update-many",
            Self::DeleteMany => "delete-many",
            Self::RestoreOne => "restore",
            Self::RestoreMany => "restore-many",
            Self::Merge => "merge",
            Self::GroupBy => "group-by",
            Self::Other => return None,
        })
    }

    /// Whether repeating the request after a lost answer leaves the same
    /// state as sending it once.
    pub fn is_idempotent(self) -> bool {
        matches!(
            self,
            Self::FindMany
                | Self::FindOne
                | Self::UpdateOne
                | Self::DeleteOne
                | Self::FindDuplicates
                | Self::RestoreOne
                | Self::GroupBy
        )
    }
}

/// HTTP method of an operation.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "UPPERCASE")]
pub enum Method {
    /// `GET`
    Get,
    /// `POST`
    Post,
    /// `PUT`
    Put,
    /// `PATCH`
    Patch,
    /// `DELETE`
    Delete,
}

impl Method {
    /// The method as it goes on the wire.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Get => "GET",
            Self::Post => "POST",
            Self::Put => "PUT",
            Self::Patch => "PATCH",
            Self::Delete => "DELETE",
        }
    }
}

/// One operation of the API.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Operation {
    /// What the operation does.
    pub kind: OperationKind,
    /// The document's `operationId` (`UpdateOneWorkflowRun`).
    pub id: String,
    /// HTTP method.
    pub method: Method,
    /// Path relative to the REST root, which is `{host}/rest`: always
    /// without the `/rest` prefix, whatever the document wrote
    /// (`/workflowRuns/{id}`).
    pub path: String,
    /// One-line summary from the document.
    pub summary: Option<String>,
    /// Longer description from the document.
    pub description: Option<String>,
    /// Path and query parameters, in document order.
    pub params: Vec<Param>,
    /// What the request body holds, if the operation takes one.
    pub body: Option<Body>,
}

impl Operation {
    /// The parameter with this wire name (`depth`, `starting_after`).
    pub fn param(&self, name: &str) -> Option<&Param> {
        self.params.iter().find(|p| p.name == name)
    }

    /// Whether the path carries a record id.
    pub fn takes_id(&self) -> bool {
        self.path.contains("{id}")
    }
}

/// Where a parameter goes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum ParamLocation {
    /// In the path, as `{name}`.
    Path,
    /// In the query string.
    Query,
}

/// A path or query parameter with the constraints the document gives.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Param {
    /// Wire name (`starting_after`).
    pub name: String,
    /// Path or query.
    pub location: ParamLocation,
    /// Human description from the document.
    pub description: Option<String>,
    /// Whether the operation cannot be called without it.
    pub required: bool,
    /// Value type: text, integer, boolean, number or uuid.
    pub kind: FieldType,
    /// The only values allowed, when the document lists them (`depth`).
    pub allowed: Vec<serde_json::Value>,
    /// Smallest allowed value, for numbers.
    pub minimum: Option<f64>,
    /// Largest allowed value, for numbers (`limit`: 60 or 200).
    pub maximum: Option<f64>,
    /// What the document says the server uses when the parameter is absent.
    /// For `depth` this is known to be wrong: servers use 0.
    pub default: Option<serde_json::Value>,
}

/// The shape of an operation's request body.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "shape", rename_all = "camelCase")]
pub enum Body {
    /// One record's writable fields.
    Record,
    /// An array of records.
    RecordList,
    /// `{"data": [records]}` or `{"ids": [uuids]}`, for find duplicates.
    Duplicates,
    /// Any other schema, kept as the document wrote it.
    Schema {
        /// The JSON schema of the body.
        schema: serde_json::Value,
    },
}

impl Catalog {
    /// The object whose singular or plural name (in any of the spellings
    /// [`names::matches_object`] accepts) is `name`.
    pub fn object(&self, name: &str) -> Option<&Object> {
        self.objects
            .iter()
            .find(|o| o.plural == name || o.singular == name)
            .or_else(|| self.objects.iter().find(|o| names::matches_object(o, name)))
    }

    /// Every operation of every object, then the general ones.
    pub fn operations(&self) -> impl Iterator<Item = (Option<&Object>, &Operation)> {
        self.objects
            .iter()
            .flat_map(|o| o.operations.iter().map(move |op| (Some(o), op)))
            .chain(self.general.iter().map(|op| (None, op)))
    }

    /// The operation with this `operationId`, matched without regard to
    /// case.
    pub fn operation_by_id(&self, id: &str) -> Option<(Option<&Object>, &Operation)> {
        self.operations()
            .find(|(_, op)| op.id.eq_ignore_ascii_case(id))
    }

    /// The general operation that returns the OpenAPI document.
    pub fn schema_operation(&self) -> Option<&Operation> {
        self.general
            .iter()
            .find(|op| op.method == Method::Get && op.path == "/open-api/core")
    }

    /// The largest `limit` find many accepts, which is also the largest
    /// batch create many accepts. 60 when the document does not say.
    pub fn max_limit(&self) -> u32 {
        self.objects
            .iter()
            .flat_map(|o| &o.operations)
            .filter(|op| op.kind == OperationKind::FindMany)
            .find_map(|op| op.param("limit")?.maximum)
            .map_or(60, |m| m as u32)
    }

    /// The `depth` values the document allows, `[0, 1, 2]` when it does not
    /// say.
    pub fn depth_values(&self) -> Vec<u8> {
        self.objects
            .iter()
            .flat_map(|o| &o.operations)
            .find_map(|op| op.param("depth"))
            .map(|p| {
                p.allowed
                    .iter()
                    .filter_map(|v| v.as_u64().map(|d| d as u8))
                    .collect::<Vec<_>>()
            })
            .filter(|v| !v.is_empty())
            .unwrap_or_else(|| vec![0, 1, 2])
    }
}

impl Object {
    /// The field with this exact API name.
    pub fn field(&self, name: &str) -> Option<&Field> {
        self.fields.iter().find(|f| f.name == name)
    }

    /// The operation of this kind, if the document offers it.
    pub fn operation(&self, kind: OperationKind) -> Option<&Operation> {
        self.operations.iter().find(|op| op.kind == kind)
    }

    /// Fields a create or update body may set.
    pub fn writable_fields(&self) -> impl Iterator<Item = &Field> {
        self.fields.iter().filter(|f| f.writable)
    }

    /// The field names closest to `name`, best first, for "did you mean".
    pub fn suggest_field(&self, name: &str) -> Option<&str> {
        names::nearest(name, self.fields.iter().map(|f| f.name.as_str()))
    }
}

impl Field {
    /// The sub-field with this name, for composite fields.
    pub fn sub_field(&self, name: &str) -> Option<&Field> {
        self.kind.sub_fields().iter().find(|f| f.name == name)
    }

    /// Whether the server sets the field itself (`id`, `createdAt`,
    /// `updatedAt`, `deletedAt`).
    pub fn is_server_set(&self) -> bool {
        is_server_set(&self.name)
    }
}

/// Whether a field of this name is set by the server itself.
pub fn is_server_set(name: &str) -> bool {
    matches!(name, "id" | "createdAt" | "updatedAt" | "deletedAt")
}

impl FieldType {
    /// Sub-fields of a composite type; empty for every other type.
    pub fn sub_fields(&self) -> &[Field] {
        match self {
            Self::Composite { fields } => fields,
            _ => &[],
        }
    }

    /// The kind of composite, told apart by its sub-fields.
    pub fn composite_kind(&self) -> Option<CompositeKind> {
        let Self::Composite { fields } = self else {
            return None;
        };
        let has = |n: &str| fields.iter().any(|f| f.name == n);
        Some(if has("firstName") && has("lastName") {
            CompositeKind::FullName
        } else if has("primaryEmail") {
            CompositeKind::Emails
        } else if has("primaryLinkUrl") {
            CompositeKind::Links
        } else if has("primaryPhoneNumber") {
            CompositeKind::Phones
        } else if has("amountMicros") {
            CompositeKind::Currency
        } else if has("addressStreet1") || has("addressCity") {
            CompositeKind::Address
        } else if has("source") {
            CompositeKind::Actor
        } else if has("blocknote") || has("markdown") {
            CompositeKind::RichText
        } else {
            CompositeKind::Other
        })
    }

    /// A short name for help text and `schema show` (`text`, `enum`,
    /// `composite`, `uuid -> company`).
    pub fn label(&self) -> String {
        match self {
            Self::Text => "text".into(),
            Self::Number => "number".into(),
            Self::Integer => "integer".into(),
            Self::Boolean => "boolean".into(),
            Self::Uuid => "uuid".into(),
            Self::Email => "email".into(),
            Self::Url => "url".into(),
            Self::DateTime => "date-time".into(),
            Self::Date => "date".into(),
            Self::Enum { .. } => "enum".into(),
            Self::Json => "json".into(),
            Self::List { item } => format!("list of {}", item.label()),
            Self::Composite { .. } => "composite".into(),
            Self::RelationId { target, .. } => format!("uuid of {target}"),
            Self::Relation {
                target,
                cardinality: Cardinality::ManyToOne { .. },
            } => format!("relation to one {target}"),
            Self::Relation { target, .. } => format!("relation to many {target}"),
        }
    }
}

/// The composite types of Twenty, which the sandbox gives default values
/// and the CLI flattens into `field.subField` inputs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CompositeKind {
    /// `firstName`, `lastName`
    FullName,
    /// `primaryEmail`, `additionalEmails`
    Emails,
    /// `primaryLinkUrl`, `primaryLinkLabel`, `secondaryLinks`
    Links,
    /// `primaryPhoneNumber`, calling and country codes, `additionalPhones`
    Phones,
    /// `amountMicros`, `currencyCode`
    Currency,
    /// `addressStreet1` .. `addressLng`
    Address,
    /// `source`, `workspaceMemberId`, `name` (`createdBy`)
    Actor,
    /// `blocknote`, `markdown` (`bodyV2`)
    RichText,
    /// Any other structure, such as a file list item.
    Other,
}
