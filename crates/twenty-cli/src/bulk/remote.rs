//! The few calls bulk work makes, as thin layers on the client, made
//! stubborn enough for jobs of thousands of requests.
//!
//! The client repeats what it knows to be transient and makes creates safe
//! to repeat. A bulk job sends so many requests that a failure the client
//! gives up on (a 500 on a read, a burst of rate limiting) is bound to
//! happen; for requests that are safe to repeat these helpers try again a
//! few more times, so that one bad answer does not stop a job of hours.
//! A client built to send each request once (`--no-retry`) is taken at its
//! word: nothing is sent again here either.

use std::collections::HashSet;

use serde_json::{Map, Value};
use std::time::Duration;

use twenty_client::{Client, Error, ListQuery, NetworkKind, Request, RetrySafety, unwrap_envelope};
use twenty_core::{Method, Object, OperationKind};

/// Ids per `id[in]:[...]` look-up: the smallest `limit` maximum of any
/// Twenty version, so that one page answers all of them.
const IDS_PER_LOOKUP: usize = 60;

/// Creates `records` (each with its id) in one create many request.
///
/// The request is repeated only when the server surely did not act on it;
/// any other failure comes back as it is. The client's own create many
/// would read the ids back after a lost answer and take every id found
/// for a record it created, which the importer can judge better: it knows
/// which ids it chose, and it reads back only when an answer was lost.
pub async fn create_many(
    client: &Client,
    object: &Object,
    records: Vec<Value>,
) -> Result<(), Error> {
    let count = records.len();
    let request = Request::new(Method::Post, format!("/batch/{}", object.plural))
        .query("depth", "0")
        .body(Value::Array(records))
        .retry(RetrySafety::WhenUnprocessed);
    let response = client.send(request).await?;
    match unwrap_envelope(object, OperationKind::CreateMany, &response.body)? {
        Value::Array(created) if created.len() == count => Ok(()),
        _ => Err(Error::UnexpectedResponse {
            method: Some(Method::Post),
            url: None,
            status: Some(response.status),
            reason: format!(
                "a create many of {} did not return {count} records",
                super::records(count, object)
            ),
            body: String::new(),
        }),
    }
}

/// Updates one record. An update is idempotent, so it is repeated.
pub async fn update_one(
    client: &Client,
    object: &Object,
    id: &str,
    body: Map<String, Value>,
) -> Result<(), Error> {
    let body = Value::Object(body);
    stubborn(client, || {
        client.update_one(object, id, body.clone(), Some(0))
    })
    .await
    .map(|_| ())
}

/// Which of `ids` exist on the server.
pub async fn existing_ids(
    client: &Client,
    object: &Object,
    ids: &[String],
) -> Result<HashSet<String>, Error> {
    let mut found = HashSet::new();
    for chunk in ids.chunks(IDS_PER_LOOKUP) {
        let quoted: Vec<String> = chunk.iter().map(|id| format!("\"{id}\"")).collect();
        let filter = format!("id[in]:[{}]", quoted.join(","));
        let mut pages = Pages::new(object, Some(filter), None, None, IDS_PER_LOOKUP as u32);
        while let Some(records) = pages.next_page(client).await? {
            for record in records {
                if let Some(id) = record.get("id").and_then(Value::as_str) {
                    found.insert(id.to_owned());
                }
            }
        }
    }
    Ok(found)
}

/// Find many, one page at a time, following the cursor; each page is
/// asked for again after failures that leave nothing changed.
#[derive(Debug)]
pub struct Pages {
    object: Object,
    query: ListQuery,
    finished: bool,
}

impl Pages {
    /// Pages of `object`'s records matching `filter`, in `order_by` order
    /// (by id when absent, which Twenty makes total).
    pub fn new(
        object: &Object,
        filter: Option<String>,
        order_by: Option<String>,
        depth: Option<u8>,
        limit: u32,
    ) -> Pages {
        Pages {
            object: object.clone(),
            query: ListQuery {
                filter,
                order_by,
                limit: Some(limit),
                depth: Some(depth.unwrap_or(0)),
                ..ListQuery::default()
            },
            finished: false,
        }
    }

    /// The next page's records, or `None` after the last page.
    pub async fn next_page(&mut self, client: &Client) -> Result<Option<Vec<Value>>, Error> {
        if self.finished {
            return Ok(None);
        }
        let page = stubborn(client, || client.find_page(&self.object, &self.query)).await?;
        match page.end_cursor {
            Some(cursor)
                if page.has_next_page && self.query.starting_after.as_ref() != Some(&cursor) =>
            {
                self.query.starting_after = Some(cursor);
            }
            // A next page without a new cursor to reach it would be the
            // same page for ever.
            Some(_) | None if page.has_next_page => {
                self.finished = true;
                return Err(Error::UnexpectedResponse {
                    method: None,
                    url: None,
                    status: None,
                    reason: format!(
                        "`pageInfo.hasNextPage` is true without a new `endCursor` for {}",
                        crate::commands::human(&self.object.plural)
                    ),
                    body: String::new(),
                });
            }
            _ => self.finished = true,
        }
        Ok(Some(page.records))
    }
}

/// How many times a repeatable request is sent in all, on top of the
/// client's own retries.
const STUBBORN_ATTEMPTS: u32 = 8;

/// Whether a failed request can be sent again without changing anything
/// but the odds: no answer, a server failure, or a rate limit.
pub fn worth_repeating(error: &Error) -> bool {
    matches!(
        error,
        Error::Server { .. } | Error::Network { .. } | Error::RateLimited { .. }
    )
}

/// Whether the server surely did not act on a request that failed so.
pub fn surely_unprocessed(error: &Error) -> bool {
    matches!(
        error,
        Error::RateLimited { .. }
            | Error::Network {
                kind: NetworkKind::Connect,
                ..
            }
    )
}

/// Whether `client` may send a request again at all.
pub fn may_repeat(client: &Client) -> bool {
    client.retry_policy().max_attempts > 1
}

/// Runs `call` until it succeeds, fails in a way repeating cannot fix, or
/// has been tried [`STUBBORN_ATTEMPTS`] times (once when `client` may not
/// repeat). Only for idempotent calls.
async fn stubborn<T, F, Fut>(client: &Client, mut call: F) -> Result<T, Error>
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Result<T, Error>>,
{
    let attempts = if may_repeat(client) {
        STUBBORN_ATTEMPTS
    } else {
        1
    };
    let mut attempt = 1;
    loop {
        match call().await {
            Err(e) if worth_repeating(&e) && attempt < attempts => {
                tracing::debug!("repeating after: {e}");
                tokio::time::sleep(pause(attempt)).await;
                attempt += 1;
            }
            other => return other,
        }
    }
}

/// The wait before attempt `attempt + 1`: doubling from 100 ms, at most
/// 3 s.
pub fn pause(attempt: u32) -> Duration {
    Duration::from_millis(100u64.saturating_mul(1 << attempt.min(5)).min(3000))
}

/// The server's reason when it refused a request as invalid, as opposed to
/// failing or not answering. Create many is all or nothing, so such a
/// refusal says that some record of the batch is bad.
pub fn refusal(error: &Error) -> Option<String> {
    match error {
        Error::BadRequest { messages, .. }
        | Error::NotFound {
            messages,
            status: 400,
            ..
        } => Some(if messages.is_empty() {
            error.to_string()
        } else {
            messages.join("; ")
        }),
        _ => None,
    }
}
