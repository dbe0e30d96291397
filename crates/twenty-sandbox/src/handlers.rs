//! The HTTP side: the router, the guard every `/rest/` request passes
//! (faults, authentication, rate limit), the dispatch from method and path
//! to an operation of the catalog, and one `records_*` handler per
//! operation kind.

use std::collections::HashMap;
use std::sync::Arc;

use axum::Router;
use axum::body::{Body, Bytes};
use axum::extract::{Query, State};
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, Uri, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{any, get};
use rusqlite::Connection;
use serde_json::{Map, Value, json};
use twenty_core::filter::Filter;
use twenty_core::names::pascal;
use twenty_core::{Cardinality, Catalog, FieldType, Object, OperationKind};

use crate::error::{AppError, AppResult};
use crate::faults::{FaultKind, Faults, Limiter, Verdict};
use crate::query::{self, SortKey, Sql};
use crate::record::{self, is_uuid};
use crate::store::{self, Db, json_expr, table};
use crate::{API_KEY_NAME, SandboxConfig, SandboxError, Seed};

/// Objects whose records only link two others; deleting either end deletes
/// them.
const JUNCTIONS: [&str; 5] = [
    "noteTarget",
    "taskTarget",
    "favorite",
    "attachment",
    "timelineActivity",
];

/// Nested record lists are read in chunks of this many parent ids, well
/// under SQLite's parameter limit.
const CHUNK: usize = 500;

pub(crate) struct Inner {
    pub(crate) catalog: Catalog,
    pub(crate) db: Db,
    api_key: String,
    body_limit: usize,
    faults: Option<Faults>,
    limiter: Option<Limiter>,
}

/// The state every handler shares: the catalog, the store and the guard
/// settings. Cheap to clone.
#[derive(Clone)]
pub struct AppState(Arc<Inner>);

impl AppState {
    /// Opens the store and seeds it as the configuration asks. Blocks: call
    /// it from a blocking context.
    pub fn new(config: SandboxConfig) -> Result<AppState, SandboxError> {
        let db = Db::open(&config.storage, &config.catalog)?;
        let inner = Inner {
            catalog: config.catalog,
            db,
            api_key: config.api_key,
            body_limit: config.body_limit,
            faults: config.faults.map(Faults::new),
            limiter: config.rate_limit.map(Limiter::new),
        };
        if let Some(person) = inner
            .catalog
            .objects
            .iter()
            .find(|o| o.singular == "person")
            && person.field("emails").is_some()
        {
            inner
                .db
                .ensure_index(person, "emails", Some("primaryEmail"))
                .map_err(|e| SandboxError::Seed(format!("{e:?}")))?;
        }
        if config.seed == Seed::Demo {
            crate::seed::seed_if_empty(&inner).map_err(|e| SandboxError::Seed(format!("{e:?}")))?;
        }
        Ok(AppState(Arc::new(inner)))
    }
}

/// The sandbox's routes: the OpenAPI document and everything under
/// `/rest/`.
pub fn router(state: AppState) -> Router {
    Router::new()
        .route("/rest/open-api/core", get(openapi_get))
        .route("/open-api/core", get(openapi_get))
        .route("/rest", any(rest_dispatch))
        .route("/rest/", any(rest_dispatch))
        .route("/rest/{*path}", any(rest_dispatch))
        .fallback(not_found)
        .with_state(state)
}

async fn not_found(method: Method, uri: Uri) -> Response {
    AppError::NotFound(format!("Cannot {method} {}", uri.path())).into_response()
}

async fn openapi_get(State(state): State<AppState>, headers: HeaderMap) -> Response {
    let host = headers
        .get(header::HOST)
        .and_then(|h| h.to_str().ok())
        .unwrap_or("127.0.0.1");
    let url = format!("http://{host}/rest/");
    let document = twenty_core::export::to_openapi(&state.0.catalog, &url);
    axum::Json(document).into_response()
}

/// Compares two keys in time that depends only on their lengths.
fn same_key(a: &[u8], b: &[u8]) -> bool {
    let mut diff = a.len() ^ b.len();
    for i in 0..a.len().max(b.len()) {
        let x = a.get(i).copied().unwrap_or(0);
        let y = b.get(i).copied().unwrap_or(0);
        diff |= usize::from(x ^ y);
    }
    diff == 0
}

fn authenticate(inner: &Inner, headers: &HeaderMap) -> AppResult<String> {
    let missing = || AppError::Forbidden("Missing authentication token".to_string());
    let value = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .ok_or_else(missing)?
        .trim();
    let token = match value.get(..7) {
        Some(p) if p.eq_ignore_ascii_case("bearer ") => value[7..].trim(),
        _ if value.eq_ignore_ascii_case("bearer") => "",
        _ => value,
    };
    if token.is_empty() {
        return Err(missing());
    }
    if !same_key(token.as_bytes(), inner.api_key.as_bytes()) {
        return Err(AppError::Unauthenticated("Token invalid.".to_string()));
    }
    Ok(token.to_string())
}

/// A response whose body fails at once, which makes hyper drop the
/// connection without sending an answer.
fn reset_response() -> Response {
    let stream = futures_util::stream::once(async {
        Err::<Bytes, std::io::Error>(std::io::Error::other("injected connection reset"))
    });
    Response::new(Body::from_stream(stream))
}

async fn rest_dispatch(
    State(state): State<AppState>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Body,
) -> Response {
    let inner = &state.0;
    let mut body = body;
    let mut reset_after = false;
    if let Some(faults) = &inner.faults {
        let mut request = 0;
        if faults.counts_in_row() {
            let bytes = match axum::body::to_bytes(body, inner.body_limit).await {
                Ok(bytes) => bytes,
                Err(_) => return AppError::TooLarge(inner.body_limit).into_response(),
            };
            request = fingerprint(&method, &uri, &bytes);
            body = Body::from(bytes);
        }
        match faults.roll(request) {
            None => {}
            Some(FaultKind::Latency) => tokio::time::sleep(faults.spec.latency).await,
            Some(FaultKind::ResetBefore) => return reset_response(),
            Some(FaultKind::ResetAfter) => reset_after = true,
            Some(FaultKind::TooManyRequests) => {
                return AppError::TooMany {
                    retry_after: faults.spec.retry_after,
                    limit: None,
                }
                .into_response();
            }
            Some(FaultKind::LimitReached) => {
                return AppError::bad("Limit reached: too many requests, retry later")
                    .into_response();
            }
            Some(FaultKind::InternalError) => {
                return AppError::Injected(StatusCode::INTERNAL_SERVER_ERROR).into_response();
            }
            Some(FaultKind::BadGateway) => {
                return AppError::Injected(StatusCode::BAD_GATEWAY).into_response();
            }
            Some(FaultKind::Unavailable) => {
                return AppError::Injected(StatusCode::SERVICE_UNAVAILABLE).into_response();
            }
        }
    }

    let key = match authenticate(inner, &headers) {
        Ok(key) => key,
        Err(e) => return e.into_response(),
    };
    let mut remaining = None;
    if let Some(limiter) = &inner.limiter {
        match limiter.check(&key) {
            Verdict::Allowed { remaining: r } => remaining = Some((limiter.limit(), r)),
            Verdict::Refused { retry_after } => {
                return AppError::TooMany {
                    retry_after,
                    limit: Some(limiter.limit()),
                }
                .into_response();
            }
        }
    }

    let mut response = match route(&state, &method, &uri, &headers, body).await {
        Ok(response) => response,
        Err(e) => e.into_response(),
    };
    if reset_after {
        return reset_response();
    }
    if let Some((limit, left)) = remaining {
        let h = response.headers_mut();
        h.insert("x-ratelimit-limit", HeaderValue::from(limit));
        h.insert("x-ratelimit-remaining", HeaderValue::from(left));
    }
    response
}

/// Tells apart requests that differ in method, URL or body, so that one
/// sent again is known as the same request.
fn fingerprint(method: &Method, uri: &Uri, body: &[u8]) -> u64 {
    use std::hash::{DefaultHasher, Hash, Hasher};
    let mut hasher = DefaultHasher::new();
    (method.as_str(), uri.to_string(), body).hash(&mut hasher);
    hasher.finish()
}

/// The parsed query string.
type Params = HashMap<String, String>;

async fn route(
    state: &AppState,
    method: &Method,
    uri: &Uri,
    headers: &HeaderMap,
    body: Body,
) -> AppResult<Response> {
    let inner = &state.0;
    let params: Params = Query::<Params>::try_from_uri(uri)
        .map(|q| q.0)
        .map_err(|e| AppError::bad(format!("invalid query string: {e}")))?;
    let path = uri.path().strip_prefix("/rest").unwrap_or(uri.path());
    let segments: Vec<&str> = path.split('/').filter(|s| !s.is_empty()).collect();
    let cannot = || AppError::NotFound(format!("Cannot {method} {}", uri.path()));

    let (kind, plural, id) = match (method.clone(), segments.as_slice()) {
        (_, ["metadata", ..]) | (_, []) => return Err(cannot()),
        (Method::POST, ["batch", plural]) => (OperationKind::CreateMany, *plural, None),
        (Method::PATCH, ["restore", plural]) => (OperationKind::RestoreMany, *plural, None),
        (Method::PATCH, ["restore", plural, id]) => (OperationKind::RestoreOne, *plural, Some(*id)),
        (Method::GET, [plural]) => (OperationKind::FindMany, *plural, None),
        (Method::POST, [plural]) => (OperationKind::CreateOne, *plural, None),
        (Method::PATCH, [plural]) => (OperationKind::UpdateMany, *plural, None),
        (Method::DELETE, [plural]) => (OperationKind::DeleteMany, *plural, None),
        (Method::POST, [plural, "duplicates"]) => (OperationKind::FindDuplicates, *plural, None),
        (Method::PATCH, [plural, "merge"]) => (OperationKind::Merge, *plural, None),
        (Method::GET, [plural, "groupBy"]) => (OperationKind::GroupBy, *plural, None),
        (Method::GET, [plural, id]) => (OperationKind::FindOne, *plural, Some(*id)),
        (Method::PATCH | Method::PUT, [plural, id]) => {
            (OperationKind::UpdateOne, *plural, Some(*id))
        }
        (Method::DELETE, [plural, id]) => (OperationKind::DeleteOne, *plural, Some(*id)),
        _ if offered(&inner.catalog, method, &segments) => return Err(not_served(method, uri)),
        _ => return Err(cannot()),
    };

    let index = object_index(&inner.catalog, plural)?;
    let object = &inner.catalog.objects[index];
    if let Some(id) = id
        && !is_uuid(id)
    {
        return Err(AppError::bad(format!("'{id}' is not a valid UUID")));
    }
    match kind {
        // Without the operation in the catalog, the segment is read as an
        // id, as a server of that version would read it.
        OperationKind::Merge | OperationKind::GroupBy if object.operation(kind).is_none() => {
            return Err(AppError::bad(format!(
                "'{}' is not a valid UUID",
                segments[1]
            )));
        }
        OperationKind::Merge | OperationKind::GroupBy => return Err(not_served(method, uri)),
        _ if object.operation(kind).is_none() => return Err(cannot()),
        _ => {}
    }
    let id = id.map(str::to_lowercase);

    let body = match kind {
        OperationKind::FindMany
        | OperationKind::FindOne
        | OperationKind::DeleteOne
        | OperationKind::DeleteMany => Value::Null,
        OperationKind::RestoreOne | OperationKind::RestoreMany => {
            read_json(inner, headers, body, true).await?
        }
        _ => read_json(inner, headers, body, false).await?,
    };

    let call = Call {
        state: state.clone(),
        object: index,
        params,
    };
    match kind {
        OperationKind::FindMany => records_find_many(call).await,
        OperationKind::FindOne => records_find_one(call, id.unwrap_or_default()).await,
        OperationKind::CreateOne => records_create_one(call, body).await,
        OperationKind::CreateMany => records_create_many(call, body).await,
        OperationKind::UpdateOne => records_update_one(call, id.unwrap_or_default(), body).await,
        OperationKind::DeleteOne => records_delete_one(call, id.unwrap_or_default()).await,
        OperationKind::FindDuplicates => records_find_duplicates(call, body).await,
        OperationKind::UpdateMany => records_update_many(call, body).await,
        OperationKind::DeleteMany => records_delete_many(call).await,
        OperationKind::RestoreOne => records_restore_one(call, id.unwrap_or_default()).await,
        OperationKind::RestoreMany => records_restore_many(call).await,
        _ => Err(cannot()),
    }
}

/// Whether the catalog has an operation of this method whose path, with
/// its `{...}` parameters, matches `segments`.
fn offered(catalog: &Catalog, method: &Method, segments: &[&str]) -> bool {
    let matches = |template: &str| {
        let parts: Vec<&str> = template.split('/').filter(|s| !s.is_empty()).collect();
        parts.len() == segments.len()
            && parts
                .iter()
                .zip(segments)
                .all(|(part, segment)| part.starts_with('{') || part == segment)
    };
    catalog
        .objects
        .iter()
        .flat_map(|o| &o.operations)
        .chain(&catalog.general)
        .any(|op| op.method.as_str() == method.as_str() && matches(&op.path))
}

/// The answer to an operation the catalog offers and the sandbox does not
/// serve; its module doc lists them.
fn not_served(method: &Method, uri: &Uri) -> AppError {
    AppError::NotServed(format!(
        "the sandbox does not serve {method} {}: only a Twenty server does",
        uri.path()
    ))
}

fn object_index(catalog: &Catalog, plural: &str) -> AppResult<usize> {
    if let Some(i) = catalog.objects.iter().position(|o| o.plural == plural) {
        return Ok(i);
    }
    let mut message = format!("object '{plural}' not found. eg: companies");
    if let Some(o) = catalog.objects.iter().find(|o| o.singular == plural) {
        message.push_str(&format!(" Did you mean '{}'?", o.plural));
    }
    Err(AppError::bad(message))
}

/// Reads the body up to the configured limit and parses it as JSON; an
/// empty body is `{}` where `empty_ok`.
async fn read_json(
    inner: &Inner,
    headers: &HeaderMap,
    body: Body,
    empty_ok: bool,
) -> AppResult<Value> {
    let limit = inner.body_limit;
    let declared = headers
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<usize>().ok());
    if declared.is_some_and(|n| n > limit) {
        return Err(AppError::TooLarge(limit));
    }
    let bytes = axum::body::to_bytes(body, limit)
        .await
        .map_err(|_| AppError::TooLarge(limit))?;
    if bytes.iter().all(u8::is_ascii_whitespace) {
        if empty_ok {
            return Ok(json!({}));
        }
        return Err(AppError::bad("the request body is empty; send a JSON body"));
    }
    serde_json::from_slice(&bytes)
        .map_err(|e| AppError::bad(format!("invalid JSON in the request body: {e}")))
}

/// What every handler gets: the state, which object, the query string.
struct Call {
    state: AppState,
    object: usize,
    params: Params,
}

impl Call {
    fn object(&self) -> &Object {
        &self.state.0.catalog.objects[self.object]
    }

    /// Runs `f` with the store on the blocking pool.
    async fn blocking<R: Send + 'static>(
        &self,
        f: impl FnOnce(&Inner, &Object) -> AppResult<R> + Send + 'static,
    ) -> AppResult<R> {
        let inner = self.state.0.clone();
        let index = self.object;
        tokio::task::spawn_blocking(move || f(&inner, &inner.catalog.objects[index]))
            .await
            .map_err(|e| AppError::Internal(format!("a store task failed: {e}")))?
    }

    fn depth(&self) -> AppResult<u8> {
        let allowed = self.state.0.catalog.depth_values();
        let Some(text) = self.params.get("depth") else {
            return Ok(0);
        };
        match text.parse::<u8>() {
            Ok(d) if allowed.contains(&d) => Ok(d),
            _ => Err(AppError::bad(format!(
                "'depth={text}' parameter invalid. Allowed values are {}",
                allowed
                    .iter()
                    .map(u8::to_string)
                    .collect::<Vec<_>>()
                    .join(", ")
            ))),
        }
    }

    fn flag(&self, name: &str) -> bool {
        self.params.get(name).is_some_and(|v| v == "true")
    }

    fn filter(&self) -> AppResult<Option<Filter>> {
        match self.params.get("filter") {
            Some(text) if !text.trim().is_empty() => Ok(Some(query::parse_filter(text)?)),
            _ => Ok(None),
        }
    }

    /// Everything of a find many but the object.
    fn list_query(&self) -> AppResult<ListQuery> {
        let object = self.object();
        let order = match self.params.get("order_by") {
            Some(text) if !text.trim().is_empty() => Some(query::parse_order_by(text)?),
            _ => None,
        };
        let max = self.state.0.catalog.max_limit();
        let limit = match self.params.get("limit") {
            None => 60.min(max),
            Some(text) => match text.trim().parse::<u64>() {
                Ok(n) => n.min(u64::from(max)) as u32,
                Err(_) => {
                    return Err(AppError::bad(format!(
                        "limit '{text}' is invalid. Should be an integer"
                    )));
                }
            },
        };
        let filter = self.filter()?;
        if let Some(f) = &filter {
            // Checked here so that a bad filter is a 400 before any work.
            query::filter_sql(object, f, &mut Sql::default())?;
        }
        let keys = query::sort_keys(object, order.as_ref())?;
        let cursor = |name: &str| -> AppResult<Option<Vec<Value>>> {
            match self.params.get(name) {
                Some(c) if !c.is_empty() => Ok(Some(query::decode_cursor(&keys, c)?)),
                _ => Ok(None),
            }
        };
        let after = cursor("starting_after")?;
        let before = cursor("ending_before")?;
        Ok(ListQuery {
            filter,
            limit,
            depth: self.depth()?,
            after,
            before,
            keys,
        })
    }
}

/// A parsed find many (or duplicates list) request.
struct ListQuery {
    filter: Option<Filter>,
    keys: Vec<SortKey>,
    limit: u32,
    depth: u8,
    after: Option<Vec<Value>>,
    before: Option<Vec<Value>>,
}

fn object_named<'a>(catalog: &'a Catalog, singular: &str) -> Option<&'a Object> {
    catalog.objects.iter().find(|o| o.singular == singular)
}

fn parse_record(text: &str) -> AppResult<Map<String, Value>> {
    match serde_json::from_str(text)? {
        Value::Object(m) => Ok(m),
        _ => Err(AppError::Internal(
            "a stored record is not an object".into(),
        )),
    }
}

fn created(value: Value) -> Response {
    (StatusCode::CREATED, axum::Json(value)).into_response()
}

fn ok(value: Value) -> Response {
    axum::Json(value).into_response()
}

/// Builds indexes for the paths a list query compares or sorts on.
fn index_query(inner: &Inner, object: &Object, q: &ListQuery) -> AppResult<()> {
    let mut paths = Vec::new();
    if let Some(f) = &q.filter {
        query::filter_paths(f, &mut paths);
    }
    for path in paths {
        let scalar = object.field(&path.field).is_some_and(|f| {
            let kind = match &path.sub_field {
                Some(s) => f.sub_field(s).map(|s| &s.kind),
                None => Some(&f.kind),
            };
            !matches!(
                kind,
                None | Some(FieldType::List { .. } | FieldType::Json | FieldType::Composite { .. })
            )
        });
        if scalar {
            inner
                .db
                .ensure_index(object, &path.field, path.sub_field.as_deref())?;
        }
    }
    if let Some(first) = q.keys.first() {
        inner
            .db
            .ensure_index(object, &first.field, first.sub.as_deref())?;
    }
    Ok(())
}

/// The WHERE clause shared by the count and the page of a list.
fn list_where(object: &Object, filter: Option<&Filter>, extra: Option<&Sql>) -> AppResult<Sql> {
    let mut sql = Sql::default();
    if filter.is_some_and(query::mentions_deleted_at) {
        sql.text.push('1');
    } else {
        sql.text.push_str("deleted_at IS NULL");
    }
    if let Some(f) = filter {
        sql.text.push_str(" AND ");
        query::filter_sql(object, f, &mut sql)?;
    }
    if let Some(extra) = extra {
        sql.text.push_str(" AND ");
        sql.text.push_str(&extra.text);
        sql.params.extend(extra.params.iter().cloned());
    }
    Ok(sql)
}

fn select_records(
    conn: &Connection,
    sql: &str,
    params: &[rusqlite::types::Value],
) -> AppResult<Vec<Map<String, Value>>> {
    let mut stmt = conn.prepare_cached(sql)?;
    let mut rows = stmt.query(rusqlite::params_from_iter(params.iter()))?;
    let mut out = Vec::new();
    while let Some(row) = rows.next()? {
        let text: String = row.get(0)?;
        out.push(parse_record(&text)?);
    }
    Ok(out)
}

fn exists_where(conn: &Connection, object: &Object, sql: &Sql) -> AppResult<bool> {
    let text = format!(
        "SELECT EXISTS (SELECT 1 FROM {} WHERE {})",
        table(object),
        sql.text
    );
    let mut stmt = conn.prepare_cached(&text)?;
    Ok(stmt.query_row(rusqlite::params_from_iter(sql.params.iter()), |r| r.get(0))?)
}

fn key_values(keys: &[SortKey], record: &Map<String, Value>) -> Vec<Value> {
    keys.iter()
        .map(|k| {
            let top = record.get(&k.field).unwrap_or(&Value::Null);
            match &k.sub {
                Some(s) => top.get(s).cloned().unwrap_or(Value::Null),
                None => top.clone(),
            }
        })
        .collect()
}

/// One page of a list: the records (expanded to the depth), page info and
/// the count of the whole filtered set.
fn run_list(
    inner: &Inner,
    conn: &Connection,
    object: &Object,
    q: &ListQuery,
    extra: Option<&Sql>,
) -> AppResult<(Vec<Value>, Value, u64)> {
    let base = list_where(object, q.filter.as_ref(), extra)?;
    let t = table(object);

    // Counting the live records of a filter walks an index entry by entry
    // (7 ms for every page of an export of 100,000), while SQLite counts a
    // whole table from its pages' headers: with no filter, count them all
    // and take away the soft-deleted few.
    let count_sql = if q.filter.is_none() && extra.is_none() {
        format!(
            "SELECT (SELECT count(*) FROM {t}) \
             - (SELECT count(*) FROM {t} WHERE deleted_at IS NOT NULL)"
        )
    } else {
        format!("SELECT count(*) FROM {t} WHERE {}", base.text)
    };
    let total: i64 = conn
        .prepare_cached(&count_sql)?
        .query_row(rusqlite::params_from_iter(base.params.iter()), |r| r.get(0))?;

    let backward = q.after.is_none() && q.before.is_some();
    let mut page_sql = Sql {
        text: format!("SELECT data FROM {t} WHERE {}", base.text),
        params: base.params.clone(),
    };
    if let Some(values) = q.after.as_ref().or(q.before.as_ref()) {
        page_sql.text.push_str(" AND ");
        query::keyset_sql(&q.keys, values, backward, false, &mut page_sql);
    }
    page_sql.text.push_str(&query::order_sql(&q.keys, backward));
    page_sql
        .text
        .push_str(&format!(" LIMIT {}", u64::from(q.limit) + 1));
    let mut records = select_records(conn, &page_sql.text, &page_sql.params)?;

    let more = records.len() > q.limit as usize;
    records.truncate(q.limit as usize);
    if backward {
        records.reverse();
    }

    // Whether records lie beyond the page on the side the request did not
    // page towards.
    let beyond = |record: Option<&Map<String, Value>>,
                  forward: bool,
                  cursor: Option<&Vec<Value>>|
     -> AppResult<bool> {
        let values = match (record, cursor) {
            (Some(r), _) => key_values(&q.keys, r),
            (None, Some(c)) => c.clone(),
            (None, None) => return Ok(false),
        };
        let mut sql = Sql {
            text: base.text.clone(),
            params: base.params.clone(),
        };
        sql.text.push_str(" AND ");
        query::keyset_sql(&q.keys, &values, !forward, record.is_none(), &mut sql);
        exists_where(conn, object, &sql)
    };
    let (has_next, has_previous) = if backward {
        (beyond(records.last(), true, q.before.as_ref())?, more)
    } else if let Some(after) = &q.after {
        (more, beyond(records.first(), false, Some(after))?)
    } else {
        (more, false)
    };

    let cursors = (
        records.first().map(|r| query::encode_cursor(&q.keys, r)),
        records.last().map(|r| query::encode_cursor(&q.keys, r)),
    );
    let records = expand(inner, conn, object, records, q.depth)?;
    let page_info = json!({
        "hasNextPage": has_next,
        "hasPreviousPage": has_previous,
        "startCursor": cursors.0,
        "endCursor": cursors.1,
    });
    Ok((
        records.into_iter().map(Value::Object).collect(),
        page_info,
        total.max(0) as u64,
    ))
}

/// Records of `object` whose `field` is one of `values`, live ones only,
/// in id order.
fn fetch_by(
    conn: &Connection,
    object: &Object,
    field: &str,
    values: &[String],
) -> AppResult<Vec<Map<String, Value>>> {
    let mut out = Vec::new();
    for chunk in values.chunks(CHUNK) {
        let marks = vec!["?"; chunk.len()].join(", ");
        let sql = format!(
            "SELECT data FROM {} WHERE {} IN ({marks}) AND deleted_at IS NULL ORDER BY id",
            table(object),
            json_expr(field, None)
        );
        let params: Vec<rusqlite::types::Value> = chunk
            .iter()
            .map(|v| rusqlite::types::Value::Text(v.clone()))
            .collect();
        out.extend(select_records(conn, &sql, &params)?);
    }
    Ok(out)
}

/// Adds the relation keys to `records` down to `depth` levels, keeping the
/// catalog's field order.
fn expand(
    inner: &Inner,
    conn: &Connection,
    object: &Object,
    records: Vec<Map<String, Value>>,
    depth: u8,
) -> AppResult<Vec<Map<String, Value>>> {
    if depth == 0 || records.is_empty() {
        return Ok(records);
    }
    let mut relations: Vec<Map<String, Value>> = vec![Map::new(); records.len()];
    for field in &object.fields {
        let FieldType::Relation {
            target,
            cardinality,
        } = &field.kind
        else {
            continue;
        };
        let target = object_named(&inner.catalog, target);
        match (cardinality, target) {
            (Cardinality::ManyToOne { id_field }, Some(target)) => {
                let mut ids: Vec<String> = records
                    .iter()
                    .filter_map(|r| r.get(id_field)?.as_str().map(str::to_string))
                    .collect();
                ids.sort();
                ids.dedup();
                let nested = expand(
                    inner,
                    conn,
                    target,
                    fetch_by(conn, target, "id", &ids)?,
                    depth - 1,
                )?;
                let by_id: HashMap<String, Map<String, Value>> = nested
                    .into_iter()
                    .filter_map(|r| Some((r.get("id")?.as_str()?.to_string(), r)))
                    .collect();
                for (record, rel) in records.iter().zip(relations.iter_mut()) {
                    let value = record
                        .get(id_field)
                        .and_then(Value::as_str)
                        .and_then(|id| by_id.get(id))
                        .map_or(Value::Null, |r| Value::Object(r.clone()));
                    rel.insert(field.name.clone(), value);
                }
            }
            (
                Cardinality::OneToMany {
                    inverse: Some(inverse),
                },
                Some(target),
            ) => {
                let ids: Vec<String> = records
                    .iter()
                    .filter_map(|r| r.get("id")?.as_str().map(str::to_string))
                    .collect();
                let nested = expand(
                    inner,
                    conn,
                    target,
                    fetch_by(conn, target, inverse, &ids)?,
                    depth - 1,
                )?;
                let mut groups: HashMap<String, Vec<Value>> = HashMap::new();
                for r in nested {
                    if let Some(parent) = r.get(inverse).and_then(Value::as_str) {
                        groups
                            .entry(parent.to_string())
                            .or_default()
                            .push(Value::Object(r));
                    }
                }
                for (record, rel) in records.iter().zip(relations.iter_mut()) {
                    let id = record.get("id").and_then(Value::as_str).unwrap_or_default();
                    let list = groups.get(id).cloned().unwrap_or_default();
                    rel.insert(field.name.clone(), Value::Array(list));
                }
            }
            (Cardinality::ManyToOne { .. }, None) => {
                relations.iter_mut().for_each(|r| {
                    r.insert(field.name.clone(), Value::Null);
                });
            }
            (Cardinality::OneToMany { .. }, _) => {
                relations.iter_mut().for_each(|r| {
                    r.insert(field.name.clone(), json!([]));
                });
            }
        }
    }

    Ok(records
        .into_iter()
        .zip(relations)
        .map(|(mut record, mut rel)| {
            let mut out = Map::new();
            for field in &object.fields {
                let value = if matches!(field.kind, FieldType::Relation { .. }) {
                    rel.remove(&field.name)
                } else {
                    record.remove(&field.name)
                };
                if let Some(v) = value {
                    out.insert(field.name.clone(), v);
                }
            }
            out
        })
        .collect())
}

fn expand_one(
    inner: &Inner,
    conn: &Connection,
    object: &Object,
    record: Map<String, Value>,
    depth: u8,
) -> AppResult<Value> {
    let mut out = expand(inner, conn, object, vec![record], depth)?;
    Ok(out.pop().map_or(Value::Null, Value::Object))
}

/// Refuses relation ids that name no record, and a person's primary e-mail
/// that another person has.
fn check_references(
    inner: &Inner,
    conn: &Connection,
    object: &Object,
    id: &str,
    body: &Map<String, Value>,
) -> AppResult<()> {
    for (field, target, target_id) in record::relation_ids(object, body) {
        let Some(target_object) = object_named(&inner.catalog, target) else {
            continue;
        };
        if !store::exists(conn, target_object, target_id)? {
            return Err(AppError::bad(format!(
                "{field} '{target_id}' does not name an existing {target}; create it first or send null"
            )));
        }
    }
    if object.singular == "person" {
        let email = body
            .get("emails")
            .and_then(|e| e.get("primaryEmail"))
            .and_then(Value::as_str)
            .filter(|e| !e.is_empty());
        if let Some(email) = email {
            let sql = format!(
                "SELECT EXISTS (SELECT 1 FROM {} WHERE {} = ?1 AND id != ?2 AND deleted_at IS NULL)",
                table(object),
                json_expr("emails", Some("primaryEmail"))
            );
            let taken: bool = conn
                .prepare_cached(&sql)?
                .query_row((email, id), |r| r.get(0))?;
            if taken {
                return Err(AppError::bad(format!(
                    "A duplicate entry was detected: field \"emails.primaryEmail\" must be unique and '{email}' is already used by another person"
                )));
            }
        }
    }
    Ok(())
}

/// Id of a record in a checked body that upsert should update instead of
/// creating, if any.
fn upsert_target(
    conn: &Connection,
    object: &Object,
    body: &Map<String, Value>,
) -> AppResult<Option<String>> {
    if let Some(id) = body.get("id").and_then(Value::as_str)
        && store::get_text(conn, object, id, false)?.is_some()
    {
        return Ok(Some(id.to_string()));
    }
    if object.singular == "person"
        && let Some(email) = body
            .get("emails")
            .and_then(|e| e.get("primaryEmail"))
            .and_then(Value::as_str)
            .filter(|e| !e.is_empty())
    {
        let sql = format!(
            "SELECT id FROM {} WHERE {} = ?1 AND deleted_at IS NULL LIMIT 1",
            table(object),
            json_expr("emails", Some("primaryEmail"))
        );
        let mut stmt = conn.prepare_cached(&sql)?;
        let mut rows = stmt.query([email])?;
        if let Some(row) = rows.next()? {
            return Ok(Some(row.get(0)?));
        }
    }
    Ok(None)
}

/// Creates one record from a checked body inside the caller's transaction.
pub(crate) fn create_record(
    inner: &Inner,
    conn: &Connection,
    object: &Object,
    body: &Map<String, Value>,
    upsert: bool,
) -> AppResult<Map<String, Value>> {
    if upsert && let Some(id) = upsert_target(conn, object, body)? {
        return update_record(inner, conn, object, &id, body);
    }
    if let Some(id) = body.get("id").and_then(Value::as_str)
        && store::exists(conn, object, id)?
    {
        return Err(AppError::bad("Record already exists"));
    }
    let now = record::now();
    let new = record::new_record(object, body, &now, API_KEY_NAME);
    let id = new
        .get("id")
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_string();
    check_references(inner, conn, object, &id, &new)?;
    store::insert(conn, object, &id, &Value::Object(new.clone()).to_string())?;
    Ok(new)
}

/// Applies a checked partial body to a live record inside the caller's
/// transaction.
fn update_record(
    inner: &Inner,
    conn: &Connection,
    object: &Object,
    id: &str,
    body: &Map<String, Value>,
) -> AppResult<Map<String, Value>> {
    let text = store::get_text(conn, object, id, false)?.ok_or_else(AppError::record_not_found)?;
    let mut stored = parse_record(&text)?;
    record::apply_update(&mut stored, body, &record::now());
    check_references(inner, conn, object, id, &stored)?;
    store::replace(conn, object, id, &Value::Object(stored.clone()).to_string())?;
    Ok(stored)
}

/// Deletes a record for good, with what hangs on it: junction records go,
/// other id fields pointing at it become null.
fn destroy_record(inner: &Inner, conn: &Connection, object: &Object, id: &str) -> AppResult<()> {
    store::remove(conn, object, id)?;
    for other in &inner.catalog.objects {
        for field in &other.fields {
            let FieldType::RelationId { target, .. } = &field.kind else {
                continue;
            };
            if *target != object.singular {
                continue;
            }
            let expr = json_expr(&field.name, None);
            let sql = if JUNCTIONS.contains(&other.singular.as_str()) {
                format!("DELETE FROM {} WHERE {expr} = ?1", table(other))
            } else {
                format!(
                    "UPDATE {} SET data = json_set(data, '$.\"{}\"', NULL) WHERE {expr} = ?1",
                    table(other),
                    field.name.replace(['\'', '"'], "")
                )
            };
            conn.prepare_cached(&sql)?.execute([id])?;
        }
    }
    Ok(())
}

fn set_deleted_at(
    conn: &Connection,
    object: &Object,
    id: &str,
    value: Value,
) -> AppResult<Map<String, Value>> {
    let text = store::get_text(conn, object, id, true)?.ok_or_else(AppError::record_not_found)?;
    let mut stored = parse_record(&text)?;
    stored.insert("deletedAt".into(), value);
    store::replace(conn, object, id, &Value::Object(stored.clone()).to_string())?;
    Ok(stored)
}

/// Ids of the records a filter selects, soft-deleted ones included only
/// when `deleted`.
fn matching_ids(
    conn: &Connection,
    object: &Object,
    filter: &Filter,
    deleted: bool,
) -> AppResult<Vec<String>> {
    let mut sql = Sql::default();
    sql.text.push_str(if deleted {
        "deleted_at IS NOT NULL AND "
    } else if query::mentions_deleted_at(filter) {
        ""
    } else {
        "deleted_at IS NULL AND "
    });
    query::filter_sql(object, filter, &mut sql)?;
    let text = format!(
        "SELECT id FROM {} WHERE {} ORDER BY id",
        table(object),
        sql.text
    );
    let mut stmt = conn.prepare_cached(&text)?;
    let ids = stmt
        .query_map(rusqlite::params_from_iter(sql.params.iter()), |r| {
            r.get::<_, String>(0)
        })?
        .collect::<Result<Vec<_>, _>>()?;
    Ok(ids)
}

fn required_filter(call: &Call) -> AppResult<Filter> {
    call.filter()?.ok_or_else(|| {
        AppError::bad(format!(
            "a filter is required to act on many {} (eg: ?filter=id[in]:[...])",
            call.object().plural
        ))
    })
}

async fn records_find_many(call: Call) -> AppResult<Response> {
    let q = call.list_query()?;
    let value = call
        .blocking(move |inner, object| {
            index_query(inner, object, &q)?;
            inner.db.read(|conn| {
                let (records, page_info, total) = run_list(inner, conn, object, &q, None)?;
                Ok(json!({
                    "data": { object.plural.clone(): records },
                    "pageInfo": page_info,
                    "totalCount": total,
                }))
            })
        })
        .await?;
    Ok(ok(value))
}

async fn records_find_one(call: Call, id: String) -> AppResult<Response> {
    let depth = call.depth()?;
    let response = call
        .blocking(move |inner, object| {
            inner.db.read(|conn| {
                let text = store::get_text(conn, object, &id, false)?
                    .ok_or_else(AppError::record_not_found)?;
                if depth == 0 {
                    // The stored text is the record at depth 0; splicing it
                    // saves a parse and a print on the hottest path.
                    let body = format!("{{\"data\":{{\"{}\":{text}}}}}", object.singular);
                    return Ok(([(header::CONTENT_TYPE, "application/json")], body).into_response());
                }
                let record = expand_one(inner, conn, object, parse_record(&text)?, depth)?;
                Ok(ok(json!({ "data": { object.singular.clone(): record } })))
            })
        })
        .await?;
    Ok(response)
}

async fn records_create_one(call: Call, body: Value) -> AppResult<Response> {
    let depth = call.depth()?;
    let upsert = call.flag("upsert")
        && call
            .object()
            .operation(OperationKind::CreateOne)
            .is_some_and(|op| op.param("upsert").is_some());
    let checked = record::check_body(call.object(), &body)?;
    let value = call
        .blocking(move |inner, object| {
            inner.db.write(|tx| {
                let record = create_record(inner, tx, object, &checked, upsert)?;
                let record = expand_one(inner, tx, object, record, depth)?;
                Ok(json!({ "data": { format!("create{}", pascal(&object.singular)): record } }))
            })
        })
        .await?;
    Ok(created(value))
}

async fn records_create_many(call: Call, body: Value) -> AppResult<Response> {
    let depth = call.depth()?;
    let max = call.state.0.catalog.max_limit() as usize;
    let upsert = call.flag("upsert")
        && call
            .object()
            .operation(OperationKind::CreateMany)
            .is_some_and(|op| op.param("upsert").is_some());
    let Value::Array(items) = body else {
        return Err(AppError::bad("Body must be an array"));
    };
    if items.is_empty() {
        return Err(AppError::bad("Input must not be empty"));
    }
    if items.len() > max {
        return Err(AppError::bad(format!(
            "Maximum number of records to upsert is {max}."
        )));
    }
    let checked = items
        .iter()
        .map(|item| record::check_body(call.object(), item))
        .collect::<AppResult<Vec<_>>>()?;
    let value = call
        .blocking(move |inner, object| {
            inner.db.write(|tx| {
                let mut out = Vec::with_capacity(checked.len());
                for body in &checked {
                    out.push(create_record(inner, tx, object, body, upsert)?);
                }
                let out = expand(inner, tx, object, out, depth)?;
                Ok(json!({ "data": { format!("create{}", pascal(&object.plural)): out } }))
            })
        })
        .await?;
    Ok(created(value))
}

async fn records_update_one(call: Call, id: String, body: Value) -> AppResult<Response> {
    let depth = call.depth()?;
    let checked = record::check_body(call.object(), &body)?;
    let value = call
        .blocking(move |inner, object| {
            inner.db.write(|tx| {
                let record = update_record(inner, tx, object, &id, &checked)?;
                let record = expand_one(inner, tx, object, record, depth)?;
                Ok(json!({ "data": { format!("update{}", pascal(&object.singular)): record } }))
            })
        })
        .await?;
    Ok(ok(value))
}

fn soft_allowed(call: &Call, kind: OperationKind) -> bool {
    call.flag("soft_delete")
        && call
            .object()
            .operation(kind)
            .is_some_and(|op| op.param("soft_delete").is_some())
}

async fn records_delete_one(call: Call, id: String) -> AppResult<Response> {
    let soft = soft_allowed(&call, OperationKind::DeleteOne);
    let value = call
        .blocking(move |inner, object| {
            inner.db.write(|tx| {
                if soft {
                    if store::get_text(tx, object, &id, false)?.is_none() {
                        return Err(AppError::record_not_found());
                    }
                    set_deleted_at(tx, object, &id, Value::String(record::now()))?;
                } else {
                    if !store::exists(tx, object, &id)? {
                        return Err(AppError::record_not_found());
                    }
                    destroy_record(inner, tx, object, &id)?;
                }
                Ok(json!({ "data": { format!("delete{}", pascal(&object.singular)): { "id": id } } }))
            })
        })
        .await?;
    Ok(ok(value))
}

async fn records_update_many(call: Call, body: Value) -> AppResult<Response> {
    let depth = call.depth()?;
    let filter = call.filter()?;
    let checked = record::check_body(call.object(), &body)?;
    if checked.contains_key("id") {
        return Err(AppError::bad("update many cannot change the id of records"));
    }
    let value = call
        .blocking(move |inner, object| {
            inner.db.write(|tx| {
                let filter = filter.unwrap_or(Filter::And(Vec::new()));
                let mut out = Vec::new();
                for id in matching_ids(tx, object, &filter, false)? {
                    out.push(update_record(inner, tx, object, &id, &checked)?);
                }
                let out = expand(inner, tx, object, out, depth)?;
                Ok(json!({ "data": { format!("update{}", pascal(&object.plural)): out } }))
            })
        })
        .await?;
    Ok(ok(value))
}

async fn records_delete_many(call: Call) -> AppResult<Response> {
    let filter = required_filter(&call)?;
    let soft = soft_allowed(&call, OperationKind::DeleteMany);
    let value = call
        .blocking(move |inner, object| {
            inner.db.write(|tx| {
                let ids = matching_ids(tx, object, &filter, false)?;
                for id in &ids {
                    if soft {
                        set_deleted_at(tx, object, id, Value::String(record::now()))?;
                    } else {
                        destroy_record(inner, tx, object, id)?;
                    }
                }
                let out: Vec<Value> = ids.into_iter().map(|id| json!({ "id": id })).collect();
                Ok(json!({ "data": { format!("delete{}", pascal(&object.plural)): out } }))
            })
        })
        .await?;
    Ok(ok(value))
}

async fn records_restore_one(call: Call, id: String) -> AppResult<Response> {
    let depth = call.depth()?;
    let value = call
        .blocking(move |inner, object| {
            inner.db.write(|tx| {
                let record = set_deleted_at(tx, object, &id, Value::Null)?;
                let record = expand_one(inner, tx, object, record, depth)?;
                Ok(json!({ "data": { format!("restore{}", pascal(&object.singular)): record } }))
            })
        })
        .await?;
    Ok(ok(value))
}

async fn records_restore_many(call: Call) -> AppResult<Response> {
    let depth = call.depth()?;
    let filter = required_filter(&call)?;
    let value = call
        .blocking(move |inner, object| {
            inner.db.write(|tx| {
                let mut out = Vec::new();
                for id in matching_ids(tx, object, &filter, true)? {
                    out.push(set_deleted_at(tx, object, &id, Value::Null)?);
                }
                let out = expand(inner, tx, object, out, depth)?;
                Ok(json!({ "data": { format!("restore{}", pascal(&object.plural)): out } }))
            })
        })
        .await?;
    Ok(ok(value))
}

/// The duplicate criteria of an object: groups of paths that must all
/// match (doc section 10).
fn duplicate_criteria(object: &Object) -> Vec<Vec<(&'static str, Option<&'static str>)>> {
    let all: Vec<Vec<(&'static str, Option<&'static str>)>> = match object.singular.as_str() {
        "person" => vec![
            vec![("name", Some("firstName")), ("name", Some("lastName"))],
            vec![("linkedinLink", Some("primaryLinkUrl"))],
            vec![("emails", Some("primaryEmail"))],
        ],
        "company" => vec![
            vec![("name", None)],
            vec![("domainName", Some("primaryLinkUrl"))],
        ],
        _ => Vec::new(),
    };
    all.into_iter()
        .filter(|c| {
            c.iter().all(|(f, s)| match (object.field(f), s) {
                (Some(field), Some(sub)) => field.sub_field(sub).is_some(),
                (Some(_), None) => true,
                _ => false,
            })
        })
        .collect()
}

/// The SQL condition "is a duplicate of `record`".
fn duplicate_condition(object: &Object, record: &Map<String, Value>) -> Sql {
    let mut sql = Sql::default();
    let mut terms = 0;
    sql.text.push('(');
    for criterion in duplicate_criteria(object) {
        let values: Option<Vec<String>> = criterion
            .iter()
            .map(|(f, s)| {
                let top = record.get(*f)?;
                let v = match s {
                    Some(s) => top.get(*s)?,
                    None => top,
                };
                let text = v.as_str()?;
                let text = if *f == "emails" {
                    text.to_lowercase()
                } else {
                    text.to_string()
                };
                (text.chars().count() >= 3).then_some(text)
            })
            .collect();
        let Some(values) = values else { continue };
        if terms > 0 {
            sql.text.push_str(" OR ");
        }
        terms += 1;
        sql.text.push('(');
        for (i, ((f, s), v)) in criterion.iter().zip(values).enumerate() {
            if i > 0 {
                sql.text.push_str(" AND ");
            }
            sql.text.push_str(&json_expr(f, *s));
            sql.text.push_str(" = ?");
            sql.params.push(rusqlite::types::Value::Text(v));
        }
        sql.text.push(')');
    }
    if terms == 0 {
        sql.text.push('0');
    }
    sql.text.push(')');
    if let Some(id) = record.get("id").and_then(Value::as_str) {
        sql.text.push_str(" AND id != ?");
        sql.params
            .push(rusqlite::types::Value::Text(id.to_string()));
    }
    sql
}

async fn records_find_duplicates(call: Call, body: Value) -> AppResult<Response> {
    let q = call.list_query()?;
    let data = body.get("data");
    let ids = body.get("ids");
    let inputs = match (data, ids) {
        (None, None) => {
            return Err(AppError::bad(
                "You have to provide either \"data\" or \"ids\" argument",
            ));
        }
        (Some(_), Some(_)) => {
            return Err(AppError::bad(
                "You cannot provide both \"data\" and \"ids\" arguments",
            ));
        }
        (Some(Value::Array(items)), None) if !items.is_empty() => {
            let mut out = Vec::new();
            for item in items {
                let Value::Object(m) = item else {
                    return Err(AppError::bad(
                        "every element of \"data\" must be a record object",
                    ));
                };
                let mut m = m.clone();
                // A sent id is not the record itself: find duplicates of it.
                m.remove("id");
                out.push(Ok(m));
            }
            out
        }
        (Some(_), None) => {
            return Err(AppError::bad(
                "The \"data\" condition can not be empty when \"ids\" input not provided",
            ));
        }
        (None, Some(Value::Array(items))) => {
            let mut out = Vec::new();
            for item in items {
                match item.as_str() {
                    Some(id) if is_uuid(id) => out.push(Err(id.to_lowercase())),
                    _ => return Err(AppError::bad(format!("'{item}' is not a valid UUID"))),
                }
            }
            out
        }
        (None, Some(_)) => return Err(AppError::bad("\"ids\" must be an array of record ids")),
    };
    let value = call
        .blocking(move |inner, object| {
            index_query(inner, object, &q)?;
            inner.db.read(|conn| {
                let key = format!("{}Duplicates", object.singular);
                let mut results = Vec::new();
                for input in inputs {
                    let record = match input {
                        Ok(record) => record,
                        Err(id) => {
                            let text = store::get_text(conn, object, &id, false)?
                                .ok_or_else(AppError::record_not_found)?;
                            parse_record(&text)?
                        }
                    };
                    let condition = duplicate_condition(object, &record);
                    let (records, page_info, total) =
                        run_list(inner, conn, object, &q, Some(&condition))?;
                    results.push(
                        json!({ key.clone(): records, "pageInfo": page_info, "totalCount": total }),
                    );
                }
                Ok(json!({ "data": results }))
            })
        })
        .await?;
    Ok(ok(value))
}

#[cfg(test)]
mod tests {
    use super::same_key;

    #[test]
    fn keys_compare_whole() {
        assert!(same_key(b"abc", b"abc"));
        assert!(!same_key(b"abc", b"abd"));
        assert!(!same_key(b"abc", b"abcd"));
        assert!(!same_key(b"", b"a"));
    }
}
