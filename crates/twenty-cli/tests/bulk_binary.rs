//! `twenty import` and `twenty export` run as a user runs them, against a
//! sandbox in this process; and an import killed with SIGKILL at random
//! moments, resumed until it finishes, that must end with every row
//! created exactly once.

mod bulk_support;

use std::path::Path;
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

use bulk_support::*;
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
async fn the_binary_refuses_a_second_run_over_a_journal() {
    let sandbox = sandbox(Seed::Empty, None).await;
    let dir = scratch("binary-journal");
    let file = dir.join("people.csv");
    std::fs::write(&file, people_csv(3, &[])).unwrap();
    let mut journal = file.as_os_str().to_owned();
    journal.push(".journal");
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
    let mut journal = file.as_os_str().to_owned();
    journal.push(".journal");
    let journal = std::path::PathBuf::from(journal);

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
            let delay = Duration::from_millis(delays.next_ms(150, 1200));
            let deadline = Instant::now() + delay;
            let mut exited = None;
            while Instant::now() < deadline {
                if let Some(status) = child.try_wait().unwrap() {
                    exited = Some(status);
                    break;
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
    let records = all(&client, people).await;
    let emails = tally(&records, "/emails/primaryEmail");
    assert_eq!(records.len(), rows, "every row exactly once");
    assert!((0..rows).all(|i| emails.get(&format!("p{i}@bulk.test")) == Some(&1)));
    assert!(!journal.exists(), "the finished job removed its journal");
    sandbox.shutdown().await;
}

/// The help of a bulk command down to the global options, which belong to
/// every command and have their own snapshots.
fn bulk_help(verb: &str) -> String {
    let home = scratch(&format!("help-{verb}"));
    let out = Command::new(env!("CARGO_BIN_EXE_twenty"))
        .args([verb, "--help"])
        .env("COLUMNS", "100")
        .env("HOME", &home)
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
