//! Global options and the commands around them: what `--sandbox` means for
//! each command, `--timeout`, hints in the command's own words, `help`
//! for any resource, and the sandbox's store per catalog.

mod support;

use serde_json::json;
use support::{Counter, Home, KEY, RUN_ID, Recorder, Silent, spec_2026};

/// Runs `args` with a URL and a key in the environment, as a user with
/// credentials set up would.
fn run_with_env(home: &Home, url: &str, args: &[&str]) -> support::Run {
    support::Run::from(
        home.command()
            .env("TWENTY_API_URL", url)
            .env("TWENTY_API_KEY", KEY)
            .args(args)
            .output()
            .expect("run"),
    )
}

#[test]
fn sandbox_is_refused_where_it_cannot_apply() {
    let counter = Counter::start();
    let home = Home::new();
    let key = home.key_file();
    let key = key.to_str().expect("utf-8");

    let run = run_with_env(&home, &counter.url, &["--sandbox", "schema", "fetch"]);
    run.assert_refused(&[
        "--sandbox does not apply to `twenty schema fetch`",
        "hint: `twenty --sandbox schema objects`",
    ]);
    assert!(!home.path().join("config/schemas").exists());

    run_with_env(&home, &counter.url, &["--sandbox", "auth", "login"])
        .assert_refused(&["--sandbox does not apply to `twenty auth login`"]);
    run_with_env(&home, &counter.url, &["auth", "logout", "--sandbox"])
        .assert_refused(&["--sandbox does not apply to `twenty auth logout`"]);
    run_with_env(
        &home,
        &counter.url,
        &["--sandbox", "sandbox", "serve", "--memory"],
    )
    .assert_refused(&["--sandbox does not apply to `twenty sandbox serve`"]);
    assert!(!home.path().join("config/config.json").exists());

    for (flag, value) in [("--api-url", counter.url.as_str()), ("--api-key-file", key)] {
        let run = home.run(&["--sandbox", flag, value, "people", "list"]);
        run.assert_refused(&[&format!("--sandbox and {flag} cannot be used together")]);
    }
    assert!(
        !home.path().join("data").exists(),
        "a refused run started a sandbox"
    );
    assert_eq!(counter.connections_made(), 0);
}

#[test]
fn auth_status_with_sandbox_reports_on_the_embedded_sandbox() {
    let counter = Counter::start();
    let home = Home::new();
    let run = run_with_env(&home, &counter.url, &["--sandbox", "auth", "status"]);
    run.assert_ok();
    let store = home.path().join("data/sandbox/sandbox.db");
    let mut lines = run.stdout.lines();
    assert_eq!(
        lines.next(),
        Some(format!("sandbox: embedded, records in {}", store.display()).as_str())
    );
    let url = lines.next().expect("url line");
    assert!(url.starts_with("url: http://127.0.0.1:"), "{url}");
    assert_eq!(lines.next(), Some("key: set"));
    assert_eq!(lines.next(), Some("check: ok"));
    assert!(store.exists());
    assert_eq!(counter.connections_made(), 0);
}

#[test]
fn timeout_is_per_attempt_validated_and_named_with_the_attempts() {
    let server = Silent::start();
    let home = Home::new();
    let run = home.run_at(
        &server.url,
        &[
            "--timeout",
            "0.3",
            "--no-retry",
            "workflow-runs",
            "get",
            RUN_ID,
        ],
    );
    assert_eq!(run.code, 4, "{}", run.stderr);
    run.assert_no_key();
    let mut lines = run.stderr.lines();
    let error = lines.next().expect("error line");
    assert!(
        error.ends_with("failed after 1 attempt: no answer within 0.3s"),
        "{error}"
    );
    let hint = lines.next().expect("hint line");
    assert!(hint.starts_with("hint: "), "{hint}");
    assert!(hint.contains("--timeout SECONDS"), "{hint}");
    assert!(!hint.contains("ClientConfig"), "{hint}");
    assert!(!hint.contains("--no-retry"), "it was given: {hint}");

    // With retries every attempt waits the whole timeout, and the message
    // says how many there were.
    let run = home.run_at(&server.url, &["--timeout", "0.1", "people", "list"]);
    assert_eq!(run.code, 4, "{}", run.stderr);
    assert!(
        run.stderr
            .contains("failed after 5 attempts: no answer within 0.1s"),
        "{}",
        run.stderr
    );
    assert!(
        run.stderr
            .contains("; --no-retry waits for one attempt only"),
        "{}",
        run.stderr
    );

    let counter = Counter::start();
    for bad in ["0", "-1", "abc", "1e9", "NaN"] {
        let flag = format!("--timeout={bad}");
        let run = home.run_at(&counter.url, &[&flag, "people", "list"]);
        assert_eq!(run.code, 2, "{bad}: {}", run.stderr);
        assert!(
            run.stderr
                .contains(&format!("invalid value '{bad}' for '--timeout <SECONDS>'")),
            "{}",
            run.stderr
        );
    }
    assert_eq!(counter.connections_made(), 0);
}

#[test]
fn hints_name_the_commands_flags_not_the_librarys_settings() {
    let home = Home::new();
    let insecure = home.run_at("http://crm.example.com", &["people", "list"]);
    insecure.assert_refused(&[
        "hint: use https://, or pass --allow-insecure-http if the network is trusted",
    ]);

    let limited = Recorder::start(|_| {
        (
            429,
            json!({"statusCode": 429, "error": "TooManyRequestsException",
                   "messages": ["Too many requests"]}),
        )
    });
    let limited = home.run_at(&limited.url, &["--no-retry", "people", "list"]);
    assert_eq!(limited.code, 5, "{}", limited.stderr);
    assert!(
        limited.stderr.contains("send fewer with --rate N"),
        "{}",
        limited.stderr
    );

    let rejected = Recorder::start(|_| {
        (
            401,
            json!({"statusCode": 401, "error": "UNAUTHENTICATED", "messages": ["Token invalid."]}),
        )
    });
    let rejected = home.run_at(&rejected.url, &["people", "list"]);
    assert_eq!(rejected.code, 3, "{}", rejected.stderr);
    assert!(
        rejected.stderr.contains(
            "$TWENTY_API_KEY, pass --api-key-file FILE, or save one with `twenty auth login`"
        ),
        "{}",
        rejected.stderr
    );

    for run in [&insecure, &limited, &rejected] {
        for library in ["ClientConfig", "rate_limit", "allow_insecure_http"] {
            assert!(!run.stderr.contains(library), "{}", run.stderr);
        }
        run.assert_no_key();
    }
}

#[test]
fn help_works_for_any_resource_and_verb() {
    let home = Home::new();
    let run = home.run(&["help", "people", "list"]);
    run.assert_ok();
    assert!(
        run.stdout.contains("Usage: twenty people list [OPTIONS]"),
        "{}",
        run.stdout
    );
    assert_eq!(run.stdout, home.run(&["people", "list", "--help"]).stdout);

    let run = home.run(&["help", "workflow-runs"]);
    run.assert_ok();
    assert!(
        run.stdout.contains("Usage: twenty workflow-runs"),
        "{}",
        run.stdout
    );
    assert!(run.stdout.contains("update"), "{}", run.stdout);

    let run = home.run(&["help", "call", "findManyPeople"]);
    run.assert_ok();
    assert!(
        run.stdout.contains("Usage: twenty call findManyPeople"),
        "{}",
        run.stdout
    );

    let run = home.run(&["help", "auth", "login"]);
    run.assert_ok();
    let run = home.run(&["help", "people", "nosuch"]);
    assert_eq!(run.code, 2);
    assert!(
        run.stderr.contains("unrecognized subcommand 'nosuch'"),
        "{}",
        run.stderr
    );
}

#[test]
fn a_port_in_use_names_its_cause_once() {
    let taken = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let port = taken.local_addr().expect("addr").port().to_string();
    let home = Home::new();
    let run = home.run(&["sandbox", "serve", "--memory", "--port", &port]);
    assert_eq!(run.code, 1, "{}", run.stderr);
    let expected = format!("error: failed to start the sandbox: failed to bind 127.0.0.1:{port}: ");
    assert!(run.stderr.starts_with(&expected), "{}", run.stderr);
    assert_eq!(
        run.stderr
            .to_lowercase()
            .matches("address already in use")
            .count(),
        1,
        "{}",
        run.stderr
    );
    assert_eq!(run.stderr.lines().count(), 1, "{}", run.stderr);
    drop(taken);
}

#[test]
fn each_catalog_keeps_its_own_sandbox_store() {
    let home = Home::new();
    let doc = spec_2026();
    let doc = doc.to_str().expect("utf-8");

    let run = home.run(&[
        "--sandbox",
        "--schema",
        doc,
        "--debug",
        "workflow-runs",
        "create",
        "--name",
        "Queued",
        "--status",
        "ENQUEUED",
    ]);
    run.assert_ok();
    let dir = home.path().join("data/sandbox");
    let store = std::fs::read_dir(&dir)
        .expect("sandbox dir")
        .map(|e| e.expect("entry").file_name().to_string_lossy().into_owned())
        .find(|name| name.starts_with("sandbox-") && name.ends_with(".db"))
        .expect("a store for the 2026 catalog");
    assert!(
        run.stderr.contains(&format!(
            "starting the sandbox with the store {}",
            dir.join(&store).display()
        )),
        "{}",
        run.stderr
    );

    // The built-in catalog has its own store, where the 2026 value is not.
    let run = home.run(&[
        "--sandbox",
        "-v",
        "workflow-runs",
        "list",
        "--format",
        "jsonl",
    ]);
    run.assert_ok();
    assert!(
        run.stderr.contains(&format!(
            "starting the sandbox with the store {}",
            dir.join("sandbox.db").display()
        )),
        "{}",
        run.stderr
    );
    assert!(!run.stdout.contains("ENQUEUED"), "{}", run.stdout);
    assert!(!run.stdout.contains("Queued"), "{}", run.stdout);

    // The 2026 store kept its record.
    let run = home.run(&[
        "--sandbox",
        "--schema",
        doc,
        "workflow-runs",
        "list",
        "--filter",
        "name[eq]:\"Queued\"",
        "--format",
        "jsonl",
    ]);
    run.assert_ok();
    assert_eq!(run.stdout.lines().count(), 1, "{}", run.stdout);
    assert!(run.stdout.contains("ENQUEUED"), "{}", run.stdout);
}

/// Help that cannot be written to a full stdout is a failure, as any
/// other output that cannot be written is; a reader that left is not.
#[cfg(target_os = "linux")]
#[test]
fn help_to_a_full_stdout_fails() {
    let home = Home::new();
    for args in [&["--help"][..], &["people", "list", "--help"]] {
        let full = std::fs::OpenOptions::new()
            .write(true)
            .open("/dev/full")
            .expect("/dev/full opens");
        let output = home.command().args(args).stdout(full).output().unwrap();
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert_eq!(output.status.code(), Some(1), "{args:?}: {stderr}");
        assert_eq!(stderr, "error: no space left on device (os error 28)\n");
    }
}

/// A full stderr, as `2>/dev/full` gives, loses the messages but not the
/// outcome: every run still ends with its own exit code, never a panic's.
#[cfg(target_os = "linux")]
#[test]
fn a_full_stderr_changes_no_exit_code() {
    let home = Home::new();
    let run = |args: &[&str], stdin: &str| {
        let full = std::fs::OpenOptions::new()
            .write(true)
            .open("/dev/full")
            .expect("/dev/full opens");
        let mut child = home
            .command()
            .args(args)
            .stdin(std::process::Stdio::piped())
            .stdout(std::process::Stdio::piped())
            .stderr(full)
            .spawn()
            .expect("twenty starts");
        // A run refused before it reads stdin closes it early.
        let _ = std::io::Write::write_all(&mut child.stdin.take().unwrap(), stdin.as_bytes());
        let output = child.wait_with_output().expect("twenty ends");
        (
            output.status.code(),
            String::from_utf8_lossy(&output.stdout).into_owned(),
        )
    };

    let (code, stdout) = run(&["--sandbox", "people", "get", "not-a-uuid"], "");
    assert_eq!((code, stdout.as_str()), (Some(2), ""));

    let created = home.run(&[
        "--sandbox",
        "workflow-runs",
        "create",
        "--name",
        "Full",
        "--jq",
        ".id",
    ]);
    // A string picked by --jq prints bare, as jq -r would.
    let id = created.assert_ok().stdout.trim().to_owned();

    // `-v` writes a line per request to stderr; the record still arrives.
    let (code, stdout) = run(
        &[
            "-v",
            "--sandbox",
            "workflow-runs",
            "get",
            &id,
            "--jq",
            ".id",
        ],
        "",
    );
    assert_eq!(code, Some(0));
    assert_eq!(stdout.trim(), id);

    // A stream stops at its bad line 2 after line 1 ran (exit 1); the
    // report and the hint that say so both go to stderr.
    let (code, stdout) = run(
        &[
            "--sandbox",
            "workflow-runs",
            "get",
            "--each",
            "-",
            "--jq",
            ".id",
        ],
        &format!("{{\"id\":\"{id}\"}}\n{{\"id\":\"not-a-uuid\"}}\n"),
    );
    assert_eq!(code, Some(1));
    assert_eq!(stdout.trim(), id);
}

/// A CSV of no records is its header, the columns `export` writes, as a
/// table of none is its header. A `--jq` result takes its columns from its
/// objects, so with none out of the filter there is no header to print.
#[test]
fn an_empty_csv_list_prints_the_export_header() {
    let home = Home::new();
    let none = "city[eq]:Nowhere";
    let exported = home.run(&[
        "--sandbox",
        "export",
        "people",
        "--filter",
        none,
        "--format",
        "csv",
    ]);
    let header = exported.assert_ok().stdout.clone();
    assert!(
        header.starts_with("name.firstName,name.lastName,"),
        "{header}"
    );
    assert!(
        header.contains(",city,") && header.contains(",emails.primaryEmail,"),
        "{header}"
    );
    assert_eq!(header.lines().count(), 1, "{header}");

    let list = [
        "--sandbox",
        "people",
        "list",
        "--filter",
        none,
        "--format",
        "csv",
    ];
    let run = home.run(&list);
    assert_eq!(run.assert_ok().stdout, header);
    let mut all = list.to_vec();
    all.push("--all");
    assert_eq!(home.run(&all).assert_ok().stdout, header);

    let mut jq = list.to_vec();
    jq.extend(["--jq", ".[] | {id, city}"]);
    assert_eq!(home.run(&jq).assert_ok().stdout, "");
}

/// Export writes whole records as CSV or JSON lines, in the format import
/// will read its file in: the other commands' output options are refused,
/// and so is a format the output file's name contradicts.
#[test]
fn export_refuses_options_that_do_not_apply() {
    let counter = Counter::start();
    let home = Home::new();
    let out = home.path().join("o.csv");
    let out = out.to_str().expect("utf-8");
    let cases: [(&[&str], &[&str]); 7] = [
        (
            &["--jq", ".name"],
            &[
                "error: --jq does not apply to `twenty export`: it writes every field of every \
                 record\n",
                "`twenty export companies | jq -c '{id}'`",
                "list --all --jq EXPR",
            ],
        ),
        (
            &["--raw"],
            &[
                "error: --raw does not apply to `twenty export`",
                "as csv or jsonl (--as or --format)",
            ],
        ),
        (
            &["--format", "table"],
            &[
                "error: --format table does not apply to `twenty export`: it writes csv or \
                 jsonl\n",
                "hint: give --format csv or --format jsonl (or --as)",
            ],
        ),
        (
            &["--format", "json"],
            &["error: --format json does not apply to `twenty export`"],
        ),
        (
            &["--format", "jsonl", "--output-file", out],
            &[
                &format!(
                    "error: --format jsonl disagrees with --output-file `{out}`, whose \
                     extension says csv: `twenty import` would read it as csv\n"
                ),
                "or drop --format jsonl to write csv",
            ],
        ),
        (
            &["--as", "jsonl", "-o", out],
            &["error: --as jsonl disagrees with --output-file"],
        ),
        (
            &["--as", "csv", "--format", "jsonl"],
            &["error: --as csv and --format jsonl disagree"],
        ),
    ];
    for (options, parts) in cases {
        let mut args = vec!["export", "companies"];
        args.extend(options);
        home.run_at(&counter.url, &args).assert_refused(parts);
    }
    assert!(!std::path::Path::new(out).exists(), "o.csv was written");
    assert_eq!(counter.connections_made(), 0);

    // Formats that agree still export, the file's name choosing the format.
    let run = home.run(&["--sandbox", "export", "companies", "--output-file", out]);
    run.assert_ok();
    let written = std::fs::read_to_string(out).expect("o.csv");
    assert!(written.starts_with("name,domainName."), "{written}");
    let run = home.run(&[
        "--sandbox",
        "export",
        "companies",
        "--format",
        "csv",
        "-o",
        out,
    ]);
    run.assert_ok();
}

/// Import prints a summary, not records: the output options of the other
/// commands are refused rather than ignored, and `--format` may only name
/// the file's format, as `--as` does.
#[test]
fn import_refuses_output_options() {
    let counter = Counter::start();
    let home = Home::new();
    let file = home.path().join("people.csv");
    std::fs::write(&file, "name.firstName\nAda\n").unwrap();
    let file = file.to_str().expect("utf-8");
    let summary = "does not apply to `twenty import`: import prints a summary and writes \
                   rejected rows to the reject file\n";
    for (options, named, hint) in [
        (&["--jq", ".id"][..], "--jq", "hint: drop --jq\n"),
        (&["--raw"], "--raw", "hint: drop --raw\n"),
        (
            &["--format", "table"],
            "--format table",
            "hint: to name the file's format, give --as csv or --as jsonl\n",
        ),
    ] {
        let mut args = vec!["import", "people", file];
        args.extend(options);
        let run = home.run_at(&counter.url, &args);
        run.assert_refused(&[&format!("error: {named} {summary}"), hint]);
    }
    assert_eq!(counter.connections_made(), 0);
    // A format that names the file's is its --as.
    let run = home.run(&["--sandbox", "import", "people", file, "--format", "CSV"]);
    run.assert_ok();
    assert_eq!(run.stderr, "1 person created, 0 rejected\n");
}

/// A 501 means the server does not do the operation at all, so nothing is
/// said of a change it may have made.
#[test]
fn an_operation_the_server_does_not_serve_says_only_that() {
    let home = Home::new();
    let doc = spec_2026();
    let run = home.run(&[
        "--sandbox",
        "--schema",
        doc.to_str().unwrap(),
        "people",
        "merge",
        "--ids",
        "6fdc2a0a-0b8a-4f3d-9a53-1a1f7a3a8b11,6fdc2a0a-0b8a-4f3d-9a53-1a1f7a3a8b12",
        "--conflict-priority-index",
        "0",
    ]);
    assert_eq!(run.code, 1, "{}", run.stderr);
    assert!(run.stderr.contains("returned 501"), "{}", run.stderr);
    assert!(!run.stderr.contains("hint:"), "{}", run.stderr);
}
