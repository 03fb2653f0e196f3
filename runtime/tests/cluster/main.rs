//! The cluster, as real processes: nodes on 127.0.0.1/.2/.3(/.4) sharing a
//! real Postgres and a real Redis that this binary starts (one of each for
//! the run; a fresh database per case). Cases run one at a time: each starts
//! several nodes and the machine has two cores.
//!
//! Figures (failover time, users moved) are printed, not asserted: a timing
//! must not make a test flaky. What is asserted is what must always hold:
//! nothing acknowledged is lost, every node answers the same state, users
//! move to the right nodes, and devices see nothing worse than a reconnect.

#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

mod cases;
mod device;
mod erase;
mod node;
mod proxy;

#[path = "../../../transport/tests/common/redis_server.rs"]
mod redis_server;

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;

use baton_store::pg_harness::PgHarness;
use libtest_mimic::{Arguments, Failed, Trial};

/// What every case gets: a fresh database on the shared Postgres, and Redis.
pub struct Env {
    pub database_url: String,
    pub redis_url: String,
    pub dir: tempfile::TempDir,
}

type Case = fn(Env) -> Pin<Box<dyn Future<Output = ()> + Send>>;

fn main() {
    let mut args = Arguments::from_args();
    args.test_threads = Some(1);
    let pg = PgHarness::start().map(Arc::new).map_err(|e| e.to_string());
    let redis = Arc::new(redis_server::RedisServer::start());
    let trials = cases::ALL
        .iter()
        .map(|(name, case)| {
            let (pg, redis, case) = (pg.clone(), Arc::clone(&redis), *case);
            Trial::test(*name, move || {
                let pg = pg.map_err(|e| Failed::from(format!("cannot start postgres: {e}")))?;
                let rt = tokio::runtime::Runtime::new().map_err(|e| Failed::from(e.to_string()))?;
                rt.block_on(async move {
                    let database_url = pg
                        .create_database()
                        .await
                        .map_err(|e| Failed::from(e.to_string()))?;
                    let env = Env {
                        database_url,
                        redis_url: redis.url(),
                        dir: tempfile::tempdir().map_err(|e| Failed::from(e.to_string()))?,
                    };
                    tokio::spawn(case(env))
                        .await
                        .map_err(|e| Failed::from(format!("case panicked: {e}")))
                })
            })
        })
        .collect();
    let conclusion = libtest_mimic::run(&args, trials);
    drop(redis);
    drop(pg);
    conclusion.exit();
}
