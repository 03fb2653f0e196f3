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
    /// Shared state (Redis) failed where it may not fall back (erasure); retry.
    #[error("shared state: {0}")]
    Shared(#[from] crate::shared::SharedError),
    /// The node is draining or at its limit; retry elsewhere or later.
    #[error("node not accepting: {0}")]
    Refused(&'static str),
}

impl From<baton_sync::SyncError> for ActorError {
    fn from(err: baton_sync::SyncError) -> Self {
        match err {
            baton_sync::SyncError::Corrupt { user, detail } => ActorError::Corrupt { user, detail },
        }
    }
}

impl ActorError {
    /// What a client may be told: the kind of failure, never its detail
    /// (store errors, panics, user ids), which is for the log.
    pub fn client_message(&self) -> &'static str {
        match self {
            Self::Refused("draining") => "this node is draining; reconnect to another",
            Self::Refused(_) => "this node is at its limit; retry later",
            Self::Timeout => "the user's state did not answer in time; retry",
            e if e.is_unavailable() => "the user's state is unavailable right now; retry",
            _ => "internal error",
        }
    }

    /// Whether retrying the same request later can succeed.
    pub fn is_unavailable(&self) -> bool {
        matches!(
            self,
            Self::Unavailable(_) | Self::Timeout | Self::Refused(_) | Self::Shared(_)
        ) || matches!(self, Self::Store(e) if e.is_unavailable())
            || matches!(self, Self::Vectors(e) if e.is_unavailable())
    }
}

#[cfg(test)]
mod tests {
    use super::ActorError;

    #[test]
    fn client_messages_carry_no_detail() {
        let panicked = ActorError::Unavailable(
            "Actor panicked during startup 'store: invalid user: contains a NUL byte'".into(),
        );
        let corrupt = ActorError::Corrupt {
            user: "alice".into(),
            detail: "snapshot: bad utf-8".into(),
        };
        for (err, detail) in [(panicked, "panicked"), (corrupt, "alice")] {
            assert!(err.to_string().contains(detail), "the log keeps the detail");
            assert!(
                !err.client_message().contains(detail),
                "{}",
                err.client_message()
            );
        }
        assert_eq!(
            ActorError::Refused("draining").client_message(),
            "this node is draining; reconnect to another"
        );
    }
}
