//! Everything that can go wrong talking to Twenty, sorted by what the user
//! can do about it, with the process exit code each case maps to.
//!
//! The exit codes are a contract shared with the `twenty` binary and with
//! scripts that call it: 0 success, 1 other, 2 invalid input,
//! 3 authentication or permission, 4 network, 5 rate limited after
//! retries, 6 not found.
//!
//! No variant ever holds the API key: requests are rendered as method and
//! URL only, and text the server sends back is scrubbed of the key before
//! it is stored here.

use std::fmt::Write as _;
use std::time::Duration;

use twenty_core::Method;

/// Exit code for success.
pub const EXIT_OK: i32 = 0;
/// Exit code for a failure that fits no other code.
pub const EXIT_OTHER: i32 = 1;
/// Exit code for input the client or the server refused.
pub const EXIT_INVALID_INPUT: i32 = 2;
/// Exit code for a rejected or missing API key, or a missing permission.
pub const EXIT_AUTH: i32 = 3;
/// Exit code for a server that could not be reached or did not answer.
pub const EXIT_NETWORK: i32 = 4;
/// Exit code for a server that kept refusing because of its rate limit.
pub const EXIT_RATE_LIMITED: i32 = 5;
/// Exit code for a record or route that does not exist.
pub const EXIT_NOT_FOUND: i32 = 6;

const KEY_HINT: &str = "set `ClientConfig::api_key`; keys are made in Twenty under \
    Settings > APIs & Webhooks";

const REJECTED_KEY_HINT: &str = "check `ClientConfig::api_key`: the key may be mistyped, \
    expired or revoked; keys are made in Twenty under Settings > APIs & Webhooks";

/// How a request failed to get an answer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NetworkKind {
    /// No connection could be made, so the server never saw the request.
    Connect,
    /// No complete answer came within the timeout; the server may have
    /// acted on the request.
    Timeout,
    /// The connection broke after the request was sent; the server may
    /// have acted on it.
    Interrupted,
}

/// A failed call to Twenty, or a configuration the client refuses.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The base URL cannot be used. Exit code 2.
    #[error("invalid base url `{url}`: {reason}")]
    InvalidBaseUrl {
        /// The URL as given (never holds credentials: those are refused).
        url: String,
        /// What is wrong with it.
        reason: String,
    },

    /// The base URL is plain `http://` to a host that is not this machine,
    /// which would send the API key in clear text. Exit code 2.
    #[error("refusing to send the api key over plain http to `{url}`")]
    InsecureHttp {
        /// The normalized base URL.
        url: String,
    },

    /// The API key is empty or cannot go into a header. Exit code 2.
    #[error("invalid api key: {reason}")]
    InvalidApiKey {
        /// What is wrong with it (never the key itself).
        reason: &'static str,
    },

    /// A value given to a client method cannot be sent. Exit code 2.
    #[error("invalid input: {reason}")]
    InvalidInput {
        /// What is wrong and where.
        reason: String,
    },

    /// The server answered 401 or 403. Exit code 3.
    #[error("{}", auth_message(*.method, url, *.status, messages, *.key_sent))]
    Auth {
        /// Method of the refused request.
        method: Method,
        /// URL of the refused request.
        url: String,
        /// 401 or 403.
        status: u16,
        /// The server's messages (`Token invalid.`).
        messages: Vec<String>,
        /// Whether an API key was sent at all.
        key_sent: bool,
    },

    /// The record or route does not exist (404, or a 400 saying so).
    /// Exit code 6.
    #[error(
        "not found: {} {url} returned {status}{}",
        .method.as_str(),
        server_says(messages)
    )]
    NotFound {
        /// Method of the request.
        method: Method,
        /// URL of the request.
        url: String,
        /// 404 or 400.
        status: u16,
        /// The server's messages (`Record not found`).
        messages: Vec<String>,
    },

    /// The server refused the request as invalid (400 and other 4xx).
    /// Exit code 2.
    #[error(
        "bad request: {} {url} returned {status}{}",
        .method.as_str(),
        server_says(messages)
    )]
    BadRequest {
        /// Method of the request.
        method: Method,
        /// URL of the request.
        url: String,
        /// The status, usually 400.
        status: u16,
        /// The server's messages, which say what to fix.
        messages: Vec<String>,
    },

    /// The server kept answering 429 (or 400 `Limit reached`) until the
    /// retry policy gave up. Exit code 5.
    #[error(
        "rate limited: {} {url} returned {status} after {attempts} attempt{}{}",
        .method.as_str(),
        if *.attempts == 1 { "" } else { "s" },
        server_says(messages)
    )]
    RateLimited {
        /// Method of the request.
        method: Method,
        /// URL of the request.
        url: String,
        /// 429 or 400.
        status: u16,
        /// How many times the request was sent.
        attempts: u32,
        /// What the last answer's `Retry-After` asked for, if anything.
        retry_after: Option<Duration>,
        /// The server's messages.
        messages: Vec<String>,
    },

    /// The server failed (5xx) and retries, where allowed, did not help.
    /// Exit code 1.
    #[error(
        "server error: {} {url} returned {status}{}",
        .method.as_str(),
        server_says(messages)
    )]
    Server {
        /// Method of the request.
        method: Method,
        /// URL of the request.
        url: String,
        /// The 5xx status.
        status: u16,
        /// The server's messages, or the start of its body.
        messages: Vec<String>,
    },

    /// No answer: the server could not be reached, did not answer in time,
    /// or broke the connection. Exit code 4.
    #[error(
        "network error: {} {url} failed after {attempts} attempt{}: {cause}",
        .method.as_str(),
        if *.attempts == 1 { "" } else { "s" }
    )]
    Network {
        /// Method of the request.
        method: Method,
        /// URL of the request.
        url: String,
        /// What happened to the last attempt, such as `connection refused`
        /// or `no answer within 30.0s`.
        cause: String,
        /// Whether the server may have seen the request.
        kind: NetworkKind,
        /// How many times the request was sent; with a timeout, each
        /// attempt waited that long.
        attempts: u32,
    },

    /// The answer is not what Twenty sends: HTML, a GraphQL-style error,
    /// an empty body, or JSON without the expected key. Exit code 1.
    #[error("{}", unexpected_message(*.method, url.as_deref(), *.status, reason, body))]
    UnexpectedResponse {
        /// Method of the request, when known.
        method: Option<Method>,
        /// URL of the request, when known.
        url: Option<String>,
        /// HTTP status, when known.
        status: Option<u16>,
        /// What was expected and not found, naming the JSON path.
        reason: String,
        /// The start of the body (about 200 characters), empty when not
        /// relevant.
        body: String,
    },

    /// The HTTP client could not be set up (TLS initialisation). Exit
    /// code 1.
    #[error("failed to set up the http client: {cause}")]
    Setup {
        /// What failed.
        cause: String,
    },
}

impl Error {
    /// The process exit code for this error (see the module docs).
    pub fn exit_code(&self) -> i32 {
        match self {
            Self::InvalidBaseUrl { .. }
            | Self::InsecureHttp { .. }
            | Self::InvalidApiKey { .. }
            | Self::InvalidInput { .. }
            | Self::BadRequest { .. } => EXIT_INVALID_INPUT,
            Self::Auth { .. } => EXIT_AUTH,
            Self::Network { .. } => EXIT_NETWORK,
            Self::RateLimited { .. } => EXIT_RATE_LIMITED,
            Self::NotFound { .. } => EXIT_NOT_FOUND,
            Self::Server { .. } | Self::UnexpectedResponse { .. } | Self::Setup { .. } => {
                EXIT_OTHER
            }
        }
    }

    /// What the caller can do about it, when there is something to say.
    ///
    /// The hints speak of [`ClientConfig`](crate::ClientConfig) settings;
    /// a program built on this crate that has its own names for them
    /// (flags, variables) renders its own hints for those cases.
    pub fn hint(&self) -> Option<String> {
        Some(match self {
            Self::InvalidBaseUrl { .. } => {
                "give the server's address, such as https://crm.example.com".into()
            }
            Self::InsecureHttp { .. } => "use https://, or set \
                 `ClientConfig::allow_insecure_http` if the network is trusted"
                .into(),
            Self::Auth { key_sent: true, .. } => REJECTED_KEY_HINT.into(),
            Self::InvalidApiKey { .. } | Self::Auth { .. } => KEY_HINT.into(),
            Self::NotFound { messages, .. }
                if messages.iter().any(|m| m.starts_with("Cannot ")) =>
            {
                "the server has no such route: check the base url".into()
            }
            Self::RateLimited { retry_after, .. } => {
                let wait = retry_after
                    .map(|d| format!("the server asked to wait {}s; ", d.as_secs()))
                    .unwrap_or_default();
                format!(
                    "{wait}Twenty allows about 100 requests per minute per workspace: \
                     wait a minute, or set a lower `ClientConfig::rate_limit`"
                )
            }
            Self::Network {
                kind: NetworkKind::Timeout,
                ..
            } => "the server did not answer in time: try again later, or raise \
                  `ClientConfig::timeout` (it applies to each attempt)"
                .into(),
            Self::Network { .. } => {
                "check that the server is running and reachable, and that the base url is right"
                    .into()
            }
            Self::UnexpectedResponse { .. } => "this may be a wrong base url: give the \
                 server's address without a path, such as https://crm.example.com"
                .into(),
            _ => return None,
        })
    }

    /// The server's messages, for the variants that carry them.
    pub fn messages(&self) -> &[String] {
        match self {
            Self::Auth { messages, .. }
            | Self::NotFound { messages, .. }
            | Self::BadRequest { messages, .. }
            | Self::RateLimited { messages, .. }
            | Self::Server { messages, .. } => messages,
            _ => &[],
        }
    }

    /// The HTTP status of the answer, when there was one.
    pub fn status(&self) -> Option<u16> {
        match self {
            Self::Auth { status, .. }
            | Self::NotFound { status, .. }
            | Self::BadRequest { status, .. }
            | Self::RateLimited { status, .. }
            | Self::Server { status, .. } => Some(*status),
            Self::UnexpectedResponse { status, .. } => *status,
            _ => None,
        }
    }

    /// Whether the server may have acted on the request although no
    /// answer arrived: a broken connection after sending, a timeout, or a
    /// 5xx from the server or a proxy in front of it.
    pub fn outcome_unknown(&self) -> bool {
        match self {
            Self::Network { kind, .. } => *kind != NetworkKind::Connect,
            Self::Server { .. } => true,
            _ => false,
        }
    }
}

fn server_says(messages: &[String]) -> String {
    if messages.is_empty() {
        String::new()
    } else {
        format!(": {}", messages.join("; "))
    }
}

fn auth_message(
    method: Method,
    url: &str,
    status: u16,
    messages: &[String],
    key_sent: bool,
) -> String {
    let what = if key_sent {
        "the api key was rejected by"
    } else {
        "no api key was given for"
    };
    format!(
        "authentication failed: {what} {} {url} ({status}){}",
        method.as_str(),
        server_says(messages)
    )
}

fn unexpected_message(
    method: Option<Method>,
    url: Option<&str>,
    status: Option<u16>,
    reason: &str,
    body: &str,
) -> String {
    let mut out = String::from("unexpected response");
    if let (Some(method), Some(url)) = (method, url) {
        let _ = write!(out, " from {} {url}", method.as_str());
    }
    if let Some(status) = status {
        let _ = write!(out, " (status {status})");
    }
    let _ = write!(out, ": {reason}");
    if !body.is_empty() {
        let _ = write!(out, "; body: {body}");
    }
    out
}

/// The first `max` characters of `text`, with an ellipsis when cut, on
/// one line.
pub(crate) fn excerpt(text: &str, max: usize) -> String {
    let flat: String = text
        .trim()
        .chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect();
    match flat.char_indices().nth(max) {
        Some((cut, _)) => format!("{}...", &flat[..cut]),
        None => flat,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn excerpt_cuts_long_bodies_on_a_char_boundary() {
        assert_eq!(excerpt("  short\n", 200), "short");
        let long = "é".repeat(300);
        let cut = excerpt(&long, 200);
        assert_eq!(cut.chars().count(), 203);
        assert!(cut.ends_with("..."));
    }

    #[test]
    fn exit_codes_follow_the_contract() {
        let auth = Error::Auth {
            method: Method::Get,
            url: "https://x/rest/people".into(),
            status: 401,
            messages: vec!["Token invalid.".into()],
            key_sent: true,
        };
        assert_eq!(auth.exit_code(), 3);
        assert_eq!(
            auth.to_string(),
            "authentication failed: the api key was rejected by GET \
             https://x/rest/people (401): Token invalid."
        );
        let net = Error::Network {
            method: Method::Post,
            url: "u".into(),
            cause: "connection refused".into(),
            kind: NetworkKind::Connect,
            attempts: 1,
        };
        assert_eq!(net.exit_code(), 4);
        assert!(!net.outcome_unknown());
        assert_eq!(
            net.to_string(),
            "network error: POST u failed after 1 attempt: connection refused"
        );
    }
}
