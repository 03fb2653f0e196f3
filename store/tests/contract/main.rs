//! The store contract suite: every case in `cases.rs` runs against SQLite (a temp file) and
//! against a real Postgres (started by `pg_harness`, or `BATON_TEST_PG_URL`), plus the
//! SQLite crash-durability test in `crash.rs`.
//!
//! `harness = false` (libtest-mimic) so that `main` owns the one Postgres server of the
//! run and stops it after the last case; filters and `--list` work as with libtest.

#![allow(clippy::unwrap_used)]

mod adapter_cases;
mod backup_cases;
mod cases;
mod commit_failure_cases;
mod crash;
mod erase_cases;
mod fixture;
mod owner_cases;
mod snapshot_cases;

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;

use baton_store::pg_harness::PgHarness;
use fixture::{Fixture, Kind};
use libtest_mimic::{Arguments, Failed, Trial};

/// A contract case: an async fn over a fixture that opens stores of one backend.
type Case = fn(Fixture) -> Pin<Box<dyn Future<Output = ()> + Send>>;

/// Longest time one case may take before it counts as hung.
const CASE_TIMEOUT: Duration = Duration::from_secs(120);

fn main() {
    if crash::is_child() {
        crash::child_main();
        return;
    }
    let args = Arguments::from_args();
    let pg = match PgHarness::start() {
        Ok(pg) => Ok(Arc::new(pg)),
        Err(e) => Err(format!("cannot start postgres: {e}")),
    };
    let mut trials = Vec::new();
    for (name, case) in cases::ALL
        .iter()
        .chain(adapter_cases::ALL)
        .chain(owner_cases::ALL)
        .chain(erase_cases::ALL)
        .chain(backup_cases::ALL)
        .chain(snapshot_cases::ALL)
        .chain(commit_failure_cases::ALL)
    {
        trials.push(trial(format!("sqlite::{name}"), Kind::Sqlite, None, *case));
        let pg_trial = match &pg {
            Ok(pg) => trial(
                format!("postgres::{name}"),
                Kind::Postgres,
                Some(Arc::clone(pg)),
                *case,
            ),
            Err(e) => {
                let e = e.clone();
                Trial::test(format!("postgres::{name}"), move || Err(Failed::from(e)))
            }
        };
        trials.push(pg_trial);
    }
    trials.push(Trial::test("sqlite::crash_durability", || {
        run_async(crash::parent())
    }));
    let conclusion = libtest_mimic::run(&args, trials);
    drop(pg); // stops the server (the trials' clones are gone by now)
    conclusion.exit();
}

fn trial(name: String, kind: Kind, pg: Option<Arc<PgHarness>>, case: Case) -> Trial {
    Trial::test(name, move || {
        run_async(async move {
            let fixture = Fixture::new(kind, pg).await;
            case(fixture).await;
        })
    })
}

/// Runs `fut` on a fresh two-thread runtime, turning a panic or a hang into a failure.
fn run_async(fut: impl Future<Output = ()> + Send + 'static) -> Result<(), Failed> {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .map_err(|e| Failed::from(format!("runtime: {e}")))?;
    rt.block_on(async move {
        match tokio::time::timeout(CASE_TIMEOUT, tokio::spawn(fut)).await {
            Err(_) => Err(Failed::from(format!("timed out after {CASE_TIMEOUT:?}"))),
            Ok(Err(join)) if join.is_panic() => {
                let panic = join.into_panic();
                let msg = panic
                    .downcast_ref::<String>()
                    .cloned()
                    .or_else(|| panic.downcast_ref::<&str>().map(|s| s.to_string()))
                    .unwrap_or_else(|| "panicked".into());
                Err(Failed::from(msg))
            }
            Ok(Err(join)) => Err(Failed::from(join.to_string())),
            Ok(Ok(())) => Ok(()),
        }
    })
}
