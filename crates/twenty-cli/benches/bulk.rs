//! Figures for bulk work, printed side by side: not timed tests, nothing
//! here passes or fails on a number.
//!
//! Run with `cargo bench -p twenty-cli --bench bulk`. The sandbox runs in
//! this process and every measured client is the `twenty` binary as a
//! child process, so the child's CPU time (from this process's `cutime` and
//! `cstime` in /proc/self/stat, which count waited-for children) and peak
//! memory (`VmHWM` in /proc/<pid>/status, polled) are the client's alone,
//! and this process's own CPU time over the same span is the sandbox's.
//!
//! 1. import of 10,000 people: `twenty import` (batches of the server's
//!    maximum, 4 in flight) against `twenty people create --each` with
//!    `--concurrency 1` (one create request per record, one at a time),
//!    on loopback and again with 5 ms added to every request, with the
//!    import's peak memory, and that peak again at 100,000 people;
//! 2. export of 100,000 people: records per second, client CPU against
//!    sandbox CPU, and the export's peak memory at 10,000 and at 100,000
//!    records;
//! 3. start-up: `twenty workflow-runs get ID` against the same request
//!    made with `curl`, median of 21 runs each;
//! 4. import of 10,000 people with 20 % of requests meeting a fault of
//!    any kind, against no faults.
//!
//! `BULK_BENCH_SMALL=1` divides every record count by 10, for a quick look.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use twenty_cli::bulk::{self, ImportArgs};
use twenty_client::{ApiKey, Client, ClientConfig};
use twenty_sandbox::{FaultSpec, Sandbox, SandboxConfig, Seed};

/// The fault mix of case 4: every kind at 20 % in all, seeded. Waits are
/// kept short (`latency-ms=20`, `retry-after=0`) so the figure shows the
/// cost of the extra requests rather than of sleeping; `max-in-row=3`, as
/// in the tests, keeps every request within the retry policy.
const FAULTS: &str = "seed=42,rate=0.2,latency-ms=20,retry-after=0,max-in-row=3";

/// What one run of a child process cost.
#[derive(Debug, Clone, Copy)]
struct Cost {
    wall: Duration,
    /// CPU time of the child, user and system.
    child_cpu: Duration,
    /// CPU time of this process (the sandbox) over the same span.
    sandbox_cpu: Duration,
    /// Peak resident memory of the child, in kB.
    peak_kb: u64,
    exit: Option<i32>,
}

fn main() {
    let small = std::env::var_os("BULK_BENCH_SMALL").is_some();
    let scale = if small { 10 } else { 1 };
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("tokio runtime");
    let dir = std::env::temp_dir().join(format!("twenty-bulk-bench-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("scratch directory");
    let ticks = clock_ticks();

    println!("bulk benchmarks (binary: {})", env!("CARGO_BIN_EXE_twenty"));
    println!("sandbox in the bench process; each client a child process\n");
    runtime.block_on(import_case(&dir, 10_000 / scale, ticks));
    runtime.block_on(export_case(&dir, 100_000 / scale, ticks));
    runtime.block_on(startup_case(&dir, ticks));
    runtime.block_on(faults_case(&dir, 10_000 / scale, ticks));
    let _ = std::fs::remove_dir_all(&dir);
}

async fn start(faults: Option<&str>, seed: Seed) -> Sandbox {
    let mut config = SandboxConfig::new(twenty_core::builtin::standard());
    config.seed = seed;
    config.faults = faults.map(|f| f.parse::<FaultSpec>().expect("fault spec"));
    Sandbox::start(config, "127.0.0.1:0".parse().expect("address"))
        .await
        .expect("sandbox starts")
}

fn twenty(sandbox: &Sandbox, dir: &Path, args: &[&str]) -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_twenty"));
    cmd.args(args)
        .args(["--api-url", &sandbox.url()])
        .env("TWENTY_API_KEY", sandbox.api_key())
        .env("HOME", dir)
        .env("XDG_CONFIG_HOME", dir.join("config"))
        .env("XDG_CACHE_HOME", dir.join("cache"))
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null());
    cmd
}

async fn measure(cmd: Command, ticks: f64) -> Cost {
    tokio::task::spawn_blocking(move || measure_blocking(cmd, ticks))
        .await
        .expect("measuring thread")
}

fn measure_blocking(mut cmd: Command, ticks: f64) -> Cost {
    let (self_before, children_before) = cpu_ticks();
    let started = Instant::now();
    let mut child = cmd.spawn().expect("twenty starts");

    // VmHWM is the high-water mark, so the last reading before the child
    // exits is its peak; polling often makes that reading late enough.
    let peak = Arc::new(AtomicU64::new(0));
    let done = Arc::new(AtomicBool::new(false));
    let poller = {
        let (peak, done) = (Arc::clone(&peak), Arc::clone(&done));
        let status = format!("/proc/{}/status", child.id());
        std::thread::spawn(move || {
            while !done.load(Ordering::Relaxed) {
                if let Some(kb) = vm_hwm(&status) {
                    peak.fetch_max(kb, Ordering::Relaxed);
                }
                std::thread::sleep(Duration::from_millis(2));
            }
        })
    };
    let status = child.wait().expect("twenty exits");
    let wall = started.elapsed();
    done.store(true, Ordering::Relaxed);
    let _ = poller.join();

    let (self_after, children_after) = cpu_ticks();
    let seconds = |t: u64| Duration::from_secs_f64(t as f64 / ticks);
    Cost {
        wall,
        child_cpu: seconds(children_after.saturating_sub(children_before)),
        sandbox_cpu: seconds(self_after.saturating_sub(self_before)),
        peak_kb: peak.load(Ordering::Relaxed),
        exit: status.code(),
    }
}

/// (utime + stime of this process, cutime + cstime of its waited-for
/// children), in clock ticks.
fn cpu_ticks() -> (u64, u64) {
    let stat = std::fs::read_to_string("/proc/self/stat").unwrap_or_default();
    // Fields after the command name, which is in parentheses and may hold
    // spaces; utime is field 14 of the whole line, so index 11 here.
    let rest = stat.rsplit_once(')').map_or("", |(_, r)| r);
    let fields: Vec<u64> = rest
        .split_whitespace()
        .skip(1)
        .map(|f| f.parse().unwrap_or(0))
        .collect();
    let get = |i: usize| fields.get(i).copied().unwrap_or(0);
    (get(10) + get(11), get(12) + get(13))
}

fn vm_hwm(status_path: &str) -> Option<u64> {
    let status = std::fs::read_to_string(status_path).ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    line.split_whitespace().nth(1)?.parse().ok()
}

fn clock_ticks() -> f64 {
    Command::new("getconf")
        .arg("CLK_TCK")
        .output()
        .ok()
        .and_then(|o| String::from_utf8(o.stdout).ok())
        .and_then(|s| s.trim().parse().ok())
        .unwrap_or(100.0)
}

fn people_csv(path: &Path, from: usize, n: usize) {
    let mut out = std::io::BufWriter::new(std::fs::File::create(path).expect("csv"));
    writeln!(
        out,
        "name.firstName,name.lastName,emails.primaryEmail,city,jobTitle"
    )
    .expect("write");
    for i in from..from + n {
        writeln!(
            out,
            "First{i},Last{i},p{i}@bench.test,City {},Engineer",
            i % 50
        )
        .expect("write");
    }
    out.flush().expect("flush");
}

fn people_jsonl(path: &Path, n: usize) {
    let mut out = std::io::BufWriter::new(std::fs::File::create(path).expect("jsonl"));
    for i in 0..n {
        let line = serde_json::json!({
            "name": {"firstName": format!("First{i}"), "lastName": format!("Last{i}")},
            "emails": {"primaryEmail": format!("p{i}@bench.test")},
            "city": format!("City {}", i % 50),
            "jobTitle": "Engineer",
        });
        writeln!(out, "{line}").expect("write");
    }
    out.flush().expect("flush");
}

fn secs(d: Duration) -> f64 {
    d.as_secs_f64()
}

fn path_str(p: &Path) -> &str {
    p.to_str().expect("utf-8 path")
}

async fn count(sandbox: &Sandbox) -> usize {
    let mut config = ClientConfig::new(sandbox.url());
    config.api_key = Some(ApiKey::new(sandbox.api_key()).expect("key"));
    let client = Client::new(config).expect("client");
    let catalog = twenty_core::builtin::standard();
    let people = catalog.object("people").expect("people");
    let page = client
        .find_page(
            people,
            &twenty_client::ListQuery {
                limit: Some(1),
                ..Default::default()
            },
        )
        .await
        .expect("count");
    page.total_count.unwrap_or(0) as usize
}

/// Every request delayed by 5 ms, as on a nearby network: a loopback
/// sandbox answers in a fraction of a millisecond, which hides what
/// batching saves against any real server.
const NEAR_NETWORK: &str = "seed=1,rate=1,kinds=latency,latency-ms=5";

async fn import_case(dir: &Path, n: usize, ticks: f64) {
    for faults in [None, Some(NEAR_NETWORK)] {
        import_pair(dir, n, faults, ticks).await;
    }
    import_memory(dir, n * 10, ticks).await;
}

/// The import holds every row from the check to its send, so its peak
/// grows with the file; this shows by how much.
async fn import_memory(dir: &Path, n: usize, ticks: f64) {
    println!("1c. import of {n} people, loopback sandbox: peak memory");
    let csv = dir.join("import-memory.csv");
    people_csv(&csv, 0, n);
    let sandbox = start(None, Seed::Empty).await;
    let args = ["import", "people", path_str(&csv), "--no-progress"];
    let cost = measure(twenty(&sandbox, dir, &args), ticks).await;
    let held = count(&sandbox).await;
    sandbox.shutdown().await;
    println!(
        "   twenty import: {:>8.2} s  peak rss {:.1} MB  exit {:?}  {held} held\n",
        secs(cost.wall),
        cost.peak_kb as f64 / 1024.0,
        cost.exit
    );
}

async fn import_pair(dir: &Path, n: usize, faults: Option<&str>, ticks: f64) {
    match faults {
        None => println!("1. import of {n} people, loopback sandbox"),
        Some(spec) => println!("1b. import of {n} people, sandbox with {spec}"),
    }
    let csv = dir.join("import.csv");
    let jsonl = dir.join("import.jsonl");
    people_csv(&csv, 0, n);
    people_jsonl(&jsonl, n);

    let sandbox = start(faults, Seed::Empty).await;
    let args = ["import", "people", path_str(&csv), "--no-progress"];
    let batched = measure(twenty(&sandbox, dir, &args), ticks).await;
    let held = count(&sandbox).await;
    sandbox.shutdown().await;

    let sandbox = start(faults, Seed::Empty).await;
    let args = [
        "people",
        "create",
        "--each",
        path_str(&jsonl),
        "--concurrency",
        "1",
    ];
    let single = measure(twenty(&sandbox, dir, &args), ticks).await;
    let held_single = count(&sandbox).await;
    sandbox.shutdown().await;

    println!(
        "   twenty import (batches of 60, 4 in flight):       {:>8.2} s  exit {:?}  {held} held  \
         peak rss {:.1} MB",
        secs(batched.wall),
        batched.exit,
        batched.peak_kb as f64 / 1024.0
    );
    println!(
        "   twenty people create --each --concurrency 1:      {:>8.2} s  exit {:?}  {held_single} held",
        secs(single.wall),
        single.exit
    );
    println!(
        "   ratio: import is {:.1}x faster (target >= 30x)\n",
        secs(single.wall) / secs(batched.wall)
    );
}

async fn export_case(dir: &Path, n: usize, ticks: f64) {
    println!("2. export of people, page size 60, csv to a file");
    let sandbox = start(None, Seed::Empty).await;
    let mut config = ClientConfig::new(sandbox.url());
    config.api_key = Some(ApiKey::new(sandbox.api_key()).expect("key"));
    let client = Client::new(config).expect("client");
    let catalog = twenty_core::builtin::standard();
    let people = catalog.object("people").expect("people");

    let mut filled = 0;
    for target in [n / 10, n] {
        // Filled in process: only the export is measured.
        let csv = dir.join(format!("fill-{target}.csv"));
        people_csv(&csv, filled, target - filled);
        let args = fill_args(csv.clone());
        let code = bulk::import(&client, &catalog, people, &args)
            .await
            .expect("fill");
        assert_eq!(code, 0, "filling the sandbox");
        filled = target;

        let out = dir.join(format!("export-{target}.csv"));
        let args = [
            "export",
            "people",
            "--as",
            "csv",
            "--output-file",
            path_str(&out),
        ];
        let cost = measure(twenty(&sandbox, dir, &args), ticks).await;
        let lines = std::fs::read_to_string(&out).map_or(0, |t| t.lines().count());
        println!(
            "   {target:>7} records: {:>6.2} s  {:>8.0} records/s  client cpu {:.2} s  \
             sandbox cpu {:.2} s  (client/sandbox {:.2})  peak rss {:.1} MB  exit {:?}  {} lines",
            secs(cost.wall),
            target as f64 / secs(cost.wall),
            secs(cost.child_cpu),
            secs(cost.sandbox_cpu),
            secs(cost.child_cpu) / secs(cost.sandbox_cpu).max(0.001),
            cost.peak_kb as f64 / 1024.0,
            cost.exit,
            lines
        );
    }
    println!("   (target: peak below 50 MB and about the same at both sizes)\n");
    sandbox.shutdown().await;
}

fn fill_args(file: PathBuf) -> ImportArgs {
    ImportArgs {
        file,
        as_format: None,
        format_hint: None,
        batch_size: None,
        concurrency: 4,
        dry_run: false,
        update_by: None,
        reject_file: None,
        resume: false,
        no_progress: true,
        interruptible: false,
    }
}

async fn startup_case(dir: &Path, ticks: f64) {
    const RUNS: usize = 21;
    println!("3. start-up: one find one of a workflow run, median of {RUNS} runs");
    let sandbox = start(None, Seed::Demo).await;
    let mut config = ClientConfig::new(sandbox.url());
    config.api_key = Some(ApiKey::new(sandbox.api_key()).expect("key"));
    let client = Client::new(config).expect("client");
    let catalog = twenty_core::builtin::standard();
    let runs = catalog.object("workflowRuns").expect("workflow runs");
    let page = client
        .find_page(runs, &twenty_client::ListQuery::default())
        .await
        .expect("runs");
    let id = page.records[0]["id"].as_str().expect("id").to_owned();

    let mut ours = Vec::new();
    let mut theirs = Vec::new();
    let url = format!("{}/rest/workflowRuns/{id}", sandbox.url());
    let header = format!("Authorization: Bearer {}", sandbox.api_key());
    for _ in 0..RUNS {
        let cost = measure(twenty(&sandbox, dir, &["workflow-runs", "get", &id]), ticks).await;
        assert_eq!(cost.exit, Some(0), "twenty workflow-runs get");
        ours.push(cost.wall);
        let mut curl = Command::new("curl");
        curl.args(["-sf", "-H", &header, &url])
            .stdout(Stdio::null())
            .stderr(Stdio::null());
        let cost = measure(curl, ticks).await;
        theirs.push(cost.wall);
    }
    let median = |v: &mut Vec<Duration>| {
        v.sort();
        v[v.len() / 2]
    };
    let (ours, theirs) = (median(&mut ours), median(&mut theirs));
    println!(
        "   twenty workflow-runs get ID: {:>7.1} ms",
        ours.as_secs_f64() * 1000.0
    );
    println!(
        "   curl:                        {:>7.1} ms",
        theirs.as_secs_f64() * 1000.0
    );
    println!(
        "   ratio: {:.2}x curl's time (target within 2x)\n",
        ours.as_secs_f64() / theirs.as_secs_f64()
    );
    sandbox.shutdown().await;
}

async fn faults_case(dir: &Path, n: usize, ticks: f64) {
    println!("4. import of {n} people under faults ({FAULTS}) against none");
    let csv = dir.join("faults.csv");
    people_csv(&csv, 0, n);
    let mut walls = Vec::new();
    for faults in [None, Some(FAULTS)] {
        let sandbox = start(faults, Seed::Empty).await;
        let args = ["import", "people", path_str(&csv), "--no-progress"];
        let mut cost = measure(twenty(&sandbox, dir, &args), ticks).await;
        // A run that gave up after every retry is resumed, as a user would.
        let mut resumes = 0;
        while cost.exit != Some(0) && resumes < 5 {
            resumes += 1;
            let args = [
                "import",
                "people",
                path_str(&csv),
                "--no-progress",
                "--resume",
            ];
            let more = measure(twenty(&sandbox, dir, &args), ticks).await;
            cost.wall += more.wall;
            cost.exit = more.exit;
        }
        let held = if faults.is_some() {
            // Counting under faults is not part of the figure.
            String::from("(not counted)")
        } else {
            format!("{} held", count(&sandbox).await)
        };
        println!(
            "   {:<9} {:>7.2} s  exit {:?}  {resumes} resumes  {held}",
            if faults.is_some() {
                "faults:"
            } else {
                "no faults:"
            },
            secs(cost.wall),
            cost.exit,
        );
        walls.push(cost.wall);
        sandbox.shutdown().await;
    }
    println!(
        "   slowdown under faults: {:.2}x\n",
        secs(walls[1]) / secs(walls[0])
    );
}
