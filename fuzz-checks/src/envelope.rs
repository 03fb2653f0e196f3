//! Target `envelope`: one PubNub message through the steps of the bridge's
//! inbound path: the channel name ([`Channels::sync_user`]), the payload
//! JSON, [`Envelope::parse`], the token ([`crate::jwt`]'s RS256 verifier at a
//! fixed clock) and the carried frame ([`crate::client_frame`]).
//!
//! Input layout: the channel name up to the first newline, then the payload.
//!
//! Invariants: never a panic; a channel accepted as a `.sync` channel is the
//! one [`Channels::sync`] names for its user; an envelope's frame text is
//! JSON and meets the client-frame invariants; the token meets the JWT ones.

use baton_actors::ActorConfig;
use baton_bridge::envelope::{Envelope, Skip};
use baton_bridge::Channels;
use serde_json::Value;

use crate::client_frame;

/// Channel prefix used by the check.
pub const PREFIX: &str = "fuzz.";

/// Checks one input.
pub fn check(data: &[u8]) {
    let (channel, payload) = match data.iter().position(|&b| b == b'\n') {
        Some(at) => (&data[..at], &data[at + 1..]),
        None => (&b""[..], data),
    };
    let channels = Channels::new(PREFIX);
    if let Ok(channel) = std::str::from_utf8(channel) {
        if let Some(user) = channels.sync_user(channel) {
            assert_eq!(channels.sync(user), channel, "sync channel round trip");
        }
    }
    let Ok(payload) = serde_json::from_slice::<Value>(payload) else {
        return;
    };
    let envelope = match Envelope::parse(&payload) {
        Ok(envelope) => envelope,
        Err(Skip::OwnMessage) => {
            assert_eq!(
                payload.get("origin").and_then(Value::as_str),
                Some("baton"),
                "skipped as Baton's own without origin baton"
            );
            return;
        }
        Err(Skip::Invalid(_)) => return,
    };
    crate::jwt::check_rsa_token(&envelope.token);
    let text = envelope.frame_text();
    assert!(
        serde_json::from_str::<Value>(&text).is_ok(),
        "frame text is not JSON: {text}"
    );
    let _ = envelope.frame_type();
    client_frame::check_text(&text, ActorConfig::default().device.max_message_bytes);
}
