//! The OpenAPI document matches the server: schemathesis (pinned, from PyPI,
//! in a venv under the target directory) runs every check against a node
//! started in-process, with a fixed seed and a bounded number of examples per
//! operation, authenticated by a token holding every REST scope. Any finding
//! (undocumented status, schema-valid input refused, schema-violating input
//! accepted, a 5xx, a body not matching its schema, ...) fails the test.
//!
//! The first run creates the venv (`python3 -m venv` + `pip install`); it
//! fails with a clear message if PyPI cannot be reached. Set
//! `BATON_SCHEMATHESIS` to an existing `st` executable to use that instead.

mod common;

use std::path::{Path, PathBuf};
use std::process::Output;
use std::time::Duration;

use baton_transport::auth::Scope;
use common::{test_config, TestServer};

/// The schemathesis release the suite is pinned to.
const SCHEMATHESIS: &str = "schemathesis==4.32.5";
/// Examples per operation and phase (15 operations; about a minute on two cores).
const MAX_EXAMPLES: u32 = 60;
/// The run's random seed: the same cases on every run.
const SEED: u64 = 20_251_201;
/// Longest the run may take.
const RUN_TIMEOUT: Duration = Duration::from_secs(240);

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn openapi_document_matches_the_server() {
    let st = schemathesis().await;
    let server = TestServer::sqlite(test_config()).await;
    let token = server.token_with(
        "svc",
        None,
        &[
            Scope::ServiceRead,
            Scope::AdminRevoke,
            Scope::AdminErase,
            Scope::ReadWatchlist,
            Scope::ReadPreferences,
        ],
    );
    let reports = tempfile::tempdir().expect("report dir");
    let run = tokio::process::Command::new(&st)
        .arg("run")
        .arg(server.url("/openapi.json"))
        .args(["--checks", "all"])
        // Every user id reads as a (possibly empty) state: before its first write and
        // after `DELETE /v1/users/{user}`, which erases the user's data, not the id. So
        // a read after the erasure answers 200 with an empty state, which
        // `use_after_free` (ST301) takes for a deleted resource still served.
        .args(["--exclude-checks", "use_after_free"])
        .args(["--max-examples", &MAX_EXAMPLES.to_string()])
        .args(["--seed", &SEED.to_string()])
        .args(["--header", &format!("Authorization: Bearer {token}")])
        .args(["--generation-database", "none"])
        .args(["--workers", "1"])
        .arg("--no-color")
        .arg("--report-dir")
        .arg(reports.path())
        .kill_on_drop(true)
        .output();
    let out = tokio::time::timeout(RUN_TIMEOUT, run)
        .await
        .expect("schemathesis finished in time")
        .expect("schemathesis runs");
    let text = String::from_utf8_lossy(&out.stdout);
    let cases = text
        .lines()
        .find(|l| l.contains(" generated,"))
        .unwrap_or("(no case count printed)")
        .trim()
        .to_owned();
    println!("schemathesis {SCHEMATHESIS}, seed {SEED}, {MAX_EXAMPLES} examples: {cases}");
    assert!(
        out.status.success(),
        "schemathesis found conformance failures ({cases}):\n{text}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        cases.contains(" passed"),
        "schemathesis ran no cases: {text}"
    );
    server.stop().await;
}

/// The `st` executable: `BATON_SCHEMATHESIS`, else the pinned release in a
/// venv under the target directory (created once).
async fn schemathesis() -> PathBuf {
    if let Some(st) = std::env::var_os("BATON_SCHEMATHESIS") {
        return PathBuf::from(st);
    }
    let venv = Path::new(env!("CARGO_TARGET_TMPDIR")).join("schemathesis-4.32.5");
    let st = venv.join("bin").join("st");
    let installed = venv.join("installed");
    if installed.is_file() {
        return st;
    }
    // A venv left half-made by an interrupted run is made again.
    let _ = std::fs::remove_dir_all(&venv);
    let made = run_tool("python3", &["-m", "venv"], &venv).await;
    assert!(
        made.status.success(),
        "`python3 -m venv {}` failed (python3 with the venv module is needed for the OpenAPI conformance test):\n{}",
        venv.display(),
        String::from_utf8_lossy(&made.stderr)
    );
    let pip = venv.join("bin").join("pip");
    let pip = pip.to_str().expect("utf-8 path");
    let got = run_tool(
        pip,
        &[
            "install",
            "--quiet",
            "--disable-pip-version-check",
            SCHEMATHESIS,
        ],
        Path::new(""),
    )
    .await;
    assert!(
        got.status.success(),
        "`pip install {SCHEMATHESIS}` failed: the OpenAPI conformance test needs PyPI (or set \
         BATON_SCHEMATHESIS to an installed `st`):\n{}",
        String::from_utf8_lossy(&got.stderr)
    );
    std::fs::write(&installed, SCHEMATHESIS).expect("mark the venv complete");
    st
}

async fn run_tool(program: &str, args: &[&str], path_arg: &Path) -> Output {
    let mut cmd = tokio::process::Command::new(program);
    cmd.args(args);
    if !path_arg.as_os_str().is_empty() {
        cmd.arg(path_arg);
    }
    cmd.output()
        .await
        .unwrap_or_else(|e| panic!("cannot run {program}: {e}"))
}
