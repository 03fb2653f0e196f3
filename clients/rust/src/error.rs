//! The crate's one error type, and the typed form of the server's `error`
//! frames (PROTOCOL.md section 6).

use std::time::Duration;

use baton_crdt::CrdtError;

/// Everything that can go wrong in the client.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum ClientError {
    /// The token provider could not produce a token.
    #[error("token provider failed: {0}")]
    Token(String),
    /// The node answered the upgrade with an HTTP refusal (401, 403, 503 ...).
    #[error("connection refused: HTTP {status} {code}")]
    Refused {
        /// HTTP status.
        status: u16,
        /// The body's `error.code` (empty when the body had none).
        code: String,
        /// The `Retry-After` hint, if any.
        retry_after: Option<Duration>,
    },
    /// The WebSocket failed (connect, read or write).
    #[error("websocket: {0}")]
    Socket(String),
    /// A server frame this client cannot read.
    #[error("server frame not understood: {0}")]
    Decode(String),
    /// A frame could not be applied to the replica (the replica is unchanged).
    #[error("replica: {0}")]
    Replica(#[from] CrdtError),
    /// The persistence backend failed.
    #[error("persistence: {0}")]
    Store(String),
    /// The application passed something the protocol does not allow.
    #[error("invalid input: {0}")]
    Invalid(String),
    /// An edit whose op frame would exceed the node's `max_message_bytes`
    /// (nothing was queued; split the change).
    #[error("the op frame would be {len} bytes; the node accepts at most {max}")]
    TooLarge {
        /// The frame's size.
        len: usize,
        /// `welcome.limits.max_message_bytes`.
        max: usize,
    },
    /// The client was closed (or replaced by a newer connection of this device).
    #[error("the client is closed")]
    Closed,
}

/// Stable error codes of PROTOCOL.md section 6 that a client acts on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ErrorCode {
    /// `seq_gap`: the op's seq is not the next one.
    SeqGap,
    /// `too_many_inflight`: more than `max_inflight_ops` unacknowledged ops.
    TooManyInflight,
    /// `rate_limited`: over a rate limit; see `retry_after`.
    RateLimited,
    /// `lease_held`: another device is the active player.
    LeaseHeld,
    /// `stale_lease`: the lease moved on; stop playing.
    StaleLease,
    /// `clock_skew`: the timestamp is too far ahead of the server's clock.
    ClockSkew,
    /// `bad_timestamp`: the timestamp was not issued with this device's id.
    BadTimestamp,
    /// `forbidden`: the token lacks the scope.
    Forbidden,
    /// `too_large`: preferences changes over 64 KiB.
    TooLarge,
    /// `bad_change`: Automerge bytes did not apply.
    BadChange,
    /// `invalid_content_id`.
    InvalidContentId,
    /// `invalid_op` or `invalid_frame`: a client bug.
    Invalid,
    /// `field_too_long`: a hello or handoff field over its limit.
    FieldTooLong,
    /// `too_many_devices`: the user has too many devices (the socket closes).
    TooManyDevices,
    /// `unavailable`: the user's actor could not be reached.
    Unavailable,
    /// Any other code (a later release may add codes): refused, do not
    /// retry unchanged.
    Other(String),
}

impl ErrorCode {
    /// The typed code of a wire code.
    pub fn from_wire(code: &str) -> Self {
        match code {
            "seq_gap" => Self::SeqGap,
            "too_many_inflight" => Self::TooManyInflight,
            "rate_limited" => Self::RateLimited,
            "lease_held" => Self::LeaseHeld,
            "stale_lease" => Self::StaleLease,
            "clock_skew" => Self::ClockSkew,
            "bad_timestamp" => Self::BadTimestamp,
            "forbidden" => Self::Forbidden,
            "too_large" => Self::TooLarge,
            "bad_change" => Self::BadChange,
            "invalid_content_id" => Self::InvalidContentId,
            "invalid_op" | "invalid_frame" => Self::Invalid,
            "field_too_long" => Self::FieldTooLong,
            "too_many_devices" => Self::TooManyDevices,
            "unavailable" => Self::Unavailable,
            other => Self::Other(other.to_owned()),
        }
    }

    /// Refusals after which the same op is sent again (after the hint):
    /// the op itself was fine, the server was busy.
    pub fn is_retryable(&self) -> bool {
        matches!(
            self,
            Self::TooManyInflight | Self::RateLimited | Self::Unavailable
        )
    }
}

/// A server `error` frame, typed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServerError {
    /// The code.
    pub code: ErrorCode,
    /// The wire code as sent.
    pub wire_code: String,
    /// Human-readable message.
    pub message: String,
    /// The refused op's seq, if the frame named one.
    pub seq: Option<u64>,
    /// The retry hint, if any.
    pub retry_after: Option<Duration>,
}

impl From<&baton_protocol::ErrorFrame> for ServerError {
    fn from(e: &baton_protocol::ErrorFrame) -> Self {
        ServerError {
            code: ErrorCode::from_wire(&e.code),
            wire_code: e.code.clone(),
            message: e.message.clone(),
            seq: e.seq,
            retry_after: e.retry_after_ms.map(Duration::from_millis),
        }
    }
}
