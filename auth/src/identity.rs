//! The identities a token names (`sub`, `device`, `jti`) and a REST path
//! names (`{user}`), checked once at admission so that nothing invalid ever
//! reaches a session, an actor or the store.
//!
//! - user: 1..=[`MAX_USER_BYTES`] bytes of visible ASCII (`!`..=`~`). OpenID
//!   Connect already requires `sub` to be ASCII; the bound is the store's.
//! - device: 1..=[`MAX_DEVICE_BYTES`] bytes, no control character, not
//!   starting with `~` (replica ids the CRDT reserves).
//! - jti: 1..=[`MAX_JTI_BYTES`] bytes of visible ASCII (token ids are
//!   UUIDs or base64url in practice; ASCII keeps the byte and character
//!   bounds one, as the OpenAPI `pattern` says).
//!
//! A refusal names the claim and the rule, never the value.

/// Longest user id, in bytes: the store's bound (`baton_store::MAX_USER_LEN`;
/// `baton-transport` asserts at compile time that the two agree, so this
/// crate need not depend on the store).
pub const MAX_USER_BYTES: usize = 256;
/// Longest device id, in bytes (the CRDT's bound).
pub const MAX_DEVICE_BYTES: usize = baton_crdt::MAX_DEVICE_ID_LEN;
/// Longest token id, in bytes.
pub const MAX_JTI_BYTES: usize = 256;

/// The rule a user id must follow, as said in error messages.
pub const USER_RULE: &str = "1..=256 bytes of visible ASCII (! to ~)";
/// The rule a device id must follow.
pub const DEVICE_RULE: &str = "1..=128 bytes, no control characters, not starting with '~'";
/// The rule a token id must follow.
pub const JTI_RULE: &str = "1..=256 bytes of visible ASCII (! to ~)";

/// Whether `user` is a valid user id.
pub fn valid_user(user: &str) -> bool {
    (1..=MAX_USER_BYTES).contains(&user.len()) && user.bytes().all(|b| b.is_ascii_graphic())
}

/// Whether `device` is a valid device id.
pub fn valid_device(device: &str) -> bool {
    (1..=MAX_DEVICE_BYTES).contains(&device.len())
        && !device.starts_with('~')
        && !device.chars().any(char::is_control)
}

/// Whether `jti` is a valid token id.
pub fn valid_jti(jti: &str) -> bool {
    (1..=MAX_JTI_BYTES).contains(&jti.len()) && jti.bytes().all(|b| b.is_ascii_graphic())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn user_edges() {
        assert!(valid_user("alice"));
        assert!(valid_user("auth0|5f7c8ec7c33c6c004bbafe82"));
        assert!(valid_user(&"u".repeat(MAX_USER_BYTES)));
        assert!(!valid_user(&"u".repeat(MAX_USER_BYTES + 1)));
        for bad in ["", "a\0b", "a b", "tab\t", "del\u{7f}", "é", "line\n"] {
            assert!(!valid_user(bad), "{bad:?}");
        }
    }

    #[test]
    fn device_edges() {
        assert!(valid_device("tv"));
        assert!(valid_device("Pixel 8 (Küche)"));
        assert!(valid_device(&"d".repeat(MAX_DEVICE_BYTES)));
        assert!(!valid_device(&"d".repeat(MAX_DEVICE_BYTES + 1)));
        for bad in ["", "~retired", "nul\0", "bell\u{7}", "c1\u{85}"] {
            assert!(!valid_device(bad), "{bad:?}");
        }
    }

    #[test]
    fn jti_edges() {
        assert!(valid_jti("jti-1"));
        assert!(valid_jti(&"j".repeat(MAX_JTI_BYTES)));
        assert!(!valid_jti(&"j".repeat(MAX_JTI_BYTES + 1)));
        assert!(!valid_jti(""));
        assert!(!valid_jti("a\0"));
        assert!(!valid_jti("a b"));
    }
}
