//! Input checks done before anything reaches the database (so bad input writes nothing).

use crate::{LogEntry, StoreError};

/// Longest accepted user id, in bytes.
pub const MAX_USER_LEN: usize = 256;

/// A user id must be non-empty, at most [`MAX_USER_LEN`] bytes and free of NUL bytes
/// (Postgres text cannot hold NUL).
pub(crate) fn user(user: &str) -> Result<(), StoreError> {
    if user.is_empty() {
        return Err(StoreError::invalid("user", "user id is empty"));
    }
    if user.len() > MAX_USER_LEN {
        return Err(StoreError::invalid(
            "user",
            format!("user id is {} bytes, limit {MAX_USER_LEN}", user.len()),
        ));
    }
    no_nul("user", user)
}

/// Checks every field of an entry that the database could not store faithfully.
pub(crate) fn entry(e: &LogEntry) -> Result<(), StoreError> {
    user(&e.user)?;
    if e.version == 0 {
        return Err(StoreError::invalid("version", "log versions start at 1"));
    }
    to_i64("version", e.version)?;
    to_i64("seq", e.seq)?;
    no_nul("device", &e.device)
}

/// The entries of a claimed append: each valid, all of one user, and a storable epoch.
pub(crate) fn claimed(entries: &[LogEntry], epoch: u64) -> Result<(), StoreError> {
    entries.iter().try_for_each(entry)?;
    if entries.iter().any(|e| e.user != entries[0].user) {
        return Err(StoreError::invalid(
            "entries",
            "a claimed append holds entries of one user",
        ));
    }
    to_i64("epoch", epoch)?;
    Ok(())
}

/// Converts a u64 for storage as BIGINT, rejecting values above `i64::MAX`.
pub(crate) fn to_i64(field: &'static str, v: u64) -> Result<i64, StoreError> {
    i64::try_from(v).map_err(|_| {
        StoreError::invalid(
            field,
            format!("{v} exceeds the storable maximum {}", i64::MAX),
        )
    })
}

/// Converts a u64 query bound to i64, saturating: no stored version exceeds `i64::MAX`.
pub(crate) fn saturating_i64(v: u64) -> i64 {
    i64::try_from(v).unwrap_or(i64::MAX)
}

fn no_nul(field: &'static str, s: &str) -> Result<(), StoreError> {
    if s.contains('\0') {
        return Err(StoreError::invalid(field, "contains a NUL byte"));
    }
    Ok(())
}
