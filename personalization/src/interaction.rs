//! Interaction events and their training labels.

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

impl InteractionKind {
    /// The logistic-loss label (`1.0` positive, `0.0` negative) and the
    /// example weight:
    ///
    /// | kind | label | weight |
    /// |---|---|---|
    /// | `like` | 1 | 1.0 |
    /// | `complete` | 1 | 1.0 |
    /// | `play` | 1 | 0.5 |
    /// | `skip` | 0 | 0.5 |
    /// | `dislike` | 0 | 1.0 |
    ///
    /// Positive kinds also move the base preference vector `q` (weighted mean
    /// of their embeddings); negative kinds act only through the LoRA factors.
    pub fn label(self) -> (f32, f32) {
        match self {
            Self::Like | Self::Complete => (1.0, 1.0),
            Self::Play => (1.0, 0.5),
            Self::Skip => (0.0, 0.5),
            Self::Dislike => (0.0, 1.0),
        }
    }

    /// Whether the kind is a positive signal.
    pub fn is_positive(self) -> bool {
        self.label().0 > 0.5
    }
}

/// One interaction event reported by a device.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Interaction {
    /// Content id (`movie:1`).
    pub content: String,
    /// What happened.
    pub kind: InteractionKind,
    /// When (server receive time, ms since the Unix epoch).
    pub at_ms: u64,
}
