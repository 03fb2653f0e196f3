//! The TypeScript client (`clients/ts`, `@baton/client`) inside the one test
//! command: `npm ci` (skipped while `node_modules` matches the committed
//! `package-lock.json`), then its suites against this build's `baton` binary:
//! `npm test` (conformance vectors, the engine, a real node: offline edits,
//! kill -9, close codes, snapshot resume, token refresh, handoff, limits) and
//! `npm run test:browser` (the demo player in headless Chromium). A missing
//! `node`/`npm`/Chromium fails with a message saying what to install.

use std::path::{Path, PathBuf};
use std::process::Command;

const BIN: &str = env!("CARGO_BIN_EXE_baton");

fn client_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../clients/ts")
}

fn run(dir: &Path, args: &[&str]) {
    let chromium = std::env::var("CHROMIUM_BIN").unwrap_or_else(|_| "/usr/bin/chromium".into());
    let status = Command::new("npm")
        .args(args)
        .current_dir(dir)
        .env("BATON_BIN", BIN)
        .env("CHROMIUM_BIN", chromium)
        .status()
        .unwrap_or_else(|e| panic!("cannot run npm ({e}): install Node.js 20 and npm"));
    assert!(
        status.success(),
        "npm {} failed in {}",
        args.join(" "),
        dir.display()
    );
}

/// `npm ci` unless `node_modules` was installed from this very lockfile.
fn npm_ci(dir: &Path) {
    let lock = std::fs::read(dir.join("package-lock.json")).expect("clients/ts/package-lock.json");
    let stamp = dir.join("node_modules/.baton-ci-lock");
    if std::fs::read(&stamp).is_ok_and(|s| s == lock) {
        return;
    }
    run(dir, &["ci", "--no-audit", "--no-fund"]);
    std::fs::write(&stamp, &lock).expect("write the npm ci stamp");
}

#[test]
fn typescript_client_suites() {
    let dir = client_dir();
    npm_ci(&dir);
    run(&dir, &["test"]);
    run(&dir, &["run", "test:browser"]);
}
