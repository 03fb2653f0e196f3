//! Snapshot form of `UserDoc` (JSON; preferences as base64 automerge bytes).

use super::{Lease, PlaybackValue, UserDoc};
use crate::{
    ContentId, CrdtError, DeviceInfo, Dot, LwwMap, OrSet, Preferences, VersionVector, B64,
};
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use std::collections::BTreeMap;

/// Bumped when the snapshot layout changes incompatibly.
const FORMAT: u32 = 1;

#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct Repr {
    format: u32,
    version: u64,
    vv: VersionVector,
    watchlist: OrSet<ContentId>,
    playback: LwwMap<ContentId, PlaybackValue>,
    prefs: B64,
    lease: Option<Lease>,
    lease_token: u64,
    devices: BTreeMap<String, DeviceInfo>,
    #[serde(default)]
    retired_dots: Vec<(Dot, Dot)>,
}

impl Serialize for UserDoc {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        Repr {
            format: FORMAT,
            version: self.version,
            vv: self.vv.clone(),
            watchlist: self.watchlist.clone(),
            playback: self.playback.clone(),
            prefs: B64(self.prefs.save()),
            lease: self.lease.clone(),
            lease_token: self.lease_token,
            devices: self.devices.clone(),
            retired_dots: self
                .retired_dots
                .iter()
                .map(|(a, b)| (a.clone(), b.clone()))
                .collect(),
        }
        .serialize(s)
    }
}

impl<'de> Deserialize<'de> for UserDoc {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let r = Repr::deserialize(d)?;
        UserDoc::try_from(r).map_err(serde::de::Error::custom)
    }
}

impl TryFrom<Repr> for UserDoc {
    type Error = CrdtError;
    fn try_from(r: Repr) -> Result<Self, CrdtError> {
        if r.format != FORMAT {
            return Err(CrdtError::BadSnapshot {
                reason: format!("format {} (expected {FORMAT})", r.format),
            });
        }
        let prefs = if r.prefs.0.is_empty() {
            Preferences::new()
        } else {
            Preferences::load(&r.prefs.0)?
        };
        Ok(UserDoc {
            version: r.version,
            vv: r.vv,
            watchlist: r.watchlist,
            playback: r.playback,
            prefs,
            lease: r.lease,
            lease_token: r.lease_token,
            devices: r.devices,
            retired_dots: r.retired_dots.into_iter().collect(),
        })
    }
}

impl UserDoc {
    /// Encodes the whole document (JSON). The document is not touched.
    pub fn to_snapshot_bytes(&self) -> Result<Vec<u8>, CrdtError> {
        serde_json::to_vec(self).map_err(|e| CrdtError::BadSnapshot {
            reason: e.to_string(),
        })
    }

    /// Decodes a snapshot written by [`UserDoc::to_snapshot_bytes`].
    pub fn from_snapshot_bytes(bytes: &[u8]) -> Result<Self, CrdtError> {
        serde_json::from_slice(bytes).map_err(|e| CrdtError::BadSnapshot {
            reason: e.to_string(),
        })
    }
}
