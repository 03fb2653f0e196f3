//! [`InProcessIndex`]: the embedded vector store. Brute force over one
//! contiguous `f32` buffer per collection; a 10K × 160 catalog is ranked in
//! well under a millisecond (see BENCHMARKS.md).

use std::collections::HashMap;
use std::sync::RwLock;

use futures_util::future::BoxFuture;

use crate::math::dot;
use crate::store::{Filter, Hit, VectorItem, VectorStore};
use crate::PersonalizationError;

/// In-memory vector store. Reads share a lock; writes take it briefly.
#[derive(Debug, Default)]
pub struct InProcessIndex {
    collections: RwLock<HashMap<String, Collection>>,
}

#[derive(Debug)]
struct Collection {
    dim: usize,
    ids: Vec<String>,
    meta: Vec<(String, Vec<String>)>,
    positions: HashMap<String, usize>,
    /// `ids.len() × dim` values, row per item.
    data: Vec<f32>,
}

impl InProcessIndex {
    /// An empty index.
    pub fn new() -> Self {
        Self::default()
    }

    /// Items in a collection (0 if it does not exist).
    pub fn len(&self, collection: &str) -> usize {
        self.read().get(collection).map_or(0, |c| c.ids.len())
    }

    /// Whether a collection is empty or missing.
    pub fn is_empty(&self, collection: &str) -> bool {
        self.len(collection) == 0
    }

    /// Synchronous [`VectorStore::search`] (what the async one calls).
    pub fn rank(
        &self,
        collection: &str,
        vector: &[f32],
        limit: usize,
        filter: &Filter,
    ) -> Result<Vec<Hit>, PersonalizationError> {
        let guard = self.read();
        let c = guard
            .get(collection)
            .ok_or_else(|| PersonalizationError::UnknownCollection(collection.to_owned()))?;
        check(c.dim, "query", vector)?;
        let mut scored: Vec<(f32, u32)> = c
            .data
            .chunks_exact(c.dim)
            .enumerate()
            .map(|(i, row)| (dot(row, vector), i as u32))
            .collect();
        for id in &filter.exclude_ids {
            if let Some(&p) = c.positions.get(id) {
                scored[p].0 = f32::NEG_INFINITY;
            }
        }
        scored.retain(|(s, _)| *s != f32::NEG_INFINITY);
        // Best first; ties by insertion order, so results are deterministic.
        let order = |x: &(f32, u32), y: &(f32, u32)| y.0.total_cmp(&x.0).then(x.1.cmp(&y.1));
        let k = limit.min(scored.len());
        if k == 0 {
            return Ok(Vec::new());
        }
        if k < scored.len() {
            scored.select_nth_unstable_by(k - 1, order);
            scored.truncate(k);
        }
        scored.sort_unstable_by(order);
        Ok(scored
            .into_iter()
            .map(|(score, i)| Hit {
                id: c.ids[i as usize].clone(),
                score,
            })
            .collect())
    }

    fn read(&self) -> std::sync::RwLockReadGuard<'_, HashMap<String, Collection>> {
        self.collections
            .read()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    fn write(&self) -> std::sync::RwLockWriteGuard<'_, HashMap<String, Collection>> {
        self.collections
            .write()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    fn ensure_sync(&self, name: &str, dim: usize) -> Result<(), PersonalizationError> {
        let mut map = self.write();
        match map.get(name) {
            Some(c) if c.dim != dim => Err(PersonalizationError::CollectionDimension {
                name: name.to_owned(),
                existing: c.dim,
                asked: dim,
            }),
            Some(_) => Ok(()),
            None => {
                map.insert(
                    name.to_owned(),
                    Collection {
                        dim,
                        ids: Vec::new(),
                        meta: Vec::new(),
                        positions: HashMap::new(),
                        data: Vec::new(),
                    },
                );
                Ok(())
            }
        }
    }

    fn upsert_sync(&self, name: &str, items: Vec<VectorItem>) -> Result<(), PersonalizationError> {
        let mut map = self.write();
        let c = map
            .get_mut(name)
            .ok_or_else(|| PersonalizationError::UnknownCollection(name.to_owned()))?;
        for item in &items {
            check(c.dim, &item.id, &item.vector)?;
        }
        for item in items {
            let meta = (item.title, item.genres);
            if let Some(&p) = c.positions.get(&item.id) {
                c.data[p * c.dim..(p + 1) * c.dim].copy_from_slice(&item.vector);
                c.meta[p] = meta;
            } else {
                c.positions.insert(item.id.clone(), c.ids.len());
                c.ids.push(item.id);
                c.meta.push(meta);
                c.data.extend_from_slice(&item.vector);
            }
        }
        Ok(())
    }

    fn delete_sync(&self, name: &str, ids: &[String]) -> Result<(), PersonalizationError> {
        let mut map = self.write();
        let c = map
            .get_mut(name)
            .ok_or_else(|| PersonalizationError::UnknownCollection(name.to_owned()))?;
        for id in ids {
            let Some(p) = c.positions.remove(id) else {
                continue;
            };
            // Move the last row into the hole.
            let last = c.ids.len() - 1;
            if p != last {
                c.ids.swap(p, last);
                c.meta.swap(p, last);
                let (head, tail) = c.data.split_at_mut(last * c.dim);
                head[p * c.dim..(p + 1) * c.dim].copy_from_slice(&tail[..c.dim]);
                c.positions.insert(c.ids[p].clone(), p);
            }
            c.ids.truncate(last);
            c.meta.truncate(last);
            c.data.truncate(last * c.dim);
        }
        Ok(())
    }

    fn get_sync(
        &self,
        name: &str,
        ids: &[String],
    ) -> Result<Vec<VectorItem>, PersonalizationError> {
        let map = self.read();
        let c = map
            .get(name)
            .ok_or_else(|| PersonalizationError::UnknownCollection(name.to_owned()))?;
        Ok(ids
            .iter()
            .filter_map(|id| c.positions.get(id).map(|&p| (id, p)))
            .map(|(id, p)| VectorItem {
                id: id.clone(),
                vector: c.data[p * c.dim..(p + 1) * c.dim].to_vec(),
                title: c.meta[p].0.clone(),
                genres: c.meta[p].1.clone(),
            })
            .collect())
    }
}

fn check(dim: usize, id: &str, v: &[f32]) -> Result<(), PersonalizationError> {
    if v.len() != dim {
        return Err(PersonalizationError::Dimension {
            expected: dim,
            got: v.len(),
        });
    }
    if v.iter().any(|x| !x.is_finite()) {
        return Err(PersonalizationError::NonFinite { id: id.to_owned() });
    }
    Ok(())
}

impl VectorStore for InProcessIndex {
    fn ensure_collection<'a>(
        &'a self,
        name: &'a str,
        dim: usize,
    ) -> BoxFuture<'a, Result<(), PersonalizationError>> {
        Box::pin(async move { self.ensure_sync(name, dim) })
    }

    fn upsert<'a>(
        &'a self,
        collection: &'a str,
        items: Vec<VectorItem>,
    ) -> BoxFuture<'a, Result<(), PersonalizationError>> {
        Box::pin(async move { self.upsert_sync(collection, items) })
    }

    fn delete<'a>(
        &'a self,
        collection: &'a str,
        ids: &'a [String],
    ) -> BoxFuture<'a, Result<(), PersonalizationError>> {
        Box::pin(async move { self.delete_sync(collection, ids) })
    }

    fn search<'a>(
        &'a self,
        collection: &'a str,
        vector: &'a [f32],
        limit: usize,
        filter: &'a Filter,
    ) -> BoxFuture<'a, Result<Vec<Hit>, PersonalizationError>> {
        Box::pin(async move { self.rank(collection, vector, limit, filter) })
    }

    fn get<'a>(
        &'a self,
        collection: &'a str,
        ids: &'a [String],
    ) -> BoxFuture<'a, Result<Vec<VectorItem>, PersonalizationError>> {
        Box::pin(async move { self.get_sync(collection, ids) })
    }
}
