//! Per-device rate limits, enforced by the session before a frame reaches
//! the user actor: one token bucket per frame kind that costs the node work
//! beyond the device itself (a handoff moves the lease and reaches every
//! device, a resync builds a snapshot, a heartbeat's activity change fans a
//! presence frame out, an interaction looks up an embedding), and a bucket of
//! refusals: a device that keeps sending after being told `rate_limited` is
//! disconnected (4029). Time comes in as an argument; nothing here reads a clock.

use std::time::{Duration, Instant};

use crate::config::DeviceLimits;
use baton_sync::TokenBucket;

/// Frame kinds with a per-device rate.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Rated {
    Handoff,
    Resync,
    Heartbeat,
    Interaction,
}

impl Rated {
    /// The frame's `type` on the wire.
    pub(super) const fn frame_type(self) -> &'static str {
        match self {
            Self::Handoff => "handoff",
            Self::Resync => "resync",
            Self::Heartbeat => "heartbeat",
            Self::Interaction => "interaction",
        }
    }
}

/// What to do with a rated frame.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Verdict {
    /// Forward it.
    Allow,
    /// Refuse it with `rate_limited`; retry after this long.
    Refuse(Duration),
    /// Refuse it and close the socket: too many refusals.
    Disconnect,
}

/// One device's buckets.
pub(super) struct DeviceRates {
    /// The buckets count ms from here.
    base: Instant,
    handoff: TokenBucket,
    resync: TokenBucket,
    heartbeat: TokenBucket,
    interaction: TokenBucket,
    refusals: TokenBucket,
}

impl DeviceRates {
    pub(super) fn new(limits: &DeviceLimits, now: Instant) -> Self {
        let window = u64::try_from(DeviceLimits::WINDOW.as_millis()).unwrap_or(u64::MAX);
        let bucket = |per_minute| TokenBucket::new(per_minute, window, 0);
        Self {
            base: now,
            handoff: bucket(limits.handoffs_per_minute),
            resync: bucket(limits.resyncs_per_minute),
            heartbeat: bucket(limits.heartbeats_per_minute),
            interaction: bucket(limits.interactions_per_minute),
            refusals: bucket(limits.refusals_per_minute),
        }
    }

    /// Take a token for one frame of `kind` received at `now`.
    pub(super) fn admit(&mut self, kind: Rated, now: Instant) -> Verdict {
        let ms =
            u64::try_from(now.saturating_duration_since(self.base).as_millis()).unwrap_or(u64::MAX);
        let bucket = match kind {
            Rated::Handoff => &mut self.handoff,
            Rated::Resync => &mut self.resync,
            Rated::Heartbeat => &mut self.heartbeat,
            Rated::Interaction => &mut self.interaction,
        };
        match bucket.take(ms) {
            Ok(()) => Verdict::Allow,
            Err(wait) => match self.refusals.take(ms) {
                Ok(()) => Verdict::Refuse(Duration::from_millis(wait)),
                Err(_) => Verdict::Disconnect,
            },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn limits() -> DeviceLimits {
        DeviceLimits {
            heartbeats_per_minute: 3,
            resyncs_per_minute: 1,
            refusals_per_minute: 2,
            ..DeviceLimits::default()
        }
    }

    #[test]
    fn a_kind_allows_its_burst_then_refuses_with_the_wait() {
        let t0 = Instant::now();
        let mut r = DeviceRates::new(&limits(), t0);
        for _ in 0..3 {
            assert_eq!(r.admit(Rated::Heartbeat, t0), Verdict::Allow);
        }
        let Verdict::Refuse(wait) = r.admit(Rated::Heartbeat, t0) else {
            panic!("the fourth heartbeat in the same instant is refused");
        };
        assert_eq!(wait, Duration::from_secs(20), "one token per 20 s at 3/min");
        assert_eq!(
            r.admit(Rated::Heartbeat, t0 + Duration::from_secs(20)),
            Verdict::Allow,
            "refilled after the announced wait"
        );
    }

    #[test]
    fn kinds_have_separate_buckets() {
        let t0 = Instant::now();
        let mut r = DeviceRates::new(&limits(), t0);
        assert_eq!(r.admit(Rated::Resync, t0), Verdict::Allow);
        assert!(matches!(r.admit(Rated::Resync, t0), Verdict::Refuse(_)));
        assert_eq!(r.admit(Rated::Handoff, t0), Verdict::Allow);
        assert_eq!(r.admit(Rated::Interaction, t0), Verdict::Allow);
    }

    #[test]
    fn refusals_beyond_their_budget_disconnect() {
        let t0 = Instant::now();
        let mut r = DeviceRates::new(&limits(), t0);
        assert_eq!(r.admit(Rated::Resync, t0), Verdict::Allow);
        assert!(matches!(r.admit(Rated::Resync, t0), Verdict::Refuse(_)));
        assert!(matches!(r.admit(Rated::Resync, t0), Verdict::Refuse(_)));
        assert_eq!(r.admit(Rated::Resync, t0), Verdict::Disconnect);
        // A minute later the device is welcome again.
        let later = t0 + Duration::from_secs(60);
        assert_eq!(r.admit(Rated::Resync, later), Verdict::Allow);
    }
}
