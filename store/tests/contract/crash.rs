//! SQLite crash durability: a child process (this test binary, re-executed with
//! `BATON_STORE_CRASH_CHILD=<db path>`) appends from several tasks and prints each entry
//! after `append` returned; the parent SIGKILLs it mid-stream, reopens the file and checks
//! that every printed (acknowledged) entry is there.

use std::io::{BufRead, BufReader};
use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use baton_store::{Store, StoreConfig, StoreOptions};

use crate::fixture::entry;

const CHILD_ENV: &str = "BATON_STORE_CRASH_CHILD";
/// Acknowledged entries to see before the kill.
const ACKS_BEFORE_KILL: usize = 400;
/// Appending tasks in the child (so kills land in the middle of group commits).
const CHILD_TASKS: usize = 16;
/// Upper bound on what one child task appends (the child is killed long before).
const CHILD_MAX_PER_TASK: u64 = 100_000;

pub fn is_child() -> bool {
    std::env::var_os(CHILD_ENV).is_some()
}

/// Child side: append until killed, printing `user version` after each acknowledged append.
pub fn child_main() {
    let path = PathBuf::from(std::env::var_os(CHILD_ENV).expect("child env"));
    let rt = tokio::runtime::Runtime::new().expect("runtime");
    rt.block_on(async move {
        let cfg = StoreConfig::Sqlite { path };
        let store = Store::open(&cfg, StoreOptions::default())
            .await
            .expect("child open");
        let tasks: Vec<_> = (0..CHILD_TASKS)
            .map(|t| {
                let store = store.clone();
                tokio::spawn(async move {
                    let user = format!("crash-{t}");
                    for v in 1..=CHILD_MAX_PER_TASK {
                        store.append(entry(&user, v)).await.expect("child append");
                        println!("{user} {v}"); // stdout is line-buffered into the pipe
                    }
                })
            })
            .collect();
        for t in tasks {
            let _ = t.await;
        }
    });
}

/// Parent side: run the child, kill it, verify.
pub async fn parent() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("crash.db");
    let exe = std::env::current_exe().expect("current exe");
    let mut child = Command::new(exe)
        .env(CHILD_ENV, &path)
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .expect("spawn child");
    let stdout = child.stdout.take().expect("child stdout");

    // Blocking reads on a thread: collect acks, kill after enough, then drain to EOF.
    let acked = tokio::task::spawn_blocking(move || {
        let deadline = Instant::now() + Duration::from_secs(90);
        let mut acked = Vec::new();
        let mut lines = BufReader::new(stdout).lines();
        while acked.len() < ACKS_BEFORE_KILL && Instant::now() < deadline {
            match lines.next() {
                Some(Ok(line)) => acked.push(line),
                _ => break,
            }
        }
        child.kill().expect("SIGKILL child");
        // Lines the child printed before dying are still in the pipe: they count too.
        acked.extend(lines.map_while(Result::ok));
        let status = child.wait().expect("wait child");
        (acked, status)
    })
    .await
    .expect("reader thread");
    let (acked, status) = acked;
    assert!(
        !status.success(),
        "child must have been killed, got {status}"
    );
    assert!(
        acked.len() >= ACKS_BEFORE_KILL,
        "child acknowledged only {} appends",
        acked.len()
    );

    let store = Store::open(&StoreConfig::Sqlite { path }, StoreOptions::default())
        .await
        .expect("reopen after crash");
    for line in &acked {
        let (user, version) = line.split_once(' ').expect("ack line");
        let version: u64 = version.parse().expect("ack version");
        let log = store
            .log_since(user, version - 1, 1)
            .await
            .expect("log_since");
        assert_eq!(log, vec![entry(user, version)], "acknowledged {line} lost");
    }
    store.close().await;
}
