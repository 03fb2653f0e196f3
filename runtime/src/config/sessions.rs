//! `[sessions]`: liveness and buffers of device WebSockets.

use serde::{Deserialize, Serialize};

use super::check::Checker;

/// Device session settings.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case", deny_unknown_fields, default)]
pub struct SessionsSection {
    /// Seconds between server pings.
    pub ping_interval_secs: u64,
    /// Seconds to wait for a pong before closing.
    pub pong_timeout_secs: u64,
    /// Seconds without any frame before a session is closed.
    pub heartbeat_timeout_secs: u64,
    /// WebSocket read buffer per connection, in bytes (memory per idle device).
    pub ws_read_buffer_bytes: usize,
    /// WebSocket write buffer per connection, in bytes.
    pub ws_write_buffer_bytes: usize,
    /// Seconds a write to a device may take before it counts as a slow consumer (4008).
    pub write_timeout_secs: u64,
    /// Seconds the close frame may wait behind what the socket already holds,
    /// and then for the device's close frame.
    pub close_timeout_secs: u64,
}

impl SessionsSection {
    /// The defaults.
    pub const fn new() -> Self {
        SessionsSection {
            ping_interval_secs: 30,
            pong_timeout_secs: 10,
            heartbeat_timeout_secs: 300,
            ws_read_buffer_bytes: 512,
            ws_write_buffer_bytes: 4096,
            write_timeout_secs: 10,
            close_timeout_secs: 5,
        }
    }

    pub(super) fn check(&self, c: &mut Checker) {
        c.at_least("sessions.ping-interval-secs", self.ping_interval_secs, 1);
        c.at_least("sessions.pong-timeout-secs", self.pong_timeout_secs, 1);
        c.at_least(
            "sessions.heartbeat-timeout-secs",
            self.heartbeat_timeout_secs,
            self.ping_interval_secs,
        );
        c.at_least(
            "sessions.ws-read-buffer-bytes",
            self.ws_read_buffer_bytes,
            512,
        );
        c.at_least(
            "sessions.ws-write-buffer-bytes",
            self.ws_write_buffer_bytes,
            512,
        );
        c.at_least("sessions.write-timeout-secs", self.write_timeout_secs, 1);
        c.at_least("sessions.close-timeout-secs", self.close_timeout_secs, 1);
        c.at_most("sessions.close-timeout-secs", self.close_timeout_secs, 60);
    }
}

impl Default for SessionsSection {
    fn default() -> Self {
        Self::new()
    }
}
