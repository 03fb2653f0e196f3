//! Op builders for scenarios: fixed device clocks and HLC times (all far
//! above 2^53), so every generated vector is byte-for-byte reproducible.

use baton_crdt::automerge::transaction::Transaction;
use baton_crdt::automerge::{ActorId, Automerge, AutomergeError};
use baton_crdt::uhlc::NTP64;
use baton_crdt::{ContentId, Dot, Hlc, Op, PlayState, UserDoc, B64};

use crate::GenError;

/// Device clock of the first add (ms, 2025-11-25).
pub const ADDED_MS: u64 = 1_764_100_000_000;

/// HLC time of the first playback report: 1,764,100,000 s as NTP64
/// (7,576,758,... > 2^53, so a double cannot tell T0 from T0 + 1).
pub const T0: u64 = 1_764_100_000u64 << 32;

fn content(c: &str) -> Result<ContentId, GenError> {
    ContentId::parse(c).map_err(|e| GenError::Io(e.to_string()))
}

/// `watchlist_add` of `c` at device time `ADDED_MS + n`.
pub fn add(c: &str, n: u64) -> Result<Op, GenError> {
    Ok(Op::WatchlistAdd {
        content: content(c)?,
        added_at_ms: ADDED_MS + n,
        observed: Vec::new(),
    })
}

/// `watchlist_remove` of `c` observing `dots`.
pub fn remove(c: &str, dots: &[(&str, u64)]) -> Result<Op, GenError> {
    Ok(Op::WatchlistRemove {
        content: content(c)?,
        observed: dots.iter().map(|(d, s)| Dot::new(*d, *s)).collect(),
    })
}

/// A playback report of `device` at HLC time `T0 + dt`.
pub struct Play<'a> {
    /// Writer.
    pub device: &'a str,
    /// Content id.
    pub content: &'a str,
    /// Position.
    pub position_ms: u64,
    /// State.
    pub state: PlayState,
    /// Offset from [`T0`] (NTP64 units).
    pub dt: u64,
    /// Lease token presented.
    pub lease: Option<u64>,
    /// Take the lease.
    pub take: bool,
}

impl Play<'_> {
    /// The op.
    pub fn op(&self) -> Result<Op, GenError> {
        Ok(Op::Playback {
            content: content(self.content)?,
            position_ms: self.position_ms,
            duration_ms: 7_200_000,
            state: self.state,
            ts: Hlc::for_device(self.device, NTP64(T0 + self.dt)),
            lease: self.lease,
            take_lease: self.take,
        })
    }
}

/// `playing` report of `device` for `c` at `pos`, time `T0 + dt`.
pub fn play(device: &str, c: &str, pos: u64, dt: u64) -> Result<Op, GenError> {
    Play {
        device,
        content: c,
        position_ms: pos,
        state: PlayState::Playing,
        dt,
        lease: None,
        take: false,
    }
    .op()
}

/// A preferences change made by Automerge actor `actor` on top of `base`'s
/// preferences document.
pub fn prefs<F>(base: &UserDoc, actor: &str, f: F) -> Result<Op, GenError>
where
    F: FnOnce(&mut Transaction<'_>) -> Result<(), AutomergeError>,
{
    let saved = base.preferences().save();
    let doc = if saved.is_empty() {
        Automerge::new()
    } else {
        Automerge::load(&saved).map_err(|e| GenError::Io(e.to_string()))?
    };
    let mut doc = doc.with_actor(ActorId::from(actor.as_bytes()));
    doc.transact(f)
        .map_err(|e| GenError::Io(e.error.to_string()))?;
    let mut change = doc
        .get_last_local_change()
        .ok_or_else(|| GenError::Io("no change".into()))?;
    Ok(Op::Preferences {
        changes: vec![B64(change.bytes().into_owned())],
    })
}
