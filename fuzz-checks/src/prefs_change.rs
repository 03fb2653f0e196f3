//! Target `prefs_change`: arbitrary Automerge change bytes through the
//! preferences path, both directly ([`Preferences::apply`]) and as an
//! [`Op::Preferences`] through [`UserDoc::apply`].
//!
//! Input layout: one byte picks the starting document (empty, or one that
//! already holds [`history`]), the rest is the batch, split by
//! [`split_batch`].
//!
//! Invariants: never a panic; a refused batch leaves the document untouched;
//! an accepted batch survives save and load with the same heads and applies
//! again as a no-op; through `UserDoc::apply`, an accepted op bumps the
//! version by one and replaying its log entry onto the old document gives
//! the new one, a refused op changes nothing.

use std::sync::OnceLock;

use baton_crdt::automerge::transaction::Transactable;
use baton_crdt::automerge::{ObjType, ROOT};
use baton_crdt::uhlc::NTP64;
use baton_crdt::{Op, Outcome, Preferences, Rules, UserDoc, B64};

/// Device that authors the [`history`] changes.
const AUTHOR: &[u8] = b"fuzz-author";

/// Checks one input.
pub fn check(data: &[u8]) {
    let Some((&pick, rest)) = data.split_first() else {
        return;
    };
    let batch = split_batch(rest);
    let (prefs, doc) = start(pick);
    check_prefs(prefs, &batch);
    check_user_doc(doc, batch);
}

/// Splits the batch bytes into changes: each change is a little-endian `u16`
/// length and that many bytes; a length running past the end takes the rest.
pub fn split_batch(mut data: &[u8]) -> Vec<Vec<u8>> {
    let mut out = Vec::new();
    while let [lo, hi, rest @ ..] = data {
        let len = usize::from(u16::from_le_bytes([*lo, *hi])).min(rest.len());
        let (change, tail) = rest.split_at(len);
        out.push(change.to_vec());
        data = tail;
    }
    out
}

/// The inverse of [`split_batch`], for writing seeds.
pub fn join_batch(pick: u8, changes: &[Vec<u8>]) -> Vec<u8> {
    let mut out = vec![pick];
    for change in changes {
        let len = u16::try_from(change.len()).unwrap_or(u16::MAX);
        out.extend_from_slice(&len.to_le_bytes());
        out.extend_from_slice(&change[..usize::from(len)]);
    }
    out
}

/// Three real changes by one device, each depending on the one before: a
/// scalar, a list with an element, a counter-like overwrite.
pub fn history() -> &'static [Vec<u8>] {
    static HISTORY: OnceLock<Vec<Vec<u8>>> = OnceLock::new();
    HISTORY.get_or_init(|| {
        let mut dev = Preferences::for_actor(AUTHOR);
        let changes = [
            dev.local_change(|tx| {
                tx.put(ROOT, "subtitles", "fr")?;
                tx.put(ROOT, "autoplay", true)
            }),
            dev.local_change(|tx| {
                let list = tx.put_object(ROOT, "languages", ObjType::List)?;
                tx.insert(&list, 0, "en")
            }),
            dev.local_change(|tx| tx.put(ROOT, "volume", 7_i64)),
        ];
        changes
            .into_iter()
            .map(|c| c.unwrap_or_else(|e| panic!("history change: {e}")))
            .collect()
    })
}

/// The starting documents for `pick`: even = empty, odd = the first change
/// of [`history`] already applied (so later changes are causally ready).
fn start(pick: u8) -> (Preferences, UserDoc) {
    let mut prefs = Preferences::new();
    let mut doc = UserDoc::new();
    if pick % 2 == 1 {
        let first = &history()[..1];
        prefs
            .apply(first)
            .unwrap_or_else(|e| panic!("history applies: {e}"));
        let op = Op::Preferences {
            changes: vec![B64(first[0].clone())],
        };
        doc.apply("fuzz", 1, op, NTP64(1 << 32), &Rules::default())
            .unwrap_or_else(|e| panic!("history applies: {e}"));
    }
    (prefs, doc)
}

fn check_prefs(mut prefs: Preferences, batch: &[Vec<u8>]) {
    let before = prefs.clone();
    let json_before = prefs.to_json();
    match prefs.apply(batch) {
        Ok(()) => {
            let _ = prefs.to_json();
            let loaded = Preferences::load(&prefs.save())
                .unwrap_or_else(|e| panic!("saved preferences do not load: {e}"));
            assert_eq!(loaded.heads(), prefs.heads(), "save/load changed the heads");
            let heads = prefs.heads();
            prefs
                .apply(batch)
                .unwrap_or_else(|e| panic!("an applied batch does not apply again: {e}"));
            assert_eq!(
                prefs.heads(),
                heads,
                "applying a batch twice changed the heads"
            );
        }
        Err(_) => {
            assert_eq!(prefs, before, "a refused batch changed the heads");
            assert_eq!(
                prefs.to_json(),
                json_before,
                "a refused batch changed the content"
            );
        }
    }
}

fn check_user_doc(mut doc: UserDoc, batch: Vec<Vec<u8>>) {
    let before = doc.clone();
    let seq = doc.next_seq("phone");
    let op = Op::Preferences {
        changes: batch.into_iter().map(B64).collect(),
    };
    match doc.apply("phone", seq, op, NTP64(2 << 32), &Rules::default()) {
        Ok(Outcome::Applied(logged, _)) => {
            assert_eq!(doc.version(), before.version() + 1, "version grows by one");
            assert_eq!(logged.version, doc.version(), "logged version is the doc's");
            let mut replayed = before;
            replayed
                .replay(&logged)
                .unwrap_or_else(|e| panic!("an applied op does not replay: {e}"));
            assert_eq!(replayed, doc, "replaying the logged op gives another doc");
        }
        Ok(Outcome::Duplicate { .. }) => panic!("a fresh seq was taken for a duplicate"),
        Err(_) => assert_eq!(doc, before, "a refused op changed the doc"),
    }
}
