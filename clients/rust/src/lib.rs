//! # baton-client
//!
//! The device half of Baton: a replica of one user's state (watchlist,
//! playback positions, preferences, the active-player lease) that a TV,
//! phone or web app edits locally, offline or not, and that stays in sync
//! with a Baton node over the v1 WebSocket protocol (PROTOCOL.md).
//!
//! - [`Client`]: connects with a token from your [`TokenProvider`] (asked
//!   again on every reconnect, so an expiring token is refreshed), says
//!   `hello` with the persisted version vector, catches up (deltas or a
//!   snapshot), sends local edits, reconnects with exponential backoff and
//!   full jitter (honouring `Retry-After` / `retry_after_ms`), and publishes
//!   typed [`Event`]s.
//! - [`Core`]: the sans-IO state machine underneath (frames in, frames and
//!   events out). The conformance vectors (`clients/vectors/`) drive it
//!   directly.
//! - [`Replica`] (confirmed state) and the outbox of unacknowledged ops with
//!   the seq renumbering rules of PROTOCOL.md section 3.
//! - [`Store`]: pluggable persistence, [`MemoryStore`] and [`FileStore`].
//!
//! The protocol types come from `baton-protocol` (re-exported here).
//!
//! ## Quick start
//!
//! ```no_run
//! use std::sync::Arc;
//! use baton_client::{Client, ClientConfig, Event, FileStore};
//!
//! # async fn run() -> Result<(), baton_client::ClientError> {
//! let config = ClientConfig::new("ws://127.0.0.1:8080/v1/sync", "tv-living").kind("tv");
//! let tokens = || async { Ok::<_, String>(std::env::var("BATON_TOKEN").unwrap_or_default()) };
//! let tv = Client::start(config, tokens, Arc::new(FileStore::new("tv-living.json")))?;
//! let mut events = tv.subscribe();
//! tv.add("movie:42")?; // applied locally at once, sent when connected
//! while let Ok(event) = events.recv().await {
//!     if let Event::StateChanged = event {
//!         println!("{:?}", tv.state()?.watchlist);
//!     }
//! }
//! # Ok(()) }
//! ```

mod backoff;
mod client;
mod config;
mod core;
mod error;
mod events;
mod local;
mod outbox;
mod persist;
mod reconnect;
mod replica;
mod session;
mod view;

pub use backoff::Backoff;
pub use client::Client;
pub use config::{ClientConfig, TokenFuture, TokenProvider};
pub use core::{Action, Core, Output, Phase};
pub use error::{ClientError, ErrorCode, ServerError};
pub use events::{ConnectionState, Event};
pub use local::Clock;
pub use outbox::{Outbox, Refusal};
pub use persist::{FileStore, MemoryStore, PendingOp, Persisted, Store, PERSIST_FORMAT};
pub use reconnect::{after_close, Next};
pub use replica::Replica;
pub use view::{PlaybackEntry, StateView, WatchlistEntry};

pub use baton_crdt::{automerge, Op, PlayState};
pub use baton_protocol::{
    ClientFrame, DeviceHello, HandoffOutcome, LeaseView, PresenceEntry, ServerFrame,
};
