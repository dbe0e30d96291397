//! Every action of a real Twenty document, run through the built `twenty`
//! binary against a sandbox serving that document, and checked by value.
//!
//! The test is generated from the catalog: for each object it fills every
//! writable field with a value of its type (JSON, enums, composites,
//! relation ids pointing at real records, dates), creates records one at a
//! time and in a batch, reads them back at depth 1, lists them with a
//! filter, an order and a depth, updates them, looks for duplicates and
//! deletes them; on documents that offer them it also updates, deletes and
//! restores many. It prints how many of the document's actions it covered.

use std::collections::{BTreeMap, BTreeSet};
use std::path::PathBuf;
use std::process::{Command, Output};

use serde_json::{Value, json};
use twenty_core::names::kebab;
use twenty_core::{Catalog, CompositeKind, Field, FieldType, Object, OperationKind, load};
use twenty_sandbox::{Sandbox, SandboxConfig};

#[path = "../../../tests/shared_specs.rs"]
mod shared_specs;

use shared_specs::spec;

/// The binary, pointed at one sandbox with its own config and data dirs.
struct Twenty {
    url: String,
    key: String,
    schema: PathBuf,
    home: tempfile::TempDir,
}

impl Twenty {
    fn run(&self, args: &[&str]) -> Output {
        let home = self.home.path();
        Command::new(env!("CARGO_BIN_EXE_twenty"))
            .args(["--api-url", &self.url, "--schema"])
            .arg(&self.schema)
            .args(args)
            .env("TWENTY_API_KEY", &self.key)
            .env("TWENTY_CONFIG_DIR", home.join("config"))
            .env("TWENTY_DATA_DIR", home.join("data"))
            .env("HOME", home)
            .env_remove("TWENTY_API_URL")
            .output()
            .expect("the twenty binary runs")
    }

    /// Runs an update that has nothing to change, which must be refused
    /// before it is sent.
    fn refused_as_empty(&self, args: &[&str]) {
        let output = self.run(args);
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert_eq!(
            output.status.code(),
            Some(2),
            "twenty {}: {stderr}",
            args.join(" ")
        );
        assert!(
            stderr.starts_with("error: nothing to update:"),
            "twenty {}: {stderr}",
            args.join(" ")
        );
    }

    /// Runs a command that must succeed and print JSON.
    fn json(&self, args: &[&str]) -> Value {
        let output = self.run(args);
        let stdout = String::from_utf8_lossy(&output.stdout);
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert!(
            output.status.success(),
            "twenty {} failed ({:?}):\n{stderr}",
            args.join(" "),
            output.status.code()
        );
        serde_json::from_str(&stdout)
            .unwrap_or_else(|e| panic!("twenty {}: not JSON ({e}):\n{stdout}", args.join(" ")))
    }
}

/// A value of the field's type; `variant` picks a second value for updates.
fn sample(kind: &FieldType, name: &str, variant: usize, unique: &str) -> Option<Value> {
    Some(match kind {
        FieldType::Text => json!(format!("{name} {unique} v{variant}")),
        FieldType::Number => json!(12.5 + variant as f64),
        FieldType::Integer => json!(7 + variant as i64),
        FieldType::Boolean => json!(variant.is_multiple_of(2)),
        FieldType::Uuid => json!(format!("00000000-0000-4000-8000-00000000000{variant}")),
        FieldType::Email => json!(format!("{unique}.{variant}@example.com")),
        FieldType::Url => json!(format!("https://example.com/{unique}/{variant}")),
        FieldType::DateTime => json!(format!("2026-0{}-02T03:04:05.000Z", variant + 1)),
        FieldType::Date => json!(format!("2026-0{}-02", variant + 1)),
        FieldType::Enum { values } => json!(values[variant % values.len()]),
        FieldType::Json => json!({ "step": name, "rows": 120 + variant, "ok": true }),
        FieldType::List { item } => json!([sample(item, name, variant, unique)?]),
        FieldType::Composite { fields } => {
            let mut value = serde_json::Map::new();
            for sub in fields.iter().filter(|f| f.writable) {
                let sub_value = match (kind.composite_kind(), sub.name.as_str()) {
                    // Twenty keeps a rich text's block note as a JSON string.
                    (Some(CompositeKind::RichText), "blocknote") => continue,
                    (Some(CompositeKind::Emails), "primaryEmail") => {
                        json!(format!("{unique}.{variant}@example.com"))
                    }
                    (Some(CompositeKind::Currency), "amountMicros") => {
                        json!(1_500_000 * (variant as i64 + 1))
                    }
                    _ => sample(&sub.kind, &sub.name, variant, unique)?,
                };
                value.insert(sub.name.clone(), sub_value);
            }
            Value::Object(value)
        }
        FieldType::RelationId { .. } | FieldType::Relation { .. } => return None,
    })
}

/// Whether `got` holds everything `sent` holds: sub-objects compared key by
/// key, timestamps as instants, numbers by value.
fn assert_holds(sent: &Value, got: &Value, at: &str) {
    match (sent, got) {
        (Value::Object(sent), Value::Object(got)) => {
            for (key, value) in sent {
                let inner = got.get(key).unwrap_or(&Value::Null);
                assert_holds(value, inner, &format!("{at}.{key}"));
            }
        }
        (Value::Number(a), Value::Number(b)) => {
            assert_eq!(a.as_f64(), b.as_f64(), "{at}");
        }
        (Value::Number(a), Value::String(b)) => {
            // Servers have sent `amountMicros` as a numeric string.
            assert_eq!(a.as_f64(), b.parse::<f64>().ok(), "{at}");
        }
        (Value::String(a), Value::String(b)) if a != b => {
            let instant = |s: &str| chrono::DateTime::parse_from_rfc3339(s).ok();
            let date = |s: &str| s.get(..10).map(str::to_owned);
            match (instant(a), instant(b)) {
                (Some(x), Some(y)) => assert_eq!(x, y, "{at}"),
                _ if a.len() == 10 => assert_eq!(Some(a.clone()), date(b), "{at}"),
                _ => assert_eq!(a, b, "{at}"),
            }
        }
        _ => assert_eq!(sent, got, "{at}"),
    }
}

/// The body of a record with every writable field filled in; relation ids
/// point at the anchor records created first.
fn full_record(
    object: &Object,
    variant: usize,
    unique: &str,
    anchors: &BTreeMap<String, String>,
) -> serde_json::Map<String, Value> {
    let mut body = serde_json::Map::new();
    for field in object.writable_fields() {
        let value = match &field.kind {
            FieldType::RelationId { target, .. } => match anchors.get(target) {
                Some(id) => json!(id),
                None => continue,
            },
            kind => match sample(kind, &field.name, variant, unique) {
                Some(value) => value,
                None => continue,
            },
        };
        body.insert(field.name.clone(), value);
    }
    body
}

/// Command-line inputs for a body: a flag per field, `--field.sub-field`
/// for composites, JSON text for JSON and list values.
fn flags(object: &Object, body: &serde_json::Map<String, Value>) -> Vec<String> {
    let text = |value: &Value| match value {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    };
    let mut args = Vec::new();
    for (name, value) in body {
        let field: &Field = object.field(name).expect("a field of the object");
        match (&field.kind, value) {
            (FieldType::Composite { .. }, Value::Object(subs)) => {
                for (sub, sub_value) in subs {
                    args.push(format!("--{}.{}", kebab(name), kebab(sub)));
                    args.push(text(sub_value));
                }
            }
            _ => {
                args.push(format!("--{}", kebab(name)));
                args.push(text(value));
            }
        }
    }
    args
}

fn strs(args: &[String]) -> Vec<&str> {
    args.iter().map(String::as_str).collect()
}

/// Runs every action the sandbox supports for every object of `catalog`
/// and returns which (object, kind) pairs were checked.
fn run_all(twenty: &Twenty, catalog: &Catalog) -> BTreeSet<(String, OperationKind)> {
    let mut done = BTreeSet::new();
    let resource = |object: &Object| kebab(&object.plural);

    // One bare record of each object, for relation ids to point at.
    let mut anchors = BTreeMap::new();
    for object in &catalog.objects {
        let created = twenty.json(&[&resource(object), "create", "--data", "{}"]);
        let id = created["id"].as_str().expect("a created record has an id");
        anchors.insert(object.singular.clone(), id.to_owned());
    }

    for object in &catalog.objects {
        let res = resource(object);
        let has = |kind| object.operation(kind).is_some();
        let unique = format!("e2e-{}", object.singular.to_ascii_lowercase());

        // Create one, with every field given as its own flag.
        let first = full_record(object, 0, &format!("{unique}-a"), &anchors);
        let mut args = vec![res.clone(), "create".into()];
        args.extend(flags(object, &first));
        let created = twenty.json(&strs(&args));
        assert_holds(
            &Value::Object(first.clone()),
            &created,
            &format!("{res} create"),
        );
        let id = created["id"].as_str().expect("id").to_owned();
        done.insert((object.plural.clone(), OperationKind::CreateOne));

        // Create many, with a whole body.
        let batch = json!([
            full_record(object, 1, &format!("{unique}-b"), &anchors),
            full_record(object, 0, &format!("{unique}-c"), &anchors),
        ]);
        let created_many = twenty.json(&[&res, "create-many", "--data", &batch.to_string()]);
        let created_many = created_many.as_array().expect("create many returns a list");
        assert_eq!(created_many.len(), 2, "{res} create-many");
        for (sent, got) in batch.as_array().unwrap().iter().zip(created_many) {
            assert_holds(sent, got, &format!("{res} create-many"));
        }
        let batch_ids: Vec<String> = created_many
            .iter()
            .map(|r| r["id"].as_str().expect("id").to_owned())
            .collect();
        done.insert((object.plural.clone(), OperationKind::CreateMany));

        // Find one at depth 1: relations come nested.
        let got = twenty.json(&[&res, "get", &id, "--depth", "1"]);
        assert_holds(&Value::Object(first.clone()), &got, &format!("{res} get"));
        for field in &object.fields {
            if let FieldType::RelationId { relation, .. } = &field.kind
                && let Some(target_id) = first.get(&field.name)
            {
                assert_eq!(
                    &got[relation]["id"], target_id,
                    "{res} get: {relation} nested"
                );
            }
        }
        done.insert((object.plural.clone(), OperationKind::FindOne));

        // Find many with a filter, an order and a depth.
        let all_ids = [vec![id.clone()], batch_ids.clone()].concat();
        let filter = format!("id[in]:[{}]", all_ids.join(","));
        let listed = twenty.json(&[
            &res,
            "list",
            "--filter",
            &filter,
            "--order-by",
            "createdAt[DescNullsLast],id",
            "--depth",
            "0",
            "--limit",
            "10",
            "--format",
            "json",
        ]);
        let listed = listed.as_array().expect("list returns records");
        let listed_ids: BTreeSet<&str> = listed.iter().filter_map(|r| r["id"].as_str()).collect();
        assert_eq!(
            listed_ids,
            all_ids.iter().map(String::as_str).collect(),
            "{res} list"
        );
        let created_at: Vec<&str> = listed
            .iter()
            .filter_map(|r| r["createdAt"].as_str())
            .collect();
        assert!(
            created_at.windows(2).all(|w| w[0] >= w[1]),
            "{res} list order: {created_at:?}"
        );
        if let Some(relation) = object
            .fields
            .iter()
            .find(|f| matches!(f.kind, FieldType::Relation { .. }))
        {
            assert!(
                listed[0].get(&relation.name).is_none(),
                "{res} list: depth 0 has no relations"
            );
        }
        done.insert((object.plural.clone(), OperationKind::FindMany));

        // Update one: every field to another value. An object with no
        // field to set has nothing to update, which is refused unsent.
        let second = full_record(object, 1, &format!("{unique}-u"), &anchors);
        let mut args = vec![res.clone(), "update".into(), id.clone()];
        let values = flags(object, &second);
        if values.is_empty() {
            twenty.refused_as_empty(&strs(&args));
        } else {
            args.extend(values);
            let updated = twenty.json(&strs(&args));
            assert_holds(
                &Value::Object(second.clone()),
                &updated,
                &format!("{res} update"),
            );
            let reread = twenty.json(&[&res, "get", &id]);
            assert_holds(
                &Value::Object(second.clone()),
                &reread,
                &format!("{res} get after update"),
            );
        }
        done.insert((object.plural.clone(), OperationKind::UpdateOne));

        // Find duplicates of the first record by id.
        let duplicates = twenty.json(&[
            &res,
            "find-duplicates",
            "--data",
            &json!({ "ids": [id] }).to_string(),
        ]);
        let duplicates = duplicates.as_array().expect("one result per input");
        assert_eq!(duplicates.len(), 1, "{res} find-duplicates");
        let key = format!("{}Duplicates", object.singular);
        assert!(
            duplicates[0][&key].is_array(),
            "{res} find-duplicates: {key} in {duplicates:?}"
        );
        done.insert((object.plural.clone(), OperationKind::FindDuplicates));

        // The newer operations, where the document offers them.
        if has(OperationKind::UpdateMany) {
            let filter = format!("id[in]:[{}]", batch_ids.join(","));
            let patch = many_patch(object);
            let patch_text = patch.to_string();
            let args = [
                &res,
                "update-many",
                "--filter",
                &filter,
                "--data",
                &patch_text,
            ];
            if patch == json!({}) {
                twenty.refused_as_empty(&args);
            } else {
                let updated = twenty.json(&args);
                let updated = updated.as_array().expect("update many returns records");
                assert_eq!(updated.len(), 2, "{res} update-many");
                for record in updated {
                    assert_holds(&patch, record, &format!("{res} update-many"));
                }
            }
            done.insert((object.plural.clone(), OperationKind::UpdateMany));
        }
        if has(OperationKind::RestoreOne) {
            twenty.json(&[&res, "delete", &batch_ids[0], "--soft-delete"]);
            let missing = twenty.run(&[&res, "get", &batch_ids[0]]);
            assert_eq!(
                missing.status.code(),
                Some(6),
                "{res}: a soft-deleted record is hidden"
            );
            let restored = twenty.json(&[&res, "restore", &batch_ids[0]]);
            assert_eq!(restored["id"], json!(batch_ids[0]), "{res} restore");
            assert_eq!(restored["deletedAt"], Value::Null, "{res} restore");
            done.insert((object.plural.clone(), OperationKind::RestoreOne));
        }
        if has(OperationKind::RestoreMany) && has(OperationKind::DeleteMany) {
            let filter = format!("id[in]:[{}]", batch_ids.join(","));
            let deleted = twenty.json(&[&res, "delete-many", "--filter", &filter, "--soft-delete"]);
            assert_eq!(
                deleted.as_array().map(Vec::len),
                Some(2),
                "{res} delete-many"
            );
            let restored = twenty.json(&[&res, "restore-many", "--filter", &filter]);
            assert_eq!(
                restored.as_array().map(Vec::len),
                Some(2),
                "{res} restore-many"
            );
            done.insert((object.plural.clone(), OperationKind::RestoreMany));
        }
        if has(OperationKind::DeleteMany) {
            let filter = format!("id[in]:[{}]", batch_ids.join(","));
            let deleted = twenty.json(&[&res, "delete-many", "--filter", &filter]);
            assert_eq!(
                deleted.as_array().map(Vec::len),
                Some(2),
                "{res} delete-many"
            );
            done.insert((object.plural.clone(), OperationKind::DeleteMany));
        }

        // Delete one: gone afterwards.
        let deleted = twenty.json(&[&res, "delete", &id]);
        assert_eq!(deleted["id"], json!(id), "{res} delete");
        let missing = twenty.run(&[&res, "get", &id]);
        assert_eq!(
            missing.status.code(),
            Some(6),
            "{res}: a deleted record is not found"
        );
        done.insert((object.plural.clone(), OperationKind::DeleteOne));
    }
    done
}

/// A field that update many can set on several records at once: the
/// position where the object has one (the 2026 attachment has none), else
/// its first writable field of a plain type. An object with none (the 2026
/// message thread) gets an empty patch, which still touches every record.
fn many_patch(object: &Object) -> Value {
    if object.field("position").is_some_and(|f| f.writable) {
        return json!({ "position": 99 });
    }
    object
        .writable_fields()
        .filter(|f| {
            matches!(
                f.kind,
                FieldType::Text
                    | FieldType::Number
                    | FieldType::Integer
                    | FieldType::Boolean
                    | FieldType::Enum { .. }
                    | FieldType::DateTime
                    | FieldType::Json
            )
        })
        .find_map(|f| Some(json!({ f.name.as_str(): sample(&f.kind, &f.name, 2, "many")? })))
        .unwrap_or_else(|| json!({}))
}

fn run_document(file: &str) -> (usize, usize, Vec<String>) {
    let schema = spec(file);
    let catalog = load::from_path(&schema).expect("the document loads");
    let runtime = tokio::runtime::Runtime::new().expect("a runtime");
    let sandbox = runtime
        .block_on(Sandbox::start(
            SandboxConfig::new(catalog.clone()),
            "127.0.0.1:0".parse().unwrap(),
        ))
        .expect("the sandbox starts");
    let twenty = Twenty {
        url: sandbox.url(),
        key: sandbox.api_key().to_owned(),
        schema,
        home: tempfile::tempdir().expect("a temp dir"),
    };
    let done = run_all(&twenty, &catalog);
    runtime.block_on(sandbox.shutdown());

    let total = catalog.objects.iter().map(|o| o.operations.len()).sum();
    let left: Vec<String> = catalog
        .objects
        .iter()
        .flat_map(|o| o.operations.iter().map(move |op| (o, op)))
        .filter(|(o, op)| !done.contains(&(o.plural.clone(), op.kind)))
        .map(|(_, op)| op.id.clone())
        .collect();
    println!(
        "e2e {file}: {} of {total} actions run and checked",
        total - left.len()
    );
    (total - left.len(), total, left)
}

#[test]
fn every_action_of_v103_works_end_to_end() {
    let (checked, total, left) = run_document("twenty-v1.0.3-openapi.json");
    assert_eq!((checked, total), (252, 252), "not covered: {left:?}");
}

/// The 2026 document: every action the sandbox serves. Merge, group by and
/// dashboards' duplicate are not served by the sandbox (its module doc
/// lists them), and are the only ones left.
#[test]
fn every_supported_action_of_2026_works_end_to_end() {
    let (checked, total, left) = run_document("twenty-2026-openapi.yaml");
    assert_eq!(total, 378);
    let unserved = |id: &String| {
        id.starts_with("mergeMany") || id.starts_with("groupBy") || id == "duplicateDashboard"
    };
    assert!(
        left.iter().all(unserved),
        "not covered: {:?}",
        left.iter().filter(|id| !unserved(id)).collect::<Vec<_>>()
    );
    assert_eq!(checked, 29 * 11);
}
