//! The `twenty` binary against a sandbox where 20 % of requests meet a
//! fault of every kind (429 with `Retry-After`, 400 `Limit reached`, 500,
//! 502, 503, a reset before or after the request is handled, added
//! latency), seeded: `list --all` yields every record once, and `--each`
//! updates and creates apply every item once and print one line per item
//! in input order. The binary runs with its default retry policy, as a
//! user runs it; only the URL and key come from the environment.
//!
//! Records are put in place with no faults (a file store, served again
//! with faults afterwards), so a failure here is the binary's alone.

mod bulk_support;

use std::collections::{HashMap, HashSet};
use std::path::Path;
use std::process::Output;

use bulk_support::{FAULTS, all, catalog, client, object, sandbox, sandbox_on, twenty};
use serde_json::{Value, json};
use twenty_sandbox::{Sandbox, Seed, Storage};

/// A scratch home and the sandbox serving the store kept in it.
struct Fixture {
    home: tempfile::TempDir,
    sandbox: Sandbox,
}

impl Fixture {
    /// Creates `records` of `plural` in a fault-free sandbox, then serves
    /// the same store again under [`FAULTS`]. Returns the created ids in
    /// creation order.
    async fn with(plural: &str, records: Vec<Value>) -> (Fixture, Vec<String>) {
        let home = tempfile::tempdir().expect("temp dir");
        let db = home.path().join("sandbox.db");
        let catalog = catalog();
        let object = object(&catalog, plural);

        let calm = sandbox_on(Storage::File(db.clone()), Seed::Empty, None).await;
        let setup = client(&calm);
        let mut ids = Vec::with_capacity(records.len());
        for chunk in records.chunks(60) {
            let created = setup
                .create_many(object, chunk.to_vec(), None)
                .await
                .expect("records are created with no faults");
            ids.extend(created.iter().map(|r| id_of(r).to_string()));
        }
        calm.shutdown().await;

        let sandbox = sandbox_on(Storage::File(db), Seed::Empty, Some(FAULTS)).await;
        (Fixture { home, sandbox }, ids)
    }

    /// Runs `twenty args...` off the runtime the sandbox serves on.
    async fn run(&self, args: &[&str]) -> Output {
        let mut cmd = twenty(&self.sandbox, self.home.path(), args);
        let output = tokio::task::spawn_blocking(move || cmd.output().expect("twenty runs"))
            .await
            .expect("join");
        assert_eq!(
            output.status.code(),
            Some(0),
            "twenty {}: {}",
            args.join(" "),
            String::from_utf8_lossy(&output.stderr)
        );
        output
    }

    /// Writes `lines` as a JSON-lines file in the home.
    fn input(&self, name: &str, lines: &[Value]) -> std::path::PathBuf {
        let path = self.home.path().join(name);
        let text: String = lines.iter().map(|l| format!("{l}\n")).collect();
        std::fs::write(&path, text).expect("write input");
        path
    }

    /// Every record of `plural` the sandbox holds, read with retries.
    async fn held(&self, plural: &str) -> Vec<Value> {
        let catalog = catalog();
        all(&client(&self.sandbox), object(&catalog, plural)).await
    }
}

fn id_of(record: &Value) -> &str {
    record["id"].as_str().expect("a record has a string id")
}

fn json_lines(output: &Output) -> Vec<Value> {
    String::from_utf8_lossy(&output.stdout)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{e}: {l}")))
        .collect()
}

fn path_str(path: &Path) -> &str {
    path.to_str().expect("utf-8 path")
}

/// A fixed permutation of `0..n`, so items are sent in an order that is
/// neither creation order nor id order.
fn shuffled(n: usize) -> Vec<usize> {
    let mut order: Vec<usize> = (0..n).collect();
    let mut state = 0x9e37_79b9_7f4a_7c15_u64;
    for i in (1..n).rev() {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        order.swap(i, (state % (i as u64 + 1)) as usize);
    }
    order
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn list_all_under_faults_yields_every_record_once() {
    let n = 3_000;
    let people = (0..n)
        .map(|i| json!({"emails": {"primaryEmail": format!("l{i}@faults.test")}}))
        .collect();
    let (fx, ids) = Fixture::with("people", people).await;

    let out = fx
        .run(&["people", "list", "--all", "--format", "jsonl"])
        .await;

    let listed = json_lines(&out);
    let mut seen: HashMap<&str, usize> = HashMap::new();
    for record in &listed {
        *seen.entry(id_of(record)).or_default() += 1;
    }
    let twice: Vec<_> = seen.iter().filter(|(_, n)| **n > 1).collect();
    assert!(twice.is_empty(), "listed more than once: {twice:?}");
    let missing: Vec<_> = ids
        .iter()
        .filter(|id| !seen.contains_key(id.as_str()))
        .collect();
    assert!(missing.is_empty(), "never listed: {missing:?}");
    assert_eq!(listed.len(), n);
    fx.sandbox.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn each_update_under_faults_applies_every_item_once_in_order() {
    let n = 200;
    let runs = (0..n)
        .map(|i| json!({"name": format!("run {i}")}))
        .collect();
    let (fx, ids) = Fixture::with("workflowRuns", runs).await;
    let order = shuffled(n);

    // One at a time, then four in flight: each pass gives every run a
    // value of its own that no earlier pass gave it.
    for (pass, concurrency) in [("serial", None), ("parallel", Some("4"))] {
        let items: Vec<Value> = order
            .iter()
            .map(|&i| json!({"id": ids[i], "name": format!("{pass} {i}")}))
            .collect();
        let file = fx.input(&format!("{pass}.jsonl"), &items);
        let mut args = vec!["workflow-runs", "update", "--each", path_str(&file)];
        if let Some(c) = concurrency {
            args.extend(["--concurrency", c]);
        }
        let out = fx.run(&args).await;

        let printed = json_lines(&out);
        assert_eq!(printed.len(), n, "{pass}: one line per item");
        for (line, item) in printed.iter().zip(&items) {
            assert_eq!(line["id"], item["id"], "{pass}: lines in input order");
            assert_eq!(
                line["name"], item["name"],
                "{pass}: the line shows its update"
            );
        }

        let held = fx.held("workflowRuns").await;
        assert_eq!(held.len(), n, "{pass}: an update creates nothing");
        let names: HashMap<&str, &Value> = held.iter().map(|r| (id_of(r), &r["name"])).collect();
        for (i, id) in ids.iter().enumerate() {
            assert_eq!(
                names.get(id.as_str()),
                Some(&&json!(format!("{pass} {i}"))),
                "{pass}: run {i} holds its own value"
            );
        }
    }
    fx.sandbox.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn each_create_under_faults_creates_every_item_once() {
    let (fx, _) = Fixture::with("workflowRuns", Vec::new()).await;
    let n = 200;
    let items: Vec<Value> = (0..n)
        .map(|i| json!({"name": format!("created {i}")}))
        .collect();
    let file = fx.input("create.jsonl", &items);

    let out = fx
        .run(&[
            "workflow-runs",
            "create",
            "--each",
            path_str(&file),
            "--concurrency",
            "4",
        ])
        .await;

    let printed = json_lines(&out);
    assert_eq!(printed.len(), n, "one line per item");
    for (line, item) in printed.iter().zip(&items) {
        assert_eq!(line["name"], item["name"], "lines in input order");
    }
    let printed_ids: HashSet<&str> = printed.iter().map(id_of).collect();
    assert_eq!(printed_ids.len(), n, "every line names its own record");

    let held = fx.held("workflowRuns").await;
    let mut names: HashMap<&str, usize> = HashMap::new();
    for record in &held {
        *names
            .entry(record["name"].as_str().unwrap_or(""))
            .or_default() += 1;
        assert!(
            printed_ids.contains(id_of(record)),
            "a record no line reported: {record}"
        );
    }
    for i in 0..n {
        assert_eq!(
            names.get(format!("created {i}").as_str()),
            Some(&1),
            "item {i} created exactly once"
        );
    }
    assert_eq!(held.len(), n);
    fx.sandbox.shutdown().await;
}

/// A write whose answer is lost with no retry left says that it may have
/// happened, and a create names the id the record would have, so that the
/// user looks before sending it again.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_write_whose_answer_was_lost_says_it_may_have_happened() {
    // Every request is carried out and its answer lost, once.
    let sandbox = sandbox(Seed::Empty, Some("rate=1,kinds=reset-after,max-in-row=1")).await;
    let home = tempfile::tempdir().expect("temp dir");
    let run = |args: &[&str]| {
        let mut cmd = twenty(&sandbox, home.path(), args);
        async move {
            tokio::task::spawn_blocking(move || cmd.output().expect("twenty runs"))
                .await
                .expect("join")
        }
    };
    let may_have = "hint: the server may have made the change before its answer was lost: \
                    look (with `get` or `list --filter`) before sending it again\n";

    let out = run(&[
        "people",
        "create",
        "--name.first-name",
        "Lost",
        "--no-retry",
    ])
    .await;
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(4), "{stderr}");
    let (_, rest) = stderr
        .split_once("; the person may have been created as id ")
        .unwrap_or_else(|| panic!("no id in: {stderr}"));
    let (id, rest) = rest.split_at(36);
    assert!(
        rest.starts_with(", and reading it back failed too\n"),
        "{stderr}"
    );
    assert!(rest.ends_with(may_have), "{stderr}");
    // The id is the one to look for: the lost attempt created it.
    let catalog = catalog();
    let people = object(&catalog, "people");
    let record = client(&sandbox)
        .find_one(people, id, None)
        .await
        .expect("the record is there");
    assert_eq!(record["name"]["firstName"], "Lost");

    let out = run(&["people", "update", id, "--city", "Lyon", "--no-retry"]).await;
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(4), "{stderr}");
    assert!(stderr.ends_with(may_have), "{stderr}");
    let record = client(&sandbox).find_one(people, id, None).await.unwrap();
    assert_eq!(record["city"], "Lyon", "the update was made");

    // A read changes nothing, so nothing is said of a change.
    let out = run(&["people", "list", "--no-retry"]).await;
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(4), "{stderr}");
    assert!(
        !stderr.contains("may have made the change"),
        "a read: {stderr}"
    );
    sandbox.shutdown().await;
}

/// `--each` counts a change whose answer was lost as one that may have
/// run: the summary names it, its hint says to look before sending it
/// again, and the exit code is 1, as for a line that ran; otherwise a
/// re-run of the file makes it twice.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn each_counts_a_change_whose_answer_was_lost_as_may_have_run() {
    // Every request is carried out and its answer lost, once.
    let sandbox = sandbox(Seed::Empty, Some("rate=1,kinds=reset-after,max-in-row=1")).await;
    let home = tempfile::tempdir().expect("temp dir");
    let run = |args: &[&str], input: Option<String>| {
        let mut cmd = twenty(&sandbox, home.path(), args);
        async move {
            tokio::task::spawn_blocking(move || {
                let Some(input) = input else {
                    return cmd.output().expect("twenty runs");
                };
                let mut child = cmd
                    .stdin(std::process::Stdio::piped())
                    .stdout(std::process::Stdio::piped())
                    .stderr(std::process::Stdio::piped())
                    .spawn()
                    .expect("twenty starts");
                let mut stdin = child.stdin.take().expect("stdin");
                std::io::Write::write_all(&mut stdin, input.as_bytes()).expect("write stdin");
                drop(stdin);
                child.wait_with_output().expect("twenty ends")
            })
            .await
            .expect("join")
        }
    };
    let may_have = "hint: the server may have made the change before its answer was lost: \
                    look (with `get` or `list --filter`) before sending it again\n";
    let catalog = catalog();
    let people = object(&catalog, "people");

    let file = home.path().join("e.jsonl");
    std::fs::write(&file, "{\"name\": {\"firstName\": \"Each\"}}\n").expect("write");
    let out = run(
        &["people", "create", "--each", path_str(&file), "--no-retry"],
        None,
    )
    .await;
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    let (_, rest) = stderr
        .split_once("the person may have been created as id ")
        .unwrap_or_else(|| panic!("no id in: {stderr}"));
    let id = rest[..36].to_string();
    assert!(
        stderr.ends_with(&format!(
            "{may_have}hint: line 1 may have run: its answer was lost; nothing after line 1 \
             was sent\n"
        )),
        "{stderr}"
    );
    let record = client(&sandbox)
        .find_one(people, &id, None)
        .await
        .expect("line 1 was created");
    assert_eq!(record["name"]["firstName"], "Each");

    // Line 1's request met its fault already, so it is answered this
    // time; line 2's answer is lost, and the summary says it may have run.
    let line = |city: &str| format!("{{\"id\": \"{id}\", \"city\": \"{city}\"}}\n");
    let seen = run(
        &["people", "update", "--each", "-", "--no-retry"],
        Some(line("Lyon")),
    )
    .await;
    assert_eq!(seen.status.code(), Some(1));
    let input = format!("{}{}", line("Lyon"), line("Nantes"));
    let out = run(
        &["people", "update", "--each", "-", "--no-retry"],
        Some(input),
    )
    .await;
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(
        stderr.ends_with(&format!(
            "{may_have}hint: line 1 ran (its result is on stdout); line 2 may have run: its \
             answer was lost; nothing after line 2 was sent\n"
        )),
        "{stderr}"
    );
    let record = client(&sandbox).find_one(people, &id, None).await.unwrap();
    assert_eq!(record["city"], "Nantes", "line 2 was made");

    let ids = home.path().join("ids.jsonl");
    std::fs::write(&ids, format!("{{\"id\": \"{id}\"}}\n")).expect("write");
    let out = run(
        &["people", "delete", "--each", path_str(&ids), "--no-retry"],
        None,
    )
    .await;
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(
        stderr.ends_with(&format!(
            "{may_have}hint: line 1 may have run: its answer was lost; nothing after line 1 \
             was sent\n"
        )),
        "{stderr}"
    );
    sandbox.shutdown().await;
}
