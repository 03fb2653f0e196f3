//! `Preferences`: the user's free-form settings document (Automerge).
//!
//! The server never edits it; it only applies change bytes sent by devices.
//! A batch is applied to a copy first and swapped in only if every change
//! decodes, applies and is causally ready, so a bad batch leaves no trace.

use crate::CrdtError;
use automerge::transaction::Transaction;
use automerge::{ActorId, Automerge, AutomergeError, Change, ChangeHash, ReadDoc};

/// Cap on the total bytes of one change batch.
pub const MAX_CHANGE_BATCH_BYTES: usize = 64 * 1024;

/// Actor id of a replica that never edits (the server). Automerge draws a
/// random actor id in its constructor; we replace it at once, so nothing
/// random leaks into the saved document.
const SERVER_ACTOR: &[u8] = b"baton-server";

/// The preferences document. It is created on first use: most users never
/// set a preference, and an empty Automerge document still costs memory in
/// every live user actor.
#[derive(Debug, Clone)]
pub struct Preferences {
    doc: Option<Box<Automerge>>,
    actor: ActorId,
}

impl Default for Preferences {
    fn default() -> Self {
        Self::for_actor(SERVER_ACTOR)
    }
}

impl PartialEq for Preferences {
    /// Same heads means same change history, hence the same document.
    fn eq(&self, other: &Self) -> bool {
        self.heads() == other.heads()
    }
}

impl Preferences {
    /// An empty document for the server.
    pub fn new() -> Self {
        Self::default()
    }

    /// An empty document whose local edits are authored by `actor` (a device
    /// replica, or a test standing in for one).
    pub fn for_actor(actor: &[u8]) -> Self {
        Preferences {
            doc: None,
            actor: ActorId::from(actor),
        }
    }

    fn fresh(&self) -> Automerge {
        Automerge::new().with_actor(self.actor.clone())
    }

    fn doc_mut(&mut self) -> &mut Automerge {
        let actor = self.actor.clone();
        self.doc
            .get_or_insert_with(|| Box::new(Automerge::new().with_actor(actor)))
    }

    /// Applies a batch of encoded changes, all or nothing.
    ///
    /// Errors: `TooLarge` if the batch exceeds [`MAX_CHANGE_BATCH_BYTES`];
    /// `BadChange` if a change does not decode, does not apply, or depends
    /// on changes this document does not have. State is untouched on error.
    pub fn apply<B: AsRef<[u8]>>(&mut self, changes: &[B]) -> Result<(), CrdtError> {
        let size: usize = changes.iter().map(|c| c.as_ref().len()).sum();
        if size > MAX_CHANGE_BATCH_BYTES {
            return Err(CrdtError::TooLarge {
                size,
                max: MAX_CHANGE_BATCH_BYTES,
            });
        }
        if changes.is_empty() {
            return Ok(());
        }
        let base = self.doc.as_deref();
        let next = guarded("change batch", || {
            let decoded = changes
                .iter()
                .map(|c| Change::try_from(c.as_ref()))
                .collect::<Result<Vec<_>, _>>()
                .map_err(|e| bad(&e))?;
            let mut next = match base {
                Some(doc) => doc.clone(),
                None => self.fresh(),
            };
            next.apply_changes(decoded).map_err(|e| bad(&e))?;
            let missing = next.get_missing_deps(&[]);
            if !missing.is_empty() {
                return Err(CrdtError::BadChange {
                    reason: format!("{} missing dependencies", missing.len()),
                });
            }
            // Automerge 0.12 accepts some batches whose saved document it
            // cannot load again ("mismatching heads", found by the
            // `prefs_change` fuzz target); such a batch would make the
            // user's snapshot unreadable, so it is refused.
            let reloaded = Automerge::load(&next.save()).map_err(|e| bad(&e))?;
            if sorted_heads(&reloaded) != sorted_heads(&next) {
                return Err(CrdtError::BadChange {
                    reason: "the batch does not survive save and load".into(),
                });
            }
            Ok(next)
        })?;
        self.doc = Some(Box::new(next));
        Ok(())
    }

    /// Makes a local edit (as a device would) and returns its change bytes,
    /// ready to send in an `Op::Preferences`. `Ok(vec![])` if `f` changed
    /// nothing.
    pub fn local_change<F>(&mut self, f: F) -> Result<Vec<u8>, CrdtError>
    where
        F: FnOnce(&mut Transaction<'_>) -> Result<(), AutomergeError>,
    {
        let doc = self.doc_mut();
        let done = doc.transact(f).map_err(|failure| bad(&failure.error))?;
        if done.hash.is_none() {
            return Ok(Vec::new());
        }
        let mut change = doc
            .get_last_local_change()
            .ok_or_else(|| CrdtError::BadChange {
                reason: "no local change recorded".into(),
            })?;
        Ok(change.bytes().into_owned())
    }

    /// The document root as JSON (maps, lists, scalars; text as strings).
    pub fn to_json(&self) -> serde_json::Value {
        match &self.doc {
            Some(doc) => serde_json::to_value(automerge::AutoSerde::from(&**doc))
                .unwrap_or_else(|_| serde_json::Value::Object(Default::default())),
            None => serde_json::Value::Object(Default::default()),
        }
    }

    /// Compact encoding of the whole document; empty when nothing was ever
    /// applied ([`Preferences::load`] of empty bytes gives an empty document).
    pub fn save(&self) -> Vec<u8> {
        self.doc.as_ref().map_or_else(Vec::new, |doc| doc.save())
    }

    /// Loads a document written by [`Preferences::save`].
    pub fn load(bytes: &[u8]) -> Result<Self, CrdtError> {
        if bytes.is_empty() {
            return Ok(Self::new());
        }
        let doc = guarded("document", || Automerge::load(bytes).map_err(|e| bad(&e)))?;
        Ok(Preferences {
            doc: Some(Box::new(doc.with_actor(ActorId::from(SERVER_ACTOR)))),
            actor: ActorId::from(SERVER_ACTOR),
        })
    }

    /// Current heads, sorted (none for a document never used).
    pub fn heads(&self) -> Vec<ChangeHash> {
        self.doc.as_deref().map_or_else(Vec::new, sorted_heads)
    }

    /// The underlying document (read-only), or `None` if nothing was ever applied.
    pub fn doc(&self) -> Option<&Automerge> {
        self.doc.as_deref()
    }
}

/// Runs Automerge on untrusted bytes. Automerge 0.12 panics on some hostile
/// input (an `unwrap` in its op import, found by the `prefs_change` fuzz
/// target, `fuzz/regressions/prefs_change/`); the work happens on a copy, so
/// a panic becomes `BadChange` and leaves nothing behind (the panic hook
/// still logs it).
fn guarded<T>(what: &str, f: impl FnOnce() -> Result<T, CrdtError>) -> Result<T, CrdtError> {
    std::panic::catch_unwind(std::panic::AssertUnwindSafe(f)).unwrap_or_else(|_| {
        Err(CrdtError::BadChange {
            reason: format!("{what} refused by automerge"),
        })
    })
}

fn sorted_heads(doc: &Automerge) -> Vec<ChangeHash> {
    let mut heads = doc.get_heads();
    heads.sort();
    heads
}

fn bad(e: &dyn std::fmt::Display) -> CrdtError {
    CrdtError::BadChange {
        reason: e.to_string(),
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use automerge::transaction::Transactable;
    use automerge::ROOT;

    #[test]
    fn device_change_reaches_server_json() {
        let mut dev = Preferences::for_actor(b"tv-1");
        let c = dev
            .local_change(|tx| {
                tx.put(ROOT, "subtitles", "fr")?;
                tx.put(ROOT, "autoplay", true)?;
                Ok(())
            })
            .unwrap();
        let mut srv = Preferences::new();
        srv.apply(std::slice::from_ref(&c)).unwrap();
        srv.apply(&[c]).unwrap(); // idempotent
        assert_eq!(
            srv.to_json(),
            serde_json::json!({"subtitles": "fr", "autoplay": true})
        );
        let back = Preferences::load(&srv.save()).unwrap();
        assert_eq!(back, srv);
        assert_eq!(back.to_json(), srv.to_json());
    }

    #[test]
    fn bad_batches_leave_state_untouched() {
        let mut dev = Preferences::for_actor(b"tv-1");
        let c1 = dev.local_change(|tx| tx.put(ROOT, "a", 1)).unwrap();
        let c2 = dev.local_change(|tx| tx.put(ROOT, "b", 2)).unwrap();
        let mut srv = Preferences::new();
        let before = srv.clone();
        assert_eq!(
            srv.apply(std::slice::from_ref(&c2)).unwrap_err().code(),
            "bad_change"
        );
        assert_eq!(
            srv.apply(&[vec![1u8, 2, 3]]).unwrap_err().code(),
            "bad_change"
        );
        let big = vec![vec![0u8; MAX_CHANGE_BATCH_BYTES + 1]];
        assert_eq!(srv.apply(&big).unwrap_err().code(), "too_large");
        assert_eq!(srv, before);
        srv.apply(&[c1, c2]).unwrap();
        assert_eq!(srv.to_json(), serde_json::json!({"a": 1, "b": 2}));
    }

    /// A change that made automerge 0.12 panic (`unwrap` on `None` in its
    /// op import), found by the `prefs_change` fuzz target: refused, state
    /// untouched. The fuzz input is one pick byte, a 2-byte length, the change.
    #[test]
    fn change_that_panics_automerge_is_refused() {
        let input =
            include_bytes!("../../fuzz/regressions/prefs_change/automerge-import-ops-unwrap");
        let change = &input[3..];
        let mut srv = Preferences::new();
        let before = srv.clone();
        assert_eq!(srv.apply(&[change]).unwrap_err().code(), "bad_change");
        assert_eq!(srv, before);
        assert_eq!(srv.save(), before.save());
    }

    /// A batch automerge 0.12 accepted although its saved document does not
    /// load again (found by the `prefs_change` fuzz target on a document
    /// holding one change): refused, so every snapshot stays loadable.
    #[test]
    fn batch_whose_save_does_not_load_is_refused() {
        let input = include_bytes!(
            "../../fuzz/regressions/prefs_change/accepted-batch-saves-unloadable-doc"
        );
        let mut srv = Preferences::new();
        if input[0] % 2 == 1 {
            let mut dev = Preferences::for_actor(b"fuzz-author");
            let first = dev
                .local_change(|tx| {
                    tx.put(ROOT, "subtitles", "fr")?;
                    tx.put(ROOT, "autoplay", true)
                })
                .unwrap();
            srv.apply(&[first]).unwrap();
        }
        let mut batch = Vec::new();
        let mut rest = &input[1..];
        while let [lo, hi, tail @ ..] = rest {
            let len = usize::from(u16::from_le_bytes([*lo, *hi])).min(tail.len());
            batch.push(tail[..len].to_vec());
            rest = &tail[len..];
        }
        let before = srv.clone();
        if srv.apply(&batch).is_ok() {
            Preferences::load(&srv.save()).expect("an accepted batch saves a loadable document");
        } else {
            assert_eq!(srv, before);
        }
    }

    #[test]
    fn empty_batch_creates_nothing() {
        let mut srv = Preferences::new();
        srv.apply::<Vec<u8>>(&[]).unwrap();
        assert!(srv.doc().is_none());
    }
}
