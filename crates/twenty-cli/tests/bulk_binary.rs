//! `twenty import` and `twenty export` run as a user runs them, against a
//! sandbox in this process; and an import killed with SIGKILL at random
//! moments, resumed until it finishes, that must end with every row
//! created exactly once.

mod bulk_support;

use std::collections::VecDeque;
use std::path::Path;
use std::process::{Command, Output, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use bulk_support::*;
use twenty_client::Client;
use twenty_core::Object;
use twenty_sandbox::Seed;

async fn run(mut cmd: Command) -> Output {
    tokio::task::spawn_blocking(move || cmd.output().expect("twenty runs"))
        .await
        .expect("join")
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_binary_imports_reports_rejects_and_exports() {
    let sandbox = sandbox(Seed::Empty, None).await;
    let client = client(&sandbox);
    let catalog = catalog();
    let people = object(&catalog, "people");
    let dir = scratch("binary");
    let file = dir.join("people.csv");
    let mut csv = people_csv(100, &[]);
    csv.push_str("Bad,Row,bad@bulk.test,not-a-uuid,Nowhere\n");
    std::fs::write(&file, csv).unwrap();

    let out = run(twenty(
        &sandbox,
        &dir,
        &["import", "people", file.to_str().unwrap()],
    ))
    .await;

    let stderr = text(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(
        stderr.contains("100 people created, 1 rejected"),
        "{stderr}"
    );
    assert!(stderr.contains("people.csv.rejects.jsonl"), "{stderr}");
    assert_eq!(all(&client, people).await.len(), 100);

    let exported = dir.join("out.csv");
    let args = [
        "export",
        "people",
        "--as",
        "csv",
        "--output-file",
        exported.to_str().unwrap(),
    ];
    let out = run(twenty(&sandbox, &dir, &args)).await;
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let written = std::fs::read_to_string(&exported).unwrap();
    assert_eq!(
        written.lines().count(),
        101,
        "header and one line per person"
    );
    assert!(
        written
            .lines()
            .next()
            .unwrap()
            .contains("emails.primaryEmail")
    );

    // The global --format picks the format too, and stdout is the default.
    let out = run(twenty(
        &sandbox,
        &dir,
        &["--format", "jsonl", "export", "people"],
    ))
    .await;
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let stdout = text(&out.stdout);
    assert_eq!(stdout.lines().count(), 100);
    for line in stdout.lines() {
        let record: serde_json::Value = serde_json::from_str(line).expect("one JSON record a line");
        assert!(record["id"].is_string());
    }
    sandbox.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn summaries_count_records_in_words() {
    let sandbox = sandbox(Seed::Empty, None).await;
    let dir = scratch("words");
    let one = dir.join("one.csv");
    let three = dir.join("three.csv");
    std::fs::write(&one, "name,status\nSolo,RUNNING\n").unwrap();
    std::fs::write(&three, "name,status\nA,RUNNING\nB,FAILED\nC,COMPLETED\n").unwrap();
    let exported = dir.join("runs.csv");
    let exported = exported.to_str().unwrap();
    let runs: [(&[&str], &str); 4] = [
        (
            &["import", "workflow-runs", one.to_str().unwrap()],
            "1 workflow run created, 0 rejected\n",
        ),
        (
            &["import", "workflow-runs", three.to_str().unwrap()],
            "3 workflow runs created, 0 rejected\n",
        ),
        (
            &["export", "workflow-runs", "-o", exported],
            &format!("exported 4 workflow runs to `{exported}`\n"),
        ),
        (
            &[
                "export",
                "workflow-runs",
                "--filter",
                "name[eq]:\"Solo\"",
                "-o",
                exported,
            ],
            &format!("exported 1 workflow run to `{exported}`\n"),
        ),
    ];
    for (args, expected) in runs {
        let out = run(twenty(&sandbox, &dir, args)).await;
        assert_eq!(out.status.code(), Some(0), "{args:?}");
        assert_eq!(text(&out.stderr), expected, "{args:?}");
    }
    sandbox.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_binary_refuses_a_second_run_over_a_journal() {
    let sandbox = sandbox(Seed::Empty, None).await;
    let dir = scratch("binary-journal");
    let file = dir.join("people.csv");
    std::fs::write(&file, people_csv(3, &[])).unwrap();
    let journal = twenty_cli::bulk::journal::path_for(&file);
    let header = format!(
        "{}\n",
        serde_json::to_string(&twenty_cli::bulk::journal::Header::new(
            "people",
            &std::fs::read(&file).unwrap(),
            None
        ))
        .unwrap()
    );
    std::fs::write(&journal, header).unwrap();

    let out = run(twenty(
        &sandbox,
        &dir,
        &["import", "people", file.to_str().unwrap()],
    ))
    .await;
    let stderr = text(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(stderr.contains("--resume"), "{stderr}");

    let args = ["import", "people", file.to_str().unwrap(), "--resume"];
    let out = run(twenty(&sandbox, &dir, &args)).await;
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    assert_eq!(
        all(&client(&sandbox), object(&catalog(), "people"))
            .await
            .len(),
        3
    );
    assert!(!Path::new(&journal).exists());
    sandbox.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_import_stopped_by_an_error_says_how_to_finish_and_resume_does() {
    // What the server answers to each create many, in turn, before it
    // lets the sandbox answer again.
    let queue: Arc<Mutex<VecDeque<(u16, String)>>> = Arc::default();
    let answers = Arc::clone(&queue);
    let server = Counted::answering(Seed::Empty, None, move |request| {
        if !request.starts_with("POST /rest/batch/people") {
            return None;
        }
        answers
            .lock()
            .unwrap()
            .pop_front()
            .filter(|(status, _)| *status != 0)
    })
    .await;
    let created = (0, String::new());
    let auth = (401, error_body(401, "UNAUTHENTICATED", "Token invalid."));
    let limited = (429, error_body(429, "TooManyRequests", "Limit reached"));
    let garbled = (201, r#"{"data":{}}"#.to_owned());
    let cases = [
        ("network", vec![], 4, "0 of 100", "network error: POST"),
        (
            "auth",
            vec![created.clone(), auth],
            3,
            "60 of 100",
            "Token invalid.",
        ),
        (
            "rate",
            vec![created.clone(), limited],
            5,
            "60 of 100",
            "rate limited: POST",
        ),
        (
            "other",
            vec![created, garbled],
            1,
            "60 of 100",
            "createPeople",
        ),
    ];
    let home = scratch("stopped-home");
    let dir = scratch("stopped");
    let catalog = catalog();
    let people = object(&catalog, "people");

    for (case, answers, code, done, cause) in cases {
        let file = dir.join(format!("{case}.csv"));
        let rows = people_csv(100, &[]).replace("@bulk.test", &format!("@{case}.test"));
        std::fs::write(&file, rows).unwrap();
        let journal = twenty_cli::bulk::journal::path_for(&file);
        *queue.lock().unwrap() = answers.into();
        let args = [
            "--no-retry",
            "import",
            "people",
            file.to_str().unwrap(),
            "--concurrency",
            "1",
        ];
        let cmd = if case == "network" {
            command("http://127.0.0.1:1", "key", &home, &args)
        } else {
            server.twenty(&home, &args)
        };
        let out = run(cmd).await;

        let stderr = text(&out.stderr);
        assert_eq!(out.status.code(), Some(code), "{case}: {stderr}");
        let lines: Vec<&str> = stderr.lines().collect();
        assert_eq!(lines.len(), 2, "{case}: {stderr}");
        let kept = format!(
            "error: import stopped with {done} rows done, its journal `{}` kept: ",
            journal.display()
        );
        assert!(lines[0].starts_with(&kept), "{case}: {stderr}");
        assert!(lines[0].contains(cause), "{case}: {stderr}");
        assert!(
            lines[1].starts_with("hint: ")
                && lines[1].ends_with("run the same command with --resume to finish it"),
            "{case}: {stderr}"
        );
        assert!(journal.exists(), "{case}");

        let out = run(server.twenty(&home, &[&args[1..], &["--resume"]].concat())).await;
        assert_eq!(out.status.code(), Some(0), "{case}: {}", text(&out.stderr));
        assert!(!journal.exists(), "{case}");
    }
    let emails = tally(&all(&server.client(), people).await, "/emails/primaryEmail");
    assert_eq!(emails.len(), 400);
    assert!(emails.values().all(|n| *n == 1), "every row once");
}

/// A small xorshift generator: the kill delays vary but a failing seed can
/// be replayed from the printed value.
struct Delays(u64);

impl Delays {
    fn next_ms(&mut self, low: u64, high: u64) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        low + self.0 % (high - low)
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_import_killed_at_random_moments_ends_with_every_row_once() {
    let sandbox = sandbox(Seed::Empty, Some(FAULTS)).await;
    let catalog = catalog();
    let people = object(&catalog, "people");
    let dir = scratch("sigkill");
    let file = dir.join("people.csv");
    let rows = 10_000;
    std::fs::write(&file, people_csv(rows, &[])).unwrap();
    let journal = twenty_cli::bulk::journal::path_for(&file);

    let seed = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_nanos() as u64
        | 1;
    eprintln!("kill delay seed: {seed}");
    let mut delays = Delays(seed);
    let mut kills = 0;
    let mut runs = 0;
    let mut resumed = 0;
    let started = Instant::now();
    loop {
        assert!(
            started.elapsed() < Duration::from_secs(300),
            "the import never finished"
        );
        runs += 1;
        let mut args = vec!["import", "people", file.to_str().unwrap(), "--no-progress"];
        // A run killed before it wrote its journal had sent nothing.
        if journal.exists() {
            args.push("--resume");
            resumed += 1;
        }
        let mut child = twenty(&sandbox, &dir, &args)
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .expect("twenty starts");

        if kills < 5 {
            // The moment is random within the run's sending, which starts
            // once the journal is written: counted from the start instead,
            // a slow machine's kills land before it, and a fast one's add
            // up to more than the whole import.
            let mut exited = None;
            let mut deadline = None;
            loop {
                if let Some(status) = child.try_wait().unwrap() {
                    exited = Some(status);
                    break;
                }
                match deadline {
                    Some(at) if Instant::now() >= at => break,
                    None if journal.exists() => {
                        let delay = Duration::from_millis(delays.next_ms(0, 300));
                        deadline = Some(Instant::now() + delay);
                    }
                    _ => {}
                }
                tokio::time::sleep(Duration::from_millis(5)).await;
            }
            if exited.is_none() {
                // SIGKILL: no destructor, no flush, no signal handler runs.
                child.kill().unwrap();
                child.wait().unwrap();
                kills += 1;
                continue;
            }
        }
        let output = tokio::task::spawn_blocking(move || child.wait_with_output().unwrap())
            .await
            .unwrap();
        let code = output.status.code();
        if code == Some(0) {
            break;
        }
        // Only a failure after retries may end a run early; it resumes too.
        assert!(
            matches!(code, Some(1) | Some(4) | Some(5)),
            "run {runs} ended with {code:?}: {}",
            text(&output.stderr)
        );
    }
    eprintln!("{kills} kills, {runs} runs, {resumed} resumed");
    assert!(
        kills >= 5,
        "the import finished before it could be killed five times"
    );
    assert!(
        resumed >= 3,
        "most kills must land after the journal was written"
    );

    let client = client(&sandbox);
    every_row_once(&client, people, rows, &journal).await;
    sandbox.shutdown().await;
}

/// The help of a bulk command down to the global options, which belong to
/// every command and have their own snapshots.
fn bulk_help(verb: &str) -> String {
    let home = scratch(&format!("help-{verb}"));
    let out = Command::new(env!("CARGO_BIN_EXE_twenty"))
        .args([verb, "--help"])
        .env("COLUMNS", "100")
        .env("HOME", &*home)
        .env("TWENTY_CONFIG_DIR", home.join("config"))
        .env("TWENTY_DATA_DIR", home.join("data"))
        .env_remove("TWENTY_PROFILE")
        .output()
        .expect("twenty runs");
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let help = text(&out.stdout);
    let end = help.find("Global options:").expect("global options last");
    help[..end].to_owned()
}

/// Compares with `tests/snapshots/NAME`; `UPDATE_SNAPSHOTS=1` rewrites it.
fn snapshot(name: &str, actual: &str) {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/snapshots")
        .join(name);
    if std::env::var_os("UPDATE_SNAPSHOTS").is_some() {
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

#[test]
fn import_and_export_help_read_like_the_other_commands() {
    for verb in ["import", "export"] {
        let help = bulk_help(verb);
        let about = help.lines().next().unwrap_or_default();
        assert!(
            !about.ends_with('.') && !about.contains("Arguments of"),
            "{verb}: {about}"
        );
        // Allowed values and defaults are stated in the sentence, once.
        assert!(!help.contains("Possible values"), "{help}");
        assert!(!help.contains("[default:"), "{help}");
        snapshot(&format!("{verb}-help.txt"), &help);
    }
}

/// The arguments of an import of `file` that sends ten requests a second
/// in batches of ten, so that 2,000 rows take 20 s: time for other runs
/// to meet it while it is still running.
fn slow_import(file: &Path) -> [&str; 8] {
    [
        "--rate",
        "600",
        "import",
        "people",
        file.to_str().unwrap(),
        "--batch-size",
        "10",
        "--no-progress",
    ]
}

/// Waits until `child` has journaled a finished batch, so it is surely
/// past every check and sending.
async fn first_batch_done(child: &mut std::process::Child, journal: &Path) {
    let started = Instant::now();
    loop {
        assert!(child.try_wait().unwrap().is_none(), "ended too soon");
        assert!(started.elapsed() < Duration::from_secs(60), "no batch done");
        let text = std::fs::read_to_string(journal).unwrap_or_default();
        if text.contains("\"done\":") {
            return;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_second_run_on_a_live_journal_is_refused_and_a_killed_one_resumes() {
    let sandbox = sandbox(Seed::Empty, None).await;
    let client = client(&sandbox);
    let catalog = catalog();
    let people = object(&catalog, "people");
    let dir = scratch("live-journal");
    let file = dir.join("people.csv");
    let rows = 2_000;
    std::fs::write(&file, people_csv(rows, &[])).unwrap();
    let journal = twenty_cli::bulk::journal::path_for(&file);
    let args = slow_import(&file);
    let mut first = twenty(&sandbox, &dir, &args)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("twenty starts");
    first_batch_done(&mut first, &journal).await;

    // Without the lock, the run with --resume sent the batches the first
    // run was sending again, beside it, and every row of them twice.
    let running = format!(
        "another import of `{}` is running (pid {})",
        file.display(),
        first.id()
    );
    let plain = ["import", "people", file.to_str().unwrap()];
    let resume = ["import", "people", file.to_str().unwrap(), "--resume"];
    for second in [&plain[..], &resume[..]] {
        let out = run(twenty(&sandbox, &dir, second)).await;
        refused(&second.join(" "), out, &[&running, "--resume"]);
        assert!(first.try_wait().unwrap().is_none(), "the first run goes on");
        assert!(journal.exists(), "the journal stays the first run's");
    }

    // SIGKILL: the system lets the lock go, and nothing else happens.
    first.kill().unwrap();
    first.wait().unwrap();
    // A batch the killed run had sent may still be in the server's hands.
    tokio::time::sleep(Duration::from_millis(300)).await;
    let held = all(&client, people).await.len();
    assert!(held > 0 && held < rows, "{held} held");
    let out = run(twenty(&sandbox, &dir, &resume)).await;
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    // Records of the batch the killed run left unanswered are found, not
    // created again, and were the earlier run's.
    assert_eq!(
        text(&out.stderr),
        format!(
            "{} people created ({rows} with earlier runs), 0 rejected\n",
            rows - held
        )
    );
    every_row_once(&client, people, rows, &journal).await;
    sandbox.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ctrl_c_stops_an_import_that_resume_then_finishes() {
    let sandbox = sandbox(Seed::Empty, None).await;
    let client = client(&sandbox);
    let catalog = catalog();
    let people = object(&catalog, "people");
    let dir = scratch("sigint");
    let file = dir.join("people.csv");
    let rows = 2_000;
    std::fs::write(&file, people_csv(rows, &[])).unwrap();
    let journal = twenty_cli::bulk::journal::path_for(&file);

    let args = slow_import(&file);
    let mut child = twenty(&sandbox, &dir, &args)
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("twenty starts");
    first_batch_done(&mut child, &journal).await;
    let sent = Command::new("kill")
        .args(["-INT", &child.id().to_string()])
        .status()
        .expect("kill runs");
    assert!(sent.success());
    let output = tokio::task::spawn_blocking(move || child.wait_with_output().unwrap())
        .await
        .unwrap();

    let stderr = text(&output.stderr);
    assert_eq!(output.status.code(), Some(130), "{stderr}");
    let line = stderr
        .lines()
        .find(|l| l.starts_with("interrupted: "))
        .unwrap_or_else(|| panic!("no interrupted line: {stderr}"));
    assert!(line.contains("--resume"), "{line}");
    let counts: Vec<usize> = line
        .split(|c: char| !c.is_ascii_digit())
        .filter_map(|n| n.parse().ok())
        .take(2)
        .collect();
    assert_eq!(counts.len(), 2, "{line}");
    let (done, total) = (counts[0], counts[1]);
    assert_eq!(total, rows, "{line}");
    assert!(done >= 10 && done < rows, "{line}");
    let held = all(&client, people).await.len();
    assert!(held >= done, "{held} held, {done} reported done");
    assert!(journal.exists(), "the journal is kept for --resume");

    let args = ["import", "people", file.to_str().unwrap(), "--resume"];
    let out = run(twenty(&sandbox, &dir, &args)).await;
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    // The job's total alone would claim the first run's records too.
    assert_eq!(
        text(&out.stderr),
        format!(
            "{} people created ({rows} with earlier runs), 0 rejected\n",
            rows - held
        )
    );
    every_row_once(&client, people, rows, &journal).await;
    sandbox.shutdown().await;
}

/// A resumed run settles a batch the killed run sent and never heard
/// back from: the records found were the killed run's, not this one's.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn resume_says_what_it_created_apart_from_what_the_killed_run_did() {
    let sandbox = sandbox(Seed::Empty, None).await;
    let client = client(&sandbox);
    let catalog = catalog();
    let people = object(&catalog, "people");
    let dir = scratch("resume-summary");
    let (file, _) = killed_mid_batch(&client, people, &dir).await;

    let args = ["import", "people", file.to_str().unwrap(), "--resume"];
    let out = run(twenty(&sandbox, &dir, &args)).await;
    let stderr = text(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "{stderr}");
    assert_eq!(
        stderr,
        "75 people created (100 with earlier runs), 0 rejected\n"
    );
    assert_eq!(all(&client, people).await.len(), 100);
    sandbox.shutdown().await;
}

/// A pipe (`<(...)`) has nowhere to keep a journal beside it and cannot be
/// read again on --resume, so it is refused with the fix.
#[cfg(unix)]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_pipe_is_refused_as_an_import_file() {
    let server = Counted::start(Seed::Empty, None).await;
    let dir = scratch("pipe");
    let out = run(server.twenty(&dir, &["import", "companies", "/dev/stdin", "--as", "csv"])).await;
    refused(
        "pipe",
        out,
        &[
            "error: `/dev/stdin` is a pipe or a device, not a file: import keeps its journal beside the file",
        ],
    );
    assert_eq!(server.count(""), 0, "nothing was sent");
}

/// The end of every interrupted-and-resumed import: the server holds each
/// of the file's `rows` people once, and the finished job removed its
/// journal.
async fn every_row_once(client: &Client, people: &Object, rows: usize, journal: &Path) {
    let records = all(client, people).await;
    let emails = tally(&records, "/emails/primaryEmail");
    assert_eq!(records.len(), rows, "every row exactly once");
    assert!((0..rows).all(|i| emails.get(&format!("p{i}@bulk.test")) == Some(&1)));
    assert!(!journal.exists(), "the finished job removed its journal");
}

/// Checks that a run was refused as invalid input, with `expected` in its
/// message.
fn refused(name: &str, out: Output, expected: &[&str]) {
    let stderr = text(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{name}: {stderr}");
    assert!(stderr.starts_with("error: "), "{name}: {stderr}");
    for needle in expected {
        assert!(stderr.contains(needle), "{name}: no `{needle}` in {stderr}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_file_that_cannot_be_read_or_parsed_is_refused_before_sending() {
    let server = Counted::start(Seed::Empty, None).await;
    let dir = scratch("refused-files");
    let path = |name: &str| dir.join(name).to_str().unwrap().to_owned();
    let cases: [(&str, &str, Option<&str>, &[&str]); 7] = [
        (
            "tasks",
            "twice.csv",
            Some("title,title\nA,B\n"),
            &["column `title` is given twice"],
        ),
        (
            "people",
            "alias.csv",
            Some("jobTitle,job-title\nA,B\n"),
            &["`jobTitle`", "`job-title`", "both set"],
        ),
        (
            "people",
            "unclosed.csv",
            Some("city,name.firstName\nParis,Ada\nLondon,\"Alan\nOslo,Grace\n"),
            &["line 3", "`name.firstName`", "never closed"],
        ),
        (
            "people",
            "stray.csv",
            Some("city,name.firstName\nParis,\"Ada\nLondon,\"Alan\"\n"),
            &["line 3", "`name.firstName`", "follows the quote"],
        ),
        (
            "people",
            "text-after.csv",
            Some("city\r\n\"Par\"is\r\n"),
            &["line 2", "`city`"],
        ),
        (
            "people",
            "missing.csv",
            None,
            &["failed to read", "missing.csv"],
        ),
        // A directory where the file should be.
        (
            "people",
            "folder.csv",
            None,
            &["failed to read", "folder.csv"],
        ),
    ];
    std::fs::create_dir_all(dir.join("folder.csv")).unwrap();
    for (resource, name, content, expected) in cases {
        if let Some(content) = content {
            std::fs::write(dir.join(name), content).unwrap();
        }
        let out = run(server.twenty(&dir, &["import", resource, &path(name)])).await;
        refused(name, out, expected);
    }
    // A reject file that could not be written once every row was sent.
    std::fs::write(dir.join("fine.csv"), people_csv(3, &[])).unwrap();
    let rejects = path("no-such-folder/rejects.jsonl");
    let args = [
        "import",
        "people",
        &path("fine.csv"),
        "--reject-file",
        &rejects,
    ];
    let out = run(server.twenty(&dir, &args)).await;
    refused(
        "fine.csv",
        out,
        &["--reject-file", "no-such-folder", "does not exist"],
    );
    assert_eq!(server.count(""), 0, "nothing was sent");
    for name in ["twice.csv", "unclosed.csv", "fine.csv"] {
        assert!(!dir.join(format!("{name}.journal")).exists(), "{name}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn update_by_a_field_the_file_does_not_give_is_refused_before_sending() {
    let server = Counted::start(Seed::Empty, None).await;
    let dir = scratch("update-by-missing");
    let path = |name: &str| dir.join(name).to_str().unwrap().to_owned();
    std::fs::write(
        dir.join("names.csv"),
        "name.firstName,jobTitle\nZed,Pilot\n",
    )
    .unwrap();
    std::fs::write(
        dir.join("names.jsonl"),
        "{\"name\": {\"firstName\": \"Zed\"}, \"city\": \"Oslo\"}\n{\"jobTitle\": \"Pilot\"}\n",
    )
    .unwrap();
    let cases: [(&str, &str, &[&str]); 5] = [
        (
            "names.csv",
            "city",
            &[
                "--update-by city: `",
                "names.csv` has no `city` column; its columns: \
               `name.firstName`, `jobTitle`",
            ],
        ),
        (
            "names.csv",
            "id",
            &["names.csv` has no `id` column; its columns: `name.firstName`, `jobTitle`"],
        ),
        (
            "names.jsonl",
            "emails.primary-email",
            &[
                "--update-by emails.primary-email: no line of `",
                "names.jsonl` has the key \
               `emails.primaryEmail`; its keys: `name`, `city`, `jobTitle`",
            ],
        ),
        (
            "names.csv",
            "name",
            &[
                "--update-by: `name` has sub-fields",
                "name.firstName, name.lastName",
            ],
        ),
        (
            "names.jsonl",
            "emails.additionalEmails",
            &["`emails.additionalEmails` holds a list"],
        ),
    ];
    for (file, key, expected) in cases {
        let args = ["import", "people", &path(file), "--update-by", key];
        let out = run(server.twenty(&dir, &args)).await;
        refused(&format!("{file} --update-by {key}"), out, expected);
        assert!(!dir.join(format!("{file}.journal")).exists());
    }
    assert_eq!(server.count(""), 0, "nothing was sent");

    // A nested composite gives its sub-fields: this file has a name.
    let args = [
        "import",
        "people",
        &path("names.jsonl"),
        "--update-by",
        "name.firstName",
    ];
    let out = run(server.twenty(&dir, &args)).await;
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    assert_eq!(server.count("POST /rest/batch/people"), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_edited_export_imported_again_is_refused_with_the_fix() {
    let sandbox = sandbox(Seed::Empty, None).await;
    let client = client(&sandbox);
    let catalog = catalog();
    let people = object(&catalog, "people");
    let record = serde_json::json!({"emails": {"primaryEmail": "ada@bulk.test"}, "city": "London"});
    let id = client.create_one(people, record, None).await.unwrap()["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let dir = scratch("edited-export");
    let file = dir.join("one.csv");
    let args = ["export", "people", "-o", file.to_str().unwrap()];
    let out = run(twenty(&sandbox, &dir, &args)).await;
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let exported = std::fs::read_to_string(&file).unwrap();
    assert!(exported.contains(&id), "the export carries the id");
    std::fs::write(&file, exported.replace("London", "Paris")).unwrap();

    let args = ["import", "people", file.to_str().unwrap()];
    let out = run(twenty(&sandbox, &dir, &args)).await;

    let stderr = text(&out.stderr);
    assert_eq!(
        out.status.code(),
        Some(2),
        "nothing could be done: {stderr}"
    );
    assert!(stderr.contains("0 people created, 1 rejected"), "{stderr}");
    assert!(
        stderr.contains("hint: 1 row names records that already exist")
            && stderr.contains("run the same command with --update-by id"),
        "{stderr}"
    );
    let city = |records: Vec<serde_json::Value>| records[0]["city"].clone();
    assert_eq!(city(all(&client, people).await), "London");

    let args = [
        "import",
        "people",
        file.to_str().unwrap(),
        "--update-by",
        "id",
    ];
    let out = run(twenty(&sandbox, &dir, &args)).await;
    let stderr = text(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "{stderr}");
    assert!(
        stderr.contains("0 people created, 1 person updated, 0 rejected"),
        "{stderr}"
    );
    let records = all(&client, people).await;
    assert_eq!(records.len(), 1);
    assert_eq!(city(records), "Paris");
    sandbox.shutdown().await;
}

/// Import tells csv from jsonl by the file's extension alone, so export
/// refuses, unsent, a file name import could not read back; with `--as`
/// the file is written, and import reads it back with the same `--as`.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_export_named_so_import_cannot_tell_its_format_needs_as() {
    let source = Counted::start(Seed::Empty, None).await;
    let catalog = catalog();
    let people = object(&catalog, "people");
    for n in 0..3 {
        let record = serde_json::json!({"emails": {"primaryEmail": format!("p{n}@bulk.test")}});
        source
            .client()
            .create_one(people, record, None)
            .await
            .unwrap();
    }
    source.reset();
    let dir = scratch("unnamed-export");

    for name in ["o.json", "o.txt", "o"] {
        let file = dir.join(name);
        let path = file.to_str().unwrap();
        let out = run(source.twenty(&dir, &["export", "people", "-o", path])).await;
        let stem = dir.join("o");
        let stem = stem.to_str().unwrap();
        assert_eq!(
            text(&out.stderr),
            format!(
                "error: cannot tell the format to write --output-file `{path}` in from its \
                 extension: `twenty import` would not read it back\n\
                 hint: name it `{stem}.jsonl` or `{stem}.csv`, or give --as jsonl or --as csv \
                 (and the same --as to `twenty import`)\n"
            )
        );
        assert_eq!(out.status.code(), Some(2));
        assert!(!file.exists(), "{name} was written");
    }
    assert_eq!(source.count(""), 0, "nothing was sent");

    let file = dir.join("o.json");
    let path = file.to_str().unwrap();
    let args = ["export", "people", "--as", "jsonl", "-o", path];
    let out = run(source.twenty(&dir, &args)).await;
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    assert_eq!(std::fs::read_to_string(&file).unwrap().lines().count(), 3);

    let target = sandbox(Seed::Empty, None).await;
    let out = run(twenty(
        &target,
        &dir,
        &["import", "people", path, "--as", "jsonl"],
    ))
    .await;
    let stderr = text(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "{stderr}");
    assert_eq!(stderr, "3 people created, 0 rejected\n");
    let emails = |records: Vec<serde_json::Value>| {
        let mut emails: Vec<String> = records
            .iter()
            .map(|r| r["emails"]["primaryEmail"].as_str().unwrap().to_owned())
            .collect();
        emails.sort();
        emails
    };
    assert_eq!(
        emails(all(&client(&target), people).await),
        emails(all(&source.client(), people).await)
    );
    target.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn export_checks_its_options_as_list_does_before_sending() {
    let server = Counted::start(Seed::Demo, None).await;
    let dir = scratch("export-checks");
    let cases: [(&[&str], &[&str]); 6] = [
        (
            &["export", "people", "--filter", "nme[eq]:x"],
            &["--filter is invalid", "did you mean 'name'"],
        ),
        (
            &["export", "people", "--order-by", "nme"],
            &["--order-by is invalid", "did you mean 'name'"],
        ),
        (
            &["export", "companies", "--depth", "3"],
            &["--depth must be one of 0, 1, 2", "`3`"],
        ),
        (
            &["export", "people", "--page-size", "100"],
            &["--page-size must be", "60", "`100`"],
        ),
        (
            &[
                "export",
                "people",
                "--filter",
                "city[eq]:\"Paris\"",
                "--order-by",
                "city[Up]",
            ],
            &["--order-by is invalid"],
        ),
        (
            &["export", "people", "-o", "/nonexistent-dir/people.csv"],
            &["cannot create `/nonexistent-dir/people.csv`"],
        ),
    ];
    for (args, expected) in cases {
        let out = run(server.twenty(&dir, args)).await;
        let stderr = text(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{args:?}: {stderr}");
        assert!(stderr.starts_with("error: "), "{args:?}: {stderr}");
        for needle in expected {
            assert!(
                stderr.contains(needle),
                "{args:?}: no `{needle}` in {stderr}"
            );
        }
        assert!(out.stdout.is_empty(), "{args:?}");
    }
    assert_eq!(server.count(""), 0, "nothing was sent");

    // The checked values are the ones sent.
    let args = [
        "export",
        "people",
        "--filter",
        "city[eq]:\"Nowhere\"",
        "--order-by",
        "name.lastName[DescNullsLast]",
        "--depth",
        "1",
        "--page-size",
        "7",
    ];
    let out = run(server.twenty(&dir, &args)).await;
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    assert_eq!(server.count("GET /rest/people"), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_retry_sends_each_bulk_request_once() {
    let unavailable = || {
        Some((
            503,
            error_body(503, "ServiceUnavailable", "down for a moment"),
        ))
    };
    let server = Counted::answering(Seed::Demo, None, move |request| {
        let bulk = request.starts_with("POST /rest/batch/") || request.starts_with("GET /rest/");
        if bulk { unavailable() } else { None }
    })
    .await;
    let dir = scratch("no-retry");
    let file = dir.join("people.csv");
    std::fs::write(&file, people_csv(3, &[])).unwrap();

    let out = run(server.twenty(
        &dir,
        &["--no-retry", "import", "people", file.to_str().unwrap()],
    ))
    .await;
    assert_eq!(out.status.code(), Some(1), "{}", text(&out.stderr));
    assert_eq!(server.count("POST /rest/batch/people"), 1);

    let out = run(server.twenty(&dir, &["--no-retry", "export", "people"])).await;
    assert_eq!(out.status.code(), Some(1), "{}", text(&out.stderr));
    assert_eq!(server.count("GET /rest/people"), 1);
}

/// The names in `dir`, sorted.
fn listing(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    names
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_export_that_fails_or_stops_leaves_the_file_it_would_replace() {
    // Page size 1, and every page after the first refused.
    let server = Counted::answering(Seed::Demo, None, |request| {
        let refused = error_body(400, "BadRequestException", "page two is refused");
        request.contains("starting_after").then_some((400, refused))
    })
    .await;
    let home = scratch("export-home");
    let dir = scratch("export-staged");
    let keep = dir.join("keep.csv");
    std::fs::write(&keep, "existing\n").unwrap();
    let keep_arg = keep.to_str().unwrap();
    let fresh = dir.join("new.csv");
    let nowhere = |args: &[&str]| command("http://127.0.0.1:1", "key", &home, args);

    // The first page cannot be fetched: the header used to be written by
    // then, in place of what the file held.
    for out_file in [keep_arg, fresh.to_str().unwrap()] {
        let out = run(nowhere(&["--no-retry", "export", "people", "-o", out_file])).await;
        assert_eq!(out.status.code(), Some(4), "{}", text(&out.stderr));
    }
    assert_eq!(std::fs::read_to_string(&keep).unwrap(), "existing\n");
    assert_eq!(listing(&dir), ["keep.csv"], "no new file, no staged one");

    // A page fails after the first was written.
    let args = ["export", "people", "--page-size", "1", "-o", keep_arg];
    let out = run(server.twenty(&home, &args)).await;
    assert_eq!(out.status.code(), Some(2), "{}", text(&out.stderr));
    assert!(server.count("GET /rest/people") >= 2);
    assert_eq!(std::fs::read_to_string(&keep).unwrap(), "existing\n");
    assert_eq!(listing(&dir), ["keep.csv"]);

    // Stopped with Ctrl-C while waiting for a server that never answers.
    let silent = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}", silent.local_addr().unwrap());
    let child = command(&url, "key", &home, &["export", "people", "-o", keep_arg])
        .stderr(Stdio::piped())
        .spawn()
        .expect("twenty starts");
    // Accepted means the first request is on its way, which the export
    // sends only after its Ctrl-C handler is in place.
    let held = tokio::task::spawn_blocking(move || silent.accept().unwrap())
        .await
        .unwrap();
    let sent = Command::new("kill")
        .args(["-INT", &child.id().to_string()])
        .status()
        .expect("kill runs");
    assert!(sent.success());
    let output = tokio::task::spawn_blocking(move || child.wait_with_output().unwrap())
        .await
        .unwrap();
    drop(held);
    let stderr = text(&output.stderr);
    assert_eq!(output.status.code(), Some(130), "{stderr}");
    assert!(stderr.contains("keep.csv` was left as it was"), "{stderr}");
    assert_eq!(std::fs::read_to_string(&keep).unwrap(), "existing\n");
    assert_eq!(listing(&dir), ["keep.csv"]);

    // A finished export replaces the file, and only then.
    let out = run(server.twenty(&home, &["export", "people", "-o", keep_arg])).await;
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let written = std::fs::read_to_string(&keep).unwrap();
    let demo = all(&server.client(), object(&catalog(), "people")).await;
    assert_eq!(written.lines().count(), demo.len() + 1, "{written}");
    assert!(written.starts_with("name.firstName,"), "{written}");
    assert_eq!(listing(&dir), ["keep.csv"]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn export_ends_quietly_when_the_reader_goes_away() {
    let sandbox = sandbox(Seed::Empty, None).await;
    let client = client(&sandbox);
    let catalog = catalog();
    let people = object(&catalog, "people");
    // Far more than the pipe and the export's buffer hold, so the export
    // is still writing when the reader leaves.
    let records: Vec<serde_json::Value> = (0..3_000)
        .map(|i| {
            serde_json::json!({"emails": {"primaryEmail": format!("p{i}@bulk.test")},
                                    "jobTitle": "a title long enough to fill the pipe sooner"})
        })
        .collect();
    for chunk in records.chunks(60) {
        client
            .create_many(people, chunk.to_vec(), None)
            .await
            .unwrap();
    }
    let dir = scratch("broken-pipe");

    for format in ["csv", "jsonl"] {
        let mut child = twenty(&sandbox, &dir, &["export", "people", "--as", format])
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("twenty starts");
        let mut stdout = std::io::BufReader::new(child.stdout.take().unwrap());
        let first = tokio::task::spawn_blocking(move || {
            let mut line = String::new();
            std::io::BufRead::read_line(&mut stdout, &mut line).unwrap();
            // `head -1`: one line read, then the pipe closed.
            drop(stdout);
            line
        })
        .await
        .unwrap();
        assert!(!first.is_empty(), "{format}");
        let output = tokio::task::spawn_blocking(move || child.wait_with_output().unwrap())
            .await
            .unwrap();
        let stderr = text(&output.stderr);
        assert_eq!(output.status.code(), Some(0), "{format}: {stderr}");
        assert_eq!(stderr, "", "{format}: nothing to report");
    }
    sandbox.shutdown().await;
}
