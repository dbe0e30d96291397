//! The request funnel: every call to Twenty goes through [`Client::send`],
//! which adds the base URL, the key and the JSON body, waits for the
//! client-side rate limit, repeats transient failures where that is safe,
//! and turns the answer into a [`Response`] or an [`Error`].

use std::sync::Arc;
use std::time::{Duration, SystemTime};

use reqwest::Url;
use reqwest::header::{self, HeaderValue};
use serde_json::Value;
use tokio::time::Instant;
use twenty_core::Method;

use crate::config::{ClientConfig, display_base, normalize_base_url};
use crate::error::{Error, NetworkKind, excerpt};
use crate::rate::TokenBucket;
use crate::retry::{backoff, parse_retry_after};
use crate::{ApiKey, RetryPolicy};

/// How much of a body that is not Twenty's JSON goes into an error.
const EXCERPT_CHARS: usize = 200;

/// When a request may be sent again after a failure.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RetrySafety {
    /// Repeating it leaves the same state as sending it once (reads,
    /// updates, deletes): repeat on any transient failure.
    Always,
    /// Repeat only when the server surely did not act on it: the
    /// connection could not be made, or the server refused it for its rate
    /// limit. The default for `POST`.
    WhenUnprocessed,
    /// Send it once, whatever happens.
    Never,
}

impl RetrySafety {
    /// The safety of an operation of this kind: [`RetrySafety::Always`]
    /// for the idempotent ones (reads, update one, delete one, restore
    /// one), [`RetrySafety::WhenUnprocessed`] for the rest. Creates are
    /// made safe by [`Client::create_one`] and [`Client::create_many`], not
    /// by this.
    pub fn for_kind(kind: twenty_core::OperationKind) -> RetrySafety {
        if kind.is_idempotent() {
            RetrySafety::Always
        } else {
            RetrySafety::WhenUnprocessed
        }
    }
}

/// One call to the REST API.
#[derive(Debug, Clone, PartialEq)]
pub struct Request {
    /// HTTP method.
    pub method: Method,
    /// Path relative to the REST root, starting with `/`
    /// (`/workflowRuns/<uuid>`).
    pub path: String,
    /// Query parameters, in order; they are percent-encoded on sending.
    pub query: Vec<(String, String)>,
    /// JSON body, if any.
    pub body: Option<Value>,
    /// When the request may be repeated.
    pub retry: RetrySafety,
}

impl Request {
    /// A request with no query and no body. `POST` requests are repeated
    /// only when the server surely did not act on them; every other method
    /// is idempotent in Twenty's API and is repeated on any transient
    /// failure.
    pub fn new(method: Method, path: impl Into<String>) -> Request {
        let retry = match method {
            Method::Post => RetrySafety::WhenUnprocessed,
            _ => RetrySafety::Always,
        };
        Request {
            method,
            path: path.into(),
            query: Vec::new(),
            body: None,
            retry,
        }
    }

    /// Adds a query parameter.
    pub fn query(mut self, name: impl Into<String>, value: impl Into<String>) -> Request {
        self.query.push((name.into(), value.into()));
        self
    }

    /// Sets the JSON body.
    pub fn body(mut self, body: Value) -> Request {
        self.body = Some(body);
        self
    }

    /// Sets when the request may be repeated.
    pub fn retry(mut self, retry: RetrySafety) -> Request {
        self.retry = retry;
        self
    }
}

/// A successful (2xx) answer.
#[derive(Debug, Clone, PartialEq)]
pub struct Response {
    /// HTTP status.
    pub status: u16,
    /// The body, parsed.
    pub body: Value,
    /// The body as received, for printing it unchanged.
    pub text: String,
}

/// An async client for one Twenty server. Cheap to clone: clones share the
/// connection pool and the rate limit.
#[derive(Debug, Clone)]
pub struct Client {
    inner: Arc<Inner>,
}

#[derive(Debug)]
struct Inner {
    http: reqwest::Client,
    base_display: String,
    api_key: Option<ApiKey>,
    retry: RetryPolicy,
    bucket: Option<TokenBucket>,
    timeout: Duration,
}

/// What [`Client::send_noting_repeats`] returns: the result, and what
/// else the attempts found out.
#[derive(Debug)]
pub struct Sent {
    /// The answer, or the error the last attempt ended with.
    pub result: Result<Response, Error>,
    /// Whether an attempt that the server may have acted on (its answer
    /// was lost, or a 5xx came back) was followed by another.
    pub repeated_after_unknown: bool,
    /// How many times the request was sent (0 when it could not be built).
    pub attempts: u32,
}

/// One attempt's failure, before the retry decision.
struct Failure {
    error: Error,
    /// Worth trying again (429, `Limit reached`, 500, 502-504, no answer).
    transient: bool,
    retry_after: Option<Duration>,
}

impl Client {
    /// Checks the configuration and builds the client. Fails on a base URL
    /// that cannot be used or that is plain http to another machine (unless
    /// allowed).
    pub fn new(config: ClientConfig) -> Result<Client, Error> {
        let base = normalize_base_url(&config.base_url, config.allow_insecure_http)?;
        let http = reqwest::Client::builder()
            .timeout(config.timeout)
            .user_agent(concat!("twenty-rs/", env!("CARGO_PKG_VERSION")))
            // A followed redirect turns a POST into a GET and hides a base
            // URL that should be changed; report it instead.
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .map_err(|e| Error::Setup {
                cause: error_chain(&e),
            })?;
        Ok(Client {
            inner: Arc::new(Inner {
                http,
                base_display: display_base(&base),
                api_key: config.api_key,
                retry: config.retry,
                bucket: config.rate_limit.map(TokenBucket::per_minute),
                timeout: config.timeout,
            }),
        })
    }

    /// The normalized server address, without `/rest` and without a
    /// trailing slash.
    pub fn base_url(&self) -> &str {
        &self.inner.base_display
    }

    /// The retry policy this client was built with.
    pub fn retry_policy(&self) -> RetryPolicy {
        self.inner.retry
    }

    /// Sends one request to `{base}/rest{path}` and returns the answer when
    /// it is a 2xx with a JSON body.
    ///
    /// Transient failures are repeated as [`Request::retry`] allows and the
    /// retry policy limits. Every other answer becomes an [`Error`].
    pub async fn send(&self, req: Request) -> Result<Response, Error> {
        self.execute(&req).await.result
    }

    /// [`send`](Self::send), also telling whether the request was sent
    /// again after an attempt the server may have acted on.
    ///
    /// A refusal of such a repeat may be the server seeing what the lost
    /// attempt did: a delete repeated after its answer was lost finds the
    /// record gone (404). [`Client::delete_one`] counts that as success; a
    /// caller that builds its own requests reads [`Sent`] to do the same.
    pub async fn send_noting_repeats(&self, req: Request) -> Sent {
        self.execute(&req).await
    }

    /// [`send`](Self::send), also telling whether a repeat followed a
    /// failure that the server may have acted on.
    pub(crate) async fn execute(&self, req: &Request) -> Sent {
        let policy = self.inner.retry;
        let started = Instant::now();
        let url = match self.url_for(req) {
            Ok(url) => url,
            Err(error) => {
                return Sent {
                    result: Err(error),
                    repeated_after_unknown: false,
                    attempts: 0,
                };
            }
        };
        let shown = redacted_url(&url);
        let mut attempt = 0;
        // Set once a failure the server may have acted on is followed by
        // another attempt.
        let mut repeated_after_unknown = false;

        loop {
            attempt += 1;
            if let Some(bucket) = &self.inner.bucket {
                bucket.acquire().await;
            }

            let failure = match self.attempt(req, &url, &shown).await {
                Ok(response) => {
                    return Sent {
                        result: Ok(response),
                        repeated_after_unknown,
                        attempts: attempt,
                    };
                }
                Err(failure) => failure,
            };

            let safe = match req.retry {
                RetrySafety::Always => true,
                RetrySafety::WhenUnprocessed => !failure.error.outcome_unknown(),
                RetrySafety::Never => false,
            };
            let wait = failure
                .retry_after
                .unwrap_or_else(|| backoff(&policy, attempt));
            let in_budget = started.elapsed() + wait <= policy.max_total;
            if !(failure.transient && safe && attempt < policy.max_attempts && in_budget) {
                if failure.transient {
                    tracing::debug!(
                        "giving up on {} {shown} after {attempt} attempt(s): {}",
                        req.method.as_str(),
                        give_up_reason(safe, attempt, &policy, in_budget),
                    );
                }
                return Sent {
                    result: Err(finish(failure.error, attempt)),
                    repeated_after_unknown,
                    attempts: attempt,
                };
            }

            repeated_after_unknown |= failure.error.outcome_unknown();
            tracing::debug!(
                "retrying {} {shown} after {:.1}s ({}), attempt {} of {}",
                req.method.as_str(),
                wait.as_secs_f64(),
                short_reason(&failure.error),
                attempt + 1,
                policy.max_attempts,
            );
            tokio::time::sleep(wait).await;
        }
    }

    /// One round trip, with the answer classified.
    async fn attempt(&self, req: &Request, url: &Url, shown: &str) -> Result<Response, Failure> {
        let method = req.method;
        let mut builder = self.inner.http.request(wire_method(method), url.clone());
        builder = builder.header(header::ACCEPT, "application/json");
        if let Some(key) = &self.inner.api_key {
            let mut value =
                HeaderValue::from_str(&format!("Bearer {}", key.expose())).map_err(|_| {
                    Failure {
                        error: Error::InvalidApiKey {
                            reason: "the key cannot be sent in a header",
                        },
                        transient: false,
                        retry_after: None,
                    }
                })?;
            // Keeps the header out of reqwest's and hyper's Debug output.
            value.set_sensitive(true);
            builder = builder.header(header::AUTHORIZATION, value);
        }
        if let Some(body) = &req.body {
            builder = builder.json(body);
        }
        tracing::trace!(
            "sending {} {shown}{}",
            method.as_str(),
            req.body
                .as_ref()
                .map(|b| format!(" body: {}", self.redact(&b.to_string())))
                .unwrap_or_default()
        );

        let response = builder
            .send()
            .await
            .map_err(|e| self.network_failure(method, shown, &e, false))?;
        let status = response.status().as_u16();
        let location = response
            .headers()
            .get(header::LOCATION)
            .and_then(|v| v.to_str().ok())
            .map(|v| self.redact(v));
        let retry_after = response
            .headers()
            .get(header::RETRY_AFTER)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| parse_retry_after(v, SystemTime::now()));
        let text = response
            .text()
            .await
            .map_err(|e| self.network_failure(method, shown, &e, true))?;
        tracing::trace!(
            "received {status} from {} {shown}: {}",
            method.as_str(),
            self.redact(&text)
        );

        if (300..400).contains(&status) {
            let target = location.as_deref().unwrap_or("an address it did not give");
            return Err(Failure {
                error: Error::UnexpectedResponse {
                    method: Some(method),
                    url: Some(shown.to_owned()),
                    status: Some(status),
                    reason: format!(
                        "the server redirects to `{target}`; use that server's address as the \
                         base url"
                    ),
                    body: String::new(),
                },
                transient: false,
                retry_after: None,
            });
        }
        self.classify(method, shown, status, text, retry_after)
    }

    /// Turns a status and body into a response or a failure.
    fn classify(
        &self,
        method: Method,
        shown: &str,
        status: u16,
        text: String,
        retry_after: Option<Duration>,
    ) -> Result<Response, Failure> {
        let parsed: Option<Value> = serde_json::from_str(&text).ok();
        let unexpected = |reason: &str| Error::UnexpectedResponse {
            method: Some(method),
            url: Some(shown.to_owned()),
            status: Some(status),
            reason: reason.to_owned(),
            body: excerpt(&self.redact(&text), EXCERPT_CHARS),
        };
        let fail = |error: Error, transient: bool| Failure {
            error,
            transient,
            retry_after,
        };

        if let Some(errors) = parsed.as_ref().and_then(graphql_errors) {
            // A GraphQL-style answer on a REST path means something other
            // than the REST API answered: usually a wrong base URL.
            let reason = format!("a GraphQL-style error came back ({errors}), not a REST answer");
            return Err(fail(unexpected(&reason), false));
        }

        if (200..300).contains(&status) {
            return match parsed {
                Some(body) => Ok(Response { status, body, text }),
                None if text.trim().is_empty() => Err(fail(unexpected("the body is empty"), false)),
                None => Err(fail(unexpected("the body is not json"), false)),
            };
        }

        let messages = parsed
            .as_ref()
            .and_then(error_messages)
            .map(|m| m.into_iter().map(|s| self.redact(&s)).collect::<Vec<_>>());
        let url = shown.to_owned();
        // A 500 is often a passing failure (a deadlock, a lost database
        // connection), and Twenty answers the requests it refuses with 400,
        // so a 500 is repeated too, but only where repeating is safe: it
        // leaves the outcome unknown, so a create is read back instead.
        let transient_status = matches!(status, 500 | 502..=504);

        // Proxies answer 401/403/429/5xx with their own pages, so these
        // statuses mean what they say whatever the body is.
        let any_body_messages = || {
            messages.clone().unwrap_or_else(|| {
                let cut = excerpt(&self.redact(&text), EXCERPT_CHARS);
                if cut.is_empty() { vec![] } else { vec![cut] }
            })
        };
        match status {
            401 | 403 => {
                return Err(fail(
                    Error::Auth {
                        method,
                        url,
                        status,
                        messages: any_body_messages(),
                        key_sent: self.inner.api_key.is_some(),
                    },
                    false,
                ));
            }
            429 => {
                return Err(fail(
                    Error::RateLimited {
                        method,
                        url,
                        status,
                        attempts: 1,
                        retry_after,
                        messages: any_body_messages(),
                    },
                    true,
                ));
            }
            500..=599 => {
                return Err(fail(
                    Error::Server {
                        method,
                        url,
                        status,
                        messages: any_body_messages(),
                    },
                    transient_status,
                ));
            }
            _ => {}
        }

        let Some(messages) = messages else {
            return Err(fail(
                unexpected("the body is not Twenty's error json"),
                false,
            ));
        };
        let says = |needle: &str| messages.iter().any(|m| m.contains(needle));
        if status == 400 && messages.iter().any(|m| m.starts_with("Limit reached")) {
            return Err(fail(
                Error::RateLimited {
                    method,
                    url,
                    status,
                    attempts: 1,
                    retry_after,
                    messages,
                },
                true,
            ));
        }
        if status == 404
            || (status == 400
                && (says("Record not found")
                    || says("EntityNotFoundError")
                    || says("Could not find any entity")))
        {
            return Err(fail(
                Error::NotFound {
                    method,
                    url,
                    status,
                    messages,
                },
                false,
            ));
        }
        Err(fail(
            Error::BadRequest {
                method,
                url,
                status,
                messages,
            },
            false,
        ))
    }

    fn network_failure(
        &self,
        method: Method,
        shown: &str,
        error: &reqwest::Error,
        reading_body: bool,
    ) -> Failure {
        let kind = if error.is_timeout() {
            NetworkKind::Timeout
        } else if error.is_connect() && !reading_body {
            NetworkKind::Connect
        } else {
            NetworkKind::Interrupted
        };
        let cause = match kind {
            NetworkKind::Timeout => {
                format!("no answer within {:.1}s", self.inner.timeout.as_secs_f64())
            }
            _ => self.redact(&root_cause(error)),
        };
        Failure {
            error: Error::Network {
                method,
                url: shown.to_owned(),
                cause,
                kind,
                attempts: 1,
            },
            transient: true,
            retry_after: None,
        }
    }

    fn url_for(&self, req: &Request) -> Result<Url, Error> {
        if !req.path.starts_with('/') {
            return Err(Error::InvalidInput {
                reason: format!(
                    "request path `{}` must start with `/` (it is relative to {}/rest)",
                    req.path, self.inner.base_display
                ),
            });
        }
        let joined = format!("{}/rest{}", self.inner.base_display, req.path);
        let mut url = Url::parse(&joined).map_err(|e| Error::InvalidInput {
            reason: format!("request path `{}` does not make a valid url: {e}", req.path),
        })?;
        if !req.query.is_empty() {
            url.query_pairs_mut().extend_pairs(&req.query);
        }
        Ok(url)
    }

    /// Removes the key from text that came from elsewhere (a server
    /// message, a body), in case a server echoes it.
    pub(crate) fn redact(&self, text: &str) -> String {
        match &self.inner.api_key {
            Some(key) if text.contains(key.expose()) => text.replace(key.expose(), "[redacted]"),
            _ => text.to_owned(),
        }
    }

    /// Used by the create protocol, which runs its own loop around
    /// [`Client::execute`].
    pub(crate) async fn pause(&self, attempt: u32) {
        tokio::time::sleep(backoff(&self.inner.retry, attempt)).await;
    }
}

fn wire_method(method: Method) -> reqwest::Method {
    match method {
        Method::Get => reqwest::Method::GET,
        Method::Post => reqwest::Method::POST,
        Method::Put => reqwest::Method::PUT,
        Method::Patch => reqwest::Method::PATCH,
        Method::Delete => reqwest::Method::DELETE,
    }
}

/// The URL as it may be shown: v1.0 servers accepted the key as a `token`
/// query parameter, so such a value is hidden.
fn redacted_url(url: &Url) -> String {
    if !url.query_pairs().any(|(k, _)| k == "token") {
        return url.to_string();
    }
    let mut shown = url.clone();
    let pairs: Vec<(String, String)> = url
        .query_pairs()
        .map(|(k, v)| {
            let v = if k == "token" {
                "[redacted]".into()
            } else {
                v.into_owned()
            };
            (k.into_owned(), v)
        })
        .collect();
    shown.query_pairs_mut().clear().extend_pairs(pairs);
    shown.to_string()
}

/// Twenty's `messages` array, or a NestJS `message` string or array.
fn error_messages(body: &Value) -> Option<Vec<String>> {
    let obj = body.as_object()?;
    let from = |v: &Value| -> Option<Vec<String>> {
        match v {
            Value::String(s) => Some(vec![s.clone()]),
            Value::Array(items) => Some(
                items
                    .iter()
                    .map(|m| m.as_str().map_or_else(|| m.to_string(), str::to_owned))
                    .collect(),
            ),
            _ => None,
        }
    };
    obj.get("messages")
        .and_then(from)
        .or_else(|| obj.get("message").and_then(from))
        .or_else(|| {
            // Twenty's envelope without messages still names the error.
            obj.get("statusCode")?;
            Some(obj.get("error").and_then(from).unwrap_or_default())
        })
}

/// The messages of a `{"errors":[...]}` body without `data`.
fn graphql_errors(body: &Value) -> Option<String> {
    let obj = body.as_object()?;
    if obj.contains_key("data") || obj.contains_key("messages") {
        return None;
    }
    let errors = obj.get("errors")?.as_array()?;
    let texts: Vec<String> = errors
        .iter()
        .map(|e| {
            e.get("message")
                .and_then(Value::as_str)
                .map_or_else(|| e.to_string(), str::to_owned)
        })
        .collect();
    Some(excerpt(&texts.join("; "), EXCERPT_CHARS))
}

/// Marks how many attempts a final error took, where the error says so.
pub(crate) fn finish(error: Error, attempts: u32) -> Error {
    match error {
        Error::Network {
            method,
            url,
            cause,
            kind,
            ..
        } => Error::Network {
            method,
            url,
            cause,
            kind,
            attempts,
        },
        Error::RateLimited {
            method,
            url,
            status,
            retry_after,
            messages,
            ..
        } => Error::RateLimited {
            method,
            url,
            status,
            attempts,
            retry_after,
            messages,
        },
        other => other,
    }
}

fn short_reason(error: &Error) -> String {
    match error {
        Error::Network { cause, .. } => cause.clone(),
        other => other
            .status()
            .map_or_else(|| "error".to_owned(), |s| s.to_string()),
    }
}

fn give_up_reason(safe: bool, attempt: u32, policy: &RetryPolicy, in_budget: bool) -> String {
    if !safe {
        "the request is not safe to repeat".into()
    } else if attempt >= policy.max_attempts {
        format!("{} attempts allowed", policy.max_attempts)
    } else if !in_budget {
        format!("the next wait would pass the {:?} budget", policy.max_total)
    } else {
        "the failure is not transient".into()
    }
}

/// The innermost cause, lowercased, such as `connection refused (os error
/// 111)`: the outer layers only repeat the URL.
fn root_cause(error: &(dyn std::error::Error + 'static)) -> String {
    let mut current = error;
    while let Some(next) = current.source() {
        current = next;
    }
    lowercase_first(&current.to_string())
}

fn error_chain(error: &(dyn std::error::Error + 'static)) -> String {
    let mut parts = vec![error.to_string()];
    let mut current = error;
    while let Some(next) = current.source() {
        parts.push(next.to_string());
        current = next;
    }
    parts.join(": ")
}

fn lowercase_first(text: &str) -> String {
    let mut chars = text.chars();
    match chars.next() {
        Some(first) => first.to_lowercase().chain(chars).collect(),
        None => String::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn twenty_and_nest_error_bodies_give_their_messages() {
        let twenty = json!({"statusCode": 400, "error": "BadRequestException",
            "messages": ["Record not found"]});
        assert_eq!(error_messages(&twenty).unwrap(), ["Record not found"]);
        let nest = json!({"statusCode": 404, "message": "Cannot GET /rest/rest/people",
            "error": "Not Found"});
        assert_eq!(
            error_messages(&nest).unwrap(),
            ["Cannot GET /rest/rest/people"]
        );
        assert_eq!(error_messages(&json!({"foo": 1})), None);
        assert_eq!(
            graphql_errors(&json!({"errors": [{"message": "Cannot query field"}]})).unwrap(),
            "Cannot query field"
        );
        assert_eq!(graphql_errors(&json!({"data": {}, "errors": []})), None);
    }

    #[test]
    fn token_query_parameters_are_hidden() {
        let url = Url::parse("https://x.org/rest/open-api/core?token=abc&x=1").unwrap();
        let shown = redacted_url(&url);
        assert!(!shown.contains("abc"), "{shown}");
        assert!(shown.contains("x=1"));
    }
}
