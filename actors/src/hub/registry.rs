//! The registry of live user actors: one slot per user, holding its
//! activation once made (one activation even under concurrent first
//! requests) and when it was last used, for the live-actor cap.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use ractor::ActorRef;
use tokio::sync::OnceCell;

use crate::lock::lock;
use crate::user::UserMsg;

/// A user's actor and the ownership claim it was activated under (0: none).
#[derive(Clone)]
pub(super) struct Live {
    pub(super) actor: ActorRef<UserMsg>,
    pub(super) epoch: u64,
}

/// One user's place in the registry: its activation, made at most once.
#[derive(Clone)]
pub(super) struct Slot {
    pub(super) cell: Arc<OnceCell<Live>>,
    last_used: Arc<AtomicU64>,
}

/// Live user actors by user id.
#[derive(Default)]
pub(super) struct Registry {
    users: Mutex<HashMap<String, Slot>>,
}

impl Registry {
    /// The user's slot (made empty if new), marked used at `mark` (a
    /// monotonic clock mark: only the order matters).
    pub(super) fn slot(&self, user: &str, mark: u64) -> Slot {
        let slot = lock(&self.users)
            .entry(user.to_owned())
            .or_insert_with(|| Slot {
                cell: Arc::new(OnceCell::new()),
                last_used: Arc::new(AtomicU64::new(0)),
            })
            .clone();
        slot.last_used.store(mark, Ordering::Relaxed);
        slot
    }

    /// The user's activation, if it is live.
    pub(super) fn live(&self, user: &str) -> Option<(Live, Arc<OnceCell<Live>>)> {
        let users = lock(&self.users);
        let slot = users.get(user)?;
        slot.cell.get().map(|l| (l.clone(), slot.cell.clone()))
    }

    /// Every live activation.
    pub(super) fn all(&self) -> Vec<(String, Live)> {
        lock(&self.users)
            .iter()
            .filter_map(|(u, s)| s.cell.get().map(|l| (u.clone(), l.clone())))
            .collect()
    }

    /// The users with a slot.
    pub(super) fn ids(&self) -> Vec<String> {
        lock(&self.users).keys().cloned().collect()
    }

    /// How many users have a slot.
    pub(super) fn len(&self) -> usize {
        lock(&self.users).len()
    }

    /// Every live actor, and above `cap` the least recently used ones
    /// beyond it (to passivate).
    pub(super) fn actors_and_overflow(
        &self,
        cap: usize,
    ) -> (Vec<ActorRef<UserMsg>>, Vec<ActorRef<UserMsg>>) {
        let users = lock(&self.users);
        let live = users
            .values()
            .filter_map(|s| s.cell.get().map(|l| l.actor.clone()))
            .collect();
        if users.len() <= cap {
            return (live, Vec::new());
        }
        let mut by_age: Vec<&Slot> = users.values().collect();
        by_age.sort_by_key(|s| s.last_used.load(Ordering::Relaxed));
        let overflow = by_age
            .into_iter()
            .take(users.len() - cap)
            .filter_map(|s| s.cell.get().map(|l| l.actor.clone()))
            .collect();
        (live, overflow)
    }

    /// Drop the user's slot if it still holds `cell` (a stopped activation).
    pub(super) fn forget(&self, user: &str, cell: &Arc<OnceCell<Live>>) {
        let mut users = lock(&self.users);
        if users.get(user).is_some_and(|s| Arc::ptr_eq(&s.cell, cell)) {
            users.remove(user);
        }
    }

    /// Drop the user's slot if its actor is `id`.
    pub(super) fn forget_actor(&self, user: &str, id: ractor::ActorId) {
        let mut users = lock(&self.users);
        let matches = users
            .get(user)
            .and_then(|s| s.cell.get())
            .is_some_and(|l| l.actor.get_id() == id);
        if matches {
            users.remove(user);
        }
    }
}
