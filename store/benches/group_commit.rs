//! Group-commit throughput: 1,000 durable appends from 64 concurrent tasks (one user each),
//! against a 1-task sequential baseline in the same run, on SQLite (temp file, WAL,
//! synchronous=FULL) and on a throwaway Postgres started via `pg_harness`
//! (or `BATON_TEST_PG_URL`). Criterion's throughput line is appends/s.
//!
//! `cargo bench -p baton-store --features test-harness -- --warm-up-time 1 --measurement-time 5`

#![allow(clippy::unwrap_used)]

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use baton_store::pg_harness::PgHarness;
use baton_store::{LogEntry, Store, StoreConfig, StoreOptions, StoreStats};
use criterion::{Criterion, Throughput};
use tokio::runtime::Runtime;

const APPENDS: u64 = 1_000;
const TASKS: u64 = 64;
const BASELINE_APPENDS: u64 = 100;

fn main() {
    let mut c = Criterion::default().configure_from_args();
    let rt = Runtime::new().expect("tokio runtime");

    let dir = tempfile::tempdir().expect("tempdir");
    let sqlite = StoreConfig::Sqlite {
        path: dir.path().join("bench.db"),
    };
    bench_backend(&mut c, &rt, "sqlite", &sqlite);

    let pg = PgHarness::start().expect("start postgres");
    let url = rt.block_on(pg.create_database()).expect("bench database");
    bench_backend(&mut c, &rt, "postgres", &StoreConfig::Postgres { url });

    c.final_summary();
    drop(pg);
}

fn bench_backend(c: &mut Criterion, rt: &Runtime, name: &str, cfg: &StoreConfig) {
    let store = rt
        .block_on(Store::open(cfg, StoreOptions::default()))
        .expect("open store");
    // Every round appends fresh versions: each task owns one user, versions keep rising.
    let next_version = Arc::new(AtomicU64::new(1));
    let mut group = c.benchmark_group(format!("group_commit/{name}"));
    group.sample_size(10);

    let before = store.stats();
    group.throughput(Throughput::Elements(APPENDS));
    group.bench_function(format!("{APPENDS}_appends_{TASKS}_tasks"), |b| {
        b.iter_custom(|iters| rt.block_on(timed(iters, || concurrent_round(&store, &next_version))))
    });
    report_batches(name, "concurrent", before, store.stats());

    group.throughput(Throughput::Elements(BASELINE_APPENDS));
    group.bench_function(format!("{BASELINE_APPENDS}_appends_1_task_baseline"), |b| {
        b.iter_custom(|iters| rt.block_on(timed(iters, || sequential_round(&store, &next_version))))
    });
    group.finish();
    rt.block_on(store.close());
}

fn report_batches(backend: &str, what: &str, before: StoreStats, after: StoreStats) {
    let appends = after.appends - before.appends;
    let commits = after.commits - before.commits;
    println!(
        "{backend} {what}: {appends} appends in {commits} commits (mean batch {:.1})",
        appends as f64 / commits.max(1) as f64
    );
}

async fn timed<F, Fut>(iters: u64, mut round: F) -> Duration
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = ()>,
{
    let mut total = Duration::ZERO;
    for _ in 0..iters {
        let start = Instant::now();
        round().await;
        total += start.elapsed();
    }
    total
}

/// `APPENDS` appends split over `TASKS` tasks, each appending sequentially to its user.
async fn concurrent_round(store: &Store, next_version: &AtomicU64) {
    let per_task = APPENDS / TASKS;
    let extra = APPENDS % TASKS;
    let base = next_version.fetch_add(per_task + 1, Ordering::Relaxed);
    let tasks: Vec<_> = (0..TASKS)
        .map(|t| {
            let store = store.clone();
            let count = per_task + u64::from(t < extra);
            tokio::spawn(async move {
                let user = format!("bench-{t}");
                for v in base..base + count {
                    store.append(entry(&user, v)).await.expect("append");
                }
            })
        })
        .collect();
    for t in tasks {
        t.await.expect("append task");
    }
}

/// The no-batching baseline: one task, each append waits for its own commit.
async fn sequential_round(store: &Store, next_version: &AtomicU64) {
    let base = next_version.fetch_add(BASELINE_APPENDS, Ordering::Relaxed);
    for v in base..base + BASELINE_APPENDS {
        store.append(entry("bench-seq", v)).await.expect("append");
    }
}

fn entry(user: &str, version: u64) -> LogEntry {
    LogEntry {
        user: user.to_string(),
        version,
        device: "tv-1".into(),
        seq: version,
        at_ms: 1_700_000_000_000,
        payload: br#"{"op":"watchlist_add","id":"content:123456","at":"1700000000000-tv-1"}"#
            .to_vec(),
    }
}
