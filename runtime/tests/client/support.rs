//! What the `baton-client` tests against a real node share: a client whose
//! tokens come from `baton token`, and waits on its state, connection and events.

use std::sync::Arc;
use std::time::Duration;

use baton_client::{Client, ClientConfig, ConnectionState, Event, Store};
use tokio::sync::broadcast;

use super::node::Node;

pub(super) const WAIT: Duration = Duration::from_secs(20);

/// A client of `user`/`device` on `node` whose tokens come from `baton token`.
pub(super) fn client(
    node: &Node,
    user: &str,
    device: &str,
    kind: &str,
    store: Arc<dyn Store>,
) -> Client {
    client_at(node, &node.url(), user, device, kind, store)
}

pub(super) fn client_at(
    node: &Node,
    url: &str,
    user: &str,
    device: &str,
    kind: &str,
    store: Arc<dyn Store>,
) -> Client {
    let data = node.data_path();
    let port = node.port;
    let (user, dev) = (user.to_owned(), device.to_owned());
    let tokens = move || {
        let (data, user, dev) = (data.clone(), user.clone(), dev.clone());
        async move { Ok(super::common::token(&data, port, None, &user, &dev)) }
    };
    let mut cfg = ClientConfig::new(url, device).kind(kind);
    cfg.backoff.base = Duration::from_millis(100);
    cfg.backoff.cap = Duration::from_secs(1);
    Client::start(cfg, tokens, store).expect("client starts")
}

/// Waits until `pred` holds for the client's (optimistic) state and nothing
/// is pending.
pub(super) async fn settle(
    c: &Client,
    what: &str,
    pred: impl Fn(&baton_client::StateView) -> bool,
) {
    let deadline = tokio::time::Instant::now() + WAIT;
    loop {
        let s = c.state().expect("state");
        if pred(&s) && c.pending().expect("pending").is_empty() {
            let confirmed = c.confirmed().expect("confirmed");
            if pred(&confirmed) {
                return;
            }
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "{what}: not settled: {s:?} pending {:?}",
            c.pending()
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

pub(super) async fn live(c: &Client) {
    let mut w = c.connection();
    tokio::time::timeout(WAIT, w.wait_for(|s| *s == ConnectionState::Live))
        .await
        .expect("live in time")
        .expect("watch");
}

pub(super) async fn event(
    rx: &mut broadcast::Receiver<Event>,
    what: &str,
    f: impl Fn(&Event) -> bool,
) -> Event {
    tokio::time::timeout(WAIT, async {
        loop {
            match rx.recv().await {
                Ok(e) if f(&e) => return e,
                Ok(_) | Err(broadcast::error::RecvError::Lagged(_)) => {}
                Err(broadcast::error::RecvError::Closed) => panic!("{what}: events closed"),
            }
        }
    })
    .await
    .unwrap_or_else(|_| panic!("{what}: no such event in time"))
}

pub(super) fn server_vv(state: &str, device: &str) -> u64 {
    let v: serde_json::Value = serde_json::from_str(state).expect("json");
    v["vv"][device].as_u64().unwrap_or(0)
}

pub(super) fn server_items(state: &str) -> Vec<String> {
    let v: serde_json::Value = serde_json::from_str(state).expect("json");
    v["watchlist"]
        .as_array()
        .expect("watchlist")
        .iter()
        .filter_map(|w| w["content"].as_str().map(str::to_owned))
        .collect()
}
