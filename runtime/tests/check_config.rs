//! `baton check-config` as a process: a valid file with secrets prints the effective
//! settings (the file's and the environment's values applied, secrets masked) and
//! exits 0; an invalid value exits 1 naming the key.

mod common;

use std::process::Command;

fn check(file: &std::path::Path, env: &[(&str, &str)]) -> (bool, String, String) {
    let mut cmd = Command::new(common::BIN);
    cmd.arg("--config").arg(file).arg("check-config");
    for var in [
        "BATON_LISTEN",
        "BATON_DATA_DIR",
        "BATON_DATABASE_URL",
        "BATON_CONFIG",
    ] {
        cmd.env_remove(var);
    }
    for (k, v) in env {
        cmd.env(k, v);
    }
    let out = cmd.output().expect("baton runs");
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn valid_file_prints_effective_settings_with_secrets_masked() {
    let dir = tempfile::tempdir().expect("tempdir");
    let file = dir.path().join("baton.toml");
    std::fs::write(
        &file,
        "redis-url = \"redis://:hunter2@127.0.0.1:6379\"\n\
         [store]\ndatabase-url = \"postgres://baton:pgsecret@db/baton\"\n\
         [cluster]\nenabled = true\nsecret = \"0123456789abcdef-secret\"\n\
         [limits]\nmax-message-bytes = 131072\n",
    )
    .expect("write");
    let (ok, out, err) = check(&file, &[("BATON_LIMITS__OUTBOUND_QUEUE", "300")]);
    assert!(ok, "{err}");
    assert!(out.contains("max-message-bytes = 131072"), "{out}");
    assert!(
        out.contains("outbound-queue = 300"),
        "the environment applies:\n{out}"
    );
    assert!(out.contains("postgres://baton:********@db/baton"), "{out}");
    for secret in ["hunter2", "pgsecret", "0123456789abcdef-secret"] {
        assert!(
            !out.contains(secret) && !err.contains(secret),
            "{secret} leaked"
        );
    }
}

#[test]
fn invalid_value_fails_naming_the_key() {
    let dir = tempfile::tempdir().expect("tempdir");
    let file = dir.path().join("baton.toml");
    std::fs::write(&file, "[limits]\nmax-message-bytes = 10\n").expect("write");
    let (ok, out, err) = check(&file, &[]);
    assert!(!ok, "{out}");
    assert!(err.contains("limits.max-message-bytes"), "{err}");
    let (ok, _, err) = check(&dir.path().join("missing.toml"), &[]);
    assert!(!ok);
    assert!(err.contains("does not exist"), "{err}");
}
