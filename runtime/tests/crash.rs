//! Kill the `baton` process with SIGKILL after acks were received, restart it
//! on the same store, and find every acknowledged op there. Run on SQLite and
//! on a real Postgres server started by the test.

mod common;

use std::process::Child;
use std::time::Duration;

use baton_store::pg_harness::PgHarness;
use common::{free_port, start, token, wait_ready};
use futures_util::{SinkExt, StreamExt};
use serde_json::{json, Value};
use tokio_tungstenite::tungstenite::Message;

/// Send `n` adds (in windows of 32 unacknowledged ops) and return the acked
/// (seq, content) pairs seen before the process is killed.
async fn write_until_killed(port: u16, tok: &str, n: u64, mut child: Child) -> Vec<(u64, String)> {
    let mut ws = common::connect(port, tok).await;
    ws.send(Message::Text(
        json!({"type":"hello","protocol":1,"device":{"kind":"tv"}})
            .to_string()
            .into(),
    ))
    .await
    .expect("hello");
    let mut acked = Vec::new();
    let mut sent = 0u64;
    let kill_after = n / 2;
    loop {
        while sent < n && sent < acked.len() as u64 + 32 {
            sent += 1;
            let op = json!({"type":"op","seq":sent,"op":{"kind":"watchlist_add","content":format!("c:{sent}"),"added_at_ms":1}});
            if ws.send(Message::Text(op.to_string().into())).await.is_err() {
                return acked;
            }
        }
        let frame = match tokio::time::timeout(Duration::from_secs(10), ws.next()).await {
            Ok(Some(Ok(Message::Text(t)))) => serde_json::from_str::<Value>(&t).expect("json"),
            Ok(Some(Ok(_))) => continue,
            _ => return acked,
        };
        if frame["type"] == "ack" {
            let seq = frame["seq"].as_u64().expect("seq");
            acked.push((seq, format!("c:{seq}")));
            if acked.len() as u64 == kill_after {
                // Acks are in hand; ops after them are in flight. Kill now.
                child.kill().expect("SIGKILL");
                let _ = child.wait();
            }
        }
    }
}

async fn crash_and_recover(db: Option<String>) {
    let dir = tempfile::tempdir().expect("tempdir");
    let port = free_port();
    let child = start(dir.path(), port, db.as_deref());
    wait_ready(port).await;
    let tok = token(dir.path(), port, db.as_deref(), "crash", "tv");
    let acked = write_until_killed(port, &tok, 400, child).await;
    assert!(
        acked.len() >= 200,
        "got {} acks before the kill",
        acked.len()
    );

    let port2 = free_port();
    let mut child = start(dir.path(), port2, db.as_deref());
    wait_ready(port2).await;
    let resp = reqwest::Client::new()
        .get(format!("http://127.0.0.1:{port2}/v1/users/crash/watchlist"))
        .bearer_auth(&tok)
        .send()
        .await
        .expect("rest");
    assert_eq!(resp.status(), 200);
    let body: Value = resp.json().await.expect("json");
    let present: std::collections::HashSet<String> = body["items"]
        .as_array()
        .expect("items")
        .iter()
        .map(|i| i["content"].as_str().expect("content").to_owned())
        .collect();
    let lost: Vec<&(u64, String)> = acked.iter().filter(|(_, c)| !present.contains(c)).collect();
    assert!(
        lost.is_empty(),
        "acknowledged ops lost after SIGKILL: {lost:?}"
    );
    assert!(body["version"].as_u64().expect("version") >= acked.len() as u64);
    child.kill().expect("kill");
    let _ = child.wait();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigkill_loses_no_acknowledged_op_on_sqlite() {
    crash_and_recover(None).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigkill_loses_no_acknowledged_op_on_postgres() {
    let pg = PgHarness::start().expect("postgres starts");
    let url = pg.create_database().await.expect("database");
    crash_and_recover(Some(url)).await;
}
