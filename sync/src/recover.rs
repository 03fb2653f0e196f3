//! Building a user's starting state from what the store holds (a snapshot,
//! the log around it) or from a warm handover plus the log after it. The
//! log holds device ops and the server's control records; both are
//! replayed, only ops enter the catch-up window.

use baton_crdt::{Control, UserDoc};

use crate::error::SyncError;
use crate::machine::Recovered;
use crate::record::{Decoded, Record};
use crate::warm::WarmState;
use crate::window::{vv_before, CatchUpWindow};

/// What the store holds for a user, as the node read it.
#[derive(Debug, Default)]
pub struct Stored {
    /// The latest snapshot: its version and bytes.
    pub snapshot: Option<(u64, Vec<u8>)>,
    /// Up to the log retention of records at or before the snapshot, oldest
    /// first (they seed the catch-up window).
    pub before_snapshot: Vec<Record>,
    /// Every record after the snapshot, oldest first.
    pub tail: Vec<Record>,
}

/// A user's durable state: the snapshot, the log after it replayed, the
/// window seeded from the records before it.
pub fn recover(user: &str, stored: Stored, retention: u64) -> Result<Recovered, SyncError> {
    let corrupt = |detail: String| SyncError::Corrupt {
        user: user.to_owned(),
        detail,
    };
    let (mut doc, snapshot_version) = match &stored.snapshot {
        Some((version, bytes)) => (
            UserDoc::from_snapshot_bytes(bytes).map_err(|e| corrupt(e.to_string()))?,
            *version,
        ),
        None => (UserDoc::new(), 0),
    };
    let mut older: Vec<Record> = stored
        .before_snapshot
        .into_iter()
        .filter(|r| r.version <= snapshot_version)
        .collect();
    // A retirement rewrote the version vector: the window starts after it.
    if let Some(last) = older.iter().rposition(|r| r.is_retirement(user)) {
        older.drain(..=last);
    }
    older.retain(|r| !r.is_control());
    let mut window = CatchUpWindow::new(vv_before(doc.vv(), &older), retention as usize);
    for record in &older {
        if let Decoded::Op(op) = record.decode(user)? {
            window.push(op);
        }
    }
    replay(user, &mut doc, &mut window, &stored.tail)?;
    Ok(Recovered {
        doc,
        window,
        snapshot_version,
        warm: false,
    })
}

/// Start from the state a previous owner handed over, plus the log `tail`
/// after it. `None` when the handed-over snapshot does not decode at its
/// version (the caller loads cold). The caller has checked that the store
/// proves the state current.
pub fn recover_warm(
    warm: &WarmState,
    tail: &[Record],
    retention: u64,
) -> Result<Option<Recovered>, SyncError> {
    let Some(mut doc) = UserDoc::from_snapshot_bytes(&warm.snapshot)
        .ok()
        .filter(|doc| doc.version() == warm.version)
    else {
        return Ok(None);
    };
    let mut window = CatchUpWindow::new(warm.window_base.clone(), retention as usize);
    for op in &warm.window {
        window.push(op.clone());
    }
    replay(&warm.user, &mut doc, &mut window, tail)?;
    Ok(Some(Recovered {
        doc,
        window,
        snapshot_version: 0,
        warm: true,
    }))
}

/// Replay records that follow `doc` (contiguous versions) into it and the
/// window; a gap or a record that does not apply is corruption.
fn replay(
    user: &str,
    doc: &mut UserDoc,
    window: &mut CatchUpWindow,
    records: &[Record],
) -> Result<(), SyncError> {
    let corrupt = |detail: String| SyncError::Corrupt {
        user: user.to_owned(),
        detail,
    };
    for record in records {
        if record.version != doc.version() + 1 {
            return Err(corrupt(format!(
                "log gap: expected version {}, found {}",
                doc.version() + 1,
                record.version
            )));
        }
        match record.decode(user)? {
            Decoded::Control(change) => {
                doc.apply_control(&change, record.at_ms).map_err(|e| {
                    corrupt(format!("replay of control record {}: {e}", record.version))
                })?;
                if let Control::RetireDevices { .. } = change {
                    *window = CatchUpWindow::new(doc.vv().clone(), window.cap());
                }
            }
            Decoded::Op(op) => {
                doc.replay(&op)
                    .map_err(|e| corrupt(format!("replay of version {}: {e}", record.version)))?;
                window.push(op);
            }
        }
    }
    Ok(())
}
