//! The end-of-run report: a human table on stdout and the JSON document
//! (Baton, the relay baseline, and their ratios).

use std::fmt::Write as _;

use crate::run::RunResult;

/// Everything one `baton-sim` invocation measured.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Report {
    /// Scenario name.
    pub scenario: crate::scenario::Scenario,
    /// Parameters after presets.
    pub params: crate::scenario::Resolved,
    /// Machine: nproc, CPU model, date.
    pub machine: serde_json::Value,
    /// The run against Baton.
    pub baton: RunResult,
    /// The same workload against the bare relay.
    pub relay: Option<RunResult>,
    /// Baton / relay per phase: propagation p50, p99, p99.9.
    pub ratios: Vec<serde_json::Value>,
}

/// Machine facts for the report.
pub fn machine() -> serde_json::Value {
    let cpu = std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|c| {
            c.lines().find_map(|l| {
                l.strip_prefix("model name")
                    .map(|v| v.trim_start_matches([' ', '\t', ':']).to_owned())
            })
        })
        .unwrap_or_default();
    let nproc = std::thread::available_parallelism().map_or(0, |n| n.get());
    let nofile = rlimit::getrlimit(rlimit::Resource::NOFILE).unwrap_or((0, 0));
    serde_json::json!({"nproc": nproc, "cpu": cpu, "unix_time": crate::clock::unix_secs(),
        "nofile_soft": nofile.0, "nofile_hard": nofile.1})
}

fn ratio(a: u64, b: u64) -> f64 {
    if b == 0 {
        0.0
    } else {
        a as f64 / b as f64
    }
}

/// Baton/relay ratios per phase of the same name.
pub fn ratios(baton: &RunResult, relay: &RunResult) -> Vec<serde_json::Value> {
    baton
        .phases
        .iter()
        .filter_map(|b| {
            let r = relay.phases.iter().find(|r| r.name == b.name)?;
            let (bp, rp) = (&b.latency["propagation"], &r.latency["propagation"]);
            Some(serde_json::json!({"phase": b.name, "rate": b.rate,
                "p50": ratio(bp.p50_us, rp.p50_us), "p99": ratio(bp.p99_us, rp.p99_us), "p999": ratio(bp.p999_us, rp.p999_us)}))
        })
        .collect()
}

fn ms(us: u64) -> String {
    format!("{:.2}", us as f64 / 1000.0)
}

fn run_table(out: &mut String, name: &str, r: &RunResult) {
    if r.nodes > 1 {
        let _ = writeln!(
            out,
            "== {name}: cluster of {} nodes (devices spread round-robin); node RSS idle {:?} KiB",
            r.nodes, r.node_rss_idle_kib
        );
    } else {
        let _ = writeln!(out, "== {name}: {}", r.target);
    }
    let _ = writeln!(
        out,
        "devices {}  connected {}  all connected in {}  connect p50/p99 {} / {} ms",
        r.devices,
        r.connected,
        r.all_connected_s
            .map_or("NOT ALL".into(), |s| format!("{s:.1} s")),
        ms(r.connect_latency.p50_us),
        ms(r.connect_latency.p99_us)
    );
    let _ = writeln!(
        out,
        "server RSS before {} MiB, idle {} MiB, per idle device {} bytes; harness per device {} bytes",
        r.server_rss_before_kib / 1024, r.server_rss_idle_kib / 1024,
        r.server_bytes_per_idle_device.map_or("n/a".into(), |b| b.to_string()),
        r.client_bytes_per_device.map_or("n/a".into(), |b| b.to_string())
    );
    let _ = writeln!(
        out,
        "{:<16} {:>8} {:>9} {:>10} | {:>27} | {:>27} | {:>14}",
        "phase",
        "rate",
        "acks/s",
        "deltas/s",
        "propagation p50/p99/p99.9 ms",
        "ack p50/p99/p99.9 ms",
        "handoff p99 ms"
    );
    for p in &r.phases {
        let (pr, ak, ho) = (
            &p.latency["propagation"],
            &p.latency["ack"],
            &p.latency["handoff"],
        );
        let _ = writeln!(
            out,
            "{:<16} {:>8.0} {:>9.0} {:>10.0} | {:>8} {:>8} {:>9} | {:>8} {:>8} {:>9} | {:>14}",
            p.name,
            p.rate,
            p.acks_per_s,
            p.deltas_per_s,
            ms(pr.p50_us),
            ms(pr.p99_us),
            ms(pr.p999_us),
            ms(ak.p50_us),
            ms(ak.p99_us),
            ms(ak.p999_us),
            if ho.count > 0 {
                format!("{} (n={})", ms(ho.p99_us), ho.count)
            } else {
                "-".into()
            }
        );
    }
    if let Some(h) = r.highest_rate_held {
        let _ = writeln!(out, "highest rate that held the SLO: {h:.0} ops/s");
    }
    if let Some(b) = r.reconnect_all_back_s {
        let _ = writeln!(out, "reconnect storm: all back in {b:.1} s");
    }
    if let Some(f) = &r.failover {
        let opt = |v: Option<f64>| v.map_or("n/a".to_owned(), |v| format!("{v:.0}"));
        let _ = writeln!(
            out,
            "node-kill: killed {} after {:.1} s ({} devices connected to it); users it owned {}, recovered {}; \
failover p50 / p99 / max {} / {} / {} ms; all recovered in {}",
            f.killed,
            f.kill_after_s,
            f.devices_on_killed_node,
            f.affected_users,
            f.recovered_users,
            opt(f.failover_p50_ms),
            opt(f.failover_p99_ms),
            opt(f.failover_max_ms),
            f.all_recovered_s
                .map_or("NOT ALL (by the end of the load)".into(), |s| format!("{s:.2} s"))
        );
        let _ = writeln!(
            out,
            "node-kill: failure detected by the survivors after {:?} s; reconnects {:?}; moves to the next node {:?}; errors {:?}",
            f.detection_s, f.reconnects, f.target_moves, f.errors
        );
    }
    let _ = writeln!(
        out,
        "settled {}/{}  counters {:?}",
        r.settled, r.devices, r.counters
    );
    let _ = writeln!(out, "errors {:?}", r.errors);
    if let Some(c) = &r.convergence {
        let _ = writeln!(
            out,
            "convergence: {} users, diverged {}, lost acks {}, REST errors {}",
            c.users, c.diverged_users, c.lost_acks, c.rest_errors
        );
        for e in &c.examples {
            let _ = writeln!(out, "  e.g. {e}");
        }
    }
}

/// The human table.
pub fn table(rep: &Report) -> String {
    let mut out = String::new();
    let _ = writeln!(out, "scenario {:?}  machine {}", rep.scenario, rep.machine);
    run_table(&mut out, "baton", &rep.baton);
    if let Some(r) = &rep.relay {
        run_table(&mut out, "relay baseline", r);
        for x in &rep.ratios {
            let _ = writeln!(
                out,
                "baton/relay propagation {}: p50 {:.2}x  p99 {:.2}x  p99.9 {:.2}x",
                x["phase"],
                x["p50"].as_f64().unwrap_or(0.0),
                x["p99"].as_f64().unwrap_or(0.0),
                x["p999"].as_f64().unwrap_or(0.0)
            );
        }
    }
    out
}
