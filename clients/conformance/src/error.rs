//! The crate's one error type.

/// A scenario that does not hold together, or a vector file problem.
#[derive(Debug, thiserror::Error)]
pub enum GenError {
    /// The scripted server and the client disagree, or a step is impossible.
    #[error("scenario {scenario}: {reason}")]
    Scenario {
        /// The scenario's name.
        scenario: String,
        /// What went wrong.
        reason: String,
    },
    /// Reading or writing a vector file.
    #[error("{0}")]
    Io(String),
}
