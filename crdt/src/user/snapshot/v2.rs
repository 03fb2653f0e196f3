//! Format 2, written and read: every field named, every timestamp the
//! `"<time>/<hlc id hex>"` text of frames, every number below 2^53, dots
//! as `[device, seq]` as in ops' `observed`. PROTOCOL.md ("The snapshot")
//! is its description.

use super::super::{DeviceInfo, Lease, PlaybackValue, UserDoc};
use super::SNAPSHOT_FORMAT;
use crate::{
    CausalContext, ContentId, CrdtError, Dot, EntryMeta, Hlc, LwwMap, OrSet, PlayState,
    Preferences, Register, VersionVector, B64,
};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct Snapshot {
    format: u32,
    version: u64,
    vv: VersionVector,
    watchlist: Watchlist,
    playback: Vec<PlaybackRegister>,
    prefs: B64,
    lease: LeaseState,
    devices: BTreeMap<String, DeviceInfo>,
    retired_dots: Vec<RetiredDot>,
}

/// The OR-Set: live items with their dots, and the causal context.
#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct Watchlist {
    items: Vec<Item>,
    context: CausalContext,
}

#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct Item {
    content: ContentId,
    dots: Vec<ItemDot>,
}

#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct ItemDot {
    dot: Dot,
    added_at_ms: u64,
}

/// One last-writer-wins register, flat: its value and its timestamp.
#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct PlaybackRegister {
    content: ContentId,
    position_ms: u64,
    duration_ms: u64,
    state: PlayState,
    device: String,
    ts: Hlc,
}

/// The lease as in `welcome.lease`: the holder (or none) and the last token
/// handed out.
#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct LeaseState {
    holder: Option<String>,
    token: u64,
}

/// A dot of a retired device and the `~retired` dot it was re-stamped as.
#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct RetiredDot {
    old: Dot,
    new: Dot,
}

impl From<&UserDoc> for Snapshot {
    fn from(doc: &UserDoc) -> Self {
        let items = doc
            .watchlist
            .entries()
            .map(|(content, dots)| Item {
                content: content.clone(),
                dots: dots
                    .into_iter()
                    .map(|(dot, meta)| ItemDot {
                        dot: dot.clone(),
                        added_at_ms: meta.added_at_ms,
                    })
                    .collect(),
            })
            .collect();
        let playback = doc
            .playback
            .iter()
            .map(|(content, r)| PlaybackRegister {
                content: content.clone(),
                position_ms: r.value.position_ms,
                duration_ms: r.value.duration_ms,
                state: r.value.state,
                device: r.value.device.clone(),
                ts: Hlc(r.ts),
            })
            .collect();
        Snapshot {
            format: SNAPSHOT_FORMAT,
            version: doc.version,
            vv: doc.vv.clone(),
            watchlist: Watchlist {
                items,
                context: doc.watchlist.context().clone(),
            },
            playback,
            prefs: B64(doc.prefs.save()),
            lease: LeaseState {
                holder: doc.lease.as_ref().map(|l| l.device.clone()),
                token: doc.lease_token,
            },
            devices: doc.devices.clone(),
            retired_dots: doc
                .retired_dots
                .iter()
                .map(|(old, new)| RetiredDot {
                    old: old.clone(),
                    new: new.clone(),
                })
                .collect(),
        }
    }
}

impl Snapshot {
    pub(super) fn into_doc(self) -> Result<UserDoc, CrdtError> {
        let dots = self.watchlist.items.into_iter().flat_map(|item| {
            let content = item.content;
            item.dots.into_iter().map(move |d| {
                let meta = EntryMeta {
                    added_at_ms: d.added_at_ms,
                };
                (content.clone(), d.dot, meta)
            })
        });
        let playback: LwwMap<ContentId, PlaybackValue> = self
            .playback
            .into_iter()
            .map(|r| {
                let value = PlaybackValue {
                    position_ms: r.position_ms,
                    duration_ms: r.duration_ms,
                    state: r.state,
                    device: r.device,
                };
                (r.content, Register { value, ts: r.ts.0 })
            })
            .collect::<Vec<_>>()
            .into();
        let lease = self.lease.holder.map(|device| Lease {
            device,
            token: self.lease.token,
        });
        Ok(UserDoc {
            version: self.version,
            vv: self.vv,
            watchlist: OrSet::from_parts(self.watchlist.context, dots),
            playback,
            prefs: Preferences::load(&self.prefs.0)?,
            lease,
            lease_token: self.lease.token,
            devices: self.devices,
            retired_dots: self
                .retired_dots
                .into_iter()
                .map(|r| (r.old, r.new))
                .collect(),
        })
    }
}
