//! `[http]`: limits of HTTP connections that have not upgraded to a device
//! WebSocket (slowloris, idle keep-alive, descriptor exhaustion).

use serde::{Deserialize, Serialize};

use super::check::Checker;

/// HTTP connection limits.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case", deny_unknown_fields, default)]
pub struct HttpSection {
    /// Milliseconds to receive a complete request head, counted from the
    /// accept or the end of the previous response; then the connection is closed.
    pub header_read_timeout_ms: u64,
    /// Milliseconds a connection may move no byte while no request is being
    /// handled; then it is closed.
    pub idle_timeout_ms: u64,
    /// Connections open and not upgraded; one more is answered 503
    /// `too_many_connections` and closed at accept.
    pub max_pending_connections: usize,
    /// Connections the kernel may hold completed and not yet accepted (the
    /// `listen` backlog; Linux caps it at `net.core.somaxconn`). Past it, new
    /// connections' SYNs are dropped and clients retransmit after a second.
    pub listen_backlog: u32,
}

impl HttpSection {
    /// The defaults.
    pub const fn new() -> Self {
        HttpSection {
            header_read_timeout_ms: 10_000,
            idle_timeout_ms: 60_000,
            max_pending_connections: 1024,
            listen_backlog: 4096,
        }
    }

    pub(super) fn check(&self, c: &mut Checker) {
        c.at_least(
            "http.header-read-timeout-ms",
            self.header_read_timeout_ms,
            1,
        );
        c.at_least("http.idle-timeout-ms", self.idle_timeout_ms, 1);
        c.at_least(
            "http.max-pending-connections",
            self.max_pending_connections,
            1,
        );
        c.at_least("http.listen-backlog", self.listen_backlog, 1);
    }

    /// The transport's form.
    pub fn to_limits(&self) -> baton_transport::HttpLimits {
        baton_transport::HttpLimits {
            header_read_timeout: std::time::Duration::from_millis(self.header_read_timeout_ms),
            idle_timeout: std::time::Duration::from_millis(self.idle_timeout_ms),
            max_pending_connections: self.max_pending_connections,
        }
    }
}

impl Default for HttpSection {
    fn default() -> Self {
        Self::new()
    }
}
