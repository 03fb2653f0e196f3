//! Control records: the server's own changes (registration, lease moves and
//! releases, retirement) are log versions, replay rebuilds them, and the lease
//! token never repeats or goes backwards.

use baton_crdt::{Control, DeviceInfo, Lease, LoggedControl, UserDoc};

fn info(kind: &str, name: &str) -> DeviceInfo {
    DeviceInfo {
        kind: kind.into(),
        name: name.into(),
        capabilities: vec!["playback".into()],
        first_seen_ms: 10,
        last_seen_ms: 10,
    }
}

fn apply(doc: &mut UserDoc, change: &Control) -> LoggedControl {
    doc.apply_control(change, 1_000).expect("control applies")
}

#[test]
fn registration_is_logged_only_when_the_description_changes() {
    let mut doc = UserDoc::new();
    let reg = doc
        .registration("tv", info("tv", "Living room"))
        .expect("new device");
    let logged = apply(&mut doc, &reg);
    assert_eq!(logged.version, 1);
    assert!(doc.is_known("tv"));
    // Same description, other presence times: nothing to log.
    let mut seen_later = info("tv", "Living room");
    seen_later.last_seen_ms = 99;
    assert_eq!(doc.registration("tv", seen_later), None);
    // A renamed device is a new record.
    assert!(doc.registration("tv", info("tv", "Bedroom")).is_some());
    // Reserved ids never register.
    let bad = Control::RegisterDevice {
        device: "~server".into(),
        info: info("tv", "x"),
    };
    assert!(doc.apply_control(&bad, 0).is_err());
    assert_eq!(doc.version(), 1, "a refused record changes nothing");
}

#[test]
fn lease_tokens_only_grow_through_moves_and_releases() {
    let mut doc = UserDoc::new();
    let first = doc.lease_move_to("tv");
    apply(&mut doc, &first);
    assert_eq!(
        doc.lease(),
        Some(&Lease {
            device: "tv".into(),
            token: 1
        })
    );
    // Replaying the same move again (a token that does not grow) is refused.
    assert!(doc.apply_control(&first, 0).is_err());
    let release = doc.lease_release_by("tv").expect("tv holds it");
    assert_eq!(doc.lease_release_by("phone"), None);
    apply(&mut doc, &release);
    assert_eq!(doc.lease(), None);
    assert_eq!(doc.lease_token(), 1, "a release keeps the token");
    let second = doc.lease_move_to("phone");
    assert_eq!(
        second,
        Control::LeaseMove {
            to: "phone".into(),
            token: 2
        }
    );
    apply(&mut doc, &second);
    assert_eq!(doc.lease_token(), 2);
}

#[test]
fn replaying_the_records_rebuilds_the_document() {
    let mut live = UserDoc::new();
    let mut log = Vec::new();
    for change in [
        live.registration("tv", info("tv", "TV")),
        live.registration("phone", info("mobile", "Phone")),
    ]
    .into_iter()
    .flatten()
    {
        log.push(apply(&mut live, &change));
    }
    let moves = [
        live.lease_move_to("tv"),
        Control::LeaseRelease {
            device: "tv".into(),
        },
    ];
    for change in moves {
        log.push(apply(&mut live, &change));
    }
    let to_phone = live.lease_move_to("phone");
    log.push(apply(&mut live, &to_phone));
    let stale = live.stale_devices(1_000_000, 1, &["phone"]);
    assert_eq!(stale, vec!["tv".to_string()]);
    log.push(apply(&mut live, &Control::RetireDevices { devices: stale }));

    // Through the JSON the log stores.
    let mut replayed = UserDoc::new();
    for rec in &log {
        let bytes = serde_json::to_vec(&rec.change).expect("encode");
        let change: Control = serde_json::from_slice(&bytes).expect("decode");
        let again = replayed.apply_control(&change, rec.at_ms).expect("replay");
        assert_eq!(again.version, rec.version);
    }
    assert_eq!(replayed, live);
    assert!(!replayed.is_known("tv"));
    assert_eq!(replayed.lease_token(), 2);
}

#[test]
fn unknown_fields_and_kinds_are_refused() {
    for text in [
        r#"{"kind":"lease_move","to":"tv","token":1,"extra":1}"#,
        r#"{"kind":"format_disk"}"#,
        r#"{"kind":"lease_release"}"#,
    ] {
        assert!(serde_json::from_str::<Control>(text).is_err(), "{text}");
    }
}
