//! A fake PubNub origin on 127.0.0.1: the publish and subscribe REST calls as
//! PubNub documents them, enough for the real `pubnub` client.
//!
//! - `GET /publish/{pub_key}/{sub_key}/0/{channel}/0/{url-encoded json}?store=&meta=&uuid=...`
//!   answers `[1,"Sent","<17-digit timetoken>"]`, records the publish, and
//!   delivers it to subscribers.
//! - `GET /v2/subscribe/{sub_key}/{channels}/0?tt=&tr=`: `tt=0` answers at once
//!   with the current timetoken; otherwise a long poll (held up to `HOLD`)
//!   answering `{"t":{"t","r"},"m":[envelope...]}` with every message after
//!   `tt` on the listed channels (`a.*` wildcards allowed).
//! - While `set_failing(true)`: every call answers 500.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use serde_json::{json, Value};
use tokio::sync::Notify;

const HOLD: Duration = Duration::from_millis(800);

/// One message PubNub holds.
#[derive(Debug, Clone)]
pub struct Entry {
    pub tt: u64,
    pub channel: String,
    pub uuid: String,
    pub message: Value,
    pub meta: Option<Value>,
    /// `store` query parameter (`None` when absent).
    pub store: Option<bool>,
    /// Published through the REST call (the bridge), not injected by a test device.
    pub via_rest: bool,
}

#[derive(Default)]
struct Inner {
    log: Vec<Entry>,
    next_tt: u64,
}

#[derive(Clone)]
pub struct FakePubNub {
    pub addr: SocketAddr,
    inner: Arc<Mutex<Inner>>,
    arrived: Arc<Notify>,
    failing: Arc<AtomicBool>,
    pub failed_calls: Arc<AtomicU64>,
    pub subscribe_polls: Arc<AtomicU64>,
}

impl FakePubNub {
    pub async fn start() -> FakePubNub {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind fake pubnub");
        let addr = listener.local_addr().expect("addr");
        let now_ms = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_millis() as u64);
        let fake = FakePubNub {
            addr,
            inner: Arc::new(Mutex::new(Inner {
                log: Vec::new(),
                next_tt: now_ms * 10_000,
            })),
            arrived: Arc::new(Notify::new()),
            failing: Arc::new(AtomicBool::new(false)),
            failed_calls: Arc::new(AtomicU64::new(0)),
            subscribe_polls: Arc::new(AtomicU64::new(0)),
        };
        let app = Router::new()
            .route(
                "/publish/{pub_key}/{sub_key}/{sig}/{channel}/{cb}/{message}",
                get(publish),
            )
            .route("/v2/subscribe/{sub_key}/{channels}/{cb}", get(subscribe))
            .with_state(fake.clone());
        // Lives as long as the test's runtime.
        tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        fake
    }

    /// The origin URL for the bridge.
    pub fn origin(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// While `true`, every call answers 500.
    pub fn set_failing(&self, failing: bool) {
        self.failing.store(failing, Ordering::Release);
    }

    /// A device publishes `message` on `channel` with PubNub uuid `uuid`.
    pub fn inject(&self, channel: &str, uuid: &str, message: Value) {
        self.append(channel, uuid, message, None, None, false);
    }

    fn append(
        &self,
        channel: &str,
        uuid: &str,
        message: Value,
        meta: Option<Value>,
        store: Option<bool>,
        via_rest: bool,
    ) -> u64 {
        let tt = {
            let mut inner = self.inner.lock().expect("lock");
            inner.next_tt += 1;
            let tt = inner.next_tt;
            inner.log.push(Entry {
                tt,
                channel: channel.to_owned(),
                uuid: uuid.to_owned(),
                message,
                meta,
                store,
                via_rest,
            });
            tt
        };
        self.arrived.notify_waiters();
        tt
    }

    /// Everything published through REST (by the bridge), in order.
    pub fn published(&self) -> Vec<Entry> {
        let inner = self.inner.lock().expect("lock");
        inner.log.iter().filter(|e| e.via_rest).cloned().collect()
    }

    /// Messages published on `channel` through REST.
    pub fn on(&self, channel: &str) -> Vec<Value> {
        self.published()
            .into_iter()
            .filter(|e| e.channel == channel)
            .map(|e| e.message)
            .collect()
    }

    fn fail(&self) -> Option<Response> {
        if self.failing.load(Ordering::Acquire) {
            self.failed_calls.fetch_add(1, Ordering::Relaxed);
            return Some(
                (
                    StatusCode::INTERNAL_SERVER_ERROR,
                    "<html>500 Internal Server Error</html>",
                )
                    .into_response(),
            );
        }
        None
    }

    fn after(&self, tt: u64, patterns: &[String]) -> (u64, Vec<Entry>) {
        let inner = self.inner.lock().expect("lock");
        let entries = inner
            .log
            .iter()
            .filter(|e| e.tt > tt && patterns.iter().any(|p| matches(p, &e.channel)))
            .take(100)
            .cloned()
            .collect::<Vec<_>>();
        let cursor = entries.last().map_or(inner.next_tt.max(tt), |e| e.tt);
        (cursor, entries)
    }
}

fn matches(pattern: &str, channel: &str) -> bool {
    match pattern.strip_suffix('*') {
        Some(prefix) if prefix.ends_with('.') => channel.starts_with(prefix),
        _ => pattern == channel,
    }
}

async fn publish(
    State(fake): State<FakePubNub>,
    Path((_pk, _sk, _sig, channel, _cb, message)): Path<(
        String,
        String,
        String,
        String,
        String,
        String,
    )>,
    Query(query): Query<HashMap<String, String>>,
) -> Response {
    if let Some(failed) = fake.fail() {
        return failed;
    }
    let Ok(message) = serde_json::from_str::<Value>(&message) else {
        return (
            StatusCode::BAD_REQUEST,
            Json(json!({"status":400,"error":true,"message":"Invalid JSON","service":"Publish"})),
        )
            .into_response();
    };
    let meta = query.get("meta").and_then(|m| serde_json::from_str(m).ok());
    let store = query.get("store").map(|s| s == "1");
    let uuid = query.get("uuid").cloned().unwrap_or_default();
    let tt = fake.append(&channel, &uuid, message, meta, store, true);
    Json(json!([1, "Sent", tt.to_string()])).into_response()
}

async fn subscribe(
    State(fake): State<FakePubNub>,
    Path((sub_key, channels, _cb)): Path<(String, String, String)>,
    Query(query): Query<HashMap<String, String>>,
) -> Response {
    if let Some(failed) = fake.fail() {
        return failed;
    }
    fake.subscribe_polls.fetch_add(1, Ordering::Relaxed);
    let patterns: Vec<String> = channels.split(',').map(str::to_owned).collect();
    let tt: u64 = query.get("tt").and_then(|t| t.parse().ok()).unwrap_or(0);
    if tt == 0 {
        let cursor = fake.inner.lock().expect("lock").next_tt;
        return Json(json!({"t": {"t": cursor.to_string(), "r": 1}, "m": []})).into_response();
    }
    let deadline = tokio::time::Instant::now() + HOLD;
    loop {
        let arrived = fake.arrived.notified();
        let (cursor, entries) = fake.after(tt, &patterns);
        if !entries.is_empty() || tokio::time::Instant::now() >= deadline {
            let m: Vec<Value> = entries
                .iter()
                .map(|e| {
                    let mut env = json!({
                        "a": "1", "f": 0, "e": 0, "i": e.uuid,
                        "p": {"t": e.tt.to_string(), "r": 1},
                        "k": sub_key, "c": e.channel, "d": e.message,
                    });
                    if let (Some(meta), Value::Object(map)) = (&e.meta, &mut env) {
                        map.insert("u".into(), meta.clone());
                    }
                    if let Some(p) = patterns
                        .iter()
                        .find(|p| p.ends_with('*') && matches(p, &e.channel))
                    {
                        if let Value::Object(map) = &mut env {
                            map.insert("b".into(), Value::String(p.clone()));
                        }
                    }
                    env
                })
                .collect();
            return Json(json!({"t": {"t": cursor.to_string(), "r": 1}, "m": m})).into_response();
        }
        let _ = tokio::time::timeout_at(deadline, arrived).await;
    }
}
