//! `UserDoc::apply` (live ops from devices) and `UserDoc::replay` (ops from
//! the log). Both validate everything first and mutate only once nothing
//! can fail any more.

use super::{LoggedOp, Outcome, PlaybackValue, Rules, UserDoc, RETIRED_REPLICA};
use crate::hlc::{duration_to_ntp64, ntp64_to_ms};
use crate::{hlc_id_for, CrdtError, Dot, EntryMeta, Op};
use std::borrow::Cow;
use uhlc::NTP64;

/// Longest accepted device id, in bytes.
pub const MAX_DEVICE_ID_LEN: usize = 128;

enum SeqCheck {
    Duplicate,
    Next,
}

impl UserDoc {
    /// Applies one op from `device` at server time `now`.
    ///
    /// Order of checks: device id, seq (duplicate -> `Ok(Duplicate)`, gap ->
    /// `SeqGap`), then per kind: playback timestamp id and skew bound, lease
    /// token and holder; preferences decoding. Any `Err` leaves the document
    /// untouched and does not consume the seq.
    pub fn apply(
        &mut self,
        device: &str,
        seq: u64,
        op: Op,
        now: NTP64,
        rules: &Rules,
    ) -> Result<Outcome, CrdtError> {
        if let SeqCheck::Duplicate = self.check_seq(device, seq)? {
            return Ok(Outcome::Duplicate {
                version: self.version,
            });
        }
        if let Op::Playback {
            ts,
            lease,
            take_lease,
            ..
        } = &op
        {
            if ts.id() != hlc_id_for(device) {
                return Err(CrdtError::BadTimestamp {
                    reason: format!("timestamp id {} is not the id of device {device}", ts.id()),
                });
            }
            let limit = now
                .0
                .saturating_add(duration_to_ntp64(rules.max_clock_skew));
            if ts.time().0 > limit {
                return Err(CrdtError::ClockSkew {
                    ts: ts.time().0,
                    limit,
                });
            }
            self.check_lease(device, *lease, *take_lease)?;
        }
        let lease_before = self.lease.clone();
        self.effects(device, seq, &op)?;
        let version = self.version + 1;
        let logged = self.commit(device, seq, version, ntp64_to_ms(now), op);
        let lease_after = if self.lease != lease_before {
            self.lease.clone()
        } else {
            None
        };
        Ok(Outcome::Applied(logged, lease_after))
    }

    /// Applies a logged op (recovery, or a replica following the log).
    /// Skips the timestamp, skew and lease checks (they held when the op was
    /// accepted) but keeps the lease effects. Already-covered `(device, seq)`
    /// is a no-op. The version becomes `max(version + 1, entry.version)`.
    /// On `Err` the document is untouched.
    pub fn replay(&mut self, entry: &LoggedOp) -> Result<(), CrdtError> {
        if let SeqCheck::Duplicate = self.check_seq(&entry.device, entry.seq)? {
            return Ok(());
        }
        self.effects(&entry.device, entry.seq, &entry.op)?;
        let version = (self.version + 1).max(entry.version);
        self.commit(
            &entry.device,
            entry.seq,
            version,
            entry.at_ms,
            entry.op.clone(),
        );
        Ok(())
    }

    fn check_seq(&self, device: &str, seq: u64) -> Result<SeqCheck, CrdtError> {
        check_device(device)?;
        if seq == 0 {
            return Err(CrdtError::InvalidOp {
                reason: "seq starts at 1".into(),
            });
        }
        let expected = self.next_seq(device);
        if seq < expected {
            Ok(SeqCheck::Duplicate)
        } else if seq > expected {
            Err(CrdtError::SeqGap { expected, got: seq })
        } else {
            Ok(SeqCheck::Next)
        }
    }

    /// The state change of an op. Only the preferences arm can fail, and it
    /// fails before mutating anything.
    fn effects(&mut self, device: &str, seq: u64, op: &Op) -> Result<(), CrdtError> {
        match op {
            Op::Preferences { changes } => self.prefs.apply(changes)?,
            Op::WatchlistAdd {
                content,
                added_at_ms,
                observed,
            } => {
                let observed = self.translate(observed);
                let meta = EntryMeta {
                    added_at_ms: *added_at_ms,
                };
                self.watchlist
                    .add(content.clone(), Dot::new(device, seq), meta, &observed);
                self.prune_retired(&observed);
            }
            Op::WatchlistRemove { content, observed } => {
                let observed = self.translate(observed);
                self.watchlist.remove(content, &observed);
                self.prune_retired(&observed);
            }
            Op::Playback {
                content,
                position_ms,
                duration_ms,
                state,
                ts,
                take_lease,
                ..
            } => {
                self.lease_effect(device, *state, *take_lease);
                let value = PlaybackValue {
                    position_ms: *position_ms,
                    duration_ms: *duration_ms,
                    state: *state,
                    device: device.to_owned(),
                };
                self.playback.set(content.clone(), value, ts.0);
            }
        }
        Ok(())
    }

    fn commit(&mut self, device: &str, seq: u64, version: u64, at_ms: u64, op: Op) -> LoggedOp {
        self.vv.observe(device, seq);
        self.watchlist.observe(&Dot::new(device, seq));
        self.version = version;
        LoggedOp {
            device: device.to_owned(),
            seq,
            version,
            at_ms,
            op,
        }
    }

    /// Observed dots plus, for dots of retired devices, their re-stamped
    /// `~retired` dots.
    fn translate<'a>(&self, observed: &'a [Dot]) -> Cow<'a, [Dot]> {
        if self.retired_dots.is_empty() {
            return Cow::Borrowed(observed);
        }
        let mut out = observed.to_vec();
        out.extend(
            observed
                .iter()
                .filter_map(|d| self.retired_dots.get(d).cloned()),
        );
        Cow::Owned(out)
    }

    /// Forgets translations whose `~retired` dot just died.
    fn prune_retired(&mut self, observed: &[Dot]) {
        if observed.iter().any(|d| d.device == RETIRED_REPLICA) {
            let set = &self.watchlist;
            self.retired_dots.retain(|_, new| set.has_dot(new));
        }
    }
}

/// Device ids: 1..=128 bytes, not starting with `~` (reserved replicas).
pub(super) fn check_device(device: &str) -> Result<(), CrdtError> {
    if device.is_empty() || device.len() > MAX_DEVICE_ID_LEN || device.starts_with('~') {
        return Err(CrdtError::InvalidOp {
            reason: format!(
                "bad device id {device:?}: 1..={MAX_DEVICE_ID_LEN} bytes, no leading '~'"
            ),
        });
    }
    Ok(())
}
