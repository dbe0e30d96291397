//! Every verb's request as it reaches the server: method, path, query,
//! body and the Authorization header, against a recording server.

mod support;

use std::sync::atomic::{AtomicUsize, Ordering};

use serde_json::{Value, json};
use support::{Home, KEY, RUN_ID, Recorded, Recorder, spec_2026, workflow_runs};
use twenty_sandbox::{Sandbox, SandboxConfig, Seed};

/// A second record id.
const OTHER_ID: &str = "00000000-0000-4000-8000-000000000002";

fn bearer() -> Option<String> {
    Some(format!("Bearer {KEY}"))
}

fn pairs(list: &[(&str, &str)]) -> Vec<(String, String)> {
    list.iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

#[test]
fn list_sends_only_the_parameters_given() {
    let server = Recorder::start(workflow_runs);
    let home = Home::new();
    let run = home.run_at(
        &server.url,
        &[
            "workflow-runs",
            "list",
            "--filter",
            "status[eq]:RUNNING",
            "--order-by",
            "createdAt[DescNullsLast]",
            "--limit",
            "5",
        ],
    );
    run.assert_ok();
    let seen = server.only();
    assert_eq!(seen.method, "GET");
    assert_eq!(seen.path, "/rest/workflowRuns");
    assert_eq!(
        seen.query_pairs(),
        pairs(&[
            ("order_by", "createdAt[DescNullsLast]"),
            ("filter", "status[eq]:RUNNING"),
            ("limit", "5"),
        ])
    );
    assert_eq!(seen.authorization, bearer());
    assert_eq!(run.json()[0]["id"], RUN_ID);
}

#[test]
fn get_sends_depth_only_when_given() {
    let server = Recorder::start(workflow_runs);
    let home = Home::new();
    home.run_at(&server.url, &["workflow-runs", "get", RUN_ID])
        .assert_ok();
    home.run_at(
        &server.url,
        &["workflow-run", "get", RUN_ID, "--depth", "1"],
    )
    .assert_ok();
    let seen = server.requests();
    assert_eq!(seen.len(), 2);
    assert_eq!(seen[0].method, "GET");
    assert_eq!(seen[0].path, format!("/rest/workflowRuns/{RUN_ID}"));
    assert_eq!(seen[0].query_pairs(), vec![]);
    assert_eq!(seen[1].query_pairs(), pairs(&[("depth", "1")]));
    assert_eq!(seen[1].authorization, bearer());
}

#[test]
fn create_sends_the_typed_fields_with_a_client_id() {
    let server = Recorder::start(workflow_runs);
    let home = Home::new();
    let run = home.run_at(
        &server.url,
        &[
            "workflowRuns",
            "create",
            "--name",
            "Nightly import",
            "--status",
            "not started",
            "--output",
            r#"{"rows":120}"#,
            "--created-by.source",
            "api",
        ],
    );
    run.assert_ok();
    let seen = server.only();
    assert_eq!(
        (seen.method.as_str(), seen.path.as_str()),
        ("POST", "/rest/workflowRuns")
    );
    assert_eq!(seen.authorization, bearer());
    let body = seen.body.expect("a body");
    assert_eq!(body["name"], "Nightly import");
    assert_eq!(body["status"], "NOT_STARTED");
    assert_eq!(body["output"], json!({"rows": 120}));
    assert_eq!(body["createdBy"], json!({"source": "API"}));
    let id = body["id"].as_str().expect("the client sets an id");
    assert!(uuid::Uuid::parse_str(id).is_ok(), "{id}");
    assert_eq!(run.json()["name"], "Nightly import");
}

#[test]
fn create_many_sends_an_array_with_flags_as_defaults() {
    let server = Recorder::start(workflow_runs);
    let home = Home::new();
    home.run_at(
        &server.url,
        &[
            "workflow-runs",
            "create-many",
            "--data",
            r#"[{"name":"a"},{"name":"b","status":"FAILED"}]"#,
            "--status",
            "RUNNING",
        ],
    )
    .assert_ok();
    let seen = server.only();
    assert_eq!(
        (seen.method.as_str(), seen.path.as_str()),
        ("POST", "/rest/batch/workflowRuns")
    );
    let body = seen.body.expect("a body");
    let items = body.as_array().expect("an array");
    assert_eq!(items.len(), 2);
    assert_eq!(items[0]["name"], "a");
    // A flag overrides the key of every record.
    assert_eq!(items[0]["status"], "RUNNING");
    assert_eq!(items[1]["status"], "RUNNING");
    assert!(items.iter().all(|i| i["id"].is_string()));
}

#[test]
fn update_sends_a_partial_body_and_set_paths() {
    let server = Recorder::start(workflow_runs);
    let home = Home::new();
    let run = home.run_at(
        &server.url,
        &[
            "workflow-runs",
            "update",
            RUN_ID,
            "--status",
            "COMPLETED",
            "--ended-at",
            "2026-01-02T03:04:05Z",
            "--set",
            "createdBy.name=cron",
            "--data",
            r#"{"name":"from data","position":3}"#,
        ],
    );
    run.assert_ok();
    let seen = server.only();
    assert_eq!(seen.method, "PATCH");
    assert_eq!(seen.path, format!("/rest/workflowRuns/{RUN_ID}"));
    let body = seen.body.expect("a body");
    assert_eq!(body["status"], "COMPLETED");
    assert_eq!(body["name"], "from data");
    assert_eq!(body["position"], 3);
    assert_eq!(body["createdBy"]["name"], "cron");
    assert!(
        body["endedAt"]
            .as_str()
            .expect("a date")
            .starts_with("2026-01-02T03:04:05")
    );
    assert!(body.get("id").is_none());
    assert_eq!(run.json()["status"], "COMPLETED");
}

#[test]
fn delete_sends_no_body() {
    let server = Recorder::start(workflow_runs);
    let home = Home::new();
    let run = home.run_at(&server.url, &["workflow-runs", "delete", RUN_ID]);
    run.assert_ok();
    let seen = server.only();
    assert_eq!(seen.method, "DELETE");
    assert_eq!(seen.path, format!("/rest/workflowRuns/{RUN_ID}"));
    assert_eq!(seen.body, None);
    assert_eq!(run.json(), json!({"id": RUN_ID}));
}

#[test]
fn find_duplicates_sends_data_or_ids() {
    let server = Recorder::start(workflow_runs);
    let home = Home::new();
    home.run_at(
        &server.url,
        &["workflow-runs", "find-duplicates", "--name", "x"],
    )
    .assert_ok();
    home.run_at(
        &server.url,
        &["workflow-runs", "find-duplicates", "--ids", RUN_ID],
    )
    .assert_ok();
    let seen = server.requests();
    assert_eq!(seen[0].method, "POST");
    assert_eq!(seen[0].path, "/rest/workflowRuns/duplicates");
    assert_eq!(seen[0].body, Some(json!({"data": [{"name": "x"}]})));
    assert_eq!(seen[1].body, Some(json!({"ids": [RUN_ID]})));
}

#[test]
fn raw_prints_the_answer_unchanged() {
    let server = Recorder::start(workflow_runs);
    let home = Home::new();
    let run = home.run_at(&server.url, &["workflow-runs", "get", RUN_ID, "--raw"]);
    run.assert_ok();
    assert_eq!(run.json()["data"]["workflowRun"]["id"], RUN_ID);
}

#[test]
fn newer_verbs_of_the_2026_document() {
    let server = Recorder::start(workflow_runs);
    let home = Home::new();
    let schema = spec_2026();
    let schema = schema.to_str().expect("utf-8");
    let filter = "status[eq]:FAILED";
    let merge_ids = format!("{RUN_ID},{OTHER_ID}");
    // (arguments, method, path, query, body)
    type Case<'a> = (
        Vec<&'a str>,
        &'a str,
        String,
        Vec<(String, String)>,
        Option<Value>,
    );
    let cases: Vec<Case> = vec![
        (
            vec!["update-many", "--filter", filter, "--status", "enqueued"],
            "PATCH",
            "/rest/workflowRuns".into(),
            pairs(&[("filter", filter)]),
            Some(json!({"status": "ENQUEUED"})),
        ),
        (
            vec!["delete-many", "--filter", filter, "--soft-delete"],
            "DELETE",
            "/rest/workflowRuns".into(),
            pairs(&[("filter", filter), ("soft_delete", "true")]),
            None,
        ),
        (
            vec!["restore", RUN_ID],
            "PATCH",
            format!("/rest/restore/workflowRuns/{RUN_ID}"),
            vec![],
            None,
        ),
        (
            vec!["restore-many", "--filter", filter],
            "PATCH",
            "/rest/restore/workflowRuns".into(),
            pairs(&[("filter", filter)]),
            None,
        ),
        (
            vec!["delete", RUN_ID, "--soft-delete", "true"],
            "DELETE",
            format!("/rest/workflowRuns/{RUN_ID}"),
            pairs(&[("soft_delete", "true")]),
            None,
        ),
        (
            vec!["group-by", "--group-by", r#"[{"status":true}]"#],
            "GET",
            "/rest/workflowRuns/groupBy".into(),
            pairs(&[("group_by", r#"[{"status":true}]"#)]),
            None,
        ),
        (
            vec![
                "merge",
                "--data",
                r#"{"ids":["6b1a1f4e-3c2d-4e5f-8a9b-0c1d2e3f4a5b","00000000-0000-4000-8000-000000000002"],"conflictPriorityIndex":0}"#,
            ],
            "PATCH",
            "/rest/workflowRuns/merge".into(),
            vec![],
            Some(json!({"ids": [RUN_ID, OTHER_ID], "conflictPriorityIndex": 0})),
        ),
        (
            vec![
                "merge",
                "--ids",
                &merge_ids,
                "--conflict-priority-index",
                "1",
                "--dry-run",
            ],
            "PATCH",
            "/rest/workflowRuns/merge".into(),
            vec![],
            Some(json!({"ids": [RUN_ID, OTHER_ID], "conflictPriorityIndex": 1, "dryRun": true})),
        ),
    ];
    for (args, method, path, query, body) in &cases {
        let mut all = vec!["--schema", schema, "workflow-runs"];
        all.extend(args.iter());
        let before = server.requests().len();
        let run = home.run_at(&server.url, &all);
        assert_eq!(run.code, 0, "{args:?}\n{}", run.stderr);
        let seen = server.requests();
        assert_eq!(seen.len(), before + 1, "{args:?}");
        let last = seen.last().expect("a request");
        assert_eq!(last.method, *method, "{args:?}");
        assert_eq!(last.path, *path, "{args:?}");
        assert_eq!(last.query_pairs(), *query, "{args:?}");
        assert_eq!(last.authorization, bearer(), "{args:?}");
        if let Some(body) = body {
            assert_eq!(last.body.as_ref(), Some(body), "{args:?}");
        }
    }
}

#[test]
fn create_with_upsert_keeps_the_parameter_and_sets_an_id() {
    let server = Recorder::start(workflow_runs);
    let home = Home::new();
    let schema = spec_2026();
    home.run_at(
        &server.url,
        &[
            "--schema",
            schema.to_str().expect("utf-8"),
            "workflow-runs",
            "create",
            "--name",
            "x",
            "--upsert",
        ],
    )
    .assert_ok();
    let seen = server.only();
    assert_eq!(seen.query_pairs(), pairs(&[("upsert", "true")]));
    assert!(seen.body.expect("body")["id"].is_string());
}

#[test]
fn call_reaches_an_operation_by_its_id() {
    let server = Recorder::start(workflow_runs);
    let home = Home::new();
    let run = home.run_at(
        &server.url,
        &["call", "findOneWorkflowRun", "--id", RUN_ID, "--depth", "0"],
    );
    run.assert_ok();
    assert_eq!(run.json()["id"], RUN_ID);
    // The id goes after the operation id as it goes after a verb.
    home.run_at(&server.url, &["call", "findOneWorkflowRun", RUN_ID])
        .assert_ok();
    let seen = server.requests();
    assert_eq!(seen.len(), 2);
    assert_eq!(seen[0].path, format!("/rest/workflowRuns/{RUN_ID}"));
    assert_eq!(seen[0].query_pairs(), pairs(&[("depth", "0")]));
    assert_eq!(seen[1].path, format!("/rest/workflowRuns/{RUN_ID}"));
    assert_eq!(seen[1].query_pairs(), vec![]);
}

/// Three runs on two pages, paged by `starting_after`.
fn two_pages(r: &Recorded) -> (u16, Value) {
    let after = r
        .query_pairs()
        .into_iter()
        .find(|(k, _)| k == "starting_after")
        .map(|(_, v)| v);
    let (ids, next) = match after.as_deref() {
        None => (vec!["1", "2"], true),
        Some("c2") => (vec!["3"], false),
        Some(_) => (vec![], false),
    };
    let end = format!("c{}", ids.last().copied().unwrap_or("0"));
    let records: Vec<Value> = ids
        .iter()
        .map(|i| json!({"id": i, "name": format!("run {i}")}))
        .collect();
    (
        200,
        json!({"data": {"workflowRuns": records},
               "pageInfo": {"hasNextPage": next, "startCursor": "s", "endCursor": end},
               "totalCount": 3}),
    )
}

#[test]
fn list_all_follows_cursors_and_keeps_the_shape_of_a_list() {
    let server = Recorder::start(two_pages);
    let home = Home::new();
    let all = ["workflow-runs", "list", "--all", "--limit", "2"];
    let run = home.run_at(&server.url, &all);
    run.assert_ok();
    let ids = |v: &Value| -> Vec<Value> {
        v.as_array()
            .expect("an array")
            .iter()
            .map(|r| r["id"].clone())
            .collect()
    };
    assert_eq!(ids(&run.json()), [json!("1"), json!("2"), json!("3")]);
    let seen = server.requests();
    assert_eq!(seen.len(), 2);
    assert!(
        seen[1]
            .query_pairs()
            .contains(&("starting_after".into(), "c2".into()))
    );

    // Byte for byte what a plain list of the same records prints.
    let one_page = Recorder::start(|_| {
        let records: Vec<Value> = ["1", "2", "3"]
            .iter()
            .map(|i| json!({"id": i, "name": format!("run {i}")}))
            .collect();
        (
            200,
            json!({"data": {"workflowRuns": records},
                   "pageInfo": {"hasNextPage": false, "startCursor": "s", "endCursor": "e"}}),
        )
    });
    let plain = home.run_at(&one_page.url, &["workflow-runs", "list"]);
    plain.assert_ok();
    assert_eq!(run.stdout, plain.stdout);

    // JSON lines stay one record per line.
    let mut args = all.to_vec();
    args.extend(["--format", "jsonl"]);
    let run = home.run_at(&server.url, &args);
    run.assert_ok();
    assert_eq!(
        run.stdout,
        "{\"id\":\"1\",\"name\":\"run 1\"}\n{\"id\":\"2\",\"name\":\"run 2\"}\n\
         {\"id\":\"3\",\"name\":\"run 3\"}\n"
    );

    // An empty list is an empty array.
    let empty = Recorder::start(|_| {
        (
            200,
            json!({"data": {"workflowRuns": []},
                   "pageInfo": {"hasNextPage": false, "startCursor": null, "endCursor": null}}),
        )
    });
    let run = home.run_at(&empty.url, &all);
    run.assert_ok();
    assert_eq!(run.stdout, "[]\n");
}

#[test]
fn list_all_runs_jq_on_each_record() {
    let server = Recorder::start(two_pages);
    let home = Home::new();
    let all = ["workflow-runs", "list", "--all", "--limit", "2", "--jq"];

    let mut args = all.to_vec();
    args.push(".id");
    let run = home.run_at(&server.url, &args);
    run.assert_ok();
    assert_eq!(run.stdout, "1\n2\n3\n");

    // A filter written for the whole list fails, and says how to fix it.
    let mut args = all.to_vec();
    args.push(".[].id");
    let run = home.run_at(&server.url, &args);
    assert_eq!(run.code, 1, "{}", run.stderr);
    assert_eq!(run.stdout, "");
    assert_eq!(
        run.stderr,
        "error: --jq `.[].id` failed: cannot index \"1\" with \"id\"\n\
         hint: with --all, --jq runs on each record in turn, not on the whole list: write \
         `.id` instead of `.[].id`\n"
    );
}

#[test]
fn jq_objects_print_as_table_or_csv_rows() {
    let server = Recorder::start(two_pages);
    let home = Home::new();
    let list = |format: &str| {
        let args = [
            "workflow-runs",
            "list",
            "--format",
            format,
            "--jq",
            "[.[] | {name, id}]",
        ];
        let run = home.run_at(&server.url, &args);
        run.assert_ok();
        run.stdout
    };
    assert_eq!(list("csv"), "name,id\nrun 1,1\nrun 2,2\n");
    assert_eq!(
        list("table").lines().map(str::trim_end).collect::<Vec<_>>(),
        [
            "┌───────┬────┐",
            "│ name  ┆ id │",
            "╞═══════╪════╡",
            "│ run 1 ┆ 1  │",
            "│ run 2 ┆ 2  │",
            "└───────┴────┘",
        ]
    );
    // Anything else prints as before.
    let run = home.run_at(
        &server.url,
        &[
            "workflow-runs",
            "list",
            "--format",
            "table",
            "--jq",
            "length",
        ],
    );
    run.assert_ok();
    assert_eq!(run.stdout, "2\n");
}

#[test]
fn a_list_of_links_takes_comma_separated_urls() {
    let server = Recorder::start(|r| {
        (
            200,
            json!({"data": {"updateCompany": r.body.clone().unwrap_or_default()}}),
        )
    });
    let home = Home::new();
    let run = home.run_at(
        &server.url,
        &[
            "companies",
            "update",
            RUN_ID,
            "--domain-name.secondary-links",
            "acme.org, https://acme.io",
        ],
    );
    run.assert_ok();
    assert_eq!(
        server.only().body,
        Some(json!({"domainName": {"secondaryLinks": [
            {"url": "acme.org"}, {"url": "https://acme.io"}
        ]}}))
    );
}

#[test]
fn a_delete_whose_answer_was_lost_reports_what_it_did() {
    // As `twenty sandbox serve --faults seed=1,rate=1,kinds=reset-after,
    // max-in-row=1` runs: every request is handled and committed, then its
    // answer is lost once; the repeat gets an answer.
    let runtime = tokio::runtime::Runtime::new().expect("runtime");
    let mut config = SandboxConfig::new(twenty_core::builtin::standard());
    config.api_key = KEY.to_string();
    config.seed = Seed::Demo;
    config.faults = Some(
        "seed=1,rate=1,kinds=reset-after,max-in-row=1"
            .parse()
            .expect("fault spec"),
    );
    let address = "127.0.0.1:0".parse().expect("address");
    let sandbox = runtime
        .block_on(Sandbox::start(config, address))
        .expect("sandbox starts");
    let url = sandbox.url();
    let home = Home::new();
    let run = home.run_at(&url, &["workflow-runs", "list", "--jq", ".[].id"]);
    run.assert_ok();
    let ids: Vec<&str> = run.stdout.lines().collect();
    assert!(ids.len() >= 2, "the demo has workflow runs: {}", run.stdout);

    // An update sent again is answered as the first would have been.
    let run = home.run_at(
        &url,
        &["workflow-runs", "update", ids[0], "--name", "Renamed"],
    );
    run.assert_ok();
    assert_eq!(run.json()["name"], "Renamed");

    let run = home.run_at(&url, &["workflow-runs", "delete", ids[0]]);
    run.assert_ok();
    assert_eq!(run.json(), json!({"id": ids[0]}));
    assert_eq!(run.stderr, "");
    let run = home.run_at(&url, &["workflow-runs", "delete", ids[1], "--raw"]);
    run.assert_ok();
    assert_eq!(
        run.json(),
        json!({"data": {"deleteWorkflowRun": {"id": ids[1]}}})
    );
    for id in &ids[..2] {
        let run = home.run_at(&url, &["workflow-runs", "get", id]);
        assert_eq!(run.code, 6, "{id} is gone: {}", run.stdout);
    }
    runtime.block_on(sandbox.shutdown());
}

/// Answers restores with a 502 first, as a proxy does when the server
/// behind it may have acted, then 404 as Twenty does for a record that is
/// not deleted; reads as [`workflow_runs`], with `deleted_at` as the
/// record's `deletedAt`.
fn restore_after_a_502(deleted_at: Value) -> impl Fn(&Recorded) -> (u16, Value) {
    let restores = AtomicUsize::new(0);
    move |r| {
        if r.method == "PATCH" && r.path.starts_with("/rest/restore/") {
            if restores.fetch_add(1, Ordering::SeqCst) == 0 {
                let body = json!({"statusCode": 502, "error": "Bad Gateway", "messages": []});
                return (502, body);
            }
            let body = json!({"statusCode": 404, "error": "NotFoundException",
                              "messages": ["Record not found"]});
            return (404, body);
        }
        let (status, mut body) = workflow_runs(r);
        if let Some(record) = body.pointer_mut("/data/workflowRun") {
            record["deletedAt"] = deleted_at.clone();
        }
        (status, body)
    }
}

#[test]
fn a_restore_whose_answer_was_lost_reads_the_record_back() {
    let schema = spec_2026();
    let schema = schema.to_str().expect("utf-8");
    let home = Home::new();
    let restore = ["--schema", schema, "workflow-runs", "restore", RUN_ID];

    let server = Recorder::start(restore_after_a_502(Value::Null));
    let run = home.run_at(&server.url, &restore);
    run.assert_ok();
    assert_eq!(run.json()["id"], RUN_ID);
    assert_eq!(run.json()["deletedAt"], Value::Null);
    let sent: Vec<(String, String)> = server
        .requests()
        .into_iter()
        .map(|r| (r.method, r.path))
        .collect();
    let restore_path = format!("/rest/restore/workflowRuns/{RUN_ID}");
    let get_path = format!("/rest/workflowRuns/{RUN_ID}");
    assert_eq!(
        sent,
        [
            ("PATCH".to_string(), restore_path.clone()),
            ("PATCH".to_string(), restore_path),
            ("GET".to_string(), get_path),
        ]
    );

    // Still deleted: the repeat's 404 stands.
    let server = Recorder::start(restore_after_a_502(json!("2026-01-01T00:00:00.000Z")));
    let run = home.run_at(&server.url, &restore);
    assert_eq!(run.code, 6, "{}", run.stderr);
    assert!(
        run.stderr.starts_with("error: not found: PATCH "),
        "{}",
        run.stderr
    );
}

#[test]
fn a_composite_flag_merges_with_the_data_sub_field_by_sub_field() {
    let server = Recorder::start(workflow_runs);
    let home = Home::new();
    home.run_at(
        &server.url,
        &[
            "workflow-runs",
            "update",
            RUN_ID,
            "--data",
            r#"{"name": "n", "createdBy": {"source": "API", "name": "bot"}}"#,
            "--created-by",
            r#"{"name": "me"}"#,
        ],
    )
    .assert_ok();
    assert_eq!(
        server.only().body,
        Some(json!({"name": "n", "createdBy": {"source": "API", "name": "me"}}))
    );
}

/// Twenty answers find duplicates with one `{personDuplicates: [...]}`
/// per input: a table or CSV shows those records, JSON keeps the shape.
#[test]
fn find_duplicates_tables_show_the_duplicate_records() {
    let home = Home::new();
    let create = |last: &str| {
        let run = home.run(&[
            "--sandbox",
            "people",
            "create",
            "--name.first-name",
            "Zed",
            "--name.last-name",
            last,
            "--jq",
            ".id",
        ]);
        run.assert_ok().stdout.trim().to_string()
    };
    let (a, b) = (create("Twin"), create("Twin"));

    let run = home.run(&["--sandbox", "people", "find-duplicates", "--ids", &a]);
    assert_eq!(
        run.assert_ok().json()[0]["personDuplicates"][0]["id"],
        json!(b)
    );

    let run = home.run(&[
        "--sandbox",
        "people",
        "find-duplicates",
        "--ids",
        &a,
        "--format",
        "table",
    ]);
    let table = &run.assert_ok().stdout;
    let header = table.lines().nth(1).expect("a header line");
    assert!(header.contains("id") && header.contains("name"), "{table}");
    assert!(table.contains(&b) && table.contains("Zed Twin"), "{table}");
    assert!(!table.contains(&a), "{table}");

    let run = home.run(&[
        "--sandbox",
        "people",
        "find-duplicates",
        "--ids",
        &a,
        "--ids",
        &b,
        "--format",
        "csv",
    ]);
    let csv = run.assert_ok().stdout.clone();
    let lines: Vec<&str> = csv.lines().collect();
    assert!(
        lines[0].starts_with("name.firstName,name.lastName,"),
        "{csv}"
    );
    assert_eq!(lines.len(), 3, "{csv}");
    assert!(
        lines[1].starts_with("Zed,Twin,") && lines[1].contains(&b),
        "{csv}"
    );
    assert!(
        lines[2].starts_with("Zed,Twin,") && lines[2].contains(&a),
        "{csv}"
    );
}

/// One rule clears a field: `null` in `--set` or a field flag, an empty
/// flag value or `null` in --data all send `null` for a field that is not
/// text; for text the empty string is the empty string and `null` the word.
#[test]
fn null_or_empty_clears_a_field_that_is_not_text() {
    let server = Recorder::start(workflow_runs);
    let home = Home::new();
    let update = |inputs: &[&str]| {
        let mut args = vec!["workflow-runs", "update", RUN_ID];
        args.extend(inputs);
        home.run_at(&server.url, &args).assert_ok();
    };
    update(&["--set", "workflowVersionId=null", "--set", "endedAt=null"]);
    update(&["--workflow-version-id", "", "--ended-at", "null"]);
    update(&["--data", r#"{"workflowVersionId": null, "endedAt": null}"#]);
    update(&["--set", "status= null "]);
    update(&["--name", "", "--set", "output=null"]);
    update(&["--set", "name=null"]);
    let bodies: Vec<Value> = server
        .requests()
        .into_iter()
        .map(|r| r.body.expect("a body"))
        .collect();
    let cleared = json!({"workflowVersionId": null, "endedAt": null});
    assert_eq!(bodies[0], cleared);
    assert_eq!(bodies[1], cleared);
    assert_eq!(bodies[2], cleared);
    assert_eq!(bodies[3], json!({"status": null}));
    assert_eq!(bodies[4], json!({"name": "", "output": null}));
    assert_eq!(bodies[5], json!({"name": "null"}));
}
