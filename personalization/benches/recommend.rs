//! `recommend`: rank a 10K-item catalog (D = 160) for one user on the
//! in-process index: compute the adapted vector `u` (O(r·D)) and take the
//! top 20 by dot product, excluding 50 ids. Criterion gives the median; then
//! 10,000 timed calls go into an HDR histogram for p50/p99/max.

use std::time::Instant;

use baton_personalization::synth::{synthetic_catalog, SynthSpec};
use baton_personalization::{
    Adapter, Filter, InProcessIndex, Interaction, InteractionKind, VectorItem, VectorStore, CONTENT,
};
use criterion::{criterion_group, criterion_main, Criterion};

fn setup() -> (InProcessIndex, Adapter, Filter) {
    let spec = SynthSpec::default();
    let items = synthetic_catalog(&spec);
    let index = InProcessIndex::new();
    let rt = tokio::runtime::Builder::new_current_thread()
        .build()
        .expect("runtime");
    rt.block_on(async {
        index
            .ensure_collection(CONTENT, spec.dim)
            .await
            .expect("create");
        let rows = items
            .iter()
            .map(|i| VectorItem {
                id: i.id.clone(),
                vector: i.embedding.clone(),
                title: i.title.clone(),
                genres: i.genres.clone(),
            })
            .collect();
        index.upsert(CONTENT, rows).await.expect("upsert");
    });
    let mut adapter = Adapter::new(spec.dim, 7);
    let batch: Vec<_> = items
        .iter()
        .step_by(spec.genres)
        .take(10)
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
    let filter = Filter {
        exclude_ids: items.iter().take(50).map(|i| i.id.clone()).collect(),
    };
    (index, adapter, filter)
}

/// 1,000 training steps of 10 likes each on a copy of `adapter`; median and max.
fn time_training(adapter: &Adapter, index: &InProcessIndex) {
    let ids: Vec<String> = (0..10).map(|i| format!("movie:{}", i * 20)).collect();
    let rt = tokio::runtime::Builder::new_current_thread()
        .build()
        .expect("runtime");
    let items = rt.block_on(index.get(CONTENT, &ids)).expect("get");
    let batch: Vec<_> = items
        .into_iter()
        .map(|i| {
            (
                Interaction {
                    content: i.id,
                    kind: InteractionKind::Like,
                    at_ms: 0,
                },
                i.vector,
            )
        })
        .collect();
    let mut samples: Vec<f64> = (0..1_000)
        .map(|_| {
            let mut a = adapter.clone();
            let start = Instant::now();
            let _ = std::hint::black_box(a.train_step(&batch));
            start.elapsed().as_secs_f64() * 1e3
        })
        .collect();
    samples.sort_by(f64::total_cmp);
    println!(
        "train_step (10 interactions, D = 160), 1,000 steps: median {:.3} ms, max {:.3} ms",
        samples[500], samples[999]
    );
}

fn recommend_once(index: &InProcessIndex, adapter: &Adapter, filter: &Filter) -> usize {
    let u = adapter.preference();
    index.rank(CONTENT, &u, 20, filter).map_or(0, |h| h.len())
}

fn bench(c: &mut Criterion) {
    let (index, adapter, filter) = setup();
    c.bench_function("recommend_10k_d160_top20", |b| {
        b.iter(|| recommend_once(&index, &adapter, &filter))
    });

    let mut hist =
        hdrhistogram::Histogram::<u64>::new_with_bounds(1, 1_000_000_000, 3).expect("histogram");
    for _ in 0..10_000 {
        let start = Instant::now();
        std::hint::black_box(recommend_once(&index, &adapter, &filter));
        let _ = hist.record(start.elapsed().as_nanos() as u64);
    }
    println!(
        "recommend 10K x 160, 10,000 calls: p50 {:.3} ms, p99 {:.3} ms, p99.9 {:.3} ms, max {:.3} ms",
        hist.value_at_quantile(0.50) as f64 / 1e6,
        hist.value_at_quantile(0.99) as f64 / 1e6,
        hist.value_at_quantile(0.999) as f64 / 1e6,
        hist.max() as f64 / 1e6,
    );
    time_training(&adapter, &index);
}

criterion_group!(benches, bench);
criterion_main!(benches);
