//! The contract every backend must meet. Each case is an async fn over a [`Fixture`].

use std::time::Duration;

use baton_store::{LogBounds, Store, StoreError, StoreOptions};

use crate::fixture::{entry, Fixture};
use crate::Case;

/// Every case, by name.
pub const ALL: &[(&str, Case)] = &[
    ("append_load_round_trip", |f| {
        Box::pin(append_load_round_trip(f))
    }),
    ("order_preserved", |f| Box::pin(order_preserved(f))),
    ("duplicate_conflicts_rest_of_batch_commits", |f| {
        Box::pin(duplicate_conflicts_rest_of_batch_commits(f))
    }),
    ("append_many_is_all_or_nothing", |f| {
        Box::pin(append_many_is_all_or_nothing(f))
    }),
    ("concurrent_appends_batch_and_stay_ordered", |f| {
        Box::pin(concurrent_appends_batch_and_stay_ordered(f))
    }),
    ("reopen_sees_everything", |f| {
        Box::pin(reopen_sees_everything(f))
    }),
    ("bad_input_rejected_and_nothing_written", |f| {
        Box::pin(bad_input_rejected_and_nothing_written(f))
    }),
    ("close_flushes_queued_appends", |f| {
        Box::pin(close_flushes_queued_appends(f))
    }),
];

pub(crate) fn versions(store_log: &[baton_store::LogEntry]) -> Vec<u64> {
    store_log.iter().map(|e| e.version).collect()
}

async fn append_load_round_trip(fx: Fixture) {
    let store = fx.open().await;
    store.ping().await.expect("ping");
    let expected_name = match fx.cfg {
        baton_store::StoreConfig::Sqlite { .. } => "sqlite",
        baton_store::StoreConfig::Postgres { .. } => "postgres",
    };
    assert_eq!(store.backend_name(), expected_name);
    assert_eq!(
        store.load("alice").await.expect("load empty"),
        Default::default()
    );

    let written: Vec<_> = (1..=3).map(|v| entry("alice", v)).collect();
    for e in &written {
        store.append(e.clone()).await.expect("append");
    }
    let mut binary = entry("alice", 4);
    binary.payload = vec![0, 255, 1, 254]; // payloads are opaque bytes
    store.append(binary.clone()).await.expect("append binary");

    let record = store.load("alice").await.expect("load");
    assert_eq!(record.snapshot, None);
    let mut expected = written;
    expected.push(binary);
    assert_eq!(record.log, expected);
    assert!(store.load("bob").await.expect("load other").log.is_empty());
    store.close().await;
}

async fn order_preserved(fx: Fixture) {
    let store = fx.open().await;
    // Interleave two users; each user's log comes back in version order.
    for v in 1..=40 {
        store.append(entry("u1", v)).await.expect("append u1");
        store.append(entry("u2", v)).await.expect("append u2");
    }
    // Concurrent appends of one user (distinct versions) all land; load orders by version.
    let pending: Vec<_> = (1..=40)
        .map(|v| {
            let store = store.clone();
            let e = entry("u3", v);
            tokio::spawn(async move { store.append(e).await })
        })
        .collect();
    for p in pending {
        p.await.expect("join").expect("append u3");
    }
    for user in ["u1", "u2", "u3"] {
        let log = store.load(user).await.expect("load").log;
        assert_eq!(versions(&log), (1..=40).collect::<Vec<_>>(), "{user}");
        assert!(log
            .iter()
            .all(|e| e.user == user && *e == entry(user, e.version)));
    }
    store.close().await;
}

async fn duplicate_conflicts_rest_of_batch_commits(fx: Fixture) {
    // A wait window makes the concurrent appends below land in one transaction.
    let store = fx
        .open_with(StoreOptions {
            group_commit_max_wait: Duration::from_millis(200),
            ..StoreOptions::default()
        })
        .await;
    store.append(entry("dup", 1)).await.expect("first append");
    let before = store.stats();

    let mut replaced = entry("dup", 1);
    replaced.payload = b"must not overwrite".to_vec();
    let mut jobs = vec![replaced];
    jobs.extend((2..=20).map(|v| entry("dup", v)));
    jobs.extend((1..=20).map(|v| entry("other", v)));
    jobs.push(entry("other", 7)); // duplicate inside the same batch
    let handles: Vec<_> = jobs
        .into_iter()
        .map(|e| {
            let store = store.clone();
            tokio::spawn(async move { (e.user.clone(), e.version, store.append(e).await) })
        })
        .collect();
    let mut conflicts = Vec::new();
    for h in handles {
        let (user, version, result) = h.await.expect("join");
        match result {
            Ok(()) => {}
            Err(e) if e.is_conflict() => {
                assert!(!e.is_unavailable());
                match e {
                    StoreError::Conflict {
                        user: u,
                        version: v,
                    } => assert_eq!((u, v), (user.clone(), version)),
                    other => panic!("unexpected {other:?}"),
                }
                conflicts.push((user, version));
            }
            Err(e) => panic!("append ({user}, {version}) failed: {e}"),
        }
    }
    conflicts.sort();
    assert_eq!(
        conflicts,
        vec![("dup".to_string(), 1), ("other".to_string(), 7)]
    );

    let dup = store.load("dup").await.expect("load dup").log;
    assert_eq!(versions(&dup), (1..=20).collect::<Vec<_>>());
    assert_eq!(
        dup[0],
        entry("dup", 1),
        "conflicting append must not overwrite"
    );
    let other = store.load("other").await.expect("load other").log;
    assert_eq!(versions(&other), (1..=20).collect::<Vec<_>>());

    let after = store.stats();
    assert_eq!(after.appends - before.appends, 39);
    assert!(
        after.commits - before.commits < 39,
        "appends were not batched: {before:?} -> {after:?}"
    );
    store.close().await;
}

async fn append_many_is_all_or_nothing(fx: Fixture) {
    let store = fx.open().await;
    store.append_many(vec![]).await.expect("empty append_many");
    store
        .append_many((1..=5).map(|v| entry("m", v)).collect())
        .await
        .expect("append_many");
    // 6 and 7 are new, 5 exists: nothing of this call may be written.
    let err = store
        .append_many(vec![entry("m", 6), entry("m", 5), entry("m", 7)])
        .await
        .expect_err("conflict");
    assert!(
        matches!(&err, StoreError::Conflict { user, version: 5 } if user == "m"),
        "{err:?}"
    );
    // Duplicates within one call conflict too.
    let err = store
        .append_many(vec![entry("m", 8), entry("m", 8)])
        .await
        .expect_err("self conflict");
    assert!(err.is_conflict());
    // A concurrent single append in the same batch is unaffected.
    let (many, single) = tokio::join!(
        store.append_many(vec![entry("m", 9), entry("m", 1)]),
        store.append(entry("m", 6)),
    );
    assert!(many.expect_err("conflict").is_conflict());
    single.expect("single append");
    assert_eq!(
        versions(&store.load("m").await.expect("load").log),
        vec![1, 2, 3, 4, 5, 6]
    );
    store.close().await;
}

async fn concurrent_appends_batch_and_stay_ordered(fx: Fixture) {
    const USERS: u64 = 100;
    const PER_USER: u64 = 10;
    let store = fx.open().await;
    let tasks: Vec<_> = (0..USERS)
        .map(|u| {
            let store = store.clone();
            tokio::spawn(async move {
                let user = format!("user-{u}");
                for v in 1..=PER_USER {
                    store.append(entry(&user, v)).await.expect("append");
                }
            })
        })
        .collect();
    for t in tasks {
        t.await.expect("append task");
    }
    let stats = store.stats();
    assert_eq!(stats.appends, USERS * PER_USER);
    assert!(
        stats.commits < stats.appends,
        "no batch held more than one append: {stats:?}"
    );
    store.close().await;

    // Durable: a fresh store on the same data sees every entry, in order.
    let reopened = fx.open().await;
    for u in 0..USERS {
        let user = format!("user-{u}");
        let log = reopened.load(&user).await.expect("load").log;
        assert_eq!(
            log,
            (1..=PER_USER).map(|v| entry(&user, v)).collect::<Vec<_>>(),
            "{user}"
        );
    }
    reopened.close().await;
}

async fn reopen_sees_everything(fx: Fixture) {
    let store = fx.open().await;
    for v in 1..=8 {
        store.append(entry("r", v)).await.expect("append");
    }
    store
        .save_snapshot("r", 3, 0, b"r3")
        .await
        .expect("snapshot");
    store.compact("r", 2).await.expect("compact");
    let before = store.load("r").await.expect("load");
    let bounds = store.log_bounds("r").await.expect("bounds");
    store.close().await;

    let reopened: Store = fx.open().await; // migrations run again: must be a no-op
    assert_eq!(reopened.load("r").await.expect("reload"), before);
    assert_eq!(reopened.log_bounds("r").await.expect("bounds"), bounds);
    assert_eq!(reopened.stats().commits, 0);
    reopened
        .append(entry("r", 9))
        .await
        .expect("append after reopen");
    let err = reopened
        .append(entry("r", 8))
        .await
        .expect_err("still a conflict");
    assert!(err.is_conflict());
    reopened.close().await;
}

async fn bad_input_rejected_and_nothing_written(fx: Fixture) {
    let store = fx.open().await;
    let too_big = i64::MAX as u64 + 1;
    let invalid = |r: Result<(), StoreError>, what: &str| {
        let e = r.expect_err(what);
        assert!(
            e.is_invalid_input() && !e.is_conflict() && !e.is_unavailable(),
            "{what}: {e:?}"
        );
    };
    invalid(store.append(entry("x", 0)).await, "version 0");
    invalid(
        store.append(entry("x", too_big)).await,
        "version > i64::MAX",
    );
    invalid(store.append(entry("x", u64::MAX)).await, "version u64::MAX");
    let mut big_seq = entry("x", 1);
    big_seq.seq = too_big;
    invalid(store.append(big_seq).await, "seq > i64::MAX");
    invalid(store.append(entry("", 1)).await, "empty user");
    invalid(store.append(entry(&"u".repeat(300), 1)).await, "long user");
    invalid(store.append(entry("a\0b", 1)).await, "NUL in user");
    let mut nul_device = entry("x", 1);
    nul_device.device = "tv\0".into();
    invalid(store.append(nul_device).await, "NUL in device");
    invalid(
        store.append_many(vec![entry("x", 1), entry("x", 0)]).await,
        "append_many with version 0",
    );
    invalid(
        store.save_snapshot("x", too_big, 0, b"s").await,
        "snapshot version",
    );
    invalid(
        store.save_snapshot("", 1, 0, b"s").await,
        "snapshot empty user",
    );
    invalid(store.load("").await.map(|_| ()), "load empty user");
    invalid(
        store.log_since("", 0, 10).await.map(|_| ()),
        "log_since empty user",
    );
    invalid(store.compact("", 1).await.map(|_| ()), "compact empty user");
    invalid(store.log_bounds("").await.map(|_| ()), "bounds empty user");

    assert_eq!(
        store.log_bounds("x").await.expect("bounds"),
        LogBounds::default()
    );
    assert_eq!(store.stats().appends, 0);
    // The largest storable version round-trips.
    store
        .append(entry("x", i64::MAX as u64))
        .await
        .expect("i64::MAX version");
    let log = store.load("x").await.expect("load").log;
    assert_eq!(versions(&log), vec![i64::MAX as u64]);
    store.close().await;
}

async fn close_flushes_queued_appends(fx: Fixture) {
    let store = fx.open().await;
    let handles: Vec<_> = (1..=50)
        .map(|v| {
            let store = store.clone();
            tokio::spawn(async move { (v, store.append(entry("q", v)).await) })
        })
        .collect();
    tokio::task::yield_now().await;
    store.close().await;
    let mut acked = Vec::new();
    for h in handles {
        match h.await.expect("join") {
            (v, Ok(())) => acked.push(v),
            (_, Err(StoreError::Closed)) => {}
            (v, Err(e)) => panic!("append {v}: unexpected {e:?}"),
        }
    }
    let err = store.append(entry("q", 1000)).await.expect_err("closed");
    assert!(matches!(err, StoreError::Closed) && err.is_unavailable());
    store.close().await; // idempotent

    let reopened = fx.open().await;
    let mut stored = versions(&reopened.load("q").await.expect("load").log);
    stored.sort_unstable();
    acked.sort_unstable();
    assert_eq!(stored, acked, "exactly the acknowledged appends are stored");
    reopened.close().await;
}
