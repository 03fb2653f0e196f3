//! The adapter's byte format, version 1 (all little-endian):
//!
//! | offset | size | field |
//! |---|---|---|
//! | 0 | 4 | magic `BTLA` |
//! | 4 | 2 | format version (1) |
//! | 6 | 2 | rank (8) |
//! | 8 | 4 | dim `D` |
//! | 12 | 4 | alpha (f32) |
//! | 16 | 8 | adapter version (u64) |
//! | 24 | 4 | `q` weight (f32) |
//! | 28 | 4·D | `q` |
//! | 28+4D | 4·8·D | `A` (rank × D, row-major) |
//! | 28+36D | 4·8·D | `B` (D × rank, row-major) |
//!
//! 10,908 bytes at `D = 160`.

use super::{Adapter, ALPHA, RANK};
use crate::PersonalizationError;

const MAGIC: &[u8; 4] = b"BTLA";
const FORMAT: u16 = 1;
const HEADER: usize = 28;
/// Largest embedding dimension accepted when decoding.
const MAX_DIM: usize = 65_536;

impl Adapter {
    /// Encode (format above).
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(HEADER + 4 * (self.dim + 2 * RANK * self.dim));
        out.extend_from_slice(MAGIC);
        out.extend_from_slice(&FORMAT.to_le_bytes());
        out.extend_from_slice(&(RANK as u16).to_le_bytes());
        out.extend_from_slice(&(self.dim as u32).to_le_bytes());
        out.extend_from_slice(&ALPHA.to_le_bytes());
        out.extend_from_slice(&self.version.to_le_bytes());
        out.extend_from_slice(&self.q_weight.to_le_bytes());
        for x in self.q.iter().chain(&self.a).chain(&self.b) {
            out.extend_from_slice(&x.to_le_bytes());
        }
        out
    }

    /// Decode bytes written by [`to_bytes`](Self::to_bytes).
    pub fn from_bytes(bytes: &[u8]) -> Result<Self, PersonalizationError> {
        let bad = |m: String| PersonalizationError::BadAdapter(m);
        if bytes.len() < HEADER {
            return Err(bad(format!(
                "{} bytes is shorter than the header",
                bytes.len()
            )));
        }
        if &bytes[0..4] != MAGIC {
            return Err(bad("wrong magic".into()));
        }
        let format = u16::from_le_bytes([bytes[4], bytes[5]]);
        if format != FORMAT {
            return Err(bad(format!("unknown format version {format}")));
        }
        let rank = u16::from_le_bytes([bytes[6], bytes[7]]) as usize;
        if rank != RANK {
            return Err(bad(format!("rank {rank}, expected {RANK}")));
        }
        let dim = u32::from_le_bytes([bytes[8], bytes[9], bytes[10], bytes[11]]) as usize;
        if dim == 0 || dim > MAX_DIM {
            return Err(bad(format!("dimension {dim} out of range")));
        }
        let alpha = f32::from_le_bytes([bytes[12], bytes[13], bytes[14], bytes[15]]);
        if alpha != ALPHA {
            return Err(bad(format!("alpha {alpha}, expected {ALPHA}")));
        }
        let mut v = [0u8; 8];
        v.copy_from_slice(&bytes[16..24]);
        let version = u64::from_le_bytes(v);
        let q_weight = f32::from_le_bytes([bytes[24], bytes[25], bytes[26], bytes[27]]);
        let floats = dim + 2 * RANK * dim;
        if bytes.len() != HEADER + 4 * floats {
            return Err(bad(format!(
                "{} bytes, expected {} for dimension {dim}",
                bytes.len(),
                HEADER + 4 * floats
            )));
        }
        let values: Vec<f32> = bytes[HEADER..]
            .chunks_exact(4)
            .map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]]))
            .collect();
        if !q_weight.is_finite() || values.iter().any(|x| !x.is_finite()) {
            return Err(bad("non-finite value".into()));
        }
        let (q, rest) = values.split_at(dim);
        let (a, b) = rest.split_at(RANK * dim);
        Ok(Self {
            dim,
            version,
            q: q.to_vec(),
            q_weight,
            a: a.to_vec(),
            b: b.to_vec(),
        })
    }
}
