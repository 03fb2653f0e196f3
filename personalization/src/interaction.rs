//! Interaction events and their training labels.

use serde::{Deserialize, Serialize};

pub use baton_protocol::InteractionKind;

/// The training meaning of an [`InteractionKind`] (the kind itself is a
/// protocol type: devices send it in `interaction` frames).
pub trait Label {
    /// The logistic-loss label and the example weight (see the impl).
    fn label(self) -> (f32, f32);
    /// Whether the kind is a positive signal.
    fn is_positive(&self) -> bool;
}

impl Label for InteractionKind {
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
    fn label(self) -> (f32, f32) {
        match self {
            Self::Like | Self::Complete => (1.0, 1.0),
            Self::Play => (1.0, 0.5),
            Self::Skip => (0.0, 0.5),
            Self::Dislike => (0.0, 1.0),
        }
    }

    /// Whether the kind is a positive signal.
    fn is_positive(&self) -> bool {
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
