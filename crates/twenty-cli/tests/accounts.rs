//! Credentials, profiles, the schema cache, the sandbox, and the promise
//! that the API key never shows in any output.

mod support;

use std::io::{BufRead, BufReader};
use std::process::Stdio;

use serde_json::{Value, json};
use support::{Counter, Home, KEY, RUN_ID, Recorder, spec_2026, workflow_runs};

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
    run.assert_no_key();

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
    run.assert_no_key();
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
    assert!(
        run.stderr
            .starts_with("error: unknown profile `work`\nhint: no profile is saved yet"),
        "{}",
        run.stderr
    );
    assert_eq!(server.requests().len(), 2, "only status and get were sent");
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

/// `twenty auth login --api-url URL` started on a fresh pty, once it has
/// turned echo off, with the pty's master side to type on and read from
/// and the pty's settings from before twenty started.
#[cfg(unix)]
fn login_on_a_pty(
    home: &Home,
    url: &str,
) -> (std::process::Child, std::fs::File, rustix::termios::Termios) {
    use rustix::pty::{OpenptFlags, grantpt, openpt, ptsname, unlockpt};
    use rustix::termios::{LocalModes, tcgetattr};

    let master = openpt(OpenptFlags::RDWR | OpenptFlags::NOCTTY).expect("a pty");
    grantpt(&master).unwrap();
    unlockpt(&master).unwrap();
    let name = ptsname(&master, Vec::new()).unwrap();
    let before = tcgetattr(&master).unwrap();
    let terminal = || {
        std::fs::OpenOptions::new()
            .read(true)
            .write(true)
            .open(name.to_str().unwrap())
            .expect("the pty's terminal side")
    };
    let child = home
        .command()
        .args(["auth", "login", "--api-url", url])
        .stdin(terminal())
        .stdout(terminal())
        .stderr(terminal())
        .spawn()
        .expect("twenty starts");
    // A key typed while echo is still on would show whatever twenty does,
    // so type once it has turned echo off, as a person would after the
    // prompt.
    let started = std::time::Instant::now();
    while tcgetattr(&master)
        .unwrap()
        .local_modes
        .contains(LocalModes::ECHO)
    {
        assert!(started.elapsed().as_secs() < 30, "echo never went off");
        std::thread::sleep(std::time::Duration::from_millis(10));
    }
    (child, std::fs::File::from(master), before)
}

/// All that twenty wrote to the pty, once it has ended.
#[cfg(unix)]
fn screen(master: &mut std::fs::File) -> String {
    use std::io::Read as _;
    let mut screen = Vec::new();
    // Reading ends with EIO once no process holds the terminal side.
    let mut chunk = [0u8; 4096];
    while let Ok(n) = master.read(&mut chunk) {
        if n == 0 {
            break;
        }
        screen.extend_from_slice(&chunk[..n]);
    }
    String::from_utf8_lossy(&screen).into_owned()
}

/// On a terminal the key is read with echo off: typed, it must not show
/// on the screen, where scrollback and recordings would keep it.
#[cfg(unix)]
#[test]
fn login_on_a_terminal_does_not_echo_the_key() {
    use std::io::Write as _;

    let server = Recorder::start(workflow_runs);
    let home = Home::new();
    let (mut child, mut master, _) = login_on_a_pty(&home, &server.url);
    master.write_all(format!("{KEY}\n").as_bytes()).unwrap();
    let status = child.wait().expect("twenty ends");
    let screen = screen(&mut master);
    assert_eq!(status.code(), Some(0), "{screen}");
    assert!(screen.contains("API key (typing is hidden):"), "{screen}");
    assert!(!screen.contains(KEY), "the key was echoed:\n{screen}");
    home.run(&["workflow-runs", "get", RUN_ID]).assert_ok();
    assert_eq!(server.only().authorization, Some(format!("Bearer {KEY}")));
}

/// Ctrl-C at the hidden prompt gives the terminal back as it was: left
/// with echo off, the user's shell would show nothing typed after it.
#[cfg(unix)]
#[test]
fn ctrl_c_at_the_key_prompt_restores_echo_and_saves_nothing() {
    use rustix::termios::{LocalModes, SpecialCodeIndex, tcgetattr};
    use std::io::Write as _;

    let server = Recorder::start(workflow_runs);
    let home = Home::new();
    let (mut child, mut master, before) = login_on_a_pty(&home, &server.url);
    // 0x03 is Ctrl-C as a terminal sends it; with ISIG on, the line
    // discipline would turn it into SIGINT for the foreground group.
    master.write_all(b"abc\x03").unwrap();
    // Read as a byte, not as SIGINT (the pty is nobody's controlling
    // terminal here), a Ctrl-C that twenty ignored would leave it waiting.
    let started = std::time::Instant::now();
    let status = loop {
        if let Some(status) = child.try_wait().expect("twenty runs") {
            break status;
        }
        if started.elapsed().as_secs() > 30 {
            child.kill().ok();
            panic!("Ctrl-C did not end the prompt");
        }
        std::thread::sleep(std::time::Duration::from_millis(10));
    };
    let after = tcgetattr(&master).unwrap();
    let screen = screen(&mut master);
    assert_eq!(status.code(), Some(130), "{screen}");
    assert!(
        screen.contains("interrupted: profile `default` not saved"),
        "{screen}"
    );
    assert!(!screen.contains("abc"), "the typing was echoed:\n{screen}");
    let modes = after.local_modes;
    assert!(modes.contains(LocalModes::ECHO), "echo left off: {modes:?}");
    assert!(
        modes.contains(LocalModes::ISIG),
        "signals left off: {modes:?}"
    );
    assert_eq!(modes, before.local_modes);
    assert_eq!(
        after.special_codes[SpecialCodeIndex::VEOL],
        before.special_codes[SpecialCodeIndex::VEOL],
        "the end-of-line character was left changed"
    );
    assert!(!home.path().join("config/config.json").exists());
    assert!(server.requests().is_empty());
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

/// A profile the user names brings its URL and its key together: with
/// `$TWENTY_API_URL` exported for another server, `--profile prod` must not
/// send prod's key there, nor prod's URL an environment key.
#[test]
fn a_named_profile_is_never_mixed_with_the_environment() {
    let profile_server = Recorder::start(workflow_runs);
    let other = Counter::start();
    let home = Home::new();
    home.run_with_stdin(
        &[
            "auth",
            "login",
            "--profile",
            "prod",
            "--api-url",
            &profile_server.url,
        ],
        &format!("{KEY}\n"),
    )
    .assert_ok();
    let with_env = |named: &[&str]| {
        let mut cmd = home.command();
        cmd.env("TWENTY_API_URL", &other.url)
            .env("TWENTY_API_KEY", "other-environment-key")
            .args(named)
            .args(["workflow-runs", "get", RUN_ID]);
        support::Run::from(cmd.output().expect("run"))
    };

    with_env(&["--profile", "prod"]).assert_ok();
    let run = support::Run::from(
        home.command()
            .env("TWENTY_API_URL", &other.url)
            .env("TWENTY_API_KEY", "other-environment-key")
            .env("TWENTY_PROFILE", "prod")
            .args(["workflow-runs", "get", RUN_ID])
            .output()
            .expect("run"),
    );
    run.assert_ok();
    let seen = profile_server.requests();
    assert_eq!(seen.len(), 2);
    for request in seen {
        assert_eq!(request.authorization, Some(format!("Bearer {KEY}")));
    }
    assert_eq!(other.connections_made(), 0);

    // With no profile named, the environment still comes first.
    let run = with_env(&[]);
    assert_eq!(run.code, 4, "{}", run.stderr);
    assert!(other.connections_made() > 0);
}

/// The default profile is no different: named, it is used whole; unnamed,
/// its key still goes only to its own server, so a URL from the
/// environment or `--api-url` with no key of its own is refused.
#[test]
fn a_profiles_key_goes_only_to_its_own_server() {
    let profile_server = Recorder::start(workflow_runs);
    let other = Counter::start();
    let home = Home::new();
    home.run_with_stdin(
        &["auth", "login", "--api-url", &profile_server.url],
        &format!("{KEY}\n"),
    )
    .assert_ok();
    let run = |env: &[(&str, &str)], args: &[&str]| {
        let mut cmd = home.command();
        for (var, value) in env {
            cmd.env(var, value);
        }
        cmd.args(args).args(["workflow-runs", "get", RUN_ID]);
        support::Run::from(cmd.output().expect("run"))
    };

    let elsewhere = [("TWENTY_API_URL", other.url.as_str())];
    let run_env = run(&elsewhere, &[]);
    run_env.assert_refused(&[
        &format!(
            "error: no API key for {} (from $TWENTY_API_URL): profile `default` holds a key \
                 for {} only",
            other.url, profile_server.url
        ),
        "hint: give this server's key with $TWENTY_API_KEY or --api-key-file FILE, or \
             unset $TWENTY_API_URL to use the profile's server; nothing was sent",
    ]);
    let run_flag = run(&[], &["--api-url", &other.url]);
    run_flag.assert_refused(&["(from --api-url)", "or drop --api-url"]);

    // Named, even as `default`, the profile must have been saved.
    let unsaved = Home::new();
    let refusal = support::Run::from(
        unsaved
            .command()
            .env("TWENTY_API_URL", &other.url)
            .env("TWENTY_API_KEY", KEY)
            .args(["--profile", "default", "workflow-runs", "get", RUN_ID])
            .output()
            .expect("run"),
    );
    refusal.assert_refused(&["error: unknown profile `default`"]);
    // And is used whole.
    run(&elsewhere, &["--profile", "default"]).assert_ok();
    run(&[("TWENTY_PROFILE", "default"), elsewhere[0]], &[]).assert_ok();
    run(
        &[("TWENTY_API_KEY", "other-environment-key")],
        &["--profile", "default"],
    )
    .assert_ok();
    // The profile's own server, written another way, gets its key.
    let with_rest = format!("{}/rest/", profile_server.url);
    run(&[("TWENTY_API_URL", &with_rest)], &[]).assert_ok();
    let seen = profile_server.requests();
    assert_eq!(seen.len(), 4);
    for request in seen {
        assert_eq!(request.authorization, Some(format!("Bearer {KEY}")));
    }
    assert_eq!(other.connections_made(), 0);
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
    run.assert_no_key();
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
    run.assert_no_key();
    assert!(run.stderr.contains("error: "), "{}", run.stderr);
    assert!(run.stderr.contains("Token invalid."), "{}", run.stderr);
    assert!(run.stderr.contains("hint: "), "{}", run.stderr);

    let run = home.run_at(&server.url, &["auth", "status"]);
    assert_eq!(run.code, 3);
    run.assert_no_key();
}

#[test]
fn plain_http_to_another_host_is_refused() {
    let home = Home::new();
    let run = home.run_at("http://crm.example.com", &["workflow-runs", "get", RUN_ID]);
    assert_eq!(run.code, 2, "{}", run.stderr);
    assert!(run.stderr.contains("plain http"), "{}", run.stderr);
    run.assert_no_key();
}

/// A profile's cached schema is that profile's server's: a fetch from
/// another server does not replace it, and a run against another server
/// does not use it.
#[test]
fn a_cached_schema_stays_with_its_server() {
    let document = std::fs::read_to_string(spec_2026()).expect("spec");
    let document: Value = serde_yaml_like(&document);
    let server = Recorder::start(move |r| {
        if r.path.ends_with("/open-api/core") {
            (200, document.clone())
        } else {
            workflow_runs(r)
        }
    });
    let other = Counter::start();
    let home = Home::new();
    home.run_with_stdin(
        &["auth", "login", "--api-url", &server.url],
        &format!("{KEY}\n"),
    )
    .assert_ok();
    home.run(&["schema", "fetch"]).assert_ok();
    home.run(&["workflow-runs", "merge", "--help"]).assert_ok();

    let elsewhere = |args: &[&str]| {
        support::Run::from(
            home.command()
                .env("TWENTY_API_URL", &other.url)
                .env("TWENTY_API_KEY", "other-servers-key")
                .args(args)
                .output()
                .expect("run"),
        )
    };
    let run = elsewhere(&["schema", "fetch"]);
    run.assert_refused(&[
        &format!(
            "error: `twenty schema fetch` would cache the schema of {} for profile \
                 `default`, which is {}'s",
            other.url, server.url
        ),
        "twenty auth login --profile NAME --api-url",
    ]);
    // The other server gets the built-in model, which has no merge.
    let run = elsewhere(&["workflow-runs", "merge", "--help"]);
    run.assert_refused(&["is not offered by the built-in schema"]);
    assert_eq!(other.connections_made(), 0);
    // Named, with another server's URL and key given: the same.
    let key = home.key_file();
    let run = home.run(&[
        "--profile",
        "default",
        "--api-url",
        &other.url,
        "--api-key-file",
        key.to_str().unwrap(),
        "workflow-runs",
        "merge",
        "--help",
    ]);
    run.assert_refused(&["is not offered by the built-in schema"]);
    // The profile keeps its own.
    home.run(&["workflow-runs", "merge", "--help"]).assert_ok();

    // With no profile at all, a cache fetched from the environment's
    // server serves that server only.
    let bare = Home::new();
    let with_env = |url: &str, args: &[&str]| {
        support::Run::from(
            bare.command()
                .env("TWENTY_API_URL", url)
                .env("TWENTY_API_KEY", KEY)
                .args(args)
                .output()
                .expect("run"),
        )
    };
    with_env(&server.url, &["schema", "fetch"]).assert_ok();
    with_env(&server.url, &["workflow-runs", "merge", "--help"]).assert_ok();
    let run = with_env(&other.url, &["workflow-runs", "merge", "--help"]);
    run.assert_refused(&["is not offered by the built-in schema"]);
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
    run.assert_no_key();
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
    let key = home.key_file();
    home.run(&[
        "auth",
        "login",
        "--profile",
        "other",
        "--api-url",
        &server.url,
        "--api-key-file",
        key.to_str().expect("utf-8"),
    ])
    .assert_ok();
    let run = home.run(&["--profile", "other", "workflow-runs", "merge", "--help"]);
    assert_eq!(run.code, 2);
    assert!(
        run.stderr.starts_with(
            "error: `twenty workflow-runs merge` is not offered by the built-in schema"
        ),
        "{}",
        run.stderr
    );
}

#[test]
fn logout_removes_the_profiles_cached_schema() {
    let document = serde_yaml_like(&std::fs::read_to_string(spec_2026()).expect("spec"));
    let server = Recorder::start(move |r| {
        if r.path.ends_with("/open-api/core") {
            (200, document.clone())
        } else {
            workflow_runs(r)
        }
    });
    let home = Home::new();
    let login = |home: &Home| {
        let key = home.key_file();
        home.run(&[
            "auth",
            "login",
            "--profile",
            "work",
            "--api-url",
            &server.url,
            "--api-key-file",
            key.to_str().expect("utf-8"),
        ])
        .assert_ok();
    };
    login(&home);
    home.run(&["--profile", "work", "schema", "fetch"])
        .assert_ok();
    let schemas = home.path().join("config/schemas");
    let cached = [
        schemas.join("work.openapi.json"),
        schemas.join("work.catalog.json"),
    ];
    assert!(cached.iter().all(|p| p.exists()), "nothing cached");

    let run = home.run(&["--profile", "work", "auth", "logout"]);
    run.assert_ok();
    assert!(
        run.stderr
            .contains("removed profile `work` and its cached schema"),
        "{}",
        run.stderr
    );
    for path in &cached {
        assert!(!path.exists(), "{} left behind", path.display());
    }
    // Saved again, the profile starts from the built-in model, which has
    // no merge.
    login(&home);
    let run = home.run(&["--profile", "work", "workflow-runs", "merge", "--help"]);
    assert_eq!(run.code, 2, "{}", run.stdout);
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
    // The records are the user's alone, as the profiles are.
    #[cfg(unix)]
    for dir in ["data", "data/sandbox"] {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(home.path().join(dir))
            .unwrap()
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o700, "{dir}");
    }

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

#[test]
fn no_key_anywhere_is_refused_before_anything_is_sent() {
    let counter = Counter::start();
    let home = Home::new();
    let commands: [&[&str]; 3] = [
        &["workflow-runs", "get", RUN_ID],
        &["auth", "status"],
        &["schema", "fetch"],
    ];
    for env_key in [None, Some(""), Some("  \n")] {
        for args in commands {
            let mut cmd = home.command();
            cmd.arg("--api-url").arg(&counter.url).args(args);
            if let Some(value) = env_key {
                cmd.env("TWENTY_API_KEY", value);
            }
            let run = support::Run::from(cmd.output().expect("run"));
            run.assert_refused(&[
                "error: no API key",
                "$TWENTY_API_KEY",
                "--api-key-file",
                "`twenty auth login`",
                "nothing was sent",
            ]);
        }
    }
    assert!(!home.path().join("config/schemas").exists());
    assert_eq!(counter.connections_made(), 0);
}

#[test]
fn key_files_that_are_missing_or_empty_are_usage_errors_naming_them() {
    let counter = Counter::start();
    let home = Home::new();
    let missing = home.path().join("no-such-key.txt");
    let empty = home.path().join("empty-key.txt");
    std::fs::write(&empty, "\n").expect("write");
    let spaced = home.path().join("spaced-key.txt");
    std::fs::write(&spaced, "two words\n").expect("write");

    let with_file = |file: &std::path::Path, args: &[&str]| {
        let mut all = vec![
            "--api-url",
            counter.url.as_str(),
            "--api-key-file",
            file.to_str().expect("utf-8"),
        ];
        all.extend_from_slice(args);
        home.run(&all)
    };
    let missing_named = format!("failed to read the API key file `{}`", missing.display());
    for args in [&["workflow-runs", "get", RUN_ID][..], &["auth", "login"]] {
        with_file(&missing, args).assert_refused(&[&missing_named, "no such file or directory"]);
    }
    let empty_named = format!("invalid API key in the API key file `{}`", empty.display());
    with_file(&empty, &["workflow-runs", "get", RUN_ID])
        .assert_refused(&[&empty_named, "the key is empty"]);
    let run = with_file(&spaced, &["workflow-runs", "get", RUN_ID]);
    run.assert_refused(&["contains spaces"]);
    assert!(!run.stderr.contains("two words"), "{}", run.stderr);

    // A key from the environment that cannot be sent names the variable.
    let run = support::Run::from(
        home.command()
            .env("TWENTY_API_KEY", "two words")
            .args(["--api-url", &counter.url, "workflow-runs", "get", RUN_ID])
            .output()
            .expect("run"),
    );
    run.assert_refused(&["invalid API key in $TWENTY_API_KEY", "contains spaces"]);
    assert!(!run.stderr.contains("two words"), "{}", run.stderr);

    // Other input files the user names: --schema and --each.
    let schema = home.path().join("no-such-doc.json");
    let run = home.run_at(
        &counter.url,
        &[
            "--schema",
            schema.to_str().expect("utf-8"),
            "people",
            "list",
        ],
    );
    run.assert_refused(&[
        &format!("failed to read --schema `{}`", schema.display()),
        "no such file",
    ]);
    let lines = home.path().join("no-such-lines.jsonl");
    let run = home.run_at(
        &counter.url,
        &[
            "workflow-runs",
            "create",
            "--each",
            lines.to_str().expect("utf-8"),
        ],
    );
    run.assert_refused(&[
        &format!("failed to open --each `{}`", lines.display()),
        "no such file",
    ]);
    let rows = home.path().join("no-such-people.csv");
    let run = home.run_at(
        &counter.url,
        &["import", "people", rows.to_str().expect("utf-8")],
    );
    run.assert_refused(&[
        &format!("failed to read `{}`", rows.display()),
        "no such file",
    ]);
    assert!(!home.path().join("config/config.json").exists());
    assert_eq!(counter.connections_made(), 0);
}

#[test]
fn profile_names_must_be_safe_file_names() {
    let counter = Counter::start();
    let home = Home::new();
    let key = home.key_file();
    let key = key.to_str().expect("utf-8");
    for name in ["../../evil", "a/b", "", "has space", ".."] {
        let run = home.run_at(&counter.url, &["--profile", name, "schema", "fetch"]);
        run.assert_refused(&[&format!("--profile `{name}` is not a valid profile name")]);
        let run = home.run(&[
            "auth",
            "login",
            "--profile",
            name,
            "--api-url",
            &counter.url,
            "--api-key-file",
            key,
        ]);
        run.assert_refused(&["is not a valid profile name"]);
    }
    let run = support::Run::from(
        home.command()
            .env("TWENTY_PROFILE", "../evil")
            .args(["workflow-runs", "get", RUN_ID])
            .output()
            .expect("run"),
    );
    run.assert_refused(&["$TWENTY_PROFILE `../evil` is not a valid profile name"]);

    // Nothing was written anywhere: not the config, not a schema.
    let mut written = Vec::new();
    let mut dirs = vec![home.path().to_path_buf()];
    while let Some(dir) = dirs.pop() {
        for entry in std::fs::read_dir(&dir).expect("read dir") {
            let path = entry.expect("entry").path();
            if path.is_dir() {
                dirs.push(path);
            } else if path.file_name() != Some("key.txt".as_ref()) {
                written.push(path);
            }
        }
    }
    assert_eq!(written, Vec::<std::path::PathBuf>::new());
    let evil = home.path().parent().expect("tmp").join("evil.catalog.json");
    assert!(!evil.exists());
    assert_eq!(counter.connections_made(), 0);
}

#[test]
fn an_unknown_profile_is_named_with_the_saved_ones() {
    let counter = Counter::start();
    let home = Home::new();
    let key = home.key_file();
    let key = key.to_str().expect("utf-8");
    for name in ["work", "staging"] {
        home.run(&[
            "auth",
            "login",
            "--profile",
            name,
            "--api-url",
            &counter.url,
            "--api-key-file",
            key,
        ])
        .assert_ok();
    }
    for args in [
        &["--profile", "nosuch", "workflow-runs", "get", RUN_ID][..],
        &["--profile", "nosuch", "auth", "status"],
        &["--profile", "nosuch", "schema", "fetch"],
        &["--profile", "nosuch", "--sandbox", "people", "list"],
    ] {
        home.run(args).assert_refused(&[
            "error: unknown profile `nosuch`",
            "hint: saved profiles: `staging`, `work`",
            "twenty auth login --profile nosuch",
        ]);
    }
    let run = support::Run::from(
        home.command()
            .env("TWENTY_PROFILE", "nosuch")
            .args(["workflow-runs", "get", RUN_ID])
            .output()
            .expect("run"),
    );
    run.assert_refused(&["unknown profile `nosuch`"]);
    assert_eq!(counter.connections_made(), 0);
}

#[test]
fn login_applies_the_plain_http_rule_unless_told_otherwise() {
    let home = Home::new();
    let key = home.key_file();
    let key = key.to_str().expect("utf-8");
    // 192.0.2.1 is a documentation address: no host answers there.
    let far = "http://192.0.2.1:8080";
    let run = home.run(&["auth", "login", "--api-url", far, "--api-key-file", key]);
    run.assert_refused(&["plain http", "--allow-insecure-http"]);
    let run = home.run(&[
        "auth",
        "login",
        "--api-url",
        "crm.example.com",
        "--api-key-file",
        key,
    ]);
    run.assert_refused(&["https://crm.example.com"]);
    assert!(!home.path().join("config/config.json").exists());

    let run = home.run(&[
        "auth",
        "login",
        "--api-url",
        far,
        "--api-key-file",
        key,
        "--allow-insecure-http",
    ]);
    run.assert_ok();
    assert!(
        run.stderr
            .contains("warning: profile `default` sends its key over plain http"),
        "{}",
        run.stderr
    );
    let config = home.path().join("config/config.json");
    let saved: Value =
        serde_json::from_str(&std::fs::read_to_string(config).expect("config")).expect("json");
    assert_eq!(saved["profiles"]["default"]["allow_insecure_http"], true);

    // The saved URL passes the check later (the run fails on the network,
    // exit 4, not on the rule, exit 2); the same URL typed again does not
    // inherit the profile's permission.
    let run = home.run(&[
        "--no-retry",
        "--timeout",
        "1",
        "workflow-runs",
        "get",
        RUN_ID,
    ]);
    assert_eq!(run.code, 4, "{}", run.stderr);
    run.assert_no_key();
    let run = home.run(&["--api-url", far, "workflow-runs", "get", RUN_ID]);
    run.assert_refused(&["plain http"]);
}

#[test]
fn the_sandbox_refuses_a_key_no_client_could_send() {
    let home = Home::new();
    for key in ["other key", "tab\tkey", "clé"] {
        let run = home.run(&["sandbox", "serve", "--memory", "--api-key", key]);
        run.assert_refused(&["--api-key is a key no client could send"]);
        assert!(!run.stderr.contains(key), "{}", run.stderr);
    }
}

#[test]
fn a_sandbox_on_a_network_address_needs_its_own_key_and_says_how_to_reach_it() {
    let home = Home::new();
    let run = home.run(&["sandbox", "serve", "--memory", "--host", "0.0.0.0"]);
    run.assert_refused(&[
        "--host 0.0.0.0 lets other machines reach the sandbox",
        "--api-key",
    ]);
    let run = home.run(&[
        "sandbox",
        "serve",
        "--memory",
        "--host",
        "0.0.0.0",
        "--api-key",
        twenty_sandbox::DEFAULT_API_KEY,
    ]);
    run.assert_refused(&["needs a key of its own", "the default key is public"]);

    let mut child = home
        .command()
        .args([
            "sandbox",
            "serve",
            "--memory",
            "--seed",
            "empty",
            "--host",
            "0.0.0.0",
            "--api-key",
            "net-key-1",
        ])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn");
    let mut stdout = BufReader::new(child.stdout.take().expect("stdout"));
    let mut first = String::new();
    stdout.read_line(&mut first).expect("url line");
    let url = first.trim().strip_prefix("url: ").expect("url").to_string();
    let mut stderr = BufReader::new(child.stderr.take().expect("stderr"));
    let mut told = String::new();
    for line in (&mut stderr).lines() {
        let line = line.expect("stderr line");
        told.push_str(&line);
        told.push('\n');
        if line == "serving until Ctrl-C" {
            break;
        }
    }
    let out = home
        .command()
        .env("TWENTY_API_URL", &url)
        .env("TWENTY_API_KEY", "net-key-1")
        .args(["workflow-runs", "list", "--format", "jsonl"])
        .output()
        .expect("run");
    let _ = child.kill();
    let _ = child.wait();

    assert!(url.starts_with("http://127.0.0.1:"), "{url}");
    let port = url.rsplit(':').next().expect("port");
    assert!(
        told.starts_with(&format!("warning: the sandbox listens on 0.0.0.0:{port}")),
        "{told}"
    );
    assert!(
        told.contains(&format!("from this machine: --api-url {url}\n")),
        "{told}"
    );
    assert!(
        told.contains(&format!(":{port} --allow-insecure-http\n")),
        "{told}"
    );
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}
