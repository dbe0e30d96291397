//! Injected faults, the rate limiter and the body limit, seen from a client.
mod support;

use std::collections::HashSet;
use std::time::{Duration, Instant};

use reqwest::Method;
use serde_json::json;
use support::*;
use twenty_sandbox::{RateLimit, SandboxConfig};

/// What a client observed for one request.
fn observed(result: &Result<Reply, reqwest::Error>, elapsed: Duration) -> String {
    match result {
        Err(_) => "reset".to_string(),
        Ok(r)
            if r.status == 400
                && r.body["messages"][0]
                    .as_str()
                    .is_some_and(|m| m.starts_with("Limit reached")) =>
        {
            "400limit".to_string()
        }
        Ok(r) if r.status == 200 && elapsed >= Duration::from_millis(40) => "latency".to_string(),
        Ok(r) => r.status.to_string(),
    }
}

#[tokio::test]
async fn seeded_faults_produce_every_kind() {
    let mut config = SandboxConfig::new(catalog(V1));
    config.faults = Some("seed=42,rate=0.5,kinds=429+400limit+500+502+503+reset-before+reset-after+latency,latency-ms=50".parse().expect("a valid spec"));
    let env = Env::with(config).await;

    let mut seen = HashSet::new();
    for _ in 0..200 {
        let started = Instant::now();
        let result = env.try_call(Method::GET, "/companies", None).await;
        let kind = observed(&result, started.elapsed());
        if kind == "429" {
            let reply = result.as_ref().expect("a reply");
            assert_eq!(
                reply
                    .headers
                    .get("retry-after")
                    .and_then(|v| v.to_str().ok()),
                Some("1")
            );
            assert_eq!(reply.body["statusCode"], 429);
        }
        seen.insert(kind);
    }
    for kind in [
        "200", "429", "400limit", "500", "502", "503", "reset", "latency",
    ] {
        assert!(seen.contains(kind), "no {kind} among {seen:?}");
    }
    env.sandbox.shutdown().await;
}

#[tokio::test]
async fn reset_after_commit_is_visible_after_restart() {
    let dir = std::env::temp_dir().join(format!("twenty-sandbox-reset-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let path = dir.join("sandbox.db");
    let id = "5b0a4c52-8a55-4a7d-9a44-3a1c2b0d9e02";

    let mut config = SandboxConfig::new(catalog(V1));
    config.storage = twenty_sandbox::Storage::File(path.clone());
    config.faults = Some("rate=1,kinds=reset-after".parse().expect("a valid spec"));
    let env = Env::with(config).await;
    let result = env
        .try_call(
            Method::POST,
            "/companies",
            Some(json!({"id": id, "name": "Reset Co"})),
        )
        .await;
    assert!(
        result.is_err(),
        "the client must see a dropped connection, got {result:?}"
    );
    env.sandbox.shutdown().await;

    let mut config = SandboxConfig::new(catalog(V1));
    config.storage = twenty_sandbox::Storage::File(path);
    let env = Env::with(config).await;
    let reply = env.get(&format!("/companies/{id}")).await;
    assert_eq!(reply.status, 200, "{}", reply.body);
    assert_eq!(reply.body["data"]["company"]["name"], "Reset Co");
    env.sandbox.shutdown().await;
    let _ = std::fs::remove_dir_all(&dir);
}

#[tokio::test]
async fn reset_before_does_not_run_the_handler() {
    let dir = std::env::temp_dir().join(format!("twenty-sandbox-resetb-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let path = dir.join("sandbox.db");
    let id = "5b0a4c52-8a55-4a7d-9a44-3a1c2b0d9e03";

    let mut config = SandboxConfig::new(catalog(V1));
    config.storage = twenty_sandbox::Storage::File(path.clone());
    config.faults = Some("rate=1,kinds=reset-before".parse().expect("a valid spec"));
    let env = Env::with(config).await;
    let result = env
        .try_call(
            Method::POST,
            "/companies",
            Some(json!({"id": id, "name": "Never"})),
        )
        .await;
    assert!(
        result.is_err(),
        "the client must see a dropped connection, got {result:?}"
    );
    env.sandbox.shutdown().await;

    let mut config = SandboxConfig::new(catalog(V1));
    config.storage = twenty_sandbox::Storage::File(path);
    let env = Env::with(config).await;
    let reply = env.get(&format!("/companies/{id}")).await;
    assert_eq!(reply.status, 404, "{}", reply.body);
    env.sandbox.shutdown().await;
    let _ = std::fs::remove_dir_all(&dir);
}

#[tokio::test]
async fn rate_limit_answers_429_with_headers() {
    let mut config = SandboxConfig::new(catalog(V1));
    config.rate_limit = Some(RateLimit {
        requests: 3,
        window: Duration::from_secs(60),
    });
    let env = Env::with(config).await;
    for left in [2, 1, 0] {
        let reply = env.get("/companies").await;
        assert_eq!(reply.status, 200);
        assert_eq!(reply.headers["x-ratelimit-limit"], "3");
        assert_eq!(
            reply.headers["x-ratelimit-remaining"],
            left.to_string().as_str()
        );
    }
    let reply = env.get("/companies").await;
    assert_eq!(reply.status, 429);
    assert_eq!(reply.body["error"], "ThrottlerException");
    assert_eq!(reply.headers["x-ratelimit-remaining"], "0");
    let retry: u64 = reply.headers["retry-after"]
        .to_str()
        .expect("ascii")
        .parse()
        .expect("seconds");
    assert!((1..=60).contains(&retry), "retry-after {retry}");

    // The OpenAPI document is outside the limiter.
    let doc = env
        .http
        .get(env.url("/open-api/core"))
        .send()
        .await
        .expect("an answer");
    assert_eq!(doc.status().as_u16(), 200);
    env.sandbox.shutdown().await;
}

#[tokio::test]
async fn faults_never_touch_the_openapi_document() {
    let mut config = SandboxConfig::new(catalog(V1));
    config.faults = Some(
        "rate=1,kinds=500+reset-before"
            .parse()
            .expect("a valid spec"),
    );
    let env = Env::with(config).await;
    for path in ["/rest/open-api/core", "/open-api/core"] {
        let reply = env
            .http
            .get(format!("{}{path}", env.sandbox.url()))
            .send()
            .await
            .expect("an answer");
        assert_eq!(reply.status().as_u16(), 200);
        let doc: serde_json::Value = reply.json().await.expect("json");
        assert!(doc["paths"].as_object().is_some_and(|p| p.len() > 100));
        let server = doc["servers"][0]["url"].as_str().expect("a server url");
        assert!(server.ends_with("/rest/"), "{server}");
    }
    env.sandbox.shutdown().await;
}

#[tokio::test]
async fn bodies_over_the_limit_get_413() {
    let mut config = SandboxConfig::new(catalog(V1));
    config.body_limit = 1024;
    let env = Env::with(config).await;
    let reply = env
        .post("/companies", json!({"name": "x".repeat(4096)}))
        .await;
    assert_eq!(reply.status, 413);
    assert_eq!(reply.body["statusCode"], 413);
    let reply = env.post("/companies", json!({"name": "small"})).await;
    assert_eq!(reply.status, 201);
    env.sandbox.shutdown().await;
}
