//! Snapshot form of [`OrSet`]: a list instead of maps keyed by dots (JSON
//! keys must be strings), re-validated on the way in.

use super::{EntryMeta, OrSet};
use crate::{CausalContext, Dot};
use serde::{Deserialize, Serialize};

/// Snapshot form: `{"entries": [[item, [[dot, meta], ...]], ...], "ctx": ...}`.
#[derive(Serialize, Deserialize)]
pub(super) struct OrSetRepr<T> {
    entries: Vec<(T, Vec<(Dot, EntryMeta)>)>,
    ctx: CausalContext,
}

impl<T: Ord + Clone> From<OrSet<T>> for OrSetRepr<T> {
    fn from(s: OrSet<T>) -> Self {
        OrSetRepr {
            entries: s
                .entries
                .into_iter()
                .map(|(i, d)| (i, d.into_iter().collect()))
                .collect(),
            ctx: s.ctx,
        }
    }
}

impl<T: Ord + Clone> From<OrSetRepr<T>> for OrSet<T> {
    /// Rebuilds the index; keeps the invariant "live dots are in the
    /// context" and "a dot belongs to one item" even for hand-made input.
    fn from(r: OrSetRepr<T>) -> Self {
        let mut s = OrSet {
            ctx: r.ctx,
            ..OrSet::default()
        };
        for (item, dots) in r.entries {
            for (d, m) in dots {
                if !s.index.contains_key(&d) {
                    s.insert_dot(item.clone(), d, m);
                }
            }
        }
        s
    }
}
