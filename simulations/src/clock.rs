//! Wall-clock helpers (the harness runs on the server's machine, so the
//! server's clock-skew check holds).

use std::time::{SystemTime, UNIX_EPOCH};

fn since_epoch() -> std::time::Duration {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap_or_default()
}

/// Milliseconds since the Unix epoch.
pub fn unix_ms() -> u64 {
    u64::try_from(since_epoch().as_millis()).unwrap_or(u64::MAX)
}

/// Seconds since the Unix epoch.
pub fn unix_secs() -> u64 {
    since_epoch().as_secs()
}

/// NTP64 time now (upper 32 bits seconds, lower 32 bits fraction).
pub fn ntp64_now() -> u64 {
    baton_crdt::hlc::duration_to_ntp64(since_epoch())
}
