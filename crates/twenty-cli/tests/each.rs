//! `--each`: one call per input line, one result line per input in input
//! order, error lines with `--continue-on-error`, and parallel items with
//! `--concurrency` that still print in order. A file is checked whole
//! before anything is sent; a stream stops at its first bad line and says
//! what ran. `--jq` and `--format` apply to each line's result. The exit
//! code is 1 once any line took effect; a closed stdout or Ctrl-C stops
//! the sending and says which lines ran.

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
    // Lines 1 and 2 ran before line 3 failed: 1, whatever line 3's code.
    assert_eq!(run.code, 1, "{}", run.stderr);
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
            "--name",
            "n",
            "--each",
            file.to_str().expect("utf-8"),
        ],
    );
    assert_eq!(run.code, 1, "{}", run.stderr);
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
            "--name",
            "n",
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
            "--name",
            "n",
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
            "error: --each `{path}` line 1: missing record id: the line has no `id`, which \
             `twenty workflow-runs update` needs\nhint: add one to every line, such as \
             {{\"id\": \"8d7f2a8e-1f4b-4c39-9a4e-2f6c2b1d9e10\"}}; nothing was sent:"
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
    assert_eq!(run.code, 1, "{}", run.stderr);
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
            "--name",
            "n",
            "--each",
            "-",
            "--concurrency",
            "4",
            "--jq",
            ".id",
        ],
        &input,
    );
    assert_eq!(run.code, 1, "{}", run.stderr);
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

/// Reads workflow runs by id; id 3 is missing (404, as Twenty 2026 says).
fn reads(r: &Recorded) -> (u16, Value) {
    let id = r.path.rsplit('/').next().unwrap_or_default().to_string();
    if id == IDS[2] {
        let body = json!({"statusCode": 404, "error": "NotFoundException",
                          "messages": ["Record not found"]});
        return (404, body);
    }
    (200, json!({"data": {"workflowRun": {"id": id}}}))
}

/// A file of one `{"id": ...}` line per id.
fn id_file(home: &Home, name: &str, ids: &[&str]) -> String {
    let path = home.path().join(name);
    let text: String = ids
        .iter()
        .map(|id| format!("{{\"id\":\"{id}\"}}\n"))
        .collect();
    std::fs::write(&path, text).expect("write");
    path.to_str().expect("utf-8").to_string()
}

#[test]
fn the_exit_code_says_whether_any_line_took_effect() {
    let server = Recorder::start(reads);
    let home = Home::new();
    let some_ran = id_file(&home, "some.jsonl", &[IDS[0], IDS[2], IDS[1]]);
    let none_ran = id_file(&home, "none.jsonl", &[IDS[2], IDS[0]]);
    let get = |file: &str, more: &[&str]| {
        let mut args = vec!["workflow-runs", "get", "--each", file, "--jq", ".id"];
        args.extend_from_slice(more);
        home.run_at(&server.url, &args)
    };

    // Line 1 ran, line 2 was not found: 1, with or without going on.
    let run = get(&some_ran, &[]);
    assert_eq!(run.code, 1, "{}", run.stderr);
    assert_eq!(run.stdout, format!("{}\n", IDS[0]));
    assert!(
        run.stderr.ends_with(
            "hint: line 1 ran (its result is on stdout); nothing after line 2 was sent\n"
        ),
        "{}",
        run.stderr
    );
    let run = get(&some_ran, &["--continue-on-error"]);
    assert_eq!(run.code, 1, "{}", run.stderr);
    let out: Vec<&str> = run.stdout.lines().collect();
    assert_eq!(out[0], IDS[0]);
    assert_eq!(
        serde_json::from_str::<Value>(out[1]).expect("an error line"),
        json!({"line": 2, "error": "Record not found", "status": 404, "exit_code": 6})
    );
    assert_eq!(out[2], IDS[1]);

    // The first line failed and stopped the run: nothing took effect, so
    // the code is that line's.
    let run = get(&none_ran, &[]);
    assert_eq!(run.code, 6, "{}", run.stderr);
    assert!(
        run.stderr
            .ends_with("hint: no line ran; nothing after line 1 was sent\n"),
        "{}",
        run.stderr
    );
    // Going on, line 2 ran.
    assert_eq!(get(&none_ran, &["--continue-on-error"]).code, 1);

    // An empty file runs nothing, which is no failure.
    let empty = id_file(&home, "empty.jsonl", &[]);
    let run = get(&empty, &[]);
    run.assert_ok();
    assert_eq!((run.stdout.as_str(), run.stderr.as_str()), ("", ""));
    assert_eq!(server.requests().len(), 2 + 3 + 1 + 2);
}

/// Runs `twenty --api-url URL ... args` with stdout closed before it
/// writes anything, as `| head -0` would leave it; returns the exit code
/// and stderr.
fn with_stdout_closed(home: &Home, url: &str, args: &[&str]) -> (Option<i32>, String) {
    let mut child = home
        .command()
        .args(["--api-url", url, "--api-key-file"])
        .arg(home.key_file())
        .args(args)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("twenty starts");
    drop(child.stdout.take());
    let output = child.wait_with_output().expect("twenty ends");
    let stderr = String::from_utf8_lossy(&output.stderr).into_owned();
    (output.status.code(), stderr)
}

#[test]
fn a_closed_stdout_stops_the_lines_and_a_change_says_what_ran() {
    let server = Recorder::start(workflow_runs);
    let home = Home::new();
    let file = home.path().join("runs.jsonl");
    let input: String = (1..=30)
        .map(|i| format!("{{\"name\":\"r{i}\"}}\n"))
        .collect();
    std::fs::write(&file, input).expect("write");
    let path = file.to_str().expect("utf-8");

    let (code, stderr) = with_stdout_closed(
        &home,
        &server.url,
        &["workflow-runs", "create", "--each", path, "--jq", ".name"],
    );
    assert_eq!(code, Some(1), "{stderr}");
    assert_eq!(
        stderr,
        format!(
            "error: --each `{path}` stopped: stdout was closed before every result was \
             written\nhint: line 1 ran, but the result of line 1 could not be written to the \
             closed stdout; nothing after line 1 was sent\n"
        )
    );
    assert_eq!(
        server.requests().len(),
        1,
        "no line after the first is sent"
    );

    // A table is written at the end, so every line ran and none was seen.
    let short = id_file(&home, "two.jsonl", &[IDS[0], IDS[1]]);
    let (code, stderr) = with_stdout_closed(
        &home,
        &server.url,
        &[
            "workflow-runs",
            "delete",
            "--each",
            &short,
            "--format",
            "table",
        ],
    );
    assert_eq!(code, Some(1), "{stderr}");
    assert!(
        stderr.ends_with(
            "hint: lines 1-2 ran, but the results of lines 1 and 2 could not be written to \
             the closed stdout; nothing after line 2 was sent\n"
        ),
        "{stderr}"
    );

    // A read ends quietly, as `list | head` does.
    let reads_sent = server.requests().len();
    let ids = id_file(&home, "ids.jsonl", &[IDS[0], IDS[1], IDS[3]]);
    let (code, stderr) = with_stdout_closed(
        &home,
        &server.url,
        &["workflow-runs", "get", "--each", &ids],
    );
    assert_eq!((code, stderr.as_str()), (Some(0), ""));
    assert_eq!(server.requests().len(), reads_sent + 1);
}

#[cfg(unix)]
#[test]
fn ctrl_c_stops_sending_lets_the_line_in_flight_finish_and_says_what_ran() {
    use std::io::BufRead as _;
    use std::sync::Mutex;
    use std::sync::mpsc;

    // Line 2's request is held until the test has seen the interruption
    // reach twenty, so that it is in flight when Ctrl-C comes.
    let (arrived, line_two) = mpsc::channel::<()>();
    let (release, held) = mpsc::channel::<()>();
    let (arrived, held) = (Mutex::new(arrived), Mutex::new(held));
    let server = Recorder::start(move |r| {
        if r.path.ends_with(IDS[1]) {
            arrived.lock().expect("lock").send(()).expect("test waits");
            held.lock().expect("lock").recv().expect("test releases");
        }
        echo(r)
    });
    let home = Home::new();
    let path = id_file(&home, "items.jsonl", &IDS);
    let mut child = home
        .command()
        .args(["--api-url", &server.url, "--api-key-file"])
        .arg(home.key_file())
        .args(["workflow-runs", "update", "--each", &path, "--name", "x"])
        .args(["--jq", ".id"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("twenty starts");
    line_two.recv().expect("line 2 is sent");
    let kill = std::process::Command::new("kill")
        .args(["-INT", &child.id().to_string()])
        .status()
        .expect("kill runs");
    assert!(kill.success());
    let mut stderr = std::io::BufReader::new(child.stderr.take().expect("stderr"));
    let mut notice = String::new();
    stderr.read_line(&mut notice).expect("a line on stderr");
    assert_eq!(
        notice,
        "interrupted: waiting up to 3s for line 2 in flight; Ctrl-C again to stop waiting\n"
    );
    release.send(()).expect("the server waits");

    let mut rest = String::new();
    std::io::Read::read_to_string(&mut stderr, &mut rest).expect("stderr");
    let output = child.wait_with_output().expect("twenty ends");
    assert_eq!(output.status.code(), Some(130), "{rest}");
    assert_eq!(
        String::from_utf8_lossy(&output.stdout),
        format!("{}\n{}\n", IDS[0], IDS[1])
    );
    assert_eq!(
        rest,
        format!(
            "error: --each `{path}` was interrupted (Ctrl-C)\nhint: lines 1-2 ran (their \
             results are on stdout); nothing after line 2 was sent\n"
        )
    );
    assert_eq!(server.requests().len(), 2);
}

#[test]
fn lines_that_cannot_run_say_what_to_change_in_the_line() {
    let counter = Counter::start();
    let home = Home::new();
    let run_lines = |args: &[&str], input: &str| {
        let run = piped(&home, &counter.url, args, input);
        assert_eq!(run.code, 2, "{}", run.stderr);
        assert_eq!(run.stdout, "");
        run.stderr
    };

    // Whole records, as `list --format jsonl` writes them, into a delete.
    let record = format!(
        "{{\"id\":\"{}\",\"name\":\"n\",\"status\":\"RUNNING\",\"position\":1,\
         \"output\":null,\"context\":null,\"createdAt\":\"2026-01-01\"}}\n",
        IDS[0]
    );
    assert_eq!(
        run_lines(&["workflow-runs", "delete", "--each", "-"], &record),
        "error: --each line 1: `twenty workflow-runs delete` takes no fields, but the line \
         has `name`, `status`, `position`, `output`, `context` and 1 more\n\
         hint: a line may hold only `id`: keep just the id, such as with `--jq '{id}'` on the \
         command that writes the lines\n\
         hint: nothing was sent\n"
    );
    // A line without an id.
    assert_eq!(
        run_lines(
            &["workflow-runs", "get", "--each", "-"],
            "{\"name\":\"n\"}\n"
        ),
        "error: --each line 1: missing record id: the line has no `id`, which `twenty \
         workflow-runs get` needs\n\
         hint: add one to every line, such as {\"id\": \"8d7f2a8e-1f4b-4c39-9a4e-2f6c2b1d9e10\"}\n\
         hint: nothing was sent\n"
    );
    // An update line with nothing to change.
    assert_eq!(
        run_lines(
            &["workflow-runs", "update", "--each", "-"],
            &format!("{{\"id\":\"{}\"}}\n", IDS[0])
        ),
        "error: --each line 1: nothing to update: give a field flag, --set or --data\n\
         hint: add a field to the line, such as {\"name\": \"x\"}, or give a field flag as \
         every line's default\n\
         hint: nothing was sent\n"
    );
    assert_eq!(counter.connections_made(), 0);
}

#[test]
fn a_lines_composite_merges_with_the_flags_sub_fields() {
    let server = Recorder::start(|r| {
        let body = r.body.clone().unwrap_or_default();
        (201, json!({"data": {"createPerson": body}}))
    });
    let home = Home::new();
    let input = "{\"name\":{\"firstName\":\"E1\"}}\n\
                 {\"name\":{\"firstName\":\"E2\",\"lastName\":\"Own\"}}\n\
                 {\"name.firstName\":\"E3\"}\n";
    let run = piped(
        &home,
        &server.url,
        &[
            "people",
            "create",
            "--each",
            "-",
            "--name.last-name",
            "Default",
            "--emails",
            r#"{"primaryEmail": "team@example.com"}"#,
        ],
        input,
    );
    run.assert_ok();
    let names: Vec<Value> = server
        .requests()
        .iter()
        .map(|r| r.body.as_ref().expect("a body")["name"].clone())
        .collect();
    assert_eq!(
        names,
        [
            json!({"lastName": "Default", "firstName": "E1"}),
            json!({"lastName": "Own", "firstName": "E2"}),
            json!({"lastName": "Default", "firstName": "E3"}),
        ]
    );
    let emails = &server.requests()[0].body.clone().expect("a body")["emails"];
    assert_eq!(emails, &json!({"primaryEmail": "team@example.com"}));
}

/// Fetch, edit, send back: a record the sandbox returns, with every key it
/// set itself, updates as it is, for the objects scripts edit most.
#[test]
fn records_the_server_returns_can_be_sent_back() {
    let home = Home::new();
    for (resource, field, value) in [
        ("people", "city", json!("Full")),
        ("companies", "employees", json!(77)),
        ("opportunities", "stage", json!("CUSTOMER")),
        ("workflow-runs", "status", json!("COMPLETED")),
    ] {
        let listed = home.run(&["--sandbox", resource, "list", "--limit", "1"]);
        listed.assert_ok();
        let mut record = listed.json()[0].clone();
        for key in ["id", "createdAt", "updatedAt", "deletedAt", "createdBy"] {
            assert!(record.get(key).is_some(), "{resource} has no {key}");
        }
        let id = record["id"].as_str().expect("an id").to_string();
        record[field] = value.clone();

        // A whole line, as `list --jq '.[] | ...' --format jsonl` writes it.
        let line = format!("{record}\n");
        let run = home.run_with_stdin(
            &[
                "--sandbox",
                resource,
                "update",
                "--each",
                "-",
                "--format",
                "jsonl",
            ],
            &line,
        );
        run.assert_ok();
        let got = home.run(&["--sandbox", resource, "get", &id]);
        assert_eq!(got.assert_ok().json()[field], value, "{resource}");

        // And a whole `get` result as --data, its id the target.
        let mut fetched = got.json();
        fetched["position"] = json!(9);
        let data = fetched.to_string();
        let run = home.run(&["--sandbox", resource, "update", &id, "--data", &data]);
        assert_eq!(run.assert_ok().json()["position"], json!(9), "{resource}");
        assert_eq!(run.json()[field], value, "{resource}");
    }
}

/// What is dropped from a whole record never reaches the wire; what a
/// person typed is still refused, and an `id` of another record too.
#[test]
fn only_whole_records_lose_the_keys_the_server_sets() {
    let server = Recorder::start(workflow_runs);
    let home = Home::new();
    let record = json!({
        "id": IDS[0], "name": "x", "createdAt": "2024-01-01T00:00:00.000Z",
        "updatedAt": "2024-01-02T00:00:00.000Z", "deletedAt": null
    });
    let run = home.run_at(
        &server.url,
        &[
            "workflow-runs",
            "update",
            IDS[0],
            "--data",
            &record.to_string(),
        ],
    );
    run.assert_ok();
    let run = home.run_with_stdin(
        &[
            "--api-url",
            &server.url,
            "--api-key-file",
            home.key_file().to_str().expect("utf-8"),
            "workflow-runs",
            "update",
            "--each",
            "-",
        ],
        &format!("{record}\n"),
    );
    run.assert_ok();
    let seen = server.requests();
    assert_eq!(seen.len(), 2);
    for request in &seen {
        assert_eq!(request.path, format!("/rest/workflowRuns/{}", IDS[0]));
        assert_eq!(request.body, Some(json!({"name": "x"})));
    }

    let counter = Counter::start();
    let run = home.run_at(
        &counter.url,
        &[
            "workflow-runs",
            "update",
            IDS[0],
            "--set",
            "updatedAt=2024-01-01",
        ],
    );
    assert_eq!(run.code, 2, "{}", run.stderr);
    assert!(
        run.stderr
            .contains("updatedAt cannot be written: the server sets it"),
        "{}",
        run.stderr
    );
    let other = json!({"id": IDS[1], "name": "x"}).to_string();
    let run = home.run_at(
        &counter.url,
        &["workflow-runs", "update", IDS[0], "--data", &other],
    );
    assert_eq!(run.code, 2, "{}", run.stderr);
    assert!(
        run.stderr.contains(&format!(
            "--data has `id` {}, but the record this call changes is {}",
            IDS[1], IDS[0]
        )),
        "{}",
        run.stderr
    );
    assert_eq!(counter.connections_made(), 0);
}

/// `-v` names the keys dropped from a whole record for a single `--data`
/// call as it does for an `--each` line: logging starts before the body
/// is prepared.
#[test]
fn verbose_names_the_keys_dropped_from_data() {
    let server = Recorder::start(workflow_runs);
    let home = Home::new();
    let record = json!({
        "id": IDS[0], "name": "x", "createdAt": "2024-01-01T00:00:00.000Z",
        "updatedAt": "2024-01-02T00:00:00.000Z", "deletedAt": null
    });
    let args = [
        "workflow-runs",
        "update",
        IDS[0],
        "--data",
        &record.to_string(),
    ];
    let run = home.run_at(&server.url, &[&args[..], &["-v"]].concat());
    run.assert_ok();
    let dropped: Vec<&str> = run
        .stderr
        .lines()
        .filter(|l| l.contains("dropped"))
        .collect();
    assert_eq!(
        dropped,
        [
            "DEBUG dropped createdAt, updatedAt, deletedAt, id from the body: the server sets \
          them itself"
        ],
        "{}",
        run.stderr
    );
    assert_eq!(server.requests()[0].body, Some(json!({"name": "x"})));
}

/// A plain `list` piped into `--each -` is one pretty array: the refusal
/// says that --each reads an object per line, and the fix it gives works.
#[test]
fn a_listed_array_is_refused_with_the_fix() {
    let home = Home::new();
    let listed = home.run(&["--sandbox", "people", "list", "--limit", "2"]);
    listed.assert_ok();
    let update = ["--sandbox", "people", "update", "--each", "-"];
    let run = home.run_with_stdin(&update, &listed.stdout);
    assert_eq!(run.code, 2, "{}", run.stderr);
    assert_eq!(
        run.stderr,
        "error: --each line 1: starts a JSON array, but --each reads one JSON object per \
         line\nhint: write one record per line: add `--format jsonl` to the command that \
         writes them (such as `list --format jsonl`), or pipe its JSON through `jq -c '.[]'`\n\
         hint: nothing was sent\n"
    );
    // An array on one line, in a file, is named the same way.
    let file = home.path().join("array.jsonl");
    std::fs::write(&file, "[{\"city\": \"Lyon\"}]\n").expect("write");
    let path = file.to_str().expect("utf-8");
    let run = home.run(&["--sandbox", "people", "update", "--each", path]);
    assert_eq!(run.code, 2, "{}", run.stderr);
    assert!(
        run.stderr.starts_with(&format!(
            "error: --each `{path}` line 1: starts a JSON array, but --each reads one JSON \
             object per line\n"
        )),
        "{}",
        run.stderr
    );

    let listed = home.run(&[
        "--sandbox",
        "people",
        "list",
        "--limit",
        "2",
        "--format",
        "jsonl",
    ]);
    let run = home.run_with_stdin(&[&update[..], &["--jq", ".id"]].concat(), &listed.stdout);
    run.assert_ok();
    let ids: Vec<String> = lines(&listed.stdout)
        .iter()
        .map(|r| r["id"].as_str().expect("an id").to_string())
        .collect();
    assert_eq!(run.stdout, format!("{}\n{}\n", ids[0], ids[1]));
}

/// Runs `twenty --sandbox args...` with stdout on `/dev/full`, where every
/// write fails with "no space left on device"; returns the code and
/// stderr.
#[cfg(target_os = "linux")]
fn with_stdout_full(home: &Home, args: &[&str], input: Option<&str>) -> (i32, String) {
    let full = std::fs::OpenOptions::new()
        .write(true)
        .open("/dev/full")
        .expect("/dev/full opens");
    let mut child = home
        .command()
        .arg("--sandbox")
        .args(args)
        .stdin(if input.is_some() {
            Stdio::piped()
        } else {
            Stdio::null()
        })
        .stdout(full)
        .stderr(Stdio::piped())
        .spawn()
        .expect("twenty starts");
    if let Some(input) = input {
        let mut stdin = child.stdin.take().expect("stdin");
        std::io::Write::write_all(&mut stdin, input.as_bytes()).expect("write stdin");
    }
    let output = child.wait_with_output().expect("twenty ends");
    let stderr = String::from_utf8_lossy(&output.stderr).into_owned();
    (output.status.code().unwrap_or(-1), stderr)
}

/// A change whose result cannot be written says that it was made (and
/// which id), so that it is not sent again, and exits 1, whatever the
/// format and whether stdout is full or closed; a read still ends quietly
/// on a closed stdout.
#[cfg(target_os = "linux")]
#[test]
fn a_change_whose_result_cannot_be_written_says_it_was_made() {
    let home = Home::new();
    let full = "no space left on device (os error 28)";

    let (code, stderr) = with_stdout_full(
        &home,
        &["people", "create", "--name.first-name", "Full"],
        None,
    );
    assert_eq!(code, 1, "{stderr}");
    let id = stderr
        .strip_prefix("error: person ")
        .map(|rest| &rest[..36])
        .unwrap_or_else(|| panic!("no id in: {stderr}"));
    assert_eq!(
        stderr,
        format!(
            "error: person {id} was created, but its result could not be written to \
             stdout: {full}\nhint: do not create it again: `twenty people get {id}` shows it\n"
        )
    );
    let got = home.run(&["--sandbox", "people", "get", id]);
    assert_eq!(got.assert_ok().json()["name"]["firstName"], "Full");

    let (code, stderr) = with_stdout_full(&home, &["people", "update", id, "--city", "Oslo"], None);
    assert_eq!(code, 1, "{stderr}");
    assert_eq!(
        stderr,
        format!(
            "error: person {id} was updated, but its result could not be written to \
             stdout: {full}\n"
        )
    );

    // Closed rather than full: the same, as `| head -0` leaves it.
    let mut child = home
        .command()
        .args(["--sandbox", "people", "update", id, "--city", "Bergen"])
        .args(["--format", "table"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("twenty starts");
    drop(child.stdout.take());
    let output = child.wait_with_output().expect("twenty ends");
    assert_eq!(output.status.code(), Some(1));
    assert_eq!(
        String::from_utf8_lossy(&output.stderr),
        format!(
            "error: person {id} was updated, but its result could not be written to the \
             closed stdout\n"
        )
    );

    // A stream names the line that ran and stops.
    let lines = "{\"name\": {\"firstName\": \"S1\"}}\n{\"name\": {\"firstName\": \"S2\"}}\n";
    let (code, stderr) = with_stdout_full(&home, &["people", "create", "--each", "-"], Some(lines));
    assert_eq!(code, 1, "{stderr}");
    assert_eq!(
        stderr,
        format!(
            "error: --each stopped: a result could not be written to stdout: {full}\n\
             hint: line 1 ran, but the result of line 1 could not be written to stdout; \
             nothing after line 1 was sent\n"
        )
    );

    // A table is written at the end: every line ran, none was seen.
    let file = home.path().join("t.jsonl");
    std::fs::write(&file, lines).expect("write");
    let path = file.to_str().expect("utf-8");
    let (code, stderr) = with_stdout_full(
        &home,
        &["people", "create", "--each", path, "--format", "table"],
        None,
    );
    assert_eq!(code, 1, "{stderr}");
    assert!(
        stderr.ends_with(
            "hint: lines 1-2 ran, but the results of lines 1 and 2 could not be written to \
             stdout; nothing after line 2 was sent\n"
        ),
        "{stderr}"
    );
    let listed = home.run(&[
        "--sandbox",
        "people",
        "list",
        "--all",
        "--jq",
        ".name.firstName",
    ]);
    let names: Vec<&str> = listed.assert_ok().stdout.lines().collect();
    assert_eq!(names.iter().filter(|n| **n == "S1").count(), 2, "{names:?}");

    // A read on a full disk fails as before; on a closed stdout it ends
    // quietly (see a_closed_stdout_stops_the_lines_and_a_change_says_what_ran).
    let (code, stderr) = with_stdout_full(&home, &["people", "get", id], None);
    assert_eq!(
        (code, stderr.as_str()),
        (1, format!("error: {full}\n").as_str())
    );
}
