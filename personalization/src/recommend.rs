//! Ranking the catalog for one user.

use crate::store::{Filter, Hit, VectorStore, CONTENT};
use crate::{Adapter, PersonalizationError};

/// The `limit` catalog items with the highest `s(e) = <u, e>` for this
/// adapter, leaving out `filter.exclude_ids`. Computes `u` once (O(r·D)),
/// then one search.
pub async fn recommend(
    store: &dyn VectorStore,
    adapter: &Adapter,
    limit: usize,
    filter: &Filter,
) -> Result<Vec<Hit>, PersonalizationError> {
    let u = adapter.preference();
    store.search(CONTENT, &u, limit, filter).await
}
