//! What each client method puts on the wire, and what it takes out of the
//! answer.

mod support;

use serde_json::json;
use support::{Recorded, Reply, TestServer, person, workflow_run};
use twenty_client::{Client, ClientConfig, ListQuery, Request, RetrySafety};
use twenty_core::Method;

const KEY: &str = "eyJhbGciOiJIUzI1NiJ9.test-key.sig";
const ID: &str = "20202020-0000-4000-8000-000000000001";

#[tokio::test]
async fn find_one_sends_get_with_depth_and_bearer_key() {
    let server = TestServer::scripted(vec![Reply::json(
        200,
        json!({"data": {"person": {"id": ID, "city": "Paris"}}}),
    )])
    .await;
    let client = server.client(Some(&format!("  bearer {KEY}\n")));

    let record = client.find_one(&person(), ID, Some(1)).await.unwrap();

    assert_eq!(record, json!({"id": ID, "city": "Paris"}));
    let reqs = server.requests();
    assert_eq!(reqs.len(), 1);
    assert_eq!(reqs[0].method, "GET");
    assert_eq!(reqs[0].path, format!("/rest/people/{ID}"));
    assert_eq!(
        reqs[0].query_pairs(),
        [("depth".to_owned(), "1".to_owned())]
    );
    assert_eq!(
        reqs[0].header("authorization").unwrap(),
        format!("Bearer {KEY}")
    );
    assert_eq!(reqs[0].header("accept").unwrap(), "application/json");
}

#[tokio::test]
async fn no_key_sends_no_authorization_header() {
    let server = TestServer::scripted(vec![Reply::json(
        200,
        json!({"data": {"person": {"id": ID}}}),
    )])
    .await;
    server
        .client(None)
        .find_one(&person(), ID, None)
        .await
        .unwrap();
    let reqs = server.requests();
    assert_eq!(reqs[0].header("authorization"), None);
    assert_eq!(reqs[0].query, None);
}

#[tokio::test]
async fn base_url_spellings_all_reach_the_same_rest_root() {
    let server =
        TestServer::with(|_| Reply::json(200, json!({"data": {"person": {"id": ID}}}))).await;
    let spellings = [
        server.base.clone(),
        format!("{}/", server.base),
        format!("{}/rest", server.base),
        format!("{}/rest/", server.base),
    ];
    for base in &spellings {
        let mut config = server.config(Some(KEY));
        config.base_url = base.clone();
        let client = Client::new(config).unwrap();
        assert_eq!(client.base_url(), server.base);
        client.find_one(&person(), ID, None).await.unwrap();
    }
    let paths: Vec<String> = server.requests().into_iter().map(|r| r.path).collect();
    assert_eq!(paths, vec![format!("/rest/people/{ID}"); 4]);
}

#[tokio::test]
async fn find_all_follows_cursors_across_three_pages() {
    let server = TestServer::with(|req| {
        // Pages of 2, 1 and 2 records: the client must not stop at the
        // short page in the middle, nor assume pages hold `limit` records.
        let (ids, has_next, end) = match req.param("starting_after").as_deref() {
            None => (vec!["a", "b"], true, "cur-b"),
            Some("cur-b") => (vec!["c"], true, "cur-c"),
            Some("cur-c") => (vec!["d", "e"], false, "cur-e"),
            Some(other) => panic!("unexpected cursor {other}"),
        };
        let records: Vec<_> = ids.iter().map(|id| json!({"id": id})).collect();
        Reply::json(
            200,
            json!({"data": {"people": records},
                   "pageInfo": {"hasNextPage": has_next, "startCursor": "s", "endCursor": end},
                   "totalCount": 5}),
        )
    })
    .await;
    let client = server.client(Some(KEY));
    let query = ListQuery {
        filter: Some("city[eq]:\"Paris\"".into()),
        order_by: Some("createdAt[DescNullsLast]".into()),
        limit: Some(2),
        ..ListQuery::default()
    };

    let mut pages = client.find_all(&person(), query);
    let mut ids = Vec::new();
    while let Some(record) = pages.next_record().await.unwrap() {
        ids.push(record["id"].as_str().unwrap().to_owned());
    }

    assert_eq!(ids, ["a", "b", "c", "d", "e"]);
    let reqs = server.requests();
    assert_eq!(reqs.len(), 3);
    for req in &reqs {
        assert_eq!(req.method, "GET");
        assert_eq!(req.path, "/rest/people");
        assert_eq!(req.param("filter").unwrap(), "city[eq]:\"Paris\"");
        assert_eq!(req.param("order_by").unwrap(), "createdAt[DescNullsLast]");
        assert_eq!(req.param("limit").unwrap(), "2");
    }
    assert_eq!(reqs[0].param("starting_after"), None);
    assert_eq!(reqs[1].param("starting_after").unwrap(), "cur-b");
    assert_eq!(reqs[2].param("starting_after").unwrap(), "cur-c");
    assert!(pages.next_page().await.unwrap().is_none());
}

#[tokio::test]
async fn find_all_stops_when_the_server_repeats_a_cursor() {
    let server = TestServer::with(|_| {
        Reply::json(
            200,
            json!({"data": {"people": [{"id": "a"}]},
                   "pageInfo": {"hasNextPage": true, "endCursor": "same"}}),
        )
    })
    .await;
    let mut pages = server
        .client(Some(KEY))
        .find_all(&person(), ListQuery::default());
    assert_eq!(pages.next_page().await.unwrap().unwrap().records.len(), 1);
    let err = pages.next_page().await.unwrap_err();
    assert!(err.to_string().contains("hasNextPage"), "{err}");
    assert!(pages.next_page().await.unwrap().is_none());
    assert_eq!(server.requests().len(), 2);
}

#[tokio::test]
async fn find_page_reports_page_info() {
    let server = TestServer::scripted(vec![Reply::json(
        200,
        json!({"data": {"people": []},
               "pageInfo": {"hasNextPage": false, "startCursor": null, "endCursor": null},
               "totalCount": 0}),
    )])
    .await;
    let query = ListQuery {
        depth: Some(0),
        ending_before: Some("c1".into()),
        extra: vec![("soft_delete".into(), "true".into())],
        ..ListQuery::default()
    };
    let page = server
        .client(Some(KEY))
        .find_page(&person(), &query)
        .await
        .unwrap();
    assert!(page.records.is_empty());
    assert!(!page.has_next_page);
    assert_eq!(page.end_cursor, None);
    assert_eq!(page.total_count, Some(0));
    let pairs = server.requests()[0].query_pairs();
    let expected: Vec<(String, String)> = [
        ("depth", "0"),
        ("ending_before", "c1"),
        ("soft_delete", "true"),
    ]
    .iter()
    .map(|(k, v)| (k.to_string(), v.to_string()))
    .collect();
    assert_eq!(pairs, expected);
}

#[tokio::test]
async fn create_one_sends_a_client_generated_id() {
    let server = TestServer::with(|req| {
        let mut record = req.json();
        record["createdAt"] = json!("2026-01-01T00:00:00.000Z");
        Reply::json(201, json!({"data": {"createWorkflowRun": record}}))
    })
    .await;
    let client = server.client(Some(KEY));

    let created = client
        .create_one(&workflow_run(), json!({"name": "run"}), Some(0))
        .await
        .unwrap();

    let reqs = server.requests();
    assert_eq!(reqs.len(), 1);
    assert_eq!(reqs[0].method, "POST");
    assert_eq!(reqs[0].path, "/rest/workflowRuns");
    assert_eq!(reqs[0].param("depth").unwrap(), "0");
    assert_eq!(reqs[0].header("content-type").unwrap(), "application/json");
    let sent = reqs[0].json();
    let id = sent["id"].as_str().unwrap();
    assert_eq!(uuid::Uuid::parse_str(id).unwrap().get_version_num(), 4);
    assert_eq!(sent["name"], "run");
    assert_eq!(created["id"], id);
    assert_eq!(created["createdAt"], "2026-01-01T00:00:00.000Z");
}

/// Answers the look-up of given ids with no record, and a create with
/// what was sent under `key`.
fn no_record_then_echo(key: &'static str) -> impl Fn(&Recorded) -> Reply {
    move |req| {
        if req.method == "GET" {
            return Reply::json(
                200,
                json!({"data": {"people": []}, "pageInfo": {"hasNextPage": false}, "totalCount": 0}),
            );
        }
        Reply::json(201, json!({"data": {key: req.json()}}))
    }
}

#[tokio::test]
async fn create_one_keeps_an_id_the_caller_gave() {
    let server = TestServer::with(no_record_then_echo("createPerson")).await;
    let created = server
        .client(Some(KEY))
        .create_one(&person(), json!({"id": ID}), None)
        .await
        .unwrap();
    assert_eq!(created["id"], ID);
    let reqs = server.requests();
    assert_eq!(reqs.len(), 2);
    assert_eq!(reqs[0].method, "GET");
    assert_eq!(reqs[0].path, "/rest/people");
    assert_eq!(
        reqs[0].param("filter").unwrap(),
        format!("id[in]:[\"{ID}\"]")
    );
    assert_eq!(reqs[1].method, "POST");
    assert_eq!(reqs[1].json()["id"], ID);
}

#[tokio::test]
async fn create_many_posts_one_batch_and_returns_input_order() {
    let server = TestServer::with(no_record_then_echo("createPeople")).await;
    let records = vec![
        json!({"city": "a"}),
        json!({"id": ID, "city": "b"}),
        json!({"city": "c"}),
    ];

    let created = server
        .client(Some(KEY))
        .create_many(&person(), records, None)
        .await
        .unwrap();

    // The one given id is looked up, then one batch goes.
    let reqs = server.requests();
    assert_eq!(reqs.len(), 2);
    assert_eq!(
        reqs[0].param("filter").unwrap(),
        format!("id[in]:[\"{ID}\"]")
    );
    assert_eq!(reqs[1].method, "POST");
    assert_eq!(reqs[1].path, "/rest/batch/people");
    let sent = reqs[1].json();
    let sent = sent.as_array().unwrap();
    assert_eq!(sent.len(), 3);
    assert_eq!(sent[1]["id"], ID);
    assert!(sent.iter().all(|r| r["id"].is_string()));
    let cities: Vec<_> = created
        .iter()
        .map(|r| r["city"].as_str().unwrap())
        .collect();
    assert_eq!(cities, ["a", "b", "c"]);
}

#[tokio::test]
async fn create_many_of_nothing_sends_nothing() {
    let server = TestServer::scripted(vec![]).await;
    let created = server
        .client(Some(KEY))
        .create_many(&person(), vec![], None)
        .await
        .unwrap();
    assert!(created.is_empty());
    assert!(server.requests().is_empty());
}

#[tokio::test]
async fn update_one_patches_and_returns_the_record() {
    let server = TestServer::scripted(vec![Reply::json(
        200,
        json!({"data": {"updateWorkflowRun": {"id": ID, "status": "COMPLETED", "name": "x"}}}),
    )])
    .await;
    let record = server
        .client(Some(KEY))
        .update_one(&workflow_run(), ID, json!({"status": "COMPLETED"}), None)
        .await
        .unwrap();
    assert_eq!(record["name"], "x");
    let req = &server.requests()[0];
    assert_eq!(req.method, "PATCH");
    assert_eq!(req.path, format!("/rest/workflowRuns/{ID}"));
    assert_eq!(req.json(), json!({"status": "COMPLETED"}));
}

#[tokio::test]
async fn delete_one_sends_delete_and_returns_the_id() {
    let server = TestServer::scripted(vec![Reply::json(
        200,
        json!({"data": {"deletePerson": {"id": ID}}}),
    )])
    .await;
    let deleted = server
        .client(Some(KEY))
        .delete_one(&person(), ID)
        .await
        .unwrap();
    assert_eq!(deleted, json!({"id": ID}));
    let req = &server.requests()[0];
    assert_eq!(req.method, "DELETE");
    assert_eq!(req.path, format!("/rest/people/{ID}"));
    assert_eq!(req.body, "");
}

#[tokio::test]
async fn fetch_schema_returns_the_document_text_unchanged() {
    let doc = r#"{"openapi":"3.0.3","info":{"title":"t"},"paths":{}}"#;
    let server = TestServer::scripted(vec![Reply::Body {
        status: 200,
        body: doc.into(),
        headers: vec![],
    }])
    .await;
    let text = server.client(Some(KEY)).fetch_schema().await.unwrap();
    assert_eq!(text, doc);
    let req = &server.requests()[0];
    assert_eq!(req.method, "GET");
    assert_eq!(req.path, "/rest/open-api/core");
}

#[tokio::test]
async fn fetch_schema_refuses_json_that_is_not_a_document() {
    let server = TestServer::scripted(vec![Reply::json(200, json!({"data": {}}))]).await;
    let err = server.client(Some(KEY)).fetch_schema().await.unwrap_err();
    assert!(err.to_string().contains("not an openapi document"), "{err}");
    assert_eq!(err.exit_code(), 1);
}

#[tokio::test]
async fn send_passes_method_path_query_and_body_through() {
    let server = TestServer::scripted(vec![Reply::json(200, json!({"data": {"ok": true}}))]).await;
    let req = Request::new(Method::Patch, "/restore/people")
        .query("filter", "id[in]:[\"a\",\"b\"]")
        .query("like", "%x%")
        .body(json!({"a": 1}))
        .retry(RetrySafety::Never);
    let response = server.client(Some(KEY)).send(req).await.unwrap();
    assert_eq!(response.status, 200);
    assert_eq!(response.body, json!({"data": {"ok": true}}));
    assert_eq!(response.text, r#"{"data":{"ok":true}}"#);
    let got = &server.requests()[0];
    assert_eq!(got.method, "PATCH");
    assert_eq!(got.path, "/rest/restore/people");
    assert_eq!(got.param("filter").unwrap(), "id[in]:[\"a\",\"b\"]");
    assert_eq!(got.param("like").unwrap(), "%x%");
    assert_eq!(got.json(), json!({"a": 1}));
}

#[tokio::test]
async fn a_path_without_a_leading_slash_is_refused_before_sending() {
    let server = TestServer::scripted(vec![]).await;
    let err = server
        .client(Some(KEY))
        .send(Request::new(Method::Get, "people"))
        .await
        .unwrap_err();
    assert_eq!(err.exit_code(), 2);
    assert!(server.requests().is_empty());
}

#[tokio::test]
async fn ids_that_would_change_the_path_are_refused() {
    let server = TestServer::scripted(vec![]).await;
    let err = server
        .client(Some(KEY))
        .find_one(&person(), "../open-api/core", None)
        .await
        .unwrap_err();
    assert_eq!(err.exit_code(), 2);
    assert!(server.requests().is_empty());
}

#[tokio::test]
async fn config_new_has_documented_defaults() {
    let config = ClientConfig::new("https://crm.example.com");
    assert_eq!(config.timeout, std::time::Duration::from_secs(30));
    assert_eq!(config.retry.max_attempts, 5);
    assert_eq!(
        config.retry.base_delay,
        std::time::Duration::from_millis(200)
    );
    assert_eq!(config.retry.max_delay, std::time::Duration::from_secs(10));
    assert_eq!(config.retry.max_total, std::time::Duration::from_secs(60));
    assert_eq!(twenty_client::RetryPolicy::none().max_attempts, 1);
    assert!(config.api_key.is_none() && config.rate_limit.is_none() && !config.allow_insecure_http);
}
