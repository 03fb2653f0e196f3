//! The one error type of the crate.

/// What went wrong; the state machine's state is untouched by every variant
/// (recovery builds a new one, or none).
#[derive(Debug, thiserror::Error)]
pub enum SyncError {
    /// The stored log or snapshot cannot be replayed: no state was built.
    #[error("stored state of user {user} is corrupt: {detail}")]
    Corrupt {
        /// The user.
        user: String,
        /// What does not replay.
        detail: String,
    },
}
