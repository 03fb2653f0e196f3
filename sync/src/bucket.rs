//! A token bucket on caller-given milliseconds (the per-user op rate limit
//! and the personalization interaction limit).

/// A token bucket: `capacity` events, refilled evenly over `window_ms`.
#[derive(Debug, Clone)]
pub struct TokenBucket {
    capacity: f64,
    per_ms: f64,
    tokens: f64,
    last_ms: u64,
}

impl TokenBucket {
    /// A full bucket of `events` per `window_ms`, as of `now_ms`.
    pub fn new(events: u32, window_ms: u64, now_ms: u64) -> Self {
        let capacity = f64::from(events.max(1));
        Self {
            capacity,
            per_ms: capacity / (window_ms.max(1) as f64),
            tokens: capacity,
            last_ms: now_ms,
        }
    }

    /// Take one token, or say how many ms until one is available (at least 1).
    /// A clock that went back refills nothing.
    pub fn take(&mut self, now_ms: u64) -> Result<(), u64> {
        let elapsed = now_ms.saturating_sub(self.last_ms) as f64;
        self.last_ms = self.last_ms.max(now_ms);
        self.tokens = (self.tokens + elapsed * self.per_ms).min(self.capacity);
        if self.tokens >= 1.0 {
            self.tokens -= 1.0;
            Ok(())
        } else {
            Err((((1.0 - self.tokens) / self.per_ms).ceil() as u64).max(1))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::TokenBucket;

    #[test]
    fn allows_capacity_then_refuses_then_refills() {
        let mut b = TokenBucket::new(3, 60_000, 0);
        assert!(b.take(0).is_ok());
        assert!(b.take(0).is_ok());
        assert!(b.take(0).is_ok());
        let wait = b
            .take(0)
            .expect_err("fourth op within the window is refused");
        assert!((19_000..=20_000).contains(&wait), "{wait}");
        assert!(b.take(20_000).is_ok());
    }

    #[test]
    fn a_clock_going_back_refills_nothing() {
        let mut b = TokenBucket::new(1, 1_000, 5_000);
        assert!(b.take(5_000).is_ok());
        assert!(b.take(1_000).is_err());
        assert!(b.take(5_500).is_err(), "the bucket kept its latest time");
        assert!(b.take(6_000).is_ok());
    }
}
