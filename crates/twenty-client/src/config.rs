//! How a [`Client`](crate::Client) is set up: where the server is, which
//! key to send, and how hard to try.
//!
//! Users paste base URLs and keys in many shapes (`.../rest/`, a key with
//! a trailing newline or `Bearer ` in front); this module accepts those
//! and normalizes them once, so the request path never has to.

use std::fmt;
use std::time::Duration;

use reqwest::Url;

use crate::Error;

/// An API key. Its `Debug` and `Display` print `[redacted]`, so it can sit
/// in structs that are logged or printed.
#[derive(Clone, PartialEq, Eq)]
pub struct ApiKey(String);

impl ApiKey {
    /// Takes a key as pasted: surrounding whitespace and newlines and a
    /// leading `Bearer ` (in any case) are removed.
    ///
    /// Fails with [`Error::InvalidApiKey`] when nothing is left or the key
    /// holds characters a header cannot carry.
    pub fn new(raw: impl AsRef<str>) -> Result<ApiKey, Error> {
        let mut key = raw.as_ref().trim();
        // `Bearer` alone, or followed by whitespace, is the scheme pasted
        // along with the key.
        if key.len() >= 6
            && key.is_char_boundary(6)
            && key[..6].eq_ignore_ascii_case("bearer")
            && key[6..].chars().next().is_none_or(char::is_whitespace)
        {
            key = key[6..].trim();
        }
        if key.is_empty() {
            return Err(Error::InvalidApiKey {
                reason: "the key is empty",
            });
        }
        if key.chars().any(|c| c.is_whitespace() || c.is_control()) {
            return Err(Error::InvalidApiKey {
                reason: "the key contains spaces or control characters; paste only the key",
            });
        }
        if !key.is_ascii() {
            return Err(Error::InvalidApiKey {
                reason: "the key contains characters that are not ascii; paste only the key",
            });
        }
        Ok(ApiKey(key.to_owned()))
    }

    /// The key itself, for the one place that builds the header.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl std::str::FromStr for ApiKey {
    type Err = Error;

    /// Same as [`ApiKey::new`], for command-line parsers.
    fn from_str(raw: &str) -> Result<ApiKey, Error> {
        ApiKey::new(raw)
    }
}

impl fmt::Debug for ApiKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("[redacted]")
    }
}

impl fmt::Display for ApiKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("[redacted]")
    }
}

/// When and how long to wait before sending a failed request again.
///
/// Waits grow exponentially from `base_delay`, capped at `max_delay`, with
/// full jitter; a server's `Retry-After` replaces the computed wait.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RetryPolicy {
    /// How many times a request may be sent in all, the first time
    /// included. 1 means no retries.
    pub max_attempts: u32,
    /// The cap of the first wait; it doubles with each attempt.
    pub base_delay: Duration,
    /// The largest computed wait.
    pub max_delay: Duration,
    /// The time budget for one call, retries and waits included: no retry
    /// starts that would end its wait after this much time.
    pub max_total: Duration,
}

impl RetryPolicy {
    /// Send every request once, never again.
    pub fn none() -> RetryPolicy {
        RetryPolicy {
            max_attempts: 1,
            ..RetryPolicy::default()
        }
    }
}

impl Default for RetryPolicy {
    /// 5 attempts, 200 ms base, 10 s largest wait, 60 s budget.
    fn default() -> RetryPolicy {
        RetryPolicy {
            max_attempts: 5,
            base_delay: Duration::from_millis(200),
            max_delay: Duration::from_secs(10),
            max_total: Duration::from_secs(60),
        }
    }
}

/// Everything a [`Client`](crate::Client) needs to know.
#[derive(Debug, Clone)]
pub struct ClientConfig {
    /// The server's address, such as `https://crm.example.com`. A trailing
    /// `/rest` or `/rest/` (or a whole endpoint URL under it) is accepted
    /// and removed.
    pub base_url: String,
    /// The key sent as `Authorization: Bearer <key>`; `None` sends no
    /// header, which only the OpenAPI document endpoint accepts.
    pub api_key: Option<ApiKey>,
    /// Allow plain `http://` to a host that is not this machine. Off by
    /// default, because the key would cross the network in clear text.
    pub allow_insecure_http: bool,
    /// How failed requests are repeated.
    pub retry: RetryPolicy,
    /// Requests per minute this client (and all its clones together) may
    /// send; `None` sends as fast as answers come.
    pub rate_limit: Option<u32>,
    /// How long one attempt may take, from connecting to the end of the
    /// body.
    pub timeout: Duration,
}

impl ClientConfig {
    /// A configuration for `base_url` with no key, default retries, no
    /// client-side rate limit and a 30 second timeout.
    pub fn new(base_url: impl Into<String>) -> ClientConfig {
        ClientConfig {
            base_url: base_url.into(),
            api_key: None,
            allow_insecure_http: false,
            retry: RetryPolicy::default(),
            rate_limit: None,
            timeout: Duration::from_secs(30),
        }
    }
}

impl Default for ClientConfig {
    /// [`ClientConfig::new`] with an empty base URL, for struct update
    /// syntax; [`Client::new`](crate::Client::new) refuses it until
    /// `base_url` is set.
    fn default() -> ClientConfig {
        ClientConfig::new("")
    }
}

/// Turns what the user gave into `scheme://host[:port][/prefix]` with no
/// trailing slash and no `/rest`, checking that the key would not travel in
/// clear text.
pub(crate) fn normalize_base_url(raw: &str, allow_insecure_http: bool) -> Result<Url, Error> {
    let given = raw.trim();
    let invalid = |reason: &str| Error::InvalidBaseUrl {
        url: given.to_owned(),
        reason: reason.to_owned(),
    };
    if given.is_empty() {
        return Err(invalid("the url is empty"));
    }
    if !given.contains("://") {
        return Err(invalid(&format!(
            "it has no scheme; did you mean `https://{given}`?"
        )));
    }
    let mut url = Url::parse(given).map_err(|e| invalid(&e.to_string()))?;
    if !matches!(url.scheme(), "http" | "https") {
        return Err(invalid("only http:// and https:// are supported"));
    }
    if url.host_str().is_none_or(str::is_empty) {
        return Err(invalid("it names no host"));
    }
    if !url.username().is_empty() || url.password().is_some() {
        // Refuse rather than strip: a credential in the URL would otherwise
        // end up in every error message that renders it.
        return Err(Error::InvalidBaseUrl {
            url: "(not shown: it contains credentials)".into(),
            reason: "credentials in the url are not supported; give the api key separately".into(),
        });
    }

    // Keep any prefix a reverse proxy adds, but drop `/rest` and whatever
    // endpoint path was pasted after it.
    let segments: Vec<String> = url
        .path_segments()
        .map(|s| {
            s.take_while(|seg| *seg != "rest")
                .filter(|seg| !seg.is_empty())
                .map(str::to_owned)
                .collect()
        })
        .unwrap_or_default();
    url.set_path(&segments.join("/"));
    url.set_query(None);
    url.set_fragment(None);

    if url.scheme() == "http" && !allow_insecure_http && !is_loopback(&url) {
        return Err(Error::InsecureHttp {
            url: display_base(&url),
        });
    }
    Ok(url)
}

fn is_loopback(url: &Url) -> bool {
    let host = url.host_str().unwrap_or_default();
    let bare = host.trim_start_matches('[').trim_end_matches(']');
    host.eq_ignore_ascii_case("localhost")
        || bare
            .parse::<std::net::IpAddr>()
            .is_ok_and(|ip| ip.is_loopback())
}

/// The base URL as shown to users: no trailing slash.
pub(crate) fn display_base(url: &Url) -> String {
    url.as_str().trim_end_matches('/').to_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn norm(raw: &str) -> String {
        display_base(&normalize_base_url(raw, false).expect(raw))
    }

    #[test]
    fn base_url_loses_rest_and_trailing_slashes() {
        assert_eq!(norm("https://crm.example.com"), "https://crm.example.com");
        assert_eq!(norm("https://crm.example.com/"), "https://crm.example.com");
        assert_eq!(
            norm("https://crm.example.com/rest"),
            "https://crm.example.com"
        );
        assert_eq!(
            norm(" https://crm.example.com/rest/\n"),
            "https://crm.example.com"
        );
        assert_eq!(
            norm("https://crm.example.com/rest/people?limit=3"),
            "https://crm.example.com"
        );
        assert_eq!(norm("https://x.org/twenty/rest/"), "https://x.org/twenty");
        assert_eq!(norm("http://localhost:3000/rest"), "http://localhost:3000");
        assert_eq!(norm("http://127.0.0.1:3000"), "http://127.0.0.1:3000");
        assert_eq!(norm("http://[::1]:3000/"), "http://[::1]:3000");
    }

    #[test]
    fn plain_http_to_another_host_is_refused_unless_allowed() {
        let err = normalize_base_url("http://crm.example.com/rest", false).unwrap_err();
        assert!(matches!(err, Error::InsecureHttp { ref url } if url == "http://crm.example.com"));
        assert!(
            err.hint()
                .unwrap()
                .contains("`ClientConfig::allow_insecure_http`")
        );
        assert!(normalize_base_url("http://crm.example.com", true).is_ok());
    }

    #[test]
    fn unusable_base_urls_say_why() {
        let err = normalize_base_url("crm.example.com", false).unwrap_err();
        assert!(err.to_string().contains("https://crm.example.com"), "{err}");
        assert!(matches!(
            normalize_base_url("ftp://x", false),
            Err(Error::InvalidBaseUrl { .. })
        ));
        let err = normalize_base_url("https://user:secret@x.org", false).unwrap_err();
        assert!(!err.to_string().contains("secret"), "{err}");
    }

    #[test]
    fn api_key_is_trimmed_and_redacted() {
        let key = ApiKey::new("  bEaReR abc.def.ghi\n").unwrap();
        assert_eq!(key.expose(), "abc.def.ghi");
        assert_eq!(format!("{key:?} {key}"), "[redacted] [redacted]");
        assert_eq!(ApiKey::new("abc\r\n").unwrap().expose(), "abc");
        assert!(ApiKey::new(" \n").is_err());
        assert!(ApiKey::new("Bearer ").is_err());
        assert!(ApiKey::new("abc def").is_err());
    }
}
