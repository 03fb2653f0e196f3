//! The per-user LoRA adapter: state, scoring and the training step.
//!
//! Formulation. `q ∈ R^D` is the user's base preference vector: the weighted
//! mean of the embeddings of positively interacted items. `A ∈ R^{r×D}`
//! (seeded Gaussian, std `1/sqrt(D)`) and `B ∈ R^{D×r}` (zero at start, as in
//! LoRA) adapt it: `u = q + (alpha/r) · B · (A · q)`, and item `e` scores
//! `s(e) = <u, e>`. At `B = 0` the adapter is exactly `q`.
//!
//! Training: for each `(interaction, e)` with label `y` and weight `w`
//! ([`Label::label`](crate::Label::label)), the loss is `w · BCE(sigmoid(<u, e>), y)`.
//! With `g = w · (sigmoid(<u,e>) - y) · e` (the gradient in `u`) and
//! `h = A·q`: `dL/dB = s · g · hᵀ` and `dL/dA = s · (Bᵀ g) · qᵀ` (`s =
//! alpha/r`). `q` moves by the weighted running mean before the SGD passes,
//! not by gradient.

mod codec;

use crate::math::{dot, sigmoid};
use crate::rng::SplitMix64;
use crate::{Interaction, Label, PersonalizationError};

/// LoRA rank.
pub const RANK: usize = 8;
/// LoRA alpha (the update is scaled by `ALPHA / RANK` = 2).
pub const ALPHA: f32 = 16.0;
/// SGD learning rate.
const LEARNING_RATE: f32 = 0.5;
/// Passes over each batch.
const EPOCHS: usize = 4;
/// L2 decay on the LoRA factors per example (keeps them bounded without negatives).
const WEIGHT_DECAY: f32 = 1e-3;

/// A user's personalization adapter. About `4·(D + 2·8·D)` bytes of state.
#[derive(Debug, Clone, PartialEq)]
pub struct Adapter {
    dim: usize,
    version: u64,
    /// Base preference vector (length `dim`).
    q: Vec<f32>,
    /// Total positive weight folded into `q`.
    q_weight: f32,
    /// `RANK × dim`, row-major.
    a: Vec<f32>,
    /// `dim × RANK`, row-major.
    b: Vec<f32>,
}

/// What one training step did.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct TrainReport {
    /// Mean weighted loss over the batch before the step (with the new `q`).
    pub loss_before: f32,
    /// Mean weighted loss after the step.
    pub loss_after: f32,
    /// The adapter version after the step.
    pub version: u64,
}

impl Adapter {
    /// A fresh adapter for embeddings of `dim` values: `q = 0`, `B = 0`, `A`
    /// drawn from `seed` (use a hash of the user id for reproducibility).
    pub fn new(dim: usize, seed: u64) -> Self {
        let mut rng = SplitMix64::new(seed);
        let std = 1.0 / (dim.max(1) as f32).sqrt();
        let a = (0..RANK * dim).map(|_| rng.normal() * std).collect();
        Self {
            dim,
            version: 0,
            q: vec![0.0; dim],
            q_weight: 0.0,
            a,
            b: vec![0.0; dim * RANK],
        }
    }

    /// Embedding dimension.
    pub fn dim(&self) -> usize {
        self.dim
    }

    /// Training steps taken (0 for a fresh adapter).
    pub fn version(&self) -> u64 {
        self.version
    }

    /// The base preference vector `q`.
    pub fn base(&self) -> &[f32] {
        &self.q
    }

    /// The adapted preference vector `u = q + (alpha/r)·B·(A·q)`; rank items by `<u, e>`.
    pub fn preference(&self) -> Vec<f32> {
        let h = self.project(&self.q);
        let s = ALPHA / RANK as f32;
        let mut u = self.q.clone();
        for (i, ui) in u.iter_mut().enumerate() {
            *ui += s * dot(&self.b[i * RANK..(i + 1) * RANK], &h);
        }
        u
    }

    /// `s(e) = <u, e>`.
    pub fn score(&self, e: &[f32]) -> Result<f32, PersonalizationError> {
        self.check(e, "item")?;
        Ok(dot(&self.preference(), e))
    }

    /// One training step on `batch`: folds positive items into `q`, then runs
    /// deterministic SGD passes on `A` and `B`, and bumps [`version`](Self::version).
    /// Every embedding is checked first: on error nothing changed.
    pub fn train_step(
        &mut self,
        batch: &[(Interaction, Vec<f32>)],
    ) -> Result<TrainReport, PersonalizationError> {
        for (interaction, e) in batch {
            self.check(e, &interaction.content)?;
        }
        for (interaction, e) in batch {
            let (_, w) = interaction.kind.label();
            if interaction.kind.is_positive() {
                let total = self.q_weight + w;
                for (qi, ei) in self.q.iter_mut().zip(e) {
                    *qi = (*qi * self.q_weight + w * ei) / total;
                }
                self.q_weight = total;
            }
        }
        let loss_before = self.loss(batch);
        for _ in 0..EPOCHS {
            for (interaction, e) in batch {
                self.sgd(interaction, e);
            }
        }
        self.version += 1;
        Ok(TrainReport {
            loss_before,
            loss_after: self.loss(batch),
            version: self.version,
        })
    }

    /// Mean weighted logistic loss of the batch under the current adapter.
    fn loss(&self, batch: &[(Interaction, Vec<f32>)]) -> f32 {
        if batch.is_empty() {
            return 0.0;
        }
        let u = self.preference();
        let total: f32 = batch
            .iter()
            .map(|(i, e)| {
                let (y, w) = i.kind.label();
                let p = sigmoid(dot(&u, e)).clamp(1e-6, 1.0 - 1e-6);
                -w * (y * p.ln() + (1.0 - y) * (1.0 - p).ln())
            })
            .sum();
        total / batch.len() as f32
    }

    fn sgd(&mut self, interaction: &Interaction, e: &[f32]) {
        let (y, w) = interaction.kind.label();
        let s = ALPHA / RANK as f32;
        let h = self.project(&self.q);
        let u = self.preference();
        let coef = w * (sigmoid(dot(&u, e)) - y);
        // grad_h = s · Bᵀ g, with g = coef · e.
        let mut grad_h = [0.0f32; RANK];
        for (i, ei) in e.iter().enumerate() {
            let row = &self.b[i * RANK..(i + 1) * RANK];
            for j in 0..RANK {
                grad_h[j] += s * coef * ei * row[j];
            }
        }
        for (i, ei) in e.iter().enumerate() {
            let row = &mut self.b[i * RANK..(i + 1) * RANK];
            for j in 0..RANK {
                row[j] -= LEARNING_RATE * (s * coef * ei * h[j] + WEIGHT_DECAY * row[j]);
            }
        }
        for (j, gh) in grad_h.iter().enumerate() {
            let row = &mut self.a[j * self.dim..(j + 1) * self.dim];
            for (ak, qk) in row.iter_mut().zip(&self.q) {
                *ak -= LEARNING_RATE * (gh * qk + WEIGHT_DECAY * *ak);
            }
        }
    }

    /// `A · v` (length `RANK`).
    fn project(&self, v: &[f32]) -> [f32; RANK] {
        let mut h = [0.0f32; RANK];
        for (j, hj) in h.iter_mut().enumerate() {
            *hj = dot(&self.a[j * self.dim..(j + 1) * self.dim], v);
        }
        h
    }

    fn check(&self, e: &[f32], id: &str) -> Result<(), PersonalizationError> {
        if e.len() != self.dim {
            return Err(PersonalizationError::Dimension {
                expected: self.dim,
                got: e.len(),
            });
        }
        if e.iter().any(|x| !x.is_finite()) {
            return Err(PersonalizationError::NonFinite { id: id.to_owned() });
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests;
