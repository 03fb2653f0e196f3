//! A JWKS served over HTTP by a tiny axum server on an ephemeral port.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::extract::State;
use axum::routing::get;
use axum::{Json, Router};
use serde_json::Value;

use super::{claims, config, sign, JWKS_AB, KEY_A, KEY_B, NOW};
use crate::refresh::RefetchGate;
use crate::{KeySource, Verifier};

#[derive(Clone)]
struct Served {
    jwks: Arc<Mutex<Value>>,
    hits: Arc<AtomicUsize>,
}

impl Served {
    fn set(&self, jwks: Value) {
        *self.jwks.lock().expect("lock") = jwks;
    }
}

async fn serve_jwks(State(s): State<Served>) -> Json<Value> {
    s.hits.fetch_add(1, Ordering::SeqCst);
    Json(s.jwks.lock().expect("lock").clone())
}

/// The fixture JWKS restricted to the given kids.
fn jwks_with(kids: &[&str]) -> Value {
    let mut all: Value = serde_json::from_str(JWKS_AB).expect("fixture json");
    let keys = all["keys"].as_array_mut().expect("keys");
    keys.retain(|k| kids.iter().any(|kid| k["kid"] == *kid));
    all
}

async fn start(jwks: Value) -> (String, Served) {
    let served = Served {
        jwks: Arc::new(Mutex::new(jwks)),
        hits: Arc::new(AtomicUsize::new(0)),
    };
    let app = Router::new()
        .route("/jwks.json", get(serve_jwks))
        .with_state(served.clone());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let addr = listener.local_addr().expect("addr");
    tokio::spawn(async move { axum::serve(listener, app).await });
    (format!("http://{addr}/jwks.json"), served)
}

fn url_source(url: &str, refresh: Duration) -> KeySource {
    KeySource::JwksUrl {
        url: url.to_owned(),
        refresh,
    }
}

#[tokio::test]
async fn unknown_kid_triggers_one_refetch() {
    let (url, served) = start(jwks_with(&["a"])).await;
    let v = Verifier::new(config(url_source(&url, Duration::from_secs(3600))))
        .await
        .expect("initial fetch");
    assert_eq!(served.hits.load(Ordering::SeqCst), 1);
    assert!(v.verify_at(&sign(&claims(), KEY_A, Some("a")), NOW).is_ok());

    // The issuer rotates in key "b"; the first token naming it is refused but
    // makes the verifier refetch early.
    served.set(jwks_with(&["a", "b"]));
    let mut updates = v.inner.keys.clone();
    let token_b = sign(&claims(), KEY_B, Some("b"));
    assert_eq!(
        v.verify_at(&token_b, NOW).map_err(|e| e.code()).err(),
        Some("unknown_key")
    );
    tokio::time::timeout(Duration::from_secs(10), updates.changed())
        .await
        .expect("refetch within 10 s")
        .expect("refresh task alive");
    assert!(v.verify_at(&token_b, NOW).is_ok());
    assert_eq!(served.hits.load(Ordering::SeqCst), 2);
}

#[tokio::test]
async fn periodic_refresh_replaces_keys() {
    let (url, served) = start(jwks_with(&["a"])).await;
    let v = Verifier::new(config(url_source(&url, Duration::from_millis(50))))
        .await
        .expect("initial fetch");
    served.set(jwks_with(&["b"]));
    let mut updates = v.inner.keys.clone();
    let token_b = sign(&claims(), KEY_B, Some("b"));
    tokio::time::timeout(Duration::from_secs(10), async {
        while v.verify_at(&token_b, NOW).is_err() {
            updates.changed().await.expect("refresh task alive");
        }
    })
    .await
    .expect("key b picked up by the periodic refresh");
    let a = v.verify_at(&sign(&claims(), KEY_A, Some("a")), NOW);
    assert_eq!(
        a.map_err(|e| e.code()).err(),
        Some("unknown_key"),
        "key a retired"
    );
}

#[tokio::test]
async fn unreachable_jwks_fails_startup() {
    let (url, _served) = start(jwks_with(&["a"])).await;
    let missing = url.replace("jwks.json", "nope.json");
    let err = Verifier::new(config(url_source(&missing, Duration::from_secs(60)))).await;
    assert_eq!(err.map_err(|e| e.code()).err(), Some("jwks_unavailable"));
}

#[test]
fn refetch_gate_admits_one_per_interval() {
    let mut gate = RefetchGate::new(Duration::from_secs(30));
    let t0 = Instant::now();
    assert!(gate.try_acquire(t0));
    assert!(!gate.try_acquire(t0 + Duration::from_secs(29)));
    assert!(gate.try_acquire(t0 + Duration::from_secs(30)));
    assert!(!gate.try_acquire(t0 + Duration::from_secs(31)));
}
