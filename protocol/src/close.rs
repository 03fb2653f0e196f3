//! WebSocket close codes used by the server, with their meaning for clients.

/// Close codes. 1xxx are RFC 6455 codes; 4xxx are Baton's own.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CloseCode {
    /// 1000: normal close.
    Normal,
    /// 1001: the server is shutting down; reconnect (to another node) with backoff.
    GoingAway,
    /// 1008: the token was revoked or expired; get a new token before reconnecting.
    PolicyViolation,
    /// 1009: a frame exceeded the message size limit.
    TooBig,
    /// 1011: internal error (the user's actor restarted); reconnect and resume.
    InternalError,
    /// 1012: the node is draining; reconnect elsewhere after the retry hint.
    ServiceRestart,
    /// 1013: the node is overloaded; retry after the hint, with jitter.
    TryAgainLater,
    /// 4000: protocol violation (no hello, wrong protocol version, op before hello).
    ProtocolViolation,
    /// 4001: a newer connection of the same device replaced this one; do not reconnect.
    Replaced,
    /// 4002: no heartbeat or pong within the timeout.
    HeartbeatTimeout,
    /// 4008: the device did not read fast enough; its outbound queue filled up.
    SlowConsumer,
    /// 4029: the device kept sending frames refused as `rate_limited`.
    RateLimited,
    /// 4009: the user moved to another node (cluster rebalancing or a stale owner);
    /// reconnect at once (any node) and resume with deltas.
    Moved,
    /// 4010: the user was erased (right to erasure): wipe the local replica and
    /// every unacknowledged op, then get a new token before reconnecting.
    UserErased,
}

impl CloseCode {
    /// The numeric code on the wire.
    pub const fn code(self) -> u16 {
        match self {
            Self::Normal => 1000,
            Self::GoingAway => 1001,
            Self::PolicyViolation => 1008,
            Self::TooBig => 1009,
            Self::InternalError => 1011,
            Self::ServiceRestart => 1012,
            Self::TryAgainLater => 1013,
            Self::ProtocolViolation => 4000,
            Self::Replaced => 4001,
            Self::HeartbeatTimeout => 4002,
            Self::SlowConsumer => 4008,
            Self::RateLimited => 4029,
            Self::Moved => 4009,
            Self::UserErased => 4010,
        }
    }

    /// A short reason string sent with the close frame (under 123 bytes).
    pub const fn reason(self) -> &'static str {
        match self {
            Self::Normal => "bye",
            Self::GoingAway => "server shutting down",
            Self::PolicyViolation => "token revoked or expired",
            Self::TooBig => "message too big",
            Self::InternalError => "internal error, reconnect",
            Self::ServiceRestart => "node draining, reconnect elsewhere",
            Self::TryAgainLater => "overloaded, retry later",
            Self::ProtocolViolation => "protocol violation",
            Self::Replaced => "replaced by a newer connection",
            Self::HeartbeatTimeout => "heartbeat timeout",
            Self::SlowConsumer => "slow consumer: outbound queue full",
            Self::RateLimited => "rate limits ignored",
            Self::Moved => "user moved to another node, reconnect now",
            Self::UserErased => "user erased: wipe your replica",
        }
    }

    /// The code for a wire number (unknown numbers read as `Normal`).
    pub fn from_code(n: u16) -> CloseCode {
        [
            Self::Normal,
            Self::GoingAway,
            Self::PolicyViolation,
            Self::TooBig,
            Self::InternalError,
            Self::ServiceRestart,
            Self::TryAgainLater,
            Self::ProtocolViolation,
            Self::Replaced,
            Self::HeartbeatTimeout,
            Self::SlowConsumer,
            Self::RateLimited,
            Self::Moved,
            Self::UserErased,
        ]
        .into_iter()
        .find(|c| c.code() == n)
        .unwrap_or(Self::Normal)
    }
}
