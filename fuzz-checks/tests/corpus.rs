//! Replays every committed fuzz input (`fuzz/seeds/`, `fuzz/corpus/` and
//! `fuzz/regressions/`, one folder per target) through the same checks the
//! cargo-fuzz targets run, on stable Rust, so the corpora and every crash
//! ever found stay in `cargo test --workspace`.

use std::panic::{catch_unwind, AssertUnwindSafe};
use std::path::{Path, PathBuf};

use baton_fuzz_checks::{seeds, Target, TARGETS};

fn fuzz_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../fuzz")
}

/// The files of `fuzz/<kind>/<target>/`, sorted (none if the folder is absent).
fn inputs(kind: &str, target: &str) -> Vec<PathBuf> {
    let dir = fuzz_dir().join(kind).join(target);
    let Ok(entries) = std::fs::read_dir(&dir) else {
        return Vec::new();
    };
    let mut files: Vec<PathBuf> = entries
        .filter_map(Result::ok)
        .map(|e| e.path())
        .filter(|p| p.is_file())
        .collect();
    files.sort();
    files
}

/// Runs `target`'s check on every file of `kind`; returns how many ran and
/// the files whose check panicked.
fn replay(kind: &str, target: &Target) -> (usize, Vec<String>) {
    let files = inputs(kind, target.name);
    let mut failed = Vec::new();
    for file in &files {
        let data = std::fs::read(file).unwrap_or_else(|e| panic!("{}: {e}", file.display()));
        if catch_unwind(AssertUnwindSafe(|| (target.check)(&data))).is_err() {
            failed.push(file.display().to_string());
        }
    }
    (files.len(), failed)
}

fn replay_all(kind: &str, require_inputs: bool) {
    let mut failed = Vec::new();
    for target in TARGETS {
        let (ran, bad) = replay(kind, target);
        assert!(
            ran > 0 || !require_inputs,
            "fuzz/{kind}/{} holds no inputs",
            target.name
        );
        failed.extend(bad);
    }
    assert!(failed.is_empty(), "checks failed on: {failed:#?}");
}

#[test]
fn seeds_pass_every_check() {
    replay_all("seeds", true);
}

#[test]
fn minimized_corpora_pass_every_check() {
    replay_all("corpus", true);
}

#[test]
fn recorded_crashes_stay_fixed() {
    replay_all("regressions", false);
}

/// The snapshot seeds are in the current snapshot format: a format change
/// must come with `cargo run -p baton-fuzz-checks --bin fuzz-seeds`.
#[test]
fn snapshot_seeds_are_current() {
    for seed in seeds::all().into_iter().filter(|s| s.target == "snapshot") {
        let path = fuzz_dir().join("seeds/snapshot").join(&seed.name);
        let committed = std::fs::read(&path).unwrap_or_default();
        assert!(
            committed == seed.data,
            "{} is stale: run `cargo run -p baton-fuzz-checks --bin fuzz-seeds`",
            path.display()
        );
    }
}

/// Every target has a seed, and the seeds decode as their targets expect
/// (a seed the target rejects up front would seed nothing).
#[test]
fn every_target_has_seeds() {
    let all = seeds::all();
    for target in TARGETS {
        assert!(
            all.iter().any(|s| s.target == target.name),
            "no seed for {}",
            target.name
        );
    }
}
