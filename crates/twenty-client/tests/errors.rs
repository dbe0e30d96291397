//! How answers and failures map to errors and exit codes, and that the key
//! never shows in any of them.

mod support;

use std::time::Duration;

use serde_json::json;
use support::{Reply, TestServer, person};
use twenty_client::{ApiKey, Client, ClientConfig, Error, NetworkKind, RetryPolicy};

const KEY: &str = "sk-live-very-secret-key-123";
const ID: &str = "20202020-0000-4000-8000-000000000001";

/// Every error, rendered every way, must not hold the key.
fn assert_no_key(err: &Error) {
    for text in [
        format!("{err}"),
        format!("{err:?}"),
        format!("{err:#?}"),
        err.hint().unwrap_or_default(),
    ] {
        assert!(!text.contains(KEY), "key leaked in: {text}");
        assert!(!text.contains("very-secret"), "key leaked in: {text}");
    }
}

async fn fail_once(reply: Reply) -> (Error, TestServer) {
    let server = TestServer::scripted(vec![reply]).await;
    let mut config = server.config(Some(KEY));
    config.retry = RetryPolicy::none();
    let err = Client::new(config)
        .unwrap()
        .find_one(&person(), ID, None)
        .await
        .unwrap_err();
    assert_no_key(&err);
    (err, server)
}

#[tokio::test]
async fn unauthenticated_maps_to_auth_with_the_server_message() {
    let (err, server) = fail_once(Reply::json(
        401,
        json!({"statusCode": 401, "error": "UNAUTHENTICATED", "messages": ["Token invalid."]}),
    ))
    .await;
    assert!(
        matches!(
            err,
            Error::Auth {
                status: 401,
                key_sent: true,
                ..
            }
        ),
        "{err:?}"
    );
    assert_eq!(err.exit_code(), 3);
    let text = err.to_string();
    assert!(
        text.starts_with("authentication failed: the api key was rejected by GET "),
        "{text}"
    );
    assert!(
        text.contains(&format!("{}/rest/people/{ID}", server.base)),
        "{text}"
    );
    assert!(text.ends_with("(401): Token invalid."), "{text}");
    let hint = err.hint().unwrap();
    assert!(hint.contains("`ClientConfig::api_key`"), "{hint}");
    assert_library_words(&hint);
}

/// A library hint names the library's settings, never a command's flags,
/// variables or subcommands, which a program using the crate may not have.
fn assert_library_words(hint: &str) {
    for cli in ["--", "TWENTY_", "twenty auth", "$"] {
        assert!(!hint.contains(cli), "`{cli}` in a library hint: {hint}");
    }
}

#[tokio::test]
async fn forbidden_without_a_key_says_none_was_given() {
    let server = TestServer::scripted(vec![Reply::json(
        403,
        json!({"statusCode": 403, "error": "FORBIDDEN_EXCEPTION",
               "messages": ["Missing authentication token"]}),
    )])
    .await;
    let err = server
        .client(None)
        .find_one(&person(), ID, None)
        .await
        .unwrap_err();
    assert!(matches!(
        err,
        Error::Auth {
            status: 403,
            key_sent: false,
            ..
        }
    ));
    assert_eq!(err.exit_code(), 3);
    assert!(err.to_string().contains("no api key was given"), "{err}");
}

#[tokio::test]
async fn not_found_comes_as_404_or_as_a_400_saying_so() {
    for reply in [
        Reply::error(404, "Record not found"),
        Reply::error(400, "Record not found"),
        Reply::error(400, "EntityNotFoundError"),
        Reply::error(
            400,
            "Could not find any entity of type \"person\" matching: {}",
        ),
    ] {
        let (err, _) = fail_once(reply).await;
        assert!(matches!(err, Error::NotFound { .. }), "{err:?}");
        assert_eq!(err.exit_code(), 6);
        assert!(err.to_string().starts_with("not found: GET "), "{err}");
    }
}

#[tokio::test]
async fn other_400s_are_bad_requests_with_every_message() {
    let (err, _) = fail_once(Reply::json(
        400,
        json!({"statusCode": 400, "error": "BadRequestException",
               "messages": ["field 'x' does not exist in 'person' object", "second"]}),
    ))
    .await;
    assert!(matches!(err, Error::BadRequest { status: 400, .. }));
    assert_eq!(err.exit_code(), 2);
    assert!(
        err.to_string()
            .ends_with("returned 400: field 'x' does not exist in 'person' object; second"),
        "{err}"
    );
    assert_eq!(err.messages().len(), 2);
}

#[tokio::test]
async fn rate_limit_answers_map_to_exit_code_5() {
    let (err, _) = fail_once(Reply::error(429, "Too many requests")).await;
    assert!(
        matches!(
            err,
            Error::RateLimited {
                status: 429,
                attempts: 1,
                ..
            }
        ),
        "{err:?}"
    );
    assert_eq!(err.exit_code(), 5);
    let (err, _) = fail_once(Reply::error(400, "Limit reached (100 requests per minute)")).await;
    assert!(
        matches!(err, Error::RateLimited { status: 400, .. }),
        "{err:?}"
    );
    assert_eq!(err.exit_code(), 5);
}

#[tokio::test]
async fn html_is_an_unexpected_response_hinting_at_the_base_url() {
    let page = format!(
        "<!doctype html><html><head><title>Twenty</title></head><body>{}</body></html>",
        "x".repeat(500)
    );
    let (err, _) = fail_once(Reply::text(200, &page)).await;
    assert!(
        matches!(
            err,
            Error::UnexpectedResponse {
                status: Some(200),
                ..
            }
        ),
        "{err:?}"
    );
    assert_eq!(err.exit_code(), 1);
    let text = err.to_string();
    assert!(text.contains("the body is not json"), "{text}");
    assert!(text.contains("<!doctype html>"), "{text}");
    assert!(text.len() < 500, "body not cut: {} chars", text.len());
    assert!(err.hint().unwrap().contains("wrong base url"));

    let (err, _) = fail_once(Reply::text(404, "<html>not here</html>")).await;
    assert!(
        matches!(
            err,
            Error::UnexpectedResponse {
                status: Some(404),
                ..
            }
        ),
        "{err:?}"
    );
}

#[tokio::test]
async fn graphql_style_and_empty_bodies_are_unexpected() {
    let (err, _) = fail_once(Reply::json(
        200,
        json!({"errors": [{"message": "Cannot query field \"people\""}]}),
    ))
    .await;
    assert!(matches!(err, Error::UnexpectedResponse { .. }));
    assert!(err.to_string().contains("GraphQL-style"), "{err}");

    let (err, _) = fail_once(Reply::text(200, "")).await;
    assert!(err.to_string().contains("the body is empty"), "{err}");
    assert_eq!(err.exit_code(), 1);
}

#[tokio::test]
async fn a_missing_envelope_key_names_the_json_path() {
    let (err, _) = fail_once(Reply::json(200, json!({"data": {"people": []}}))).await;
    assert!(
        err.to_string().contains("`data.person` is missing"),
        "{err}"
    );
    assert_eq!(err.exit_code(), 1);
}

#[tokio::test]
async fn server_errors_exit_1_and_nest_404_routes_hint_at_the_base_url() {
    let (err, _) = fail_once(Reply::error(500, "boom")).await;
    assert!(matches!(err, Error::Server { status: 500, .. }));
    assert_eq!(err.exit_code(), 1);

    let (err, _) = fail_once(Reply::json(
        404,
        json!({"statusCode": 404, "message": "Cannot GET /rest/rest/people", "error": "Not Found"}),
    ))
    .await;
    assert_eq!(err.exit_code(), 6);
    assert!(err.hint().unwrap().contains("base url"));
}

#[tokio::test]
async fn connection_refused_is_a_network_error_naming_url_and_cause() {
    // Bind then drop a listener to get a port nobody listens on.
    let port = {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        listener.local_addr().unwrap().port()
    };
    let mut config = ClientConfig::new(format!("http://127.0.0.1:{port}"));
    config.api_key = Some(ApiKey::new(KEY).unwrap());
    config.retry = RetryPolicy::none();
    let err = Client::new(config)
        .unwrap()
        .find_one(&person(), ID, None)
        .await
        .unwrap_err();
    assert_no_key(&err);
    assert!(
        matches!(
            err,
            Error::Network {
                kind: NetworkKind::Connect,
                ..
            }
        ),
        "{err:?}"
    );
    assert_eq!(err.exit_code(), 4);
    let text = err.to_string();
    assert!(
        text.contains(&format!("http://127.0.0.1:{port}/rest/people/{ID}")),
        "{text}"
    );
    assert!(text.contains("connection refused"), "{text}");
}

#[tokio::test]
async fn a_slow_server_is_a_timeout() {
    let server = TestServer::scripted(vec![Reply::Delay(
        Duration::from_millis(500),
        Box::new(Reply::json(200, json!({}))),
    )])
    .await;
    let mut config = server.config(Some(KEY));
    config.retry = RetryPolicy::none();
    config.timeout = Duration::from_millis(100);
    let err = Client::new(config)
        .unwrap()
        .find_one(&person(), ID, None)
        .await
        .unwrap_err();
    assert!(
        matches!(
            err,
            Error::Network {
                kind: NetworkKind::Timeout,
                ..
            }
        ),
        "{err:?}"
    );
    assert_eq!(err.exit_code(), 4);
    assert!(
        err.to_string()
            .ends_with("failed after 1 attempt: no answer within 0.1s"),
        "{err}"
    );
    let hint = err.hint().unwrap();
    assert!(hint.contains("`ClientConfig::timeout`"), "{hint}");
    assert_library_words(&hint);
}

#[tokio::test]
async fn a_timeout_after_retries_says_how_many_attempts_waited() {
    let slow = || {
        Reply::Delay(
            Duration::from_millis(500),
            Box::new(Reply::json(200, json!({}))),
        )
    };
    let server = TestServer::scripted(vec![slow(), slow(), slow()]).await;
    let mut config = server.config(Some(KEY));
    config.retry.max_attempts = 3;
    config.timeout = Duration::from_millis(100);
    let err = Client::new(config)
        .unwrap()
        .find_one(&person(), ID, None)
        .await
        .unwrap_err();
    assert!(
        matches!(
            err,
            Error::Network {
                kind: NetworkKind::Timeout,
                attempts: 3,
                ..
            }
        ),
        "{err:?}"
    );
    assert!(
        err.to_string()
            .ends_with("failed after 3 attempts: no answer within 0.1s"),
        "{err}"
    );
    assert_eq!(server.requests().len(), 3);
}

#[tokio::test]
async fn a_create_counts_every_request_it_sent() {
    // Each create times out, so its outcome is unknown: the client reads
    // the id back (empty list: not created) and sends the create again.
    let server = TestServer::with(|r| {
        if r.method == "GET" {
            Reply::json(
                200,
                json!({"data": {"people": []}, "pageInfo": {"hasNextPage": false}, "totalCount": 0}),
            )
        } else {
            Reply::Delay(
                Duration::from_millis(500),
                Box::new(Reply::json(201, json!({}))),
            )
        }
    })
    .await;
    let mut config = server.config(Some(KEY));
    config.retry.max_attempts = 2;
    config.timeout = Duration::from_millis(100);
    let err = Client::new(config)
        .unwrap()
        .create_one(&person(), json!({"name": {"firstName": "Ada"}}), None)
        .await
        .unwrap_err();
    let posts = server
        .requests()
        .iter()
        .filter(|r| r.method == "POST")
        .count();
    assert_eq!(posts, 2);
    assert!(matches!(err, Error::Network { attempts: 2, .. }), "{err:?}");
}

#[test]
fn library_hints_name_library_settings() {
    let err = Client::new(ClientConfig::new("http://crm.example.com")).unwrap_err();
    let hint = err.hint().unwrap();
    assert!(
        hint.contains("`ClientConfig::allow_insecure_http`"),
        "{hint}"
    );
    assert_library_words(&hint);

    let limited = Error::RateLimited {
        method: twenty_core::Method::Get,
        url: "https://crm.example.com/rest/people".into(),
        status: 429,
        attempts: 5,
        retry_after: Some(Duration::from_secs(7)),
        messages: vec![],
    };
    let hint = limited.hint().unwrap();
    assert!(hint.contains("wait 7s"), "{hint}");
    assert!(hint.contains("`ClientConfig::rate_limit`"), "{hint}");
    assert_library_words(&hint);

    for err in [
        ApiKey::new(" ").unwrap_err(),
        Error::Auth {
            method: twenty_core::Method::Get,
            url: "u".into(),
            status: 403,
            messages: vec![],
            key_sent: false,
        },
    ] {
        let hint = err.hint().unwrap();
        assert!(hint.contains("`ClientConfig::api_key`"), "{hint}");
        assert_library_words(&hint);
    }
}

#[tokio::test]
async fn a_server_echoing_the_key_has_it_scrubbed() {
    let (err, _) = fail_once(Reply::error(400, &format!("bad token Bearer {KEY}"))).await;
    assert!(err.to_string().contains("Bearer [redacted]"), "{err}");
    let (err, _) = fail_once(Reply::text(200, &format!("<html>{KEY}</html>"))).await;
    assert!(err.to_string().contains("[redacted]"), "{err}");
}

#[test]
fn configuration_errors_never_show_the_key_and_map_to_2() {
    let mut config = ClientConfig::new("http://crm.example.com/rest");
    config.api_key = Some(ApiKey::new(KEY).unwrap());
    let rendered = format!("{config:?}");
    assert!(!rendered.contains(KEY), "{rendered}");

    let err = Client::new(config.clone()).unwrap_err();
    assert!(matches!(err, Error::InsecureHttp { .. }));
    assert_eq!(err.exit_code(), 2);
    assert!(err.hint().unwrap().contains("allow_insecure_http"));
    assert_no_key(&err);

    config.allow_insecure_http = true;
    let client = Client::new(config).unwrap();
    assert_eq!(client.base_url(), "http://crm.example.com");
    assert!(!format!("{client:?}").contains(KEY));

    let err = ApiKey::new("\n").unwrap_err();
    assert_eq!(err.exit_code(), 2);
    let err = Client::new(ClientConfig::new("not a url")).unwrap_err();
    assert_eq!(err.exit_code(), 2);
}

#[tokio::test]
async fn redirects_are_reported_not_followed() {
    let (err, server) = fail_once(Reply::Body {
        status: 301,
        body: String::new(),
        headers: vec![(
            "location".into(),
            "https://crm.example.com/rest/people".into(),
        )],
    })
    .await;
    assert!(
        matches!(
            err,
            Error::UnexpectedResponse {
                status: Some(301),
                ..
            }
        ),
        "{err:?}"
    );
    assert!(
        err.to_string()
            .contains("redirects to `https://crm.example.com/rest/people`"),
        "{err}"
    );
    assert_eq!(server.requests().len(), 1);
}
