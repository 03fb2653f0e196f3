//! Target `snapshot`: bytes from the store through
//! [`UserDoc::from_snapshot_bytes`], the decoder every user activation runs.
//!
//! Invariants: decoding never panics; a decoded document can be read
//! (views, stats), re-encodes, and decodes to an equal document whose
//! encoding is byte-identical (the encoding is a fixed point); an op applied
//! to it is accepted or refused without a panic, and a refusal leaves it
//! untouched.

use baton_crdt::uhlc::NTP64;
use baton_crdt::{ContentId, Op, Outcome, Rules, UserDoc};

/// Checks one input.
pub fn check(data: &[u8]) {
    let Ok(doc) = UserDoc::from_snapshot_bytes(data) else {
        return;
    };
    let _ = (
        doc.watchlist(),
        doc.playback(),
        doc.preferences_json(),
        doc.stats(),
    );
    let bytes = doc
        .to_snapshot_bytes()
        .unwrap_or_else(|e| panic!("a decoded snapshot does not re-encode: {e}"));
    let again = UserDoc::from_snapshot_bytes(&bytes)
        .unwrap_or_else(|e| panic!("a re-encoded snapshot does not decode: {e}"));
    assert_eq!(again, doc, "snapshot round trip changed the document");
    assert_eq!(
        again.to_snapshot_bytes().ok().as_deref(),
        Some(&bytes[..]),
        "snapshot encoding is not a fixed point"
    );
    probe(doc);
}

/// Applies one watchlist add from each device the document knows (and from
/// a new one) at its next seq.
fn probe(mut doc: UserDoc) {
    let Ok(content) = ContentId::parse("movie:probe") else {
        panic!("probe content id is valid");
    };
    let mut devices: Vec<String> = doc.vv().iter().map(|(d, _)| d.to_owned()).collect();
    devices.push("probe".to_owned());
    for device in devices {
        let before = doc.clone();
        let op = Op::WatchlistAdd {
            content: content.clone(),
            added_at_ms: 1,
            observed: Vec::new(),
        };
        let seq = doc.next_seq(&device);
        match doc.apply(&device, seq, op, NTP64(1 << 32), &Rules::default()) {
            Ok(Outcome::Applied(logged, _)) => {
                assert_eq!(logged.version, doc.version(), "logged version is the doc's");
            }
            Ok(Outcome::Duplicate { .. }) => assert_eq!(doc, before, "a duplicate changed the doc"),
            Err(_) => assert_eq!(doc, before, "a refused op changed the doc"),
        }
    }
}
