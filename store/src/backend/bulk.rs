//! Shared bookkeeping of the bulk insert: multi-row `INSERT ... ON CONFLICT DO NOTHING
//! RETURNING` only says which keys were written, so duplicates inside one batch are
//! resolved here first (the first occurrence wins, as with row-by-row inserts).

use std::collections::HashSet;

use crate::LogEntry;

/// An entry with its key columns already converted for binding.
pub(crate) struct Row<'a> {
    pub(crate) entry: &'a LogEntry,
    pub(crate) version: i64,
    pub(crate) seq: i64,
}

/// The rows to send and, per input row, whether it is the first with its key.
pub(crate) struct Plan<'a> {
    pub(crate) unique: Vec<Row<'a>>,
    first: Vec<bool>,
}

/// Drops repeated `(user, version)` keys, keeping the first.
pub(crate) fn plan<'a>(rows: &[&'a LogEntry]) -> Result<Plan<'a>, sqlx::Error> {
    let mut seen = HashSet::with_capacity(rows.len());
    let mut plan = Plan {
        unique: Vec::with_capacity(rows.len()),
        first: Vec::with_capacity(rows.len()),
    };
    for &entry in rows {
        let (version, seq) = super::entry_keys(entry)?;
        let first = seen.insert((entry.user.as_str(), version));
        plan.first.push(first);
        if first {
            plan.unique.push(Row {
                entry,
                version,
                seq,
            });
        }
    }
    Ok(plan)
}

impl Plan<'_> {
    /// Per input row: written (true) or already present / repeated (false).
    pub(crate) fn outcomes(&self, rows: &[&LogEntry], written: &[(String, i64)]) -> Vec<bool> {
        let written: HashSet<(&str, i64)> = written.iter().map(|(u, v)| (u.as_str(), *v)).collect();
        rows.iter()
            .zip(&self.first)
            .map(|(e, &first)| {
                first
                    && super::entry_keys(e)
                        .is_ok_and(|(v, _)| written.contains(&(e.user.as_str(), v)))
            })
            .collect()
    }
}
