//! The core's lease precedence and its refusal of bad frames, frame by frame.

use baton_client::{Action, ClientError, Core, DeviceHello, Event, LeaseView};

fn core() -> Core {
    Core::new(
        "tv",
        DeviceHello {
            kind: "tv".into(),
            name: "tv".into(),
            capabilities: Vec::new(),
        },
    )
}

const WELCOME: &str = r#"{"type":"welcome","protocol":1,"session":"1","user":"u","device":"tv","version":4,"vv":{},"next_seq":1,"hlc_id":"1f","server_time":"7576751806873600000/2a","resume":"deltas","reset":false,"lease":{"holder":"phone","token":3},"limits":{"max_message_bytes":65536,"rate_limit_events":100,"rate_limit_window_secs":60,"max_inflight_ops":64,"heartbeat_interval_secs":10,"heartbeat_timeout_secs":300,"max_name_bytes":64,"max_kind_bytes":32,"max_capabilities":16,"max_capability_bytes":32,"max_request_id_bytes":64,"handoffs_per_minute":30,"resyncs_per_minute":6,"heartbeats_per_minute":30,"interactions_per_minute":60,"a_future_limit":7},"a_future_field":true}"#;

fn lease(c: &Core) -> LeaseView {
    c.lease().clone()
}

#[test]
fn lease_frames_older_than_the_known_token_are_ignored() {
    let mut c = core();
    c.handle_text(WELCOME, 0)
        .expect("welcome (unknown fields ignored)");
    assert_eq!(lease(&c).token, 3);
    let out = c
        .handle_text(r#"{"type":"lease","holder":"web","token":2}"#, 0)
        .expect("lease");
    assert!(out.events.is_empty(), "a stale lease frame changes nothing");
    assert_eq!(lease(&c).holder.as_deref(), Some("phone"));
    c.handle_text(r#"{"type":"lease","holder":null,"token":3}"#, 0)
        .expect("release keeps the token");
    assert_eq!(
        lease(&c),
        LeaseView {
            holder: None,
            token: 3
        }
    );
    let out = c
        .handle_text(
            r#"{"type":"playback_control","request_id":"h","from":"phone","content":"movie:1","position_ms":5,"lease":4}"#,
            0,
        )
        .expect("control");
    assert!(out
        .events
        .iter()
        .any(|e| matches!(e, Event::PlaybackControl { lease: 4, .. })));
    assert_eq!(lease(&c).holder.as_deref(), Some("tv"));
}

#[test]
fn a_gap_in_the_deltas_asks_for_a_new_session() {
    let mut c = core();
    c.handle_text(WELCOME, 0).expect("welcome");
    let out = c
        .handle_text(
            r#"{"type":"delta","device":"phone","seq":2,"version":5,"at_ms":1,"op":{"kind":"watchlist_add","content":"a:1","added_at_ms":1}}"#,
            0,
        )
        .expect("delta");
    assert_eq!(out.action, Some(Action::Reconnect));
    assert!(c.replica().view().watchlist.is_empty(), "nothing applied");
}

#[test]
fn unreadable_frames_are_typed_errors_and_change_nothing() {
    let mut c = core();
    for bad in ["{", r#"{"type":"nope"}"#, r#"{"type":"ack","seq":"x"}"#] {
        assert!(
            matches!(c.handle_text(bad, 0), Err(ClientError::Decode(_))),
            "{bad}"
        );
    }
    c.handle_text(WELCOME, 0).expect("welcome");
    let err = c.handle_text(
        r#"{"type":"snapshot_chunk","version":9,"index":0,"total":1,"data":"{\"format\":7}"}"#,
        0,
    );
    assert!(matches!(err, Err(ClientError::Replica(_))), "{err:?}");
    assert_eq!(c.replica().version(), 0);
}
