//! Minted development tokens verify and carry what was asked.

use std::time::Duration;

use super::{pem_verifier, AUDIENCE, ISSUER, KEY_A, NOW, PUB_A};
use crate::{Minter, Scope};

#[tokio::test]
async fn minted_token_round_trips() {
    let minter = Minter::from_private_pem(KEY_A, ISSUER, AUDIENCE).expect("minter");
    let token = minter
        .mint(
            "alice",
            Some("tv"),
            &Scope::DEVICE,
            Duration::from_secs(3600),
            NOW,
        )
        .expect("mints");
    let header = jsonwebtoken::decode_header(&token).expect("header");
    assert_eq!(header.kid.as_deref(), Some(Minter::KID));
    let p = pem_verifier()
        .await
        .verify_at(&token, NOW + 10)
        .expect("verifies");
    assert_eq!(p.user, "alice");
    assert_eq!(p.device.as_deref(), Some("tv"));
    assert_eq!(p.expires_at, NOW + 3600);
    assert!(Scope::DEVICE.iter().all(|s| p.scopes.contains(*s)));
    assert!(!p.scopes.contains(Scope::ServiceRead));
    let jti = p.jti.expect("jti set");
    assert_eq!(jti.len(), 36, "uuid v4: {jti}");

    let again = minter
        .mint(
            "alice",
            Some("tv"),
            &Scope::DEVICE,
            Duration::from_secs(3600),
            NOW,
        )
        .expect("mints");
    let p2 = pem_verifier()
        .await
        .verify_at(&again, NOW)
        .expect("verifies");
    assert_ne!(p2.jti.as_deref(), Some(jti.as_str()), "jti is random");
}

#[tokio::test]
async fn service_token_has_no_device() {
    let minter = Minter::from_private_pem(KEY_A, ISSUER, AUDIENCE).expect("minter");
    let token = minter
        .mint(
            "indexer",
            None,
            &[Scope::ServiceRead],
            Duration::from_secs(60),
            NOW,
        )
        .expect("mints");
    let p = pem_verifier()
        .await
        .verify_at(&token, NOW)
        .expect("verifies");
    assert_eq!(p.device, None);
    assert!(p.can_read_user("anyone"));
}

#[test]
fn minter_rejects_public_key_and_empty_user() {
    assert_eq!(
        Minter::from_private_pem(PUB_A, ISSUER, AUDIENCE)
            .map(|_| ())
            .map_err(|e| e.code()),
        Err("invalid_key")
    );
    let minter = Minter::from_private_pem(KEY_A, ISSUER, AUDIENCE).expect("minter");
    let err = minter
        .mint("", None, &[], Duration::from_secs(1), NOW)
        .map_err(|e| e.code());
    assert_eq!(err, Err("missing_claim"));
}
