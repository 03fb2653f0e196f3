//! Parsing of client frames with precise error codes for bad input.

use crate::protocol::{ClientFrame, ErrorFrame};

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
/// for ops whose content id is bad, `invalid_content_id`.
pub fn parse_client_frame(text: &str, max_bytes: usize) -> Result<ClientFrame, ErrorFrame> {
    if text.len() > max_bytes {
        return Err(ErrorFrame::new(
            "too_big",
            format!("frame of {} bytes exceeds {max_bytes}", text.len()),
        ));
    }
    match serde_json::from_str::<ClientFrame>(text) {
        Ok(frame) => Ok(frame),
        Err(err) => Err(classify(text, &err)),
    }
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
    let seq = value.get("seq").and_then(|s| s.as_u64());
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
