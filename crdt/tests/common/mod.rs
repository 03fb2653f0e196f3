//! Shared test configuration.
#![allow(dead_code)]

use proptest::test_runner::{Config, FileFailurePersistence};

/// 10,000 cases, failures persisted under `crdt/proptest-regressions/`.
pub fn config(file: &'static str) -> Config {
    Config {
        failure_persistence: Some(Box::new(FileFailurePersistence::Direct(file))),
        ..Config::with_cases(10_000)
    }
}
