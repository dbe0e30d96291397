//! Log lines: decisions at debug, wire detail at trace, and never the key.

mod support;

use std::io::Write;
use std::sync::{Arc, Mutex};

use serde_json::json;
use support::{Reply, TestServer, person};

const KEY: &str = "sk-log-test-secret-987";
const ID: &str = "20202020-0000-4000-8000-000000000001";

/// Collects everything the subscriber writes.
#[derive(Clone, Default)]
struct Captured(Arc<Mutex<Vec<u8>>>);

impl Write for Captured {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

// A current-thread runtime keeps every poll on this thread, where the
// scoped subscriber is installed.
#[tokio::test(flavor = "current_thread")]
async fn trace_logs_show_the_wire_and_decisions_but_never_the_key() {
    let captured = Captured::default();
    let writer = captured.clone();
    let subscriber = tracing_subscriber::fmt()
        .with_max_level(tracing::Level::TRACE)
        .with_ansi(false)
        .with_writer(move || writer.clone())
        .finish();
    let _guard = tracing::subscriber::set_default(subscriber);

    let server = TestServer::scripted(vec![
        // The look-up of the id the caller gave, before the create.
        Reply::json(
            200,
            json!({"data": {"people": []}, "pageInfo": {"hasNextPage": false}, "totalCount": 0}),
        ),
        Reply::error(429, &format!("slow down {KEY}")).header("retry-after", "0"),
        Reply::json(201, json!({"data": {"createPerson": {"id": ID}}})),
    ])
    .await;
    server
        .client(Some(&format!("Bearer {KEY}")))
        .create_one(&person(), json!({"id": ID, "city": "Rome"}), None)
        .await
        .unwrap();

    let logs = String::from_utf8(captured.0.lock().unwrap().clone()).unwrap();
    assert!(!logs.contains(KEY), "key in logs:\n{logs}");
    assert!(logs.contains("DEBUG"), "{logs}");
    assert!(logs.contains("retrying POST"), "{logs}");
    assert!(logs.contains("after 0.0s (429), attempt 2 of 4"), "{logs}");
    assert!(logs.contains("sending POST"), "{logs}");
    assert!(logs.contains("\"city\":\"Rome\""), "{logs}");
    assert!(logs.contains("received 201"), "{logs}");
}
