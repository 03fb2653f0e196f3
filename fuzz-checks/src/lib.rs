//! # baton-fuzz-checks
//!
//! The property each fuzz target checks, written once and run from two
//! places: the cargo-fuzz targets in `fuzz/fuzz_targets/` (nightly,
//! libFuzzer) call [`run`] with the fuzzer's bytes, and the stable test
//! `tests/corpus.rs` calls it with every committed input under `fuzz/seeds/`,
//! `fuzz/corpus/` and `fuzz/regressions/`, so the corpora run in
//! `cargo test --workspace` and the two cannot drift apart.
//!
//! A check returns normally when the code under test behaved: it refused the
//! input with a typed error, or accepted it and the invariants named in each
//! module hold. It panics otherwise, and that panic is the finding.
//!
//! Every parser is reached through the public API its crate already exposes;
//! no crate gained a fuzzing-only entry point.
//!
//! [`seeds`] builds the seed inputs from code (`cargo run -p
//! baton-fuzz-checks --bin fuzz-seeds` writes them to `fuzz/seeds/`).

pub mod client_frame;
pub mod envelope;
pub mod jwt;
pub mod prefs_change;
pub mod seeds;
pub mod snapshot;
pub mod user_ops;

/// One fuzz target: its name (the file in `fuzz/fuzz_targets/` and the
/// folder under `fuzz/corpus/`) and its check.
#[derive(Debug, Clone, Copy)]
pub struct Target {
    /// Target name.
    pub name: &'static str,
    /// The check: returns, or panics on a finding.
    pub check: fn(&[u8]),
}

/// Every target.
pub const TARGETS: &[Target] = &[
    Target {
        name: "client_frame",
        check: client_frame::check,
    },
    Target {
        name: "snapshot",
        check: snapshot::check,
    },
    Target {
        name: "prefs_change",
        check: prefs_change::check,
    },
    Target {
        name: "jwt",
        check: jwt::check,
    },
    Target {
        name: "envelope",
        check: envelope::check,
    },
    Target {
        name: "user_ops",
        check: user_ops::check,
    },
];
