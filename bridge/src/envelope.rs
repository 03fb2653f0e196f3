//! What a PubNub device publishes on its user's `.sync` channel: its Baton
//! token, optionally its device id, and one client frame of PROTOCOL.md.
//!
//! ```json
//! {"token":"<jwt>","device":"phone-1","frame":{"type":"op","seq":1,"op":{...}}}
//! ```

use serde::Deserialize;
use serde_json::Value;

/// One device message, as published by the device.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Envelope {
    /// The device's Baton JWT (same token as for the WebSocket), checked on every message.
    pub token: String,
    /// The device id; when present it must equal the token's `device` claim.
    #[serde(default)]
    pub device: Option<String>,
    /// One client frame (`hello`, `op`, `heartbeat`, `handoff`, `resync`, `interaction`).
    pub frame: Value,
}

/// Why a payload is not a device message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Skip {
    /// Published by Baton itself (`origin: "baton"`).
    OwnMessage,
    /// Not an envelope; the message explains why.
    Invalid(String),
}

impl Envelope {
    /// Parse a message payload.
    pub fn parse(payload: &Value) -> Result<Envelope, Skip> {
        if payload.get("origin").and_then(Value::as_str) == Some("baton") {
            return Err(Skip::OwnMessage);
        }
        serde_json::from_value(payload.clone()).map_err(|e| Skip::Invalid(e.to_string()))
    }

    /// The frame's `type`, if it has one.
    pub fn frame_type(&self) -> Option<&str> {
        self.frame.get("type").and_then(Value::as_str)
    }

    /// The frame as the JSON text a WebSocket device would have sent.
    pub fn frame_text(&self) -> String {
        self.frame.to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn parses_and_skips_own() {
        let e = Envelope::parse(&json!({"token":"t","frame":{"type":"hello"}})).expect("parse");
        assert_eq!(e.frame_type(), Some("hello"));
        assert_eq!(
            Envelope::parse(&json!({"type":"watchlist_update","origin":"baton"})).err(),
            Some(Skip::OwnMessage)
        );
        assert!(matches!(
            Envelope::parse(&json!({"frame":{}})),
            Err(Skip::Invalid(_))
        ));
    }
}
