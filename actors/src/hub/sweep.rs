//! Housekeeping of the live user actors: a tick for each (idle passivation)
//! and, above the live-actor cap, passivation of the least recently used.

use std::time::Duration;

use super::HubInner;
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
        metrics::gauge!("baton_live_users").set(inner.registry.len() as f64);
        let (live, victims) = inner
            .registry
            .actors_and_overflow(inner.cfg.hub.max_live_users);
        // One housekeeping tick (idle passivation) per live actor: a timer
        // task per actor would cost memory for every user.
        for actor in live {
            let _ = actor.cast(UserMsg::Lifecycle(LifecycleMsg::Tick));
        }
        for actor in victims {
            let _ = actor.cast(UserMsg::Lifecycle(LifecycleMsg::Passivate));
        }
    }
}
