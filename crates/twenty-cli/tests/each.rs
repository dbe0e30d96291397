//! `--each`: one call per input line, one result line per input in input
//! order, error lines with `--continue-on-error`, and parallel items with
//! `--concurrency` that still print in order. A file is checked whole
//! before anything is sent; a stream stops at its first bad line and says
//! what ran. `--jq` and `--format` apply to each line's result.

mod support;

use std::process::Stdio;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use serde_json::{Value, json};
use support::{Counter, Home, Recorded, Recorder, Run, workflow_runs};

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
        json!({"line": 3, "error": "Record not found", "status": 400, "exit_code": 6})
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
    let mut stderr = run.stderr.lines();
    let error = stderr.next().unwrap_or_default();
    assert!(error.starts_with("error: --each `"), "{}", run.stderr);
    assert!(error.contains("` line 3: not found: PATCH"), "{error}");
    assert!(error.ends_with("Record not found"), "{error}");
    assert_eq!(
        stderr.last(),
        Some("hint: lines 1-2 ran (their results are on stdout); nothing after line 3 was sent")
    );
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
    // Line 1 ran, so the exit code cannot be 2, which says nothing was.
    assert_eq!(run.code, 1, "{}", run.stderr);
    let out = lines(&run.stdout);
    assert_eq!(out.len(), 3);
    assert_eq!(out[0]["id"], IDS[0]);
    // No server answered: no status at all rather than a null one.
    assert_eq!(
        out[1],
        json!({"line": 2, "error": "record id `nope` is not a uuid", "exit_code": 2})
    );
    assert_eq!(out[2]["line"], 3);
    assert!(
        out[2]["error"]
            .as_str()
            .expect("text")
            .contains("invalid value 'DONE' for status: expected one of")
    );
    assert_eq!(server.requests().len(), 1);
}

#[test]
fn concurrency_keeps_input_order() {
    // Earlier items answer later, so an unordered writer would reverse
    // them; the server counts the requests it holds at once.
    let (now, most) = (Arc::new(AtomicUsize::new(0)), Arc::new(AtomicUsize::new(0)));
    let (held, peak) = (now.clone(), most.clone());
    let server = Recorder::start(move |r| {
        let last = r
            .path
            .chars()
            .last()
            .and_then(|c| c.to_digit(10))
            .unwrap_or(0);
        peak.fetch_max(held.fetch_add(1, Ordering::SeqCst) + 1, Ordering::SeqCst);
        std::thread::sleep(Duration::from_millis(u64::from(9 - last) * 60));
        held.fetch_sub(1, Ordering::SeqCst);
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
    assert!(
        most.load(Ordering::SeqCst) > 1,
        "the items were sent one at a time"
    );
    assert_eq!(now.load(Ordering::SeqCst), 0);
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

/// Runs `--each -` against `url` with `input` piped to stdin.
fn piped(home: &Home, url: &str, args: &[&str], input: &str) -> Run {
    let key = home.key_file();
    let mut all = vec![
        "--api-url",
        url,
        "--api-key-file",
        key.to_str().expect("utf-8"),
    ];
    all.extend_from_slice(args);
    home.run_with_stdin(&all, input)
}

/// Three valid lines around a bad status on line 3, a blank line 2, and a
/// bad id on line 5.
const WITH_BAD_LINES: &str = "{\"name\":\"a\"}\n\n{\"name\":\"c\",\"status\":\"bogus\"}\n\
     {\"name\":\"d\"}\n{\"id\":\"nope\",\"name\":\"e\"}\n";

#[test]
fn a_file_is_checked_whole_before_anything_is_sent() {
    let counter = Counter::start();
    let home = Home::new();
    let file = home.path().join("runs.jsonl");
    std::fs::write(&file, WITH_BAD_LINES).expect("write");
    let path = file.to_str().expect("utf-8");
    let run = home.run_at(&counter.url, &["workflow-runs", "create", "--each", path]);
    assert_eq!(run.code, 2, "{}", run.stderr);
    assert_eq!(run.stdout, "");
    assert_eq!(
        run.stderr,
        format!(
            "error: --each `{path}` line 3: invalid value 'bogus' for status: expected one \
             of NOT_STARTED, RUNNING, COMPLETED, FAILED\nhint: nothing was sent: every line \
             of a file is checked before the first is sent; line 5 is invalid too\n"
        )
    );

    // An error with a hint of its own keeps it.
    let run = home.run_at(
        &counter.url,
        &["workflow-runs", "update", "--each", path, "--name", "x"],
    );
    assert_eq!(run.code, 2, "{}", run.stderr);
    assert!(
        run.stderr.starts_with(&format!(
            "error: --each `{path}` line 1: missing record id: `twenty workflow-runs update` \
             needs the id of the record\nhint: pass it after the verb, such as `twenty \
             workflow-runs update 8d7f2a8e-1f4b-4c39-9a4e-2f6c2b1d9e10`; nothing was sent:"
        )),
        "{}",
        run.stderr
    );
    assert!(
        run.stderr.ends_with("; lines 3, 4 and 5 are invalid too\n"),
        "{}",
        run.stderr
    );

    // The same file redirected to stdin is a file too.
    let redirected = home
        .command()
        .args(["--api-url", &counter.url, "--api-key-file"])
        .arg(home.key_file())
        .args(["workflow-runs", "create", "--each", "-"])
        .stdin(Stdio::from(std::fs::File::open(&file).expect("open")))
        .output()
        .expect("run twenty");
    let redirected = Run::from(redirected);
    assert_eq!(redirected.code, 2, "{}", redirected.stderr);
    assert!(
        redirected
            .stderr
            .starts_with("error: --each line 3: invalid value 'bogus' for status: expected one of"),
        "{}",
        redirected.stderr
    );
    assert!(
        redirected.stderr.contains("line 5 is invalid too"),
        "{}",
        redirected.stderr
    );
    std::thread::sleep(Duration::from_millis(50));
    assert_eq!(counter.connections(), 0, "nothing may be sent");
}

#[test]
fn a_stream_stops_at_a_bad_line_and_says_what_ran() {
    let server = Recorder::start(workflow_runs);
    let home = Home::new();
    let run = piped(
        &home,
        &server.url,
        &["workflow-runs", "create", "--each", "-", "--jq", ".name"],
        WITH_BAD_LINES,
    );
    // Line 1 was created: 2 would claim that nothing was sent.
    assert_eq!(run.code, 1, "{}", run.stderr);
    assert_eq!(run.stdout, "a\n");
    assert_eq!(
        run.stderr,
        "error: --each line 3: invalid value 'bogus' for status: expected one of \
         NOT_STARTED, RUNNING, COMPLETED, FAILED\n\
         hint: line 1 ran (its result is on stdout); nothing after line 3 was sent\n"
    );
    assert_eq!(server.requests().len(), 1);

    // A bad first line sends nothing, and says so with code 2.
    let run = piped(
        &home,
        &server.url,
        &["workflow-runs", "create", "--each", "-"],
        "[1]\n{\"name\":\"never\"}\n",
    );
    assert_eq!(run.code, 2, "{}", run.stderr);
    assert_eq!(
        run.stderr,
        "error: --each line 1: not a JSON object: each line holds one object, such as \
         {\"name\": \"x\"}\nhint: nothing was sent\n"
    );
    assert_eq!(server.requests().len(), 1);
}

#[test]
fn jq_applies_to_each_result_in_input_order() {
    let server = Recorder::start(workflow_runs);
    let home = Home::new();
    let input = "{\"name\":\"e-a\"}\n{\"name\":\"e-b\"}\n";
    let args = ["workflow-runs", "create", "--each", "-", "--jq"];

    // Text prints raw, one output per line.
    let mut names = args.to_vec();
    names.push(".name");
    let run = piped(&home, &server.url, &names, input);
    run.assert_ok();
    assert_eq!(run.stdout, "e-a\ne-b\n");

    // Anything else prints as one JSON line per output.
    let mut objects = args.to_vec();
    objects.push("{name, status}");
    let run = piped(&home, &server.url, &objects, input);
    run.assert_ok();
    assert_eq!(
        run.stdout,
        "{\"name\":\"e-a\",\"status\":\"RUNNING\"}\n{\"name\":\"e-b\",\"status\":\"RUNNING\"}\n"
    );
}

#[test]
fn formats_apply_to_each_result() {
    let server = Recorder::start(workflow_runs);
    let home = Home::new();
    let input = "{\"name\":\"e-a\"}\n{\"name\":\"e-b\"}\n";
    let each = |format: &str, jq: Option<&str>| {
        let mut args = vec!["workflow-runs", "create", "--each", "-", "--format", format];
        if let Some(jq) = jq {
            args.extend(["--jq", jq]);
        }
        let run = piped(&home, &server.url, &args, input);
        run.assert_ok();
        run.stdout
    };

    for format in ["json", "jsonl"] {
        let out: Vec<Value> = lines(&each(format, None));
        assert_eq!(out.len(), 2, "{format}");
        assert_eq!(
            (&out[0]["name"], &out[1]["name"]),
            (&json!("e-a"), &json!("e-b"))
        );
    }

    // CSV: one header, then a row per item.
    let csv = each("csv", None);
    let rows: Vec<&str> = csv.lines().collect();
    assert_eq!(rows.len(), 3, "{csv}");
    assert!(
        rows[0].starts_with("workflowVersionId,workflowId,"),
        "{csv}"
    );
    assert!(
        rows[1].contains(",e-a,") && rows[2].contains(",e-b,"),
        "{csv}"
    );
    assert_eq!(
        each("csv", Some("{name, status}")),
        "name,status\ne-a,RUNNING\ne-b,RUNNING\n"
    );

    // A table: one, printed once every item has run.
    let table = each("table", None);
    assert_eq!(table.matches("│ id ").count(), 1, "{table}");
    let a = table.find(" e-a ").expect("row of e-a");
    let b = table.find(" e-b ").expect("row of e-b");
    assert!(a < b, "{table}");
    let picked = each("table", Some("{name}"));
    assert_eq!(
        picked.lines().map(str::trim_end).collect::<Vec<_>>(),
        [
            "┌──────┐",
            "│ name │",
            "╞══════╡",
            "│ e-a  │",
            "│ e-b  │",
            "└──────┘"
        ]
    );
}

#[test]
fn error_lines_keep_csv_clean_by_going_to_stderr() {
    let server = Recorder::start(echo);
    let home = Home::new();
    let input: String = IDS
        .iter()
        .map(|id| format!("{{\"id\":\"{id}\",\"name\":\"n\"}}\n"))
        .collect();
    let run = piped(
        &home,
        &server.url,
        &[
            "workflow-runs",
            "update",
            "--each",
            "-",
            "--continue-on-error",
            "--format",
            "csv",
            "--jq",
            "{id}",
        ],
        &input,
    );
    assert_eq!(run.code, 6, "{}", run.stderr);
    assert_eq!(
        run.stdout,
        format!("id\n{}\n{}\n{}\n", IDS[0], IDS[1], IDS[3])
    );
    assert!(
        run.stderr
            .starts_with("error: --each line 3: not found: PATCH "),
        "{}",
        run.stderr
    );
    assert_eq!(run.stderr.lines().count(), 1, "{}", run.stderr);
}

#[test]
fn in_flight_lines_after_a_failure_still_report() {
    // Four in flight: line 4 is sent before line 3's failure is known,
    // so it runs, and must be reported.
    let server = Recorder::start(echo);
    let home = Home::new();
    let input: String = IDS
        .iter()
        .map(|id| format!("{{\"id\":\"{id}\"}}\n"))
        .collect();
    let run = piped(
        &home,
        &server.url,
        &[
            "workflow-runs",
            "update",
            "--each",
            "-",
            "--concurrency",
            "4",
            "--jq",
            ".id",
        ],
        &input,
    );
    assert_eq!(run.code, 6, "{}", run.stderr);
    assert_eq!(run.stdout, format!("{}\n{}\n{}\n", IDS[0], IDS[1], IDS[3]));
    assert!(
        run.stderr.ends_with(
            "hint: lines 1-2 and 4 ran (their results are on stdout); nothing after line 4 \
             was sent\n"
        ),
        "{}",
        run.stderr
    );
}
