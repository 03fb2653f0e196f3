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
        let decoded = changes
            .iter()
            .map(|c| Change::try_from(c.as_ref()))
            .collect::<Result<Vec<_>, _>>()
            .map_err(|e| bad(&e))?;
        if decoded.is_empty() {
            return Ok(());
        }
        let mut next = match &self.doc {
            Some(doc) => (**doc).clone(),
            None => self.fresh(),
        };
        next.apply_changes(decoded).map_err(|e| bad(&e))?;
        let missing = next.get_missing_deps(&[]);
        if !missing.is_empty() {
            return Err(CrdtError::BadChange {
                reason: format!("{} missing dependencies", missing.len()),
            });
        }
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
        let doc = Automerge::load(bytes).map_err(|e| bad(&e))?;
        Ok(Preferences {
            doc: Some(Box::new(doc.with_actor(ActorId::from(SERVER_ACTOR)))),
            actor: ActorId::from(SERVER_ACTOR),
        })
    }

    /// Current heads, sorted (none for a document never used).
    pub fn heads(&self) -> Vec<ChangeHash> {
        let mut h = self
            .doc
            .as_ref()
            .map_or_else(Vec::new, |doc| doc.get_heads());
        h.sort();
        h
    }

    /// The underlying document (read-only), or `None` if nothing was ever applied.
    pub fn doc(&self) -> Option<&Automerge> {
        self.doc.as_deref()
    }
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
}
