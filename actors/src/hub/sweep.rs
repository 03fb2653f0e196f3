//! Housekeeping of the live user actors: a tick for each (idle passivation)
//! and, above the live-actor cap, passivation of the least recently used.

use std::sync::atomic::Ordering;
use std::time::Duration;

use ractor::ActorRef;

use super::{HubInner, Slot};
use crate::config::ActorConfig;
use crate::user::{LifecycleMsg, UserMsg};

/// How often user actors get a housekeeping tick: a quarter of the idle
/// passivation time, between 50 ms and 5 s.
fn tick_period(cfg: &ActorConfig) -> Duration {
    (cfg.sync.idle_passivate / 4).clamp(Duration::from_millis(50), Duration::from_secs(5))
}

/// Every tick period: send each live user actor its housekeeping tick, and
/// above the live-actor cap ask the least recently used actors to passivate
/// (actors with connected devices decline).
pub(super) async fn sweep(inner: std::sync::Weak<HubInner>) {
    let period = match inner.upgrade() {
        Some(i) => tick_period(&i.cfg),
        None => return,
    };
    let mut tick = tokio::time::interval(period);
    loop {
        tick.tick().await;
        let Some(inner) = inner.upgrade() else { return };
        let victims: Vec<ActorRef<UserMsg>> = {
            let users = inner
                .users
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner);
            metrics::gauge!("baton_live_users").set(users.len() as f64);
            // One housekeeping tick (idle passivation) per live actor: a
            // timer task per actor would cost memory for every user.
            for live in users.values().filter_map(|s| s.cell.get()) {
                let _ = live.actor.cast(UserMsg::Lifecycle(LifecycleMsg::Tick));
            }
            if users.len() <= inner.cfg.max_live_users {
                continue;
            }
            let mut by_age: Vec<(u64, &Slot)> = users
                .values()
                .map(|s| (s.last_used_ms.load(Ordering::Relaxed), s))
                .collect();
            by_age.sort_by_key(|(t, _)| *t);
            by_age
                .into_iter()
                .take(users.len() - inner.cfg.max_live_users)
                .filter_map(|(_, s)| s.cell.get().map(|l| l.actor.clone()))
                .collect()
        };
        for actor in victims {
            let _ = actor.cast(UserMsg::Lifecycle(LifecycleMsg::Passivate));
        }
    }
}
