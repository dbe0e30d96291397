//! `--each`: one call per input line, one result line per input in input
//! order, error lines with `--continue-on-error`, and parallel items with
//! `--concurrency` that still print in order.

mod support;

use std::time::Duration;

use serde_json::{Value, json};
use support::{Home, Recorded, Recorder, workflow_runs};

const IDS: [&str; 4] = [
    "00000000-0000-4000-8000-000000000001",
    "00000000-0000-4000-8000-000000000002",
    "00000000-0000-4000-8000-000000000003",
    "00000000-0000-4000-8000-000000000004",
];

/// Echoes the id of the path and the body; id 3 is refused like Twenty
/// refuses a missing record.
fn echo(r: &Recorded) -> (u16, Value) {
    let id = r.path.rsplit('/').next().unwrap_or_default().to_string();
    if id == IDS[2] {
        return (
            400,
            json!({"statusCode": 400, "error": "BadRequestException", "messages": ["Record not found"]}),
        );
    }
    let mut record = json!({"id": id});
    if let Some(Value::Object(body)) = &r.body {
        for (k, v) in body {
            record[k] = v.clone();
        }
    }
    (200, json!({"data": {"updateWorkflowRun": record}}))
}

fn lines(stdout: &str) -> Vec<Value> {
    stdout
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{e}: {l}")))
        .collect()
}

#[test]
fn each_line_supplies_id_and_fields_with_flags_as_defaults() {
    let server = Recorder::start(workflow_runs);
    let home = Home::new();
    let input = format!(
        "{{\"id\":\"{}\",\"status\":\"completed\"}}\n\n{{\"id\":\"{}\",\"name\":\"b\",\"depth\":1}}\n",
        IDS[0], IDS[1]
    );
    let key = home.key_file();
    let run = home.run_with_stdin(
        &[
            "--api-url",
            &server.url,
            "--api-key-file",
            key.to_str().expect("utf-8"),
            "workflow-runs",
            "update",
            "--each",
            "-",
            "--status",
            "FAILED",
        ],
        &input,
    );
    run.assert_ok();
    assert_eq!(lines(&run.stdout).len(), 2);
    let seen = server.requests();
    assert_eq!(seen.len(), 2);
    assert_eq!(seen[0].path, format!("/rest/workflowRuns/{}", IDS[0]));
    assert_eq!(seen[0].body, Some(json!({"status": "COMPLETED"})));
    assert_eq!(seen[1].path, format!("/rest/workflowRuns/{}", IDS[1]));
    assert_eq!(seen[1].body, Some(json!({"status": "FAILED", "name": "b"})));
    assert_eq!(seen[1].query.as_deref(), Some("depth=1"));
}

#[test]
fn continue_on_error_writes_an_error_line_and_goes_on() {
    let server = Recorder::start(echo);
    let home = Home::new();
    let file = home.path().join("items.jsonl");
    let input: String = IDS
        .iter()
        .map(|id| format!("{{\"id\":\"{id}\",\"name\":\"n\"}}\n"))
        .collect();
    std::fs::write(&file, input).expect("write");
    let run = home.run_at(
        &server.url,
        &[
            "workflow-runs",
            "update",
            "--each",
            file.to_str().expect("utf-8"),
            "--continue-on-error",
        ],
    );
    assert_eq!(
        run.code, 6,
        "a missing record is exit code 6: {}",
        run.stderr
    );
    let out = lines(&run.stdout);
    assert_eq!(out.len(), 4);
    assert_eq!(out[0]["id"], IDS[0]);
    assert_eq!(out[1]["id"], IDS[1]);
    assert_eq!(
        out[2],
        json!({"index": 2, "error": "Record not found", "status": 400})
    );
    assert_eq!(out[3]["id"], IDS[3]);
}

#[test]
fn without_continue_on_error_the_first_failure_stops() {
    let server = Recorder::start(echo);
    let home = Home::new();
    let file = home.path().join("items.jsonl");
    let input: String = IDS
        .iter()
        .map(|id| format!("{{\"id\":\"{id}\"}}\n"))
        .collect();
    std::fs::write(&file, input).expect("write");
    let run = home.run_at(
        &server.url,
        &[
            "workflow-runs",
            "update",
            "--each",
            file.to_str().expect("utf-8"),
        ],
    );
    assert_eq!(run.code, 6, "{}", run.stderr);
    assert_eq!(lines(&run.stdout).len(), 2);
    assert!(run.stderr.starts_with("error: "), "{}", run.stderr);
    assert!(run.stderr.contains("Record not found"), "{}", run.stderr);
    assert_eq!(server.requests().len(), 3, "the fourth item is never sent");
}

#[test]
fn an_invalid_item_is_refused_before_sending_it() {
    let server = Recorder::start(echo);
    let home = Home::new();
    let file = home.path().join("items.jsonl");
    std::fs::write(
        &file,
        format!(
            "{{\"id\":\"{}\"}}\n{{\"id\":\"nope\"}}\n{{\"id\":\"{}\",\"status\":\"DONE\"}}\n",
            IDS[0], IDS[1]
        ),
    )
    .expect("write");
    let run = home.run_at(
        &server.url,
        &[
            "workflow-runs",
            "update",
            "--each",
            file.to_str().expect("utf-8"),
            "--continue-on-error",
        ],
    );
    assert_eq!(run.code, 2, "{}", run.stderr);
    let out = lines(&run.stdout);
    assert_eq!(out[0]["id"], IDS[0]);
    assert_eq!(out[1]["index"], 1);
    assert!(
        out[1]["error"]
            .as_str()
            .expect("text")
            .contains("not a uuid")
    );
    assert_eq!(out[1]["status"], Value::Null);
    assert!(
        out[2]["error"]
            .as_str()
            .expect("text")
            .contains("expected one of")
    );
    assert_eq!(server.requests().len(), 1);
}

#[test]
fn concurrency_keeps_input_order() {
    // Earlier items answer later, so an unordered writer would reverse them.
    let server = Recorder::start(|r| {
        let last = r
            .path
            .chars()
            .last()
            .and_then(|c| c.to_digit(10))
            .unwrap_or(0);
        std::thread::sleep(Duration::from_millis(u64::from(9 - last) * 60));
        echo(r)
    });
    let ids: Vec<String> = (1..=8)
        .map(|i| format!("00000000-0000-4000-8000-00000000001{i}"))
        .collect();
    let home = Home::new();
    let file = home.path().join("items.jsonl");
    let input: String = ids
        .iter()
        .map(|id| format!("{{\"id\":\"{id}\"}}\n"))
        .collect();
    std::fs::write(&file, input).expect("write");
    let started = std::time::Instant::now();
    let run = home.run_at(
        &server.url,
        &[
            "workflow-runs",
            "update",
            "--each",
            file.to_str().expect("utf-8"),
            "--concurrency",
            "8",
        ],
    );
    run.assert_ok();
    let out: Vec<String> = lines(&run.stdout)
        .iter()
        .map(|v| v["id"].as_str().expect("id").to_string())
        .collect();
    assert_eq!(out, ids);
    // One at a time would take the sum of the delays (over 2 s).
    assert!(
        started.elapsed() < Duration::from_millis(1800),
        "{:?}",
        started.elapsed()
    );
}

#[test]
fn create_items_use_the_safe_create() {
    let server = Recorder::start(workflow_runs);
    let home = Home::new();
    let key = home.key_file();
    let run = home.run_with_stdin(
        &[
            "--api-url",
            &server.url,
            "--api-key-file",
            key.to_str().expect("utf-8"),
            "workflow-runs",
            "create",
            "--each",
            "-",
        ],
        "{\"name\":\"a\"}\n{\"name\":\"b\",\"createdBy.source\":\"api\"}\n",
    );
    run.assert_ok();
    let seen = server.requests();
    assert_eq!(seen.len(), 2);
    for (request, name) in seen.iter().zip(["a", "b"]) {
        let body = request.body.as_ref().expect("body");
        assert_eq!(body["name"], name);
        assert!(body["id"].is_string(), "client id: {body}");
    }
    assert_eq!(
        seen[1].body.as_ref().expect("body")["createdBy"],
        json!({"source": "API"})
    );
}
