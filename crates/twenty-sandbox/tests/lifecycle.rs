//! The 2026 operations (soft delete, restore, update and delete many,
//! upsert), persistence across restarts and concurrent writers.
mod support;

use std::sync::Arc;

use serde_json::{Value, json};
use support::*;
use twenty_sandbox::{SandboxConfig, Storage};

#[tokio::test]
async fn soft_delete_and_restore() {
    let env = Env::start(catalog(Y2026)).await;
    let person = env
        .create(
            "people",
            "createPerson",
            json!({"name": {"firstName": "Soft"}}),
        )
        .await;
    let id = person["id"].as_str().expect("an id").to_string();

    let reply = env.delete(&format!("/people/{id}?soft_delete=true")).await;
    assert_eq!(reply.status, 200, "{}", reply.body);
    assert_eq!(reply.body["data"]["deletePerson"]["id"], id.as_str());
    assert_eq!(env.get(&format!("/people/{id}")).await.status, 404);
    assert_eq!(
        env.get("/people").await.body["totalCount"],
        0,
        "hidden from lists"
    );
    let deleted = env
        .get(&format!("/people?filter={}", enc("deletedAt[is]:NOT_NULL")))
        .await;
    assert_eq!(
        deleted.body["totalCount"], 1,
        "visible with a deletedAt filter"
    );
    assert!(deleted.body["data"]["people"][0]["deletedAt"].is_string());

    let reply = env.patch(&format!("/restore/people/{id}"), json!({})).await;
    assert_eq!(reply.status, 200, "{}", reply.body);
    assert_eq!(
        reply.body["data"]["restorePerson"]["deletedAt"],
        Value::Null
    );
    assert_eq!(env.get(&format!("/people/{id}")).await.status, 200);

    // A plain delete is hard: nothing left to restore.
    assert_eq!(env.delete(&format!("/people/{id}")).await.status, 200);
    assert_eq!(
        env.patch(&format!("/restore/people/{id}"), json!({}))
            .await
            .status,
        404
    );
    env.sandbox.shutdown().await;
}

#[tokio::test]
async fn many_record_operations() {
    let env = Env::start(catalog(Y2026)).await;
    let rows: Vec<Value> = (0..6)
        .map(|i| json!({"name": format!("c{i}"), "employees": i}))
        .collect();
    let reply = env.post("/batch/companies", Value::Array(rows)).await;
    assert_eq!(reply.status, 201, "{}", reply.body);

    let reply = env
        .patch(
            &format!("/companies?filter={}", enc("employees[gte]:3")),
            json!({"idealCustomerProfile": true}),
        )
        .await;
    assert_eq!(reply.status, 200, "{}", reply.body);
    assert_eq!(
        reply.body["data"]["updateCompanies"]
            .as_array()
            .map(Vec::len),
        Some(3)
    );
    let icp = env
        .get(&format!(
            "/companies?filter={}",
            enc("idealCustomerProfile[eq]:true")
        ))
        .await;
    assert_eq!(icp.body["totalCount"], 3);

    let reply = env
        .delete(&format!(
            "/companies?soft_delete=true&filter={}",
            enc("employees[lt]:2")
        ))
        .await;
    assert_eq!(reply.status, 200, "{}", reply.body);
    assert_eq!(
        reply.body["data"]["deleteCompanies"]
            .as_array()
            .map(Vec::len),
        Some(2)
    );
    assert_eq!(env.get("/companies").await.body["totalCount"], 4);

    let reply = env
        .patch(
            &format!("/restore/companies?filter={}", enc("employees[eq]:0")),
            json!({}),
        )
        .await;
    assert_eq!(reply.status, 200, "{}", reply.body);
    assert_eq!(reply.body["data"]["restoreCompanies"][0]["name"], "c0");
    assert_eq!(env.get("/companies").await.body["totalCount"], 5);

    let reply = env.delete("/companies").await;
    assert_eq!(reply.status, 400, "delete many needs a filter");
    let reply = env
        .delete(&format!("/companies?filter={}", enc("employees[gte]:4")))
        .await;
    assert_eq!(
        reply.body["data"]["deleteCompanies"]
            .as_array()
            .map(Vec::len),
        Some(2)
    );
    assert_eq!(env.get("/companies").await.body["totalCount"], 3);
    env.sandbox.shutdown().await;
}

#[tokio::test]
async fn the_2026_document_sets_depth_and_limit() {
    let env = Env::start(catalog(Y2026)).await;
    let reply = env.get("/people?depth=2").await;
    assert_eq!(reply.status, 400);
    assert_eq!(
        reply.body["messages"][0],
        "'depth=2' parameter invalid. Allowed values are 0, 1"
    );
    let rows: Vec<Value> = (0..201).map(|i| json!({"name": format!("c{i}")})).collect();
    let reply = env
        .post("/batch/companies", Value::Array(rows.clone()))
        .await;
    assert_eq!(
        reply.body["messages"][0],
        "Maximum number of records to upsert is 200."
    );
    let reply = env
        .post("/batch/companies", Value::Array(rows[..200].to_vec()))
        .await;
    assert_eq!(reply.status, 201);
    let reply = env.get("/companies?limit=1000").await;
    assert_eq!(
        reply.body["data"]["companies"].as_array().map(Vec::len),
        Some(200)
    );
    env.sandbox.shutdown().await;
}

#[tokio::test]
async fn upsert_updates_an_existing_record() {
    let env = Env::start(catalog(Y2026)).await;
    let person = env
        .create(
            "people",
            "createPerson",
            json!({"emails": {"primaryEmail": "up@x.io"}, "jobTitle": "A"}),
        )
        .await;
    let reply = env
        .post(
            "/people?upsert=true",
            json!({"emails": {"primaryEmail": "up@x.io"}, "jobTitle": "B"}),
        )
        .await;
    assert_eq!(reply.status, 201, "{}", reply.body);
    assert_eq!(reply.body["data"]["createPerson"]["id"], person["id"]);
    assert_eq!(reply.body["data"]["createPerson"]["jobTitle"], "B");
    assert_eq!(env.get("/people").await.body["totalCount"], 1);
    env.sandbox.shutdown().await;
}

#[tokio::test]
async fn records_survive_a_restart() {
    let dir = std::env::temp_dir().join(format!("twenty-sandbox-restart-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let path = dir.join("nested").join("sandbox.db");
    let config = || {
        let mut c = SandboxConfig::new(catalog(V1));
        c.storage = Storage::File(path.clone());
        c.seed = twenty_sandbox::Seed::Demo;
        c
    };

    let env = Env::with(config()).await;
    let seeded = env.get("/companies").await.body["totalCount"].clone();
    assert_eq!(seeded, 3);
    let company = env
        .create("companies", "createCompany", json!({"name": "Durable"}))
        .await;
    let id = company["id"].as_str().expect("an id").to_string();
    env.patch(&format!("/companies/{id}"), json!({"employees": 42}))
        .await;
    env.sandbox.shutdown().await;

    let env = Env::with(config()).await;
    let reply = env.get(&format!("/companies/{id}")).await;
    assert_eq!(reply.status, 200);
    assert_eq!(reply.body["data"]["company"]["employees"], 42);
    assert_eq!(
        env.get("/companies").await.body["totalCount"],
        4,
        "the demo seed is not applied twice"
    );
    env.sandbox.shutdown().await;
    let _ = std::fs::remove_dir_all(&dir);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_updates_lose_nothing() {
    let dir =
        std::env::temp_dir().join(format!("twenty-sandbox-concurrent-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let mut config = SandboxConfig::new(catalog(V1));
    config.storage = Storage::File(dir.join("sandbox.db"));
    let env = Arc::new(Env::with(config).await);

    let rows: Vec<Value> = (0..5).map(|i| json!({"name": format!("c{i}")})).collect();
    let reply = env.post("/batch/companies", Value::Array(rows)).await;
    let ids: Vec<String> = reply.body["data"]["createCompanies"]
        .as_array()
        .expect("a list")
        .iter()
        .filter_map(|c| c["id"].as_str().map(str::to_string))
        .collect();

    // Every task writes a different sub-field or field of the same records,
    // so a lost read-modify-write would show as a missing value.
    let subs = [
        "addressStreet1",
        "addressStreet2",
        "addressCity",
        "addressState",
        "addressCountry",
        "addressPostcode",
    ];
    let mut tasks = Vec::new();
    for id in &ids {
        for sub in subs {
            let env = env.clone();
            let id = id.clone();
            tasks.push(tokio::spawn(async move {
                let reply = env
                    .patch(
                        &format!("/companies/{id}"),
                        json!({"address": {sub: format!("{sub}-{id}")}}),
                    )
                    .await;
                assert_eq!(reply.status, 200, "{}", reply.body);
            }));
        }
        let env = env.clone();
        let id = id.clone();
        tasks.push(tokio::spawn(async move {
            let reply = env
                .patch(&format!("/companies/{id}"), json!({"employees": 7}))
                .await;
            assert_eq!(reply.status, 200, "{}", reply.body);
        }));
    }
    for t in tasks {
        t.await.expect("the task finishes");
    }
    for id in &ids {
        let company = env.get(&format!("/companies/{id}")).await.body["data"]["company"].clone();
        for sub in subs {
            assert_eq!(
                company["address"][sub],
                format!("{sub}-{id}"),
                "{sub} of {id}"
            );
        }
        assert_eq!(company["employees"], 7);
    }
    let _ = std::fs::remove_dir_all(&dir);
}
