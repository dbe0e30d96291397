//! Shared set-up for the bulk tests: a sandbox on 127.0.0.1:0, a client for
//! it, scratch directories and ways to count what the server holds.
#![allow(dead_code)]

use std::collections::HashMap;
use std::path::Path;
use std::process::{Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use serde_json::Value;
use twenty_client::{ApiKey, Client, ClientConfig, ListQuery, RetryPolicy};
use twenty_core::{Catalog, Object};
use twenty_sandbox::{AppState, FaultSpec, Sandbox, SandboxConfig, Seed, Storage, router};

/// Every kind of fault at 20 %, seeded, with short waits so CI stays fast.
/// No request meets more than 3 in a row, fewer than the 5 attempts of the
/// binary's default retry policy: otherwise one request in a few thousand
/// would fail for good and a test of exactly-once would fail by chance.
pub const FAULTS: &str = "seed=42,rate=0.2,latency-ms=20,retry-after=0,max-in-row=3";

pub fn catalog() -> Catalog {
    twenty_core::builtin::standard()
}

pub fn object<'a>(catalog: &'a Catalog, name: &str) -> &'a Object {
    catalog
        .object(name)
        .expect("the standard model has this object")
}

pub async fn sandbox(seed: Seed, faults: Option<&str>) -> Sandbox {
    sandbox_on(Storage::Memory, seed, faults).await
}

pub async fn sandbox_on(storage: Storage, seed: Seed, faults: Option<&str>) -> Sandbox {
    let mut config = SandboxConfig::new(catalog());
    config.storage = storage;
    config.seed = seed;
    config.faults = faults.map(|f| f.parse::<FaultSpec>().expect("valid fault spec"));
    Sandbox::start(config, "127.0.0.1:0".parse().expect("address"))
        .await
        .expect("sandbox starts")
}

/// A sandbox behind a layer that writes down every request as
/// `METHOD /path`, to prove what a job costs. It serves until the test's
/// runtime ends.
pub struct Counted {
    pub url: String,
    pub api_key: String,
    seen: Arc<Mutex<Vec<String>>>,
}

/// Answers a request in the sandbox's place: given `METHOD /path?query`,
/// a status and a JSON body, or `None` to let the sandbox answer.
pub type Answer = dyn Fn(&str) -> Option<(u16, String)> + Send + Sync;

/// Twenty's error body for `status` with one message.
pub fn error_body(status: u16, error: &str, message: &str) -> String {
    serde_json::json!({"statusCode": status, "error": error, "messages": [message]}).to_string()
}

impl Counted {
    pub async fn start(seed: Seed, faults: Option<&str>) -> Counted {
        Counted::answering(seed, faults, |_| None).await
    }

    /// A counted sandbox where `answer` may answer any request first;
    /// requests it answers are counted too.
    pub async fn answering(
        seed: Seed,
        faults: Option<&str>,
        answer: impl Fn(&str) -> Option<(u16, String)> + Send + Sync + 'static,
    ) -> Counted {
        let answer: Arc<Answer> = Arc::new(answer);
        let mut config = SandboxConfig::new(catalog());
        config.seed = seed;
        config.faults = faults.map(|f| f.parse::<FaultSpec>().expect("valid fault spec"));
        let api_key = config.api_key.clone();
        let state = tokio::task::spawn_blocking(move || AppState::new(config))
            .await
            .expect("join")
            .expect("sandbox state");
        let seen = Arc::new(Mutex::new(Vec::new()));
        let log = Arc::clone(&seen);
        let app = router(state).layer(axum::middleware::from_fn(
            move |request: axum::extract::Request, next: axum::middleware::Next| {
                let log = Arc::clone(&log);
                let answer = Arc::clone(&answer);
                async move {
                    let line = format!("{} {}", request.method(), request.uri().path());
                    log.lock().expect("log").push(line);
                    let full = format!("{} {}", request.method(), request.uri());
                    if let Some((status, body)) = answer(&full) {
                        let status = axum::http::StatusCode::from_u16(status).expect("status");
                        let json = [(axum::http::header::CONTENT_TYPE, "application/json")];
                        return axum::response::IntoResponse::into_response((status, json, body));
                    }
                    next.run(request).await
                }
            },
        ));
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind");
        let url = format!("http://{}", listener.local_addr().expect("address"));
        tokio::spawn(async move { axum::serve(listener, app).await });
        Counted { url, api_key, seen }
    }

    pub fn client(&self) -> Client {
        client_at(&self.url, &self.api_key)
    }

    /// Requests so far whose `METHOD /path` starts with `prefix`.
    pub fn count(&self, prefix: &str) -> usize {
        let seen = self.seen.lock().expect("log");
        seen.iter().filter(|r| r.starts_with(prefix)).count()
    }

    /// Forgets the requests so far.
    pub fn reset(&self) {
        self.seen.lock().expect("log").clear();
    }

    /// `twenty args...` against this server, as [`twenty`] does.
    pub fn twenty(&self, home: &Path, args: &[&str]) -> Command {
        command(&self.url, &self.api_key, home, args)
    }
}

/// A client with quick retries, as a test under faults wants.
pub fn client(sandbox: &Sandbox) -> Client {
    client_at(&sandbox.url(), sandbox.api_key())
}

/// A client with quick retries for the server at `url`.
pub fn client_at(url: &str, key: &str) -> Client {
    let mut config = ClientConfig::new(url);
    config.api_key = Some(ApiKey::new(key).expect("key"));
    config.retry = RetryPolicy {
        max_attempts: 6,
        base_delay: Duration::from_millis(5),
        max_delay: Duration::from_millis(100),
        max_total: Duration::from_secs(30),
    };
    Client::new(config).expect("client")
}

/// `twenty args...` as a user runs it against `sandbox`: URL and key from
/// the environment, and config, data and cache dirs inside `home` so the
/// user's own profiles and cached schemas stay out of the test.
pub fn twenty(sandbox: &Sandbox, home: &Path, args: &[&str]) -> Command {
    command(&sandbox.url(), sandbox.api_key(), home, args)
}

/// `twenty args...` against whatever is at `url`, as [`twenty`] does.
pub fn command(url: &str, key: &str, home: &Path, args: &[&str]) -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_twenty"));
    cmd.args(args)
        .env("TWENTY_API_URL", url)
        .env("TWENTY_API_KEY", key)
        .env("HOME", home)
        .env("XDG_CONFIG_HOME", home.join("xdg-config"))
        .env("XDG_CACHE_HOME", home.join("xdg-cache"))
        .env("XDG_DATA_HOME", home.join("xdg-data"))
        .env("TWENTY_CONFIG_DIR", home.join("config"))
        .env("TWENTY_DATA_DIR", home.join("data"))
        .env_remove("TWENTY_PROFILE")
        .stdin(Stdio::null());
    cmd
}

/// A fresh, empty scratch directory for one test, removed with everything
/// in it when the test drops it, passed or failed.
pub fn scratch(name: &str) -> Scratch {
    let dir = tempfile::Builder::new()
        .prefix(&format!("twenty-bulk-{name}-"))
        .tempdir()
        .expect("scratch dir");
    Scratch(dir)
}

/// A scratch directory; it reads as the [`Path`] it is, so tests join
/// file names to it and hand it to `twenty` as a home.
pub struct Scratch(tempfile::TempDir);

impl std::ops::Deref for Scratch {
    type Target = Path;

    fn deref(&self) -> &Path {
        self.0.path()
    }
}

impl AsRef<Path> for Scratch {
    fn as_ref(&self) -> &Path {
        self.0.path()
    }
}

/// Every record of `object`, read page by page.
pub async fn all(client: &Client, object: &Object) -> Vec<Value> {
    let query = ListQuery {
        limit: Some(60),
        ..ListQuery::default()
    };
    let mut pages = client.find_all(object, query);
    let mut out = Vec::new();
    loop {
        // Reads are repeated here too: the tests count under faults.
        let mut tries = 0;
        let page = loop {
            match pages.next_page().await {
                Ok(page) => break page,
                Err(e) if tries < 10 => {
                    tries += 1;
                    eprintln!("count: repeating after {e}");
                    pages = client.find_all(object, resume_query(&out));
                }
                Err(e) => panic!("cannot read {}: {e}", object.plural),
            }
        };
        match page {
            Some(page) => out.extend(page.records),
            None => return out,
        }
    }
}

/// A query that carries on after the last record read, by id.
fn resume_query(read: &[Value]) -> ListQuery {
    ListQuery {
        limit: Some(60),
        filter: read
            .last()
            .and_then(|r| r["id"].as_str())
            .map(|id| format!("id[gt]:\"{id}\"")),
        ..ListQuery::default()
    }
}

/// How many times each value of `path` (`emails.primaryEmail`) occurs.
pub fn tally(records: &[Value], pointer: &str) -> HashMap<String, usize> {
    let mut out = HashMap::new();
    for record in records {
        let key = record
            .pointer(pointer)
            .map(|v| v.as_str().map_or_else(|| v.to_string(), str::to_owned))
            .unwrap_or_default();
        *out.entry(key).or_default() += 1;
    }
    out
}

/// A CSV of `n` people with unique e-mails `p{i}@bulk.test`.
pub fn people_csv(n: usize, company_ids: &[String]) -> String {
    let mut out =
        String::from("name.firstName,name.last-name,emails.primaryEmail,company-id,city\n");
    for i in 0..n {
        let company = if company_ids.is_empty() {
            ""
        } else {
            &company_ids[i % company_ids.len()]
        };
        out.push_str(&format!(
            "First{i},Last{i},p{i}@bulk.test,{company},City {}\n",
            i % 7
        ));
    }
    out
}

/// Reads a reject file.
pub fn rejects(path: &std::path::Path) -> Vec<Value> {
    std::fs::read_to_string(path)
        .unwrap_or_default()
        .lines()
        .map(|l| serde_json::from_str(l).expect("reject lines are JSON"))
        .collect()
}

/// What a run killed mid-flight leaves of a 100-row people import in
/// `dir`: batch 0 (the rows on lines 2 to 61) journaled as sent with its
/// ids, and the server holding the first 25 of them because the request
/// had gone through. Returns the file and the journaled ids.
pub async fn killed_mid_batch(
    client: &Client,
    people: &Object,
    dir: &Path,
) -> (std::path::PathBuf, Vec<String>) {
    use twenty_cli::bulk::journal::{self, Header, Journal};

    let file = dir.join("people.csv");
    std::fs::write(&file, people_csv(100, &[])).unwrap();
    let bytes = std::fs::read(&file).unwrap();
    let lines: Vec<u64> = (2..=61).collect();
    let ids: Vec<String> = lines
        .iter()
        .map(|_| uuid::Uuid::new_v4().to_string())
        .collect();
    let journal = Journal::create(
        &journal::path_for(&file),
        &Header::new("people", &bytes, None),
    )
    .unwrap();
    journal.sending(0, &lines, &ids).unwrap();
    drop(journal);
    let created: Vec<Value> = (0..25)
        .map(|i| {
            serde_json::json!({"id": ids[i], "emails": {"primaryEmail": format!("p{i}@bulk.test")}})
        })
        .collect();
    client.create_many(people, created, None).await.unwrap();
    (file, ids)
}
