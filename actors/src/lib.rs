//! # baton-actors
//!
//! The actor layer of Baton, on `ractor` (user actors) and tokio (device sessions). It owns:
//!
//! - the **user actor** ([`user`]): one live activation per user, the shell of
//!   the user's sans-IO state machine ([`baton_sync::UserSync`], which owns the
//!   sync rules): it loads the user, feeds the machine inputs with the node's
//!   [`Clock`], and carries out its effects (store appends and snapshots, frames
//!   to devices, observer calls, replies);
//! - the **device actor** ([`device`]): one session task per connection,
//!   owning the socket, a bounded outbound queue, pings and heartbeats;
//! - the **hub** ([`Hub`], started by a [`HubBuilder`] that fixes its
//!   vectors, observer and placement): a registry of live user actors
//!   (activation on demand, supervision, passivation, the live-actor cap),
//!   admission control, closing revoked tokens' sockets, and ownership (the
//!   one decision of which node serves a user, warm handoffs, fencing);
//! - re-exports the **device protocol** crate as [`protocol`] (`baton-protocol`);
//! - the **shared state** between nodes ([`shared`]): revocations, rate
//!   limits, presence, in Redis or in-process;
//! - the hooks a cluster plugs into ([`placement`]): which node owns a user
//!   ([`Placement`], [`SingleNode`] by default), releasing a user with its live
//!   state ([`Hub::release`]) and activating one from a handed-over
//!   [`WarmState`] ([`Hub::accept_warm`]); membership itself is `baton-cluster`'s.
//!
//! How an op flows: the device's session parses an `op` frame and casts it to
//! the user actor; the actor turns it into an input of its
//! [`UserSync`](baton_sync::UserSync) state machine (which rate-limits,
//! applies it to the document and queues its record) and carries out the
//! effects it returns: an append to the store (one batch per user in flight;
//! the store's group committer batches across users), and once that commit
//! comes back, the `ack` to the sender and the delta (encoded once) to every
//! other connected device's bounded queue. A device that reads too slowly is
//! closed with 4008 rather than buffered without bound.
//!
//! Runtime semantics relied on (ractor): messages to one actor are handled one
//! at a time in send order; `stop` takes effect after the current message and
//! drops what is queued; a supervisor sees `ActorTerminated`/`ActorFailed` for
//! its children. Ractor's `cluster` feature is off: messages are plain Rust
//! values.

pub mod clock;
pub mod config;
pub mod device;
pub mod error;
pub mod hub;
pub mod link;
mod lock;
pub mod observer;
pub mod placement;
pub mod shared;
pub mod user;

pub use baton_protocol as protocol;
pub use baton_protocol::wire;

pub use baton_protocol::{BoxSink, BoxStream, DeviceIdentity, SocketError, WireIn, WireOut};
pub use clock::Clock;
pub use config::{
    ActorConfig, DeviceLimits, HubConfig, OwnershipConfig, SessionTimers, SyncConfig,
};
pub use device::run_session;
pub use error::ActorError;
pub use hub::{ConnPermit, Hub, HubBuilder};
pub use link::DeviceLink;
pub use observer::{ControlEvent, FanoutObserver};
pub use placement::{Placement, RemoteNode, Route, SingleNode, WarmState};
pub use shared::{Shared, SharedError};
