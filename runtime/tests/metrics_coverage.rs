//! Every metric the Grafana dashboard and the Prometheus rules name exists on a
//! real node: start the `baton` binary (SQLite), drive a little traffic (two
//! devices syncing, a refused frame, an unauthenticated request), scrape
//! `/metrics`, and hold every name referenced by `deploy/grafana/baton.json`,
//! `deploy/prometheus/rules.yml` and `deploy/prometheus/alerts.yml` against the
//! exposed sample names (a histogram only as `_bucket`, `_sum` or `_count`).

mod common;

use std::collections::BTreeSet;
use std::path::PathBuf;
use std::time::Duration;

use baton_deploy::monitoring::{dashboard_exprs, exposed_samples, referenced_names, rules};
use common::{free_port, start, token, wait_ready, Ws};
use futures_util::{SinkExt, StreamExt};
use serde_json::{json, Value};
use tokio_tungstenite::tungstenite::Message;

fn deploy_file(rel: &str) -> String {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../deploy")
        .join(rel);
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// Every series name the dashboard and the rule files reference.
fn referenced() -> BTreeSet<String> {
    let dashboard: Value = serde_json::from_str(&deploy_file("grafana/baton.json")).expect("json");
    let mut exprs = dashboard_exprs(&dashboard).expect("dashboard");
    for file in ["prometheus/rules.yml", "prometheus/alerts.yml"] {
        exprs.extend(
            rules(&deploy_file(file))
                .expect(file)
                .into_iter()
                .map(|r| r.expr),
        );
    }
    exprs.iter().flat_map(|e| referenced_names(e)).collect()
}

async fn send(ws: &mut Ws, frame: Value) {
    ws.send(Message::Text(frame.to_string().into()))
        .await
        .expect("send");
}

/// The next frame of `kind`, skipping others.
async fn next_of(ws: &mut Ws, kind: &str) -> Value {
    loop {
        let msg = tokio::time::timeout(Duration::from_secs(10), ws.next())
            .await
            .unwrap_or_else(|_| panic!("no {kind} in 10 s"));
        if let Some(Ok(Message::Text(t))) = msg {
            let frame: Value = serde_json::from_str(&t).expect("json");
            if frame["type"] == kind {
                return frame;
            }
        } else if !matches!(msg, Some(Ok(_))) {
            panic!("socket ended before {kind}: {msg:?}");
        }
    }
}

async fn device(port: u16, tok: &str, kind: &str) -> Ws {
    let mut ws = common::connect(port, tok).await;
    send(
        &mut ws,
        json!({"type":"hello","protocol":1,"device":{"kind":kind}}),
    )
    .await;
    next_of(&mut ws, "welcome").await;
    ws
}

#[tokio::test]
async fn every_metric_a_dashboard_or_rule_names_is_exported() {
    let dir = tempfile::tempdir().expect("tempdir");
    let port = free_port();
    let mut child = start(dir.path(), port, None);
    wait_ready(port).await;

    // Two devices of one user: ops committed, acked and fanned out.
    let tv_tok = token(dir.path(), port, None, "metrics", "tv");
    let phone_tok = token(dir.path(), port, None, "metrics", "phone");
    let mut tv = device(port, &tv_tok, "tv").await;
    let mut phone = device(port, &phone_tok, "mobile").await;
    for seq in 1..=5u64 {
        let op = json!({"type":"op","seq":seq,"op":{"kind":"watchlist_add","content":format!("c:{seq}"),"added_at_ms":1}});
        send(&mut tv, op).await;
        next_of(&mut tv, "ack").await;
        next_of(&mut phone, "delta").await;
    }
    // A refused frame (protocol error by code) and a request without a token (HTTP error by code).
    send(&mut phone, json!({"type":"no_such_frame"})).await;
    next_of(&mut phone, "error").await;
    let http = reqwest::Client::new();
    let resp = http
        .get(format!("http://127.0.0.1:{port}/v1/users/metrics/state"))
        .send()
        .await
        .expect("request");
    assert_eq!(resp.status(), 401);

    let text = http
        .get(format!("http://127.0.0.1:{port}/metrics"))
        .send()
        .await
        .expect("scrape")
        .text()
        .await
        .expect("body");
    let exposed = exposed_samples(&text);
    let _ = child.kill();
    let _ = child.wait();

    let names = referenced();
    let (recorded, metrics): (BTreeSet<_>, BTreeSet<_>) =
        names.into_iter().partition(|n| n.contains(':'));
    assert!(!recorded.is_empty(), "the rules record series");
    let outside: Vec<_> = metrics
        .iter()
        .filter(|n| !n.starts_with("baton_"))
        .collect();
    assert_eq!(outside, ["up"], "only Prometheus' own `up` besides baton_*");
    let missing: Vec<_> = metrics
        .iter()
        .filter(|n| n.starts_with("baton_") && !exposed.contains(*n))
        .collect();
    assert!(
        missing.is_empty(),
        "named by a dashboard or rule but not on /metrics: {missing:?}\n(exposed: {exposed:?})"
    );
    assert!(metrics.len() >= 40, "{} metrics referenced", metrics.len());
}
