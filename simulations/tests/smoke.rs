//! A short run of the harness against an in-process node (real sockets,
//! real SQLite file, real JWTs) and the in-process relay: ~20 devices for a
//! few seconds; the node must converge with no lost acks and no errors.

use std::sync::Arc;
use std::time::Duration;

use baton_actors::{ActorConfig, Hub};
use baton_auth::{AuthConfig, KeySource, Minter, Verifier};
use baton_simulations::scenario::{Params, Scenario};
use baton_simulations::target::Target;
use baton_transport::{AppState, TransportConfig};

const KEY: &str = include_str!("../../transport/tests/fixtures/test_rsa.pem");
const PUB: &str = include_str!("../../transport/tests/fixtures/test_rsa.pub.pem");

fn params() -> Params {
    Params {
        users: Some(7),
        devices_per_user: Some(3),
        rate: Some(100.0),
        duration: Some(3.0),
        connect_window: Some(0.5),
        slo_ms: 5.0,
        steps: Vec::new(),
        playback_mix: 0.5,
        remove_mix: 0.2,
        catalog: 20,
        heartbeat: 1.0,
        spread: 4,
        no_baseline: false,
        kill_node: None,
        kill_after: None,
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn steady_run_converges_without_errors() {
    let (store, _dir) = baton_store::sqlite_harness::temp_sqlite()
        .await
        .expect("store");
    let cfg = ActorConfig {
        sync: baton_actors::SyncConfig {
            rate_limit_events: 1_000_000,
            ..ActorConfig::default().sync
        },
        ..ActorConfig::default()
    };
    let hub = Hub::start(store, cfg, 10_000).await.expect("hub");
    let verifier = Verifier::new(AuthConfig::new(
        "baton-test",
        "baton",
        KeySource::Pem {
            public_pem: PUB.to_owned(),
        },
    ))
    .await
    .expect("verifier");
    let state = AppState {
        hub,
        verifier,
        transport: TransportConfig::default(),
        metrics: baton_transport::install_metrics(),
        forwarding: None,
    };
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let addr = listener.local_addr().expect("addr");
    let (tx, rx) = tokio::sync::oneshot::channel::<()>();
    let server = tokio::spawn(baton_transport::serve(listener, state, async move {
        let _ = rx.await;
    }));
    let minter = Minter::from_private_pem(KEY, "baton-test", "baton").expect("minter");
    let baton = Arc::new(Target::external(
        addr,
        minter,
        serde_json::json!({"kind": "in-process"}),
    ));

    let relay_listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind relay");
    let relay_addr = relay_listener.local_addr().expect("relay addr");
    let relay_task = tokio::spawn(baton_simulations::relay::serve(relay_listener));
    let relay = Arc::new(Target::relay_at(relay_addr, None, None));

    let rep = baton_simulations::simulate(
        &[baton],
        &[],
        Some(relay),
        Scenario::Steady,
        &params(),
        true,
    )
    .await
    .expect("simulation runs");
    let table = baton_simulations::report::table(&rep);
    let b = &rep.baton;
    let conv = b.convergence.as_ref().expect("convergence checked");
    assert_eq!(b.connected, 21, "{table}");
    assert_eq!(conv.diverged_users, 0, "{table}");
    assert_eq!(conv.lost_acks, 0, "{table}");
    assert!(b.errors.is_empty(), "unexpected errors: {table}");
    let steady = &b.phases[0];
    assert!(steady.latency["propagation"].count > 0, "{table}");
    assert!(steady.latency["ack"].count > 0, "{table}");
    let relay = rep.relay.as_ref().expect("relay ran");
    assert!(relay.phases[0].latency["propagation"].count > 0, "{table}");
    assert!(!rep.ratios.is_empty(), "{table}");

    relay_task.abort();
    let _ = tx.send(());
    let _ = tokio::time::timeout(Duration::from_secs(10), server).await;
}
