//! A commit that fails acknowledges nothing: the device is closed with 1011,
//! resends after reconnecting, and the op is applied exactly once. The fault
//! is injected in the real SQLite file with a trigger.

mod common;

use common::*;
use sqlx::Connection;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn failed_commit_is_not_acked_and_the_resend_lands_once() {
    let server = TestServer::sqlite(test_config()).await;
    let path = server.sqlite_path().expect("sqlite path");
    let mut tv = server.device("f", "tv", "tv").await;
    let s1 = tv.op(add("ok:1")).await;
    tv.wait_ack(s1).await;

    let url = format!("sqlite://{}", path.display());
    let mut db = sqlx::SqliteConnection::connect(&url)
        .await
        .expect("open sqlite");
    sqlx::query(
        "CREATE TRIGGER inject_failure BEFORE INSERT ON store_log \
         BEGIN SELECT RAISE(ABORT, 'injected failure'); END",
    )
    .execute(&mut db)
    .await
    .expect("trigger");

    let s2 = tv.op(add("fails:2")).await;
    assert_eq!(s2, 2);
    // No ack for seq 2: the actor closes the device with 1011 instead.
    let code = loop {
        match next_json(&mut tv.ws).await {
            Ok(frame) => assert_ne!(
                frame["type"], "ack",
                "a failed commit must not be acknowledged: {frame}"
            ),
            Err(code) => break code,
        }
    };
    assert_eq!(code, Some(1011));
    let (doc, unacked, _) = tv.go_offline().await;
    assert_eq!(unacked.len(), 1);

    sqlx::query("DROP TRIGGER inject_failure")
        .execute(&mut db)
        .await
        .expect("drop trigger");
    // Reconnect: the actor is reactivated from the store and the resend lands.
    let mut tv = TestDevice::connect(&server, "f", "tv", "tv", doc, unacked).await;
    // Version 1 registered the tv (a control record); its ops are 2 and 3.
    let v = tv.wait_ack(2).await;
    assert_eq!(v, 3);
    let state = server.state("f").await;
    assert_eq!(state["version"], 3);
    assert_eq!(rest_watchlist(&state), vec!["fails:2", "ok:1"]);
    server.stop().await;
}
