//! Membership on chitchat: who is alive, where they listen, who is draining.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use chitchat::transport::UdpTransport;
use chitchat::{
    spawn_chitchat, ChitchatConfig, ChitchatHandle, ChitchatId, FailureDetectorConfig, NodeState,
};
use tokio::sync::watch;

use crate::{ClusterConfig, ClusterError};

/// Key of a node's HTTP address in its gossip state.
const KEY_API: &str = "api";
/// Key present (`"1"`) while a node drains.
const KEY_DRAINING: &str = "draining";
/// Key present (`"1"`) once a node's own view settled and it serves HTTP.
const KEY_READY: &str = "ready";
/// Gossip rounds a joining node's view must stay unchanged to count as settled.
const SETTLE_ROUNDS: u32 = 5;
/// Most gossip rounds a joining node waits for a peer before it settles alone.
const MAX_SETTLE_ROUNDS: u32 = 30;

/// One live node.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Member {
    /// Node id.
    pub id: Arc<str>,
    /// HTTP address (`host:port`).
    pub api: Arc<str>,
    /// Leaving: alive, but no user is placed on it.
    pub draining: bool,
    /// Serving: its view settled and it listens. Until then no user is placed on it.
    pub ready: bool,
}

/// The live members as this node sees them, sorted by id.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct View {
    /// Live members, this node included.
    pub members: Vec<Member>,
}

impl View {
    /// Members users may be placed on: ready and not draining.
    pub fn eligible(&self) -> impl Iterator<Item = &Member> {
        self.members.iter().filter(|m| m.ready && !m.draining)
    }

    /// Members of `self` missing from `next` that were not draining: nodes
    /// that died or were cut off, whose users the survivors take over.
    fn failed_in(&self, next: &View) -> u64 {
        let gone = self
            .members
            .iter()
            .filter(|m| !m.draining && !next.members.iter().any(|n| n.id == m.id));
        gone.count() as u64
    }

    fn from_states(states: &BTreeMap<ChitchatId, NodeState>) -> View {
        // A restarted node appears with a new generation; keep the newest.
        let mut newest: BTreeMap<&str, (u64, Member)> = BTreeMap::new();
        for (id, state) in states {
            let Some(api) = state.get(KEY_API) else {
                continue;
            };
            let member = Member {
                id: Arc::clone(&id.node_id),
                api: Arc::from(api),
                draining: state.get(KEY_DRAINING).is_some(),
                ready: state.get(KEY_READY).is_some(),
            };
            match newest.get(&*id.node_id) {
                Some((gen, _)) if *gen >= id.generation_id => {}
                _ => {
                    newest.insert(&id.node_id, (id.generation_id, member));
                }
            }
        }
        View {
            members: newest.into_values().map(|(_, m)| m).collect(),
        }
    }
}

/// This node's membership: the gossip server and the current view.
pub struct Membership {
    handle: ChitchatHandle,
    view: watch::Receiver<Arc<View>>,
    watcher: tokio::task::JoinHandle<()>,
}

impl Membership {
    /// Start gossiping and follow the live nodes.
    pub async fn start(cfg: &ClusterConfig) -> Result<Membership, ClusterError> {
        // A restart's generation is later than the last run's.
        let generation = baton_actors::clock::wall_ms();
        let failure_detector_config = FailureDetectorConfig {
            phi_threshold: cfg.phi_threshold,
            initial_interval: cfg.gossip_interval * 5,
            // A dead node's state is forgotten after this; a restart gets a new
            // generation anyway.
            dead_node_grace_period: Duration::from_secs(3600),
            ..FailureDetectorConfig::default()
        };
        let config = ChitchatConfig {
            chitchat_id: ChitchatId::new(cfg.node_id.clone(), generation, cfg.gossip_advertise),
            cluster_id: cfg.cluster_id.clone(),
            gossip_interval: cfg.gossip_interval,
            listen_addr: cfg.gossip_listen,
            seed_nodes: cfg.seeds.clone(),
            failure_detector_config,
            marked_for_deletion_grace_period: Duration::from_secs(3600),
            catchup_callback: None,
            extra_liveness_predicate: None,
            protocol_version: chitchat::ProtocolVersion::V0,
        };
        let initial = vec![(KEY_API.to_owned(), cfg.api_advertise.clone())];
        let handle = spawn_chitchat(config, initial, &UdpTransport)
            .await
            .map_err(|e| {
                ClusterError::Membership(format!("gossip on {}: {e:#}", cfg.gossip_listen))
            })?;
        let mut live = handle.chitchat().lock().await.live_nodes_watcher();
        let first = Arc::new(View::from_states(&live.borrow_and_update()));
        metrics::gauge!("baton_cluster_members").set(first.members.len() as f64);
        let (tx, view) = watch::channel(first);
        let watcher = tokio::spawn(async move {
            while live.changed().await.is_ok() {
                let next = Arc::new(View::from_states(&live.borrow_and_update()));
                tx.send_if_modified(|current| {
                    if **current == *next {
                        return false;
                    }
                    tracing::info!(
                        members = ?next.members.iter().map(|m| (&*m.id, m.draining)).collect::<Vec<_>>(),
                        "membership changed"
                    );
                    metrics::gauge!("baton_cluster_members").set(next.members.len() as f64);
                    let failed = current.failed_in(&next);
                    if failed > 0 {
                        metrics::counter!("baton_cluster_failovers_total").increment(failed);
                    }
                    *current = Arc::clone(&next);
                    true
                });
            }
        });
        Ok(Membership {
            handle,
            view,
            watcher,
        })
    }

    /// The current view.
    pub fn view(&self) -> Arc<View> {
        Arc::clone(&self.view.borrow())
    }

    /// A receiver of view changes.
    pub fn watch(&self) -> watch::Receiver<Arc<View>> {
        self.view.clone()
    }

    /// Wait (at most [`MAX_SETTLE_ROUNDS`] gossip rounds) until this node's
    /// view has seen a peer and stayed unchanged for [`SETTLE_ROUNDS`], so a
    /// joining node does not decide placement from a partial view.
    pub async fn settle(&self, gossip_interval: std::time::Duration) {
        let mut view = self.view.clone();
        let deadline = tokio::time::Instant::now() + gossip_interval * MAX_SETTLE_ROUNDS;
        loop {
            let quiet = tokio::time::timeout(gossip_interval * SETTLE_ROUNDS, view.changed());
            let changed = quiet.await;
            let peers = view.borrow().members.len() > 1;
            if matches!(changed, Err(_) | Ok(Err(_))) && peers
                || tokio::time::Instant::now() >= deadline
            {
                return;
            }
        }
    }

    /// Announce that this node serves: peers may place users on it.
    pub async fn set_ready(&self) {
        self.handle
            .with_chitchat(|c| c.self_node_state().set(KEY_READY, "1"))
            .await;
    }

    /// Announce that this node is leaving.
    pub async fn set_draining(&self) {
        self.handle
            .with_chitchat(|c| c.self_node_state().set(KEY_DRAINING, "1"))
            .await;
    }

    /// Stop gossiping.
    pub async fn leave(self) {
        self.watcher.abort();
        let _ = self.handle.shutdown().await;
    }
}

#[cfg(test)]
mod tests {
    use super::{Member, View};

    fn view(members: &[(&str, bool)]) -> View {
        View {
            members: members
                .iter()
                .map(|&(id, draining)| Member {
                    id: id.into(),
                    api: "127.0.0.1:1".into(),
                    draining,
                    ready: true,
                })
                .collect(),
        }
    }

    #[test]
    fn only_members_gone_without_draining_count_as_failovers() {
        let before = view(&[("a", false), ("b", true), ("c", false), ("d", false)]);
        // b drained and left, c vanished, d still there, e joined.
        let after = view(&[("a", false), ("d", false), ("e", false)]);
        assert_eq!(before.failed_in(&after), 1);
        assert_eq!(after.failed_in(&after), 0);
        assert_eq!(after.failed_in(&before), 1, "e, seen from before");
    }
}
