//! Exponential backoff with jitter, and which PubNub failures are worth retrying.

use std::time::{Duration, Instant};

use pubnub::core::PubNubError;
use rand::Rng;

use crate::config::RetryPolicy;

/// The delays of one retried operation.
pub(crate) struct Backoff<'a> {
    policy: &'a RetryPolicy,
    next: Duration,
    started: Instant,
}

impl<'a> Backoff<'a> {
    pub(crate) fn new(policy: &'a RetryPolicy) -> Self {
        Backoff {
            policy,
            next: policy.initial,
            started: Instant::now(),
        }
    }

    /// The next delay (between half and all of the current step), or `None`
    /// once `give_up_after` has passed (only when `bounded`).
    pub(crate) fn next_delay(&mut self, bounded: bool) -> Option<Duration> {
        if bounded && self.started.elapsed() >= self.policy.give_up_after {
            return None;
        }
        let step = self.next;
        self.next = (self.next * 2).min(self.policy.max);
        let half = step / 2;
        let jitter = rand::thread_rng().gen_range(0..=half.as_millis() as u64);
        Some(half + Duration::from_millis(jitter))
    }

    /// Start over (after a success).
    pub(crate) fn reset(&mut self) {
        self.next = self.policy.initial;
        self.started = Instant::now();
    }
}

/// A failure that retrying cannot fix: the request was refused (4xx other
/// than 429: bad keys, a message PubNub will not take).
pub(crate) fn is_permanent(err: &PubNubError) -> bool {
    let status = match err {
        PubNubError::API {
            status, response, ..
        } => response.as_ref().map_or(*status, |r| r.status),
        PubNubError::Transport {
            response: Some(r), ..
        } => r.status,
        PubNubError::Serialization { .. } | PubNubError::NoKey { .. } => return true,
        _ => return false,
    };
    (400..500).contains(&status) && status != 429 && status != 408
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn delays_grow_to_the_cap_and_stop_when_bounded() {
        let policy = RetryPolicy {
            initial: Duration::from_millis(100),
            max: Duration::from_millis(400),
            give_up_after: Duration::from_secs(3600),
        };
        let mut b = Backoff::new(&policy);
        let delays: Vec<Duration> = (0..5).filter_map(|_| b.next_delay(true)).collect();
        assert_eq!(delays.len(), 5);
        assert!(delays[0] >= Duration::from_millis(50) && delays[0] <= Duration::from_millis(100));
        assert!(delays[4] >= Duration::from_millis(200) && delays[4] <= Duration::from_millis(400));
        let policy = RetryPolicy {
            give_up_after: Duration::ZERO,
            ..policy
        };
        assert!(Backoff::new(&policy).next_delay(true).is_none());
        assert!(Backoff::new(&policy).next_delay(false).is_some());
    }
}
