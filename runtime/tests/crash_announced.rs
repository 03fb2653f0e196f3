//! Nothing a device was told is taken back by a crash: SIGKILL the `baton`
//! process right after a device heard of a lease move, a lease grant or a
//! device registration, restart it on the same store (SQLite, and a real
//! Postgres started by the test), and check what the devices are told then.
//!
//! - A handoff's fencing token is never handed out again, and the old player
//!   is refused (`stale_lease`).
//! - A holder that was connected to the killed process is offline after the
//!   restart, so its lease is released (PROTOCOL.md: "the holder going offline
//!   releases it"): another device's `playing` is accepted.
//! - A device that registered just before the kill is still registered.

mod common;

use std::path::Path;
use std::process::Child;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use baton_store::pg_harness::PgHarness;
use common::Ws;
use common::{free_port, kill9, start, token, wait_ready};
use futures_util::{SinkExt, StreamExt};
use serde_json::{json, Value};
use tokio_tungstenite::tungstenite::Message;

/// A device over a real socket, speaking just enough of the protocol.
struct Dev {
    ws: Ws,
    hlc_id: String,
    welcome: Value,
    next_seq: u64,
}

impl Dev {
    async fn connect(port: u16, tok: &str, kind: &str) -> Dev {
        let mut ws = common::connect(port, tok).await;
        let hello = json!({"type":"hello","protocol":1,"device":{"kind":kind,"name":kind},"vv":{}});
        ws.send(Message::Text(hello.to_string().into()))
            .await
            .expect("hello");
        let mut dev = Dev {
            ws,
            hlc_id: String::new(),
            welcome: Value::Null,
            next_seq: 0,
        };
        let welcome = dev.until(|f| f["type"] == "welcome").await;
        dev.hlc_id = welcome["hlc_id"].as_str().expect("hlc_id").to_owned();
        dev.next_seq = welcome["next_seq"].as_u64().expect("next_seq");
        dev.welcome = welcome;
        dev.until(|f| f["type"] == "synced").await;
        dev
    }

    /// The next frame matching `want` (others are skipped), within 10 s.
    async fn until(&mut self, want: impl Fn(&Value) -> bool) -> Value {
        loop {
            let next = tokio::time::timeout(Duration::from_secs(10), self.ws.next()).await;
            match next {
                Ok(Some(Ok(Message::Text(t)))) => {
                    let frame: Value = serde_json::from_str(&t).expect("json");
                    if want(&frame) {
                        return frame;
                    }
                }
                Ok(Some(Ok(_))) => {}
                other => panic!("socket ended or stalled while waiting: {other:?}"),
            }
        }
    }

    /// A `playback` op; returns the answer for its seq (`ack` or `error`).
    async fn play(&mut self, state: &str, lease: Option<u64>) -> Value {
        let ms = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .expect("clock")
            .as_millis();
        let time = (ms << 32) / 1000;
        let seq = self.next_seq;
        let mut op = json!({"kind":"playback","content":"movie:42","position_ms":1000,
            "duration_ms":7_200_000,"state":state,"ts":format!("{time}/{}", self.hlc_id)});
        if let Some(token) = lease {
            op["lease"] = json!(token);
        }
        let frame = json!({"type":"op","seq":seq,"op":op});
        self.ws
            .send(Message::Text(frame.to_string().into()))
            .await
            .expect("op");
        let answer = self
            .until(|f| (f["type"] == "ack" || f["type"] == "error") && f["seq"] == seq)
            .await;
        if answer["type"] == "ack" {
            self.next_seq += 1;
        }
        answer
    }

    async fn handoff(&mut self, target: &str) {
        let frame = json!({"type":"handoff","request_id":"h-1","target":target,
            "content":"movie:42","position_ms":5000});
        self.ws
            .send(Message::Text(frame.to_string().into()))
            .await
            .expect("handoff");
    }
}

struct Node {
    dir: tempfile::TempDir,
    db: Option<String>,
    port: u16,
    child: Child,
}

impl Node {
    async fn start(db: Option<String>) -> Node {
        let dir = tempfile::tempdir().expect("tempdir");
        let port = free_port();
        let child = start(dir.path(), port, db.as_deref());
        wait_ready(port).await;
        Node {
            dir,
            db,
            port,
            child,
        }
    }

    /// SIGKILL, then a new process on the same store and key.
    async fn kill_and_restart(&mut self) {
        kill9(&mut self.child);
        self.port = free_port();
        self.child = start(self.dir.path(), self.port, self.db.as_deref());
        wait_ready(self.port).await;
    }

    fn token(&self, device: &str) -> String {
        token(self.path(), self.port, self.db.as_deref(), "u", device)
    }

    fn path(&self) -> &Path {
        self.dir.path()
    }

    async fn devices(&self, tok: &str) -> Vec<String> {
        let body: Value = reqwest::Client::new()
            .get(format!("http://127.0.0.1:{}/v1/users/u/devices", self.port))
            .bearer_auth(tok)
            .send()
            .await
            .expect("rest")
            .json()
            .await
            .expect("json");
        let list = body["devices"].as_array().cloned().unwrap_or_default();
        list.iter()
            .filter_map(|d| d["device"].as_str().map(str::to_owned))
            .collect()
    }
}

impl Drop for Node {
    fn drop(&mut self) {
        kill9(&mut self.child);
    }
}

/// The handoff's lease move reached the target, then the process died.
async fn handoff_then_kill(db: Option<String>) {
    let mut node = Node::start(db).await;
    let (tv_tok, phone_tok) = (node.token("tv"), node.token("phone"));
    let mut tv = Dev::connect(node.port, &tv_tok, "tv").await;
    let mut phone = Dev::connect(node.port, &phone_tok, "mobile").await;
    let granted = tv.play("playing", None).await;
    assert_eq!(granted["type"], "ack", "{granted}");
    let lease = tv.until(|f| f["type"] == "lease").await;
    assert_eq!(lease["token"], 1);
    tv.handoff("phone").await;
    let control = phone.until(|f| f["type"] == "playback_control").await;
    let moved = control["lease"].as_u64().expect("lease token");
    assert_eq!(moved, 2);
    // The phone was told it holds token 2: kill before anything else happens.
    node.kill_and_restart().await;

    let mut tv = Dev::connect(node.port, &tv_tok, "tv").await;
    let mut phone = Dev::connect(node.port, &phone_tok, "mobile").await;
    for welcome in [&tv.welcome, &phone.welcome] {
        let token = welcome["lease"]["token"].as_u64().expect("token");
        assert!(
            token >= moved,
            "lease token went back to {token}: {welcome}"
        );
    }
    // The old player presents the token it had: fenced off.
    let stale = tv.play("playing", Some(1)).await;
    assert_eq!(stale["code"], "stale_lease", "{stale}");
    // The new player plays on; the token it gets next was never handed out.
    let ok = phone.play("playing", Some(moved)).await;
    assert_eq!(ok["type"], "ack", "{ok}");
    let lease = phone
        .until(|f| f["type"] == "lease" && f["holder"] == "phone")
        .await;
    let token = lease["token"].as_u64().expect("token");
    assert!(token > moved, "token {token} reused after the crash");
}

/// The holder was connected to the process that died: it is offline now.
async fn offline_holder_is_released(db: Option<String>) {
    let mut node = Node::start(db).await;
    let (tv_tok, phone_tok) = (node.token("tv"), node.token("phone"));
    let mut tv = Dev::connect(node.port, &tv_tok, "tv").await;
    let granted = tv.play("playing", None).await;
    assert_eq!(granted["type"], "ack", "{granted}");
    tv.until(|f| f["type"] == "lease" && f["holder"] == "tv")
        .await;
    node.kill_and_restart().await;

    let mut phone = Dev::connect(node.port, &phone_tok, "mobile").await;
    assert_eq!(
        phone.welcome["lease"]["holder"],
        Value::Null,
        "{}",
        phone.welcome
    );
    let ok = phone.play("playing", None).await;
    assert_eq!(ok["type"], "ack", "an offline holder keeps the lease: {ok}");
}

/// A device registered (welcome received) just before the kill stays registered.
async fn registration_survives_kill(db: Option<String>) {
    let mut node = Node::start(db).await;
    let (tv_tok, phone_tok) = (node.token("tv"), node.token("phone"));
    let _tv = Dev::connect(node.port, &tv_tok, "tv").await;
    let _phone = Dev::connect(node.port, &phone_tok, "mobile").await;
    node.kill_and_restart().await;

    let devices = node.devices(&tv_tok).await;
    assert_eq!(devices, vec!["phone".to_string(), "tv".to_string()]);
    let mut tv = Dev::connect(node.port, &tv_tok, "tv").await;
    tv.handoff("phone").await;
    let result = tv.until(|f| f["type"] == "handoff_result").await;
    assert_eq!(result["outcome"], "target_offline", "{result}");
}

async fn postgres() -> (PgHarness, String) {
    let pg = PgHarness::start().expect("postgres starts");
    let url = pg.create_database().await.expect("database");
    (pg, url)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn handoff_then_sigkill_never_reuses_a_token_on_sqlite() {
    handoff_then_kill(None).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn handoff_then_sigkill_never_reuses_a_token_on_postgres() {
    let (_pg, url) = postgres().await;
    handoff_then_kill(Some(url)).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn restart_releases_an_offline_holders_lease_on_sqlite() {
    offline_holder_is_released(None).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn restart_releases_an_offline_holders_lease_on_postgres() {
    let (_pg, url) = postgres().await;
    offline_holder_is_released(Some(url)).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_device_registered_before_sigkill_stays_registered_on_sqlite() {
    registration_survives_kill(None).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_device_registered_before_sigkill_stays_registered_on_postgres() {
    let (_pg, url) = postgres().await;
    registration_survives_kill(Some(url)).await;
}
