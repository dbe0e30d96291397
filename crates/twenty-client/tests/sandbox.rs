//! The client against the sandbox, a local Twenty-compatible server: every
//! helper end to end, and creates that stay exactly-once while the server
//! injects resets, gateway errors and rate-limit refusals.

use std::collections::HashSet;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use serde_json::{Value, json};
use twenty_client::{ApiKey, Client, ClientConfig, Error, ListQuery, RetryPolicy};
use twenty_core::{Catalog, Object};
use twenty_sandbox::{FaultSpec, Sandbox, SandboxConfig};

async fn start(faults: Option<&str>) -> Sandbox {
    let mut config = SandboxConfig::new(twenty_core::builtin::standard());
    config.faults = faults.map(|f| f.parse::<FaultSpec>().expect("fault spec parses"));
    Sandbox::start(config, "127.0.0.1:0".parse().unwrap())
        .await
        .expect("sandbox starts")
}

fn client(sandbox: &Sandbox, retry: RetryPolicy) -> Client {
    let mut config = ClientConfig::new(format!("{}/rest/", sandbox.url()));
    config.api_key = Some(ApiKey::new(format!("Bearer {}\n", sandbox.api_key())).unwrap());
    config.retry = retry;
    config.timeout = Duration::from_secs(10);
    Client::new(config).unwrap()
}

fn people(catalog: &Catalog) -> Object {
    catalog
        .object("people")
        .expect("standard model has people")
        .clone()
}

async fn all_ids(client: &Client, object: &Object) -> Vec<String> {
    let query = ListQuery {
        limit: Some(25),
        ..ListQuery::default()
    };
    let mut pages = client.find_all(object, query);
    let mut ids = Vec::new();
    while let Some(record) = pages.next_record().await.unwrap() {
        ids.push(record["id"].as_str().unwrap().to_owned());
    }
    ids
}

#[tokio::test]
async fn every_helper_works_against_the_sandbox() {
    let sandbox = start(None).await;
    let client = client(&sandbox, RetryPolicy::default());
    let catalog = twenty_core::builtin::standard();
    let people = people(&catalog);

    let created = client
        .create_one(
            &people,
            json!({"name": {"firstName": "Ada", "lastName": "Lovelace"}}),
            None,
        )
        .await
        .unwrap();
    let id = created["id"].as_str().unwrap().to_owned();
    assert_eq!(created["name"]["firstName"], "Ada");

    let batch: Vec<Value> = (0..3)
        .map(|i| json!({"name": {"firstName": format!("P{i}"), "lastName": "Batch"}}))
        .collect();
    let many = client.create_many(&people, batch, None).await.unwrap();
    let firsts: Vec<_> = many
        .iter()
        .map(|r| r["name"]["firstName"].as_str().unwrap())
        .collect();
    assert_eq!(firsts, ["P0", "P1", "P2"]);

    let found = client.find_one(&people, &id, Some(0)).await.unwrap();
    assert_eq!(found["name"]["lastName"], "Lovelace");

    let updated = client
        .update_one(&people, &id, json!({"city": "London"}), None)
        .await
        .unwrap();
    assert_eq!(updated["city"], "London");
    assert_eq!(updated["name"]["firstName"], "Ada");

    let query = ListQuery {
        filter: Some("name.lastName[eq]:\"Batch\"".into()),
        limit: Some(2),
        ..ListQuery::default()
    };
    let mut pages = client.find_all(&people, query);
    let mut count = 0;
    while let Some(page) = pages.next_page().await.unwrap() {
        assert!(page.records.len() <= 2);
        count += page.records.len();
    }
    assert_eq!(count, 3);

    assert_eq!(
        client.delete_one(&people, &id).await.unwrap()["id"],
        id.as_str()
    );
    let err = client.find_one(&people, &id, None).await.unwrap_err();
    assert_eq!(err.exit_code(), 6, "{err}");

    let schema = client.fetch_schema().await.unwrap();
    let loaded = twenty_core::load::from_str(&schema).expect("served document loads");
    assert!(loaded.object("people").is_some());
}

#[tokio::test]
async fn a_wrong_key_is_an_auth_error() {
    let sandbox = start(None).await;
    let mut config = ClientConfig::new(sandbox.url());
    config.api_key = Some(ApiKey::new("not-the-key").unwrap());
    let client = Client::new(config).unwrap();
    let catalog = twenty_core::builtin::standard();
    let err = client
        .find_page(&people(&catalog), &ListQuery::default())
        .await
        .unwrap_err();
    assert!(matches!(err, Error::Auth { .. }), "{err:?}");
    assert_eq!(err.exit_code(), 3);
    assert!(!format!("{err} {err:?}").contains("not-the-key"));
}

/// Collects log lines, to check which recovery paths a run went through.
#[derive(Clone, Default)]
struct Captured(Arc<Mutex<Vec<u8>>>);

impl std::io::Write for Captured {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

// Current-thread, so the scoped log subscriber sees every poll.
#[tokio::test(flavor = "current_thread")]
async fn creates_stay_exactly_once_under_injected_faults() {
    let captured = Captured::default();
    let writer = captured.clone();
    let subscriber = tracing_subscriber::fmt()
        .with_max_level(tracing::Level::DEBUG)
        .with_ansi(false)
        .with_writer(move || writer.clone())
        .finish();
    let _guard = tracing::subscriber::set_default(subscriber);

    // Every kind that fails a request is in; latency only slows it.
    let sandbox = start(Some(
        "seed=7,rate=0.3,kinds=429+400limit+500+502+503+reset-before+reset-after,retry-after=0",
    ))
    .await;
    let retry = RetryPolicy {
        max_attempts: 10,
        base_delay: Duration::from_millis(2),
        max_delay: Duration::from_millis(20),
        max_total: Duration::from_secs(30),
    };
    let client = client(&sandbox, retry);
    let catalog = twenty_core::builtin::standard();
    let people = people(&catalog);

    let mut returned = Vec::new();
    for chunk in 0..3 {
        let batch: Vec<Value> = (0..40)
            .map(|i| json!({"name": {"firstName": format!("B{chunk}-{i}"), "lastName": "F"}}))
            .collect();
        let created = client.create_many(&people, batch, None).await.unwrap();
        assert_eq!(created.len(), 40);
        returned.extend(created);
    }
    for i in 0..25 {
        let record = json!({"name": {"firstName": format!("O{i}"), "lastName": "F"}});
        returned.push(client.create_one(&people, record, None).await.unwrap());
    }

    let returned_ids: HashSet<String> = returned
        .iter()
        .map(|r| r["id"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(returned_ids.len(), 145);
    let stored = all_ids(&client, &people).await;
    let stored_set: HashSet<String> = stored.iter().cloned().collect();
    assert_eq!(stored.len(), 145, "records created more or less than once");
    assert_eq!(stored_set, returned_ids);

    // The run must have met the faults it is about, or it proves nothing.
    let logs = String::from_utf8(captured.0.lock().unwrap().clone()).unwrap();
    let lost = logs.matches("reading the ids back").count();
    let retried = logs.matches("retrying").count();
    assert!(lost >= 3, "only {lost} lost answers:\n{logs}");
    assert!(retried >= 5, "only {retried} retries:\n{logs}");
}
