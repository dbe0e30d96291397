//! A tiny HTTP server on 127.0.0.1:0 for the client's tests: it records
//! every request it receives and answers what the test scripted, so tests
//! can assert on exactly what went over the wire.
#![allow(dead_code)]

use std::collections::VecDeque;
use std::sync::{Arc, Mutex, Once};
use std::time::Duration;

use axum::Router;
use axum::body::{Body, Bytes};
use axum::extract::State;
use axum::http::{HeaderMap, Method, StatusCode, Uri};
use axum::response::Response;
use serde_json::Value;
use twenty_client::{ApiKey, Client, ClientConfig, RetryPolicy};
use twenty_core::Object;

/// The message of the panic that makes the server drop a connection; the
/// panic hook keeps it out of the test output.
const DROP_MARKER: &str = "test server drops the connection";

/// A request as the server saw it.
#[derive(Debug, Clone)]
pub struct Recorded {
    pub method: String,
    pub path: String,
    pub query: Option<String>,
    pub headers: HeaderMap,
    pub body: String,
}

impl Recorded {
    /// The decoded query parameters, in order.
    pub fn query_pairs(&self) -> Vec<(String, String)> {
        let Some(query) = &self.query else {
            return Vec::new();
        };
        let url = reqwest::Url::parse(&format!("http://x/?{query}")).expect("query parses");
        url.query_pairs()
            .map(|(k, v)| (k.into_owned(), v.into_owned()))
            .collect()
    }

    /// The value of one query parameter.
    pub fn param(&self, name: &str) -> Option<String> {
        self.query_pairs()
            .into_iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v)
    }

    /// The body parsed as JSON.
    pub fn json(&self) -> Value {
        serde_json::from_str(&self.body).expect("request body is json")
    }

    /// A header's value.
    pub fn header(&self, name: &str) -> Option<String> {
        self.headers
            .get(name)
            .map(|v| v.to_str().expect("ascii header").to_owned())
    }
}

/// What the server answers.
#[derive(Debug, Clone)]
pub enum Reply {
    /// A status, a body sent as is, and headers.
    Body {
        status: u16,
        body: String,
        headers: Vec<(String, String)>,
    },
    /// Close the connection without answering.
    Drop,
    /// Wait, then answer.
    Delay(Duration, Box<Reply>),
}

impl Reply {
    pub fn json(status: u16, body: Value) -> Reply {
        Reply::Body {
            status,
            body: body.to_string(),
            headers: vec![("content-type".into(), "application/json".into())],
        }
    }

    pub fn text(status: u16, body: &str) -> Reply {
        Reply::Body {
            status,
            body: body.to_owned(),
            headers: vec![("content-type".into(), "text/html".into())],
        }
    }

    /// Twenty's error envelope.
    pub fn error(status: u16, message: &str) -> Reply {
        Reply::json(
            status,
            serde_json::json!({
                "statusCode": status,
                "error": "BadRequestException",
                "messages": [message],
            }),
        )
    }

    pub fn header(mut self, name: &str, value: &str) -> Reply {
        if let Reply::Body { headers, .. } = &mut self {
            headers.push((name.into(), value.into()));
        }
        self
    }
}

type Handler = dyn Fn(&Recorded) -> Reply + Send + Sync;

#[derive(Clone)]
struct AppState {
    requests: Arc<Mutex<Vec<Recorded>>>,
    handler: Arc<Handler>,
}

/// A running test server.
pub struct TestServer {
    /// `http://127.0.0.1:<port>`
    pub base: String,
    requests: Arc<Mutex<Vec<Recorded>>>,
}

impl TestServer {
    /// Answers the replies in order; once they are used up, a 500 that
    /// makes the test fail loudly.
    pub async fn scripted(replies: Vec<Reply>) -> TestServer {
        let queue = Mutex::new(VecDeque::from(replies));
        TestServer::with(move |_| {
            queue
                .lock()
                .unwrap()
                .pop_front()
                .unwrap_or_else(|| Reply::error(500, "test script exhausted"))
        })
        .await
    }

    /// Answers whatever `handler` returns for each request.
    pub async fn with(handler: impl Fn(&Recorded) -> Reply + Send + Sync + 'static) -> TestServer {
        quiet_drop_panics();
        let requests = Arc::new(Mutex::new(Vec::new()));
        let state = AppState {
            requests: requests.clone(),
            handler: Arc::new(handler),
        };
        let app = Router::new().fallback(answer).with_state(state);
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind 127.0.0.1:0");
        let addr = listener.local_addr().expect("local addr");
        tokio::spawn(async move {
            axum::serve(listener, app).await.expect("test server runs");
        });
        TestServer {
            base: format!("http://{addr}"),
            requests,
        }
    }

    /// Every request received so far.
    pub fn requests(&self) -> Vec<Recorded> {
        self.requests.lock().unwrap().clone()
    }

    /// A client for this server with `key` and quick retries.
    pub fn client(&self, key: Option<&str>) -> Client {
        Client::new(self.config(key)).expect("client builds")
    }

    /// The configuration [`TestServer::client`] uses.
    pub fn config(&self, key: Option<&str>) -> ClientConfig {
        let mut config = ClientConfig::new(format!("{}/rest/", self.base));
        config.api_key = key.map(|k| ApiKey::new(k).expect("valid test key"));
        config.retry = quick_retries();
        config.timeout = Duration::from_secs(5);
        config
    }
}

/// Retries fast enough for tests.
pub fn quick_retries() -> RetryPolicy {
    RetryPolicy {
        max_attempts: 4,
        base_delay: Duration::from_millis(5),
        max_delay: Duration::from_millis(20),
        max_total: Duration::from_secs(5),
    }
}

async fn answer(
    State(state): State<AppState>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let recorded = Recorded {
        method: method.to_string(),
        path: uri.path().to_owned(),
        query: uri.query().map(str::to_owned),
        headers,
        body: String::from_utf8_lossy(&body).into_owned(),
    };
    state.requests.lock().unwrap().push(recorded.clone());
    let mut reply = (state.handler)(&recorded);
    loop {
        match reply {
            Reply::Delay(wait, next) => {
                tokio::time::sleep(wait).await;
                reply = *next;
            }
            Reply::Drop => {
                // Unwinding out of the connection's task is the simplest way
                // to close the socket after the request was read and acted on.
                panic!("{DROP_MARKER}");
            }
            Reply::Body {
                status,
                body,
                headers,
            } => {
                let mut response =
                    Response::builder().status(StatusCode::from_u16(status).unwrap());
                for (name, value) in headers {
                    response = response.header(name, value);
                }
                return response.body(Body::from(body)).unwrap();
            }
        }
    }
}

fn quiet_drop_panics() {
    static ONCE: Once = Once::new();
    ONCE.call_once(|| {
        let default = std::panic::take_hook();
        std::panic::set_hook(Box::new(move |info| {
            let message = info
                .payload()
                .downcast_ref::<String>()
                .map(String::as_str)
                .or_else(|| info.payload().downcast_ref::<&str>().copied())
                .unwrap_or_default();
            if !message.contains(DROP_MARKER) {
                default(info);
            }
        }));
    });
}

/// The `person` object with the standard operations, enough for the record
/// helpers (they only use the names).
pub fn person() -> Object {
    Object {
        singular: "person".into(),
        plural: "people".into(),
        description: None,
        fields: vec![],
        operations: vec![],
    }
}

/// A `workflowRun`, whose Pascal-case names show the envelope keys.
pub fn workflow_run() -> Object {
    Object {
        singular: "workflowRun".into(),
        plural: "workflowRuns".into(),
        description: None,
        fields: vec![],
        operations: vec![],
    }
}
