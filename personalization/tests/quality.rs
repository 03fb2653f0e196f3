//! Recommendation quality on a synthetic catalog with genre clusters.
//!
//! Catalog: 10,000 items, 20 genres, D = 160, noise 1.5 (items of one genre
//! have cosine ≈ 0.3 with each other, ≈ 0 across genres). For every genre, a
//! user likes 20 of its items (two training steps of 10); the remaining items
//! of that genre are held out.
//!
//! hit-rate@10 = share of the top 10 (ranking every item the user has not
//! interacted with) that are held-out items of the liked genre, averaged over
//! the 20 users. Chance is about 1/20 = 0.05.

use baton_personalization::synth::{synthetic_catalog, SynthSpec};
use baton_personalization::{
    import_catalog, recommend, Adapter, Catalog, Filter, InProcessIndex, Interaction,
    InteractionKind,
};

const LIKES: usize = 20;

#[tokio::test]
async fn held_out_genre_items_rank_far_above_chance() {
    let spec = SynthSpec {
        noise: 1.5,
        ..SynthSpec::default()
    };
    let items = synthetic_catalog(&spec);
    let index = InProcessIndex::new();
    let catalog = Catalog {
        dim: spec.dim,
        items: items.clone(),
    };
    import_catalog(&index, &catalog).await.expect("import");

    let (mut before, mut after, mut base_only) = (0.0, 0.0, 0.0);
    for g in 0..spec.genres {
        let genre = format!("genre-{g}");
        let of_genre: Vec<_> = items.iter().filter(|i| i.genres[0] == genre).collect();
        let (liked, held_out) = of_genre.split_at(LIKES);
        let filter = Filter {
            exclude_ids: liked.iter().map(|i| i.id.clone()).collect(),
        };
        let held: std::collections::HashSet<&str> =
            held_out.iter().map(|i| i.id.as_str()).collect();
        let hit_rate = |hits: Vec<baton_personalization::Hit>| {
            hits.iter().filter(|h| held.contains(h.id.as_str())).count() as f64 / 10.0
        };

        let mut adapter = Adapter::new(spec.dim, 1000 + g as u64);
        before += hit_rate(
            recommend(&index, &adapter, 10, &filter)
                .await
                .expect("rank"),
        );
        for chunk in liked.chunks(10) {
            let batch: Vec<_> = chunk
                .iter()
                .map(|i| {
                    (
                        Interaction {
                            content: i.id.clone(),
                            kind: InteractionKind::Like,
                            at_ms: 0,
                        },
                        i.embedding.clone(),
                    )
                })
                .collect();
            adapter.train_step(&batch).expect("train");
        }
        assert_eq!(adapter.version(), 2);
        after += hit_rate(
            recommend(&index, &adapter, 10, &filter)
                .await
                .expect("rank"),
        );
        let q_only = index
            .rank(baton_personalization::CONTENT, adapter.base(), 10, &filter)
            .expect("rank");
        base_only += hit_rate(q_only);
    }
    let n = spec.genres as f64;
    let (before, after, base_only) = (before / n, after / n, base_only / n);
    let chance = 1.0 / n;
    println!(
        "hit-rate@10: before training {before:.3}, after training {after:.3} \
         (base vector q alone {base_only:.3}); chance {chance:.3}"
    );
    assert!(
        before <= 3.0 * chance,
        "before training {before} should be near chance {chance}"
    );
    assert!(
        after >= 0.9,
        "after training {after} should be far above chance {chance}"
    );
}
