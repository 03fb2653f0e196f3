//! [`OrSet`] taken apart and rebuilt from its parts (live dots and causal
//! context), for snapshot formats. Rebuilding re-validates: input may be
//! hand-made.

use super::{EntryMeta, OrSet};
use crate::{CausalContext, Dot};

impl<T: Ord + Clone> OrSet<T> {
    /// Items in order, each with all its live dots in dot order.
    pub fn entries(&self) -> impl Iterator<Item = (&T, Vec<(&Dot, &EntryMeta)>)> + '_ {
        self.entries
            .iter()
            .map(|(item, dots)| (item, dots.iter().collect()))
    }

    /// The set whose causal context is `ctx` and whose live dots are `dots`.
    /// Keeps the invariants "live dots are in the context" (a dot missing
    /// from `ctx` is added to it) and "a dot belongs to one item" (a dot
    /// listed again, under any item, is ignored).
    pub fn from_parts(
        ctx: CausalContext,
        dots: impl IntoIterator<Item = (T, Dot, EntryMeta)>,
    ) -> Self {
        let mut s = OrSet {
            ctx,
            ..OrSet::default()
        };
        for (item, dot, meta) in dots {
            if !s.index.contains_key(&dot) {
                s.insert_dot(item, dot, meta);
            }
        }
        s
    }
}
