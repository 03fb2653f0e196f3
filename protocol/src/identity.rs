//! Who is on the other end of a device connection, as its token established.

/// Who is on the other end, as established by the token.
#[derive(Debug, Clone)]
pub struct DeviceIdentity {
    /// The user (`sub`).
    pub user: String,
    /// The device id (token claim).
    pub device: String,
    /// `write:watchlist` scope.
    pub write_watchlist: bool,
    /// `write:preferences` scope.
    pub write_preferences: bool,
    /// `playback:control` scope.
    pub playback_control: bool,
    /// The token's id (`jti`), for closing the socket if it is revoked.
    pub jti: Option<String>,
    /// The token's `exp` (seconds since the Unix epoch): the session closes
    /// with 1008 at `exp` plus the server's token leeway.
    /// `None` for sessions whose credentials do not expire.
    pub expires_at: Option<u64>,
}
