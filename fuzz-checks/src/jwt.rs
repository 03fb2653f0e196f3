//! Target `jwt`: token text through [`Verifier::verify_at`] (header peek,
//! algorithm and key choice, signature, claims), with fixed test keys and a
//! fixed clock.
//!
//! Input layout: the first byte picks the mode.
//! - `0`: the rest is token text, verified by an RS256 verifier trusting
//!   the test key of `transport/tests/fixtures` (the seeds are tokens that
//!   [`Minter`] signed with it).
//! - `1`: the rest is the claims JSON; the check signs it with a fixed
//!   Ed25519 key under a fixed header, so the fuzzer reaches the claims
//!   checks behind a valid signature.
//! - `2`: like `1`, but the header JSON is fuzzed too: header and claims
//!   are the rest split at its first NUL byte.
//!
//! Invariants: never a panic; every refusal is a token error code (the list
//! in PROTOCOL.md); an accepted token names a
//! non-empty user; a token correctly signed under the fixed header is never
//! refused for its signature, algorithm or key.

use std::sync::OnceLock;

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use baton_transport::auth::{AuthConfig, AuthError, KeySource, Minter, Verifier};
use jsonwebtoken::{Algorithm, EncodingKey};

/// The verifiers' fixed "now" (seconds since the epoch).
pub const NOW: u64 = 1_700_000_000;
/// Issuer the verifiers require.
pub const ISSUER: &str = "baton-fuzz";
/// Audience the verifiers require.
pub const AUDIENCE: &str = "baton";
/// The RSA test key pair (PKCS#8 private, SPKI public) of the transport tests.
pub const RSA_PRIVATE: &str = include_str!("../../transport/tests/fixtures/test_rsa.pem");
const RSA_PUBLIC: &str = include_str!("../../transport/tests/fixtures/test_rsa.pub.pem");
/// A fixed Ed25519 key pair, for fast signing of fuzzed claims.
const ED_PRIVATE: &str = include_str!("../fixtures/ed25519.pem");
const ED_PUBLIC: &str = include_str!("../fixtures/ed25519.pub.pem");
/// The header of mode-1 tokens.
const ED_HEADER: &str = r#"{"alg":"EdDSA","typ":"JWT","kid":"fuzz"}"#;

/// Every code a token refusal may carry.
const TOKEN_CODES: &[&str] = &[
    "missing_token",
    "malformed_token",
    "bad_signature",
    "expired",
    "not_yet_valid",
    "wrong_audience",
    "wrong_issuer",
    "wrong_algorithm",
    "unknown_key",
    "missing_claim",
];

/// Checks one input.
pub fn check(data: &[u8]) {
    let Some((&mode, rest)) = data.split_first() else {
        return;
    };
    match mode % 3 {
        0 => {
            if let Ok(token) = std::str::from_utf8(rest) {
                check_rsa_token(token);
            }
        }
        1 => {
            let token = sign_ed(ED_HEADER.as_bytes(), rest);
            if let Err(err) = verify(&verifiers().ed, &token) {
                assert!(
                    !matches!(
                        err,
                        AuthError::BadSignature
                            | AuthError::WrongAlgorithm { .. }
                            | AuthError::UnknownKey { .. }
                            | AuthError::MissingToken
                    ),
                    "a correctly signed token was refused: {err:?}"
                );
            }
        }
        _ => {
            let (header, claims) = match rest.iter().position(|&b| b == 0) {
                Some(at) => (&rest[..at], &rest[at + 1..]),
                None => (rest, &b""[..]),
            };
            let _ = verify(&verifiers().ed, &sign_ed(header, claims));
        }
    }
}

/// Verifies at [`NOW`] and checks the outcome's invariants.
fn verify(verifier: &Verifier, token: &str) -> Result<(), AuthError> {
    match verifier.verify_at(token, NOW) {
        Ok(principal) => {
            assert!(
                !principal.user.is_empty(),
                "accepted a token without a user"
            );
            Ok(())
        }
        Err(err) => {
            assert!(
                TOKEN_CODES.contains(&err.code()),
                "token refusal with a code outside the token codes: {err:?}"
            );
            Err(err)
        }
    }
}

/// `header.claims.signature` with the fixed Ed25519 key.
fn sign_ed(header: &[u8], claims: &[u8]) -> String {
    let message = format!(
        "{}.{}",
        URL_SAFE_NO_PAD.encode(header),
        URL_SAFE_NO_PAD.encode(claims)
    );
    let signature =
        jsonwebtoken::crypto::sign(message.as_bytes(), &verifiers().ed_key, Algorithm::EdDSA)
            .unwrap_or_else(|e| panic!("Ed25519 signing: {e}"));
    format!("{message}.{signature}")
}

/// The RSA minter over the test key: the dev minter's code with a fixed key.
pub fn minter() -> Minter {
    Minter::from_private_pem(RSA_PRIVATE, ISSUER, AUDIENCE)
        .unwrap_or_else(|e| panic!("test key mints: {e}"))
}

struct Verifiers {
    rsa: Verifier,
    ed: Verifier,
    ed_key: EncodingKey,
}

fn verifiers() -> &'static Verifiers {
    static VERIFIERS: OnceLock<Verifiers> = OnceLock::new();
    VERIFIERS.get_or_init(|| {
        let rsa = AuthConfig::new(
            ISSUER,
            AUDIENCE,
            KeySource::Pem {
                public_pem: RSA_PUBLIC.to_owned(),
            },
        );
        let mut ed = AuthConfig::new(
            ISSUER,
            AUDIENCE,
            KeySource::Pem {
                public_pem: ED_PUBLIC.to_owned(),
            },
        );
        ed.algorithm = Algorithm::EdDSA;
        Verifiers {
            rsa: build(rsa),
            ed: build(ed),
            ed_key: EncodingKey::from_ed_pem(ED_PRIVATE.as_bytes())
                .unwrap_or_else(|e| panic!("Ed25519 fixture key: {e}")),
        }
    })
}

/// Mode 0 for one token: the RS256 verifier and its invariants (the
/// envelope target checks its envelopes' tokens with it).
pub fn check_rsa_token(token: &str) {
    let _ = verify(&verifiers().rsa, token);
}

/// A PEM verifier does no I/O; a current-thread runtime drives its constructor.
fn build(cfg: AuthConfig) -> Verifier {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .build()
        .unwrap_or_else(|e| panic!("runtime: {e}"));
    runtime
        .block_on(Verifier::new(cfg))
        .unwrap_or_else(|e| panic!("verifier: {e}"))
}
