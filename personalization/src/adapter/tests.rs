use super::*;
use crate::synth::{synthetic_catalog, SynthSpec};
use crate::InteractionKind;

fn batch(items: &[crate::CatalogItem], kind: InteractionKind) -> Vec<(Interaction, Vec<f32>)> {
    items
        .iter()
        .map(|it| {
            (
                Interaction {
                    content: it.id.clone(),
                    kind,
                    at_ms: 0,
                },
                it.embedding.clone(),
            )
        })
        .collect()
}

fn catalog() -> Vec<crate::CatalogItem> {
    synthetic_catalog(&SynthSpec {
        items: 200,
        genres: 4,
        dim: 32,
        noise: 1.0,
        seed: 7,
    })
}

#[test]
fn bytes_round_trip_and_size() {
    let mut adapter = Adapter::new(160, 1);
    let cat = synthetic_catalog(&SynthSpec {
        items: 20,
        genres: 2,
        dim: 160,
        noise: 1.0,
        seed: 1,
    });
    adapter
        .train_step(&batch(&cat[..10], InteractionKind::Like))
        .expect("train");
    let bytes = adapter.to_bytes();
    assert_eq!(bytes.len(), 28 + 4 * (160 + 2 * RANK * 160));
    assert_eq!(bytes.len(), 10_908);
    assert_eq!(Adapter::from_bytes(&bytes).expect("decode"), adapter);
}

#[test]
fn bad_bytes_are_refused() {
    let bytes = Adapter::new(16, 1).to_bytes();
    assert!(Adapter::from_bytes(&bytes[..10]).is_err());
    assert!(Adapter::from_bytes(&bytes[..bytes.len() - 1]).is_err());
    let mut wrong = bytes.clone();
    wrong[0] = b'X';
    assert!(Adapter::from_bytes(&wrong).is_err());
    let mut wrong = bytes.clone();
    wrong[4] = 9;
    assert!(Adapter::from_bytes(&wrong).is_err());
    let mut nan = bytes.clone();
    let at = nan.len() - 4;
    nan[at..].copy_from_slice(&f32::NAN.to_le_bytes());
    assert!(matches!(
        Adapter::from_bytes(&nan),
        Err(PersonalizationError::BadAdapter(_))
    ));
}

#[test]
fn training_is_deterministic_and_bumps_version() {
    let cat = catalog();
    let b = batch(&cat[..10], InteractionKind::Like);
    let mut x = Adapter::new(32, 42);
    let mut y = Adapter::new(32, 42);
    let rx = x.train_step(&b).expect("train");
    y.train_step(&b).expect("train");
    assert_eq!(x, y);
    assert_eq!(rx.version, 1);
    assert!(rx.loss_after < rx.loss_before, "{rx:?}");
}

#[test]
fn wrong_dimension_changes_nothing() {
    let mut adapter = Adapter::new(32, 1);
    let before = adapter.clone();
    let mut b = batch(&catalog()[..3], InteractionKind::Like);
    b[2].1.push(0.0);
    assert!(matches!(
        adapter.train_step(&b),
        Err(PersonalizationError::Dimension {
            expected: 32,
            got: 33
        })
    ));
    assert_eq!(adapter, before);
}

#[test]
fn dislikes_lower_the_disliked_items() {
    let cat = catalog();
    // Genre of item i is i % 4: like genre 0, dislike genre 1.
    let liked: Vec<_> = cat
        .iter()
        .filter(|c| c.genres[0] == "genre-0")
        .take(10)
        .cloned()
        .collect();
    let disliked: Vec<_> = cat
        .iter()
        .filter(|c| c.genres[0] == "genre-1")
        .take(10)
        .cloned()
        .collect();
    let mut adapter = Adapter::new(32, 3);
    adapter
        .train_step(&batch(&liked, InteractionKind::Like))
        .expect("train");
    let probe = &disliked[0].embedding;
    let before = adapter.score(probe).expect("score");
    let mut mixed = batch(&disliked, InteractionKind::Dislike);
    mixed.extend(batch(&liked, InteractionKind::Like));
    for _ in 0..3 {
        adapter.train_step(&mixed).expect("train");
    }
    let after = adapter.score(probe).expect("score");
    assert!(after < before, "disliked score {before} -> {after}");
}
