//! Test harness: an in-process Baton node on 127.0.0.1:0 with a real SQLite
//! file (or a Postgres URL), and test devices that speak the protocol over a
//! real WebSocket and keep a local replica built from `baton-crdt`.
#![allow(dead_code)]

mod device;
pub mod redis_server;

pub use device::TestDevice;

use std::net::SocketAddr;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use std::sync::Arc;

use baton_actors::hub::HubBuilder;
use baton_actors::{ActorConfig, Hub};
use baton_cluster::forward::Forwarding;
use baton_crdt::{Hlc, Op, UserDoc};
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
        let hub = Hub::builder(store, cfg)
            .max_connections(max_conn)
            .shared(shared);
        Self::from_builder(hub, transport, None).await
    }

    /// A node on a fresh SQLite file whose personalization uses `vectors`.
    pub async fn sqlite_with_vectors(
        cfg: ActorConfig,
        vectors: Arc<dyn baton_personalization::VectorStore>,
    ) -> TestServer {
        let (store, dir) = temp_sqlite().await.expect("sqlite store opens");
        let hub = Hub::builder(store, cfg).vectors(vectors);
        let mut server = Self::from_builder(hub, TransportConfig::default(), None).await;
        server._dir = Some(dir);
        server
    }

    /// A node on a fresh SQLite file that accepts cluster-internal requests
    /// (and owns every user).
    pub async fn clustered(forwarding: Forwarding) -> TestServer {
        Self::clustered_routed(forwarding, Arc::new(baton_actors::SingleNode)).await
    }

    /// [`TestServer::clustered`] routing users by `placement`.
    pub async fn clustered_routed(
        forwarding: Forwarding,
        placement: Arc<dyn baton_actors::Placement>,
    ) -> TestServer {
        let (store, dir) = temp_sqlite().await.expect("sqlite store opens");
        let hub = Hub::builder(store, test_config()).placement(placement);
        let mut server =
            Self::from_builder(hub, TransportConfig::default(), Some(forwarding)).await;
        server._dir = Some(dir);
        server
    }

    /// A node on the hub `hub` will start, with `forwarding` in a cluster.
    pub async fn from_builder(
        hub: HubBuilder,
        transport: TransportConfig,
        forwarding: Option<Forwarding>,
    ) -> TestServer {
        let hub = hub.start().await.expect("hub starts");
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
