//! Shared by the binary tests: running `twenty` with its own config and
//! data dirs, a recording HTTP server that answers like Twenty, and a bare
//! listener that counts connections (to prove nothing was sent).

#![allow(dead_code)]

use std::io::Write;
use std::net::TcpListener as StdListener;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use axum::body::Bytes;
use axum::http::{HeaderMap, Method, StatusCode, Uri};
use axum::response::IntoResponse;
use serde_json::Value;

/// The key the tests send; it must never show in any output.
pub const KEY: &str = "sk-test-9f8e7d6c5b4a.secret-part";

#[path = "../../../../tests/shared_specs.rs"]
mod shared_specs;

pub use shared_specs::spec;

/// The 2026 document.
pub fn spec_2026() -> PathBuf {
    spec("twenty-2026-openapi.yaml")
}

/// A temp home for one test: config and data dirs and a key file.
pub struct Home {
    pub dir: tempfile::TempDir,
}

impl Home {
    pub fn new() -> Self {
        let dir = tempfile::tempdir().expect("temp dir");
        std::fs::write(dir.path().join("key.txt"), format!("{KEY}\n")).expect("key file");
        Self { dir }
    }

    pub fn path(&self) -> &Path {
        self.dir.path()
    }

    pub fn key_file(&self) -> PathBuf {
        self.dir.path().join("key.txt")
    }

    /// `twenty` with HOME, TWENTY_CONFIG_DIR and TWENTY_DATA_DIR inside
    /// this home and no credentials from the environment.
    pub fn command(&self) -> Command {
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_twenty"));
        cmd.env("HOME", self.path())
            .env("TWENTY_CONFIG_DIR", self.path().join("config"))
            .env("TWENTY_DATA_DIR", self.path().join("data"))
            .env_remove("TWENTY_API_URL")
            .env_remove("TWENTY_API_KEY")
            .env_remove("TWENTY_PROFILE")
            .stdin(Stdio::null());
        cmd
    }

    /// Runs `twenty args...`.
    pub fn run(&self, args: &[&str]) -> Run {
        Run::from(self.command().args(args).output().expect("run twenty"))
    }

    /// Runs `twenty args...` with `input` on stdin.
    pub fn run_with_stdin(&self, args: &[&str], input: &str) -> Run {
        let mut child = self
            .command()
            .args(args)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("spawn twenty");
        child
            .stdin
            .take()
            .expect("stdin")
            .write_all(input.as_bytes())
            .expect("write stdin");
        Run::from(child.wait_with_output().expect("wait twenty"))
    }

    /// Runs `twenty --api-url URL --api-key-file KEY args...`.
    pub fn run_at(&self, url: &str, args: &[&str]) -> Run {
        let key = self.key_file();
        let mut all = vec![
            "--api-url",
            url,
            "--api-key-file",
            key.to_str().expect("utf-8"),
        ];
        all.extend_from_slice(args);
        self.run(&all)
    }
}

/// What one run printed.
#[derive(Debug)]
pub struct Run {
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
}

impl From<Output> for Run {
    fn from(out: Output) -> Self {
        Self {
            code: out.status.code().unwrap_or(-1),
            stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
        }
    }
}

impl Run {
    pub fn json(&self) -> Value {
        serde_json::from_str(&self.stdout).unwrap_or_else(|e| {
            panic!(
                "stdout is not JSON ({e}):\n{}\nstderr:\n{}",
                self.stdout, self.stderr
            )
        })
    }

    /// Checks that no part of the test key shows in stdout or stderr.
    pub fn assert_no_key(&self) {
        for text in [&self.stdout, &self.stderr] {
            assert!(!text.contains(KEY), "key in output:\n{text}");
            assert!(!text.contains("secret-part"), "part of the key in:\n{text}");
        }
    }

    /// Checks a refusal: exit 2, an `error:` line (and maybe a hint)
    /// holding every part, nothing on stdout, no key anywhere.
    pub fn assert_refused(&self, parts: &[&str]) {
        assert_eq!(
            self.code, 2,
            "stdout:\n{}\nstderr:\n{}",
            self.stdout, self.stderr
        );
        assert!(self.stderr.starts_with("error: "), "{}", self.stderr);
        for part in parts {
            assert!(
                self.stderr.contains(part),
                "expected `{part}` in:\n{}",
                self.stderr
            );
        }
        assert_eq!(self.stdout, "", "nothing goes to stdout on an error");
        self.assert_no_key();
    }

    pub fn assert_ok(&self) -> &Self {
        assert_eq!(
            self.code, 0,
            "stdout:\n{}\nstderr:\n{}",
            self.stdout, self.stderr
        );
        self
    }
}

/// A listener that accepts and counts connections and answers nothing:
/// pointing `--api-url` at it proves whether a request was attempted.
pub struct Counter {
    pub url: String,
    count: Arc<AtomicUsize>,
    peers: Arc<Mutex<Vec<std::net::SocketAddr>>>,
}

impl Counter {
    pub fn start() -> Self {
        let listener = StdListener::bind("127.0.0.1:0").expect("bind");
        let url = format!("http://{}", listener.local_addr().expect("addr"));
        let count = Arc::new(AtomicUsize::new(0));
        let peers: Arc<Mutex<Vec<std::net::SocketAddr>>> = Arc::default();
        let (seen, order) = (count.clone(), peers.clone());
        std::thread::spawn(move || {
            for stream in listener.incoming() {
                seen.fetch_add(1, Ordering::SeqCst);
                if let Ok(peer) = stream.as_ref().map(|s| s.peer_addr()) {
                    order.lock().expect("lock").extend(peer.ok());
                }
                drop(stream);
            }
        });
        Self { url, count, peers }
    }

    pub fn connections(&self) -> usize {
        self.count.load(Ordering::SeqCst)
    }

    /// How many connections were made before this call, once the listener
    /// has taken every one of them: a probe connection joins the back of
    /// the accept queue, so when it is seen, all earlier ones were too.
    /// Call it once, after the run.
    pub fn connections_made(&self) -> usize {
        let addr = self.url.trim_start_matches("http://");
        let probe = std::net::TcpStream::connect(addr).expect("probe");
        let me = probe.local_addr().expect("probe addr");
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
        loop {
            if let Some(at) = self
                .peers
                .lock()
                .expect("lock")
                .iter()
                .position(|p| *p == me)
            {
                return at;
            }
            assert!(
                std::time::Instant::now() < deadline,
                "the probe was never accepted"
            );
            std::thread::sleep(std::time::Duration::from_millis(2));
        }
    }
}

/// A listener that accepts connections and never answers, holding them
/// open: every request to it times out.
pub struct Silent {
    pub url: String,
}

impl Silent {
    pub fn start() -> Self {
        let listener = StdListener::bind("127.0.0.1:0").expect("bind");
        let url = format!("http://{}", listener.local_addr().expect("addr"));
        std::thread::spawn(move || {
            let mut held = Vec::new();
            for stream in listener.incoming() {
                held.push(stream);
            }
        });
        Self { url }
    }
}

/// One request as the recording server saw it.
#[derive(Debug, Clone)]
pub struct Recorded {
    pub method: String,
    pub path: String,
    /// The raw query string, percent-encoded as sent.
    pub query: Option<String>,
    pub authorization: Option<String>,
    pub body: Option<Value>,
}

impl Recorded {
    /// Query pairs, decoded.
    pub fn query_pairs(&self) -> Vec<(String, String)> {
        let Some(query) = &self.query else {
            return Vec::new();
        };
        query
            .split('&')
            .filter(|p| !p.is_empty())
            .map(|pair| {
                let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
                (decode(k), decode(v))
            })
            .collect()
    }
}

fn decode(text: &str) -> String {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'%' if i + 2 < bytes.len() => {
                let hex = std::str::from_utf8(&bytes[i + 1..i + 3]).unwrap_or("");
                match u8::from_str_radix(hex, 16) {
                    Ok(b) => {
                        out.push(b);
                        i += 3;
                    }
                    Err(_) => {
                        out.push(b'%');
                        i += 1;
                    }
                }
            }
            b'+' => {
                out.push(b' ');
                i += 1;
            }
            b => {
                out.push(b);
                i += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

type Responder = dyn Fn(&Recorded) -> (u16, Value) + Send + Sync;

/// An HTTP server on 127.0.0.1 that records every request and answers with
/// what the responder says.
pub struct Recorder {
    pub url: String,
    seen: Arc<Mutex<Vec<Recorded>>>,
}

impl Recorder {
    pub fn start(responder: impl Fn(&Recorded) -> (u16, Value) + Send + Sync + 'static) -> Self {
        let seen: Arc<Mutex<Vec<Recorded>>> = Arc::default();
        let responder: Arc<Responder> = Arc::new(responder);
        let listener = StdListener::bind("127.0.0.1:0").expect("bind");
        listener.set_nonblocking(true).expect("nonblocking");
        let url = format!("http://{}", listener.local_addr().expect("addr"));
        let state = (seen.clone(), responder);
        std::thread::spawn(move || {
            // Several workers, so a responder that sleeps (to finish requests
            // out of order) does not hold up the others.
            let runtime = tokio::runtime::Builder::new_multi_thread()
                .worker_threads(4)
                .enable_all()
                .build()
                .expect("runtime");
            runtime.block_on(async move {
                let listener = tokio::net::TcpListener::from_std(listener).expect("listener");
                let app = axum::Router::new().fallback(
                    move |method: Method, uri: Uri, headers: HeaderMap, body: Bytes| {
                        let (seen, responder) = state.clone();
                        async move {
                            let recorded = Recorded {
                                method: method.to_string(),
                                path: uri.path().to_string(),
                                query: uri.query().map(str::to_string),
                                authorization: headers
                                    .get("authorization")
                                    .and_then(|v| v.to_str().ok())
                                    .map(str::to_string),
                                body: serde_json::from_slice(&body).ok(),
                            };
                            let (status, reply) = responder(&recorded);
                            seen.lock().expect("lock").push(recorded);
                            (
                                StatusCode::from_u16(status).unwrap_or(StatusCode::OK),
                                axum::Json(reply),
                            )
                                .into_response()
                        }
                    },
                );
                let _ = axum::serve(listener, app).await;
            });
        });
        Self { url, seen }
    }

    pub fn requests(&self) -> Vec<Recorded> {
        self.seen.lock().expect("lock").clone()
    }

    /// The one request seen; fails when there were more or none.
    pub fn only(&self) -> Recorded {
        let seen = self.requests();
        assert_eq!(seen.len(), 1, "expected one request, saw {seen:#?}");
        seen[0].clone()
    }
}

/// A record id the recording server hands out.
pub const RUN_ID: &str = "6b1a1f4e-3c2d-4e5f-8a9b-0c1d2e3f4a5b";

/// Answers the way Twenty does for workflow runs, echoing bodies back.
pub fn workflow_runs(r: &Recorded) -> (u16, Value) {
    use serde_json::json;
    let segments: Vec<&str> = r.path.trim_start_matches("/rest/").split('/').collect();
    let record = |extra: Option<&Value>| {
        let mut rec = json!({"id": RUN_ID, "name": "Nightly import", "status": "RUNNING"});
        if let (Some(Value::Object(body)), Value::Object(map)) = (extra, &mut rec) {
            for (k, v) in body {
                map.insert(k.clone(), v.clone());
            }
        }
        rec
    };
    match (r.method.as_str(), segments.as_slice()) {
        ("GET", ["workflowRuns"]) => (
            200,
            json!({"data": {"workflowRuns": [record(None)]},
                   "pageInfo": {"hasNextPage": false, "startCursor": "a", "endCursor": "a"},
                   "totalCount": 1}),
        ),
        ("POST", ["workflowRuns"]) => (
            201,
            json!({"data": {"createWorkflowRun": record(r.body.as_ref())}}),
        ),
        ("POST", ["batch", "workflowRuns"]) => {
            let items = r
                .body
                .as_ref()
                .and_then(Value::as_array)
                .cloned()
                .unwrap_or_default();
            let created: Vec<Value> = items.iter().map(|b| record(Some(b))).collect();
            (201, json!({"data": {"createWorkflowRuns": created}}))
        }
        ("POST", ["workflowRuns", "duplicates"]) => (
            200,
            json!({"data": [{"workflowRunDuplicates": [], "totalCount": 0,
                             "pageInfo": {"hasNextPage": false}}]}),
        ),
        ("GET", ["workflowRuns", "groupBy"]) => {
            (200, json!({"data": [{"status": "RUNNING", "count": 1}]}))
        }
        ("PATCH", ["workflowRuns", "merge"]) => {
            (200, json!({"data": {"mergeWorkflowRuns": record(None)}}))
        }
        ("PATCH", ["workflowRuns"]) => (
            200,
            json!({"data": {"updateWorkflowRuns": [record(r.body.as_ref())]}}),
        ),
        ("DELETE", ["workflowRuns"]) => (
            200,
            json!({"data": {"deleteWorkflowRuns": [{"id": RUN_ID}]}}),
        ),
        ("PATCH", ["restore", "workflowRuns", _]) => {
            (200, json!({"data": {"restoreWorkflowRun": record(None)}}))
        }
        ("PATCH", ["restore", "workflowRuns"]) => (
            200,
            json!({"data": {"restoreWorkflowRuns": [record(None)]}}),
        ),
        ("GET", ["workflowRuns", _]) => (200, json!({"data": {"workflowRun": record(None)}})),
        ("PATCH" | "PUT", ["workflowRuns", _]) => (
            200,
            json!({"data": {"updateWorkflowRun": record(r.body.as_ref())}}),
        ),
        ("DELETE", ["workflowRuns", _]) => {
            (200, json!({"data": {"deleteWorkflowRun": {"id": RUN_ID}}}))
        }
        _ => (
            400,
            json!({"statusCode": 400, "error": "BadRequestException",
                   "messages": [format!("no route for {} {}", r.method, r.path)]}),
        ),
    }
}
