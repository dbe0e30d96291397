//! Typed record operations on top of [`Client::send`]: reading, paging,
//! creating safely, updating and deleting, and taking records out of
//! Twenty's response envelopes.
//!
//! Creates are made safe to repeat by giving every record an id before it
//! is sent. When the answer to a create is lost, the client reads the ids
//! back: records that exist were created, the others are sent again, so no
//! record is ever created twice.

use std::collections::HashMap;

use serde_json::{Map, Value};
use tokio::time::Instant;
use twenty_core::{Method, Object, OperationKind, names};

use crate::client::{Client, Request, RetrySafety, finish};
use crate::error::{Error, excerpt};

/// How many ids one read-back asks for: the smallest `limit` maximum of
/// any Twenty version, so every server answers all of them in one page.
const READ_BACK_CHUNK: usize = 60;

/// Query parameters of a find many call.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ListQuery {
    /// `filter`, in Twenty's grammar (`status[eq]:COMPLETED`).
    pub filter: Option<String>,
    /// `order_by` (`createdAt[DescNullsLast]`).
    pub order_by: Option<String>,
    /// Records per page; the server's default (60) when `None`. Servers
    /// may return fewer, or clamp a larger value.
    pub limit: Option<u32>,
    /// Relation depth; the server's default (0) when `None`.
    pub depth: Option<u8>,
    /// Start after this cursor (an `endCursor`).
    pub starting_after: Option<String>,
    /// End before this cursor (a `startCursor`), for paging backwards.
    pub ending_before: Option<String>,
    /// Any other parameters, sent as given.
    pub extra: Vec<(String, String)>,
}

impl ListQuery {
    fn to_pairs(&self) -> Vec<(String, String)> {
        let mut pairs = Vec::new();
        let mut push = |name: &str, value: Option<String>| {
            if let Some(value) = value {
                pairs.push((name.to_owned(), value));
            }
        };
        push("filter", self.filter.clone());
        push("order_by", self.order_by.clone());
        push("limit", self.limit.map(|l| l.to_string()));
        push("depth", self.depth.map(|d| d.to_string()));
        push("starting_after", self.starting_after.clone());
        push("ending_before", self.ending_before.clone());
        pairs.extend(self.extra.iter().cloned());
        pairs
    }
}

/// One page of a find many answer.
#[derive(Debug, Clone, PartialEq)]
pub struct Page {
    /// The records, in the server's order.
    pub records: Vec<Value>,
    /// Whether more records follow this page.
    pub has_next_page: bool,
    /// Cursor of the first record; `None` on an empty page.
    pub start_cursor: Option<String>,
    /// Cursor of the last record, to pass as `starting_after`; `None` on an
    /// empty page.
    pub end_cursor: Option<String>,
    /// `totalCount` as the server counts it (v1.0 counts only what follows
    /// the cursor).
    pub total_count: Option<u64>,
}

/// Every record of a find many, one page at a time, following
/// `pageInfo.endCursor`. Holds one page at most, so memory stays flat
/// however many records there are.
#[derive(Debug)]
pub struct Pages {
    client: Client,
    object: Object,
    query: ListQuery,
    finished: bool,
    buffered: std::vec::IntoIter<Value>,
}

impl Pages {
    /// The next page, or `None` once the server said there is no more.
    ///
    /// Fails with [`Error::UnexpectedResponse`] if the server says more
    /// pages follow but gives no new cursor, instead of asking for the same
    /// page for ever.
    pub async fn next_page(&mut self) -> Result<Option<Page>, Error> {
        if self.finished {
            return Ok(None);
        }
        let page = self.client.find_page(&self.object, &self.query).await;
        let page = match page {
            Ok(page) => page,
            Err(e) => {
                self.finished = true;
                return Err(e);
            }
        };
        match (&page.end_cursor, page.has_next_page) {
            (Some(cursor), true) if self.query.starting_after.as_ref() != Some(cursor) => {
                self.query.starting_after = Some(cursor.clone());
            }
            (_, true) => {
                self.finished = true;
                return Err(Error::UnexpectedResponse {
                    method: Some(Method::Get),
                    url: Some(format!(
                        "{}/rest/{}",
                        self.client.base_url(),
                        self.object.plural
                    )),
                    status: None,
                    reason: format!(
                        "`pageInfo.hasNextPage` is true but `pageInfo.endCursor` is {} \
                         for {}, so paging cannot go on",
                        if page.end_cursor.is_some() {
                            "the same cursor again"
                        } else {
                            "missing"
                        },
                        self.object.plural
                    ),
                    body: String::new(),
                });
            }
            (_, false) => self.finished = true,
        }
        Ok(Some(page))
    }

    /// The next record, fetching the next page when the current one is
    /// used up.
    pub async fn next_record(&mut self) -> Result<Option<Value>, Error> {
        loop {
            if let Some(record) = self.buffered.next() {
                return Ok(Some(record));
            }
            match self.next_page().await? {
                Some(page) => self.buffered = page.records.into_iter(),
                None => return Ok(None),
            }
        }
    }
}

impl Client {
    /// One record by id (`GET /{plural}/{id}`); returns `data.<singular>`.
    pub async fn find_one(
        &self,
        object: &Object,
        id: &str,
        depth: Option<u8>,
    ) -> Result<Value, Error> {
        let req = with_depth(Request::new(Method::Get, record_path(object, id)?), depth);
        let response = self.send(req).await?;
        unwrap_envelope(object, OperationKind::FindOne, &response.body)
    }

    /// One page of records (`GET /{plural}`).
    pub async fn find_page(&self, object: &Object, query: &ListQuery) -> Result<Page, Error> {
        let mut req = Request::new(Method::Get, format!("/{}", object.plural));
        req.query = query.to_pairs();
        let response = self.send(req).await?;
        page_from(object, &response.body)
    }

    /// Every record matching `query`, page by page. Nothing is sent until
    /// the first call to [`Pages::next_page`] or [`Pages::next_record`].
    pub fn find_all(&self, object: &Object, query: ListQuery) -> Pages {
        Pages {
            client: self.clone(),
            object: object.clone(),
            query,
            finished: false,
            buffered: Vec::new().into_iter(),
        }
    }

    /// Creates one record (`POST /{plural}`) and returns it.
    ///
    /// Safe to repeat: a record without `id` gets a fresh UUID first, and
    /// when the answer is lost the id is read back before anything is sent
    /// again, so the record is created exactly once.
    pub async fn create_one(
        &self,
        object: &Object,
        record: Value,
        depth: Option<u8>,
    ) -> Result<Value, Error> {
        let mut created = self
            .create_safely(object, vec![record], depth, false)
            .await?;
        created.pop().ok_or_else(|| Error::UnexpectedResponse {
            method: Some(Method::Post),
            url: None,
            status: None,
            reason: format!("the create of one {} returned no record", object.singular),
            body: String::new(),
        })
    }

    /// Creates records in one call (`POST /batch/{plural}`) and returns
    /// them in input order. Twenty refuses batches over its `limit`
    /// maximum (60, or 200 on newer servers): the caller splits larger
    /// sets, see [`Catalog::max_limit`](twenty_core::Catalog::max_limit).
    ///
    /// Safe to repeat in the same way as [`create_one`](Self::create_one):
    /// after a lost answer only the records that do not exist yet are sent
    /// again. When even that fails, the error does not say which records
    /// exist: a caller that must know gives the records their ids itself,
    /// and ids given are kept. Ids given are looked up before the first
    /// send (one extra request), so that one naming an existing record
    /// fails with [`Error::InvalidInput`] rather than passing for created.
    pub async fn create_many(
        &self,
        object: &Object,
        records: Vec<Value>,
        depth: Option<u8>,
    ) -> Result<Vec<Value>, Error> {
        if records.is_empty() {
            return Ok(Vec::new());
        }
        self.create_safely(object, records, depth, true).await
    }

    /// Changes the fields in `patch` (`PATCH /{plural}/{id}`) and returns
    /// the whole updated record.
    pub async fn update_one(
        &self,
        object: &Object,
        id: &str,
        patch: Value,
        depth: Option<u8>,
    ) -> Result<Value, Error> {
        let req =
            with_depth(Request::new(Method::Patch, record_path(object, id)?), depth).body(patch);
        let response = self.send(req).await?;
        unwrap_envelope(object, OperationKind::UpdateOne, &response.body)
    }

    /// Deletes one record (`DELETE /{plural}/{id}`); returns what the
    /// server returns, `{"id": ...}`.
    ///
    /// When a repeat follows a lost answer and finds the record gone, the
    /// lost attempt deleted it, and that counts as success.
    pub async fn delete_one(&self, object: &Object, id: &str) -> Result<Value, Error> {
        let req = Request::new(Method::Delete, record_path(object, id)?);
        let outcome = self.execute(&req).await;
        match outcome.result {
            Ok(response) => unwrap_envelope(object, OperationKind::DeleteOne, &response.body),
            Err(Error::NotFound { .. }) if outcome.repeated_after_unknown => {
                tracing::debug!(
                    "{} {id} was gone on the repeat: the earlier, unanswered delete removed it",
                    object.singular
                );
                Ok(serde_json::json!({ "id": id }))
            }
            Err(e) => Err(e),
        }
    }

    /// The workspace's OpenAPI document as the server sends it
    /// (`GET /rest/open-api/core`).
    pub async fn fetch_schema(&self) -> Result<String, Error> {
        let response = self
            .send(Request::new(Method::Get, "/open-api/core"))
            .await?;
        if response.body.get("openapi").is_none() || response.body.get("paths").is_none() {
            return Err(Error::UnexpectedResponse {
                method: Some(Method::Get),
                url: Some(format!("{}/rest/open-api/core", self.base_url())),
                status: Some(response.status),
                reason: "the body has no `openapi` and `paths`, so it is not an openapi document"
                    .into(),
                body: excerpt(&response.text, 200),
            });
        }
        Ok(response.text)
    }

    /// The create protocol shared by create one and create many.
    async fn create_safely(
        &self,
        object: &Object,
        records: Vec<Value>,
        depth: Option<u8>,
        batch: bool,
    ) -> Result<Vec<Value>, Error> {
        let (records, given) = with_ids(records)?;

        // An id the caller chose may name a record that existed before, and
        // a refusal after a lost answer could then not be told from our own
        // earlier create: such ids are looked up before anything is sent.
        if !given.is_empty() {
            let found = self.read_back(object, &given, None).await?;
            if let Some(id) = given.iter().find(|id| found.contains_key(*id)) {
                return Err(Error::InvalidInput {
                    reason: format!(
                        "a {} with id {id} exists already: update it, or leave the id out \
                         to create a new record",
                        object.singular
                    ),
                });
            }
        }

        let order: Vec<String> = records.iter().map(|(id, _)| id.clone()).collect();
        let mut pending: Vec<(String, Value)> = records;
        let mut created: HashMap<String, Value> = HashMap::new();
        let policy = self.retry_policy();
        let started = Instant::now();
        let mut attempt = 0;
        // Every create request sent, across the rounds below, so that a
        // final error counts what was really tried.
        let mut sent = 0;
        let mut unknown = false;

        while !pending.is_empty() {
            attempt += 1;

            // Send what is not known to exist.
            let req = if batch {
                let body = Value::Array(pending.iter().map(|(_, r)| r.clone()).collect());
                Request::new(Method::Post, format!("/batch/{}", object.plural)).body(body)
            } else {
                Request::new(Method::Post, format!("/{}", object.plural)).body(pending[0].1.clone())
            };
            let req = with_depth(req, depth).retry(RetrySafety::WhenUnprocessed);
            let outcome = self.execute(&req).await;
            unknown |= outcome.repeated_after_unknown;
            sent += outcome.attempts;
            let error = match outcome.result {
                Ok(response) => {
                    let kind = if batch {
                        OperationKind::CreateMany
                    } else {
                        OperationKind::CreateOne
                    };
                    let body = unwrap_envelope(object, kind, &response.body)?;
                    let list = if batch {
                        let Value::Array(list) = body else {
                            return Err(not_a_list(object, "create"));
                        };
                        list
                    } else {
                        vec![body]
                    };
                    let sent_ids: Vec<String> = pending.iter().map(|(id, _)| id.clone()).collect();
                    for (i, record) in list.into_iter().enumerate() {
                        let id = record_id(&record).or_else(|| sent_ids.get(i).cloned());
                        if let Some(id) = id {
                            created.insert(id, record);
                        }
                    }
                    pending.clear();
                    break;
                }
                Err(error) => finish(error, sent),
            };

            // A refusal after an unanswered attempt may be the server
            // seeing our own records (`Record already exists`, or a unique
            // field); reading back tells.
            let resolvable =
                error.outcome_unknown() || (unknown && matches!(error, Error::BadRequest { .. }));
            if !resolvable {
                return Err(error);
            }
            unknown |= error.outcome_unknown();
            tracing::debug!(
                "the answer to creating {} {} was lost ({error}); reading the ids back",
                pending.len(),
                object.plural
            );

            // Find out which records exist. The read-back retries on its
            // own, so a failure here is final; the create's error says more
            // about what is unknown than the read-back's would.
            if error.outcome_unknown() {
                self.pause(attempt).await;
            }
            let ids: Vec<String> = pending.iter().map(|(id, _)| id.clone()).collect();
            let found = match self.read_back(object, &ids, depth).await {
                Ok(found) => found,
                Err(read_error) => {
                    tracing::debug!("reading the ids back failed too: {read_error}");
                    return Err(unconfirmed(error, object, &ids));
                }
            };
            let before = pending.len();
            pending.retain(|(id, _)| !found.contains_key(id));
            tracing::debug!(
                "{} of {before} {} exist already; {} to send again",
                before - pending.len(),
                object.plural,
                pending.len()
            );
            created.extend(found);

            let out_of_time = started.elapsed() >= policy.max_total;
            if !pending.is_empty()
                && (attempt >= policy.max_attempts
                    || out_of_time
                    || matches!(error, Error::BadRequest { .. }))
            {
                return Err(error);
            }
        }

        order
            .iter()
            .map(|id| {
                created.remove(id).ok_or_else(|| Error::UnexpectedResponse {
                    method: Some(Method::Post),
                    url: None,
                    status: None,
                    reason: format!(
                        "the server did not return the created {} with id {id}",
                        object.singular
                    ),
                    body: String::new(),
                })
            })
            .collect()
    }

    /// The records among `ids` that exist, by id.
    async fn read_back(
        &self,
        object: &Object,
        ids: &[String],
        depth: Option<u8>,
    ) -> Result<HashMap<String, Value>, Error> {
        let mut found = HashMap::new();
        for chunk in ids.chunks(READ_BACK_CHUNK) {
            let quoted: Vec<String> = chunk.iter().map(|id| format!("\"{id}\"")).collect();
            let query = ListQuery {
                filter: Some(format!("id[in]:[{}]", quoted.join(","))),
                limit: Some(READ_BACK_CHUNK as u32),
                depth,
                ..ListQuery::default()
            };
            let page = self.find_page(object, &query).await?;
            for record in page.records {
                if let Some(id) = record_id(&record) {
                    found.insert(id, record);
                }
            }
        }
        Ok(found)
    }
}

/// Takes the record or list out of a Twenty response for an operation of
/// `kind`: `data.<plural>` for find many, `data.<singular>` for find one,
/// `data.create<Singular>`, `data.create<Plural>`, `data.update<Singular>`,
/// `data.delete<Singular>`, the `data` array for find duplicates.
///
/// For the kinds only newer servers have (update many, restore, merge,
/// ...) the `<verb><Name>` key is taken when present and `data` otherwise;
/// for [`OperationKind::GroupBy`] and [`OperationKind::Other`], `data` or
/// the whole body.
///
/// A missing key is [`Error::UnexpectedResponse`] naming the JSON path.
pub fn unwrap_envelope(object: &Object, kind: OperationKind, body: &Value) -> Result<Value, Error> {
    let singular = names::pascal(&object.singular);
    let plural = names::pascal(&object.plural);
    let strict = |key: String| -> Result<Value, Error> {
        let data = body.get("data").ok_or_else(|| missing("data", body))?;
        data.get(&key)
            .cloned()
            .ok_or_else(|| missing(&format!("data.{key}"), body))
    };
    let lenient = |key: String| -> Value {
        match body.get("data") {
            Some(data) => data.get(&key).unwrap_or(data).clone(),
            None => body.clone(),
        }
    };
    match kind {
        OperationKind::FindMany => strict(object.plural.clone()),
        OperationKind::FindOne => strict(object.singular.clone()),
        OperationKind::CreateOne => strict(format!("create{singular}")),
        OperationKind::CreateMany => strict(format!("create{plural}")),
        OperationKind::UpdateOne => strict(format!("update{singular}")),
        OperationKind::DeleteOne => strict(format!("delete{singular}")),
        OperationKind::FindDuplicates => match body.get("data") {
            Some(data @ Value::Array(_)) => Ok(data.clone()),
            Some(_) => Err(Error::UnexpectedResponse {
                method: None,
                url: None,
                status: None,
                reason: "`data` is not an array of duplicate lists".into(),
                body: excerpt(&body.to_string(), 200),
            }),
            None => Err(missing("data", body)),
        },
        OperationKind::UpdateMany => Ok(lenient(format!("update{plural}"))),
        OperationKind::DeleteMany => Ok(lenient(format!("delete{plural}"))),
        OperationKind::RestoreOne => Ok(lenient(format!("restore{singular}"))),
        OperationKind::RestoreMany => Ok(lenient(format!("restore{plural}"))),
        OperationKind::Merge => Ok(lenient(format!("merge{plural}"))),
        OperationKind::GroupBy | OperationKind::Other => {
            Ok(body.get("data").unwrap_or(body).clone())
        }
    }
}

fn missing(path: &str, body: &Value) -> Error {
    Error::UnexpectedResponse {
        method: None,
        url: None,
        status: None,
        reason: format!("`{path}` is missing from the response"),
        body: excerpt(&body.to_string(), 200),
    }
}

fn not_a_list(object: &Object, what: &str) -> Error {
    Error::UnexpectedResponse {
        method: None,
        url: None,
        status: None,
        reason: format!("the {what} answer for {} is not a list", object.plural),
        body: String::new(),
    }
}

/// Reads a find many answer: `data.<plural>` and `pageInfo`.
fn page_from(object: &Object, body: &Value) -> Result<Page, Error> {
    let records = match unwrap_envelope(object, OperationKind::FindMany, body)? {
        Value::Array(records) => records,
        _ => return Err(not_a_list(object, "find many")),
    };
    let info = body.get("pageInfo");
    let cursor = |name: &str| {
        info.and_then(|i| i.get(name))
            .and_then(Value::as_str)
            .map(str::to_owned)
    };
    Ok(Page {
        records,
        has_next_page: info
            .and_then(|i| i.get("hasNextPage"))
            .and_then(Value::as_bool)
            .unwrap_or(false),
        start_cursor: cursor("startCursor"),
        end_cursor: cursor("endCursor"),
        total_count: body.get("totalCount").and_then(Value::as_u64),
    })
}

fn record_path(object: &Object, id: &str) -> Result<String, Error> {
    // Ids are UUIDs. Anything else is left for the server to refuse, except
    // characters that would change the path's shape (`/`, `..`, `?`).
    if id.is_empty() || !id.chars().all(|c| c.is_ascii_alphanumeric() || c == '-') {
        return Err(Error::InvalidInput {
            reason: format!(
                "`{id}` is not a valid {} id: ids are uuids",
                object.singular
            ),
        });
    }
    Ok(format!("/{}/{}", object.plural, id))
}

fn with_depth(req: Request, depth: Option<u8>) -> Request {
    match depth {
        Some(depth) => req.query("depth", depth.to_string()),
        None => req,
    }
}

fn record_id(record: &Value) -> Option<String> {
    record.get("id").and_then(Value::as_str).map(str::to_owned)
}

/// Gives every record without an id a fresh UUID v4; fails on a record that
/// is not an object or whose id is not a string.
/// Records by id, in input order.
type WithIds = Vec<(String, Value)>;

/// The records with an id each, a fresh one where none was given, and the
/// ids that were given.
fn with_ids(records: Vec<Value>) -> Result<(WithIds, Vec<String>), Error> {
    let mut given = Vec::new();
    records
        .into_iter()
        .enumerate()
        .map(|(i, record)| {
            let Value::Object(mut fields) = record else {
                return Err(Error::InvalidInput {
                    reason: format!("record {i} is not a json object"),
                });
            };
            let id = match fields.get("id") {
                None | Some(Value::Null) => {
                    let id = uuid::Uuid::new_v4().to_string();
                    fields.insert("id".into(), Value::String(id.clone()));
                    id
                }
                Some(Value::String(id)) if !id.trim().is_empty() => {
                    given.push(id.clone());
                    id.clone()
                }
                Some(_) => {
                    return Err(Error::InvalidInput {
                        reason: format!("record {i}: `id` must be a uuid string"),
                    });
                }
            };
            Ok((id, Value::Object(fields)))
        })
        .collect::<Result<Vec<_>, Error>>()
        .and_then(|list| {
            let mut seen = Map::new();
            for (id, _) in &list {
                if seen.insert(id.clone(), Value::Null).is_some() {
                    return Err(Error::InvalidInput {
                        reason: format!("id {id} appears twice in one create"),
                    });
                }
            }
            Ok((list, given))
        })
}

/// A lost answer to a create whose read-back failed too: the records may
/// exist, so the error names the ids they would have, for the caller to
/// look them up before creating again.
fn unconfirmed(error: Error, object: &Object, ids: &[String]) -> Error {
    let (
        Error::Network {
            method,
            url,
            cause,
            kind,
            attempts,
        },
        Some(first),
    ) = (&error, ids.first())
    else {
        return error;
    };
    let which = match ids.len() {
        1 => format!(
            "the {} may have been created as id {first}, and reading it back failed too",
            object.singular
        ),
        n => format!(
            "{n} {} may have been created, the first as id {first}, and reading them back \
             failed too",
            object.plural
        ),
    };
    Error::Network {
        method: *method,
        url: url.clone(),
        cause: format!("{cause}; {which}"),
        kind: *kind,
        attempts: *attempts,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn person() -> Object {
        Object {
            singular: "person".into(),
            plural: "people".into(),
            description: None,
            fields: vec![],
            operations: vec![],
        }
    }

    #[test]
    fn envelopes_are_unwrapped_by_kind() {
        let p = person();
        let body = json!({"data": {"createPerson": {"id": "1"}}});
        assert_eq!(
            unwrap_envelope(&p, OperationKind::CreateOne, &body).unwrap(),
            json!({"id": "1"})
        );
        let body = json!({"data": {"createPeople": [{"id": "1"}]}});
        assert_eq!(
            unwrap_envelope(&p, OperationKind::CreateMany, &body).unwrap(),
            json!([{"id": "1"}])
        );
        let body = json!({"data": {"people": []}, "pageInfo": {}});
        assert_eq!(
            unwrap_envelope(&p, OperationKind::FindMany, &body).unwrap(),
            json!([])
        );
        let body = json!({"data": {"deletePerson": {"id": "9"}}});
        assert_eq!(
            unwrap_envelope(&p, OperationKind::DeleteOne, &body).unwrap(),
            json!({"id": "9"})
        );
        let body = json!({"data": [{"personDuplicates": []}]});
        assert_eq!(
            unwrap_envelope(&p, OperationKind::FindDuplicates, &body).unwrap(),
            json!([{"personDuplicates": []}])
        );
        let body = json!({"data": {"restorePerson": {"id": "2"}}});
        assert_eq!(
            unwrap_envelope(&p, OperationKind::RestoreOne, &body).unwrap(),
            json!({"id": "2"})
        );
        let body = json!({"ok": true});
        assert_eq!(
            unwrap_envelope(&p, OperationKind::Other, &body).unwrap(),
            body
        );
    }

    #[test]
    fn a_missing_key_names_its_json_path() {
        let p = person();
        let err = unwrap_envelope(&p, OperationKind::UpdateOne, &json!({"data": {}})).unwrap_err();
        assert!(
            err.to_string().contains("`data.updatePerson` is missing"),
            "{err}"
        );
        let err = unwrap_envelope(&p, OperationKind::FindOne, &json!([1])).unwrap_err();
        assert!(err.to_string().contains("`data` is missing"), "{err}");
        assert_eq!(err.exit_code(), 1);
    }

    #[test]
    fn records_get_ids_unless_they_have_one() {
        let (list, given) = with_ids(vec![json!({"name": "a"}), json!({"id": "x-1"})]).unwrap();
        assert_eq!(given, vec!["x-1".to_string()]);
        assert_eq!(list[1].0, "x-1");
        assert!(uuid::Uuid::parse_str(&list[0].0).is_ok());
        assert_eq!(list[0].1["id"], json!(list[0].0));
        assert!(with_ids(vec![json!([1])]).is_err());
        assert!(with_ids(vec![json!({"id": 5})]).is_err());
        assert!(with_ids(vec![json!({"id": "a"}), json!({"id": "a"})]).is_err());
    }

    #[test]
    fn ids_cannot_change_the_path() {
        assert_eq!(record_path(&person(), "abc-1").unwrap(), "/people/abc-1");
        let err = record_path(&person(), "../x").unwrap_err();
        assert_eq!(err.exit_code(), 2);
        assert!(record_path(&person(), "").is_err());
    }
}
