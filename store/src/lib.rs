//! `baton-store` owns Baton's durable state: per user, one snapshot (version + opaque
//! bytes) and a delta log of the entries after it, in SQLite (embedded default) or
//! Postgres (production). It does not know the CRDT types; payloads are bytes.
//!
//! # How an append flows
//! [`Store::append`] validates the entry and queues it to the group committer (a bounded
//! channel). The committer task drains whatever is queued into one transaction, inserts
//! each entry with `ON CONFLICT DO NOTHING` (an existing `(user, version)` becomes
//! [`StoreError::Conflict`] for that entry only), commits, and only then answers each
//! caller (or calls its callback: [`Store::append_claimed_then`]). One fsync thus covers a
//! whole batch. On SQLite the transaction runs on a writer thread that owns its own
//! connection (one hand-off per batch); on Postgres through the pool. Reads go straight
//! to the pool.
//!
//! # Durability
//! SQLite runs in WAL mode with `synchronous=FULL` (a returned commit survives power
//! loss); Postgres connections force `synchronous_commit=on`.
//!
//! # Backup
//! [`Store::backup_to`] copies a live SQLite database with `VACUUM INTO` (Postgres: its
//! own tools); see `docs/OPERATIONS.md`, "Backup and restore".
//!
//! # Erasure
//! [`Store::erase_user`] deletes a user's log, snapshot, adapter and owner claim in one
//! transaction and leaves a tombstone (`store_erasures`: time and last owner epoch) that
//! [`Store::erased_at`] reads (from memory on SQLite, whose file this process alone
//! writes); see `docs/OPERATIONS.md`, "User data".
//!
//! # Metrics
//! Histograms `baton_store_commit_seconds` and `baton_store_commit_batch_size`; counters
//! `baton_store_appends_total` and `baton_store_conflicts_total` (through the `metrics`
//! facade). [`Store::stats`] exposes commit and append totals directly.
//!
//! # Testing
//! The `test-harness` feature adds [`pg_harness`], which starts a throwaway Postgres,
//! and [`sqlite_harness`], a SQLite store in a throwaway directory.

mod backend;
mod backup;
mod committer;
mod config;
mod entry;
mod erasure;
mod error;
mod stats;
mod store;
mod tombstones;
mod validate;

#[cfg(feature = "test-harness")]
pub mod pg_harness;
#[cfg(feature = "test-harness")]
pub mod sqlite_harness;

pub use config::{StoreConfig, StoreOptions};
pub use entry::{LogBounds, LogEntry, Snapshot, UserRecord};
pub use erasure::Erased;
pub use error::StoreError;
pub use stats::StoreStats;
pub use store::Store;
pub use validate::MAX_USER_LEN;
