//! `baton serve`: wire the store, the actors and the HTTP server from the
//! configuration, print where the node listens, and run until SIGINT/SIGTERM.

use std::time::Duration;

use anyhow::Context as _;
use baton_actors::{ActorConfig, Hub, Shared, SyncConfig};
use baton_cluster::forward::Forwarding;
use baton_store::{Store, StoreConfig, StoreOptions};
use baton_transport::auth::Verifier;
use baton_transport::{AppState, TransportConfig};

use crate::config::Config;

/// Runs a node until shutdown.
pub async fn run(cfg: Config) -> anyhow::Result<()> {
    // First, so that nothing recorded while starting (the first membership
    // view, store migrations) is lost.
    let metrics = baton_transport::install_metrics();
    let verifier = Verifier::new(cfg.auth.to_auth_config(&cfg.data_dir)?)
        .await
        .context("loading token verification keys")?;
    let store_cfg = match &cfg.store.database_url {
        Some(url) => StoreConfig::Postgres { url: url.clone() },
        None => StoreConfig::Sqlite {
            path: cfg.sqlite_path(),
        },
    };
    let options = StoreOptions {
        group_commit_max_batch: cfg.store.group_commit_max_batch,
        pool_size: cfg.store.pool_size,
        ..StoreOptions::default()
    };
    let store = Store::open(&store_cfg, options)
        .await
        .context("opening the store")?;
    let backend = store.backend_name();
    let shared = match &cfg.redis_url {
        Some(url) => Shared::redis(url)
            .await
            .with_context(|| format!("connecting to Redis at {url}"))?,
        None => Shared::local(),
    };
    tracing::info!(shared = shared.backend_name(), "shared state ready");
    // The hub's parts are fixed before it starts: the cluster's placement
    // (after joining the gossip) and the PubNub bridge's observer.
    let mut builder = Hub::builder(store.clone(), actor_config(&cfg))
        .max_connections(cfg.limits.max_connections)
        .shared(shared)
        .vectors(crate::personalization::vectors(&cfg).await?);
    let (joined, forwarding) = match cluster_config(&cfg)? {
        Some(cc) => {
            let forwarding = Forwarding::new(&cc.node_id, &cc.secret, cc.local_ip())?;
            let joined = baton_cluster::Cluster::join(cc)
                .await
                .context("joining the cluster")?;
            builder = builder.placement(joined.placement());
            (Some(joined), Some(forwarding))
        }
        None => (None, None),
    };
    let pending_bridge = match cfg.pubnub.bridge_config(&cfg.node_id) {
        Some(bridge_cfg) => {
            let origin = bridge_cfg.base_url();
            let pending =
                baton_bridge::Bridge::prepare(bridge_cfg).context("starting the PubNub bridge")?;
            builder = builder.observer(pending.observer());
            Some((pending, origin))
        }
        None => None,
    };
    let hub = builder.start().await?;
    let cluster = joined.map(|j| j.start(hub.clone())).transpose()?;
    let bridge = pending_bridge.map(|(pending, origin)| {
        tracing::info!(%origin, "pubnub bridge started");
        pending.start(hub.clone(), verifier.clone())
    });
    let state = AppState {
        hub,
        verifier,
        transport: TransportConfig {
            http: cfg.http.to_limits(),
            max_message_bytes: cfg.limits.max_message_bytes,
            read_buffer_bytes: cfg.sessions.ws_read_buffer_bytes,
            write_buffer_bytes: cfg.sessions.ws_write_buffer_bytes,
        },
        metrics,
        forwarding,
    };
    let listener = baton_transport::bind(cfg.listen, cfg.http.listen_backlog)
        .with_context(|| format!("binding {}", cfg.listen))?;
    let addr = listener.local_addr()?;
    tracing::info!(%addr, store = backend, node = %cfg.node_id, "baton listening");
    println!("baton listening on http://{addr} (devices: ws://{addr}/v1/sync, store: {backend})");
    if cfg.auth.external_key_setting().is_none() {
        println!("development token: baton token --user alice --device tv");
    }
    let shutdown = async move {
        let signal = shutdown_signal();
        tokio::pin!(signal);
        // The listener is bound: peers may place users here from now on.
        let signalled = match &cluster {
            Some(c) => tokio::select! {
                () = c.serve() => false,
                () = &mut signal => true,
            },
            None => false,
        };
        if !signalled {
            signal.await;
        }
        if let Some(cluster) = cluster {
            tracing::info!("leaving the cluster: handing users over");
            cluster.drain().await;
        }
    };
    baton_transport::serve(listener, state, shutdown).await?;
    if let Some(bridge) = bridge {
        bridge.shutdown(Duration::from_secs(5)).await;
    }
    store.close().await;
    tracing::info!("stopped");
    Ok(())
}

/// The cluster settings, when `cluster.enabled`.
fn cluster_config(cfg: &Config) -> anyhow::Result<Option<baton_cluster::ClusterConfig>> {
    let c = &cfg.cluster;
    if !c.enabled {
        return Ok(None);
    }
    let api_advertise = match &c.api_advertise {
        Some(api) => api.clone(),
        None if cfg.listen.ip().is_unspecified() || cfg.listen.port() == 0 => anyhow::bail!(
            "cluster.api-advertise is required when listen is a wildcard address or port 0 ({})",
            cfg.listen
        ),
        None => cfg.listen.to_string(),
    };
    Ok(Some(baton_cluster::ClusterConfig {
        node_id: cfg.node_id.clone(),
        cluster_id: c.cluster_id.clone(),
        gossip_listen: c.gossip_listen,
        gossip_advertise: c.gossip_advertise.unwrap_or(c.gossip_listen),
        api_advertise,
        seeds: c.seeds.clone(),
        gossip_interval: Duration::from_millis(c.gossip_interval_ms),
        phi_threshold: c.phi_threshold,
        secret: c.secret.clone().unwrap_or_default(),
        handoff_batch: c.handoff_batch,
        rebalance_interval: Duration::from_secs(c.rebalance_interval_secs),
        drain_timeout: Duration::from_secs(c.drain_timeout_secs),
        peer_timeout: Duration::from_secs(10),
    }))
}

fn actor_config(cfg: &Config) -> ActorConfig {
    let (l, s, a) = (&cfg.limits, &cfg.sessions, &cfg.actors);
    ActorConfig {
        sync: SyncConfig {
            idle_passivate: Duration::from_secs(a.idle_passivate_secs),
            retire_devices_after: Duration::from_secs(a.retire_devices_after_days * 24 * 3600),
            snapshot_every_ops: a.snapshot_every_ops,
            log_retention_ops: a.log_retention_ops,
            rate_limit_events: l.rate_limit_events,
            rate_limit_window: Duration::from_secs(l.rate_limit_window_secs),
            max_clock_skew: Duration::from_millis(l.max_clock_skew_ms),
            snapshot_chunk_bytes: l.snapshot_chunk_bytes,
            max_devices_per_user: l.max_devices_per_user,
        },
        hub: baton_actors::HubConfig {
            max_live_users: a.max_live_users,
            ..Default::default()
        },
        timers: baton_actors::SessionTimers {
            heartbeat_timeout: Duration::from_secs(s.heartbeat_timeout_secs),
            ping_interval: Duration::from_secs(s.ping_interval_secs),
            pong_timeout: Duration::from_secs(s.pong_timeout_secs),
            write_timeout: Duration::from_secs(s.write_timeout_secs),
            close_timeout: Duration::from_secs(s.close_timeout_secs),
            token_leeway: Duration::from_secs(cfg.auth.leeway_secs),
            ..Default::default()
        },
        device: baton_actors::DeviceLimits {
            outbound_queue: l.outbound_queue,
            max_inflight_ops: l.max_inflight_ops,
            max_message_bytes: l.max_message_bytes,
            max_name_bytes: l.max_name_bytes,
            max_kind_bytes: l.max_kind_bytes,
            max_capabilities: l.max_capabilities,
            max_capability_bytes: l.max_capability_bytes,
            max_request_id_bytes: l.max_request_id_bytes,
            handoffs_per_minute: l.handoffs_per_minute,
            resyncs_per_minute: l.resyncs_per_minute,
            heartbeats_per_minute: l.heartbeats_per_minute,
            interactions_per_minute: l.interactions_per_minute,
            refusals_per_minute: l.refusals_per_minute,
            outbound_queue_bytes: l.outbound_queue_bytes,
            catch_up_queue_bytes: l.catch_up_queue_bytes,
        },
        ownership: baton_actors::OwnershipConfig {
            node_id: cfg.node_id.clone(),
            claim_ownership: cfg.cluster.enabled,
            move_wait: Duration::from_millis(cfg.cluster.move_wait_ms),
            ..Default::default()
        },
    }
}

/// Resolves on SIGINT or SIGTERM.
async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => {}
        () = term => {}
    }
}
