//! What `--filter` sends: the user's text, but with enum values spelled as
//! the loaded schema spells them, so that `status[eq]:completed` works as
//! `--status completed` does.

mod support;

use support::{Counter, Home, Recorder, spec, spec_2026, workflow_runs};

fn sent_filter(schema: Option<&str>, filter: &str) -> String {
    let server = Recorder::start(workflow_runs);
    let home = Home::new();
    let mut args = vec!["workflow-runs", "list", "--filter", filter];
    if let Some(schema) = schema {
        args.extend(["--schema", schema]);
    }
    home.run_at(&server.url, &args).assert_ok();
    let query = server.only().query_pairs();
    let (_, value) = query
        .into_iter()
        .find(|(k, _)| k == "filter")
        .expect("the filter is sent");
    value
}

#[test]
fn enum_values_go_as_the_schema_spells_them() {
    assert_eq!(
        sent_filter(None, "status[eq]:not started"),
        "status[eq]:NOT_STARTED"
    );
    assert_eq!(
        sent_filter(None, "or(status[eq]:completed,status[eq]:Failed)"),
        "or(status[eq]:COMPLETED,status[eq]:FAILED)"
    );
    let v2026 = spec_2026();
    assert_eq!(
        sent_filter(v2026.to_str(), "status[in]:[enqueued,stopping]"),
        "status[in]:[ENQUEUED,STOPPING]"
    );
}

#[test]
fn a_filter_without_such_values_goes_as_written() {
    for filter in [
        "status[eq]:RUNNING",
        "name[ilike]:\"%nightly%\",status[neq]:FAILED",
    ] {
        assert_eq!(sent_filter(None, filter), filter);
    }
}

#[test]
fn a_value_of_another_schema_is_refused_before_sending() {
    // ENQUEUED is a 2026 status; v1.0.3 has four.
    let v103 = spec("twenty-v1.0.3-openapi.json");
    let counter = Counter::start();
    let home = Home::new();
    let run = home.run_at(
        &counter.url,
        &[
            "--schema",
            v103.to_str().unwrap(),
            "workflow-runs",
            "list",
            "--filter",
            "status[eq]:enqueued",
        ],
    );
    assert_eq!(run.code, 2, "{}", run.stderr);
    assert!(
        run.stderr.contains(
            "invalid value 'enqueued' for status: expected one of NOT_STARTED, RUNNING, \
             COMPLETED, FAILED"
        ),
        "{}",
        run.stderr
    );
    assert_eq!(counter.connections(), 0);
}
