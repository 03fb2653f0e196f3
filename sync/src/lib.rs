//! # baton-sync
//!
//! One user's sync rules as a sans-IO state machine, [`UserSync`], in the
//! style of samod-core and foca: [`UserSync::handle`] takes the time
//! ([`Now`]) and one [`Input`] and returns the [`Effect`]s to carry out, in
//! order. No tokio, no clock read, no randomness, no I/O: the node's user
//! actor (`baton-actors`) is a thin shell that feeds inputs and carries out
//! effects, and the deterministic simulation (`baton-dsim`) drives the same
//! machine on virtual time with crashes between any two effects.
//!
//! It owns, above the CRDTs of `baton-crdt`:
//!
//! - the **commit pipeline** ([`Effect::Persist`] / [`Input::Committed`]):
//!   one batch in flight, log records in version order; ops are acknowledged
//!   and fanned out, and the server's own changes (device registrations, lease
//!   moves and releases, retirements) announced, only after their batch is
//!   durable. The rule "no frame reveals what a crash could take back" is
//!   checked in one place, `UserSync::send` (`check_durable`);
//! - **duplicates**: a resend of a durable op is acked at once with the
//!   durable watermark, a resend of one in flight when its commit lands, on
//!   the connection that asked last;
//! - the **catch-up window** and the **resume decision** on `welcome`
//!   (deltas, snapshot, or reset for a replica ahead of the server);
//! - the **device registry**, **presence** and the **active-player lease**
//!   (handoff; the holder going offline releases it);
//! - **snapshots** (when one is due, one save in flight, retirement first)
//!   and the **end of an activation** (passivation, shutdown, release with
//!   the warm state, fencing, a failed commit);
//! - **recovery** ([`recover`], [`recover_warm`]) from stored records.
//!
//! The path of one op: `Input::Op` → `on_op` (rate limit, `UserDoc::apply`,
//! a [`Record`] queued with its encoded delta) → `Effect::Persist` →
//! `Input::Committed(Ok)` → `committed` → `Effect::Send` of the `ack` to the
//! sender and of the `delta` to every other device, `Effect::Observe`.

mod announce;
mod attach;
mod bucket;
mod commit;
mod config;
mod devices;
mod effect;
mod error;
mod input;
mod lifecycle;
mod machine;
mod ops;
mod pipeline;
mod presence;
mod record;
mod recover;
mod snapshot;
mod time;
mod view;
mod warm;
mod window;

pub use bucket::TokenBucket;
pub use config::SyncConfig;
pub use effect::{ControlEvent, Effect, Lane, Observed, SnapshotSave, Stop, StopReason};
pub use error::SyncError;
pub use input::{CommitFailure, Input};
pub use machine::{Recovered, UserSync};
pub use record::Record;
pub use recover::{recover, recover_warm, Stored};
pub use snapshot::chunk_utf8;
pub use time::Now;
pub use view::{DeviceView, PlaybackView, UserStats, UserView, WatchlistView};
pub use warm::WarmState;
pub use window::{vv_before, CatchUpWindow};
