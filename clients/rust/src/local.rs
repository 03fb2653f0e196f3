//! Local edits: the optimistic view (confirmed replica plus pending own
//! ops), the HLC clock for playback timestamps, and builders that turn an
//! application's intent into the op a replica sends.

use baton_crdt::automerge::transaction::Transaction;
use baton_crdt::automerge::{ActorId, Automerge, AutomergeError};
use baton_crdt::{hlc_id_for, ContentId, Dot, Hlc, LoggedOp, Op, PlayState, UserDoc, B64};
use baton_protocol::LeaseView;

use crate::core::Core;
use crate::view::StateView;
use crate::ClientError;

/// This device's hybrid logical clock: local time corrected by the offset
/// the `welcome`'s `server_time` showed, never going backwards.
#[derive(Debug, Clone)]
pub struct Clock {
    id: baton_crdt::uhlc::ID,
    offset: i128,
    last: u64,
}

impl Clock {
    /// The clock of `device` (its HLC id is derived from the id, as the
    /// server's `welcome.hlc_id` says).
    pub fn new(device: &str) -> Self {
        Clock {
            id: hlc_id_for(device),
            offset: 0,
            last: 0,
        }
    }

    /// Learns the server's clock from a welcome received at local `now`.
    pub fn welcome(&mut self, hlc_id: &str, server_ntp: u64, now: u64) {
        if let Ok(id) = u128::from_str_radix(hlc_id, 16) {
            if let Ok(id) = baton_crdt::uhlc::ID::try_from(id) {
                self.id = id;
            }
        }
        self.offset = i128::from(server_ntp) - i128::from(now);
    }

    /// The next timestamp at local time `now` (NTP64).
    pub fn next(&mut self, now: u64) -> Hlc {
        let corrected = (i128::from(now) + self.offset).clamp(0, i128::from(u64::MAX));
        let t = u64::try_from(corrected)
            .unwrap_or(u64::MAX)
            .max(self.last.saturating_add(1));
        self.last = t;
        Hlc::new(baton_crdt::uhlc::NTP64(t), self.id)
    }

    /// The last timestamp issued (persisted so a restart stays monotonic).
    pub fn last(&self) -> u64 {
        self.last
    }

    /// Restores the last timestamp issued.
    pub fn set_last(&mut self, last: u64) {
        self.last = self.last.max(last);
    }
}

impl Core {
    /// The confirmed replica with the pending own ops applied on top.
    pub fn optimistic_doc(&self) -> UserDoc {
        let mut doc = self.replica.doc().clone();
        let first = doc.next_seq(&self.me);
        for (i, op) in self.outbox.ops().values().enumerate() {
            let entry = LoggedOp {
                device: self.me.clone(),
                seq: first + i as u64,
                version: 0,
                at_ms: 0,
                op: op.clone(),
            };
            // An op the replica cannot take (it will be refused) shows nothing.
            let _ = doc.replay(&entry);
        }
        doc
    }

    /// What the application shows: confirmed state plus own pending ops.
    pub fn state(&self) -> StateView {
        StateView::of(
            &self.optimistic_doc(),
            self.replica.version(),
            self.replica.lease(),
        )
    }

    /// The lease as last told by the server.
    pub fn lease(&self) -> &LeaseView {
        self.replica.lease()
    }

    /// The op that adds `content` at device time `now_ms`.
    pub fn add_op(&self, content: &str, now_ms: u64) -> Result<Op, ClientError> {
        Ok(Op::WatchlistAdd {
            content: parse(content)?,
            added_at_ms: now_ms,
            observed: Vec::new(),
        })
    }

    /// The op that removes `content` (every dot of it this replica holds),
    /// or `None` when it is not on the watchlist.
    pub fn remove_op(&self, content: &str) -> Result<Option<Op>, ClientError> {
        let content = parse(content)?;
        let doc = self.optimistic_doc();
        let observed: Vec<Dot> = doc
            .watchlist_set()
            .dots_of(content.as_str())
            .map(|(d, _)| d.clone())
            .collect();
        Ok((!observed.is_empty()).then_some(Op::WatchlistRemove { content, observed }))
    }

    /// A playback report at local time `now_ntp`; `take_lease` = the user
    /// pressed play here. Presents the lease token when this device holds it.
    pub fn playback_op(
        &mut self,
        content: &str,
        position_ms: u64,
        duration_ms: u64,
        state: PlayState,
        take_lease: bool,
        now_ntp: u64,
    ) -> Result<Op, ClientError> {
        let content = parse(content)?;
        let lease = self.replica.lease();
        let holds = lease.holder.as_deref() == Some(self.me.as_str());
        Ok(Op::Playback {
            content,
            position_ms,
            duration_ms,
            state,
            ts: self.clock.next(now_ntp),
            lease: (holds && lease.token > 0).then_some(lease.token),
            take_lease,
        })
    }

    /// A preferences edit made by `f` on the current (optimistic) document
    /// as Automerge `actor`; `None` when `f` changed nothing.
    pub fn preferences_op<F>(&self, actor: &[u8], f: F) -> Result<Option<Op>, ClientError>
    where
        F: FnOnce(&mut Transaction<'_>) -> Result<(), AutomergeError>,
    {
        let saved = self.optimistic_doc().preferences().save();
        let doc = if saved.is_empty() {
            Automerge::new()
        } else {
            Automerge::load(&saved).map_err(|e| ClientError::Invalid(e.to_string()))?
        };
        let mut doc = doc.with_actor(ActorId::from(actor));
        let done = doc
            .transact(f)
            .map_err(|e| ClientError::Invalid(e.error.to_string()))?;
        if done.hash.is_none() {
            return Ok(None);
        }
        let mut change = doc
            .get_last_local_change()
            .ok_or_else(|| ClientError::Invalid("no change recorded".into()))?;
        let bytes = change.bytes().into_owned();
        Ok(Some(Op::Preferences {
            changes: vec![B64(bytes)],
        }))
    }
}

fn parse(content: &str) -> Result<ContentId, ClientError> {
    ContentId::parse(content).map_err(|e| ClientError::Invalid(e.to_string()))
}
