//! Repeating failed requests: when it is allowed, how long it waits, when
//! it gives up, and creates that end with exactly one record however the
//! answers get lost.

mod support;

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use serde_json::{Value, json};
use support::{Recorded, Reply, TestServer, person, quick_retries};
use twenty_client::{Client, Error, NetworkKind, Request, RetryPolicy, RetrySafety};
use twenty_core::Method;

const KEY: &str = "test-key";
const ID: &str = "20202020-0000-4000-8000-000000000001";

fn ok_person() -> Reply {
    Reply::json(200, json!({"data": {"person": {"id": ID}}}))
}

#[tokio::test]
async fn retry_after_seconds_is_honoured() {
    let server = TestServer::scripted(vec![
        Reply::error(429, "Too many requests").header("retry-after", "1"),
        ok_person(),
    ])
    .await;
    let started = Instant::now();
    let record = server
        .client(Some(KEY))
        .find_one(&person(), ID, None)
        .await
        .unwrap();
    assert_eq!(record["id"], ID);
    // The policy's own waits are at most 20 ms, so a full second can only
    // come from Retry-After.
    assert!(
        started.elapsed() >= Duration::from_secs(1),
        "{:?}",
        started.elapsed()
    );
    assert_eq!(server.requests().len(), 2);
}

#[tokio::test]
async fn limit_reached_400_is_retried_like_429() {
    let server = TestServer::scripted(vec![
        Reply::error(400, "Limit reached (100 requests per minute)"),
        ok_person(),
    ])
    .await;
    server
        .client(Some(KEY))
        .find_one(&person(), ID, None)
        .await
        .unwrap();
    assert_eq!(server.requests().len(), 2);
}

#[tokio::test]
async fn retries_stop_at_the_time_budget() {
    let server =
        TestServer::with(|_| Reply::error(429, "Too many requests").header("retry-after", "1"))
            .await;
    let mut config = server.config(Some(KEY));
    config.retry = RetryPolicy {
        max_attempts: 10,
        max_total: Duration::from_millis(1500),
        ..quick_retries()
    };
    let started = Instant::now();
    let err = Client::new(config)
        .unwrap()
        .find_one(&person(), ID, None)
        .await
        .unwrap_err();

    // Attempt at 0 s, wait 1 s, attempt at 1 s; another wait would end at
    // 2 s, past the 1.5 s budget, so it gives up there.
    assert!(
        matches!(
            err,
            Error::RateLimited {
                attempts: 2,
                retry_after: Some(_),
                ..
            }
        ),
        "{err:?}"
    );
    assert_eq!(err.exit_code(), 5);
    assert!(err.to_string().contains("after 2 attempts"), "{err}");
    assert_eq!(server.requests().len(), 2);
    assert!(
        started.elapsed() < Duration::from_millis(1500),
        "{:?}",
        started.elapsed()
    );
}

#[tokio::test]
async fn retries_stop_at_max_attempts() {
    let server = TestServer::with(|_| Reply::text(503, "<html>unavailable</html>")).await;
    let err = server
        .client(Some(KEY))
        .find_one(&person(), ID, None)
        .await
        .unwrap_err();
    assert!(matches!(err, Error::Server { status: 503, .. }), "{err:?}");
    assert_eq!(err.exit_code(), 1);
    assert_eq!(server.requests().len(), 4);
}

#[tokio::test]
async fn gateway_errors_and_dropped_connections_are_retried_for_reads() {
    let server = TestServer::scripted(vec![
        Reply::text(502, "bad gateway"),
        Reply::Drop,
        Reply::text(504, "gateway timeout"),
        ok_person(),
    ])
    .await;
    let record = server
        .client(Some(KEY))
        .find_one(&person(), ID, None)
        .await
        .unwrap();
    assert_eq!(record["id"], ID);
    assert_eq!(server.requests().len(), 4);
}

#[tokio::test]
async fn an_internal_error_is_retried_for_reads_and_updates() {
    // Twenty refuses bad requests with 400, so a 500 is the server failing,
    // often for a moment; a request safe to repeat is sent again.
    for method in [Method::Get, Method::Patch] {
        let server = TestServer::scripted(vec![
            Reply::error(500, "Internal Server Error"),
            Reply::error(500, "Internal Server Error"),
            ok_person(),
        ])
        .await;
        let mut req = Request::new(method, format!("/people/{ID}"));
        if method == Method::Patch {
            req = req.body(json!({"city": "Paris"}));
        }
        assert_eq!(req.retry, RetrySafety::Always);
        let response = server.client(Some(KEY)).send(req).await.unwrap();
        assert_eq!(response.body["data"]["person"]["id"], ID);
        assert_eq!(server.requests().len(), 3);
    }
}

#[tokio::test]
async fn a_post_is_not_repeated_when_the_server_may_have_acted() {
    for reply in [
        Reply::text(503, "unavailable"),
        Reply::error(500, "Internal Server Error"),
        Reply::Drop,
    ] {
        let dropped = matches!(reply, Reply::Drop);
        let server = TestServer::scripted(vec![reply, Reply::json(200, json!({"data": {}}))]).await;
        let req = Request::new(Method::Post, "/people/duplicates").body(json!({"ids": [ID]}));
        assert_eq!(req.retry, RetrySafety::WhenUnprocessed);
        let err = server.client(Some(KEY)).send(req).await.unwrap_err();
        assert!(err.outcome_unknown(), "{err:?}");
        if dropped {
            assert!(
                matches!(
                    err,
                    Error::Network {
                        kind: NetworkKind::Interrupted,
                        ..
                    }
                ),
                "{err:?}"
            );
        }
        assert_eq!(server.requests().len(), 1);
    }
}

#[tokio::test]
async fn a_post_refused_for_the_rate_limit_is_repeated() {
    let server = TestServer::scripted(vec![
        Reply::error(429, "Too many requests").header("retry-after", "0"),
        Reply::json(200, json!({"data": []})),
    ])
    .await;
    let req = Request::new(Method::Post, "/people/duplicates").body(json!({"ids": [ID]}));
    server.client(Some(KEY)).send(req).await.unwrap();
    assert_eq!(server.requests().len(), 2);
}

#[tokio::test]
async fn never_means_one_attempt() {
    let server = TestServer::scripted(vec![Reply::error(429, "slow down"), ok_person()]).await;
    let req = Request::new(Method::Get, format!("/people/{ID}")).retry(RetrySafety::Never);
    let err = server.client(Some(KEY)).send(req).await.unwrap_err();
    assert!(matches!(err, Error::RateLimited { attempts: 1, .. }));
    assert_eq!(server.requests().len(), 1);
}

#[tokio::test]
async fn rate_limit_is_shared_by_clones() {
    let server = TestServer::with(|_| ok_person()).await;
    let mut config = server.config(Some(KEY));
    config.rate_limit = Some(600); // one request per 100 ms
    let client = Client::new(config).unwrap();
    let started = Instant::now();
    let mut tasks = Vec::new();
    for _ in 0..4 {
        let c = client.clone();
        tasks.push(tokio::spawn(async move {
            c.find_one(&person(), ID, None).await
        }));
    }
    for t in tasks {
        t.await.unwrap().unwrap();
    }
    // Four requests spaced 100 ms apart: the last goes at 300 ms at the
    // earliest, whichever clone sends it.
    assert!(
        started.elapsed() >= Duration::from_millis(300),
        "{:?}",
        started.elapsed()
    );
    assert_eq!(server.requests().len(), 4);
}

/// A stand-in for Twenty's people endpoints with a record store, so tests
/// can count what was really created.
#[derive(Clone, Default)]
struct FakePeople {
    store: Arc<Mutex<BTreeMap<String, Value>>>,
    /// What the nth POST does after committing (`None`: answer normally).
    post_faults: Arc<Mutex<Vec<PostFault>>>,
    /// Read-backs to answer empty, to mimic a lost request that commits
    /// only after the client looked.
    blind_reads: Arc<Mutex<u32>>,
}

#[derive(Clone, Copy, Debug)]
enum PostFault {
    /// Commit, then drop the connection.
    CommitThenDrop,
    /// Commit only the first n records, then drop.
    CommitSomeThenDrop(usize),
    /// Drop without committing (also when refusing the records).
    Drop,
    /// Commit, then answer 504 as a proxy would after its timeout.
    CommitThen504,
    /// Commit, then answer only after the client's timeout.
    CommitThenStall,
}

impl FakePeople {
    fn with_faults(faults: Vec<PostFault>) -> FakePeople {
        let fake = FakePeople::default();
        *fake.post_faults.lock().unwrap() = faults;
        fake
    }

    fn handle(&self, req: &Recorded) -> Reply {
        match (req.method.as_str(), req.path.as_str()) {
            ("POST", "/rest/people") => self.create(vec![req.json()], false),
            ("POST", "/rest/batch/people") => {
                self.create(req.json().as_array().unwrap().clone(), true)
            }
            ("GET", "/rest/people") => self.read_back(req),
            ("DELETE", path) => {
                let id = path.trim_start_matches("/rest/people/");
                let removed = self.store.lock().unwrap().remove(id);
                match (removed, self.next_fault()) {
                    (Some(_), Some(_)) => Reply::Drop,
                    (Some(_), None) => {
                        Reply::json(200, json!({"data": {"deletePerson": {"id": id}}}))
                    }
                    (None, _) => Reply::error(404, "Record not found"),
                }
            }
            other => panic!("unexpected request {other:?}"),
        }
    }

    fn next_fault(&self) -> Option<PostFault> {
        let mut faults = self.post_faults.lock().unwrap();
        (!faults.is_empty()).then(|| faults.remove(0))
    }

    fn create(&self, records: Vec<Value>, batch: bool) -> Reply {
        let fault = self.next_fault();
        let mut store = self.store.lock().unwrap();
        // All or nothing, as Twenty's create many.
        if records
            .iter()
            .any(|r| store.contains_key(r["id"].as_str().unwrap()))
        {
            // A refusal's answer can be lost as well.
            if matches!(fault, Some(PostFault::Drop)) {
                return Reply::Drop;
            }
            return Reply::error(400, "Record already exists");
        }
        let keep = match fault {
            Some(PostFault::Drop) => return Reply::Drop,
            Some(PostFault::CommitSomeThenDrop(n)) => n,
            _ => records.len(),
        };
        for record in records.iter().take(keep) {
            store.insert(record["id"].as_str().unwrap().to_owned(), record.clone());
        }
        match fault {
            Some(PostFault::CommitThenDrop | PostFault::CommitSomeThenDrop(_)) => Reply::Drop,
            Some(PostFault::CommitThen504) => Reply::text(504, "gateway timeout"),
            Some(PostFault::CommitThenStall) => Reply::Delay(
                Duration::from_secs(2),
                Box::new(Reply::json(
                    201,
                    json!({"data": {"createPerson": records[0]}}),
                )),
            ),
            _ if batch => Reply::json(201, json!({"data": {"createPeople": records}})),
            _ => Reply::json(201, json!({"data": {"createPerson": records[0]}})),
        }
    }

    fn read_back(&self, req: &Recorded) -> Reply {
        let ids = filter_ids(&req.param("filter").expect("read-back has a filter"));
        let mut blind = self.blind_reads.lock().unwrap();
        let found: Vec<Value> = if *blind > 0 {
            *blind -= 1;
            vec![]
        } else {
            let store = self.store.lock().unwrap();
            ids.iter().filter_map(|id| store.get(id).cloned()).collect()
        };
        Reply::json(
            200,
            json!({"data": {"people": found},
                   "pageInfo": {"hasNextPage": false, "endCursor": null}}),
        )
    }

    fn count(&self) -> usize {
        self.store.lock().unwrap().len()
    }
}

/// The ids of `id[in]:["a","b"]`.
fn filter_ids(filter: &str) -> Vec<String> {
    let inner = filter
        .strip_prefix("id[in]:[")
        .and_then(|f| f.strip_suffix(']'))
        .unwrap_or_else(|| panic!("not an id[in] filter: {filter}"));
    inner
        .split(',')
        .map(|s| s.trim_matches('"').to_owned())
        .collect()
}

async fn fake_server(fake: &FakePeople) -> TestServer {
    let handler = fake.clone();
    TestServer::with(move |req| handler.handle(req)).await
}

fn methods(server: &TestServer) -> Vec<String> {
    server
        .requests()
        .iter()
        .map(|r| format!("{} {}", r.method, r.path))
        .collect()
}

#[tokio::test]
async fn a_create_whose_answer_is_lost_is_read_back_not_repeated() {
    let fake = FakePeople::with_faults(vec![PostFault::CommitThenDrop]);
    let server = fake_server(&fake).await;

    let created = server
        .client(Some(KEY))
        .create_one(&person(), json!({"city": "Oslo"}), Some(1))
        .await
        .unwrap();

    assert_eq!(fake.count(), 1);
    assert_eq!(created["city"], "Oslo");
    assert_eq!(methods(&server), ["POST /rest/people", "GET /rest/people"]);
    let reqs = server.requests();
    let sent_id = reqs[0].json()["id"].as_str().unwrap().to_owned();
    assert_eq!(created["id"], sent_id.as_str());
    assert_eq!(
        reqs[1].param("filter").unwrap(),
        format!("id[in]:[\"{sent_id}\"]")
    );
    assert_eq!(reqs[1].param("depth").unwrap(), "1");
}

#[tokio::test]
async fn a_create_that_times_out_after_committing_is_read_back() {
    let fake = FakePeople::with_faults(vec![PostFault::CommitThenStall]);
    let server = fake_server(&fake).await;
    let mut config = server.config(Some(KEY));
    config.timeout = Duration::from_millis(200);
    let created = Client::new(config)
        .unwrap()
        .create_one(&person(), json!({"city": "Lima"}), None)
        .await
        .unwrap();
    assert_eq!(fake.count(), 1);
    assert_eq!(created["city"], "Lima");
    assert_eq!(methods(&server), ["POST /rest/people", "GET /rest/people"]);
}

#[tokio::test]
async fn a_create_lost_before_committing_is_sent_again_with_the_same_id() {
    let fake = FakePeople::with_faults(vec![PostFault::Drop]);
    let server = fake_server(&fake).await;
    let created = server
        .client(Some(KEY))
        .create_one(&person(), json!({"city": "Oslo"}), None)
        .await
        .unwrap();
    assert_eq!(fake.count(), 1);
    assert_eq!(
        methods(&server),
        ["POST /rest/people", "GET /rest/people", "POST /rest/people"]
    );
    let reqs = server.requests();
    assert_eq!(reqs[0].json(), reqs[2].json());
    assert_eq!(created["id"], reqs[0].json()["id"]);
}

#[tokio::test]
async fn already_exists_on_a_repeat_means_it_was_created() {
    // The first create commits but its answer is lost, and the first
    // read-back misses it; the repeat is refused as a duplicate, which the
    // client resolves by reading back again.
    let fake = FakePeople::with_faults(vec![PostFault::CommitThen504]);
    *fake.blind_reads.lock().unwrap() = 1;
    let server = fake_server(&fake).await;
    let created = server
        .client(Some(KEY))
        .create_one(&person(), json!({"city": "Oslo"}), None)
        .await
        .unwrap();
    assert_eq!(fake.count(), 1);
    assert_eq!(created["city"], "Oslo");
    assert_eq!(
        methods(&server),
        [
            "POST /rest/people",
            "GET /rest/people",
            "POST /rest/people",
            "GET /rest/people"
        ]
    );
}

/// An id the caller gives is looked up first: one that names an existing
/// record is refused before anything is posted, so that it can never pass
/// for a record this create made after a lost answer.
#[tokio::test]
async fn a_given_id_that_exists_is_refused_before_posting() {
    let fake = FakePeople::default();
    fake.store
        .lock()
        .unwrap()
        .insert(ID.into(), json!({"id": ID}));
    let server = fake_server(&fake).await;
    let err = server
        .client(Some(KEY))
        .create_one(&person(), json!({"id": ID}), None)
        .await
        .unwrap_err();
    assert!(matches!(err, Error::InvalidInput { .. }), "{err:?}");
    assert_eq!(
        err.to_string(),
        format!(
            "invalid input: a person with id {ID} exists already: update it, or leave \
             the id out to create a new record"
        )
    );
    assert_eq!(err.exit_code(), 2);
    assert_eq!(methods(&server), ["GET /rest/people"]);
}

/// The case the look-up is for: the caller's id is taken by a record that
/// existed before, and the answer refusing the create is lost. Without the
/// look-up the read-back would find that record and call it created.
#[tokio::test]
async fn a_given_id_taken_before_is_never_reported_as_created() {
    let fake = FakePeople::with_faults(vec![PostFault::Drop]);
    fake.store
        .lock()
        .unwrap()
        .insert(ID.into(), json!({"id": ID, "city": "Lyon"}));
    let server = fake_server(&fake).await;
    let result = server
        .client(Some(KEY))
        .create_one(&person(), json!({"id": ID, "city": "Rome"}), None)
        .await;
    assert!(
        matches!(result, Err(Error::InvalidInput { .. })),
        "{result:?}"
    );
    assert_eq!(fake.store.lock().unwrap()[ID]["city"], "Lyon");
}

#[tokio::test]
async fn a_lost_batch_resends_only_the_missing_records() {
    let fake = FakePeople::with_faults(vec![PostFault::CommitSomeThenDrop(2)]);
    let server = fake_server(&fake).await;
    let records = vec![
        json!({"city": "a"}),
        json!({"city": "b"}),
        json!({"city": "c"}),
    ];

    let created = server
        .client(Some(KEY))
        .create_many(&person(), records, None)
        .await
        .unwrap();

    assert_eq!(fake.count(), 3);
    let cities: Vec<_> = created
        .iter()
        .map(|r| r["city"].as_str().unwrap())
        .collect();
    assert_eq!(cities, ["a", "b", "c"]);
    assert_eq!(
        methods(&server),
        [
            "POST /rest/batch/people",
            "GET /rest/people",
            "POST /rest/batch/people"
        ]
    );
    let reqs = server.requests();
    let first = reqs[0].json();
    let resent = reqs[2].json();
    assert_eq!(resent.as_array().unwrap().len(), 1);
    assert_eq!(resent[0], first[2]);
}

#[tokio::test]
async fn read_back_asks_for_at_most_60_ids_at_a_time() {
    let fake = FakePeople::with_faults(vec![PostFault::CommitThenDrop]);
    let server = fake_server(&fake).await;
    let records: Vec<Value> = (0..65).map(|i| json!({"position": i})).collect();

    let created = server
        .client(Some(KEY))
        .create_many(&person(), records, None)
        .await
        .unwrap();

    assert_eq!(fake.count(), 65);
    assert_eq!(created.len(), 65);
    assert_eq!(created[64]["position"], 64);
    let reads: Vec<Recorded> = server
        .requests()
        .into_iter()
        .filter(|r| r.method == "GET")
        .collect();
    assert_eq!(reads.len(), 2);
    assert_eq!(filter_ids(&reads[0].param("filter").unwrap()).len(), 60);
    assert_eq!(filter_ids(&reads[1].param("filter").unwrap()).len(), 5);
    assert_eq!(reads[0].param("limit").unwrap(), "60");
    assert_eq!(
        server
            .requests()
            .iter()
            .filter(|r| r.method == "POST")
            .count(),
        1
    );
}

#[tokio::test]
async fn a_create_gives_up_when_attempts_run_out() {
    let fake = FakePeople::with_faults(vec![PostFault::Drop; 10]);
    let server = fake_server(&fake).await;
    let err = server
        .client(Some(KEY))
        .create_one(&person(), json!({}), None)
        .await
        .unwrap_err();
    assert!(matches!(err, Error::Network { .. }), "{err:?}");
    assert_eq!(err.exit_code(), 4);
    assert_eq!(fake.count(), 0);
    let posts = server
        .requests()
        .iter()
        .filter(|r| r.method == "POST")
        .count();
    assert_eq!(posts, quick_retries().max_attempts as usize);
}

#[tokio::test]
async fn a_delete_whose_answer_was_lost_succeeds_on_the_repeat() {
    let fake = FakePeople::with_faults(vec![PostFault::CommitThenDrop]);
    fake.store
        .lock()
        .unwrap()
        .insert(ID.into(), json!({"id": ID}));
    let server = fake_server(&fake).await;
    let deleted = server
        .client(Some(KEY))
        .delete_one(&person(), ID)
        .await
        .unwrap();
    assert_eq!(deleted, json!({"id": ID}));
    assert_eq!(fake.count(), 0);
    assert_eq!(server.requests().len(), 2);
}

#[tokio::test]
async fn deleting_a_missing_record_is_not_found() {
    let fake = FakePeople::default();
    let server = fake_server(&fake).await;
    let err = server
        .client(Some(KEY))
        .delete_one(&person(), ID)
        .await
        .unwrap_err();
    assert_eq!(err.exit_code(), 6);
    assert_eq!(server.requests().len(), 1);
}
