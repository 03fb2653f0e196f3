//! # baton-personalization
//!
//! Owns a user's **personalization adapter** and the **vectors** it ranks:
//!
//! - [`Adapter`]: a rank-8 LoRA (alpha 16) over content embeddings plus the
//!   user's base preference vector `q`. The adapted preference vector is
//!   `u = q + (alpha / r) · B · (A · q)` and an item `e` scores `s(e) = <u, e>`.
//!   [`Adapter::train_step`] folds a batch of [`Interaction`]s into `q` and runs
//!   a few deterministic SGD passes of a weighted logistic loss on `A` and `B`.
//!   It serializes to about `4 · (D + 2·8·D)` bytes (10.9 KB at `D = 160`).
//! - [`VectorStore`]: the async, object-safe vector-store trait (`upsert`,
//!   `search`, `get`, `ensure_collection`), with [`InProcessIndex`] (brute
//!   force over contiguous `f32` rows, the embedded default) and
//!   [`QdrantStore`] (production, on `qdrant-client`). Collections:
//!   [`CONTENT`] (the catalog) and [`USER_PREFERENCES`] (one adapted
//!   preference vector per user, upserted after each training step).
//! - Catalog import from JSONL ([`catalog`]) and a synthetic genre-clustered
//!   catalog ([`synth`]) for tests and benchmarks.
//!
//! How an interaction flows (the actor side lives in `baton-actors`): a device
//! reports `like movie:1`; the user actor fetches the item's embedding with
//! [`VectorStore::get`], buffers the pair, and every 10 pairs runs
//! [`Adapter::train_step`] off the actor thread, persists
//! [`Adapter::to_bytes`], and upserts [`Adapter::preference`] into
//! [`USER_PREFERENCES`]. A recommendation request computes `u` once and ranks
//! the catalog with [`VectorStore::search`] (dot product).
//!
//! This crate does no actor or network work of its own except inside
//! [`QdrantStore`]; it reads no clock and draws randomness only from seeds it
//! is given.

mod adapter;
pub mod catalog;
mod error;
mod interaction;
mod math;
mod memory;
mod qdrant;
mod recommend;
mod rng;
pub use rng::fnv1a;
mod store;
pub mod synth;

pub use adapter::{Adapter, TrainReport, ALPHA, RANK};
pub use catalog::{
    import_catalog, parse_catalog, read_catalog, valid_content_id, Catalog, CatalogItem,
};
pub use error::PersonalizationError;
pub use interaction::{Interaction, InteractionKind, Label};
pub use memory::InProcessIndex;
pub use qdrant::QdrantStore;
pub use recommend::recommend;
pub use store::{Filter, Hit, VectorItem, VectorStore, CONTENT, USER_PREFERENCES};
