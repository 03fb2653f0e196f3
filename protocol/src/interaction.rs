//! The kinds of interaction a device reports (`interaction` frames).

use serde::{Deserialize, Serialize};

/// What the user did with an item.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum InteractionKind {
    /// Started playing.
    Play,
    /// Watched to the end.
    Complete,
    /// Explicit thumbs-up.
    Like,
    /// Explicit thumbs-down.
    Dislike,
    /// Skipped it (scrolled past after a preview, or stopped at once).
    Skip,
}
