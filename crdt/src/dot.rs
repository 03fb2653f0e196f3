//! `Dot`: the identity of one device operation, `(device, seq)`.

use serde::{Deserialize, Serialize};
use std::fmt;

/// One event of one replica: the op's idempotency key and its OR-Set dot.
///
/// Serialized as a 2-array: `["tv-1", 17]`.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(from = "(String, u64)", into = "(String, u64)")]
pub struct Dot {
    /// The replica (device id) that produced the event.
    pub device: String,
    /// The replica's counter at that event, starting at 1.
    pub seq: u64,
}

impl Dot {
    /// Builds a dot.
    pub fn new(device: impl Into<String>, seq: u64) -> Self {
        Dot {
            device: device.into(),
            seq,
        }
    }
}

impl From<(String, u64)> for Dot {
    fn from((device, seq): (String, u64)) -> Self {
        Dot { device, seq }
    }
}

impl From<Dot> for (String, u64) {
    fn from(d: Dot) -> Self {
        (d.device, d.seq)
    }
}

impl fmt::Display for Dot {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}", self.device, self.seq)
    }
}
