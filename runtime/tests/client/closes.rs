//! `baton-client` against a real node's close codes: 1001/1012 on SIGTERM,
//! 1011 on a failed commit, 4009 from a newer owner, 4008 for a slow consumer;
//! each followed by a resume.

use std::sync::Arc;
use std::time::Duration;

use tokio::sync::broadcast;

use baton_client::{Client, ConnectionState, Event, MemoryStore};

use super::node::Node;

use super::support::*;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigterm_closes_and_the_client_resumes_on_the_restarted_node() {
    let mut node = Node::start(&[]).await;
    let tv = client(&node, "drain", "tv", "tv", Arc::new(MemoryStore::new()));
    live(&tv).await;
    let mut events = tv.subscribe();
    node.terminate();
    let off = event(&mut events, "offline", |e| {
        matches!(e, Event::Connection(ConnectionState::Offline { .. }))
    })
    .await;
    let Event::Connection(ConnectionState::Offline { reason, .. }) = off else {
        unreachable!()
    };
    assert!(
        reason.contains("1001") || reason.contains("1012"),
        "drain closes with 1001 or 1012: {reason}"
    );
    node.wait_exit();
    tv.add("after:drain").expect("add");
    node.kill9_and_restart().await;
    settle(&tv, "tv", |s| s.contains("after:drain")).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failed_commit_closes_1011_and_the_resend_lands_once() {
    let node = Node::start(&[]).await;
    let tv = client(&node, "f1011", "tv", "tv", Arc::new(MemoryStore::new()));
    live(&tv).await;
    tv.add("ok:1").expect("add");
    settle(&tv, "first", |s| s.contains("ok:1")).await;
    let db = super::sqlite::open(&node.data_path()).await;
    super::sqlite::exec(
        &db,
        "CREATE TRIGGER inject_failure BEFORE INSERT ON store_log \
         BEGIN SELECT RAISE(ABORT, 'injected failure'); END",
    )
    .await;
    let mut events = tv.subscribe();
    tv.add("fails:2").expect("add");
    let off = event(&mut events, "1011", |e| {
        matches!(e, Event::Connection(ConnectionState::Offline { .. }))
    })
    .await;
    assert!(format!("{off:?}").contains("1011"), "{off:?}");
    super::sqlite::exec(&db, "DROP TRIGGER inject_failure").await;
    settle(&tv, "resend", |s| s.contains("fails:2")).await;
    let state = node.state_text("f1011").await;
    assert_eq!(server_vv(&state, "tv"), 2);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_fenced_owner_closes_4009_and_the_client_resumes_at_once() {
    let node = Node::start(&[("BATON_ACTORS__SNAPSHOT_EVERY_OPS", "3")]).await;
    let tv = client(&node, "mv", "tv", "tv", Arc::new(MemoryStore::new()));
    live(&tv).await;
    tv.add("a:0").expect("add");
    settle(&tv, "first", |s| s.contains("a:0")).await;
    // Another node claims the user (a newer epoch): the next snapshot write
    // of this node is fenced and the user moves away from it.
    let db = super::sqlite::open(&node.data_path()).await;
    super::sqlite::exec(
        &db,
        "INSERT INTO store_owners (user_id, epoch, node, claimed_at_ms) \
         VALUES ('mv', 1000000, 'elsewhere', 0) \
         ON CONFLICT(user_id) DO UPDATE SET epoch = 1000000, node = 'elsewhere'",
    )
    .await;
    let mut events = tv.subscribe();
    for i in 1..10 {
        tv.add(&format!("a:{i}")).expect("add");
    }
    let off = event(&mut events, "4009", |e| {
        matches!(e, Event::Connection(ConnectionState::Offline { .. }))
    })
    .await;
    let Event::Connection(ConnectionState::Offline {
        reason,
        retry_in_ms,
    }) = off
    else {
        unreachable!()
    };
    assert!(reason.contains("4009"), "{reason}");
    assert!(
        retry_in_ms <= 100,
        "4009 reconnects at once: {retry_in_ms} ms"
    );
    settle(&tv, "resumed", |s| s.watchlist.len() == 10).await;
    let state = node.state_text("mv").await;
    assert_eq!(server_vv(&state, "tv"), 10);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_slow_consumer_close_4008_is_followed_by_a_resume() {
    // A 9-frame outbound queue: one group commit of three writers' ops
    // (8 in flight each) fans out more deltas to the TV than its queue holds.
    // A short catch-up window: the TV resumes from a snapshot (a few frames)
    // rather than hundreds of deltas that would overflow the queue again.
    let node = Node::start(&[
        ("BATON_LIMITS__MAX_INFLIGHT_OPS", "8"),
        ("BATON_LIMITS__OUTBOUND_QUEUE", "9"),
        ("BATON_ACTORS__LOG_RETENTION_OPS", "10"),
        ("BATON_ACTORS__SNAPSHOT_EVERY_OPS", "10"),
    ])
    .await;
    let tv = client(&node, "sc", "tv", "tv", Arc::new(MemoryStore::new()));
    live(&tv).await;
    let mut events = tv.subscribe();
    let writers: Vec<Client> = ["phone", "web", "tablet"]
        .iter()
        .map(|d| client(&node, "sc", d, "mobile", Arc::new(MemoryStore::new())))
        .collect();
    for w in &writers {
        live(w).await;
    }
    // Whether the queue overflows depends on how many ops one group commit
    // carries, which the machine's scheduling decides (a loaded machine may
    // send the writers' ops slower than the store commits them): write
    // rounds of 600 ops until the TV is closed with 4008, at most five.
    let mut rounds = 0;
    let off = loop {
        rounds += 1;
        for i in 0..200 {
            for (n, w) in writers.iter().enumerate() {
                w.add(&format!("w{n}:{rounds}:{i}")).expect("add");
            }
        }
        let seen = tokio::time::timeout(Duration::from_secs(10), async {
            loop {
                match events.recv().await {
                    Ok(e @ Event::Connection(ConnectionState::Offline { .. }))
                        if format!("{e:?}").contains("4008") =>
                    {
                        return Some(e)
                    }
                    Ok(_) | Err(broadcast::error::RecvError::Lagged(_)) => {}
                    Err(broadcast::error::RecvError::Closed) => return None,
                }
            }
        })
        .await;
        if let Ok(Some(off)) = seen {
            break off;
        }
        assert!(rounds < 5, "no 4008 after {rounds} rounds of 600 ops");
    };
    assert!(format!("{off:?}").contains("4008"));
    let total = rounds * 600;
    for w in &writers {
        settle(w, "writer", |s| s.watchlist.len() == total).await;
    }
    settle(&tv, "tv resumes", |s| s.watchlist.len() == total).await;
}
