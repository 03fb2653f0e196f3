//! What to do after a session ends, by close code (PROTOCOL.md section 7).

use std::time::Duration;

use crate::backoff::Backoff;

/// The decision after a session or a connection attempt ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Next {
    /// Do not reconnect (4001: replaced; 4000: a protocol violation the
    /// client must fix first; or the application closed the client).
    Stop(String),
    /// Reconnect after `wait`; `attempt` is the backoff attempt to use next.
    Retry {
        /// The wait.
        wait: Duration,
        /// The next attempt number.
        attempt: u32,
    },
}

/// The decision for close `code` (`None`: no close frame — a network
/// error or a refused upgrade) after backoff attempt `attempt`, with the
/// server's `hint` (`Retry-After`, `retry_after_ms`), if any.
pub fn after_close(
    code: Option<u16>,
    attempt: u32,
    hint: Option<Duration>,
    backoff: &Backoff,
) -> Next {
    match code {
        Some(4001) => Next::Stop("replaced by a newer connection of this device (4001)".into()),
        Some(4000) => Next::Stop("protocol violation (4000)".into()),
        // The user moved to another node (any node forwards): at once, with
        // a little jitter so a node's devices do not all arrive together.
        Some(4009) => Next::Retry {
            wait: backoff
                .delay(0, None)
                .min(Duration::from_millis(100))
                .max(hint.unwrap_or_default()),
            attempt: 0,
        },
        // 1000, 1001 (shutting down), 1008 (token ended: the provider is
        // asked again), 1011 (actor restarted), 1012 (draining), 1013
        // (overloaded), 4002, 4008 (slow consumer), 4029, network errors:
        // exponential backoff with full jitter, at least the hint.
        _ => Next::Retry {
            wait: backoff.delay(attempt, hint),
            attempt: attempt.saturating_add(1),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn wait(n: Next) -> (Duration, u32) {
        match n {
            Next::Retry { wait, attempt } => (wait, attempt),
            Next::Stop(why) => panic!("stopped: {why}"),
        }
    }

    #[test]
    fn replaced_and_protocol_violations_stop() {
        let b = Backoff::default();
        assert!(matches!(
            after_close(Some(4001), 0, None, &b),
            Next::Stop(_)
        ));
        assert!(matches!(
            after_close(Some(4000), 3, None, &b),
            Next::Stop(_)
        ));
    }

    #[test]
    fn a_move_reconnects_at_once() {
        let b = Backoff::default();
        for attempt in [0, 5, 20] {
            let (w, a) = wait(after_close(Some(4009), attempt, None, &b));
            assert!(w <= Duration::from_millis(100));
            assert_eq!(a, 0, "a move does not count as a failure");
        }
    }

    #[test]
    fn other_closes_back_off_and_honour_the_hint() {
        let b = Backoff::default();
        for code in [
            Some(1001),
            Some(1011),
            Some(4008),
            Some(1008),
            Some(1013),
            None,
        ] {
            let (w, a) = wait(after_close(code, 2, None, &b));
            assert!(w <= b.window(2), "{code:?}: {w:?}");
            assert_eq!(a, 3);
            let (w, _) = wait(after_close(code, 0, Some(Duration::from_secs(3)), &b));
            assert!(w >= Duration::from_secs(3), "{code:?} ignores Retry-After");
        }
    }
}
