//! Contract cases for how the committer answers: a group commit the database refuses
//! fails its batch (nothing of it written) and the committer goes on; an append with a
//! completion callback is answered exactly once, also when the store closes. (On
//! SQLite the committer is the writer thread with its own connection.)

use crate::fixture::{entry, refuse_rows_of_bad, Fixture};
use crate::Case;
use baton_store::StoreError;

/// Every case, by name.
pub const ALL: &[(&str, Case)] = &[
    (
        "a_refused_commit_fails_its_batch_and_the_committer_goes_on",
        |f| {
            Box::pin(a_refused_commit_fails_its_batch_and_the_committer_goes_on(
                f,
            ))
        },
    ),
    (
        "a_callback_append_is_answered_once_committed_or_closed",
        |f| Box::pin(a_callback_append_is_answered_once_committed_or_closed(f)),
    ),
];

async fn a_callback_append_is_answered_once_committed_or_closed(fx: Fixture) {
    let store = fx.open().await;
    let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel();
    let answer = |v: u64| {
        let tx = tx.clone();
        move |r: Result<(), StoreError>| {
            let _ = tx.send((v, r));
        }
    };
    for v in 1..=30 {
        store
            .append_claimed_then(vec![entry("cb", v)], 0, answer(v))
            .await;
    }
    // Answered only once durable: a fresh store sees what was answered Ok.
    let mut acked = Vec::new();
    while acked.len() < 30 {
        let (v, r) = rx.recv().await.expect("answer");
        r.expect("committed");
        acked.push(v);
    }
    acked.sort_unstable();
    assert_eq!(acked, (1..=30).collect::<Vec<_>>());

    let mut bad = entry("cb", 31);
    bad.version = 0;
    store.append_claimed_then(vec![bad], 0, answer(31)).await;
    let (v, r) = rx.recv().await.expect("answer");
    assert!(v == 31 && r.expect_err("invalid").is_invalid_input());

    store.close().await;
    store
        .append_claimed_then(vec![entry("cb", 32)], 0, answer(32))
        .await;
    let (v, r) = rx.recv().await.expect("answer");
    assert!(v == 32 && matches!(r, Err(StoreError::Closed)));
    drop(tx);
    assert!(
        rx.recv().await.is_none(),
        "each append answered exactly once"
    );

    let reopened = fx.open().await;
    assert_eq!(reopened.load("cb").await.expect("load").log.len(), 30);
    reopened.close().await;
}

async fn a_refused_commit_fails_its_batch_and_the_committer_goes_on(fx: Fixture) {
    let store = fx.open().await;
    store.append(entry("good", 1)).await.expect("before");
    refuse_rows_of_bad(&fx.cfg, "store_log").await;

    let err = store.append(entry("bad", 1)).await.expect_err("refused");
    assert!(
        matches!(err, StoreError::Database(_)) && !err.is_unavailable(),
        "a refusal is a permanent database error: {err:?}"
    );
    let err = store
        .append_many(vec![entry("bad", 2), entry("bad", 3)])
        .await
        .expect_err("refused");
    assert!(matches!(err, StoreError::Database(_)), "{err:?}");

    // Appends sharing a batch with a refused one fail with it; the others commit.
    let (bad, good) = tokio::join!(store.append(entry("bad", 4)), async {
        let mut acked = Vec::new();
        for v in 2..=20 {
            match store.append(entry("good", v)).await {
                Ok(()) => acked.push(v),
                Err(StoreError::Database(_)) => {}
                Err(e) => panic!("good {v}: unexpected {e:?}"),
            }
        }
        acked
    });
    assert!(bad.is_err());
    store.append(entry("good", 21)).await.expect("after");

    assert!(store.load("bad").await.expect("load").log.is_empty());
    let stored: Vec<u64> = store
        .load("good")
        .await
        .expect("load")
        .log
        .iter()
        .map(|e| e.version)
        .collect();
    let mut expected = vec![1];
    expected.extend(good);
    expected.push(21);
    assert_eq!(
        stored, expected,
        "exactly the acknowledged appends are stored"
    );
    store.close().await;
}
