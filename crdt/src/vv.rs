//! `VersionVector`: per-device high-water marks of contiguous seqs.

use crate::Dot;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// For each device, the highest seq such that every seq `1..=n` was seen.
///
/// Serialized as a JSON object: `{"tv-1": 17}`. Zero entries are never
/// stored, so two vectors covering the same dots compare equal.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(from = "BTreeMap<String, u64>", into = "BTreeMap<String, u64>")]
pub struct VersionVector(BTreeMap<String, u64>);

impl VersionVector {
    /// An empty vector (has seen nothing).
    pub fn new() -> Self {
        Self::default()
    }

    /// Highest contiguous seq seen from `device` (0 if none).
    pub fn get(&self, device: &str) -> u64 {
        self.0.get(device).copied().unwrap_or(0)
    }

    /// Raises the entry of `device` to at least `seq` (never lowers it).
    pub fn observe(&mut self, device: &str, seq: u64) {
        if seq == 0 {
            return;
        }
        match self.0.get_mut(device) {
            Some(v) => *v = (*v).max(seq),
            None => {
                self.0.insert(device.to_owned(), seq);
            }
        }
    }

    /// Pointwise maximum with `other`.
    pub fn merge(&mut self, other: &Self) {
        for (d, &s) in &other.0 {
            self.observe(d, s);
        }
    }

    /// True if `self >= other` pointwise.
    pub fn dominates(&self, other: &Self) -> bool {
        other.0.iter().all(|(d, &s)| self.get(d) >= s)
    }

    /// True if the dot's seq is at or below the device's entry.
    pub fn contains(&self, dot: &Dot) -> bool {
        dot.seq != 0 && self.get(&dot.device) >= dot.seq
    }

    /// Forgets a device entirely (used when a device is retired).
    pub fn remove(&mut self, device: &str) {
        self.0.remove(device);
    }

    /// Number of devices with a non-zero entry.
    pub fn len(&self) -> usize {
        self.0.len()
    }

    /// True if no device has an entry.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// Entries in device order.
    pub fn iter(&self) -> impl Iterator<Item = (&str, u64)> + '_ {
        self.0.iter().map(|(d, &s)| (d.as_str(), s))
    }

    /// Total number of dots covered (sum of entries).
    pub fn covered(&self) -> u64 {
        self.0.values().fold(0u64, |a, &s| a.saturating_add(s))
    }
}

impl FromIterator<(String, u64)> for VersionVector {
    fn from_iter<I: IntoIterator<Item = (String, u64)>>(iter: I) -> Self {
        let mut vv = VersionVector::new();
        for (d, s) in iter {
            vv.observe(&d, s);
        }
        vv
    }
}

impl From<BTreeMap<String, u64>> for VersionVector {
    fn from(map: BTreeMap<String, u64>) -> Self {
        map.into_iter().collect()
    }
}

impl From<VersionVector> for BTreeMap<String, u64> {
    fn from(vv: VersionVector) -> Self {
        vv.0
    }
}
