//! One test per refusal, the leeway edges, and the happy path.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use serde_json::json;

use super::{claims, pem_verifier, sign, KEY_A, KEY_B, NOW};
use crate::{AuthError, Scope};

fn code(result: Result<crate::Principal, AuthError>) -> &'static str {
    match result {
        Ok(p) => panic!("expected a refusal, got {p:?}"),
        Err(e) => e.code(),
    }
}

#[tokio::test]
async fn valid_token_yields_principal() {
    let v = pem_verifier().await;
    let p = v
        .verify_at(&sign(&claims(), KEY_A, None), NOW)
        .expect("valid");
    assert_eq!(p.user, "alice");
    assert_eq!(p.device.as_deref(), Some("phone"));
    assert!(p.scopes.contains(Scope::WriteWatchlist));
    assert!(!p.scopes.contains(Scope::PlaybackControl));
    assert_eq!(p.jti.as_deref(), Some("jti-1"));
    assert_eq!(p.expires_at, NOW + 3600);
    assert!(p.can_read_user("alice"));
    assert!(!p.can_read_user("bob"));
}

#[tokio::test]
async fn system_clock_verify_accepts_fresh_token() {
    let v = pem_verifier().await;
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .expect("clock after epoch")
        .as_secs();
    let mut c = claims();
    c["exp"] = json!(now + 60);
    assert!(v.verify(&sign(&c, KEY_A, None)).is_ok());
}

#[tokio::test]
async fn missing_token() {
    let v = pem_verifier().await;
    assert_eq!(code(v.verify_at("", NOW)), "missing_token");
    assert_eq!(code(v.verify_at("  ", NOW)), "missing_token");
}

#[tokio::test]
async fn malformed_token() {
    let v = pem_verifier().await;
    for token in ["abc", "a.b", "a.b.c.d", "!!!.e30.sig", "e30.e30.sig"] {
        assert_eq!(code(v.verify_at(token, NOW)), "malformed_token", "{token}");
    }
    let mut c = claims();
    c["exp"] = json!("tomorrow");
    assert_eq!(
        code(v.verify_at(&sign(&c, KEY_A, None), NOW)),
        "malformed_token"
    );
}

#[tokio::test]
async fn bad_signature() {
    let v = pem_verifier().await;
    assert_eq!(
        code(v.verify_at(&sign(&claims(), KEY_B, None), NOW)),
        "bad_signature"
    );
    // Swap in another payload under the original signature.
    let token = sign(&claims(), KEY_A, None);
    let mut parts: Vec<&str> = token.split('.').collect();
    let mut forged = claims();
    forged["sub"] = json!("mallory");
    let payload = URL_SAFE_NO_PAD.encode(forged.to_string());
    parts[1] = &payload;
    assert_eq!(code(v.verify_at(&parts.join("."), NOW)), "bad_signature");
}

#[tokio::test]
async fn expired_with_leeway_edge() {
    let v = pem_verifier().await;
    let leeway = v.config().leeway_secs;
    let token = sign(&claims(), KEY_A, None);
    let exp = NOW + 3600;
    assert!(v.verify_at(&token, exp).is_ok());
    assert!(
        v.verify_at(&token, exp + leeway).is_ok(),
        "last second of leeway"
    );
    assert_eq!(code(v.verify_at(&token, exp + leeway + 1)), "expired");
}

#[tokio::test]
async fn not_yet_valid_with_leeway_edge() {
    let v = pem_verifier().await;
    let leeway = v.config().leeway_secs;
    let mut c = claims();
    c["nbf"] = json!(NOW + 100);
    let token = sign(&c, KEY_A, None);
    assert_eq!(
        code(v.verify_at(&token, NOW + 100 - leeway - 1)),
        "not_yet_valid"
    );
    assert!(v.verify_at(&token, NOW + 100 - leeway).is_ok());
}

#[tokio::test]
async fn wrong_audience_and_issuer() {
    let v = pem_verifier().await;
    let mut c = claims();
    c["aud"] = json!("someone-else");
    assert_eq!(
        code(v.verify_at(&sign(&c, KEY_A, None), NOW)),
        "wrong_audience"
    );
    c["aud"] = json!(["someone-else", "baton"]);
    assert!(
        v.verify_at(&sign(&c, KEY_A, None), NOW).is_ok(),
        "array aud"
    );
    let mut c = claims();
    c["iss"] = json!("evil");
    assert_eq!(
        code(v.verify_at(&sign(&c, KEY_A, None), NOW)),
        "wrong_issuer"
    );
}

#[tokio::test]
async fn wrong_algorithm() {
    let v = pem_verifier().await;
    let hs = jsonwebtoken::encode(
        &Header::new(Algorithm::HS256),
        &claims(),
        &EncodingKey::from_secret(b"guessable"),
    )
    .expect("hs256 signs");
    assert_eq!(code(v.verify_at(&hs, NOW)), "wrong_algorithm");

    let header = URL_SAFE_NO_PAD.encode(r#"{"alg":"none","typ":"JWT"}"#);
    let payload = URL_SAFE_NO_PAD.encode(claims().to_string());
    let none = format!("{header}.{payload}.");
    match v.verify_at(&none, NOW) {
        Err(AuthError::WrongAlgorithm { found }) => assert_eq!(found, "none"),
        other => panic!("expected wrong_algorithm, got {other:?}"),
    }

    let key = EncodingKey::from_rsa_pem(KEY_A.as_bytes()).expect("fixture key");
    let rs512 =
        jsonwebtoken::encode(&Header::new(Algorithm::RS512), &claims(), &key).expect("signs");
    assert_eq!(code(v.verify_at(&rs512, NOW)), "wrong_algorithm");
}

#[tokio::test]
async fn missing_claims() {
    let v = pem_verifier().await;
    for claim in ["sub", "exp", "aud", "iss"] {
        let mut c = claims();
        c.as_object_mut().expect("object").remove(claim);
        match v.verify_at(&sign(&c, KEY_A, None), NOW) {
            Err(AuthError::MissingClaim(name)) => assert_eq!(name, claim),
            other => panic!("{claim}: expected missing_claim, got {other:?}"),
        }
    }
    let mut c = claims();
    c["sub"] = json!("");
    assert_eq!(
        code(v.verify_at(&sign(&c, KEY_A, None), NOW)),
        "missing_claim"
    );
}

#[tokio::test]
async fn invalid_identities_are_refused_with_invalid_identity() {
    let v = pem_verifier().await;
    let cases = [
        ("sub", json!("a\0b")),
        ("sub", json!("u".repeat(257))),
        ("sub", json!("new\nline")),
        ("device", json!("tv\0")),
        ("device", json!("d".repeat(129))),
        ("device", json!("~retired")),
        ("jti", json!("j".repeat(257))),
        ("jti", json!("")),
    ];
    for (claim, value) in cases {
        let mut c = claims();
        c[claim] = value.clone();
        match v.verify_at(&sign(&c, KEY_A, None), NOW) {
            Err(AuthError::InvalidIdentity { claim: named, .. }) => assert_eq!(named, claim),
            other => panic!("{claim}={value}: expected invalid_identity, got {other:?}"),
        }
    }
    let mut c = claims();
    c["sub"] = json!("u".repeat(256));
    c["device"] = json!("d".repeat(128));
    c["jti"] = json!("j".repeat(256));
    let p = v
        .verify_at(&sign(&c, KEY_A, None), NOW)
        .expect("identities at their bounds are accepted");
    assert_eq!((p.user.len(), p.device.map(|d| d.len())), (256, Some(128)));
    let mut c = claims();
    c["device"] = json!("u\0");
    let err = v
        .verify_at(&sign(&c, KEY_A, None), NOW)
        .expect_err("refused");
    assert!(
        !err.to_string().contains('\0'),
        "the value is not echoed: {err}"
    );
}

#[tokio::test]
async fn optional_claims_may_be_absent() {
    let v = pem_verifier().await;
    let mut c = claims();
    for claim in ["device", "scope", "jti", "iat"] {
        c.as_object_mut().expect("object").remove(claim);
    }
    let p = v
        .verify_at(&sign(&c, KEY_A, None), NOW)
        .expect("service-style token");
    assert_eq!(p.device, None);
    assert!(p.scopes.is_empty());
    assert_eq!(p.jti, None);
}

#[test]
fn error_codes_are_distinct() {
    let all = [
        AuthError::MissingToken,
        AuthError::MalformedToken(String::new()),
        AuthError::BadSignature,
        AuthError::Expired,
        AuthError::NotYetValid,
        AuthError::WrongAudience,
        AuthError::WrongIssuer,
        AuthError::WrongAlgorithm {
            found: String::new(),
        },
        AuthError::UnknownKey { kid: None },
        AuthError::MissingClaim("sub"),
        AuthError::InvalidIdentity {
            claim: "sub",
            rule: "",
        },
        AuthError::InvalidKey {
            origin: String::new(),
            reason: String::new(),
        },
        AuthError::KeyFile {
            path: "x".into(),
            source: std::io::Error::other("x"),
        },
        AuthError::JwksFetch {
            url: String::new(),
            reason: String::new(),
        },
        AuthError::UnknownScope(String::new()),
        AuthError::Signing(String::new()),
    ];
    let codes: std::collections::HashSet<_> = all.iter().map(AuthError::code).collect();
    assert_eq!(codes.len(), all.len());
    assert_eq!(all.iter().filter(|e| e.is_token_error()).count(), 11);
}
