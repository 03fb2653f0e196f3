//! Key selection from a JWKS file.

use std::io::Write as _;

use serde_json::json;

use super::{claims, config, sign, JWKS_AB, KEY_A, KEY_B, NOW};
use crate::{AuthError, KeySource, Verifier};

fn jwks_file(contents: &str) -> tempfile::NamedTempFile {
    let mut file = tempfile::NamedTempFile::new().expect("temp file");
    file.write_all(contents.as_bytes()).expect("write jwks");
    file
}

async fn verifier(file: &tempfile::NamedTempFile) -> Result<Verifier, AuthError> {
    Verifier::new(config(KeySource::JwksFile(file.path().to_owned()))).await
}

#[tokio::test]
async fn two_keys_select_by_kid() {
    let file = jwks_file(JWKS_AB);
    let v = verifier(&file).await.expect("jwks loads");
    assert!(v.verify_at(&sign(&claims(), KEY_A, Some("a")), NOW).is_ok());
    assert!(v.verify_at(&sign(&claims(), KEY_B, Some("b")), NOW).is_ok());
    let wrong = v.verify_at(&sign(&claims(), KEY_B, Some("a")), NOW);
    assert_eq!(wrong.map_err(|e| e.code()).err(), Some("bad_signature"));
}

#[tokio::test]
async fn unknown_or_ambiguous_kid_is_unknown_key() {
    let file = jwks_file(JWKS_AB);
    let v = verifier(&file).await.expect("jwks loads");
    match v.verify_at(&sign(&claims(), KEY_A, Some("zzz")), NOW) {
        Err(AuthError::UnknownKey { kid }) => assert_eq!(kid.as_deref(), Some("zzz")),
        other => panic!("expected unknown_key, got {other:?}"),
    }
    let no_kid = v.verify_at(&sign(&claims(), KEY_A, None), NOW);
    assert_eq!(no_kid.map_err(|e| e.code()).err(), Some("unknown_key"));
}

#[tokio::test]
async fn single_key_set_accepts_token_without_kid() {
    let mut jwks: serde_json::Value = serde_json::from_str(JWKS_AB).expect("fixture json");
    jwks["keys"].as_array_mut().expect("keys").truncate(1);
    let file = jwks_file(&jwks.to_string());
    let v = verifier(&file).await.expect("jwks loads");
    assert!(v.verify_at(&sign(&claims(), KEY_A, None), NOW).is_ok());
}

#[tokio::test]
async fn unusable_entries_are_skipped_and_empty_set_refused() {
    let mut jwks: serde_json::Value = serde_json::from_str(JWKS_AB).expect("fixture json");
    let keys = jwks["keys"].as_array_mut().expect("keys");
    keys.push(json!({"kty": "oct", "kid": "hmac", "k": "c2VjcmV0"}));
    keys.push(json!({"kty": "weird", "kid": "w"}));
    keys[1]["use"] = json!("enc");
    let file = jwks_file(&jwks.to_string());
    let v = verifier(&file).await.expect("usable keys remain");
    assert!(v.verify_at(&sign(&claims(), KEY_A, Some("a")), NOW).is_ok());
    let b = v.verify_at(&sign(&claims(), KEY_B, Some("b")), NOW);
    assert_eq!(
        b.map_err(|e| e.code()).err(),
        Some("unknown_key"),
        "enc key skipped"
    );

    let empty = jwks_file(r#"{"keys": []}"#);
    assert_eq!(
        verifier(&empty).await.map_err(|e| e.code()).err(),
        Some("invalid_key")
    );
    let missing = Verifier::new(config(KeySource::JwksFile("/nonexistent/jwks.json".into()))).await;
    assert_eq!(
        missing.map_err(|e| e.code()).err(),
        Some("key_file_unreadable")
    );
}
