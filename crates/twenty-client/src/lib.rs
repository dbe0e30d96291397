//! An async client for the Twenty CRM REST API.
//!
//! Every call goes through one funnel, [`Client::send`], which adds the
//! base URL and the key, keeps to a client-side rate limit, repeats
//! transient failures where that is safe, and maps answers to [`Error`]s
//! with a documented exit code. The record helpers ([`Client::find_one`],
//! [`Client::find_all`], [`Client::create_one`], ...) are thin layers on
//! top; creates are safe to repeat because every record gets its id before
//! it is sent.
//!
//! ```no_run
//! use twenty_client::{ApiKey, Client, ClientConfig, ListQuery};
//!
//! # async fn run(catalog: twenty_core::Catalog) -> Result<(), twenty_client::Error> {
//! let mut config = ClientConfig::new("https://crm.example.com/rest/");
//! config.api_key = Some(ApiKey::new("Bearer eyJhbGciOi...\n")?);
//! config.rate_limit = Some(90);
//! let client = Client::new(config)?;
//!
//! let people = catalog.object("people").expect("the standard model has people");
//! let created = client
//!     .create_one(people, serde_json::json!({"name": {"firstName": "Ada"}}), None)
//!     .await?;
//! println!("created {}", created["id"]);
//!
//! let query = ListQuery {
//!     filter: Some("name.firstName[eq]:\"Ada\"".into()),
//!     ..ListQuery::default()
//! };
//! let mut pages = client.find_all(people, query);
//! while let Some(person) = pages.next_record().await? {
//!     println!("{}", person["id"]);
//! }
//! # Ok(())
//! # }
//! ```
#![warn(missing_docs)]

mod client;
mod config;
mod error;
mod rate;
mod records;
mod retry;

pub use client::{Client, Request, Response, RetrySafety, Sent};
pub use config::{ApiKey, ClientConfig, RetryPolicy};
pub use error::{
    EXIT_AUTH, EXIT_INVALID_INPUT, EXIT_NETWORK, EXIT_NOT_FOUND, EXIT_OK, EXIT_OTHER,
    EXIT_RATE_LIMITED, Error, NetworkKind,
};
pub use records::{ListQuery, Page, Pages, unwrap_envelope};
