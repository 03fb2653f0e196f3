//! Format 1, read only: the serde form of `UserDoc` in releases before
//! format 2. Timestamps are uhlc's serde form `{"time": <u64>, "id": [16
//! little-endian bytes]}`; the OR-Set and the playback map are tuples.
//! Kept so that snapshots stored by those releases still load.

use super::super::{DeviceInfo, Lease, PlaybackValue, UserDoc};
use crate::{
    CausalContext, ContentId, CrdtError, Dot, EntryMeta, LwwMap, OrSet, Preferences, Register,
    VersionVector, B64,
};
use serde::Deserialize;
use std::collections::BTreeMap;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct Snapshot {
    /// Always 1: the caller read it to choose this decoder.
    #[serde(rename = "format")]
    _format: u32,
    version: u64,
    vv: VersionVector,
    watchlist: Watchlist,
    playback: Vec<(ContentId, V1Register)>,
    prefs: B64,
    lease: Option<Lease>,
    lease_token: u64,
    devices: BTreeMap<String, DeviceInfo>,
    #[serde(default)]
    retired_dots: Vec<(Dot, Dot)>,
}

/// `{"entries": [[item, [[dot, {"added_at_ms": n}], ...]], ...], "ctx": ...}`.
#[derive(Deserialize)]
struct Watchlist {
    entries: Vec<(ContentId, Vec<(Dot, V1Meta)>)>,
    ctx: CausalContext,
}

#[derive(Deserialize)]
struct V1Meta {
    added_at_ms: u64,
}

#[derive(Deserialize)]
struct V1Register {
    value: PlaybackValue,
    ts: uhlc::Timestamp,
}

impl Snapshot {
    pub(super) fn into_doc(self) -> Result<UserDoc, CrdtError> {
        let dots = self.watchlist.entries.into_iter().flat_map(|(item, dots)| {
            dots.into_iter().map(move |(dot, m)| {
                let meta = EntryMeta {
                    added_at_ms: m.added_at_ms,
                };
                (item.clone(), dot, meta)
            })
        });
        let playback: LwwMap<ContentId, PlaybackValue> = self
            .playback
            .into_iter()
            .map(|(k, r)| {
                (
                    k,
                    Register {
                        value: r.value,
                        ts: r.ts,
                    },
                )
            })
            .collect::<Vec<_>>()
            .into();
        // Every release granted a lease with the next token, so a held lease
        // carries the last token handed out; format 2 relies on it.
        if let Some(lease) = self.lease.as_ref().filter(|l| l.token != self.lease_token) {
            return Err(CrdtError::BadSnapshot {
                reason: format!(
                    "lease token {} is not the last token handed out ({})",
                    lease.token, self.lease_token
                ),
            });
        }
        Ok(UserDoc {
            version: self.version,
            vv: self.vv,
            watchlist: OrSet::from_parts(self.watchlist.ctx, dots),
            playback,
            prefs: Preferences::load(&self.prefs.0)?,
            lease: self.lease,
            lease_token: self.lease_token,
            devices: self.devices,
            retired_dots: self.retired_dots.into_iter().collect(),
        })
    }
}
