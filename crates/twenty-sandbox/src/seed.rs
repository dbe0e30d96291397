//! The demo records a new sandbox starts with: companies with people,
//! opportunities at different stages, notes and tasks linked through their
//! junction records, and a workflow with one run in each status the
//! catalog knows. Only objects and fields the served catalog has are
//! written, so the same seed fits every document.

use rusqlite::Connection;
use serde_json::{Map, Value, json};
use twenty_core::{FieldType, Object};

use crate::error::AppResult;
use crate::handlers::{Inner, create_record};
use crate::record;
use crate::store;

/// Seeds the store when every table is empty.
pub(crate) fn seed_if_empty(inner: &Inner) -> AppResult<()> {
    if !inner
        .db
        .read(|conn| store::is_empty(conn, &inner.catalog))?
    {
        return Ok(());
    }
    inner.db.write(|tx| seed(inner, tx))
}

/// Writes one demo record, keeping only the fields the object has and
/// relation ids whose target exists. Returns its id.
fn put(inner: &Inner, conn: &Connection, singular: &str, body: Value) -> AppResult<Option<String>> {
    let Some(object) = inner
        .catalog
        .objects
        .iter()
        .find(|o| o.singular == singular)
    else {
        return Ok(None);
    };
    let kept = keep_known(object, body);
    let checked = record::check_body(object, &Value::Object(kept))?;
    let created = create_record(inner, conn, object, &checked, false)?;
    Ok(created
        .get("id")
        .and_then(Value::as_str)
        .map(str::to_string))
}

fn keep_known(object: &Object, body: Value) -> Map<String, Value> {
    let Value::Object(body) = body else {
        return Map::new();
    };
    body.into_iter()
        .filter(|(k, v)| {
            let Some(field) = object.field(k) else {
                return false;
            };
            match (&field.kind, v) {
                (FieldType::RelationId { .. }, v) => !v.is_null(),
                (FieldType::Enum { values }, Value::String(s)) => values.contains(s),
                (FieldType::Composite { fields }, Value::Object(m)) => {
                    m.keys().all(|k| fields.iter().any(|f| &f.name == k))
                }
                _ => true,
            }
        })
        .collect()
}

fn id_or_null(id: &Option<String>) -> Value {
    id.as_ref()
        .map_or(Value::Null, |s| Value::String(s.clone()))
}

fn seed(inner: &Inner, conn: &Connection) -> AppResult<()> {
    let companies = [
        ("Acme Robotics", "https://acme-robotics.example", "Paris"),
        ("Globex Energy", "https://globex.example", "Berlin"),
        ("Initech Software", "https://initech.example", "Austin"),
    ];
    let people = [
        ("Ada", "Lovelace", "ada@acme-robotics.example", "CTO", 0),
        (
            "Grace",
            "Hopper",
            "grace@acme-robotics.example",
            "Engineer",
            0,
        ),
        ("Alan", "Turing", "alan@globex.example", "Researcher", 1),
        (
            "Katherine",
            "Johnson",
            "katherine@globex.example",
            "Analyst",
            1,
        ),
        (
            "Linus",
            "Torvalds",
            "linus@initech.example",
            "Maintainer",
            2,
        ),
        (
            "Margaret",
            "Hamilton",
            "margaret@initech.example",
            "Director",
            2,
        ),
    ];

    let mut company_ids = Vec::new();
    for (i, (name, url, city)) in companies.iter().enumerate() {
        let id = put(
            inner,
            conn,
            "company",
            json!({
                "name": name,
                "domainName": { "primaryLinkUrl": url, "primaryLinkLabel": "" },
                "address": { "addressCity": city },
                "employees": 50 * (i + 1),
                "position": i,
            }),
        )?;
        company_ids.push(id);
    }

    let mut person_ids = Vec::new();
    for (i, (first, last, email, job, company)) in people.iter().enumerate() {
        let id = put(
            inner,
            conn,
            "person",
            json!({
                "name": { "firstName": first, "lastName": last },
                "emails": { "primaryEmail": email },
                "jobTitle": job,
                "city": companies[*company].2,
                "companyId": id_or_null(&company_ids[*company]),
                "position": i,
            }),
        )?;
        person_ids.push(id);
    }

    let stages = inner
        .catalog
        .objects
        .iter()
        .find(|o| o.singular == "opportunity")
        .and_then(|o| o.field("stage"))
        .and_then(|f| match &f.kind {
            FieldType::Enum { values } => Some(values.clone()),
            _ => None,
        })
        .unwrap_or_default();
    let mut opportunity_ids = Vec::new();
    for (i, stage) in stages.iter().take(4).enumerate() {
        let company = i % company_ids.len();
        let id = put(
            inner,
            conn,
            "opportunity",
            json!({
                "name": format!("{} deal {}", companies[company].0, i + 1),
                "amount": { "amountMicros": (i as i64 + 1) * 10_000_000_000i64, "currencyCode": "USD" },
                "stage": stage,
                "closeDate": format!("2026-0{}-15T00:00:00.000Z", i + 1),
                "companyId": id_or_null(&company_ids[company]),
                "pointOfContactId": id_or_null(&person_ids[company * 2]),
                "position": i,
            }),
        )?;
        opportunity_ids.push(id);
    }

    for (i, title) in ["Kick-off call notes", "Pricing discussion"]
        .iter()
        .enumerate()
    {
        let note = put(
            inner,
            conn,
            "note",
            json!({
                "title": title,
                "bodyV2": { "markdown": format!("Notes about {}", companies[i].0) },
                "position": i,
            }),
        )?;
        if note.is_some() {
            put(
                inner,
                conn,
                "noteTarget",
                json!({ "noteId": id_or_null(&note), "personId": id_or_null(&person_ids[i * 2]) }),
            )?;
            put(
                inner,
                conn,
                "noteTarget",
                json!({ "noteId": id_or_null(&note), "companyId": id_or_null(&company_ids[i]) }),
            )?;
        }
    }

    let task_statuses = ["TODO", "IN_PROGRESS", "DONE"];
    for (i, title) in ["Send the proposal", "Schedule a demo", "Renew the contract"]
        .iter()
        .enumerate()
    {
        let task = put(
            inner,
            conn,
            "task",
            json!({
                "title": title,
                "status": task_statuses[i],
                "dueAt": format!("2026-12-{:02}T09:00:00.000Z", 10 + i),
                "position": i,
            }),
        )?;
        if task.is_some() {
            put(
                inner,
                conn,
                "taskTarget",
                json!({ "taskId": id_or_null(&task), "personId": id_or_null(&person_ids[i]) }),
            )?;
        }
    }

    let workflow = put(
        inner,
        conn,
        "workflow",
        json!({ "name": "Welcome new people", "position": 0 }),
    )?;
    let version = put(
        inner,
        conn,
        "workflowVersion",
        json!({
            "name": "v1",
            "workflowId": id_or_null(&workflow),
            "status": "ACTIVE",
            "position": 0,
        }),
    )?;
    let statuses = inner
        .catalog
        .objects
        .iter()
        .find(|o| o.singular == "workflowRun")
        .and_then(|o| o.field("status"))
        .and_then(|f| match &f.kind {
            FieldType::Enum { values } => Some(values.clone()),
            _ => None,
        })
        .unwrap_or_default();
    for (i, status) in statuses.iter().enumerate() {
        put(
            inner,
            conn,
            "workflowRun",
            json!({
                "name": format!("Run {}", i + 1),
                "status": status,
                "workflowId": id_or_null(&workflow),
                "workflowVersionId": id_or_null(&version),
                "position": i,
            }),
        )?;
    }
    Ok(())
}
