//! Scope parsing and principal rights.

use crate::{Principal, Scope, Scopes};

#[test]
fn parse_ignores_unknown_names_and_extra_spaces() {
    let s = Scopes::parse("  read:watchlist bogus:scope  service:read\twrite:preferences ");
    assert!(s.contains(Scope::ReadWatchlist));
    assert!(s.contains(Scope::ServiceRead));
    assert!(s.contains(Scope::WritePreferences));
    assert!(!s.contains(Scope::WriteWatchlist));
    assert_eq!(s.iter().count(), 3);
    assert!(Scopes::parse("").is_empty());
}

#[test]
fn wire_names_round_trip() {
    for scope in Scope::ALL {
        assert_eq!(scope.as_str().parse::<Scope>().expect("known"), scope);
    }
    assert_eq!(
        "read:everything".parse::<Scope>().map_err(|e| e.code()),
        Err("unknown_scope")
    );
    let all: Scopes = Scope::DEVICE.into_iter().collect();
    assert_eq!(
        all.to_string(),
        "read:watchlist write:watchlist read:preferences write:preferences playback:control"
    );
    assert_eq!(Scopes::parse(&all.to_string()), all);
}

#[test]
fn service_read_may_read_any_user() {
    let service = Principal {
        user: "indexer".into(),
        device: None,
        scopes: Scopes::from(&[Scope::ServiceRead][..]),
        jti: None,
        expires_at: 0,
        issued_at: None,
    };
    assert!(service.can_read_user("alice"));
    let device = Principal {
        scopes: Scopes::from(&Scope::DEVICE[..]),
        ..service
    };
    assert!(device.can_read_user("indexer"));
    assert!(!device.can_read_user("alice"));
}
