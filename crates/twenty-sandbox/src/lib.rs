//! A local server that answers Twenty's REST API from a SQLite database.
//!
//! The sandbox serves whatever catalog it is given: the objects, the
//! operation kinds, the allowed `depth` values and the `limit` maximum (which
//! is also the create-many batch maximum) all come from the catalog, so the
//! same server behaves like a v1.0 or a 2026 Twenty depending on the document
//! it was started with. Records live in one SQLite table per object, as JSON,
//! and filters, sort keys and cursors are translated to SQL over
//! `json_extract` so that large tables stay fast.
//!
//! Start one with [`Sandbox::start`]; see [`FaultSpec`] for injected faults
//! and [`RateLimit`] for the per-key limiter.
//!
//! # Where the sandbox knowingly does less than Twenty
//!
//! - Authentication compares the bearer token with one configured key; there
//!   are no JWTs, so expired (`Token has expired.`) and revoked keys cannot be
//!   produced, and `?token=` is ignored as on 2026 servers.
//! - The OpenAPI document is the full one for every caller; Twenty returns
//!   only the base document without a token.
//! - `merge`, `groupBy` and operations no verb covers (the 2026 document's
//!   `POST /dashboards/{id}/duplicate`) are not served: where the catalog
//!   lists them the answer is 501 `NotImplementedException` saying so. The
//!   metadata API (`/rest/metadata/...`) answers 404.
//! - `ilike` folds case for ASCII letters only (SQLite's `LIKE`).
//! - Rich text fields are stored as sent; the missing one of `blocknote` and
//!   `markdown` is not derived from the other.
//! - Nested one-to-many lists at depth 1 and 2 are not capped at 60 per
//!   parent as 2026 servers do.
//! - A soft delete does not cascade: id fields pointing at a soft-deleted
//!   record keep their value and junction records stay.
//! - Unique constraints: only `emails.primaryEmail` of people is unique.
//! - Values of a body are checked against the field type; messages are the
//!   sandbox's own rather than PostgreSQL's text.
//! - Upsert (`?upsert=true`) matches an existing record by `id`, and for
//!   people also by primary e-mail; Twenty matches on every unique field.
//! - Errors of the 2026 server that v1.0 answered differently (missing
//!   records, 404 `Record not found`) follow 2026 whatever catalog is served.
#![warn(missing_docs)]

mod error;
mod faults;
mod handlers;
mod query;
mod record;
mod seed;
mod store;

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use tokio::sync::oneshot;
use tokio::task::JoinHandle;
use twenty_core::Catalog;

pub use faults::{FaultKind, FaultSpec, FaultSpecError};
pub use handlers::{AppState, router};

/// The key a sandbox accepts when none is configured.
pub const DEFAULT_API_KEY: &str = "sandbox-api-key";

/// The name of the API key as it appears in `createdBy.name`.
pub const API_KEY_NAME: &str = "Sandbox API key";

/// Where the records live.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Storage {
    /// In memory; gone when the sandbox stops.
    Memory,
    /// A SQLite file in WAL mode, created when missing; records survive a
    /// restart.
    File(PathBuf),
}

/// What a new, empty store is filled with.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Seed {
    /// A few companies, people, opportunities, notes, tasks and a workflow
    /// with its runs, for the objects the catalog has. Applied only when
    /// every table is empty.
    Demo,
    /// Nothing.
    Empty,
}

/// A per-key request limit: at most `requests` in each `window`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RateLimit {
    /// Requests allowed in one window.
    pub requests: u32,
    /// Length of the window.
    pub window: Duration,
}

/// Everything a sandbox needs to start.
#[derive(Clone)]
pub struct SandboxConfig {
    /// The objects and operations served.
    pub catalog: Catalog,
    /// Where records live.
    pub storage: Storage,
    /// The bearer token every request must carry.
    pub api_key: String,
    /// What a new store is filled with.
    pub seed: Seed,
    /// Faults injected into requests, off when `None`.
    pub faults: Option<FaultSpec>,
    /// A per-key rate limit, off when `None`.
    pub rate_limit: Option<RateLimit>,
    /// Largest request body in bytes; larger bodies get 413.
    pub body_limit: usize,
}

impl std::fmt::Debug for SandboxConfig {
    // The key is left out so that it never reaches a log line.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SandboxConfig")
            .field("objects", &self.catalog.objects.len())
            .field("storage", &self.storage)
            .field("api_key", &"<redacted>")
            .field("seed", &self.seed)
            .field("faults", &self.faults)
            .field("rate_limit", &self.rate_limit)
            .field("body_limit", &self.body_limit)
            .finish()
    }
}

impl SandboxConfig {
    /// A memory sandbox with no records, [`DEFAULT_API_KEY`], no faults, no
    /// rate limit and a 10 MB body limit.
    pub fn new(catalog: Catalog) -> Self {
        Self {
            catalog,
            storage: Storage::Memory,
            api_key: DEFAULT_API_KEY.to_string(),
            seed: Seed::Empty,
            faults: None,
            rate_limit: None,
            body_limit: 10 * 1024 * 1024,
        }
    }
}

/// Why a sandbox could not start.
#[derive(Debug, thiserror::Error)]
pub enum SandboxError {
    /// The address could not be bound.
    // The cause stays out of the message: it is the error's `source()`, and
    // callers print the chain.
    #[error("failed to bind {addr}")]
    Bind {
        /// The address asked for.
        addr: SocketAddr,
        /// The cause.
        source: std::io::Error,
    },
    /// The database could not be opened or prepared.
    #[error("failed to open the sandbox database {path}")]
    Database {
        /// The file, or `memory`.
        path: String,
        /// The cause.
        source: rusqlite::Error,
    },
    /// The demo records could not be written.
    #[error("failed to seed the sandbox: {0}")]
    Seed(String),
}

/// A running sandbox server.
pub struct Sandbox {
    addr: SocketAddr,
    api_key: String,
    stop: Option<oneshot::Sender<()>>,
    task: JoinHandle<()>,
}

impl std::fmt::Debug for Sandbox {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Sandbox").field("addr", &self.addr).finish()
    }
}

impl Sandbox {
    /// Opens the store, seeds it if asked and new, binds `addr` (port 0
    /// picks a free port) and serves on the current tokio runtime.
    pub async fn start(config: SandboxConfig, addr: SocketAddr) -> Result<Sandbox, SandboxError> {
        let api_key = config.api_key.clone();
        let state = tokio::task::spawn_blocking(move || AppState::new(config))
            .await
            .map_err(|e| SandboxError::Seed(format!("the start-up task failed: {e}")))??;
        let listener = tokio::net::TcpListener::bind(addr)
            .await
            .map_err(|source| SandboxError::Bind { addr, source })?;
        let addr = listener
            .local_addr()
            .map_err(|source| SandboxError::Bind { addr, source })?;

        let (stop, stopped) = oneshot::channel::<()>();
        let app = router(state);
        let task = tokio::spawn(async move {
            let serve = axum::serve(listener, app).with_graceful_shutdown(async {
                let _ = stopped.await;
            });
            if let Err(e) = serve.await {
                tracing::error!(error = %e, "sandbox server stopped with an error");
            }
        });
        tracing::debug!(%addr, "sandbox listening");
        Ok(Sandbox {
            addr,
            api_key,
            stop: Some(stop),
            task,
        })
    }

    /// The base URL, `http://127.0.0.1:PORT`, without `/rest`.
    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// The address the server listens on.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// The bearer token the sandbox accepts.
    pub fn api_key(&self) -> &str {
        &self.api_key
    }

    /// Stops accepting requests, lets running ones finish (for at most five
    /// seconds) and closes the store.
    pub async fn shutdown(mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        let task = &mut self.task;
        if tokio::time::timeout(Duration::from_secs(5), &mut *task)
            .await
            .is_err()
        {
            task.abort();
            let _ = task.await;
        }
    }
}
