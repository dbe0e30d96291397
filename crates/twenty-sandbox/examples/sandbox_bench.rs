//! Load test of the sandbox: starts one on a file store with 100,000
//! people, then re-executes itself as a separate load-generator process
//! that measures find one and a filtered find many.
//!
//! `cargo run --release -p twenty-sandbox --example sandbox_bench [-- RECORDS SECONDS CONNECTIONS]`

use std::time::{Duration, Instant};

use serde_json::{Value, json};
use twenty_sandbox::{Sandbox, SandboxConfig, Storage};

const CITIES: usize = 1000;

#[tokio::main]
async fn main() {
    let args: Vec<String> = std::env::args().collect();
    if args.get(1).map(String::as_str) == Some("load") {
        load(&args[2..]).await;
        return;
    }
    let records: usize = args.get(1).and_then(|a| a.parse().ok()).unwrap_or(100_000);
    let seconds: u64 = args.get(2).and_then(|a| a.parse().ok()).unwrap_or(10);
    let connections: usize = args.get(3).and_then(|a| a.parse().ok()).unwrap_or(16);

    let dir = std::env::temp_dir().join(format!("twenty-sandbox-bench-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let mut config = SandboxConfig::new(twenty_core::builtin::standard());
    config.storage = Storage::File(dir.join("bench.db"));
    let sandbox = Sandbox::start(config, "127.0.0.1:0".parse().expect("an address"))
        .await
        .expect("the sandbox starts");
    let url = sandbox.url();
    let key = sandbox.api_key().to_string();
    println!("sandbox at {url}, store in {}", dir.display());

    // Fill through the API, two batches in flight, as a client would.
    let started = Instant::now();
    let http = reqwest::Client::new();
    let mut ids: Vec<String> = Vec::with_capacity(records);
    let batches: Vec<Vec<Value>> = (0..records)
        .map(|i| {
            json!({
                "name": {"firstName": format!("First{}", i % 5000), "lastName": format!("Last{i}")},
                "emails": {"primaryEmail": format!("person{i}@bench.example")},
                "city": format!("City {}", i % CITIES),
                "jobTitle": format!("Job {}", i % 37),
                "position": i,
            })
        })
        .collect::<Vec<_>>()
        .chunks(60)
        .map(<[Value]>::to_vec)
        .collect();
    for pair in batches.chunks(2) {
        let calls = pair.iter().map(|batch| {
            http.post(format!("{url}/rest/batch/people"))
                .bearer_auth(&key)
                .json(batch)
                .send()
        });
        for response in futures_join(calls).await {
            let body: Value = response.expect("a reply").json().await.expect("json");
            for p in body["data"]["createPeople"]
                .as_array()
                .expect("created people")
            {
                ids.push(p["id"].as_str().expect("an id").to_string());
            }
        }
    }
    println!(
        "inserted {} people in {:.1} s through POST /rest/batch/people",
        ids.len(),
        started.elapsed().as_secs_f64()
    );

    let ids_file = dir.join("ids.txt");
    std::fs::write(&ids_file, ids.join("\n")).expect("the id list is written");
    let exe = std::env::current_exe().expect("the bench's own path");
    let status = std::process::Command::new(exe)
        .args([
            "load",
            &url,
            &ids_file.display().to_string(),
            &seconds.to_string(),
            &connections.to_string(),
        ])
        .env("SANDBOX_BENCH_KEY", &key)
        .status()
        .expect("the load generator runs");
    assert!(status.success(), "the load generator failed");

    sandbox.shutdown().await;
    let _ = std::fs::remove_dir_all(&dir);
}

async fn futures_join<F: std::future::Future + Send + 'static>(
    calls: impl Iterator<Item = F>,
) -> Vec<F::Output>
where
    F::Output: Send + 'static,
{
    let handles: Vec<_> = calls.map(tokio::spawn).collect();
    let mut out = Vec::new();
    for h in handles {
        out.push(h.await.expect("the request task"));
    }
    out
}

/// The load generator process: `load URL IDS_FILE SECONDS CONNECTIONS`.
async fn load(args: &[String]) {
    let url = args[0].clone();
    let ids: Vec<String> = std::fs::read_to_string(&args[1])
        .expect("the id list")
        .lines()
        .map(str::to_string)
        .collect();
    let seconds: u64 = args[2].parse().expect("seconds");
    let connections: usize = args[3].parse().expect("connections");
    let key = std::env::var("SANDBOX_BENCH_KEY").expect("the key");
    let http = reqwest::Client::builder()
        .pool_max_idle_per_host(connections)
        .build()
        .expect("a client");

    let ids = std::sync::Arc::new(ids);
    let one = {
        let (url, ids) = (url.clone(), ids.clone());
        move |i: usize| format!("{url}/rest/people/{}", ids[(i * 7919) % ids.len()])
    };
    // About 100 people per city: the filter selects 0.1 % of the table.
    let many = {
        let url = url.clone();
        move |i: usize| {
            let filter = format!("city[eq]:\"City {}\"", (i * 31) % CITIES);
            format!("{url}/rest/people?limit=20&filter={}", encode(&filter))
        }
    };
    let many_sorted = {
        let url = url.clone();
        move |i: usize| {
            let filter = format!("city[eq]:\"City {}\"", (i * 31) % CITIES);
            format!(
                "{url}/rest/people?limit=20&order_by=name.lastName[DescNullsLast]&filter={}",
                encode(&filter)
            )
        }
    };

    println!("load generator: {connections} connections, {seconds} s per phase, separate process");
    phase(
        "find one          GET /rest/people/{id}",
        &http,
        &key,
        connections,
        seconds,
        one,
    )
    .await;
    phase(
        "filtered find many GET /rest/people?filter=city[eq]:..&limit=20",
        &http,
        &key,
        connections,
        seconds,
        many,
    )
    .await;
    phase(
        "filtered + sorted  ...&order_by=name.lastName[DescNullsLast]",
        &http,
        &key,
        connections,
        seconds,
        many_sorted,
    )
    .await;
    phase(
        "filtered find many, 1 connection",
        &http,
        &key,
        1,
        seconds.min(5),
        {
            let url = url.clone();
            move |i: usize| {
                let filter = format!("city[eq]:\"City {}\"", (i * 17) % CITIES);
                format!("{url}/rest/people?limit=20&filter={}", encode(&filter))
            }
        },
    )
    .await;
}

fn encode(text: &str) -> String {
    text.bytes()
        .map(|b| {
            if b.is_ascii_alphanumeric() || b"-_.~".contains(&b) {
                (b as char).to_string()
            } else {
                format!("%{b:02X}")
            }
        })
        .collect()
}

async fn phase(
    name: &str,
    http: &reqwest::Client,
    key: &str,
    connections: usize,
    seconds: u64,
    url_of: impl Fn(usize) -> String + Send + Sync + Clone + 'static,
) {
    let deadline = Instant::now() + Duration::from_secs(seconds);
    let started = Instant::now();
    let mut tasks = Vec::new();
    for c in 0..connections {
        let (http, key, url_of) = (http.clone(), key.to_string(), url_of.clone());
        tasks.push(tokio::spawn(async move {
            let mut latencies = Vec::new();
            let mut errors = 0usize;
            let mut i = c * 1_000_003;
            while Instant::now() < deadline {
                i += 1;
                let t = Instant::now();
                let ok = match http.get(url_of(i)).bearer_auth(&key).send().await {
                    Ok(r) => r.status().is_success() && r.bytes().await.is_ok(),
                    Err(_) => false,
                };
                latencies.push(t.elapsed());
                if !ok {
                    errors += 1;
                }
            }
            (latencies, errors)
        }));
    }
    let mut all = Vec::new();
    let mut errors = 0;
    for t in tasks {
        let (l, e) = t.await.expect("a load task");
        all.extend(l);
        errors += e;
    }
    let elapsed = started.elapsed().as_secs_f64();
    all.sort();
    let pct =
        |p: f64| all[((all.len() as f64 * p) as usize).min(all.len() - 1)].as_secs_f64() * 1000.0;
    println!(
        "{name}\n    {} requests, {errors} errors, {:.0} req/s, p50 {:.2} ms, p99 {:.2} ms",
        all.len(),
        all.len() as f64 / elapsed,
        pct(0.50),
        pct(0.99)
    );
}
