//! The reference connector's seed scenario, "update a workflow run", with
//! every one of its inputs, and each of its troubleshooting cases, run
//! through the binary against a sandbox with the demo workspace.

use std::process::{Command, Output};

use serde_json::{Value, json};
use twenty_sandbox::{Sandbox, SandboxConfig, Seed};

struct Fixture {
    runtime: tokio::runtime::Runtime,
    sandbox: Option<Sandbox>,
    home: tempfile::TempDir,
}

impl Fixture {
    fn new() -> Self {
        let runtime = tokio::runtime::Runtime::new().expect("a runtime");
        let mut config = SandboxConfig::new(twenty_core::builtin::standard());
        config.seed = Seed::Demo;
        let sandbox = runtime
            .block_on(Sandbox::start(config, "127.0.0.1:0".parse().unwrap()))
            .expect("the sandbox starts");
        Self {
            runtime,
            sandbox: Some(sandbox),
            home: tempfile::tempdir().expect("a temp dir"),
        }
    }

    fn url(&self) -> String {
        self.sandbox.as_ref().unwrap().url()
    }

    fn key(&self) -> String {
        self.sandbox.as_ref().unwrap().api_key().to_owned()
    }

    fn run_with(&self, url: &str, key: &str, args: &[&str]) -> Output {
        Command::new(env!("CARGO_BIN_EXE_twenty"))
            .args(["--api-url", url])
            .args(args)
            .env("TWENTY_API_KEY", key)
            .env("TWENTY_CONFIG_DIR", self.home.path().join("config"))
            .env("TWENTY_DATA_DIR", self.home.path().join("data"))
            .env("HOME", self.home.path())
            .env_remove("TWENTY_API_URL")
            .output()
            .expect("the twenty binary runs")
    }

    fn run(&self, args: &[&str]) -> Output {
        self.run_with(&self.url(), &self.key(), args)
    }

    fn json(&self, args: &[&str]) -> Value {
        let output = self.run(args);
        assert!(
            output.status.success(),
            "twenty {}: {}",
            args.join(" "),
            String::from_utf8_lossy(&output.stderr)
        );
        serde_json::from_slice(&output.stdout).expect("JSON on stdout")
    }
}

impl Drop for Fixture {
    fn drop(&mut self) {
        if let Some(sandbox) = self.sandbox.take() {
            self.runtime.block_on(sandbox.shutdown());
        }
    }
}

fn stderr(output: &Output) -> String {
    String::from_utf8_lossy(&output.stderr).into_owned()
}

#[test]
fn update_a_workflow_run_with_every_input() {
    let fixture = Fixture::new();
    let runs = fixture.json(&["workflow-runs", "list", "--limit", "1"]);
    let run = &runs[0];
    let id = run["id"]
        .as_str()
        .expect("the demo workspace has workflow runs");
    let version = fixture.json(&["workflow-versions", "list", "--limit", "1"]);
    let version_id = version[0]["id"].as_str().expect("a workflow version");
    let workflow_id = version[0]["workflowId"].as_str().expect("its workflow");

    let updated = fixture.json(&[
        "workflow-runs",
        "update",
        id,
        "--depth",
        "1",
        "--workflow-version-id",
        version_id,
        "--workflow-id",
        workflow_id,
        "--position",
        "3",
        "--output",
        r#"{"rows": 120, "errors": []}"#,
        "--created-by",
        r#"{"source": "WORKFLOW", "name": "Nightly sync"}"#,
        "--status",
        "completed",
        "--ended-at",
        "2026-12-03T10:15:00Z",
        "--name",
        "Nightly import",
        "--started-at",
        "2026-12-03T10:00:00.000Z",
        "--context",
        r#"{"trigger": {"type": "cron"}}"#,
    ]);

    assert_eq!(updated["id"], json!(id));
    assert_eq!(updated["workflowVersionId"], json!(version_id));
    assert_eq!(updated["workflowId"], json!(workflow_id));
    assert_eq!(updated["position"].as_f64(), Some(3.0));
    assert_eq!(updated["output"], json!({ "rows": 120, "errors": [] }));
    assert_eq!(updated["createdBy"]["source"], json!("WORKFLOW"));
    assert_eq!(updated["createdBy"]["name"], json!("Nightly sync"));
    assert_eq!(
        updated["status"],
        json!("COMPLETED"),
        "a case variant is sent as the enum value"
    );
    assert_eq!(updated["endedAt"], json!("2026-12-03T10:15:00.000Z"));
    assert_eq!(updated["name"], json!("Nightly import"));
    assert_eq!(updated["startedAt"], json!("2026-12-03T10:00:00.000Z"));
    assert_eq!(updated["context"], json!({ "trigger": { "type": "cron" } }));
    assert_eq!(
        updated["workflowVersion"]["id"],
        json!(version_id),
        "depth 1 nests relations"
    );
}

#[test]
fn a_missing_id_is_refused_before_sending() {
    let fixture = Fixture::new();
    let output = fixture.run(&["workflow-runs", "update", "--status", "COMPLETED"]);
    assert_eq!(output.status.code(), Some(2));
    assert!(stderr(&output).contains("id"), "{}", stderr(&output));

    let output = fixture.run(&[
        "workflow-runs",
        "update",
        "not-a-uuid",
        "--status",
        "COMPLETED",
    ]);
    assert_eq!(output.status.code(), Some(2));
    assert!(
        stderr(&output).contains("not-a-uuid"),
        "{}",
        stderr(&output)
    );
}

#[test]
fn invalid_json_names_the_field_and_position() {
    let fixture = Fixture::new();
    let id = "3a02ff9d-c039-4810-87f7-c612c0c48652";
    for (flag, field) in [
        ("--output", "output"),
        ("--created-by", "createdBy"),
        ("--context", "context"),
    ] {
        let output = fixture.run(&["workflow-runs", "update", id, flag, "{\"rows\": 12,}"]);
        let message = stderr(&output);
        assert_eq!(output.status.code(), Some(2), "{flag}: {message}");
        assert!(
            message.contains(field) || message.contains(flag),
            "{flag}: {message}"
        );
        assert!(
            message.contains("line 1") && message.contains("column"),
            "{flag}: {message}"
        );
    }
}

#[test]
fn an_invalid_status_lists_the_allowed_values() {
    let fixture = Fixture::new();
    let id = "3a02ff9d-c039-4810-87f7-c612c0c48652";
    let output = fixture.run(&["workflow-runs", "update", id, "--status", "DONE"]);
    let message = stderr(&output);
    assert_eq!(output.status.code(), Some(2), "{message}");
    for value in ["NOT_STARTED", "RUNNING", "COMPLETED", "FAILED"] {
        assert!(message.contains(value), "{message}");
    }
}

#[test]
fn a_rejected_key_says_so_without_printing_it() {
    let fixture = Fixture::new();
    let wrong = "wrong-key-4f9d8c7b6a";
    let output = fixture.run_with(&fixture.url(), wrong, &["workflow-runs", "list"]);
    let message = stderr(&output);
    assert_eq!(output.status.code(), Some(3), "{message}");
    assert!(message.contains("rejected"), "{message}");
    assert!(!message.contains(wrong), "the key leaked: {message}");
    assert!(!String::from_utf8_lossy(&output.stdout).contains(wrong));
}

#[test]
fn an_unreachable_server_names_the_url() {
    let fixture = Fixture::new();
    // A port that was just free: nothing listens there.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free port");
    let url = format!("http://127.0.0.1:{port}");
    let output = fixture.run_with(
        &url,
        &fixture.key(),
        &["workflow-runs", "list", "--no-retry"],
    );
    let message = stderr(&output);
    assert_eq!(output.status.code(), Some(4), "{message}");
    assert!(message.contains(&format!("127.0.0.1:{port}")), "{message}");
}
