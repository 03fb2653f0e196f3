//! Reconnect delays: exponential backoff with full jitter (PROTOCOL.md
//! section 7): a random wait in `[0, min(cap, base * 2^attempt)]`, and at
//! least the server's hint when it gave one.

use std::time::Duration;

use rand::Rng;

/// Backoff parameters.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Backoff {
    /// The window of the first retry (0.5 s).
    pub base: Duration,
    /// The largest window (30 s).
    pub cap: Duration,
}

impl Default for Backoff {
    fn default() -> Self {
        Backoff {
            base: Duration::from_millis(500),
            cap: Duration::from_secs(30),
        }
    }
}

impl Backoff {
    /// The window for `attempt` (0-based): `min(cap, base * 2^attempt)`.
    pub fn window(&self, attempt: u32) -> Duration {
        let factor = 1u32.checked_shl(attempt.min(20)).unwrap_or(u32::MAX);
        self.base.saturating_mul(factor).min(self.cap)
    }

    /// A random wait for `attempt`, at least `hint`.
    pub fn delay(&self, attempt: u32, hint: Option<Duration>) -> Duration {
        let window = self.window(attempt);
        let jittered = if window.is_zero() {
            window
        } else {
            rand::thread_rng().gen_range(Duration::ZERO..=window)
        };
        jittered.max(hint.unwrap_or(Duration::ZERO))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn windows_double_up_to_the_cap() {
        let b = Backoff::default();
        assert_eq!(b.window(0), Duration::from_millis(500));
        assert_eq!(b.window(1), Duration::from_secs(1));
        assert_eq!(b.window(5), Duration::from_secs(16));
        assert_eq!(b.window(6), Duration::from_secs(30));
        assert_eq!(b.window(u32::MAX), Duration::from_secs(30));
    }

    #[test]
    fn delays_stay_in_the_window_and_respect_the_hint() {
        let b = Backoff::default();
        for attempt in 0..8 {
            let d = b.delay(attempt, None);
            assert!(d <= b.window(attempt), "{d:?} > {:?}", b.window(attempt));
        }
        let hinted = b.delay(0, Some(Duration::from_secs(7)));
        assert!(hinted >= Duration::from_secs(7));
    }
}
