//! Test harness: an in-process Baton node on 127.0.0.1:0 with a real SQLite
//! file (or a Postgres URL), and test devices that speak the protocol over a
//! real WebSocket and keep a local replica built from `baton-crdt`.
#![allow(dead_code)]

pub mod redis_server;

use std::net::SocketAddr;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use baton_actors::{ActorConfig, Hub};
use baton_crdt::{Hlc, LoggedOp, Op, UserDoc};
use baton_store::sqlite_harness::temp_sqlite;
use baton_store::Store;
use baton_transport::auth::{AuthConfig, KeySource, Minter, Scope, Verifier};
use baton_transport::{AppState, TransportConfig};
use futures_util::{SinkExt, StreamExt};
use serde_json::{json, Value};
use tokio::net::TcpStream;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::http::HeaderValue;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream};

pub const KEY: &str = include_str!("../fixtures/test_rsa.pem");
pub const PUB: &str = include_str!("../fixtures/test_rsa.pub.pem");
pub const ISSUER: &str = "baton-test";
pub const AUDIENCE: &str = "baton";
pub const WAIT: Duration = Duration::from_secs(10);

pub const DEVICE_SCOPES: &[Scope] = &[
    Scope::ReadWatchlist,
    Scope::WriteWatchlist,
    Scope::ReadPreferences,
    Scope::WritePreferences,
    Scope::PlaybackControl,
];

pub fn now_unix() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

pub struct TestServer {
    pub addr: SocketAddr,
    pub minter: Minter,
    pub hub: Hub,
    shutdown: Option<tokio::sync::oneshot::Sender<()>>,
    join: Option<tokio::task::JoinHandle<std::io::Result<()>>>,
    _dir: Option<tempfile::TempDir>,
}

impl TestServer {
    /// The SQLite file of a node started with [`TestServer::sqlite`].
    pub fn sqlite_path(&self) -> Option<std::path::PathBuf> {
        self._dir.as_ref().map(|d| d.path().join("baton.db"))
    }
}

pub fn test_config() -> ActorConfig {
    ActorConfig {
        sync: baton_actors::SyncConfig {
            rate_limit_events: 10_000,
            ..Default::default()
        },
        ..ActorConfig::default()
    }
}

impl TestServer {
    /// A node on a fresh SQLite file.
    pub async fn sqlite(cfg: ActorConfig) -> TestServer {
        Self::sqlite_with(cfg, 10_000).await
    }

    /// A node on a fresh SQLite file with a connection limit.
    pub async fn sqlite_with(cfg: ActorConfig, max_conn: usize) -> TestServer {
        let (store, dir) = temp_sqlite().await.expect("sqlite store opens");
        let mut server = Self::with_limits(store, cfg, TransportConfig::default(), max_conn).await;
        server._dir = Some(dir);
        server
    }

    pub async fn with_store(
        store: Store,
        cfg: ActorConfig,
        transport: TransportConfig,
    ) -> TestServer {
        Self::with_limits(store, cfg, transport, 10_000).await
    }

    pub async fn with_limits(
        store: Store,
        cfg: ActorConfig,
        transport: TransportConfig,
        max_conn: usize,
    ) -> TestServer {
        Self::with_shared(
            store,
            cfg,
            transport,
            max_conn,
            baton_actors::Shared::local(),
        )
        .await
    }

    /// A node on a fresh SQLite file using `shared` (e.g. Redis).
    pub async fn sqlite_shared(cfg: ActorConfig, shared: baton_actors::Shared) -> TestServer {
        let (store, dir) = temp_sqlite().await.expect("sqlite store opens");
        let mut server =
            Self::with_shared(store, cfg, TransportConfig::default(), 10_000, shared).await;
        server._dir = Some(dir);
        server
    }

    pub async fn with_shared(
        store: Store,
        cfg: ActorConfig,
        transport: TransportConfig,
        max_conn: usize,
        shared: baton_actors::Shared,
    ) -> TestServer {
        Self::with_forwarding(store, cfg, transport, max_conn, shared, None).await
    }

    /// A node on a fresh SQLite file that accepts cluster-internal requests.
    pub async fn clustered(forwarding: baton_transport::forward::Forwarding) -> TestServer {
        let (store, dir) = temp_sqlite().await.expect("sqlite store opens");
        let mut server = Self::with_forwarding(
            store,
            test_config(),
            TransportConfig::default(),
            10_000,
            baton_actors::Shared::local(),
            Some(forwarding),
        )
        .await;
        server._dir = Some(dir);
        server
    }

    pub async fn with_forwarding(
        store: Store,
        cfg: ActorConfig,
        transport: TransportConfig,
        max_conn: usize,
        shared: baton_actors::Shared,
        forwarding: Option<baton_transport::forward::Forwarding>,
    ) -> TestServer {
        let hub = Hub::start_with(store, cfg, max_conn, shared)
            .await
            .expect("hub starts");
        let verifier = Verifier::new(AuthConfig::new(
            ISSUER,
            AUDIENCE,
            KeySource::Pem {
                public_pem: PUB.to_owned(),
            },
        ))
        .await
        .expect("verifier");
        let state = AppState {
            hub: hub.clone(),
            verifier,
            transport,
            metrics: baton_transport::install_metrics(),
            forwarding,
        };
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind");
        let addr = listener.local_addr().expect("addr");
        let (tx, rx) = tokio::sync::oneshot::channel::<()>();
        let join = tokio::spawn(baton_transport::serve(listener, state, async move {
            let _ = rx.await;
        }));
        TestServer {
            addr,
            minter: Minter::from_private_pem(KEY, ISSUER, AUDIENCE).expect("minter"),
            hub,
            shutdown: Some(tx),
            join: Some(join),
            _dir: None,
        }
    }

    pub fn token(&self, user: &str, device: &str) -> String {
        self.token_with(user, Some(device), DEVICE_SCOPES)
    }

    pub fn token_with(&self, user: &str, device: Option<&str>, scopes: &[Scope]) -> String {
        self.minter
            .mint(user, device, scopes, Duration::from_secs(3600), now_unix())
            .expect("mint")
    }

    pub fn service_token(&self) -> String {
        self.token_with("svc", None, &[Scope::ServiceRead])
    }

    pub fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.addr)
    }

    pub fn ws_url(&self) -> String {
        format!("ws://{}/v1/sync", self.addr)
    }

    /// GET with a bearer token; returns status and JSON body (or Null).
    pub async fn get(&self, path: &str, token: Option<&str>) -> (u16, Value) {
        let client = reqwest::Client::new();
        let mut req = client.get(self.url(path));
        if let Some(t) = token {
            req = req.bearer_auth(t);
        }
        let resp = req.send().await.expect("http request");
        let status = resp.status().as_u16();
        let body = resp.json::<Value>().await.unwrap_or(Value::Null);
        (status, body)
    }

    pub async fn state(&self, user: &str) -> Value {
        let (status, body) = self
            .get(
                &format!("/v1/users/{user}/state"),
                Some(&self.service_token()),
            )
            .await;
        assert_eq!(status, 200, "state read failed: {body}");
        body
    }

    /// Connect a device and complete hello -> welcome -> synced.
    pub async fn device(&self, user: &str, device: &str, kind: &str) -> TestDevice {
        TestDevice::connect(self, user, device, kind, UserDoc::new(), Vec::new()).await
    }

    pub async fn stop(mut self) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
        if let Some(join) = self.join.take() {
            let _ = tokio::time::timeout(WAIT, join).await;
        }
    }
}

/// Poll `check` every 20 ms for at most 10 s (for timer-driven behaviour
/// observed from outside, such as passivation).
pub async fn eventually(what: &str, mut check: impl FnMut() -> bool) {
    let deadline = std::time::Instant::now() + WAIT;
    while !check() {
        assert!(
            std::time::Instant::now() < deadline,
            "timed out waiting for {what}"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// Read frames until the socket closes; return the close code.
pub async fn close_code(ws: &mut Ws) -> Option<u16> {
    loop {
        if let Err(code) = next_json(ws).await {
            return code;
        }
    }
}

pub type Ws = WebSocketStream<MaybeTlsStream<TcpStream>>;

/// Open a raw socket with the given token (as a header).
pub async fn raw_connect(
    server: &TestServer,
    token: Option<&str>,
) -> Result<Ws, tokio_tungstenite::tungstenite::Error> {
    let mut req = server.ws_url().into_client_request()?;
    if let Some(t) = token {
        req.headers_mut().insert(
            "authorization",
            HeaderValue::from_str(&format!("Bearer {t}")).expect("header"),
        );
    }
    let (ws, _) = tokio_tungstenite::connect_async(req).await?;
    Ok(ws)
}

pub async fn send_json(ws: &mut Ws, v: &Value) {
    ws.send(Message::Text(v.to_string().into()))
        .await
        .expect("send");
}

/// Next text frame as JSON; panics on timeout. Returns `None` on close
/// (with the close code stored in the second tuple field).
pub async fn next_json(ws: &mut Ws) -> Result<Value, Option<u16>> {
    loop {
        let msg = tokio::time::timeout(WAIT, ws.next())
            .await
            .expect("frame within timeout");
        match msg {
            Some(Ok(Message::Text(t))) => {
                return Ok(serde_json::from_str(&t).expect("server sends JSON"))
            }
            Some(Ok(Message::Close(frame))) => return Err(frame.map(|f| u16::from(f.code))),
            Some(Ok(_)) => continue,
            Some(Err(_)) | None => return Err(None),
        }
    }
}

/// Read frames until one of `kind` arrives (others are returned in order to `seen`).
pub async fn next_of(ws: &mut Ws, kind: &str, seen: &mut Vec<Value>) -> Value {
    loop {
        match next_json(ws).await {
            Ok(v) if v["type"] == kind => return v,
            Ok(v) => seen.push(v),
            Err(code) => panic!("socket closed ({code:?}) while waiting for {kind}; seen {seen:?}"),
        }
    }
}

/// A device with a local replica, as a client app would keep.
pub struct TestDevice {
    pub ws: Ws,
    pub user: String,
    pub id: String,
    pub doc: UserDoc,
    pub next_seq: u64,
    pub welcome: Value,
    /// Ops sent and not yet acknowledged, as (seq, op).
    pub unacked: Vec<(u64, Op)>,
    /// Frames that arrived while waiting for something else.
    pub inbox: Vec<Value>,
    pub acked: Vec<(u64, u64)>,
}

impl TestDevice {
    pub async fn connect(
        server: &TestServer,
        user: &str,
        device: &str,
        kind: &str,
        doc: UserDoc,
        unacked: Vec<(u64, Op)>,
    ) -> TestDevice {
        let token = server.token(user, device);
        let mut ws = raw_connect(server, Some(&token)).await.expect("connect");
        send_json(
            &mut ws,
            &json!({"type":"hello","protocol":1,"device":{"kind":kind,"name":device},"vv":doc.vv()}),
        )
        .await;
        let mut inbox = Vec::new();
        let welcome = next_of(&mut ws, "welcome", &mut inbox).await;
        let mut dev = TestDevice {
            ws,
            user: user.to_owned(),
            id: device.to_owned(),
            doc,
            next_seq: welcome["next_seq"].as_u64().expect("next_seq"),
            welcome: welcome.clone(),
            unacked,
            inbox,
            acked: Vec::new(),
        };
        dev.catch_up().await;
        // Resend what was never acknowledged, in order (at-least-once).
        let pending = std::mem::take(&mut dev.unacked);
        for (seq, op) in pending {
            dev.send_op_raw(seq, op).await;
        }
        dev
    }

    async fn catch_up(&mut self) {
        let mut snapshot = String::new();
        loop {
            let frame = next_json(&mut self.ws).await.expect("catch-up frame");
            match frame["type"].as_str() {
                Some("delta") => self.apply_delta(&frame),
                Some("snapshot_chunk") => snapshot.push_str(frame["data"].as_str().expect("data")),
                Some("synced") => break,
                _ => self.inbox.push(frame),
            }
        }
        if !snapshot.is_empty() {
            self.doc = UserDoc::from_snapshot_bytes(snapshot.as_bytes()).expect("snapshot parses");
        }
    }

    pub fn apply_delta(&mut self, frame: &Value) {
        let op: LoggedOp = serde_json::from_value(frame.clone()).expect("delta is a LoggedOp");
        self.doc.replay(&op).expect("delta applies");
    }

    /// Apply locally (as an offline-capable app does) and send.
    pub async fn op(&mut self, op: Op) -> u64 {
        let seq = self.next_seq;
        self.next_seq += 1;
        // Apply locally without the server's lease rules: the server is the
        // authority on the lease and refuses what it must.
        let local = LoggedOp {
            device: self.id.clone(),
            seq,
            version: self.doc.version() + 1,
            at_ms: 0,
            op: op.clone(),
        };
        self.doc.replay(&local).expect("local apply");
        self.send_op_raw(seq, op).await;
        seq
    }

    pub async fn send_op_raw(&mut self, seq: u64, op: Op) {
        self.unacked.push((seq, op.clone()));
        send_json(&mut self.ws, &json!({"type":"op","seq":seq,"op":op})).await;
    }

    /// Wait for the ack of `seq`, applying deltas that arrive meanwhile.
    pub async fn wait_ack(&mut self, seq: u64) -> u64 {
        loop {
            let frame = next_json(&mut self.ws)
                .await
                .expect("frame while waiting for ack");
            match frame["type"].as_str() {
                Some("ack") => {
                    let s = frame["seq"].as_u64().expect("seq");
                    let v = frame["version"].as_u64().expect("version");
                    self.unacked.retain(|(q, _)| *q != s);
                    self.acked.push((s, v));
                    if s == seq {
                        return v;
                    }
                }
                Some("delta") => self.apply_delta(&frame),
                Some("error") => panic!("op {seq} refused: {frame}"),
                _ => self.inbox.push(frame),
            }
        }
    }

    /// Wait for a frame of `kind`, applying deltas that arrive meanwhile.
    pub async fn wait_for(&mut self, kind: &str) -> Value {
        if let Some(pos) = self.inbox.iter().position(|f| f["type"] == kind) {
            return self.inbox.remove(pos);
        }
        loop {
            let frame = next_json(&mut self.ws)
                .await
                .unwrap_or_else(|c| panic!("closed ({c:?}) waiting for {kind}"));
            if frame["type"] == kind {
                if kind == "delta" {
                    self.apply_delta(&frame);
                }
                return frame;
            }
            match frame["type"].as_str() {
                Some("delta") => self.apply_delta(&frame),
                _ => self.inbox.push(frame),
            }
        }
    }

    /// Wait until the local replica has seen `version` worth of the user's ops.
    pub async fn wait_version(&mut self, version: u64) {
        while self.doc.version() < version {
            self.wait_for("delta").await;
        }
    }

    pub fn watchlist(&self) -> Vec<String> {
        self.doc
            .watchlist()
            .into_iter()
            .map(|w| w.content.as_str().to_owned())
            .collect()
    }

    /// Disconnect, keeping the replica and unacked ops (going offline).
    pub async fn go_offline(mut self) -> (UserDoc, Vec<(u64, Op)>, u64) {
        let _ = self.ws.close(None).await;
        (self.doc, self.unacked, self.next_seq)
    }
}

pub fn add(content: &str) -> Op {
    serde_json::from_value(json!({"kind":"watchlist_add","content":content,"added_at_ms":1}))
        .expect("op")
}

pub fn remove(doc: &UserDoc, content: &str) -> Op {
    let dots: Vec<baton_crdt::Dot> = doc
        .watchlist_set()
        .dots_of(content)
        .map(|(d, _)| d.clone())
        .collect();
    serde_json::from_value(json!({"kind":"watchlist_remove","content":content,"observed":dots}))
        .expect("op")
}

pub fn playback(device: &str, content: &str, position_ms: u64, state: &str) -> Op {
    let ts = Hlc::for_device(device, *uhlc::HLC::default().new_timestamp().get_time());
    serde_json::from_value(
        json!({"kind":"playback","content":content,"position_ms":position_ms,
        "duration_ms":3_600_000,"state":state,"ts":ts}),
    )
    .expect("op")
}

pub fn rest_watchlist(state: &Value) -> Vec<String> {
    state["watchlist"]
        .as_array()
        .expect("watchlist array")
        .iter()
        .map(|w| w["content"].as_str().expect("content").to_owned())
        .collect()
}
