//! The backup and restore drill on SQLite, with `baton` processes: a device writes
//! under load, `baton backup --to FILE` runs while the node serves, the node is
//! killed, the backup is restored into a new node's data dir (with the signing
//! key, so the device's token still verifies), and there every op acknowledged
//! before the backup began is present, and the device resumes writing.

mod common;

use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use common::{command, free_port, start, token, wait_ready, Ws};
use futures_util::{SinkExt, StreamExt};
use serde_json::{json, Value};
use tokio_tungstenite::tungstenite::Message;

async fn send(ws: &mut Ws, frame: Value) {
    ws.send(Message::Text(frame.to_string().into()))
        .await
        .expect("send");
}

async fn next_of(ws: &mut Ws, kind: &str) -> Value {
    loop {
        let msg = tokio::time::timeout(Duration::from_secs(10), ws.next())
            .await
            .unwrap_or_else(|_| panic!("no {kind} in 10 s"));
        match msg {
            Some(Ok(Message::Text(t))) => {
                let frame: Value = serde_json::from_str(&t).expect("json");
                if frame["type"] == kind {
                    return frame;
                }
            }
            Some(Ok(_)) => {}
            other => panic!("socket ended before {kind}: {other:?}"),
        }
    }
}

fn add(seq: u64) -> Value {
    json!({"type":"op","seq":seq,"op":{"kind":"watchlist_add","content":format!("c:{seq}"),"added_at_ms":1}})
}

/// Writes ops (16 in flight) until `stop` holds `true`, recording every acked seq.
async fn write_until_stopped(mut ws: Ws, acked: Arc<Mutex<Vec<u64>>>, stop: Arc<Mutex<bool>>) {
    let mut sent = 0u64;
    let mut done = 0usize;
    loop {
        let stopping = *stop.lock().expect("lock");
        while !stopping && sent < done as u64 + 16 {
            sent += 1;
            send(&mut ws, add(sent)).await;
        }
        if stopping && done as u64 == sent {
            return;
        }
        let ack = next_of(&mut ws, "ack").await;
        acked
            .lock()
            .expect("lock")
            .push(ack["seq"].as_u64().expect("seq"));
        done += 1;
    }
}

fn backup(data: &Path, port: u16, to: &Path) {
    let out = command(data, port, None)
        .args(["backup", "--to"])
        .arg(to)
        .output()
        .expect("baton backup runs");
    assert!(
        out.status.success(),
        "backup: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(String::from_utf8_lossy(&out.stdout).contains("bytes"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn backup_under_load_restores_every_acknowledged_op() {
    let dir = tempfile::tempdir().expect("tempdir");
    let (data, restored) = (dir.path().join("a"), dir.path().join("b"));
    let port = free_port();
    let mut node = start(&data, port, None);
    wait_ready(port).await;
    let tok = token(&data, port, None, "drill", "tv");
    let mut ws = common::connect(port, &tok).await;
    send(
        &mut ws,
        json!({"type":"hello","protocol":1,"device":{"kind":"tv"}}),
    )
    .await;
    next_of(&mut ws, "synced").await;

    let acked = Arc::new(Mutex::new(Vec::new()));
    let stop = Arc::new(Mutex::new(false));
    let writer = tokio::spawn(write_until_stopped(ws, acked.clone(), stop.clone()));
    while acked.lock().expect("lock").len() < 200 {
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    // Everything acknowledged now must be in the backup; writes go on meanwhile.
    let before: Vec<u64> = acked.lock().expect("lock").clone();
    let file = dir.path().join("baton-backup.db");
    let (bdata, bfile) = (data.clone(), file.clone());
    tokio::task::spawn_blocking(move || backup(&bdata, port, &bfile))
        .await
        .expect("backup task");
    let during = acked.lock().expect("lock").len();
    while acked.lock().expect("lock").len() < during + 100 {
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    *stop.lock().expect("lock") = true;
    writer.await.expect("writer");
    common::kill9(&mut node);

    // Restore: the backup as the new node's database, the signing key beside it.
    std::fs::create_dir_all(&restored).expect("mkdir");
    std::fs::copy(&file, restored.join("baton.db")).expect("copy backup");
    std::fs::copy(
        data.join("dev-signing-key.pem"),
        restored.join("dev-signing-key.pem"),
    )
    .expect("copy key");
    let port2 = free_port();
    let mut node2 = start(&restored, port2, None);
    wait_ready(port2).await;

    let state: Value = reqwest::Client::new()
        .get(format!("http://127.0.0.1:{port2}/v1/users/drill/watchlist"))
        .bearer_auth(&tok)
        .send()
        .await
        .expect("read")
        .json()
        .await
        .expect("json");
    let present: std::collections::HashSet<&str> = state["items"]
        .as_array()
        .expect("items")
        .iter()
        .filter_map(|i| i["content"].as_str())
        .collect();
    let missing: Vec<u64> = before
        .iter()
        .copied()
        .filter(|seq| !present.contains(format!("c:{seq}").as_str()))
        .collect();
    assert!(
        missing.is_empty(),
        "acked before the backup, not restored: {missing:?}"
    );
    let total = acked.lock().expect("lock").len();
    assert!(
        total > present.len(),
        "ops acked after the backup are not in it"
    );
    println!(
        "backup drill: {} acked before the backup, {} restored, {} acked in all",
        before.len(),
        present.len(),
        total
    );

    // The device resumes on the restored node: welcome, catch-up, a new op acked.
    let mut ws = common::connect(port2, &tok).await;
    send(
        &mut ws,
        json!({"type":"hello","protocol":1,"device":{"kind":"tv"}}),
    )
    .await;
    let welcome = next_of(&mut ws, "welcome").await;
    next_of(&mut ws, "synced").await;
    let seq = welcome["next_seq"].as_u64().expect("next_seq");
    send(&mut ws, add(seq)).await;
    assert_eq!(next_of(&mut ws, "ack").await["seq"].as_u64(), Some(seq));
    common::kill9(&mut node2);
}
