//! `LwwMap<K, V>`: one last-writer-wins register per key, as a delta-state
//! CRDT.
//!
//! A register holds `{value, ts}`; the greater `uhlc::Timestamp` wins (time
//! first, then replica id, so distinct replicas never tie). Two writes with
//! the very same timestamp (only a misbehaving replica can do that) are
//! ordered by value, so `join` stays commutative even then.

use std::borrow::Borrow;
use std::collections::BTreeMap;
use uhlc::Timestamp;

/// One register.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Register<V> {
    /// Current value.
    pub value: V,
    /// Timestamp of the write that set it.
    pub ts: Timestamp,
}

/// A delta of an [`LwwMap`] (itself a small map).
pub type LwwDelta<K, V> = LwwMap<K, V>;

/// Map of last-writer-wins registers. It has no serde form of its own:
/// snapshot formats (`user/snapshot/`) lay it out explicitly, with the
/// timestamp as text (its time exceeds 2^53).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LwwMap<K: Ord + Clone, V: Ord + Clone> {
    regs: BTreeMap<K, Register<V>>,
}

impl<K: Ord + Clone, V: Ord + Clone> Default for LwwMap<K, V> {
    fn default() -> Self {
        LwwMap {
            regs: BTreeMap::new(),
        }
    }
}

fn wins<V: Ord>(new_value: &V, new_ts: &Timestamp, old: &Register<V>) -> bool {
    (new_ts, new_value) > (&old.ts, &old.value)
}

impl<K: Ord + Clone, V: Ord + Clone> LwwMap<K, V> {
    /// The empty map.
    pub fn new() -> Self {
        Self::default()
    }

    /// Delta mutator: writes `value` at `ts`. Returns the delta and whether
    /// the register changed (an older write is absorbed without effect).
    pub fn set(&mut self, key: K, value: V, ts: Timestamp) -> (LwwDelta<K, V>, bool) {
        let changed = self.merge_register(&key, Register { value, ts });
        let mut delta = LwwMap::new();
        if let Some(r) = self.regs.get(&key) {
            delta.regs.insert(key, r.clone());
        }
        (delta, changed)
    }

    /// Lattice join: per key, the greater `(ts, value)` wins.
    pub fn join(&mut self, other: &LwwMap<K, V>) {
        for (k, r) in &other.regs {
            self.merge_register(k, r.clone());
        }
    }

    /// Register of `key`.
    pub fn get<Q>(&self, key: &Q) -> Option<&Register<V>>
    where
        K: Borrow<Q>,
        Q: Ord + ?Sized,
    {
        self.regs.get(key)
    }

    /// Key and register of `key`.
    pub fn get_key_value<Q>(&self, key: &Q) -> Option<(&K, &Register<V>)>
    where
        K: Borrow<Q>,
        Q: Ord + ?Sized,
    {
        self.regs.get_key_value(key)
    }

    /// Registers in key order.
    pub fn iter(&self) -> impl Iterator<Item = (&K, &Register<V>)> + '_ {
        self.regs.iter()
    }

    /// Number of keys.
    pub fn len(&self) -> usize {
        self.regs.len()
    }

    /// True if no key was ever written.
    pub fn is_empty(&self) -> bool {
        self.regs.is_empty()
    }

    fn merge_register(&mut self, key: &K, reg: Register<V>) -> bool {
        match self.regs.get_mut(key) {
            Some(old) => {
                if wins(&reg.value, &reg.ts, old) {
                    *old = reg;
                    true
                } else {
                    false
                }
            }
            None => {
                self.regs.insert(key.clone(), reg);
                true
            }
        }
    }
}

impl<K: Ord + Clone, V: Ord + Clone> From<LwwMap<K, V>> for Vec<(K, Register<V>)> {
    fn from(m: LwwMap<K, V>) -> Self {
        m.regs.into_iter().collect()
    }
}

impl<K: Ord + Clone, V: Ord + Clone> From<Vec<(K, Register<V>)>> for LwwMap<K, V> {
    fn from(v: Vec<(K, Register<V>)>) -> Self {
        let mut m = LwwMap::new();
        for (k, r) in v {
            m.merge_register(&k, r);
        }
        m
    }
}
