//! Unit tests of the auth module. Keys are the test-only fixtures in
//! `transport/tests/fixtures/` (generated once with openssl).

mod errors;
mod extract;
mod jwks_file;
mod jwks_url;
mod minting;
mod scopes;

use jsonwebtoken::{Algorithm, EncodingKey, Header};
use serde_json::{json, Value};

use super::{AuthConfig, KeySource, Verifier};

pub(super) const KEY_A: &str = include_str!(concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/../transport/tests/fixtures/test_rsa.pem"
));
pub(super) const PUB_A: &str = include_str!(concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/../transport/tests/fixtures/test_rsa.pub.pem"
));
pub(super) const KEY_B: &str = include_str!(concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/../transport/tests/fixtures/test_rsa_b.pem"
));
pub(super) const JWKS_AB: &str = include_str!(concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/../transport/tests/fixtures/jwks_ab.json"
));

/// A fixed "now" for `verify_at`.
pub(super) const NOW: u64 = 1_700_000_000;
pub(super) const ISSUER: &str = "baton-test";
pub(super) const AUDIENCE: &str = "baton";

/// Claims of a valid device token at [`NOW`].
pub(super) fn claims() -> Value {
    json!({
        "sub": "alice",
        "device": "phone",
        "scope": "read:watchlist write:watchlist",
        "aud": AUDIENCE,
        "iss": ISSUER,
        "iat": NOW,
        "exp": NOW + 3600,
        "jti": "jti-1",
    })
}

/// Signs `claims` with RS256 and `kid`.
pub(super) fn sign(claims: &Value, private_pem: &str, kid: Option<&str>) -> String {
    let mut header = Header::new(Algorithm::RS256);
    header.kid = kid.map(str::to_owned);
    let key = EncodingKey::from_rsa_pem(private_pem.as_bytes()).expect("fixture key parses");
    jsonwebtoken::encode(&header, claims, &key).expect("signing works")
}

pub(super) fn config(keys: KeySource) -> AuthConfig {
    AuthConfig::new(ISSUER, AUDIENCE, keys)
}

/// A verifier trusting key A only.
pub(super) async fn pem_verifier() -> Verifier {
    Verifier::new(config(KeySource::Pem {
        public_pem: PUB_A.to_owned(),
    }))
    .await
    .expect("PEM verifier builds")
}
