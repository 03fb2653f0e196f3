//! `OrSet<T>`: add-wins observed-remove set with dots (ORSWOT-like), as a
//! delta-state CRDT.
//!
//! State = live dots per item + causal context (every dot ever seen). A dot
//! that is in the context but no longer live was removed; removal leaves no
//! per-item tombstone, only the per-device context. Mutators return a delta,
//! which is itself an `OrSet` (so `OrSetDelta<T> = OrSet<T>`) and is joined
//! with the same `join` as full states.

mod repr;

use crate::{CausalContext, Dot};
use std::borrow::Borrow;
use std::collections::BTreeMap;

/// Per-dot metadata of an add. The adding device is the dot's device.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct EntryMeta {
    /// Wall time of the add, as reported by the device.
    pub added_at_ms: u64,
}

/// A delta of an [`OrSet`]; deltas are small states of the same lattice.
pub type OrSetDelta<T> = OrSet<T>;

/// Add-wins observed-remove set. It has no serde form of its own: snapshot
/// formats (`user/snapshot/`) lay it out explicitly through
/// [`OrSet::entries`] and [`OrSet::from_parts`].
#[derive(Debug, Clone)]
pub struct OrSet<T: Ord + Clone> {
    entries: BTreeMap<T, BTreeMap<Dot, EntryMeta>>,
    /// Reverse index dot -> item, so small deltas join in O(k log n).
    index: BTreeMap<Dot, T>,
    ctx: CausalContext,
}

impl<T: Ord + Clone> Default for OrSet<T> {
    fn default() -> Self {
        OrSet {
            entries: BTreeMap::new(),
            index: BTreeMap::new(),
            ctx: CausalContext::new(),
        }
    }
}

impl<T: Ord + Clone> PartialEq for OrSet<T> {
    /// `index` is derived from `entries`, so comparing it adds nothing.
    fn eq(&self, other: &Self) -> bool {
        self.entries == other.entries && self.ctx == other.ctx
    }
}
impl<T: Ord + Clone> Eq for OrSet<T> {}

impl<T: Ord + Clone> OrSet<T> {
    /// The empty set.
    pub fn new() -> Self {
        Self::default()
    }

    /// Delta mutator: adds `item` under the fresh `dot`, superseding the
    /// `observed` dots of this item. Applies the delta and returns it.
    /// Observed dots that are not live dots of `item` are ignored.
    pub fn add(&mut self, item: T, dot: Dot, meta: EntryMeta, observed: &[Dot]) -> OrSetDelta<T> {
        let mut delta = OrSet::new();
        delta.ctx = self.own_dots(&item, observed).collect();
        delta.ctx.insert(&dot);
        delta.insert_dot(item, dot, meta);
        self.join(&delta);
        delta
    }

    /// Delta mutator: removes the `observed` dots of `item` (a concurrent add,
    /// i.e. a dot not listed, survives). Applies the delta and returns it.
    pub fn remove<Q>(&mut self, item: &Q, observed: &[Dot]) -> OrSetDelta<T>
    where
        T: Borrow<Q>,
        Q: Ord + ?Sized,
    {
        let mut delta = OrSet::new();
        delta.ctx = self.own_dots(item, observed).collect();
        self.join(&delta);
        delta
    }

    /// Lattice join with another state or delta: commutative, associative,
    /// idempotent.
    pub fn join(&mut self, other: &OrSet<T>) {
        // 1. Our dots that `other` has seen but no longer holds were removed.
        let doomed: Vec<Dot> = if other.ctx.size() <= self.index.len() as u64 {
            other
                .ctx
                .dots()
                .filter(|d| self.index.contains_key(d) && !other.index.contains_key(d))
                .collect()
        } else {
            self.index
                .keys()
                .filter(|d| other.ctx.contains(d) && !other.index.contains_key(*d))
                .cloned()
                .collect()
        };
        for d in &doomed {
            self.remove_dot(d);
        }
        // 2. Their dots we have never seen are new adds.
        for (item, dots) in &other.entries {
            for (d, m) in dots {
                if !self.ctx.contains(d) {
                    self.insert_dot(item.clone(), d.clone(), *m);
                }
            }
        }
        // 3. Contexts union.
        self.ctx.merge(&other.ctx);
    }

    /// Records `dot` in the causal context without adding anything (used for
    /// op seqs spent on other kinds of ops, so the context stays compact).
    pub fn observe(&mut self, dot: &Dot) {
        self.ctx.insert(dot);
    }

    /// Re-stamps every live dot of device `from` as a fresh dot of `into`
    /// (next seqs of `into` in the context), then forgets `from` from the
    /// context. Returns `(old, new)` pairs.
    pub fn restamp(&mut self, from: &str, into: &str) -> Vec<(Dot, Dot)> {
        let start = Dot::new(from, 0);
        let old: Vec<Dot> = self
            .index
            .range(start..)
            .take_while(|(d, _)| d.device == from)
            .map(|(d, _)| d.clone())
            .collect();
        let mut next = self.ctx.vv().get(into);
        let mut moved = Vec::with_capacity(old.len());
        for d in old {
            let Some(item) = self.index.get(&d).cloned() else {
                continue;
            };
            let meta = self.entries.get(&item).and_then(|m| m.get(&d)).copied();
            self.remove_dot(&d);
            next += 1;
            let new = Dot::new(into, next);
            self.ctx.insert(&new);
            self.insert_dot(item, new.clone(), meta.unwrap_or_default());
            moved.push((d, new));
        }
        self.ctx.forget(from);
        moved
    }

    /// True if `item` has at least one live dot.
    pub fn contains<Q>(&self, item: &Q) -> bool
    where
        T: Borrow<Q>,
        Q: Ord + ?Sized,
    {
        self.entries.contains_key(item)
    }

    /// Live dots of `item`, in dot order.
    pub fn dots_of<Q>(&self, item: &Q) -> impl Iterator<Item = (&Dot, &EntryMeta)> + '_
    where
        T: Borrow<Q>,
        Q: Ord + ?Sized,
    {
        self.entries.get(item).into_iter().flat_map(|m| m.iter())
    }

    /// True if `dot` is live (some item holds it).
    pub fn has_dot(&self, dot: &Dot) -> bool {
        self.index.contains_key(dot)
    }

    /// Items in order, each with its most recent add: the dot with the
    /// greatest `(added_at_ms, dot)`.
    pub fn items(&self) -> impl Iterator<Item = (&T, &Dot, &EntryMeta)> + '_ {
        self.entries.iter().filter_map(|(item, dots)| {
            dots.iter()
                .max_by(|a, b| (a.1.added_at_ms, a.0).cmp(&(b.1.added_at_ms, b.0)))
                .map(|(d, m)| (item, d, m))
        })
    }

    /// Number of items present.
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// True if no item is present.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// Number of live dots (>= `len()`; more under concurrent adds).
    pub fn dot_count(&self) -> usize {
        self.index.len()
    }

    /// The causal context (all dots seen).
    pub fn context(&self) -> &CausalContext {
        &self.ctx
    }

    /// `observed` restricted to live dots of `item`.
    fn own_dots<'a, Q>(&'a self, item: &'a Q, observed: &'a [Dot]) -> impl Iterator<Item = Dot> + 'a
    where
        T: Borrow<Q>,
        Q: Ord + ?Sized,
    {
        observed
            .iter()
            .filter(move |d| self.index.get(*d).is_some_and(|i| i.borrow() == item))
            .cloned()
    }

    pub(crate) fn insert_dot(&mut self, item: T, dot: Dot, meta: EntryMeta) {
        self.ctx.insert(&dot);
        self.index.insert(dot.clone(), item.clone());
        self.entries.entry(item).or_default().insert(dot, meta);
    }

    fn remove_dot(&mut self, dot: &Dot) {
        let Some(item) = self.index.remove(dot) else {
            return;
        };
        if let Some(dots) = self.entries.get_mut(&item) {
            dots.remove(dot);
            if dots.is_empty() {
                self.entries.remove(&item);
            }
        }
    }
}
