//! `[personalization]`: where content and preference vectors live.

use std::path::PathBuf;

use serde::{Deserialize, Serialize};

use super::check::Checker;

/// Which vector store backs personalization.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum VectorBackend {
    /// The in-process index (embedded default; vectors live in this process).
    Memory,
    /// A Qdrant server at `qdrant-url` (gRPC).
    Qdrant,
}

/// Personalization settings.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case", deny_unknown_fields, default)]
pub struct PersonalizationSection {
    /// `memory` or `qdrant`.
    pub backend: VectorBackend,
    /// Qdrant gRPC URL (e.g. `http://localhost:6334`); required for `qdrant`.
    pub qdrant_url: Option<String>,
    /// A JSONL catalog loaded (memory) or upserted (qdrant) at start.
    pub catalog: Option<PathBuf>,
}

impl PersonalizationSection {
    /// The defaults: in-process index, no catalog.
    pub const fn new() -> Self {
        PersonalizationSection {
            backend: VectorBackend::Memory,
            qdrant_url: None,
            catalog: None,
        }
    }

    pub(super) fn check(&self, c: &mut Checker) {
        if self.backend == VectorBackend::Qdrant {
            c.ensure(
                self.qdrant_url.is_some(),
                "personalization.qdrant-url",
                "is required when personalization.backend = \"qdrant\"",
            );
        }
        if let Some(url) = &self.qdrant_url {
            c.ensure(
                url.starts_with("http://") || url.starts_with("https://"),
                "personalization.qdrant-url",
                "must be an http:// or https:// URL",
            );
        }
    }
}

impl Default for PersonalizationSection {
    fn default() -> Self {
        Self::new()
    }
}
