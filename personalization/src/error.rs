//! The crate's error type. No variant leaves an [`Adapter`](crate::Adapter)
//! half-updated: training and decoding validate before they change anything.

/// What went wrong in personalization.
#[derive(Debug, thiserror::Error)]
pub enum PersonalizationError {
    /// Adapter bytes could not be decoded; nothing was loaded.
    #[error("bad adapter bytes: {0}")]
    BadAdapter(String),
    /// A vector has the wrong length for the adapter or collection; nothing was changed.
    #[error("dimension mismatch: expected {expected}, got {got}")]
    Dimension {
        /// The adapter's or collection's dimension.
        expected: usize,
        /// The vector's length.
        got: usize,
    },
    /// A vector holds NaN or infinity; nothing was changed.
    #[error("vector for {id} has a non-finite value")]
    NonFinite {
        /// The item (or `query`).
        id: String,
    },
    /// The collection was never created with `ensure_collection`.
    #[error("unknown collection {0}")]
    UnknownCollection(String),
    /// `ensure_collection` on an existing collection with another dimension.
    #[error("collection {name} exists with dimension {existing}, asked for {asked}")]
    CollectionDimension {
        /// Collection name.
        name: String,
        /// Its dimension.
        existing: usize,
        /// The dimension asked for.
        asked: usize,
    },
    /// A catalog line is invalid; nothing of the catalog was imported.
    #[error("catalog line {line}: {detail}")]
    Catalog {
        /// 1-based line number.
        line: usize,
        /// What is wrong with it.
        detail: String,
    },
    /// Reading a catalog file failed.
    #[error("reading {path}: {source}")]
    Io {
        /// The file.
        path: String,
        /// The I/O error.
        source: std::io::Error,
    },
    /// The Qdrant server refused or could not be reached; the operation may
    /// or may not have been applied (upserts are idempotent: retry).
    #[error("qdrant: {0}")]
    Qdrant(String),
}

impl PersonalizationError {
    /// Whether retrying later can succeed (the vector backend was unreachable).
    pub fn is_unavailable(&self) -> bool {
        matches!(self, Self::Qdrant(_))
    }
}
