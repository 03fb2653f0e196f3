//! Target `client_frame`: one WebSocket text frame through
//! [`baton_actors::wire::parse_client_frame`], the parser every device frame
//! (socket or PubNub) goes through.
//!
//! Invariants: the parser never panics; a refusal carries a stable
//! snake_case code; an accepted frame
//! serializes back to JSON that parses to the same frame.

use baton_actors::protocol::{ClientFrame, ErrorFrame};
use baton_actors::wire::parse_client_frame;
use baton_actors::ActorConfig;

/// Checks one input (bytes that are not UTF-8 cannot be a text frame and are skipped).
pub fn check(data: &[u8]) {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    check_text(text, ActorConfig::default().device.max_message_bytes);
}

/// Checks one text frame against a frame-size limit; shared with the
/// PubNub envelope target, whose frames reach the same parser.
pub fn check_text(text: &str, max_bytes: usize) -> Option<ClientFrame> {
    match parse_client_frame(text, max_bytes) {
        Ok(frame) => {
            let again = serde_json::to_string(&frame)
                .unwrap_or_else(|e| panic!("accepted frame does not serialize: {e}: {frame:?}"));
            assert_eq!(
                parse_client_frame(&again, usize::MAX),
                Ok(frame.clone()),
                "accepted frame does not survive a JSON round trip: {again}"
            );
            Some(frame)
        }
        Err(err) => {
            assert_clean_error(&err);
            None
        }
    }
}

/// A refusal has a stable snake_case code. (Its message may echo the input,
/// so its text proves nothing.)
pub fn assert_clean_error(err: &ErrorFrame) {
    assert!(
        !err.code.is_empty()
            && err
                .code
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b == b'_'),
        "error code is not a stable snake_case code: {err:?}"
    );
}
