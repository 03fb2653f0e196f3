//! # baton-crdt
//!
//! The replicated data of one Baton user, and the rules for changing it.
//! Sans-IO: no sockets, no tokio, no clock reads, no randomness — time comes
//! in as arguments, effects go out as return values. The user actor wraps a
//! [`UserDoc`] and persists / fans out what it returns.
//!
//! ## What it owns
//!
//! - Generic delta-state CRDTs: [`OrSet`] (add-wins observed-remove set with
//!   dots, no per-item tombstones), [`LwwMap`] (last-writer-wins registers on
//!   `uhlc` timestamps) and [`Preferences`] (an Automerge document).
//! - Identities: [`Dot`] `(device, seq)`, [`VersionVector`],
//!   [`CausalContext`], validated [`ContentId`], [`Hlc`] timestamps.
//! - The wire op [`Op`] and the log entry [`LoggedOp`].
//! - [`UserDoc`]: watchlist + playback positions + preferences + playback
//!   lease + device registry, with the seq discipline that makes delivery
//!   at-least-once yet effects exactly-once.
//! - One error type, [`CrdtError`]; every `Err` leaves state untouched.
//!
//! ## How an op flows through [`UserDoc::apply`]
//!
//! 1. **Identity.** `(device, seq)` is checked against the version vector:
//!    `seq == vv[device] + 1` goes on; `seq <= vv[device]` is a duplicate
//!    (`Outcome::Duplicate`: ack again, apply nothing); anything higher is
//!    `SeqGap { expected }`. A rejected op does not consume its seq.
//! 2. **Validation** (no mutation yet). Playback: the timestamp's id must be
//!    [`hlc_id_for`]`(device)`, its time at most `now + max_clock_skew`
//!    ([`Rules`], default 5 s; exactly at the bound is accepted), the
//!    presented lease token not older than the current one, and another
//!    device's lease is only overridden with `take_lease`. Content ids were
//!    validated when the op was decoded.
//! 3. **Effect.** Watchlist ops become OR-Set deltas with dot
//!    `(device, seq)`; `observed` dots are removed (add wins over concurrent
//!    removes). Playback updates the lease (take / grant on `Playing` / release
//!    on `Ended` by the holder) and merges the LWW register (an older
//!    timestamp is accepted, consumes its seq, changes nothing). Preferences
//!    apply Automerge change bytes to a copy first (all or nothing).
//! 4. **Commit.** `vv[device] = seq`, `version += 1`, and the op comes back
//!    as a [`LoggedOp`] carrying that version: the delta to log and fan out.
//!
//! [`UserDoc::replay`] runs steps 1, 3 and 4 for a logged op (recovery), so
//! `snapshot + replay(log after it)` rebuilds the live state.
//!
//! Changes the server makes on its own (a device registering, a lease handoff
//! or release, device retirement) are [`Control`] records, applied with
//! [`UserDoc::apply_control`] as the next log version and logged like ops under
//! the reserved replica [`SERVER_REPLICA`]: the actor announces them only once
//! that record is durable, and replaying the log rebuilds them.

mod content;
mod context;
mod dot;
mod error;
pub mod hlc;
mod lww;
mod op;
mod orset;
mod prefs;
mod user;
mod vv;

pub use automerge;
pub use content::{ContentId, MAX_CONTENT_ID_LEN};
pub use context::CausalContext;
pub use dot::Dot;
pub use error::CrdtError;
pub use hlc::{hlc_id_for, Hlc};
pub use lww::{LwwDelta, LwwMap, Register};
pub use op::{Op, PlayState, B64, MAX_WIRE_INTEGER};
pub use orset::{EntryMeta, OrSet, OrSetDelta};
pub use prefs::{Preferences, MAX_CHANGE_BATCH_BYTES};
pub use uhlc;
pub use user::{
    Control, DeviceInfo, DocStats, Lease, LoggedControl, LoggedOp, Outcome, PlaybackEntry, Rules,
    UserDoc, WatchlistItem, MAX_DEVICE_ID_LEN, RETIRED_REPLICA, SERVER_REPLICA,
};
pub use vv::VersionVector;
