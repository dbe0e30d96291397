//! The few calls bulk work makes, on top of [`Client::send`].
//!
//! Creating in bulk has to stay exactly-once through lost answers, kills
//! and whole-batch refusals, so it is built here from plain requests whose
//! retry rules are known: every record carries an id chosen before
//! sending, and whenever the outcome of a create is unknown the ids are
//! read back and only the missing records are sent again.

use std::collections::HashSet;

use serde_json::{Map, Value};
use twenty_client::{Client, Error, Request};
use twenty_core::{Method, Object, OperationKind};

/// Ids per `id[in]:[...]` look-up; 60 UUIDs keep the URL near 2.5 kB.
const IDS_PER_LOOKUP: usize = 60;

/// The path of `kind` on `object` from the catalog, or Twenty's usual one
/// when the document does not list it.
fn path(object: &Object, kind: OperationKind) -> String {
    if let Some(op) = object.operation(kind) {
        return op.path.clone();
    }
    match kind {
        OperationKind::CreateMany => format!("/batch/{}", object.plural),
        _ => format!("/{}", object.plural),
    }
}

/// Sends one create many request. Not repeated by the client once the
/// server may have seen it; the caller settles an unknown outcome.
pub async fn create_many(
    client: &Client,
    object: &Object,
    records: Vec<Value>,
) -> Result<(), Error> {
    let req = Request::new(Method::Post, path(object, OperationKind::CreateMany))
        .query("depth", "0")
        .body(Value::Array(records));
    client.send(req).await.map(|_| ())
}

/// Updates one record.
pub async fn update_one(
    client: &Client,
    object: &Object,
    id: &str,
    body: Map<String, Value>,
) -> Result<(), Error> {
    let req = Request::new(Method::Patch, format!("/{}/{id}", object.plural))
        .query("depth", "0")
        .body(Value::Object(body));
    client.send(req).await.map(|_| ())
}

/// Which of `ids` exist on the server.
pub async fn existing_ids(
    client: &Client,
    object: &Object,
    ids: &[String],
) -> Result<HashSet<String>, Error> {
    let mut found = HashSet::new();
    for chunk in ids.chunks(IDS_PER_LOOKUP) {
        let filter = format!("id[in]:[{}]", chunk.join(","));
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

/// Find many, one page at a time, following the cursor.
#[derive(Debug)]
pub struct Pages {
    path: String,
    plural: String,
    query: Vec<(String, String)>,
    cursor: Option<String>,
    finished: bool,
}

impl Pages {
    /// Pages of `object`'s records matching `filter` in `order_by` order.
    pub fn new(
        object: &Object,
        filter: Option<String>,
        order_by: Option<String>,
        depth: Option<u8>,
        limit: u32,
    ) -> Pages {
        let mut query = vec![("limit".to_owned(), limit.to_string())];
        if let Some(filter) = filter {
            query.push(("filter".to_owned(), filter));
        }
        if let Some(order_by) = order_by {
            query.push(("order_by".to_owned(), order_by));
        }
        query.push(("depth".to_owned(), depth.unwrap_or(0).to_string()));
        Pages {
            path: path(object, OperationKind::FindMany),
            plural: object.plural.clone(),
            query,
            cursor: None,
            finished: false,
        }
    }

    /// The next page's records, or `None` after the last page.
    pub async fn next_page(&mut self, client: &Client) -> Result<Option<Vec<Value>>, Error> {
        if self.finished {
            return Ok(None);
        }
        let mut req = Request::new(Method::Get, self.path.clone());
        for (name, value) in &self.query {
            req = req.query(name.clone(), value.clone());
        }
        if let Some(cursor) = &self.cursor {
            req = req.query("starting_after", cursor.clone());
        }
        let response = client.send(req).await?;
        let body = response.body;

        let records = match body.pointer(&format!("/data/{}", self.plural)) {
            Some(Value::Array(records)) => records.clone(),
            _ => {
                return Err(unexpected(format!(
                    "no array at `data.{}` in a find many answer",
                    self.plural
                )));
            }
        };
        let has_next = body
            .pointer("/pageInfo/hasNextPage")
            .and_then(Value::as_bool)
            .unwrap_or(false);
        let end = body.pointer("/pageInfo/endCursor").and_then(Value::as_str);
        match (has_next, end) {
            (true, Some(end)) if !records.is_empty() => self.cursor = Some(end.to_owned()),
            // A next page without a cursor to reach it would loop for ever
            // on the same page.
            _ => self.finished = true,
        }
        Ok(Some(records))
    }
}

fn unexpected(reason: String) -> Error {
    Error::UnexpectedResponse {
        method: Some(Method::Get),
        url: None,
        status: Some(200),
        reason,
        body: String::new(),
    }
}
