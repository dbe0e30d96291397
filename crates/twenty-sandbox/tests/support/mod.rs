//! Shared set-up of the sandbox tests: catalogs read from the real
//! documents, a sandbox on 127.0.0.1:0 and a small JSON client.
#![allow(dead_code)]

use std::net::SocketAddr;

use reqwest::Method;
use serde_json::Value;
use twenty_core::Catalog;
use twenty_sandbox::{Sandbox, SandboxConfig};

pub const V1: &str = "twenty-v1.0.3-openapi.json";
pub const V14: &str = "twenty-v1.4.0-openapi.json";
pub const Y2026: &str = "twenty-2026-openapi.yaml";

#[path = "../../../../tests/shared_specs.rs"]
mod shared_specs;

pub use shared_specs::spec as spec_path;

pub fn catalog(name: &str) -> Catalog {
    twenty_core::load::from_path(&spec_path(name)).expect("the shared document loads")
}

pub fn local() -> SocketAddr {
    "127.0.0.1:0".parse().expect("a socket address")
}

/// Percent-encodes a query value.
pub fn enc(text: &str) -> String {
    let mut out = String::new();
    for b in text.bytes() {
        if b.is_ascii_alphanumeric() || b"-_.~".contains(&b) {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

pub struct Env {
    pub sandbox: Sandbox,
    pub http: reqwest::Client,
}

/// A reply: status and JSON body (Null when the body is not JSON).
#[derive(Debug)]
pub struct Reply {
    pub status: u16,
    pub body: Value,
    pub headers: reqwest::header::HeaderMap,
}

impl Env {
    pub async fn start(catalog: Catalog) -> Env {
        Env::with(SandboxConfig::new(catalog)).await
    }

    pub async fn with(config: SandboxConfig) -> Env {
        let sandbox = Sandbox::start(config, local())
            .await
            .expect("the sandbox starts");
        Env {
            sandbox,
            http: reqwest::Client::new(),
        }
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}/rest{path}", self.sandbox.url())
    }

    pub async fn try_call(
        &self,
        method: Method,
        path: &str,
        body: Option<Value>,
    ) -> Result<Reply, reqwest::Error> {
        let mut request = self
            .http
            .request(method, self.url(path))
            .bearer_auth(self.sandbox.api_key());
        if let Some(body) = body {
            request = request.json(&body);
        }
        let response = request.send().await?;
        let status = response.status().as_u16();
        let headers = response.headers().clone();
        let bytes = response.bytes().await?;
        let body = serde_json::from_slice(&bytes).unwrap_or(Value::Null);
        Ok(Reply {
            status,
            body,
            headers,
        })
    }

    pub async fn call(&self, method: Method, path: &str, body: Option<Value>) -> Reply {
        self.try_call(method, path, body)
            .await
            .expect("the sandbox answers")
    }

    pub async fn get(&self, path: &str) -> Reply {
        self.call(Method::GET, path, None).await
    }

    pub async fn post(&self, path: &str, body: Value) -> Reply {
        self.call(Method::POST, path, Some(body)).await
    }

    pub async fn patch(&self, path: &str, body: Value) -> Reply {
        self.call(Method::PATCH, path, Some(body)).await
    }

    pub async fn delete(&self, path: &str) -> Reply {
        self.call(Method::DELETE, path, None).await
    }

    /// Creates one record and returns it, failing the test otherwise.
    pub async fn create(&self, plural: &str, key: &str, body: Value) -> Value {
        let reply = self.post(&format!("/{plural}"), body).await;
        assert_eq!(reply.status, 201, "create {plural}: {}", reply.body);
        reply.body["data"][key].clone()
    }

    /// Every record of a list, following `hasNextPage`.
    pub async fn list_all(&self, plural: &str, query: &str) -> Vec<Value> {
        let mut out = Vec::new();
        let mut cursor: Option<String> = None;
        loop {
            let mut path = format!("/{plural}?{query}");
            if let Some(c) = &cursor {
                path.push_str(&format!("&starting_after={}", enc(c)));
            }
            let reply = self.get(&path).await;
            assert_eq!(reply.status, 200, "{}", reply.body);
            let page = reply.body["data"][plural]
                .as_array()
                .expect("a page")
                .clone();
            out.extend(page);
            if reply.body["pageInfo"]["hasNextPage"] != Value::Bool(true) {
                return out;
            }
            cursor = reply.body["pageInfo"]["endCursor"]
                .as_str()
                .map(str::to_string);
        }
    }
}
