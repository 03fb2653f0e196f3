//! `baton user export|erase` against a real `baton` process (SQLite): the CLI mints
//! its admin token with the node's development key, the export holds the device's
//! op, the erasure closes the device's socket with 4010 and empties the user, and a
//! second erasure is a no-op.

mod common;

use std::path::Path;
use std::time::Duration;

use common::{command, free_port, start, token, wait_ready};
use futures_util::{SinkExt, StreamExt};
use serde_json::{json, Value};
use tokio_tungstenite::tungstenite::Message;

fn user_cmd(data: &Path, port: u16, action: &str, user: &str) -> Value {
    let out = command(data, port, None)
        .args(["user", action, "--user", user])
        .env_remove("BATON_ADMIN_TOKEN")
        .output()
        .expect("baton user runs");
    assert!(
        out.status.success(),
        "baton user {action}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).expect("JSON on stdout")
}

async fn next_text(ws: &mut common::Ws) -> Option<Value> {
    match tokio::time::timeout(Duration::from_secs(10), ws.next()).await {
        Ok(Some(Ok(Message::Text(t)))) => Some(serde_json::from_str(&t).expect("json")),
        Ok(Some(Ok(Message::Close(frame)))) => {
            Some(json!({"closed": frame.map(|f| u16::from(f.code))}))
        }
        Ok(Some(Ok(_))) => Some(Value::Null),
        _ => None,
    }
}

#[tokio::test]
async fn export_then_erase_through_the_cli() {
    let dir = tempfile::tempdir().expect("tempdir");
    let port = free_port();
    let mut child = start(dir.path(), port, None);
    wait_ready(port).await;

    let tok = token(dir.path(), port, None, "cli-user", "tv");
    let mut ws = common::connect(port, &tok).await;
    let hello = json!({"type":"hello","protocol":1,"device":{"kind":"tv"}});
    ws.send(Message::Text(hello.to_string().into()))
        .await
        .expect("hello");
    let op = json!({"type":"op","seq":1,"op":{"kind":"watchlist_add","content":"movie:7","added_at_ms":1}});
    ws.send(Message::Text(op.to_string().into()))
        .await
        .expect("op");
    while let Some(frame) = next_text(&mut ws).await {
        if frame["type"] == "ack" {
            break;
        }
    }

    let export = user_cmd(dir.path(), port, "export", "cli-user");
    assert_eq!(
        export["state"]["watchlist"][0]["content"], "movie:7",
        "{export}"
    );
    assert!(export["history"]
        .as_array()
        .expect("history")
        .iter()
        .any(|e| e["record"]["content"] == "movie:7"));

    let erased = user_cmd(dir.path(), port, "erase", "cli-user");
    assert!(erased["log_entries"].as_u64() >= Some(1), "{erased}");
    assert_eq!(erased["closed_live_sessions"], true);
    let mut close = None;
    while let Some(frame) = next_text(&mut ws).await {
        if let Some(code) = frame.get("closed") {
            close = code.as_u64();
            break;
        }
    }
    assert_eq!(close, Some(4010));

    let again = user_cmd(dir.path(), port, "erase", "cli-user");
    assert_eq!(again["log_entries"], 0, "{again}");
    let export = user_cmd(dir.path(), port, "export", "cli-user");
    assert_eq!(
        export["history"].as_array().map(Vec::len),
        Some(0),
        "{export}"
    );
    assert_eq!(
        export["state"]["watchlist"].as_array().map(Vec::len),
        Some(0)
    );
    assert!(export["erased_at_ms"].as_u64().is_some());

    // A bad user id is refused by the node, and the CLI says so.
    let out = command(dir.path(), port, None)
        .args(["user", "export", "--user", "bad user"])
        .output()
        .expect("runs");
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("invalid_user_id"));

    let _ = child.kill();
    let _ = child.wait();
}
