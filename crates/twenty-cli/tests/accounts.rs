//! Credentials, profiles, the schema cache, the sandbox, and the promise
//! that the API key never shows in any output.

mod support;

use std::io::{BufRead, BufReader};
use std::process::Stdio;

use serde_json::{Value, json};
use support::{Home, KEY, RUN_ID, Recorder, spec_2026, workflow_runs};

fn no_key(run: &support::Run) {
    assert!(!run.stdout.contains(KEY), "key in stdout:\n{}", run.stdout);
    assert!(!run.stderr.contains(KEY), "key in stderr:\n{}", run.stderr);
    assert!(
        !run.stderr.contains("secret-part"),
        "part of the key in stderr:\n{}",
        run.stderr
    );
}

#[test]
fn login_saves_an_owner_only_profile_and_status_checks_it() {
    let server = Recorder::start(|r| {
        if r.path == "/rest/companies" {
            (
                200,
                json!({"data": {"companies": []}, "pageInfo": {"hasNextPage": false}, "totalCount": 0}),
            )
        } else {
            workflow_runs(r)
        }
    });
    let home = Home::new();
    let key = home.key_file();
    let run = home.run(&[
        "auth",
        "login",
        "--profile",
        "work",
        "--api-url",
        &server.url,
        "--api-key-file",
        key.to_str().expect("utf-8"),
    ]);
    run.assert_ok();
    no_key(&run);

    let config = home.path().join("config/config.json");
    let saved: Value =
        serde_json::from_str(&std::fs::read_to_string(&config).expect("config")).expect("json");
    assert_eq!(saved["profiles"]["work"]["api_url"], server.url.as_str());
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&config)
            .expect("meta")
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o600);
    }

    let run = home.run(&["auth", "status", "--profile", "work"]);
    run.assert_ok();
    no_key(&run);
    assert!(
        run.stdout.contains(&format!("url: {}", server.url)),
        "{}",
        run.stdout
    );
    assert!(run.stdout.contains("key: set"));
    assert!(run.stdout.contains("check: ok"));
    let check = server.only();
    assert_eq!(
        (check.path.as_str(), check.query.as_deref()),
        ("/rest/companies", Some("limit=1"))
    );
    assert_eq!(check.authorization, Some(format!("Bearer {KEY}")));

    // The profile's credentials serve every command.
    home.run(&["--profile", "work", "workflow-runs", "get", RUN_ID])
        .assert_ok();

    let run = home.run(&["auth", "logout", "--profile", "work"]);
    run.assert_ok();
    let run = home.run(&["--profile", "work", "workflow-runs", "get", RUN_ID]);
    assert_eq!(run.code, 2);
    assert!(run.stderr.contains("no API URL"), "{}", run.stderr);
}

#[test]
fn login_reads_the_key_from_stdin() {
    let server = Recorder::start(workflow_runs);
    let home = Home::new();
    let run = home.run_with_stdin(
        &["auth", "login", "--api-url", &server.url],
        &format!("Bearer {KEY}\n"),
    );
    run.assert_ok();
    home.run(&["workflow-runs", "get", RUN_ID]).assert_ok();
    assert_eq!(server.only().authorization, Some(format!("Bearer {KEY}")));
}

#[test]
fn environment_credentials_work() {
    let server = Recorder::start(workflow_runs);
    let home = Home::new();
    let out = home
        .command()
        .env("TWENTY_API_URL", &server.url)
        .env("TWENTY_API_KEY", KEY)
        .args(["workflow-runs", "get", RUN_ID])
        .output()
        .expect("run");
    assert_eq!(out.status.code(), Some(0));
    assert_eq!(server.only().authorization, Some(format!("Bearer {KEY}")));
}

#[test]
fn debug_shows_requests_with_the_key_redacted() {
    let server = Recorder::start(workflow_runs);
    let home = Home::new();
    let run = home.run_at(
        &server.url,
        &["-v", "workflow-runs", "update", RUN_ID, "--name", "x"],
    );
    run.assert_ok();
    no_key(&run);
    assert!(run.stderr.contains("Bearer [redacted]"), "{}", run.stderr);
    assert!(
        run.stderr
            .contains(&format!("PATCH {}/rest/workflowRuns/{RUN_ID}", server.url)),
        "{}",
        run.stderr
    );
    assert!(run.stderr.contains("received 200"), "{}", run.stderr);
}

#[test]
fn server_errors_print_error_and_hint_without_the_key() {
    let server = Recorder::start(|_| {
        (
            401,
            json!({"statusCode": 401, "error": "UNAUTHENTICATED", "messages": ["Token invalid."]}),
        )
    });
    let home = Home::new();
    let run = home.run_at(&server.url, &["--debug", "workflow-runs", "get", RUN_ID]);
    assert_eq!(run.code, 3, "{}", run.stderr);
    no_key(&run);
    assert!(run.stderr.contains("error: "), "{}", run.stderr);
    assert!(run.stderr.contains("Token invalid."), "{}", run.stderr);
    assert!(run.stderr.contains("hint: "), "{}", run.stderr);

    let run = home.run_at(&server.url, &["auth", "status"]);
    assert_eq!(run.code, 3);
    no_key(&run);
}

#[test]
fn plain_http_to_another_host_is_refused() {
    let home = Home::new();
    let run = home.run_at("http://crm.example.com", &["workflow-runs", "get", RUN_ID]);
    assert_eq!(run.code, 2, "{}", run.stderr);
    assert!(run.stderr.contains("plain http"), "{}", run.stderr);
    no_key(&run);
}

#[test]
fn schema_fetch_caches_the_document_for_the_profile() {
    let document = std::fs::read_to_string(spec_2026()).expect("spec");
    let document: Value = serde_yaml_like(&document);
    let server = Recorder::start(move |r| {
        if r.path.ends_with("/open-api/core") {
            (200, document.clone())
        } else {
            workflow_runs(r)
        }
    });
    let home = Home::new();

    // The built-in model has no merge.
    assert_eq!(home.run(&["workflow-runs", "merge", "--help"]).code, 2);
    let run = home.run_at(&server.url, &["schema", "fetch"]);
    run.assert_ok();
    no_key(&run);
    assert!(run.stderr.contains("cached 29 objects"), "{}", run.stderr);

    // Later commands use the cached schema without --schema.
    home.run(&["workflow-runs", "merge", "--help"]).assert_ok();
    let run = home.run(&["schema", "show", "workflow-runs"]);
    run.assert_ok();
    assert!(run.stdout.contains("ENQUEUED"), "{}", run.stdout);
    let run = home.run(&["schema", "objects", "--format", "json"]);
    run.assert_ok();
    let objects = run.json();
    assert_eq!(objects.as_array().expect("array").len(), 29);
    let runs = objects
        .as_array()
        .expect("array")
        .iter()
        .find(|o| o["resource"] == "workflow-runs")
        .expect("workflow-runs");
    assert!(
        runs["verbs"]
            .as_array()
            .expect("verbs")
            .contains(&json!("merge"))
    );

    // --schema still wins over the cache.
    let v1 = support::spec("twenty-v1.0.3-openapi.json");
    assert_eq!(
        home.run(&[
            "--schema",
            v1.to_str().expect("utf-8"),
            "workflow-runs",
            "merge",
            "--help"
        ])
        .code,
        2
    );
    // Another profile has no cache.
    assert_eq!(
        home.run(&["--profile", "other", "workflow-runs", "merge", "--help"])
            .code,
        2
    );
}

/// The 2026 document is YAML; the server sends JSON. The core loader reads
/// both, so the test converts through it only to serve the same document.
fn serde_yaml_like(text: &str) -> Value {
    serde_yaml_ng::from_str(text).expect("yaml")
}

#[test]
fn sandbox_flag_keeps_records_between_commands() {
    let home = Home::new();
    let run = home.run(&[
        "--sandbox",
        "workflow-runs",
        "create",
        "--name",
        "Nightly import",
        "--status",
        "RUNNING",
    ]);
    run.assert_ok();
    let created = run.json();
    let id = created["id"].as_str().expect("id").to_string();
    assert_eq!(created["status"], "RUNNING");
    assert!(home.path().join("data/sandbox/sandbox.db").exists());

    let run = home.run(&[
        "--sandbox",
        "workflow-runs",
        "update",
        &id,
        "--status",
        "COMPLETED",
        "--output",
        r#"{"rows":120}"#,
    ]);
    run.assert_ok();
    let run = home.run(&["workflow-runs", "get", &id, "--sandbox"]);
    run.assert_ok();
    let got = run.json();
    assert_eq!(got["status"], "COMPLETED");
    assert_eq!(got["output"], json!({"rows": 120}));
    assert_eq!(got["name"], "Nightly import");

    // The demo seed came with the new store.
    let run = home.run(&["--sandbox", "people", "list", "--format", "jsonl"]);
    run.assert_ok();
    assert!(run.stdout.lines().count() >= 1, "{}", run.stdout);
}

#[test]
fn sandbox_serve_prints_url_and_key_and_answers() {
    let home = Home::new();
    let mut child = home
        .command()
        .args([
            "sandbox",
            "serve",
            "--memory",
            "--api-key",
            "local-key",
            "--seed",
            "empty",
        ])
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("spawn");
    let mut stdout = BufReader::new(child.stdout.take().expect("stdout"));
    let mut first = String::new();
    stdout.read_line(&mut first).expect("url line");
    let mut second = String::new();
    stdout.read_line(&mut second).expect("key line");
    let url = first.trim().strip_prefix("url: ").expect("url").to_string();
    assert_eq!(second.trim(), "api key: local-key");

    let out = home
        .command()
        .env("TWENTY_API_URL", &url)
        .env("TWENTY_API_KEY", "local-key")
        .args(["workflow-runs", "list", "--format", "jsonl"])
        .output()
        .expect("run");
    let _ = child.kill();
    let _ = child.wait();
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(String::from_utf8_lossy(&out.stdout), "");
}

#[test]
fn output_formats() {
    let server = Recorder::start(workflow_runs);
    let home = Home::new();
    let run = home.run_at(&server.url, &["workflow-runs", "list", "--format", "csv"]);
    run.assert_ok();
    let mut lines = run.stdout.lines();
    let header = lines.next().expect("header");
    assert!(
        header.contains("name") && header.contains("createdBy.source"),
        "{header}"
    );
    assert!(lines.next().expect("row").contains("Nightly import"));

    let run = home.run_at(&server.url, &["workflow-runs", "list", "--format", "table"]);
    run.assert_ok();
    assert!(
        run.stdout.contains("Nightly import") && run.stdout.contains("status"),
        "{}",
        run.stdout
    );

    let run = home.run_at(
        &server.url,
        &[
            "workflow-runs",
            "list",
            "--jq",
            ".[].name",
            "--format",
            "jsonl",
        ],
    );
    run.assert_ok();
    assert_eq!(run.stdout, "Nightly import\n");

    // Text is raw in the default format too, so it can fill a shell variable.
    let run = home.run_at(
        &server.url,
        &["workflow-runs", "get", RUN_ID, "--jq", ".id"],
    );
    run.assert_ok();
    assert_eq!(run.stdout, format!("{RUN_ID}\n"));

    let run = home.run_at(
        &server.url,
        &["workflow-runs", "get", RUN_ID, "--jq", "{status}"],
    );
    run.assert_ok();
    assert_eq!(run.json(), json!({"status": "RUNNING"}));
}
