//! Moving users to their owners. After every membership change, and every
//! `rebalance_interval` (views can disagree for a moment, and a forwarded
//! request may have activated a user here that another node owns), each live
//! user this node does not own is released and its state sent to the owner,
//! in batches of `handoff_batch` users per request, batches to different
//! owners in parallel.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Instant;

use baton_actors::{Hub, Route};
use futures_util::future::join_all;
use tokio::sync::watch;

use crate::handoff::Client;
use crate::membership::View;
use crate::ClusterConfig;

/// The rebalancer's loop.
pub async fn run(
    hub: Hub,
    cfg: Arc<ClusterConfig>,
    mut view: watch::Receiver<Arc<View>>,
    client: Client,
) {
    let mut tick = tokio::time::interval(cfg.rebalance_interval);
    loop {
        tokio::select! {
            changed = view.changed() => {
                if changed.is_err() {
                    return;
                }
            }
            _ = tick.tick() => {}
        }
        move_away(&hub, &cfg, &client).await;
        // Users another node claimed since: stop serving them now rather than
        // at their next write, so their devices reconnect to the owner.
        let fenced = hub.fence_superseded().await;
        if fenced > 0 {
            metrics::counter!("baton_cluster_superseded_total").increment(fenced as u64);
        }
    }
}

/// Hand every live user this node does not own to its owner. Returns how many
/// users were moved.
pub async fn move_away(hub: &Hub, cfg: &ClusterConfig, client: &Client) -> usize {
    let mut by_owner: BTreeMap<Arc<str>, Vec<String>> = BTreeMap::new();
    for user in hub.live_user_ids() {
        if let Route::Remote(node) = hub.route(&user) {
            by_owner.entry(node.api).or_default().push(user);
        }
    }
    if by_owner.is_empty() {
        return 0;
    }
    let started = Instant::now();
    let moves = by_owner.into_iter().map(|(api, users)| async move {
        let mut moved = 0;
        for batch in users.chunks(cfg.handoff_batch.max(1)) {
            moved += move_batch(hub, client, &api, batch).await;
        }
        moved
    });
    let moved: usize = join_all(moves).await.into_iter().sum();
    metrics::counter!("baton_cluster_users_moved_total").increment(moved as u64);
    metrics::histogram!("baton_cluster_rebalance_seconds").record(started.elapsed().as_secs_f64());
    tracing::info!(moved, secs = started.elapsed().as_secs_f64(), "rebalanced");
    moved
}

/// Release a batch (in parallel), send what was live to the owner, and let
/// waiting connections through.
async fn move_batch(hub: &Hub, client: &Client, api: &str, users: &[String]) -> usize {
    let released = join_all(users.iter().map(|u| hub.release(u))).await;
    let states: Vec<_> = released.into_iter().flatten().collect();
    let count = states.len();
    if !states.is_empty() {
        if let Err(e) = client.send(api, states).await {
            // The state is durable: the new owner loads it cold instead.
            tracing::warn!(error = %e, users = count, "warm handoff failed");
            metrics::counter!("baton_cluster_handoff_failures_total").increment(1);
        }
    }
    for user in users {
        hub.moved(user);
    }
    count
}
