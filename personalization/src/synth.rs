//! A synthetic catalog with genre clusters, for tests and benchmarks.
//!
//! Each genre has a random unit centre; item `i` belongs to genre `i % genres`
//! (genres interleave, so catalog order says nothing about genre) and its
//! embedding is `normalize(centre + noise · n / sqrt(D))` with `n` standard
//! normal: `noise` is roughly the norm of the per-item deviation.

use crate::math::normalize;
use crate::rng::SplitMix64;
use crate::CatalogItem;

/// Shape of a synthetic catalog.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct SynthSpec {
    /// Number of items.
    pub items: usize,
    /// Number of genre clusters.
    pub genres: usize,
    /// Embedding dimension.
    pub dim: usize,
    /// Spread of items around their genre centre (1.0: as far as the centre is from 0).
    pub noise: f32,
    /// Seed.
    pub seed: u64,
}

impl Default for SynthSpec {
    /// 10,000 items, 20 genres, D = 160, noise 1.0, seed 1.
    fn default() -> Self {
        Self {
            items: 10_000,
            genres: 20,
            dim: 160,
            noise: 1.0,
            seed: 1,
        }
    }
}

/// Items `movie:0 ..`, genre `genre-{i % genres}`.
pub fn synthetic_catalog(spec: &SynthSpec) -> Vec<CatalogItem> {
    let mut rng = SplitMix64::new(spec.seed);
    let genres = spec.genres.max(1);
    let centres: Vec<Vec<f32>> = (0..genres)
        .map(|_| {
            let mut c: Vec<f32> = (0..spec.dim).map(|_| rng.normal()).collect();
            normalize(&mut c);
            c
        })
        .collect();
    let scale = spec.noise / (spec.dim.max(1) as f32).sqrt();
    (0..spec.items)
        .map(|i| {
            let g = i % genres;
            let mut e: Vec<f32> = centres[g]
                .iter()
                .map(|c| c + scale * rng.normal())
                .collect();
            normalize(&mut e);
            CatalogItem {
                id: format!("movie:{i}"),
                title: format!("Movie {i}"),
                genres: vec![format!("genre-{g}")],
                embedding: e,
            }
        })
        .collect()
}

/// The synthetic catalog as JSONL text (what `baton import-catalog` reads).
pub fn to_jsonl(items: &[CatalogItem]) -> String {
    let mut out = String::new();
    for item in items {
        if let Ok(line) = serde_json::to_string(item) {
            out.push_str(&line);
            out.push('\n');
        }
    }
    out
}
