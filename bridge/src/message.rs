//! What the bridge publishes for each fan-out event: the message body, the
//! channels, and whether PubNub stores it in history.
//!
//! | event | `type` | channels | stored |
//! |---|---|---|---|
//! | watchlist op | `watchlist_update` | `.sync`, `.watchlist` | yes |
//! | playback op | `watch_progress` | `.sync`, `.playback` | no |
//! | preferences op | `preferences_update` | `.sync` | yes |
//! | lease moved | `playback_control` | `.sync`, `.playback` | no |
//! | handoff delivered | `device_handoff` | `.sync`, `.devices` | no |
//! | presence changed | `presence` | `.devices` | no |
//!
//! Every body carries `"origin": "baton"` and the `user`.

use baton_actors::protocol::ServerFrame;
use baton_actors::ControlEvent;
use baton_crdt::{LoggedOp, Op};
use serde_json::{json, Value};

use crate::channels::{Channels, Topic};

/// One message to publish, in order, to each of its channels.
#[derive(Debug, Clone, PartialEq)]
pub struct Outbound {
    /// The user it belongs to (its publisher lane).
    pub user: String,
    /// Channels to publish to, in order.
    pub channels: Vec<String>,
    /// The message.
    pub body: Value,
    /// PubNub `store` flag: kept in history or not.
    pub store: bool,
}

/// The message for a committed op.
pub fn from_delta(channels: &Channels, user: &str, op: &LoggedOp) -> Outbound {
    let (kind, topic, store) = match &op.op {
        Op::WatchlistAdd { .. } | Op::WatchlistRemove { .. } => {
            ("watchlist_update", Some(Topic::Watchlist), true)
        }
        Op::Playback { .. } => ("watch_progress", Some(Topic::Playback), false),
        Op::Preferences { .. } => ("preferences_update", None, true),
    };
    let body = json!({
        "type": kind,
        "origin": "baton",
        "user": user,
        "device": op.device,
        "seq": op.seq,
        "version": op.version,
        "at_ms": op.at_ms,
        "op": op.op,
    });
    let mut list = vec![channels.sync(user)];
    list.extend(topic.map(|t| channels.typed(user, t)));
    Outbound {
        user: user.to_owned(),
        channels: list,
        body,
        store,
    }
}

/// The message for a control event.
pub fn from_control(channels: &Channels, user: &str, event: ControlEvent) -> Outbound {
    let (channels, body) = match event {
        ControlEvent::Lease(lease) => (
            vec![channels.sync(user), channels.typed(user, Topic::Playback)],
            json!({
                "type": "playback_control",
                "origin": "baton",
                "user": user,
                "action": "lease",
                "holder": lease.holder,
                "lease": lease.token,
            }),
        ),
        ControlEvent::Handoff { target, frame } => {
            let mut body = json!({
                "type": "device_handoff",
                "origin": "baton",
                "user": user,
                "device": target,
            });
            if let (ServerFrame::PlaybackControl { .. }, Value::Object(map)) = (&frame, &mut body) {
                if let Ok(Value::Object(fields)) = serde_json::to_value(&frame) {
                    for (k, v) in fields {
                        if k != "type" {
                            map.insert(k, v);
                        }
                    }
                }
            }
            (
                vec![channels.sync(user), channels.typed(user, Topic::Devices)],
                body,
            )
        }
        ControlEvent::Presence(devices) => (
            vec![channels.typed(user, Topic::Devices)],
            json!({
                "type": "presence",
                "origin": "baton",
                "user": user,
                "devices": devices,
            }),
        ),
    };
    Outbound {
        user: user.to_owned(),
        channels,
        body,
        store: false,
    }
}
