//! [`QdrantStore`]: the production vector store, over gRPC with `qdrant-client`.
//!
//! Qdrant point ids must be integers or UUIDs, so an item's point id is the
//! FNV-1a 64-bit hash of its string id, and the string id travels in the
//! payload field `id` (with `title` and `genres`). Collections use
//! `Distance::Dot`. Not tested here against a server unless `QDRANT_URL` is
//! set (tests/contract.rs).

use futures_util::future::BoxFuture;
use qdrant_client::qdrant::value::Kind;
use qdrant_client::qdrant::{
    Condition, CreateCollectionBuilder, DeletePointsBuilder, Distance, Filter as QFilter,
    GetPointsBuilder, PointId, PointStruct, PointsIdsList, SearchPointsBuilder,
    UpsertPointsBuilder, Value, VectorParamsBuilder,
};
use qdrant_client::{Payload, Qdrant};

use crate::rng::fnv1a;
use crate::store::{Filter, Hit, VectorItem, VectorStore};
use crate::PersonalizationError;

/// Vector store on a Qdrant server.
pub struct QdrantStore {
    client: Qdrant,
}

impl std::fmt::Debug for QdrantStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("QdrantStore").finish_non_exhaustive()
    }
}

fn err(e: impl std::fmt::Display) -> PersonalizationError {
    PersonalizationError::Qdrant(e.to_string())
}

/// The Qdrant point id of an item id.
fn point_id(id: &str) -> PointId {
    PointId::from(fnv1a(id))
}

fn text(v: Option<&Value>) -> Option<String> {
    match v.and_then(|v| v.kind.as_ref()) {
        Some(Kind::StringValue(s)) => Some(s.clone()),
        _ => None,
    }
}

fn texts(v: Option<&Value>) -> Vec<String> {
    match v.and_then(|v| v.kind.as_ref()) {
        Some(Kind::ListValue(list)) => list.values.iter().filter_map(|x| text(Some(x))).collect(),
        _ => Vec::new(),
    }
}

impl QdrantStore {
    /// Connect to a Qdrant gRPC endpoint (e.g. `http://localhost:6334`). The
    /// connection is lazy: an unreachable server shows up on the first call.
    pub fn connect(url: &str) -> Result<Self, PersonalizationError> {
        let client = Qdrant::from_url(url)
            .skip_compatibility_check()
            .build()
            .map_err(err)?;
        Ok(Self { client })
    }

    async fn ensure(&self, name: &str, dim: usize) -> Result<(), PersonalizationError> {
        if self.client.collection_exists(name).await.map_err(err)? {
            let info = self.client.collection_info(name).await.map_err(err)?;
            let existing = info
                .result
                .and_then(|r| r.config)
                .and_then(|c| c.params)
                .and_then(|p| p.vectors_config)
                .and_then(|v| match v.config {
                    Some(qdrant_client::qdrant::vectors_config::Config::Params(p)) => {
                        Some(p.size as usize)
                    }
                    _ => None,
                });
            return match existing {
                Some(existing) if existing != dim => {
                    Err(PersonalizationError::CollectionDimension {
                        name: name.to_owned(),
                        existing,
                        asked: dim,
                    })
                }
                _ => Ok(()),
            };
        }
        self.client
            .create_collection(
                CreateCollectionBuilder::new(name)
                    .vectors_config(VectorParamsBuilder::new(dim as u64, Distance::Dot)),
            )
            .await
            .map_err(err)?;
        Ok(())
    }

    async fn put(&self, name: &str, items: Vec<VectorItem>) -> Result<(), PersonalizationError> {
        if items.is_empty() {
            return Ok(());
        }
        for item in &items {
            if item.vector.iter().any(|x| !x.is_finite()) {
                return Err(PersonalizationError::NonFinite {
                    id: item.id.clone(),
                });
            }
        }
        let points: Vec<PointStruct> = items
            .into_iter()
            .map(|item| {
                let mut payload = Payload::new();
                payload.insert("id", item.id.as_str());
                payload.insert("title", item.title);
                payload.insert(
                    "genres",
                    item.genres.into_iter().map(Value::from).collect::<Vec<_>>(),
                );
                PointStruct::new(point_id(&item.id), item.vector, payload)
            })
            .collect();
        self.client
            .upsert_points(UpsertPointsBuilder::new(name, points).wait(true))
            .await
            .map_err(err)?;
        Ok(())
    }

    async fn find(
        &self,
        name: &str,
        vector: &[f32],
        limit: usize,
        filter: &Filter,
    ) -> Result<Vec<Hit>, PersonalizationError> {
        let mut request =
            SearchPointsBuilder::new(name, vector.to_vec(), limit as u64).with_payload(true);
        if !filter.exclude_ids.is_empty() {
            let ids: Vec<PointId> = filter.exclude_ids.iter().map(|id| point_id(id)).collect();
            request = request.filter(QFilter::must_not([Condition::has_id(ids)]));
        }
        let response = self.client.search_points(request).await.map_err(err)?;
        Ok(response
            .result
            .into_iter()
            .filter_map(|p| text(p.payload.get("id")).map(|id| Hit { id, score: p.score }))
            .collect())
    }

    async fn remove(&self, name: &str, ids: &[String]) -> Result<(), PersonalizationError> {
        if ids.is_empty() {
            return Ok(());
        }
        let ids: Vec<PointId> = ids.iter().map(|id| point_id(id)).collect();
        self.client
            .delete_points(
                DeletePointsBuilder::new(name)
                    .points(PointsIdsList { ids })
                    .wait(true),
            )
            .await
            .map_err(err)?;
        Ok(())
    }

    async fn fetch(
        &self,
        name: &str,
        ids: &[String],
    ) -> Result<Vec<VectorItem>, PersonalizationError> {
        if ids.is_empty() {
            return Ok(Vec::new());
        }
        let points: Vec<PointId> = ids.iter().map(|id| point_id(id)).collect();
        let response = self
            .client
            .get_points(
                GetPointsBuilder::new(name, points)
                    .with_payload(true)
                    .with_vectors(true),
            )
            .await
            .map_err(err)?;
        let mut found: std::collections::HashMap<String, VectorItem> = Default::default();
        for p in response.result {
            let Some(id) = text(p.payload.get("id")) else {
                continue;
            };
            let Some(vector) = p
                .vectors
                .and_then(|v| v.get_vector())
                .and_then(|v| match v {
                    qdrant_client::qdrant::vector_output::Vector::Dense(d) => Some(d.data),
                    _ => None,
                })
            else {
                continue;
            };
            found.insert(
                id.clone(),
                VectorItem {
                    id,
                    vector,
                    title: text(p.payload.get("title")).unwrap_or_default(),
                    genres: texts(p.payload.get("genres")),
                },
            );
        }
        Ok(ids.iter().filter_map(|id| found.remove(id)).collect())
    }
}

impl VectorStore for QdrantStore {
    fn ensure_collection<'a>(
        &'a self,
        name: &'a str,
        dim: usize,
    ) -> BoxFuture<'a, Result<(), PersonalizationError>> {
        Box::pin(self.ensure(name, dim))
    }

    fn upsert<'a>(
        &'a self,
        collection: &'a str,
        items: Vec<VectorItem>,
    ) -> BoxFuture<'a, Result<(), PersonalizationError>> {
        Box::pin(self.put(collection, items))
    }

    fn search<'a>(
        &'a self,
        collection: &'a str,
        vector: &'a [f32],
        limit: usize,
        filter: &'a Filter,
    ) -> BoxFuture<'a, Result<Vec<Hit>, PersonalizationError>> {
        Box::pin(self.find(collection, vector, limit, filter))
    }

    fn get<'a>(
        &'a self,
        collection: &'a str,
        ids: &'a [String],
    ) -> BoxFuture<'a, Result<Vec<VectorItem>, PersonalizationError>> {
        Box::pin(self.fetch(collection, ids))
    }

    fn delete<'a>(
        &'a self,
        collection: &'a str,
        ids: &'a [String],
    ) -> BoxFuture<'a, Result<(), PersonalizationError>> {
        Box::pin(self.remove(collection, ids))
    }
}
