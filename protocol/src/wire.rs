//! Parsing of client frames with precise error codes for bad input.

use baton_crdt::MAX_WIRE_INTEGER;

use crate::{ClientFrame, ErrorFrame};

const KNOWN_TYPES: &[&str] = &[
    "hello",
    "op",
    "heartbeat",
    "handoff",
    "resync",
    "interaction",
];

/// Parse one text frame. Errors carry stable codes: `too_big`,
/// `malformed_json`, `missing_type`, `unknown_type`, `invalid_frame`, and
/// for ops whose content id is bad, `invalid_content_id`. A frame carrying
/// an integer above [`MAX_WIRE_INTEGER`] is `invalid_frame`: the server
/// would relay it to devices that cannot read it exactly.
pub fn parse_client_frame(text: &str, max_bytes: usize) -> Result<ClientFrame, ErrorFrame> {
    if text.len() > max_bytes {
        return Err(ErrorFrame::new(
            "too_big",
            format!("frame of {} bytes exceeds {max_bytes}", text.len()),
        ));
    }
    match serde_json::from_str::<ClientFrame>(text) {
        Ok(frame) => check_integers(frame),
        Err(err) => Err(classify(text, &err)),
    }
}

/// Refuses a frame with an integer above [`MAX_WIRE_INTEGER`]. The error
/// names the op's `seq` only when that one is within the bound.
fn check_integers(frame: ClientFrame) -> Result<ClientFrame, ErrorFrame> {
    let (largest, seq) = match &frame {
        ClientFrame::Hello { vv, .. } => (vv.iter().map(|(_, s)| s).max().unwrap_or(0), None),
        ClientFrame::Op { seq, op } => ((*seq).max(op.largest_integer()), Some(*seq)),
        ClientFrame::Heartbeat { activity } => {
            (activity.as_ref().map_or(0, |a| a.position_ms), None)
        }
        ClientFrame::Handoff { position_ms, .. } => (*position_ms, None),
        ClientFrame::Resync {} | ClientFrame::Interaction { .. } => (0, None),
    };
    if largest <= MAX_WIRE_INTEGER {
        return Ok(frame);
    }
    let mut error = ErrorFrame::new(
        "invalid_frame",
        format!("integer {largest} is above 2^53 - 1, the largest allowed on the wire"),
    );
    error.seq = seq.filter(|s| *s <= MAX_WIRE_INTEGER);
    Err(error)
}

fn classify(text: &str, err: &serde_json::Error) -> ErrorFrame {
    let value: serde_json::Value = match serde_json::from_str(text) {
        Ok(v) => v,
        Err(e) => return ErrorFrame::new("malformed_json", e.to_string()),
    };
    let Some(kind) = value.get("type").and_then(|t| t.as_str()) else {
        return ErrorFrame::new("missing_type", "a frame needs a string field `type`");
    };
    if !KNOWN_TYPES.contains(&kind) {
        return ErrorFrame::new("unknown_type", format!("unknown frame type `{kind}`"));
    }
    let seq = value
        .get("seq")
        .and_then(|s| s.as_u64())
        .filter(|s| *s <= MAX_WIRE_INTEGER);
    let msg = err.to_string();
    let code = if msg.contains("content id") {
        "invalid_content_id"
    } else {
        "invalid_frame"
    };
    let mut frame = ErrorFrame::new(code, msg);
    frame.seq = seq;
    frame
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    const MAX: u64 = MAX_WIRE_INTEGER;

    fn refused(text: &str) -> ErrorFrame {
        parse_client_frame(text, 65_536).unwrap_err()
    }

    #[test]
    fn integers_up_to_2_pow_53_minus_1_are_accepted() {
        let ts = "7712213731149575707/40741acf20066ccca8cd574cee9fd867";
        for text in [
            format!(
                r#"{{"type":"hello","protocol":1,"device":{{"kind":"tv"}},"vv":{{"a":{MAX}}}}}"#
            ),
            format!(
                r#"{{"type":"op","seq":{MAX},"op":{{"kind":"watchlist_add","content":"m","added_at_ms":{MAX},"observed":[["a",{MAX}]]}}}}"#
            ),
            format!(
                r#"{{"type":"op","seq":1,"op":{{"kind":"playback","content":"m","position_ms":{MAX},"duration_ms":{MAX},"state":"paused","ts":"{ts}","lease":{MAX}}}}}"#
            ),
            format!(
                r#"{{"type":"heartbeat","activity":{{"content":"m","state":"playing","position_ms":{MAX}}}}}"#
            ),
            format!(
                r#"{{"type":"handoff","request_id":"h","target":"t","content":"m","position_ms":{MAX}}}"#
            ),
        ] {
            assert!(parse_client_frame(&text, 65_536).is_ok(), "{text}");
        }
    }

    #[test]
    fn an_integer_above_2_pow_53_minus_1_is_an_invalid_frame() {
        let over = MAX + 1;
        let ts = "7712213731149575707/40741acf20066ccca8cd574cee9fd867";
        let cases = [
            (
                format!(
                    r#"{{"type":"hello","protocol":1,"device":{{"kind":"tv"}},"vv":{{"a":{over}}}}}"#
                ),
                None,
            ),
            (
                format!(
                    r#"{{"type":"op","seq":3,"op":{{"kind":"watchlist_add","content":"m","added_at_ms":{over}}}}}"#
                ),
                Some(3),
            ),
            (
                format!(
                    r#"{{"type":"op","seq":3,"op":{{"kind":"watchlist_remove","content":"m","observed":[["a",{over}]]}}}}"#
                ),
                Some(3),
            ),
            (
                format!(
                    r#"{{"type":"op","seq":3,"op":{{"kind":"playback","content":"m","position_ms":{over},"duration_ms":1,"state":"paused","ts":"{ts}"}}}}"#
                ),
                Some(3),
            ),
            (
                format!(
                    r#"{{"type":"op","seq":3,"op":{{"kind":"playback","content":"m","position_ms":1,"duration_ms":{over},"state":"paused","ts":"{ts}"}}}}"#
                ),
                Some(3),
            ),
            (
                format!(
                    r#"{{"type":"op","seq":3,"op":{{"kind":"playback","content":"m","position_ms":1,"duration_ms":1,"state":"paused","ts":"{ts}","lease":{over}}}}}"#
                ),
                Some(3),
            ),
            (
                format!(
                    r#"{{"type":"op","seq":{over},"op":{{"kind":"watchlist_add","content":"m","added_at_ms":1}}}}"#
                ),
                None,
            ),
            (
                format!(
                    r#"{{"type":"heartbeat","activity":{{"content":"m","state":"playing","position_ms":{over}}}}}"#
                ),
                None,
            ),
            (
                format!(
                    r#"{{"type":"handoff","request_id":"h","target":"t","content":"m","position_ms":{over}}}"#
                ),
                None,
            ),
        ];
        for (text, seq) in cases {
            let e = refused(&text);
            assert_eq!(e.code, "invalid_frame", "{text}");
            assert_eq!(e.seq, seq, "{text}");
        }
        // A seq that does not even fit u64 is not echoed either.
        let e = refused(r#"{"type":"op","seq":99999999999999999999,"op":{}}"#);
        assert_eq!((e.code.as_str(), e.seq), ("invalid_frame", None));
        let e = refused(&format!(r#"{{"type":"op","seq":{over},"op":{{}}}}"#));
        assert_eq!((e.code.as_str(), e.seq), ("invalid_frame", None));
    }
}
