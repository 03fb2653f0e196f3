//! The Prometheus rules and the Grafana dashboard, checked with `promtool` (Debian's
//! `prometheus` package; `.ci/run` installs it when missing):
//!
//! - `promtool check rules` over `rules.yml` and `alerts.yml`;
//! - `promtool test rules tests.yml`: every alert fires from synthetic series, and
//!   stays quiet in the calm case;
//! - every alert is fired by at least one test and has a `runbook` annotation whose
//!   anchor is a heading of `docs/OPERATIONS.md`;
//! - every dashboard query is valid PromQL (checked by promtool as a recording rule)
//!   and every recorded series (`baton:...`) a query or alert uses is defined.
//!
//! That every metric named here exists on a real node is checked by
//! `runtime/tests/metrics_coverage.rs`.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::Command;

use baton_deploy::monitoring::{dashboard_exprs, referenced_names, rules};

fn deploy() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn read(path: &Path) -> String {
    std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// Run promtool, failing loudly when it is not installed.
fn promtool(args: &[&str]) -> String {
    let out = Command::new("promtool")
        .args(args)
        .current_dir(deploy().join("prometheus"))
        .output()
        .unwrap_or_else(|e| {
            panic!(
                "promtool could not be run ({e}). It comes with Debian's `prometheus` package: \
                 `apt-get install -y prometheus` (.ci/run does this when promtool is missing)"
            )
        });
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(out.status.success(), "promtool {args:?} failed:\n{text}");
    text
}

#[test]
fn rule_files_pass_promtool_check() {
    let text = promtool(&["check", "rules", "rules.yml", "alerts.yml"]);
    assert_eq!(text.matches("SUCCESS").count(), 2, "{text}");
}

#[test]
fn every_alert_fires_in_the_promtool_unit_tests() {
    let text = promtool(&["test", "rules", "tests.yml"]);
    assert!(text.contains("SUCCESS"), "{text}");
}

fn alert_rules() -> Vec<baton_deploy::monitoring::Rule> {
    let alerts = rules(&read(&deploy().join("prometheus/alerts.yml"))).expect("alerts.yml");
    assert!(
        alerts.iter().all(|r| r.alert.is_some()),
        "alerts.yml holds only alerts"
    );
    alerts
}

#[test]
fn every_alert_is_tested_and_has_a_runbook_entry() {
    let tests: serde_norway::Value =
        serde_norway::from_str(&read(&deploy().join("prometheus/tests.yml"))).expect("tests.yml");
    let mut fired = BTreeSet::new();
    for test in tests["tests"].as_sequence().expect("tests") {
        for case in test["alert_rule_test"].as_sequence().into_iter().flatten() {
            let expected = case["exp_alerts"].as_sequence().map_or(0, Vec::len);
            if expected > 0 {
                fired.insert(case["alertname"].as_str().expect("alertname").to_owned());
            }
        }
    }
    let runbook = read(&deploy().join("../docs/OPERATIONS.md"));
    let anchors: BTreeSet<String> = runbook
        .lines()
        .filter_map(|l| l.strip_prefix("### "))
        .map(|h| h.trim().to_ascii_lowercase())
        .collect();
    for rule in alert_rules() {
        let name = rule.alert.expect("alert");
        assert!(fired.contains(&name), "{name}: no promtool test fires it");
        let link = rule.annotations.get("runbook").expect("runbook annotation");
        let anchor = link
            .strip_prefix("docs/OPERATIONS.md#")
            .unwrap_or_else(|| panic!("{name}: runbook {link} is not docs/OPERATIONS.md#..."));
        assert_eq!(anchor, name.to_ascii_lowercase(), "{name}: runbook anchor");
        assert!(
            anchors.contains(anchor),
            "{name}: docs/OPERATIONS.md has no `### {name}` entry"
        );
    }
}

#[test]
fn dashboard_queries_are_valid_promql_over_defined_series() {
    let dashboard: serde_json::Value =
        serde_json::from_str(&read(&deploy().join("grafana/baton.json"))).expect("JSON");
    let exprs = dashboard_exprs(&dashboard).expect("panels");
    assert!(exprs.len() >= 30, "{} queries", exprs.len());

    // promtool parses each query as a recording rule.
    let dir = tempfile::tempdir().expect("tempdir");
    let mut file = String::from("groups:\n  - name: dashboard\n    rules:\n");
    for (i, expr) in exprs.iter().enumerate() {
        let quoted = serde_json::to_string(expr).expect("quote");
        file.push_str(&format!(
            "      - record: dashboard:query_{i}\n        expr: {quoted}\n"
        ));
    }
    let path = dir.path().join("dashboard.yml");
    std::fs::write(&path, file).expect("write");
    let text = promtool(&["check", "rules", path.to_str().expect("utf8")]);
    assert!(
        text.contains(&format!("{} rules found", exprs.len())),
        "{text}"
    );

    // Every recorded series used by the dashboard or an alert is recorded.
    let recorded: BTreeSet<String> = rules(&read(&deploy().join("prometheus/rules.yml")))
        .expect("rules.yml")
        .into_iter()
        .filter_map(|r| r.record)
        .collect();
    let alerts = alert_rules();
    let used = exprs
        .iter()
        .chain(alerts.iter().map(|r| &r.expr))
        .flat_map(|e| referenced_names(e))
        .filter(|n| n.contains(':'));
    for name in used {
        assert!(
            recorded.contains(&name),
            "{name} is used but not recorded in rules.yml"
        );
    }
}

#[test]
fn dashboard_covers_what_an_operator_watches() {
    let dashboard: serde_json::Value =
        serde_json::from_str(&read(&deploy().join("grafana/baton.json"))).expect("JSON");
    let names: BTreeSet<String> = dashboard_exprs(&dashboard)
        .expect("panels")
        .iter()
        .flat_map(|e| referenced_names(e))
        .collect();
    for needed in [
        "baton_connections",
        "baton_live_users",
        "baton_ops_committed_total",
        "baton_ack_latency_seconds_bucket",
        "baton_fanout_latency_seconds_bucket",
        "baton_store_commit_batch_size_bucket",
        "baton_store_commit_seconds_bucket",
        "baton_slow_consumer_disconnects_total",
        "baton_http_errors_total",
        "baton_protocol_errors_total",
        "baton_cluster_members",
        "baton_cluster_failovers_total",
        "baton_pubnub_publish_queue",
        "baton_pubnub_publish_dropped_total",
        "baton_shared_errors_total",
    ] {
        assert!(names.contains(needed), "no panel shows {needed}");
    }
}
