//! The actor layer's error type.

use baton_store::StoreError;

/// What went wrong in the actor layer. None of these leave a user's
/// acknowledged state changed: acknowledged ops are already durable.
#[derive(Debug, thiserror::Error)]
pub enum ActorError {
    /// Loading or persisting failed; the user actor was not started, or stopped
    /// without acknowledging the ops in flight.
    #[error("store: {0}")]
    Store(#[from] StoreError),
    /// A stored snapshot or log entry could not be decoded; the user actor was not started.
    #[error("corrupt state for user {user}: {detail}")]
    Corrupt {
        /// The user.
        user: String,
        /// What failed to decode.
        detail: String,
    },
    /// The actor could not be spawned or reached (it stopped meanwhile); retry.
    #[error("user actor unavailable: {0}")]
    Unavailable(String),
    /// The actor did not answer within the call timeout; nothing was changed by the caller.
    #[error("user actor did not answer in time")]
    Timeout,
    /// The vector store failed (personalization); no user state was changed.
    #[error("vectors: {0}")]
    Vectors(#[from] baton_personalization::PersonalizationError),
    /// The node is draining or at its limit; retry elsewhere or later.
    #[error("node not accepting: {0}")]
    Refused(&'static str),
}

impl ActorError {
    /// Whether retrying the same request later can succeed.
    pub fn is_unavailable(&self) -> bool {
        matches!(
            self,
            Self::Unavailable(_) | Self::Timeout | Self::Refused(_)
        ) || matches!(self, Self::Store(e) if e.is_unavailable())
            || matches!(self, Self::Vectors(e) if e.is_unavailable())
    }
}
