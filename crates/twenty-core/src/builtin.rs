//! Twenty's standard data model, compiled into the crate, so that every
//! command works with no server and no document at hand.
//!
//! The model is kept in `standard_model.txt`, a compact text form of a
//! catalog: shared query parameters, composite types, then one block per
//! object with one line per field. The seven operations of each object are
//! not written out, because Twenty generates them from the object's names
//! by fixed rules; [`render`] refuses a catalog whose operations do not
//! follow those rules, and a test proves that the built-in model is the
//! catalog of Twenty v1.0.3's own document.
//!
//! The form, line by line:
//!
//! ```text
//! param <ref> <name> <path|query> <type> <required|optional> [key=json ...] "<description>"
//! composite <name>
//!   <sub-field> <type> <w|r> ["<description>"]
//! object <singular> <plural> ["<description>"]
//!   <field> <type> <w|r> ["<description>"]
//! ```
//!
//! Types: `text number integer boolean uuid email url date-time date json`,
//! `enum(A|B)`, `list(<type>)`, `{<composite>}`, `id(<target>.<relation>)`,
//! `one(<target>.<id field>)`, `many(<target>.<inverse id field>)` and
//! `many(<target>)` when no inverse is known. `w` marks a writable field.

use std::collections::BTreeMap;
use std::fmt::Write as _;

use indexmap::IndexMap;
use serde_json::Value;

use crate::catalog::{
    Body, Cardinality, Catalog, Field, FieldType, Method, Object, Operation, OperationKind, Param,
    ParamLocation,
};
use crate::names::pascal;

const STANDARD_MODEL: &str = include_str!("standard_model.txt");

/// The catalog of Twenty's standard objects (the 36 objects of v1.0.3 with
/// every field, enum and relation, and their seven operations each).
pub fn standard() -> Catalog {
    // The text is part of the crate and covered by tests, so a failure here
    // is a build defect, not an input error.
    parse(STANDARD_MODEL).expect("the built-in standard model parses")
}

/// Why a catalog or a text could not be turned into the compact form.
#[derive(Debug, thiserror::Error)]
pub enum CompactError {
    /// A line of the text could not be read.
    #[error("line {line}: {message}")]
    Syntax {
        /// 1-based line number.
        line: usize,
        /// What is wrong.
        message: String,
    },
    /// The catalog has something the compact form cannot express.
    #[error("cannot write `{what}` in the compact form: {why}")]
    Unsupported {
        /// The object or operation.
        what: String,
        /// The reason.
        why: String,
    },
}

/// The operations Twenty generates for every object, in the order the
/// loader lists them (by path, then GET, POST, PUT, PATCH, DELETE).
struct Template {
    kind: OperationKind,
    method: Method,
    params: &'static [&'static str],
}

const TEMPLATES: [Template; 7] = [
    Template {
        kind: OperationKind::FindMany,
        method: Method::Get,
        params: &[
            "orderBy",
            "filter",
            "limit",
            "depth",
            "startingAfter",
            "endingBefore",
        ],
    },
    Template {
        kind: OperationKind::CreateOne,
        method: Method::Post,
        params: &["depth"],
    },
    Template {
        kind: OperationKind::CreateMany,
        method: Method::Post,
        params: &["depth"],
    },
    Template {
        kind: OperationKind::FindOne,
        method: Method::Get,
        params: &["idPath", "depth"],
    },
    Template {
        kind: OperationKind::UpdateOne,
        method: Method::Patch,
        params: &["idPath", "depth"],
    },
    Template {
        kind: OperationKind::DeleteOne,
        method: Method::Delete,
        params: &["idPath"],
    },
    Template {
        kind: OperationKind::FindDuplicates,
        method: Method::Post,
        params: &["depth"],
    },
];

fn templated(template: &Template, object: &Object, params: &BTreeMap<String, Param>) -> Operation {
    let (s, p) = (&object.singular, &object.plural);
    let (ps, pp) = (pascal(s), pascal(p));
    let depth_only = format!("**depth** can be provided to request your **{s}**");
    let (path, id, summary, description, body) = match template.kind {
        OperationKind::FindMany => (
            format!("/{p}"),
            format!("findMany{pp}"),
            format!("Find Many {p}"),
            Some(format!(
                "**order_by**, **filter**, **limit**, **depth**, **starting_after** or \
                 **ending_before** can be provided to request your **{p}**"
            )),
            None,
        ),
        OperationKind::CreateOne => (
            format!("/{p}"),
            format!("createOne{ps}"),
            format!("Create One {s}"),
            None,
            Some(Body::Record),
        ),
        OperationKind::CreateMany => (
            format!("/batch/{p}"),
            format!("createMany{pp}"),
            format!("Create Many {p}"),
            None,
            Some(Body::RecordList),
        ),
        OperationKind::FindOne => (
            format!("/{p}/{{id}}"),
            format!("findOne{ps}"),
            format!("Find One {s}"),
            Some(depth_only),
            None,
        ),
        OperationKind::DeleteOne => (
            format!("/{p}/{{id}}"),
            format!("deleteOne{ps}"),
            format!("Delete One {s}"),
            None,
            None,
        ),
        OperationKind::UpdateOne => (
            format!("/{p}/{{id}}"),
            // Twenty spells this one operation id with a capital letter.
            format!("UpdateOne{ps}"),
            format!("Update One {s}"),
            None,
            Some(Body::Record),
        ),
        _ => (
            format!("/{p}/duplicates"),
            format!("find{ps}Duplicates"),
            format!("Find {s} Duplicates"),
            Some(depth_only),
            Some(Body::Duplicates),
        ),
    };
    Operation {
        kind: template.kind,
        id,
        method: template.method,
        path,
        summary: Some(summary),
        description,
        params: template
            .params
            .iter()
            .filter_map(|name| params.get(*name).cloned())
            .collect(),
        body,
    }
}

fn schema_operation() -> Operation {
    Operation {
        kind: OperationKind::Other,
        id: "GetOpenApiSchema".into(),
        method: Method::Get,
        path: "/open-api/core".into(),
        summary: Some("Get Open Api Schema".into()),
        description: None,
        params: Vec::new(),
        body: None,
    }
}

/// Reads the compact form.
///
/// # Errors
/// [`CompactError::Syntax`] with the line that could not be read.
pub fn parse(text: &str) -> Result<Catalog, CompactError> {
    let mut params = BTreeMap::new();
    let mut composites: BTreeMap<String, Vec<Field>> = BTreeMap::new();
    let mut objects: Vec<Object> = Vec::new();
    // Which block indented lines belong to.
    enum Block {
        None,
        Composite(String),
        Object,
    }
    let mut block = Block::None;

    for (index, line) in text.lines().enumerate() {
        let at = |message: String| CompactError::Syntax {
            line: index + 1,
            message,
        };
        if line.trim().is_empty() || line.starts_with('#') {
            continue;
        }
        let (head, description) = split_description(line).map_err(at)?;
        let words: Vec<&str> = head.split_whitespace().collect();
        if line.starts_with("  ") {
            let field = parse_field(&words, description, &composites).map_err(at)?;
            match &block {
                Block::Composite(name) => composites.entry(name.clone()).or_default().push(field),
                Block::Object => match objects.last_mut() {
                    Some(object) => object.fields.push(field),
                    None => return Err(at("a field outside an object".into())),
                },
                Block::None => return Err(at("a field outside an object".into())),
            }
            continue;
        }
        match words.as_slice() {
            ["param", reference, rest @ ..] => {
                params.insert(
                    (*reference).to_owned(),
                    parse_param(rest, description).map_err(at)?,
                );
                block = Block::None;
            }
            ["composite", name] => {
                composites.insert((*name).to_owned(), Vec::new());
                block = Block::Composite((*name).to_owned());
            }
            ["object", singular, plural] => {
                objects.push(Object {
                    singular: (*singular).to_owned(),
                    plural: (*plural).to_owned(),
                    description,
                    fields: Vec::new(),
                    operations: Vec::new(),
                });
                block = Block::Object;
            }
            _ => return Err(at(format!("cannot read `{line}`"))),
        }
    }

    for object in &mut objects {
        object.operations = TEMPLATES
            .iter()
            .map(|t| templated(t, object, &params))
            .collect();
    }
    Ok(Catalog {
        objects,
        general: vec![schema_operation()],
    })
}

/// Splits `head "description"` into the head and the decoded description.
fn split_description(line: &str) -> Result<(&str, Option<String>), String> {
    match line.find(" \"") {
        Some(at) => {
            let description: String = serde_json::from_str(&line[at + 1..])
                .map_err(|e| format!("bad description: {e}"))?;
            Ok((&line[..at], Some(description)))
        }
        None => Ok((line, None)),
    }
}

fn parse_field(
    words: &[&str],
    description: Option<String>,
    composites: &BTreeMap<String, Vec<Field>>,
) -> Result<Field, String> {
    let [name, kind, access] = words else {
        return Err(format!(
            "expected `name type w|r`, found `{}`",
            words.join(" ")
        ));
    };
    Ok(Field {
        name: (*name).to_owned(),
        description,
        kind: parse_type(kind, composites)?,
        writable: match *access {
            "w" => true,
            "r" => false,
            other => return Err(format!("expected `w` or `r`, found `{other}`")),
        },
    })
}

fn parse_type(text: &str, composites: &BTreeMap<String, Vec<Field>>) -> Result<FieldType, String> {
    let inner = |prefix: &str| text.strip_prefix(prefix).and_then(|t| t.strip_suffix(')'));
    let pair = |inside: &str| -> (String, String) {
        let (a, b) = inside.split_once('.').unwrap_or((inside, ""));
        (a.to_owned(), b.to_owned())
    };
    Ok(match text {
        "text" => FieldType::Text,
        "number" => FieldType::Number,
        "integer" => FieldType::Integer,
        "boolean" => FieldType::Boolean,
        "uuid" => FieldType::Uuid,
        "email" => FieldType::Email,
        "url" => FieldType::Url,
        "date-time" => FieldType::DateTime,
        "date" => FieldType::Date,
        "json" => FieldType::Json,
        _ => {
            if let Some(values) = inner("enum(") {
                FieldType::Enum {
                    values: values.split('|').map(str::to_owned).collect(),
                }
            } else if let Some(item) = inner("list(") {
                FieldType::List {
                    item: Box::new(parse_type(item, composites)?),
                }
            } else if let Some(name) = text.strip_prefix('{').and_then(|t| t.strip_suffix('}')) {
                FieldType::Composite {
                    fields: composites
                        .get(name)
                        .cloned()
                        .ok_or_else(|| format!("unknown composite `{name}`"))?,
                }
            } else if let Some(inside) = inner("id(") {
                let (target, relation) = pair(inside);
                FieldType::RelationId { target, relation }
            } else if let Some(inside) = inner("one(") {
                let (target, id_field) = pair(inside);
                FieldType::Relation {
                    target,
                    cardinality: Cardinality::ManyToOne { id_field },
                }
            } else if let Some(inside) = inner("many(") {
                let (target, inverse) = pair(inside);
                FieldType::Relation {
                    target,
                    cardinality: Cardinality::OneToMany {
                        inverse: (!inverse.is_empty()).then_some(inverse),
                    },
                }
            } else {
                return Err(format!("unknown type `{text}`"));
            }
        }
    })
}

fn parse_param(words: &[&str], description: Option<String>) -> Result<Param, String> {
    let [name, location, kind, required, options @ ..] = words else {
        return Err("expected `param ref name location type required|optional`".into());
    };
    let mut param = Param {
        name: (*name).to_owned(),
        location: match *location {
            "path" => ParamLocation::Path,
            "query" => ParamLocation::Query,
            other => return Err(format!("unknown location `{other}`")),
        },
        description,
        required: *required == "required",
        kind: parse_type(kind, &BTreeMap::new())?,
        allowed: Vec::new(),
        minimum: None,
        maximum: None,
        default: None,
    };
    for option in options {
        let (key, value) = option
            .split_once('=')
            .ok_or_else(|| format!("expected key=value, found `{option}`"))?;
        let value: Value =
            serde_json::from_str(value).map_err(|e| format!("bad value for {key}: {e}"))?;
        match key {
            "allowed" => param.allowed = value.as_array().cloned().unwrap_or_default(),
            "min" => param.minimum = value.as_f64(),
            "max" => param.maximum = value.as_f64(),
            "default" => param.default = Some(value),
            other => return Err(format!("unknown option `{other}`")),
        }
    }
    Ok(param)
}

/// Writes a catalog in the compact form. The catalog's operations must be
/// the ones Twenty generates for the standard model, which is what lets the
/// form leave them out.
///
/// # Errors
/// [`CompactError::Unsupported`] when an object's operations differ from
/// the standard ones.
pub fn render(catalog: &Catalog) -> Result<String, CompactError> {
    let mut params: BTreeMap<String, Param> = BTreeMap::new();
    for op in catalog.objects.iter().flat_map(|o| &o.operations) {
        for param in &op.params {
            params
                .entry(param_ref(&param.name))
                .or_insert_with(|| param.clone());
        }
    }
    let mut composites = Composites::default();
    let mut objects = String::new();
    for object in &catalog.objects {
        let expected: Vec<_> = TEMPLATES
            .iter()
            .map(|t| templated(t, object, &params))
            .collect();
        if object.operations != expected {
            return Err(CompactError::Unsupported {
                what: object.plural.clone(),
                why: "its operations are not the seven standard ones".into(),
            });
        }
        writeln!(
            objects,
            "\nobject {} {}{}",
            object.singular,
            object.plural,
            quoted(&object.description)
        )
        .ok();
        for field in &object.fields {
            writeln!(objects, "  {}", field_line(field, &mut composites)).ok();
        }
    }
    if catalog.general != [schema_operation()] {
        return Err(CompactError::Unsupported {
            what: "general operations".into(),
            why: "only the schema operation is generated".into(),
        });
    }

    let mut out = String::from(
        "# Twenty's standard data model, in twenty-core's compact form.\n\
         # Written by `cargo run -p twenty-core --example write_standard_model`;\n\
         # the format is described in src/builtin.rs.\n\n",
    );
    for (reference, p) in &params {
        let location = match p.location {
            ParamLocation::Path => "path",
            ParamLocation::Query => "query",
        };
        let required = if p.required { "required" } else { "optional" };
        write!(
            out,
            "param {reference} {} {location} {} {required}",
            p.name,
            type_name(&p.kind, &mut composites)
        )
        .ok();
        if !p.allowed.is_empty() {
            write!(out, " allowed={}", Value::Array(p.allowed.clone())).ok();
        }
        if let Some(min) = p.minimum {
            write!(out, " min={}", number(min)).ok();
        }
        if let Some(max) = p.maximum {
            write!(out, " max={}", number(max)).ok();
        }
        if let Some(default) = &p.default {
            write!(out, " default={default}").ok();
        }
        writeln!(out, "{}", quoted(&p.description)).ok();
    }
    for (name, fields) in composites.defined.clone() {
        writeln!(out, "\ncomposite {name}").ok();
        for field in &fields {
            writeln!(out, "  {}", field_line(field, &mut composites)).ok();
        }
    }
    out.push_str(&objects);
    Ok(out)
}

/// The name Twenty gives a parameter in `components.parameters`.
pub(crate) fn param_ref(name: &str) -> String {
    if name == "id" {
        "idPath".into()
    } else {
        crate::names::camel(name)
    }
}

fn number(value: f64) -> Value {
    if value.fract() == 0.0 {
        Value::from(value as i64)
    } else {
        Value::from(value)
    }
}

fn quoted(description: &Option<String>) -> String {
    match description {
        Some(text) => format!(" {}", Value::String(text.clone())),
        None => String::new(),
    }
}

/// Composite types met while rendering, each given a name by its kind.
#[derive(Default)]
struct Composites {
    /// In order of definition: a composite nested in another (the items of
    /// `links.secondaryLinks`) comes before it, so the text reads top down.
    defined: IndexMap<String, Vec<Field>>,
}

impl Composites {
    fn name_of(&mut self, kind: &FieldType) -> String {
        let fields = kind.sub_fields();
        if let Some((name, _)) = self.defined.iter().find(|(_, f)| *f == fields) {
            return name.clone();
        }
        let base = format!(
            "{:?}",
            kind.composite_kind().unwrap_or(crate::CompositeKind::Other)
        )
        .to_ascii_lowercase();
        let mut name = base.clone();
        let mut n = 1;
        while self.defined.contains_key(&name) {
            n += 1;
            name = format!("{base}{n}");
        }
        for field in fields {
            type_name(&field.kind, self);
        }
        self.defined.insert(name.clone(), fields.to_vec());
        name
    }
}

fn field_line(field: &Field, composites: &mut Composites) -> String {
    format!(
        "{} {} {}{}",
        field.name,
        type_name(&field.kind, composites),
        if field.writable { "w" } else { "r" },
        quoted(&field.description)
    )
}

fn type_name(kind: &FieldType, composites: &mut Composites) -> String {
    match kind {
        FieldType::Enum { values } => format!("enum({})", values.join("|")),
        FieldType::List { item } => format!("list({})", type_name(item, composites)),
        FieldType::Composite { .. } => format!("{{{}}}", composites.name_of(kind)),
        FieldType::RelationId { target, relation } => format!("id({target}.{relation})"),
        FieldType::Relation {
            target,
            cardinality: Cardinality::ManyToOne { id_field },
        } => format!("one({target}.{id_field})"),
        FieldType::Relation {
            target,
            cardinality: Cardinality::OneToMany { inverse },
        } => match inverse {
            Some(inverse) => format!("many({target}.{inverse})"),
            None => format!("many({target})"),
        },
        other => other.label(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_standard_model_renders_back_to_its_text() {
        let catalog = standard();
        assert_eq!(catalog.objects.len(), 36);
        assert_eq!(render(&catalog).unwrap(), STANDARD_MODEL);
    }

    #[test]
    fn syntax_errors_name_the_line() {
        let error = parse("object person people\n  name nonsense w\n").unwrap_err();
        assert_eq!(error.to_string(), "line 2: unknown type `nonsense`");
    }
}
