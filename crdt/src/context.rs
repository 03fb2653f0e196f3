//! `CausalContext`: the set of dots a replica has seen, as a version vector
//! plus a small "dot cloud" for dots that arrived out of order.

use crate::{Dot, VersionVector};
use serde::{Deserialize, Serialize};
use std::collections::BTreeSet;

/// A set of dots, stored compactly.
///
/// Invariant (kept by every mutator): no cloud dot is covered by the vector,
/// and no cloud dot is the vector's next seq for its device. So two contexts
/// holding the same dots are structurally equal.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(from = "ContextRepr")]
pub struct CausalContext {
    vv: VersionVector,
    #[serde(default, skip_serializing_if = "BTreeSet::is_empty")]
    cloud: BTreeSet<Dot>,
}

impl CausalContext {
    /// The empty context.
    pub fn new() -> Self {
        Self::default()
    }

    /// True if `dot` was seen.
    pub fn contains(&self, dot: &Dot) -> bool {
        self.vv.contains(dot) || self.cloud.contains(dot)
    }

    /// Records one dot, compacting the cloud into the vector when possible.
    pub fn insert(&mut self, dot: &Dot) {
        if dot.seq == 0 || self.vv.contains(dot) {
            return;
        }
        if dot.seq == self.vv.get(&dot.device) + 1 {
            self.vv.observe(&dot.device, dot.seq);
            self.compact(&dot.device);
        } else {
            self.cloud.insert(dot.clone());
        }
    }

    /// Union with `other`.
    pub fn merge(&mut self, other: &Self) {
        for (d, s) in other.vv.iter() {
            if s > self.vv.get(d) {
                self.vv.observe(d, s);
                self.prune(d);
                self.compact(d);
            }
        }
        for dot in &other.cloud {
            self.insert(dot);
        }
    }

    /// Drops every dot of `device`.
    pub fn forget(&mut self, device: &str) {
        self.vv.remove(device);
        self.cloud.retain(|d| d.device != device);
    }

    /// The contiguous part.
    pub fn vv(&self) -> &VersionVector {
        &self.vv
    }

    /// Dots seen out of order (normally empty on the server).
    pub fn cloud(&self) -> impl Iterator<Item = &Dot> + '_ {
        self.cloud.iter()
    }

    /// Number of dots in the context.
    pub fn size(&self) -> u64 {
        self.vv.covered().saturating_add(self.cloud.len() as u64)
    }

    /// Every dot in the context (vector part expanded). Only sensible for
    /// small contexts such as those of deltas.
    pub fn dots(&self) -> impl Iterator<Item = Dot> + '_ {
        self.vv
            .iter()
            .flat_map(|(d, s)| (1..=s).map(move |i| Dot::new(d, i)))
            .chain(self.cloud.iter().cloned())
    }

    fn prune(&mut self, device: &str) {
        let top = self.vv.get(device);
        self.cloud.retain(|d| d.device != device || d.seq > top);
    }

    fn compact(&mut self, device: &str) {
        loop {
            let next = Dot::new(device, self.vv.get(device) + 1);
            if !self.cloud.remove(&next) {
                break;
            }
            self.vv.observe(device, next.seq);
        }
    }
}

impl FromIterator<Dot> for CausalContext {
    fn from_iter<I: IntoIterator<Item = Dot>>(iter: I) -> Self {
        let mut ctx = CausalContext::new();
        for d in iter {
            ctx.insert(&d);
        }
        ctx
    }
}

/// Wire form, re-normalized on the way in (untrusted input).
#[derive(Deserialize)]
struct ContextRepr {
    vv: VersionVector,
    #[serde(default)]
    cloud: Vec<Dot>,
}

impl From<ContextRepr> for CausalContext {
    fn from(r: ContextRepr) -> Self {
        let mut ctx = CausalContext {
            vv: r.vv,
            cloud: BTreeSet::new(),
        };
        for d in &r.cloud {
            ctx.insert(d);
        }
        ctx
    }
}
