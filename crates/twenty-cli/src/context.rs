//! What a command runs against: the catalog in use, and a client for the
//! workspace (or for the local sandbox) built from the globals, the
//! environment and the profile.

use std::path::Path;

use anyhow::{Context as _, Result};
use twenty_client::{ApiKey, Client, ClientConfig, RetryPolicy};
use twenty_core::Catalog;

use crate::UsageError;
use crate::config::{self, ConfigFile};
use crate::globals::Globals;

/// Loads the catalog: `--schema FILE`, else the schema cached for the
/// profile by `twenty schema fetch`, else the built-in v1.0.3 model.
pub fn load_catalog(schema: Option<&Path>, profile: Option<&str>) -> Result<Catalog> {
    if let Some(path) = schema {
        return twenty_core::load::from_path(path).map_err(|e| {
            UsageError::new(
                format!("failed to load --schema `{}`: {e}", path.display()),
                None,
            )
            .into()
        });
    }
    let profile = profile
        .map(str::to_string)
        .or_else(|| std::env::var("TWENTY_PROFILE").ok())
        .unwrap_or_else(|| config::DEFAULT_PROFILE.to_string());
    let (_, catalog_path) = config::schema_cache(&profile)?;
    match std::fs::read(&catalog_path) {
        Ok(bytes) => {
            tracing::debug!("using the schema cached at {}", catalog_path.display());
            serde_json::from_slice(&bytes).with_context(|| {
                format!(
                    "failed to read the cached schema `{}`; run `twenty schema fetch` again",
                    catalog_path.display()
                )
            })
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(twenty_core::builtin::standard()),
        Err(e) => Err(e).with_context(|| format!("failed to read `{}`", catalog_path.display())),
    }
}

/// Where the API URL and key come from.
#[derive(Debug, Clone)]
pub struct Credentials {
    /// Base URL of the workspace.
    pub url: String,
    /// The API key, if any.
    pub key: Option<ApiKey>,
}

/// Resolves URL and key: flags, then the environment, then the profile.
pub fn credentials(globals: &Globals) -> Result<Credentials> {
    let profile = ConfigFile::load()?
        .profiles
        .get(&globals.profile)
        .cloned()
        .unwrap_or_default();
    let url = globals
        .api_url
        .clone()
        .or_else(|| {
            std::env::var("TWENTY_API_URL")
                .ok()
                .filter(|s| !s.is_empty())
        })
        .or(profile.api_url)
        .ok_or_else(|| {
            UsageError::new(
                "no API URL: set TWENTY_API_URL, pass --api-url, or run `twenty auth login`",
                Some("to try things locally, add --sandbox".into()),
            )
        })?;
    let raw_key = match &globals.api_key_file {
        Some(path) => Some(config::read_key_file(path)?),
        None => std::env::var("TWENTY_API_KEY")
            .ok()
            .filter(|s| !s.trim().is_empty())
            .or(profile.api_key),
    };
    let key = raw_key
        .map(|k| ApiKey::new(k).map_err(|e| UsageError::new(e.to_string(), None)))
        .transpose()?;
    Ok(Credentials { url, key })
}

/// A client for `creds` with the globals' retry, rate, timeout and http
/// settings.
pub fn client(globals: &Globals, creds: Credentials) -> Result<Client> {
    let mut config = ClientConfig::new(creds.url);
    config.api_key = creds.key;
    config.allow_insecure_http = globals.allow_insecure_http;
    config.rate_limit = globals.rate;
    if let Some(timeout) = globals.timeout {
        config.timeout = timeout;
    }
    if globals.no_retry {
        config.retry = RetryPolicy::none();
    }
    tracing::debug!(
        "each attempt waits at most {:.1}s, up to {} attempts",
        config.timeout.as_secs_f64(),
        config.retry.max_attempts
    );
    Ok(Client::new(config)?)
}

/// The runtime every command that talks to a server runs on. Two workers:
/// `--each --concurrency` and the in-process sandbox make progress while
/// the main task reads input.
pub fn runtime() -> Result<tokio::runtime::Runtime> {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .context("failed to start the async runtime")
}

/// Sends `--debug` logs (requests, responses, retry decisions; never the
/// key) to stderr.
pub fn init_logging(globals: &Globals) {
    if !globals.debug {
        return;
    }
    let filter = tracing_subscriber::EnvFilter::new(
        "twenty_client=trace,twenty_cli=debug,twenty_sandbox=info",
    );
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_target(false)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .without_time()
        .try_init();
}
