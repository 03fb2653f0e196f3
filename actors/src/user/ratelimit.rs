//! Token bucket for the per-user op rate limit.

use std::time::{Duration, Instant};

/// A token bucket: `capacity` ops, refilled evenly over `window`.
pub(crate) struct TokenBucket {
    capacity: f64,
    per_sec: f64,
    tokens: f64,
    last: Instant,
}

impl TokenBucket {
    pub(crate) fn new(events: u32, window: Duration, now: Instant) -> Self {
        let capacity = f64::from(events.max(1));
        Self {
            capacity,
            per_sec: capacity / window.as_secs_f64().max(0.001),
            tokens: capacity,
            last: now,
        }
    }

    /// Take one token, or say how long until one is available.
    pub(crate) fn take(&mut self, now: Instant) -> Result<(), Duration> {
        let elapsed = now.saturating_duration_since(self.last).as_secs_f64();
        self.last = now;
        self.tokens = (self.tokens + elapsed * self.per_sec).min(self.capacity);
        if self.tokens >= 1.0 {
            self.tokens -= 1.0;
            Ok(())
        } else {
            Err(Duration::from_secs_f64((1.0 - self.tokens) / self.per_sec))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn allows_capacity_then_refuses_then_refills() {
        let t0 = Instant::now();
        let mut b = TokenBucket::new(3, Duration::from_secs(60), t0);
        assert!(b.take(t0).is_ok());
        assert!(b.take(t0).is_ok());
        assert!(b.take(t0).is_ok());
        let wait = b
            .take(t0)
            .expect_err("fourth op within the window is refused");
        assert!(wait > Duration::from_secs(19) && wait <= Duration::from_secs(20));
        assert!(b.take(t0 + Duration::from_secs(20)).is_ok());
    }
}
