//! `UserDoc`: one user's replicated state, the sans-IO core that the user
//! actor wraps. See the crate docs for how an op flows through `apply`.

mod apply;
mod control;
pub use apply::MAX_DEVICE_ID_LEN;
pub use control::{Control, LoggedControl, SERVER_REPLICA};
mod devices;
mod lease;
mod snapshot;
mod types;
mod view;

pub use types::{
    DeviceInfo, DocStats, Lease, LoggedOp, Outcome, PlaybackEntry, Rules, WatchlistItem,
};

use crate::{ContentId, Dot, LwwMap, OrSet, Preferences, VersionVector};
use std::collections::BTreeMap;
use types::PlaybackValue;

/// Reserved replica that owns the re-stamped dots of retired devices.
/// Device ids starting with `~` are refused, so no device can collide.
pub const RETIRED_REPLICA: &str = "~retired";

/// A user's watchlist, playback positions, preferences, playback lease and
/// device registry, with the version vector that makes ops idempotent.
#[derive(Debug, Clone, PartialEq)]
pub struct UserDoc {
    /// Count of applied ops (= position in the user's op log).
    version: u64,
    /// Per device, highest applied seq (plus the `~retired` counter).
    vv: VersionVector,
    watchlist: OrSet<ContentId>,
    playback: LwwMap<ContentId, PlaybackValue>,
    prefs: Preferences,
    lease: Option<Lease>,
    /// Last lease token handed out; survives release so tokens only grow.
    lease_token: u64,
    devices: BTreeMap<String, DeviceInfo>,
    /// Dots of retired devices -> their re-stamped `~retired` dots, kept
    /// only while the new dot is live, so late removes that name the old
    /// dot still work. Bounded by the number of live dots.
    retired_dots: BTreeMap<Dot, Dot>,
}

impl Default for UserDoc {
    fn default() -> Self {
        Self::new()
    }
}

impl UserDoc {
    /// Empty document at version 0.
    pub fn new() -> Self {
        UserDoc {
            version: 0,
            vv: VersionVector::new(),
            watchlist: OrSet::new(),
            playback: LwwMap::new(),
            prefs: Preferences::new(),
            lease: None,
            lease_token: 0,
            devices: BTreeMap::new(),
            retired_dots: BTreeMap::new(),
        }
    }

    /// Count of applied ops (= server log position); 0 for a new document.
    pub fn version(&self) -> u64 {
        self.version
    }

    /// What has been applied, per device.
    pub fn vv(&self) -> &VersionVector {
        &self.vv
    }

    /// The only seq accepted next from `device`.
    pub fn next_seq(&self, device: &str) -> u64 {
        self.vv.get(device) + 1
    }

    /// The watchlist OR-Set itself (for inspection and tests).
    pub fn watchlist_set(&self) -> &OrSet<ContentId> {
        &self.watchlist
    }
}
