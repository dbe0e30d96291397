//! Every action of the three real documents has a command whose help lists
//! every input: each writable field and sub-field as a flag (or through
//! `--set` when its name is taken), each parameter as an option. The
//! expectations are computed from the catalog here, independently of the
//! command builder. A few `--help` outputs are kept as snapshots.

mod support;

use std::path::PathBuf;

use twenty_cli::commands;
use twenty_core::names::kebab;
use twenty_core::{Body, Catalog, Object, Operation, OperationKind, ParamLocation};

use support::{Home, spec};

/// Option names the CLI keeps for itself; a field with one of these names
/// is set with `--set` instead.
const TAKEN: [&str; 25] = [
    "profile",
    "api-url",
    "api-key-file",
    "schema",
    "format",
    "jq",
    "rate",
    "timeout",
    "raw",
    "sandbox",
    "debug",
    "verbose",
    "no-retry",
    "allow-insecure-http",
    "help",
    "version",
    "set",
    "data",
    "each",
    "continue-on-error",
    "concurrency",
    "all",
    "id",
    "ids",
    "dry-run",
];

fn expected_flags(object: &Object, op: &Operation) -> Vec<String> {
    let mut flags: Vec<String> = op
        .params
        .iter()
        .filter(|p| p.location == ParamLocation::Query)
        .map(|p| kebab(&p.name))
        .collect();
    let params = flags.clone();
    if matches!(
        op.body,
        Some(Body::Record | Body::RecordList | Body::Duplicates)
    ) {
        for field in object
            .fields
            .iter()
            .filter(|f| f.writable && f.name != "id")
        {
            let flag = kebab(&field.name);
            if !TAKEN.contains(&flag.as_str()) && !params.contains(&flag) {
                flags.push(flag.clone());
            }
            for sub in field.kind.sub_fields() {
                flags.push(format!("{flag}.{}", kebab(&sub.name)));
            }
        }
    }
    // A body that is not a record: a flag per property of its schema.
    if let Some(Body::Schema { schema }) = &op.body {
        let properties = schema["properties"].as_object().expect("an object schema");
        for name in properties.keys() {
            let flag = kebab(name);
            if !params.contains(&flag) {
                flags.push(flag);
            }
        }
    }
    if op.body.is_some() {
        flags.extend(["set".to_string(), "data".to_string()]);
    }
    if op.kind == OperationKind::FindMany {
        flags.push("all".into());
    }
    flags.extend([
        "each".to_string(),
        "continue-on-error".into(),
        "concurrency".into(),
    ]);
    flags
}

/// Checks every action of a catalog; returns how many were checked.
fn check_catalog(catalog: &Catalog) -> usize {
    let mut checked = 0;
    for object in &catalog.objects {
        let mut resource = commands::resource_command(object);
        for op in &object.operations {
            let Some(verb) = op.kind.verb() else {
                // Reached through `call` by its operation id.
                let mut call = commands::call_command(catalog, Some(&op.id));
                let cmd = call.find_subcommand_mut(&op.id).unwrap_or_else(|| {
                    panic!("call has no command for {}", op.id);
                });
                check_command(object, op, cmd);
                checked += 1;
                continue;
            };
            let cmd = resource
                .find_subcommand_mut(verb)
                .unwrap_or_else(|| panic!("{} has no `{verb}`", object.plural));
            check_command(object, op, cmd);
            checked += 1;
        }
    }
    checked
}

fn check_command(object: &Object, op: &Operation, cmd: &mut clap::Command) {
    let help = cmd.render_long_help().to_string();
    let flags = commands::input_flags(cmd);
    for flag in expected_flags(object, op) {
        assert!(
            flags.contains(&flag),
            "{} {}: no --{flag} among {flags:?}",
            object.plural,
            op.id
        );
        assert!(
            help.contains(&format!("--{flag}")),
            "{} {}: help lacks --{flag}",
            object.plural,
            op.id
        );
    }
    if op.takes_id() {
        assert!(help.contains("ID"), "{}: help lacks the id", op.id);
    }
    // Enum inputs list their allowed values.
    if matches!(op.body, Some(Body::Record)) {
        for field in object.writable_fields() {
            if let twenty_core::FieldType::Enum { values } = &field.kind {
                let first = values.first().map(String::as_str).unwrap_or_default();
                assert!(
                    help.contains(first),
                    "{}: help lacks {first} of {}",
                    op.id,
                    field.name
                );
            }
        }
    }
}

#[test]
fn every_action_of_v1_0_3_has_its_command() {
    let catalog = twenty_core::load::from_path(&spec("twenty-v1.0.3-openapi.json")).expect("load");
    assert_eq!(check_catalog(&catalog), 252);
}

#[test]
fn every_action_of_v1_4_0_has_its_command() {
    let catalog = twenty_core::load::from_path(&spec("twenty-v1.4.0-openapi.json")).expect("load");
    assert_eq!(check_catalog(&catalog), 252);
}

#[test]
fn every_action_of_2026_has_its_command() {
    let catalog = twenty_core::load::from_path(&spec("twenty-2026-openapi.yaml")).expect("load");
    let total = catalog
        .objects
        .iter()
        .map(|o| o.operations.len())
        .sum::<usize>();
    assert_eq!(check_catalog(&catalog), total);
    assert_eq!(total, 378);
}

#[test]
fn the_built_in_model_has_every_action_too() {
    let catalog = twenty_core::builtin::standard();
    assert_eq!(check_catalog(&catalog), 252);
}

/// Compares with a snapshot file; `UPDATE_SNAPSHOTS=1` rewrites it.
fn snapshot(name: &str, actual: &str) {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/snapshots")
        .join(name);
    if std::env::var_os("UPDATE_SNAPSHOTS").is_some() {
        std::fs::create_dir_all(path.parent().expect("parent")).expect("mkdir");
        std::fs::write(&path, actual).expect("write snapshot");
        return;
    }
    let expected = std::fs::read_to_string(&path)
        .unwrap_or_else(|_| panic!("no snapshot {name}; run with UPDATE_SNAPSHOTS=1"));
    assert_eq!(
        actual, expected,
        "help of {name} changed; run with UPDATE_SNAPSHOTS=1 if intended"
    );
}

fn help(args: &[&str]) -> String {
    let home = Home::new();
    let out = home
        .command()
        .env("COLUMNS", "100")
        .args(args)
        .output()
        .expect("run twenty");
    assert_eq!(out.status.code(), Some(0));
    String::from_utf8(out.stdout).expect("utf-8")
}

#[test]
fn help_of_workflow_runs_update() {
    let text = help(&["workflow-runs", "update", "--help"]);
    assert!(text.starts_with("Update a workflow run\n"), "{text}");
    assert!(text.contains("--status <VALUE>"));
    assert!(text.contains("(enum: NOT_STARTED, RUNNING, COMPLETED, FAILED)"));
    let flat = text.split_whitespace().collect::<Vec<_>>().join(" ");
    assert!(
        flat.contains("the server uses 0 whatever the document says"),
        "{flat}"
    );
    snapshot("workflow-runs-update.txt", &text);
}

#[test]
fn help_of_merge_in_2026() {
    let schema = support::spec_2026();
    let text = help(&[
        "--schema",
        schema.to_str().expect("utf-8"),
        "people",
        "merge",
        "--help",
    ]);
    assert!(text.starts_with("Merge people into one\n"), "{text}");
    assert!(text.contains("--ids <UUID>"), "{text}");
    assert!(
        text.contains("--conflict-priority-index <NUMBER>"),
        "{text}"
    );
    assert!(text.contains("--dry-run [<BOOL>]"), "{text}");
    snapshot("people-merge-2026.txt", &text);
}

#[test]
fn json_parameters_of_group_by_say_they_take_json() {
    let schema = support::spec_2026();
    let text = help(&[
        "--schema",
        schema.to_str().expect("utf-8"),
        "people",
        "group-by",
        "--help",
    ]);
    let flat = text.split_whitespace().collect::<Vec<_>>().join(" ");
    assert!(
        flat.contains(
            r#"--group-by <JSON> Array of fields to group by (json, such as '[{"status": true}]'; required)"#
        ),
        "{text}"
    );
    assert!(
        flat.contains(
            r#"--aggregate <JSON> Array of aggregate operations to compute for each group (json, such as '["countNotEmptyId"]')"#
        ),
        "{text}"
    );
}

#[test]
fn schema_show_gives_the_values_of_enum_sub_fields() {
    let text = help(&["schema", "show", "people"]);
    let line = text
        .lines()
        .find(|l| l.trim_start().starts_with("createdBy.source "))
        .unwrap_or_else(|| panic!("no createdBy.source in:\n{text}"));
    assert_eq!(
        line.split_whitespace().collect::<Vec<_>>().join(" "),
        "createdBy.source enum: EMAIL, CALENDAR, WORKFLOW, API, IMPORT, MANUAL, SYSTEM, WEBHOOK"
    );
}

#[test]
fn relation_ids_take_the_right_article() {
    let text = help(&["attachments", "create", "--help"]);
    assert!(text.contains("(uuid of an opportunity)"), "{text}");
    assert!(text.contains("(uuid of a company)"), "{text}");
}

#[test]
fn help_of_people_create() {
    let text = help(&["people", "create", "--help"]);
    assert!(text.starts_with("Create a person\n"), "{text}");
    assert!(text.contains("--name.first-name <TEXT>"));
    assert!(text.contains("--emails.primary-email <"));
    snapshot("people-create.txt", &text);
}

#[test]
fn top_level_help_lists_resources_with_descriptions() {
    let text = help(&["--help"]);
    for resource in [
        "workflow-runs",
        "people",
        "api-keys",
        "message-channel-message-associations",
    ] {
        assert!(
            text.contains(&format!("  {resource} ")),
            "no {resource} in:\n{text}"
        );
    }
    assert!(text.contains("completions"));
}

#[test]
fn singular_and_camel_case_names_reach_the_same_resource() {
    for name in [
        "workflow-runs",
        "workflow-run",
        "workflowRuns",
        "workflowRun",
    ] {
        let text = help(&[name, "--help"]);
        assert!(text.contains("update"), "{name}: {text}");
        assert!(text.contains("create-many"), "{name}: {text}");
    }
}

#[test]
fn verbs_of_newer_documents_only_where_offered() {
    let home = Home::new();
    let run = home.run(&["workflow-runs", "merge", "--help"]);
    assert_eq!(run.code, 2, "v1.0.3 has no merge: {}", run.stdout);
    let schema = support::spec_2026();
    let run = home.run(&[
        "--schema",
        schema.to_str().expect("utf-8"),
        "workflow-runs",
        "merge",
        "--help",
    ]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    let run = home.run(&[
        "--schema",
        schema.to_str().expect("utf-8"),
        "call",
        "duplicateDashboard",
        "--help",
    ]);
    assert_eq!(run.code, 0, "{}", run.stderr);
}

#[test]
fn completions_cover_the_whole_tree() {
    let home = Home::new();
    for shell in ["bash", "zsh", "fish"] {
        let run = home.run(&["completions", shell]);
        assert_eq!(run.code, 0, "{}", run.stderr);
        assert!(run.stdout.contains("workflow-runs"), "{shell}");
        assert!(run.stdout.contains("workflow-version-id"), "{shell}");
    }
}

#[test]
fn a_reader_that_stops_early_ends_the_command_quietly() {
    let home = Home::new();
    for args in [
        &["completions", "bash"][..],
        &["schema", "show", "people"][..],
    ] {
        let mut child = home
            .command()
            .args(args)
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .expect("twenty starts");
        // Closing our end at once makes every write of the child fail, as
        // behind `| head -1`: the bash script is far larger than a pipe holds.
        drop(child.stdout.take());
        let output = child.wait_with_output().expect("twenty ends");
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert_eq!(output.status.code(), Some(0), "{args:?}: {stderr}");
        assert!(stderr.is_empty(), "{args:?}: {stderr}");
    }
}
