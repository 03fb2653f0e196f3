//! Rendezvous (highest-random-weight) placement: a user's owner is the
//! eligible member with the highest hash of (member, user). Adding a node
//! moves only the users it now wins (about 1/n); removing one moves only its
//! own users. No ring, no virtual nodes, no state beyond the member list.

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use baton_actors::{Placement, RemoteNode, Route};
use tokio::sync::watch;
use xxhash_rust::xxh3::xxh3_64_with_seed;

use crate::membership::{Member, View};

/// The weight of `user` on `node`.
fn score(node: &str, user: &str) -> u64 {
    // Seeding the user's hash with the node's keeps the two inputs apart
    // without building a joined string.
    xxh3_64_with_seed(user.as_bytes(), xxh3_64_with_seed(node.as_bytes(), 0))
}

/// The owner of `user` among `members`: the highest score, ties by id.
pub fn owner<'a>(user: &str, members: impl Iterator<Item = &'a Member>) -> Option<&'a Member> {
    members.max_by(|a, b| {
        score(&a.id, user)
            .cmp(&score(&b.id, user))
            .then_with(|| a.id.cmp(&b.id))
    })
}

/// How long a node that could not be reached is skipped by this node's
/// routing. The failure detector normally removes a dead node well within it;
/// a node that is alive again is used again after it.
pub const SUSPECT_FOR: Duration = Duration::from_secs(3);

/// [`Placement`] over the live membership, skipping members this node just
/// failed to reach. With rendezvous hashing the next-best member is exactly
/// the owner the cluster converges to once the failure detector drops the
/// dead one, so routing around it early shortens failover without choosing a
/// different owner (and fencing keeps a wrong guess safe).
pub struct ClusterPlacement {
    me: Arc<str>,
    view: watch::Receiver<Arc<View>>,
    suspects: Mutex<HashMap<Arc<str>, Instant>>,
    /// This node places users on itself only once its `ready` flag had time
    /// to reach its peers (see [`crate::Cluster::serve`]).
    serving: AtomicBool,
}

impl ClusterPlacement {
    /// Placement for node `me`, following `view`.
    pub fn new(me: String, view: watch::Receiver<Arc<View>>) -> Self {
        Self {
            me: Arc::from(me),
            view,
            suspects: Mutex::new(HashMap::new()),
            serving: AtomicBool::new(false),
        }
    }

    /// From now on this node places users on itself (when its view says so).
    pub fn start_serving(&self) {
        self.serving.store(true, Ordering::Release);
    }

    /// Route `user` within `view` from node `me`'s point of view. With no
    /// eligible member (everyone draining) a node keeps serving.
    pub fn route_in(me: &str, view: &View, user: &str) -> Route {
        Self::route_avoiding(me, view, user, &[])
    }

    /// [`ClusterPlacement::route_in`] without the members in `avoid`.
    pub fn route_avoiding(me: &str, view: &View, user: &str, avoid: &[Arc<str>]) -> Route {
        let candidates = view.eligible().filter(|m| !avoid.contains(&m.id));
        Self::route_among(me, candidates, user)
    }

    fn route_among<'a>(
        me: &str,
        candidates: impl Iterator<Item = &'a Member>,
        user: &str,
    ) -> Route {
        match owner(user, candidates) {
            Some(m) if &*m.id != me => Route::Remote(RemoteNode {
                id: Arc::clone(&m.id),
                api: Arc::clone(&m.api),
            }),
            _ => Route::Local,
        }
    }
}

impl ClusterPlacement {
    fn current_suspects(&self) -> Vec<Arc<str>> {
        let mut suspects = self
            .suspects
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if suspects.is_empty() {
            return Vec::new();
        }
        suspects.retain(|_, since| since.elapsed() < SUSPECT_FOR);
        suspects.keys().cloned().collect()
    }
}

impl Placement for ClusterPlacement {
    fn route(&self, user: &str) -> Route {
        let view = Arc::clone(&self.view.borrow());
        let avoid = self.current_suspects();
        let serving = self.serving.load(Ordering::Acquire);
        let candidates = view
            .eligible()
            .filter(|m| !avoid.contains(&m.id) && (serving || m.id != self.me));
        Self::route_among(&self.me, candidates, user)
    }

    fn suspects(&self) -> Vec<Arc<str>> {
        self.current_suspects()
    }

    fn unreachable(&self, node: &RemoteNode) {
        tracing::warn!(node = %node.id, api = %node.api, "peer unreachable; routing around it");
        self.suspects
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .insert(Arc::clone(&node.id), Instant::now());
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn member(id: &str, draining: bool) -> Member {
        Member {
            id: Arc::from(id),
            api: Arc::from(format!("{id}:7600")),
            draining,
            ready: true,
        }
    }

    fn view(ids: &[&str]) -> View {
        View {
            members: ids.iter().map(|i| member(i, false)).collect(),
        }
    }

    fn owner_id(v: &View, user: &str) -> String {
        owner(user, v.eligible())
            .map(|m| m.id.to_string())
            .unwrap_or_default()
    }

    #[test]
    fn adding_a_fourth_node_moves_about_a_quarter_and_only_to_it() {
        let three = view(&["node-1", "node-2", "node-3"]);
        let four = view(&["node-1", "node-2", "node-3", "node-4"]);
        let users: Vec<String> = (0..20_000).map(|i| format!("user-{i}")).collect();
        let mut moved = 0;
        for u in &users {
            let (a, b) = (owner_id(&three, u), owner_id(&four, u));
            if a != b {
                assert_eq!(b, "node-4", "a user moved between old nodes");
                moved += 1;
            }
        }
        let share = f64::from(moved) / users.len() as f64;
        assert!((0.22..0.28).contains(&share), "moved share {share}");
    }

    #[test]
    fn draining_members_get_no_users_and_everyone_else_keeps_theirs() {
        let all = view(&["a", "b", "c"]);
        let mut draining = all.clone();
        draining.members[1].draining = true;
        for i in 0..5_000 {
            let u = format!("u{i}");
            let before = owner_id(&all, &u);
            let after = owner_id(&draining, &u);
            assert_ne!(after, "b");
            if before != "b" {
                assert_eq!(before, after);
            }
        }
    }

    #[test]
    fn routes_local_for_own_users_and_remote_with_the_address_otherwise() {
        let v = view(&["a", "b"]);
        let mut saw = (false, false);
        for i in 0..100 {
            let u = format!("u{i}");
            match ClusterPlacement::route_in("a", &v, &u) {
                Route::Local => saw.0 = true,
                Route::Remote(n) => {
                    assert_eq!(&*n.id, "b");
                    assert_eq!(&*n.api, "b:7600");
                    saw.1 = true;
                }
            }
        }
        assert_eq!(saw, (true, true));
        let lonely = View::default();
        assert_eq!(ClusterPlacement::route_in("a", &lonely, "u"), Route::Local);
    }

    #[test]
    fn an_unreachable_owner_is_skipped_for_the_owner_after_it() {
        let v = view(&["a", "b", "c"]);
        let (tx, rx) = watch::channel(Arc::new(v.clone()));
        let placement = ClusterPlacement::new("a".into(), rx);
        placement.start_serving();
        let mut checked = 0;
        for i in 0..200 {
            let u = format!("u{i}");
            let Route::Remote(first) = placement.route(&u) else {
                continue;
            };
            // Skipping the owner gives the owner of the view without it.
            let without = View {
                members: v
                    .members
                    .iter()
                    .filter(|m| m.id != first.id)
                    .cloned()
                    .collect(),
            };
            let expected = ClusterPlacement::route_in("a", &without, &u);
            let fresh = ClusterPlacement::new("a".into(), tx.subscribe());
            fresh.start_serving();
            fresh.unreachable(&first);
            assert_eq!(fresh.route(&u), expected);
            checked += 1;
        }
        assert!(checked > 50);
    }

    /// The restart flap: a joining node is placed on by nobody (itself
    /// included) until it is ready and serving, so every node routes its
    /// users to the old owners until then; afterwards each user moves once,
    /// from its old owner straight to the joiner, in every node's view.
    #[test]
    fn a_joining_node_takes_its_users_once_and_only_when_serving() {
        let old = view(&["a", "b"]);
        let mut joining = view(&["a", "b", "c"]);
        joining.members[2].ready = false;
        let ready = view(&["a", "b", "c"]);
        let (_tx, rx) = watch::channel(Arc::new(joining.clone()));
        let joiner = ClusterPlacement::new("c".into(), rx);
        let (_tx2, rx2) = watch::channel(Arc::new(ready.clone()));
        let joiner_ready_not_serving = ClusterPlacement::new("c".into(), rx2);
        let (_tx3, rx3) = watch::channel(Arc::new(ready.clone()));
        let joiner_serving = ClusterPlacement::new("c".into(), rx3);
        joiner_serving.start_serving();
        let mut moved = 0;
        for i in 0..2_000 {
            let u = format!("u{i}");
            let before = owner_id(&old, &u);
            // Peers that see the joiner, but not yet ready: nothing moves.
            assert_eq!(owner_id(&joining, &u), before);
            for peer in ["a", "b"] {
                assert_eq!(
                    ClusterPlacement::route_in(peer, &joining, &u),
                    ClusterPlacement::route_in(peer, &old, &u)
                );
            }
            // The joiner agrees with them until it serves, ready flag or not.
            for p in [&joiner, &joiner_ready_not_serving] {
                match p.route(&u) {
                    Route::Remote(n) => assert_eq!(*n.id, *before),
                    Route::Local => panic!("the joiner served {u} before serving"),
                }
            }
            // Once serving, a user moves only if it moves to the joiner.
            let after = owner_id(&ready, &u);
            if after != before {
                assert_eq!(after, "c");
                assert_eq!(joiner_serving.route(&u), Route::Local);
                moved += 1;
            }
        }
        assert!(moved > 400, "moved {moved}");
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(2_000))]
        /// Every node computes the same owner from the same members, whatever
        /// the order it learned them in.
        #[test]
        fn owner_is_independent_of_member_order(
            ids in proptest::collection::btree_set("[a-z]{1,6}", 1..8),
            user in "[a-z0-9]{1,12}",
            seed in any::<u64>(),
        ) {
            let mut members: Vec<Member> = ids.iter().map(|i| member(i, false)).collect();
            let first = owner(&user, members.iter()).map(|m| m.id.clone());
            let n = members.len();
            members.rotate_left((seed as usize) % n);
            members.reverse();
            let second = owner(&user, members.iter()).map(|m| m.id.clone());
            prop_assert_eq!(first, second);
        }
    }
}
