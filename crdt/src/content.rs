//! `ContentId`: a validated catalogue identifier.

use crate::CrdtError;
use serde::{Deserialize, Serialize};
use std::borrow::Borrow;
use std::fmt;

/// Longest accepted content id, in bytes.
pub const MAX_CONTENT_ID_LEN: usize = 128;

/// A content id: 1..=128 bytes of `[A-Za-z0-9:._-]`, e.g. `movie:tt0111161`.
///
/// The only ways to build one ([`ContentId::parse`], `TryFrom`, serde) all
/// validate, so holding a `ContentId` proves it is well-formed.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct ContentId(String);

impl ContentId {
    /// Validates `s`; `CrdtError::InvalidContentId` says why it is refused.
    pub fn parse(s: &str) -> Result<Self, CrdtError> {
        validate(s)?;
        Ok(ContentId(s.to_owned()))
    }

    /// The id as text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

fn validate(s: &str) -> Result<(), CrdtError> {
    let fail = |reason: String| Err(CrdtError::InvalidContentId { reason });
    if s.is_empty() {
        return fail("empty".into());
    }
    if s.len() > MAX_CONTENT_ID_LEN {
        return fail(format!("{} bytes, at most {MAX_CONTENT_ID_LEN}", s.len()));
    }
    if let Some(c) = s
        .chars()
        .find(|c| !(c.is_ascii_alphanumeric() || matches!(c, ':' | '.' | '_' | '-')))
    {
        return fail(format!("character {c:?} not in [A-Za-z0-9:._-]"));
    }
    Ok(())
}

impl TryFrom<String> for ContentId {
    type Error = CrdtError;
    fn try_from(s: String) -> Result<Self, CrdtError> {
        validate(&s)?;
        Ok(ContentId(s))
    }
}

impl TryFrom<&str> for ContentId {
    type Error = CrdtError;
    fn try_from(s: &str) -> Result<Self, CrdtError> {
        ContentId::parse(s)
    }
}

impl From<ContentId> for String {
    fn from(c: ContentId) -> String {
        c.0
    }
}

impl Borrow<str> for ContentId {
    fn borrow(&self) -> &str {
        &self.0
    }
}

impl AsRef<str> for ContentId {
    fn as_ref(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for ContentId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn accepts_and_rejects() {
        assert!(ContentId::parse("movie:tt0111161").is_ok());
        assert!(ContentId::parse("a.b_c-D9").is_ok());
        assert!(ContentId::parse(&"x".repeat(128)).is_ok());
        for bad in ["", "a b", "é", "a/b", "~x"] {
            let e = ContentId::parse(bad).unwrap_err();
            assert_eq!(e.code(), "invalid_content_id", "{bad:?}");
        }
        assert!(ContentId::parse(&"x".repeat(129)).is_err());
        assert!(serde_json::from_str::<ContentId>("\"a b\"").is_err());
    }
}
