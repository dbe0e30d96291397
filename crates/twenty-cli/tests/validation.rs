//! Inputs are checked before anything is sent: each mistake exits with
//! code 2, prints one `error:` naming the input, and opens no connection.
//! Where the v1.0.3 and 2026 documents differ, both are checked.

mod support;

use std::time::Duration;

use support::{Counter, Home, RUN_ID, Recorder, spec_2026, workflow_runs};

/// Runs `args` against a counting listener and checks the refusal.
fn refused(schema: Option<&str>, args: &[&str], expected: &[&str]) -> String {
    let counter = Counter::start();
    let home = Home::new();
    let mut all: Vec<&str> = Vec::new();
    if let Some(schema) = schema {
        all.extend(["--schema", schema]);
    }
    all.extend_from_slice(args);
    let run = home.run_at(&counter.url, &all);
    assert_eq!(
        run.code, 2,
        "{args:?}\nstdout:\n{}\nstderr:\n{}",
        run.stdout, run.stderr
    );
    assert!(
        run.stderr.starts_with("error: "),
        "{args:?}: {}",
        run.stderr
    );
    for part in expected {
        assert!(
            run.stderr.contains(part),
            "{args:?}: expected `{part}` in:\n{}",
            run.stderr
        );
    }
    assert_eq!(
        run.stdout, "",
        "{args:?}: nothing goes to stdout on an error"
    );
    std::thread::sleep(Duration::from_millis(50));
    assert_eq!(counter.connections(), 0, "{args:?} opened a connection");
    run.stderr
}

/// Runs `args` against the recording server and checks it was sent.
fn accepted(schema: Option<&str>, args: &[&str]) -> support::Recorded {
    let server = Recorder::start(workflow_runs);
    let home = Home::new();
    let mut all: Vec<&str> = Vec::new();
    if let Some(schema) = schema {
        all.extend(["--schema", schema]);
    }
    all.extend_from_slice(args);
    let run = home.run_at(&server.url, &all);
    assert_eq!(run.code, 0, "{args:?}\n{}", run.stderr);
    server.only()
}

fn spec2026() -> String {
    spec_2026().to_string_lossy().into_owned()
}

#[test]
fn missing_or_malformed_id() {
    refused(
        None,
        &["workflow-runs", "update", "--status", "RUNNING"],
        &["missing record id", "twenty workflow-runs update"],
    );
    refused(
        None,
        &["workflow-runs", "get", "1234"],
        &["record id `1234` is not a uuid"],
    );
    refused(
        None,
        &["workflow-runs", "delete", "not-a-uuid"],
        &["is not a uuid", "hint:"],
    );
}

#[test]
fn invalid_json_names_field_line_and_column() {
    let base = ["workflow-runs", "update", RUN_ID];
    for (flag, field) in [("--output", "output"), ("--context", "context")] {
        let mut args = base.to_vec();
        args.extend([flag, "{\"rows\":\n  12,}"]);
        refused(
            None,
            &args,
            &[&format!("invalid JSON in {field}"), "line 2"],
        );
    }
    let mut args = base.to_vec();
    args.extend(["--created-by", "{source: API}"]);
    refused(None, &args, &["createdBy", "line 1, column 2"]);
    let mut args = base.to_vec();
    args.extend(["--data", "{\"name\": }"]);
    refused(
        None,
        &args,
        &["--data is not valid JSON", "line 1 column 10"],
    );
}

#[test]
fn enum_values_follow_the_loaded_document() {
    let update = ["workflow-runs", "update", RUN_ID, "--status"];
    let mut args = update.to_vec();
    args.push("ENQUEUED");
    refused(
        None,
        &args,
        &[
            "invalid value 'ENQUEUED' for status",
            "NOT_STARTED, RUNNING, COMPLETED, FAILED",
        ],
    );
    let schema = spec2026();
    let sent = accepted(Some(&schema), &args);
    assert_eq!(sent.body.expect("body")["status"], "ENQUEUED");
    for stopped in ["STOPPING", "stopped"] {
        let mut args = update.to_vec();
        args.push(stopped);
        refused(None, &args, &["for status", "expected one of"]);
        accepted(Some(&schema), &args);
    }
}

#[test]
fn enum_values_accept_case_and_separator_variants() {
    for (typed, sent) in [
        ("completed", "COMPLETED"),
        ("not started", "NOT_STARTED"),
        ("NOT-STARTED", "NOT_STARTED"),
        ("Not_Started", "NOT_STARTED"),
    ] {
        let seen = accepted(
            None,
            &["workflow-runs", "update", RUN_ID, "--status", typed],
        );
        assert_eq!(seen.body.expect("body")["status"], sent, "{typed}");
    }
}

#[test]
fn dates_and_numbers_must_parse() {
    refused(
        None,
        &["workflow-runs", "update", RUN_ID, "--ended-at", "yesterday"],
        &["invalid date-time 'yesterday' for endedAt"],
    );
    refused(
        None,
        &["workflow-runs", "update", RUN_ID, "--position", "first"],
        &["invalid number 'first' for position"],
    );
    refused(
        None,
        &["workflow-runs", "list", "--limit", "ten"],
        &["--limit expects a number"],
    );
}

#[test]
fn depth_and_limit_ranges_follow_the_document() {
    let schema = spec2026();
    refused(
        None,
        &["workflow-runs", "get", RUN_ID, "--depth", "3"],
        &["--depth must be one of 0, 1, 2"],
    );
    refused(
        Some(&schema),
        &["workflow-runs", "get", RUN_ID, "--depth", "2"],
        &["--depth must be one of 0, 1"],
    );
    let seen = accepted(None, &["workflow-runs", "get", RUN_ID, "--depth", "2"]);
    assert_eq!(seen.query.as_deref(), Some("depth=2"));

    refused(
        None,
        &["workflow-runs", "list", "--limit", "61"],
        &["--limit must be", "60"],
    );
    refused(
        Some(&schema),
        &["workflow-runs", "list", "--limit", "201"],
        &["--limit must be", "200"],
    );
    refused(
        None,
        &["workflow-runs", "list", "--limit", "-1"],
        &["--limit must be"],
    );
    let seen = accepted(Some(&schema), &["workflow-runs", "list", "--limit", "61"]);
    assert_eq!(seen.query.as_deref(), Some("limit=61"));
}

#[test]
fn unknown_fields_suggest_the_nearest() {
    refused(
        None,
        &["workflow-runs", "update", RUN_ID, "--set", "stauts=RUNNING"],
        &["field 'stauts' does not exist", "did you mean 'status'"],
    );
    refused(
        None,
        &["people", "create", "--set", "name.firstNam=Ada"],
        &["sub-field 'firstNam' does not exist in 'name'", "firstName"],
    );
    refused(
        None,
        &["people", "create", "--set", "name"],
        &["has no `=`"],
    );
    // A flag that does not exist is clap's error, also code 2, with a tip.
    refused(
        None,
        &["people", "create", "--name.first-nam", "Ada"],
        &["--name.first-nam", "--name.first-name"],
    );
}

#[test]
fn filters_and_orders_are_checked_with_a_caret() {
    let stderr = refused(
        None,
        &["workflow-runs", "list", "--filter", "stauts[eq]:RUNNING"],
        &["--filter is invalid", "stauts"],
    );
    assert!(stderr.contains("stauts[eq]:RUNNING\n  ^"), "{stderr}");
    let stderr = refused(
        None,
        &["workflow-runs", "list", "--filter", "status[eqq]:RUNNING"],
        &["--filter is invalid"],
    );
    assert!(stderr.contains("\n  "), "{stderr}");
    refused(
        None,
        &[
            "workflow-runs",
            "list",
            "--filter",
            "and(status[eq]:RUNNING",
        ],
        &["--filter is invalid"],
    );
    refused(
        None,
        &["workflow-runs", "list", "--order-by", "nmae[DescNullsLast]"],
        &["--order-by is invalid", "nmae"],
    );
    refused(
        None,
        &["workflow-runs", "list", "--order-by", "name[Down]"],
        &["--order-by is invalid"],
    );
}

#[test]
fn list_all_and_each_do_not_mix() {
    refused(
        None,
        &["workflow-runs", "list", "--all", "--each", "items.jsonl"],
        &["'--all' cannot be used with '--each <FILE>'"],
    );
}

#[test]
fn a_bad_jq_expression_sends_nothing() {
    refused(
        None,
        &["workflow-runs", "list", "--jq", ".[] |"],
        &["--jq expression"],
    );
}

#[test]
fn many_verbs_need_a_filter() {
    let schema = spec2026();
    for (verb, what) in [
        ("update-many", "update all workflow runs"),
        ("delete-many", "delete all workflow runs"),
        ("restore-many", "restore all soft-deleted workflow runs"),
    ] {
        let mut args = vec!["workflow-runs", verb];
        if verb == "update-many" {
            args.extend(["--status", "FAILED"]);
        }
        let stderr = refused(Some(&schema), &args, &[]);
        let verb_only = what.split(' ').next().unwrap_or_default();
        assert_eq!(
            stderr,
            format!(
                "error: `twenty workflow-runs {verb}` needs --filter: without one it would \
                 {what}\nhint: to {verb_only} every record on purpose, say so: \
                 --filter 'id[is]:NOT_NULL'\n"
            )
        );
    }
    // On purpose, it is sent.
    let seen = accepted(
        Some(&schema),
        &[
            "workflow-runs",
            "delete-many",
            "--filter",
            "id[is]:NOT_NULL",
        ],
    );
    assert_eq!(seen.method, "DELETE");
    assert_eq!(
        seen.query_pairs(),
        [("filter".to_string(), "id[is]:NOT_NULL".to_string())]
    );
}

#[test]
fn cursors_must_be_twenty_cursors() {
    for (flag, field) in [
        ("--starting-after", "endCursor"),
        ("--ending-before", "startCursor"),
    ] {
        // Not base64, and base64 of JSON that is not an object.
        for cursor in ["garbage", "WzFd"] {
            let stderr = refused(None, &["workflow-runs", "list", flag, cursor], &[]);
            assert_eq!(
                stderr,
                format!(
                    "error: {flag} `{cursor}` is not a cursor: Twenty's cursors are base64 of \
                     a JSON object\nhint: pass the `pageInfo.{field}` of a page, which \
                     `list --raw --jq .pageInfo.{field}` prints\n"
                )
            );
        }
    }
    let cursor = "eyJpZCI6IjEifQ==";
    let seen = accepted(None, &["workflow-runs", "list", "--starting-after", cursor]);
    assert_eq!(
        seen.query_pairs(),
        [("starting_after".to_string(), cursor.to_string())]
    );
}

#[test]
fn create_many_keeps_to_the_schemas_batch_maximum() {
    let batch = |n: usize| {
        let records: Vec<serde_json::Value> = (0..n)
            .map(|i| serde_json::json!({"name": format!("run {i}")}))
            .collect();
        serde_json::Value::Array(records).to_string()
    };
    let stderr = refused(
        None,
        &["workflow-runs", "create-many", "--data", &batch(61)],
        &[],
    );
    assert_eq!(
        stderr,
        "error: --data holds 61 records, more than the 60 this server's schema takes in one \
         create-many\nhint: send at most 60 per call, or write them one per line and use \
         `twenty import workflow-runs FILE`, which batches for you\n"
    );
    let seen = accepted(
        None,
        &["workflow-runs", "create-many", "--data", &batch(60)],
    );
    assert_eq!(seen.body.and_then(|b| b.as_array().map(Vec::len)), Some(60));

    // The 2026 document allows 200.
    let schema = spec2026();
    refused(
        Some(&schema),
        &["workflow-runs", "create-many", "--data", &batch(201)],
        &["--data holds 201 records, more than the 200"],
    );
    accepted(
        Some(&schema),
        &["workflow-runs", "create-many", "--data", &batch(61)],
    );
}

#[test]
fn merge_bodies_follow_their_schema() {
    let schema = spec2026();
    let other = "00000000-0000-4000-8000-000000000002";
    let both = format!("{RUN_ID},{other}");
    let merge = |extra: &[&str]| {
        let mut args = vec!["workflow-runs", "merge"];
        args.extend_from_slice(extra);
        args.iter().map(|s| s.to_string()).collect::<Vec<_>>()
    };
    let cases: Vec<(Vec<String>, &str)> = vec![
        (
            merge(&["--data", r#"{"ids":["x"]}"#]),
            "error: invalid UUID 'x' for ids[0]: expected 8-4-4-4-12 hex digits",
        ),
        (merge(&["--ids", "x"]), "error: invalid UUID 'x' for ids[0]"),
        (
            merge(&["--ids", RUN_ID]),
            "error: missing `--conflict-priority-index`: `twenty workflow-runs merge` \
             requires it (`conflictPriorityIndex` in --data)\n",
        ),
        (
            merge(&["--ids", &both, "--conflict-priority-index", "2"]),
            "error: --conflict-priority-index must be from 0 to 1, the index of one of the \
             2 records in --ids, got `2`\n",
        ),
        (
            merge(&["--ids", &both, "--conflict-priority-index", "first"]),
            "error: invalid number 'first' for conflictPriorityIndex",
        ),
        (
            merge(&[
                "--ids",
                &both,
                "--conflict-priority-index",
                "0",
                "--dry-run",
                "maybe",
            ]),
            "error: invalid boolean 'maybe' for dryRun",
        ),
        (
            merge(&[
                "--ids",
                &both,
                "--conflict-priority-index",
                "0",
                "--set",
                "idz=1",
            ]),
            "error: the body of `twenty workflow-runs merge` has no `idz`; its keys are ids, \
             conflictPriorityIndex, dryRun\nhint: did you mean `ids`?\n",
        ),
    ];
    for (args, expected) in &cases {
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        let stderr = refused(Some(&schema), &args, &[]);
        assert!(stderr.starts_with(expected), "{args:?}:\n{stderr}");
    }
}

#[test]
fn group_by_parameters_are_checked() {
    let schema = spec2026();
    let cases = [
        (
            vec!["--group-by", r#"[{"stauts":true}]"#],
            "error: --group-by: field 'stauts' does not exist in 'workflowRun' object; did you \
             mean 'status'?\n",
        ),
        (
            vec!["--group-by", "status"],
            "error: --group-by is not valid JSON: expected value at column 1\n\
             hint: such as --group-by '[{\"status\": true}]'\n",
        ),
        (
            vec!["--group-by", r#"[{"status":1}]"#],
            "error: --group-by: `status` must be true, or an object naming a sub-field or a \
             granularity, got `1`\n",
        ),
        (
            vec![
                "--group-by",
                r#"[{"status":true}]"#,
                "--aggregate",
                "countNotEmptyId",
            ],
            "error: --aggregate must be a JSON array of aggregate names, got `countNotEmptyId`\n",
        ),
        (
            vec![
                "--group-by",
                r#"[{"status":true}]"#,
                "--order-by-for-records",
                "nmae",
            ],
            "error: --order-by-for-records is invalid",
        ),
    ];
    for (extra, expected) in &cases {
        let mut args = vec!["workflow-runs", "group-by"];
        args.extend(extra.iter());
        let stderr = refused(Some(&schema), &args, &[]);
        assert!(stderr.starts_with(expected), "{args:?}:\n{stderr}");
    }
    let seen = accepted(
        Some(&schema),
        &[
            "workflow-runs",
            "group-by",
            "--group-by",
            r#"[{"status":true},{"createdAt":{"granularity":"MONTH"}}]"#,
            "--aggregate",
            r#"["countNotEmptyId"]"#,
        ],
    );
    assert_eq!(seen.path, "/rest/workflowRuns/groupBy");
}

#[test]
fn a_mistyped_operation_id_suggests_at_most_three() {
    let schema = spec2026();
    let stderr = refused(
        Some(&schema),
        &["call", "findOneWorkflowRn"],
        &["unrecognized subcommand 'findOneWorkflowRn'"],
    );
    let tip = stderr
        .lines()
        .find(|l| l.contains("tip:"))
        .unwrap_or_else(|| panic!("no tip in:\n{stderr}"));
    let named = tip.matches('\'').count() / 2;
    assert!((1..=3).contains(&named), "{tip}");
    assert!(tip.contains("'findOneWorkflowRun'"), "{tip}");
}

#[test]
fn a_value_left_out_is_not_taken_from_the_next_option() {
    let hint = |flag: &str, example: &str, set: Option<&str>| {
        let set = set
            .map(|path| format!(", or in `--set {path}={example}`"))
            .unwrap_or_default();
        format!(
            "hint: put the value right after {flag}; a value that starts with `-` goes after \
             `=`, as in `{flag}={example}`{set}\n"
        )
    };
    let stderr = refused(
        None,
        &[
            "people",
            "create",
            "--job-title",
            "--city",
            "--jq",
            ".jobTitle",
        ],
        &[],
    );
    assert_eq!(
        stderr,
        format!(
            "error: --job-title needs a value, but the next argument `--city` looks like an \
             option\n{}",
            hint("--job-title", "-x", Some("jobTitle"))
        )
    );
    // A global option after it, as in `--name.first-name --jq`.
    let stderr = refused(
        None,
        &["people", "create", "--name.first-name", "--jq"],
        &[],
    );
    assert_eq!(
        stderr,
        format!(
            "error: --name.first-name needs a value, but the next argument `--jq` looks like \
             an option\n{}",
            hint("--name.first-name", "-x", Some("name.firstName"))
        )
    );
    let stderr = refused(None, &["people", "create", "--city"], &[]);
    assert_eq!(
        stderr,
        format!(
            "error: --city needs a value, and none follows it\n{}",
            hint("--city", "-x", Some("city"))
        )
    );
    // A text that starts with `-` is shown the way it can be written.
    let stderr = refused(None, &["people", "create", "--job-title", "-5 stars"], &[]);
    assert_eq!(
        stderr,
        format!(
            "error: --job-title needs a value, but the next argument `-5 stars` looks like an \
             option\n{}",
            hint("--job-title", "'-5 stars'", Some("jobTitle"))
        )
    );
    // Parameters have no --set path.
    let stderr = refused(
        None,
        &["workflow-runs", "list", "--filter", "--limit", "3"],
        &[],
    );
    assert_eq!(
        stderr,
        format!(
            "error: --filter needs a value, but the next argument `--limit` looks like an \
             option\n{}",
            hint("--filter", "-x", None)
        )
    );
}

#[test]
fn values_that_start_with_a_dash_pass_where_they_cannot_be_options() {
    let sent = accepted(
        None,
        &[
            "workflow-runs",
            "update",
            RUN_ID,
            "--position",
            "-1.5",
            "--name=-x",
            "--set",
            "createdBy.name=-y",
        ],
    );
    assert_eq!(
        sent.body,
        Some(serde_json::json!({"position": -1.5, "name": "-x", "createdBy": {"name": "-y"}}))
    );
    // `--limit -1` reaches the range check rather than clap.
    refused(
        None,
        &["workflow-runs", "list", "--limit", "-1"],
        &["--limit must be from 0 to 60 for this server's schema, got `-1`"],
    );
}

#[test]
fn a_boolean_field_is_a_switch_that_takes_the_same_words_as_a_value() {
    let server = Recorder::start(|r| {
        let body = r.body.clone().unwrap_or_default();
        (201, serde_json::json!({"data": {"createCompany": body}}))
    });
    let home = Home::new();
    for (args, expected) in [
        (&["--ideal-customer-profile", "--name", "Acme"][..], true),
        (
            &["--ideal-customer-profile", "no", "--name", "Acme"][..],
            false,
        ),
        (
            &["--ideal-customer-profile=YES", "--name", "Acme"][..],
            true,
        ),
    ] {
        let mut all = vec!["companies", "create"];
        all.extend_from_slice(args);
        home.run_at(&server.url, &all).assert_ok();
        let body = server
            .requests()
            .pop()
            .and_then(|r| r.body)
            .expect("a body");
        assert_eq!(body["idealCustomerProfile"], expected, "{args:?}");
        assert_eq!(body["name"], "Acme", "{args:?}");
    }
}

#[test]
fn an_update_needs_something_to_update() {
    let nothing = "error: nothing to update: give a field flag, --set or --data\n";
    for extra in [&[][..], &["--data", "{}"][..], &["--depth", "1"][..]] {
        let mut args = vec!["workflow-runs", "update", RUN_ID];
        args.extend_from_slice(extra);
        assert_eq!(
            refused(None, &args, &[]),
            format!("{nothing}hint: `twenty workflow-runs update --help` lists the field flags\n"),
            "{extra:?}"
        );
    }
    let schema = spec2026();
    assert_eq!(
        refused(
            Some(&schema),
            &[
                "workflow-runs",
                "update-many",
                "--filter",
                "status[eq]:FAILED"
            ],
            &[]
        ),
        format!("{nothing}hint: `twenty workflow-runs update-many --help` lists the field flags\n")
    );
}

#[test]
fn list_all_needs_a_page_size_above_zero() {
    assert_eq!(
        refused(None, &["people", "list", "--all", "--limit", "0"], &[]),
        "error: --all cannot page with --limit 0: every page would be empty\n\
         hint: leave --limit out to page by the server's default, or give at least 1\n"
    );
    // A single page of none is a fair question.
    let sent = accepted(None, &["workflow-runs", "list", "--limit", "0"]);
    assert_eq!(sent.query.as_deref(), Some("limit=0"));
}

#[test]
fn raw_is_refused_where_it_would_be_ignored() {
    assert_eq!(
        refused(None, &["workflow-runs", "list", "--all", "--raw"], &[]),
        "error: --raw cannot be used with --all: --raw prints one answer as the server sent \
         it, and --all joins the records of every page\n\
         hint: drop --raw for every record, or --all for the first page's answer\n"
    );
    for format in ["table", "csv", "jsonl"] {
        assert_eq!(
            refused(
                None,
                &["workflow-runs", "get", RUN_ID, "--raw", "--format", format],
                &[]
            ),
            format!(
                "error: --raw cannot be used with --format {format}: it prints the server's \
                 answer unchanged, as JSON\n\
                 hint: drop --raw for {format}, or add --jq to pick from the answer what to \
                 print as {format}\n"
            )
        );
    }
    // --jq picks from the answer, and its output takes the format.
    let server = Recorder::start(workflow_runs);
    let home = Home::new();
    let run = home.run_at(
        &server.url,
        &[
            "workflow-runs",
            "list",
            "--raw",
            "--jq",
            ".data.workflowRuns",
            "--format",
            "csv",
        ],
    );
    run.assert_ok();
    assert_eq!(
        run.stdout,
        format!("id,name,status\n{RUN_ID},Nightly import,RUNNING\n")
    );
}

#[test]
fn words_in_any_case_are_taken_wherever_values_are_named() {
    // Order-by directions, as enum values in a filter: sent as Twenty
    // spells them.
    let sent = accepted(
        None,
        &[
            "workflow-runs",
            "list",
            "--order-by",
            "name,createdAt[descnullslast]",
        ],
    );
    assert_eq!(
        sent.query_pairs(),
        [(
            "order_by".to_string(),
            "name,createdAt[DescNullsLast]".to_string()
        )]
    );
    let schema = spec2026();
    let sent = accepted(
        Some(&schema),
        &[
            "workflow-runs",
            "group-by",
            "--group-by",
            r#"[{"status": true}]"#,
            "--order-by-for-records",
            "name[ASC_NULLS_LAST]",
        ],
    );
    assert!(
        sent.query_pairs().contains(&(
            "order_by_for_records".to_string(),
            "name[AscNullsLast]".to_string()
        )),
        "{:?}",
        sent.query_pairs()
    );

    // Parameters' booleans take the words fields' booleans take.
    for (typed, wire) in [("yes", "true"), ("NO", "false"), ("1", "true")] {
        let sent = accepted(
            Some(&schema),
            &[
                "workflow-runs",
                "delete",
                RUN_ID,
                &format!("--soft-delete={typed}"),
            ],
        );
        assert_eq!(
            sent.query.as_deref(),
            Some(&*format!("soft_delete={wire}")),
            "{typed}"
        );
    }
    refused(
        Some(&schema),
        &["workflow-runs", "delete", RUN_ID, "--soft-delete=maybe"],
        &["--soft-delete expects true or false (or yes/no, 1/0), got `maybe`"],
    );

    // Option values clap checks.
    let server = Recorder::start(workflow_runs);
    let home = Home::new();
    let run = home.run_at(&server.url, &["workflow-runs", "list", "--format", "JSONL"]);
    run.assert_ok();
    assert_eq!(run.json()["id"], RUN_ID);
    let run = home.run(&["completions", "BASH"]);
    run.assert_ok();
    assert!(run.stdout.starts_with("_twenty() {"), "{}", run.stdout);
    let run = home.run(&["--sandbox", "export", "people", "--as", "CSV"]);
    run.assert_ok();
    assert!(
        run.stdout.starts_with("name.firstName,name.lastName,"),
        "{}",
        run.stdout
    );
}

/// Twenty takes either ids or values: neither would answer an empty list,
/// and both would drop one of them.
#[test]
fn find_duplicates_needs_ids_or_values_not_both() {
    refused(
        None,
        &["people", "find-duplicates"],
        &[
            "error: nothing to look for: `twenty people find-duplicates` needs field values or --ids",
            "hint: give values to compare (field flags, --set or --data), or the records",
        ],
    );
    refused(
        None,
        &["people", "find-duplicates", "--data", "{}"],
        &["nothing to look for"],
    );
    for inputs in [
        ["--name.first-name", "Y"],
        ["--set", "city=Paris"],
        ["--data", "{\"city\": \"Paris\"}"],
    ] {
        let mut args = vec!["people", "find-duplicates", "--ids", RUN_ID];
        args.extend(inputs);
        refused(
            None,
            &args,
            &[
                "error: `twenty people find-duplicates` looks for records like given ids or \
                 like given values, not both",
                "hint: drop --ids to look for records like the values",
            ],
        );
    }
    let whole = format!("{{\"ids\": [\"{RUN_ID}\"]}}");
    refused(
        None,
        &[
            "people",
            "find-duplicates",
            "--data",
            &whole,
            "--city",
            "Paris",
        ],
        &["not both"],
    );
}

/// A refused element of a `--data` array is named, 1-based; an empty array
/// has nothing to create.
#[test]
fn create_many_names_the_bad_record_and_refuses_none() {
    refused(
        None,
        &[
            "people",
            "create-many",
            "--data",
            r#"[{"name":{"firstName":"A"}},{"bogus":1}]"#,
        ],
        &["error: record 2 of --data: field 'bogus' does not exist in 'person' object\n"],
    );
    refused(
        None,
        &["people", "create-many", "--data", r#"[{"city":"Paris"},3]"#],
        &["error: record 2 of --data: it is a number, not a JSON object of fields\n"],
    );
    refused(
        None,
        &["people", "create-many", "--data", "[]"],
        &[
            "error: nothing to create: --data is an empty array\n",
            "hint: give at least one record",
        ],
    );
    // A single record, from flags or an object, has no number to give.
    refused(
        None,
        &["people", "create-many", "--data", r#"{"bogus":1}"#],
        &["error: field 'bogus' does not exist"],
    );
    refused(
        None,
        &[
            "people",
            "find-duplicates",
            "--data",
            r#"[{"city":"x"},{"city":3}]"#,
        ],
        &["error: record 2 of --data: wrong type for city"],
    );
}

/// A verb newer servers offer, on a schema without it: the schema is what
/// to change, not the verb.
#[test]
fn verbs_the_loaded_schema_lacks_name_the_schema() {
    for verb in [
        "update-many",
        "delete-many",
        "restore",
        "restore-many",
        "merge",
        "group-by",
    ] {
        let stderr = refused(
            None,
            &["people", verb],
            &[
                &format!(
                    "error: `twenty people {verb}` is not offered by the built-in schema \
                     (Twenty v1.0.3's standard objects), whose people verbs are list, create, \
                     create-many, get, update, delete, find-duplicates\n"
                ),
                &format!(
                    "hint: newer Twenty servers offer {verb}: load a schema that has it, with \
                     `twenty schema fetch` against such a server, or `--schema FILE`"
                ),
            ],
        );
        assert!(!stderr.contains("unrecognized"), "{stderr}");
    }
    let v1 = support::spec("twenty-v1.0.3-openapi.json");
    let v1 = v1.to_str().expect("utf-8");
    refused(
        Some(v1),
        &["person", "restore", "--help"],
        &[&format!("is not offered by the schema of --schema `{v1}`")],
    );
    // The 2026 document has them; a typo is still clap's to point out.
    let doc = spec_2026();
    let doc = doc.to_str().expect("utf-8");
    let home = Home::new();
    home.run(&["--schema", doc, "people", "restore", "--help"])
        .assert_ok();
    let run = home.run(&["people", "updat"]);
    assert_eq!(run.code, 2);
    assert!(run.stderr.contains("'update'"), "{}", run.stderr);
}
