//! The node's one clock: wall time, the hybrid logical clock and monotonic
//! marks, read here and handed to the sans-IO parts as [`Now`]. Nothing else
//! on the node reads the wall clock (token expiry, erasure and export times,
//! interaction times and revocation expiry all come from [`wall_ms`]); tokio's
//! monotonic timers drive the sockets' liveness checks.

use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use baton_crdt::Hlc;
use baton_sync::Now;

/// The clock every user actor of a node reads (cheap to clone).
#[derive(Clone)]
pub struct Clock {
    hlc: Arc<uhlc::HLC>,
    start: Instant,
}

impl Clock {
    /// A clock whose HLC refuses remote timestamps further than `max_skew` ahead.
    pub fn new(max_skew: Duration) -> Self {
        let hlc = uhlc::HLCBuilder::new().with_max_delta(max_skew).build();
        Self {
            hlc: Arc::new(hlc),
            start: Instant::now(),
        }
    }

    /// Now, for a state machine input.
    pub fn now(&self) -> Now {
        Now {
            ms: wall_ms(),
            hlc: Hlc(self.hlc.new_timestamp()),
        }
    }

    /// Wall-clock ms since the Unix epoch.
    pub fn wall_ms(&self) -> u64 {
        wall_ms()
    }

    /// A monotonic mark (µs since the clock was made), for latency figures.
    pub fn mark(&self) -> u64 {
        u64::try_from(self.start.elapsed().as_micros()).unwrap_or(u64::MAX)
    }

    /// The mark of an earlier instant.
    pub fn mark_at(&self, at: Instant) -> u64 {
        u64::try_from(at.saturating_duration_since(self.start).as_micros()).unwrap_or(u64::MAX)
    }

    /// Seconds since `mark`.
    pub fn secs_since(&self, mark: u64) -> f64 {
        self.mark().saturating_sub(mark) as f64 / 1e6
    }
}

/// Wall-clock ms since the Unix epoch (0 if the clock is before it): the
/// node's only read of the wall clock.
pub fn wall_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
}
