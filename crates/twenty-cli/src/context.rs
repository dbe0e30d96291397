//! What a command runs against: the catalog in use, and a client for the
//! workspace (or for the local sandbox) built from the globals, the
//! environment and the profile.

use std::path::Path;

use anyhow::{Context as _, Result};
use twenty_client::{ApiKey, Client, ClientConfig, RetryPolicy};
use twenty_core::Catalog;
use twenty_sandbox::Sandbox;

use crate::UsageError;
use crate::config::{self, ConfigFile, ProfileName};
use crate::globals::Globals;

/// Where the catalog of a run came from, for messages that name it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CatalogSource {
    /// `--schema FILE`.
    File,
    /// The profile's cache, written by `twenty schema fetch`.
    Cache,
    /// The built-in standard model.
    Builtin,
}

/// Loads the catalog: `--schema FILE`, else the schema cached for the
/// profile by `twenty schema fetch`, else the built-in v1.0.3 model.
///
/// A profile the user named must have been saved, even when it has no
/// cached schema: otherwise a typo would quietly fall back to the built-in
/// model and, later, to no credentials.
///
/// `run_url` is the server the run talks to (`None` for the sandbox): a
/// cache fetched from another server is left out, as its objects are not
/// this server's.
pub fn load_catalog(
    schema: Option<&Path>,
    profile: &ProfileName,
    run_url: Option<&str>,
) -> Result<(Catalog, CatalogSource)> {
    if let Some(path) = schema {
        let catalog = twenty_core::load::from_path(path).map_err(|e| {
            let message = match &e {
                twenty_core::load::LoadError::Read { source, .. } => format!(
                    "failed to read --schema `{}`: {}",
                    path.display(),
                    crate::io_reason(source)
                ),
                other => format!("failed to load --schema `{}`: {other}", path.display()),
            };
            UsageError::new(message, None)
        })?;
        return Ok((catalog, CatalogSource::File));
    }
    let builtin = || Ok((twenty_core::builtin::standard(), CatalogSource::Builtin));
    let file = ConfigFile::load()?;
    let saved_url = file
        .profile(profile)?
        .and_then(|saved| saved.api_url.clone());
    // The server the cache came from; a cache older than that record is
    // taken as the profile's own server's.
    let cached_from = std::fs::read_to_string(config::schema_cache_server(&profile.name)?)
        .ok()
        .or_else(|| saved_url.clone());
    let run_url = run_url.map(str::to_owned).or(saved_url);
    if let (Some(run_url), Some(cached_from)) = (&run_url, &cached_from)
        && !same_server(run_url, cached_from)
    {
        tracing::debug!(
            "not using the schema cached for profile `{}`: it is {cached_from}'s, and this \
             run talks to {run_url}",
            profile.name
        );
        return builtin();
    }
    let (_, catalog_path) = config::schema_cache(&profile.name)?;
    match std::fs::read(&catalog_path) {
        Ok(bytes) => {
            tracing::debug!("using the schema cached at {}", catalog_path.display());
            let catalog = serde_json::from_slice(&bytes).with_context(|| {
                format!(
                    "failed to read the cached schema `{}`; run `twenty schema fetch` again",
                    catalog_path.display()
                )
            })?;
            Ok((catalog, CatalogSource::Cache))
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => builtin(),
        Err(e) => Err(e).with_context(|| format!("failed to read `{}`", catalog_path.display())),
    }
}

/// The URL and key a client is built from.
#[derive(Debug, Clone)]
pub struct Credentials {
    /// Base URL of the workspace.
    pub url: String,
    /// The API key. There is always one: Twenty answers every request
    /// without a key with 403, so a missing key is caught before sending.
    pub key: ApiKey,
    /// Plain http to another machine is allowed: by `--allow-insecure-http`,
    /// or because the URL comes from a profile saved with it.
    pub allow_insecure_http: bool,
}

/// Resolves URL and key: flags first; then a profile the user named
/// (`--profile` or `$TWENTY_PROFILE`, `default` too), whole; then the
/// environment; then the default profile. A profile's key goes only to
/// the profile's own server: taking the URL from `$TWENTY_API_URL` or
/// `--api-url` and the key from a profile would send that key to another
/// server, so that is refused. Fails, before anything is sent, when either
/// is missing or the key cannot be sent.
pub fn credentials(globals: &Globals) -> Result<Credentials> {
    let file = ConfigFile::load()?;
    let name = ProfileName {
        name: globals.profile.clone(),
        named: globals.profile_named,
    };
    let saved = file.profile(&name)?.cloned();
    let whole = globals.profile_named && saved.is_some();
    let profile = saved.unwrap_or_default();
    let from_env = |var: &str| {
        // An empty or blank variable counts as unset, as shells leave them.
        let value = std::env::var(var).ok().filter(|s| !s.trim().is_empty());
        if value.is_some() && whole {
            tracing::debug!(
                "ignoring ${var}: profile `{}` was named and gives its own",
                globals.profile
            );
            return None;
        }
        value
    };

    let profile_url = profile.api_url.clone();
    let (url, url_from_profile) = match (
        globals.api_url.clone(),
        from_env("TWENTY_API_URL"),
        profile.api_url,
    ) {
        (Some(url), _, _) | (None, Some(url), _) => (url, false),
        (None, None, Some(url)) => (url, true),
        (None, None, None) => {
            return Err(UsageError::new(
                "no API URL: set $TWENTY_API_URL, pass --api-url, or run `twenty auth login`",
                Some("to try things locally, add --sandbox".into()),
            )
            .into());
        }
    };

    let (raw_key, source) = match (
        &globals.api_key_file,
        from_env("TWENTY_API_KEY"),
        profile.api_key,
    ) {
        (Some(path), _, _) => (
            config::read_key_file(path)?,
            format!("the API key file `{}`", path.display()),
        ),
        (None, Some(key), _) => (key, "$TWENTY_API_KEY".to_string()),
        (None, None, Some(key))
            if url_from_profile || profile_url.as_deref().is_some_and(|p| same_server(p, &url)) =>
        {
            (key, format!("profile `{}`", globals.profile))
        }
        (None, None, Some(_)) => {
            let (flag, fix) = match globals.api_url {
                Some(_) => ("--api-url", "drop --api-url"),
                None => ("$TWENTY_API_URL", "unset $TWENTY_API_URL"),
            };
            return Err(UsageError::new(
                format!(
                    "no API key for {url} (from {flag}): profile `{}` holds a key for {} only",
                    globals.profile,
                    profile_url.as_deref().unwrap_or("its own server")
                ),
                Some(format!(
                    "give this server's key with {ways}, or {fix} to use the profile's server; \
                     nothing was sent",
                    // A named profile is used whole: the environment's key
                    // would be ignored too.
                    ways = match globals.profile_named {
                        true => "--api-key-file FILE",
                        false => "$TWENTY_API_KEY or --api-key-file FILE",
                    }
                )),
            )
            .into());
        }
        (None, None, None) => return Err(no_key().into()),
    };
    let key = api_key(&raw_key, &source)?;
    Ok(Credentials {
        url,
        key,
        allow_insecure_http: globals.allow_insecure_http
            || (url_from_profile && profile.allow_insecure_http),
    })
}

/// Whether two base URLs name one server, as a user writes them: with or
/// without a trailing slash or `/rest`, in any case of scheme and host.
pub(crate) fn same_server(a: &str, b: &str) -> bool {
    let plain = |url: &str| {
        let url = url.trim().trim_end_matches('/');
        let url = url.strip_suffix("/rest").unwrap_or(url);
        url.trim_end_matches('/').to_ascii_lowercase()
    };
    plain(a) == plain(b)
}

/// The error for a run with no key anywhere.
pub fn no_key() -> UsageError {
    UsageError::new(
        "no API key: set $TWENTY_API_KEY, pass --api-key-file FILE, or run `twenty auth login`",
        Some(
            "nothing was sent; keys are made in Twenty under Settings > APIs & Webhooks, \
             and --sandbox needs none"
                .into(),
        ),
    )
}

/// Checks a key as the client will send it; `source` says where it came
/// from, since the key itself is never shown.
pub fn api_key(raw: &str, source: &str) -> Result<ApiKey, UsageError> {
    ApiKey::new(raw).map_err(|e| {
        let reason = match &e {
            twenty_client::Error::InvalidApiKey { reason } => (*reason).to_string(),
            other => other.to_string(),
        };
        UsageError::new(
            format!("invalid API key in {source}: {reason}"),
            crate::hint_for(&e),
        )
    })
}

/// A client for `creds` with the globals' retry, rate, timeout and http
/// settings.
pub fn client(globals: &Globals, creds: Credentials) -> Result<Client> {
    let mut config = ClientConfig::new(creds.url);
    config.api_key = Some(creds.key);
    config.allow_insecure_http = creds.allow_insecure_http;
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

/// A client for the workspace, or for the local sandbox with `--sandbox`
/// (which is returned too, to be shut down cleanly at the end).
pub async fn connect(globals: &Globals, catalog: &Catalog) -> Result<(Client, Option<Sandbox>)> {
    if globals.sandbox {
        let sandbox = crate::sandbox::start_persistent(catalog.clone()).await?;
        let key = ApiKey::new(sandbox.api_key())
            .map_err(|e| anyhow::anyhow!("the sandbox key is unusable: {e}"))?;
        let creds = Credentials {
            url: sandbox.url(),
            key,
            allow_insecure_http: false,
        };
        let client = client(globals, creds)?;
        tracing::debug!("every request carries Authorization: Bearer [redacted]");
        return Ok((client, Some(sandbox)));
    }
    let creds = credentials(globals)?;
    tracing::debug!("every request carries Authorization: Bearer [redacted]");
    Ok((client(globals, creds)?, None))
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
        // Its own report of a failed write goes through `eprintln!`, which
        // panics on the very stderr that just failed.
        .log_internal_errors(false)
        .try_init();
}
