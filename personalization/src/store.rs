//! The vector-store trait and its value types.
//!
//! Object safety: every method returns a [`BoxFuture`], so the trait is used
//! as `Arc<dyn VectorStore>` (the hub holds one) without `async-trait`. The
//! cost is one allocation per call, negligible next to a search.
//!
//! Scores are dot products (collections are created with `Distance::Dot` in
//! Qdrant), the measure the adapter's `s(e) = <u, e>` needs.

use futures_util::future::BoxFuture;

use crate::PersonalizationError;

/// The catalog collection.
pub const CONTENT: &str = "content";
/// One adapted preference vector per user (id = user id).
pub const USER_PREFERENCES: &str = "user_preferences";

/// One stored vector with its metadata.
#[derive(Debug, Clone, PartialEq)]
pub struct VectorItem {
    /// Content id or user id.
    pub id: String,
    /// The vector (collection dimension).
    pub vector: Vec<f32>,
    /// Display title (empty for user vectors).
    pub title: String,
    /// Genres (empty for user vectors).
    pub genres: Vec<String>,
}

/// A search hit, best first.
#[derive(Debug, Clone, PartialEq)]
pub struct Hit {
    /// Item id.
    pub id: String,
    /// Dot product with the query.
    pub score: f32,
}

/// Which items a search leaves out.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Filter {
    /// Ids never returned (e.g. the user's watchlist).
    pub exclude_ids: Vec<String>,
}

/// A store of named collections of fixed-dimension vectors.
///
/// Contract (tests/contract.rs runs it against every implementation):
/// `ensure_collection` is idempotent for the same dimension and an error for
/// another; `upsert` replaces items by id; `search` returns at most `limit`
/// hits by descending dot product, never an excluded id; `get` returns the
/// items found, in the order asked, skipping unknown ids; `delete` removes
/// items by id and ignores unknown ones.
pub trait VectorStore: Send + Sync {
    /// Create the collection if missing.
    fn ensure_collection<'a>(
        &'a self,
        name: &'a str,
        dim: usize,
    ) -> BoxFuture<'a, Result<(), PersonalizationError>>;

    /// Insert or replace items by id.
    fn upsert<'a>(
        &'a self,
        collection: &'a str,
        items: Vec<VectorItem>,
    ) -> BoxFuture<'a, Result<(), PersonalizationError>>;

    /// The `limit` items with the largest `<vector, item>`, best first.
    fn search<'a>(
        &'a self,
        collection: &'a str,
        vector: &'a [f32],
        limit: usize,
        filter: &'a Filter,
    ) -> BoxFuture<'a, Result<Vec<Hit>, PersonalizationError>>;

    /// The items with these ids that exist, in the order asked.
    fn get<'a>(
        &'a self,
        collection: &'a str,
        ids: &'a [String],
    ) -> BoxFuture<'a, Result<Vec<VectorItem>, PersonalizationError>>;

    /// Remove the items with these ids (unknown ids are ignored; a user's
    /// erasure removes its preference vector this way).
    fn delete<'a>(
        &'a self,
        collection: &'a str,
        ids: &'a [String],
    ) -> BoxFuture<'a, Result<(), PersonalizationError>>;
}
