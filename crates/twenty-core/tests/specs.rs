//! The three real documents of `../shared/specs` load into the catalogs
//! their servers describe.

use twenty_core::{Cardinality, Catalog, CompositeKind, FieldType, OperationKind, load};

#[path = "../../../tests/shared_specs.rs"]
mod shared_specs;

use shared_specs::spec;

fn v103() -> Catalog {
    load::from_path(&spec("twenty-v1.0.3-openapi.json")).expect("v1.0.3 loads")
}
fn v140() -> Catalog {
    load::from_path(&spec("twenty-v1.4.0-openapi.json")).expect("v1.4.0 loads")
}
fn v2026() -> Catalog {
    load::from_path(&spec("twenty-2026-openapi.yaml")).expect("2026 loads")
}

fn object_operations(catalog: &Catalog) -> usize {
    catalog.objects.iter().map(|o| o.operations.len()).sum()
}

fn enum_values(catalog: &Catalog, object: &str, field: &str) -> Vec<String> {
    let field = catalog.object(object).unwrap().field(field).unwrap();
    match &field.kind {
        FieldType::Enum { values } => values.clone(),
        other => panic!("{field:?} is {other:?}"),
    }
}

#[test]
fn counts_match_each_server() {
    for (catalog, objects, operations) in [(v103(), 36, 252), (v140(), 36, 252), (v2026(), 29, 378)]
    {
        assert_eq!(catalog.objects.len(), objects);
        assert_eq!(object_operations(&catalog), operations);
        assert!(
            catalog.schema_operation().is_some(),
            "the schema operation is kept"
        );
    }
}

#[test]
fn every_operation_is_classified() {
    for catalog in [v103(), v140()] {
        for object in &catalog.objects {
            let kinds: Vec<_> = object.operations.iter().map(|op| op.kind).collect();
            assert_eq!(kinds.len(), 7, "{}", object.plural);
            for kind in &OperationKind::ALL[..7] {
                assert!(kinds.contains(kind), "{} lacks {kind:?}", object.plural);
            }
        }
    }
    let catalog = v2026();
    for object in &catalog.objects {
        for kind in &OperationKind::ALL[..13] {
            assert!(
                object.operation(*kind).is_some(),
                "{} lacks {kind:?}",
                object.plural
            );
        }
    }
    let other: Vec<_> = catalog
        .objects
        .iter()
        .flat_map(|o| &o.operations)
        .filter(|op| op.kind == OperationKind::Other)
        .map(|op| op.id.as_str())
        .collect();
    assert_eq!(other, ["duplicateDashboard"]);
}

#[test]
fn paths_are_relative_to_the_rest_root() {
    for catalog in [v103(), v2026()] {
        let run = catalog.object("workflowRuns").unwrap();
        let update = run.operation(OperationKind::UpdateOne).unwrap();
        assert_eq!(update.path, "/workflowRuns/{id}");
        assert_eq!(update.id, "UpdateOneWorkflowRun");
        assert_eq!(update.method.as_str(), "PATCH");
        assert_eq!(
            run.operation(OperationKind::CreateMany).unwrap().path,
            "/batch/workflowRuns"
        );
        assert_eq!(catalog.schema_operation().unwrap().path, "/open-api/core");
    }
    let restore = v2026()
        .object("workflow-runs")
        .unwrap()
        .operation(OperationKind::RestoreOne)
        .unwrap()
        .path
        .clone();
    assert_eq!(restore, "/restore/workflowRuns/{id}");
}

#[test]
fn names_as_the_api_spells_them() {
    let catalog = v103();
    let person = catalog.object("people").unwrap();
    assert_eq!(
        (person.singular.as_str(), person.plural.as_str()),
        ("person", "people")
    );
    assert_eq!(person.description.as_deref(), Some("A person"));
    let run = catalog.object("workflow-run").unwrap();
    assert_eq!(
        (run.singular.as_str(), run.plural.as_str()),
        ("workflowRun", "workflowRuns")
    );
    assert!(
        catalog
            .object("messageChannelMessageAssociations")
            .is_some()
    );
    assert!(catalog.object("api-keys").is_some());
    assert!(
        v2026().object("api-keys").is_none(),
        "2026 has no api keys object"
    );
}

#[test]
fn workflow_run_status_follows_the_document() {
    assert_eq!(
        enum_values(&v103(), "workflowRun", "status"),
        ["NOT_STARTED", "RUNNING", "COMPLETED", "FAILED"]
    );
    assert_eq!(
        enum_values(&v2026(), "workflowRun", "status"),
        [
            "NOT_STARTED",
            "RUNNING",
            "COMPLETED",
            "FAILED",
            "ENQUEUED",
            "STOPPING",
            "STOPPED"
        ]
    );
}

#[test]
fn real_fields_have_their_types() {
    let catalog = v103();
    let run = catalog.object("workflowRun").unwrap();
    assert_eq!(run.field("output").unwrap().kind, FieldType::Json);
    assert_eq!(run.field("context").unwrap().kind, FieldType::Json);
    assert_eq!(run.field("endedAt").unwrap().kind, FieldType::DateTime);
    assert_eq!(run.field("position").unwrap().kind, FieldType::Number);
    let created_by = run.field("createdBy").unwrap();
    assert_eq!(created_by.kind.composite_kind(), Some(CompositeKind::Actor));
    assert!(created_by.sub_field("source").unwrap().writable);
    assert!(
        !created_by.sub_field("name").unwrap().writable,
        "the document only lets source be sent"
    );
    assert_eq!(
        run.field("workflowVersionId").unwrap().kind,
        FieldType::RelationId {
            target: "workflowVersion".into(),
            relation: "workflowVersion".into()
        }
    );
    for server_set in ["id", "createdAt", "updatedAt", "deletedAt"] {
        let field = run.field(server_set).unwrap();
        assert!(field.is_server_set() && !field.writable, "{server_set}");
    }

    let person = catalog.object("person").unwrap();
    let name = person.field("name").unwrap();
    assert_eq!(name.kind.composite_kind(), Some(CompositeKind::FullName));
    assert_eq!(name.sub_field("firstName").unwrap().kind, FieldType::Text);
    let emails = person.field("emails").unwrap();
    assert_eq!(
        emails.sub_field("primaryEmail").unwrap().kind,
        FieldType::Text
    );
    assert_eq!(
        emails.sub_field("additionalEmails").unwrap().kind,
        FieldType::List {
            item: Box::new(FieldType::Email)
        }
    );
    let links = person
        .field("linkedinLink")
        .unwrap()
        .sub_field("secondaryLinks")
        .unwrap();
    let FieldType::List { item } = &links.kind else {
        panic!("{links:?}")
    };
    assert_eq!(
        item.sub_fields()
            .iter()
            .map(|f| f.name.as_str())
            .collect::<Vec<_>>(),
        ["url", "label"]
    );
    assert_eq!(item.sub_fields()[0].kind, FieldType::Url);
    assert_eq!(
        person.field("companyId").unwrap().kind,
        FieldType::RelationId {
            target: "company".into(),
            relation: "company".into()
        }
    );
    assert_eq!(
        person.field("company").unwrap().kind,
        FieldType::Relation {
            target: "company".into(),
            cardinality: Cardinality::ManyToOne {
                id_field: "companyId".into()
            }
        }
    );
    assert!(!person.field("company").unwrap().writable);

    let workflow = catalog.object("workflow").unwrap();
    assert_eq!(
        workflow.field("statuses").unwrap().kind,
        FieldType::List {
            item: Box::new(FieldType::Enum {
                values: vec!["DRAFT".into(), "ACTIVE".into(), "DEACTIVATED".into()]
            })
        }
    );
}

#[test]
fn query_parameters_carry_their_constraints() {
    let v103 = v103();
    let list = v103
        .object("people")
        .unwrap()
        .operation(OperationKind::FindMany)
        .unwrap();
    let names: Vec<_> = list.params.iter().map(|p| p.name.as_str()).collect();
    assert_eq!(
        names,
        [
            "order_by",
            "filter",
            "limit",
            "depth",
            "starting_after",
            "ending_before"
        ]
    );
    let limit = list.param("limit").unwrap();
    assert_eq!(
        (limit.kind.clone(), limit.minimum, limit.maximum),
        (FieldType::Integer, Some(0.0), Some(60.0))
    );
    assert_eq!(limit.default, Some(serde_json::json!(60)));
    assert_eq!(v103.depth_values(), [0, 1, 2]);
    assert_eq!(v103.max_limit(), 60);
    let v2026 = v2026();
    assert_eq!(v2026.depth_values(), [0, 1]);
    assert_eq!(v2026.max_limit(), 200);
    let delete = v2026
        .object("people")
        .unwrap()
        .operation(OperationKind::DeleteOne)
        .unwrap();
    assert_eq!(
        delete.param("soft_delete").unwrap().kind,
        FieldType::Boolean
    );
}

/// Every one-to-many relation of v1.0.3 is paired with an id field on the
/// other side that points back at its object.
#[test]
fn every_one_to_many_relation_of_v103_is_paired() {
    let catalog = v103();
    let mut paired = 0;
    for object in &catalog.objects {
        for field in &object.fields {
            let FieldType::Relation {
                target,
                cardinality: Cardinality::OneToMany { inverse },
            } = &field.kind
            else {
                continue;
            };
            let inverse = inverse
                .as_deref()
                .unwrap_or_else(|| panic!("{}.{} unpaired", object.singular, field.name));
            let other = catalog.object(target).unwrap();
            let backing = other
                .field(inverse)
                .unwrap_or_else(|| panic!("{target}.{inverse} missing"));
            match &backing.kind {
                FieldType::RelationId { target: back, .. } => {
                    assert_eq!(back, &object.singular, "{}.{}", object.singular, field.name)
                }
                other => panic!("{target}.{inverse} is {other:?}"),
            }
            paired += 1;
        }
    }
    assert_eq!(paired, 64);
    let person = catalog.object("person").unwrap();
    assert_eq!(
        person.field("pointOfContactForOpportunities").unwrap().kind,
        FieldType::Relation {
            target: "opportunity".into(),
            cardinality: Cardinality::OneToMany {
                inverse: Some("pointOfContactId".into())
            }
        }
    );
}

#[test]
fn composites_that_are_not_relations_in_2026_stay_fields() {
    let catalog = v2026();
    let target = catalog.object("noteTarget").unwrap();
    assert_eq!(target.field("targetPerson").unwrap().kind, FieldType::Text);
    let person = catalog.object("person").unwrap();
    assert_eq!(
        person.field("noteTargets").unwrap().kind,
        FieldType::Relation {
            target: "noteTarget".into(),
            cardinality: Cardinality::OneToMany {
                inverse: Some("targetPerson".into())
            }
        }
    );
}

/// The model compiled into the crate is exactly what Twenty v1.0.3's own
/// document describes: every object, field, type, enum, relation and
/// operation.
#[test]
fn the_built_in_model_is_v103() {
    let builtin = twenty_core::builtin::standard();
    let loaded = v103();
    for (ours, theirs) in builtin.objects.iter().zip(&loaded.objects) {
        assert_eq!(ours, theirs, "{}", theirs.plural);
    }
    assert_eq!(builtin, loaded);
}

/// What the sandbox serves at `/rest/open-api/core` reads back into the
/// catalog it was written from, for every real document.
#[test]
fn exported_documents_load_back_unchanged() {
    for catalog in [v103(), v140(), v2026()] {
        let document = twenty_core::export::to_openapi(&catalog, "http://127.0.0.1:3000/rest/");
        let reloaded = load::from_str(&serde_json::to_string(&document).unwrap()).unwrap();
        for (ours, theirs) in reloaded.objects.iter().zip(&catalog.objects) {
            assert_eq!(ours, theirs, "{}", theirs.plural);
        }
        assert_eq!(reloaded, catalog);
    }
}

/// A file that is no OpenAPI document, such as a key file given to
/// `--schema` by mistake, is refused in words that quote none of it.
#[test]
fn a_file_that_is_no_document_is_refused_without_quoting_it() {
    let refused = |text: &str| match load::from_str(text) {
        Err(error) => error.to_string(),
        Ok(_) => panic!("{text:?} loaded"),
    };
    let secret = "tw_secret_4f9a";
    for (text, what) in [
        (format!("{secret}\n"), "plain text"),
        (format!("root:x:0:0:{secret}:/root:/bin/sh\n"), "plain text"),
        (format!("[\"{secret}\"]"), "a list"),
        (format!("- {secret}\n"), "a list"),
    ] {
        let reason = refused(&text);
        let expected = format!(
            "not a Twenty OpenAPI document: it is {what}, where an OpenAPI document is an \
             object with `openapi`, `paths` and `components` (Twenty serves it at \
             /rest/open-api/core)"
        );
        assert_eq!(reason, expected, "{text:?}");
    }
    // A syntax error's reason gives where, not what.
    let reason = refused(&format!("{secret}: [1, 2"));
    assert!(reason.contains("at line 2 column 1"), "{reason}");
    assert!(!reason.contains(secret), "{reason}");
    // An object that is not a document reads as one describing nothing.
    for text in [
        format!("{{\"apiKey\": \"{secret}\"}}"),
        format!("apiKey: {secret}\n"),
    ] {
        assert_eq!(
            refused(&text),
            "the document describes no objects (was it fetched without an API key?)"
        );
    }
    // A document with a fault of its own keeps the parser's reason, with
    // its position.
    assert_eq!(
        refused(r#"{"openapi": 5}"#),
        "not a Twenty OpenAPI document: invalid type: integer `5`, expected a string at line 1 \
         column 13"
    );
    assert_eq!(
        refused(r#"{"openapi": "3.1.0", "#),
        "not a Twenty OpenAPI document: EOF while parsing a value at line 1 column 21"
    );
}
