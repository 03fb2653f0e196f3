//! The `node-kill` scenario (a cluster of 2+ nodes spawned by the harness):
//! steady load; at `--kill-after` seconds one node is SIGKILLed (no graceful
//! leave) while the load goes on. Its devices lose their sockets, devices
//! forwarded to it get a close from the node they are on, and all of them
//! reconnect to the next target with backoff, resume and resend.
//!
//! Failover time of a user the killed node owned (rendezvous placement over
//! the member ids, computed as the nodes do): from the kill to that user's
//! first ack on a session synced after the kill. At the kill every such user
//! is given one op (intended at the kill instant, on a random device), so
//! each has work pending and the figure is not inflated by the wait for its
//! next random op. Windows: `before` (load start .. kill), `during` (kill ..
//! every affected user had an ack, or the end of the load), `after` (the rest).
//! Failure detection is timed separately: every survivor's `/metrics` is
//! polled every 25 ms until its `baton_cluster_members` gauge drops.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use rand::Rng;

use crate::cluster::owner_of;
use crate::device::{Cmd, OpKind};
use crate::fleet::Fleet;
use crate::metrics::Recorder;
use crate::run::{load, phase_of, Phase};
use crate::scenario::Resolved;
use crate::target::Target;
use crate::timeline::Timeline;
use crate::workload::{self, Mix};

/// What the kill did.
#[derive(Debug, Clone, Default, serde::Serialize)]
pub struct Failover {
    /// The killed node's id.
    pub killed: String,
    /// Seconds from the start of the load to the kill.
    pub kill_after_s: f64,
    /// Devices that first connected to the killed node.
    pub devices_on_killed_node: usize,
    /// Users the killed node owned.
    pub affected_users: usize,
    /// Of those, users that had an ack after the kill.
    pub recovered_users: usize,
    /// Failover time over the affected users that recovered (ms).
    pub failover_p50_ms: Option<f64>,
    /// 99th percentile (ms).
    pub failover_p99_ms: Option<f64>,
    /// Largest (ms).
    pub failover_max_ms: Option<f64>,
    /// Seconds from the kill until every affected user had an ack (None: not all did).
    pub all_recovered_s: Option<f64>,
    /// Per surviving node: seconds from the kill until its `baton_cluster_members`
    /// gauge showed one member fewer (None: not within 20 s).
    pub detection_s: BTreeMap<String, Option<f64>>,
    /// Errors by code in each window.
    pub errors: BTreeMap<&'static str, BTreeMap<String, u64>>,
    /// Reconnects in each window.
    pub reconnects: BTreeMap<&'static str, u64>,
    /// Moves to the next target in each window.
    pub target_moves: BTreeMap<&'static str, u64>,
}

/// Counter and error readings at a window boundary.
struct Mark {
    errors: BTreeMap<String, u64>,
    reconnects: u64,
    moves: u64,
    acks: u64,
    deltas: u64,
    scheduled: u64,
    at: Instant,
}

impl Mark {
    fn now(rec: &Recorder) -> Mark {
        let c = &rec.counters;
        Mark {
            errors: rec.errors(),
            reconnects: Recorder::get(&c.reconnects),
            moves: Recorder::get(&c.target_moves),
            acks: Recorder::get(&c.acks),
            deltas: Recorder::get(&c.deltas),
            scheduled: Recorder::get(&c.ops_scheduled),
            at: Instant::now(),
        }
    }

    /// The window from `self` to now, as a phase; resets the histograms.
    fn close(&self, rec: &Recorder, name: &str, rate: f64) -> (Phase, Mark) {
        let end = Mark::now(rec);
        let ph = phase_of(
            rec,
            name.to_owned(),
            rate,
            end.at.duration_since(self.at).as_secs_f64(),
            end.scheduled - self.scheduled,
            self.acks,
            self.deltas,
        );
        rec.reset_totals();
        (ph, end)
    }

    fn errors_since(&self, before: &Mark) -> BTreeMap<String, u64> {
        self.errors
            .iter()
            .map(|(k, v)| (k.clone(), v - before.errors.get(k).copied().unwrap_or(0)))
            .filter(|(_, v)| *v > 0)
            .collect()
    }
}

fn percentile(sorted: &[Duration], q: f64) -> Option<f64> {
    if sorted.is_empty() {
        return None;
    }
    let i = ((sorted.len() as f64 * q).ceil() as usize).clamp(1, sorted.len()) - 1;
    Some(sorted[i].as_secs_f64() * 1000.0)
}

/// Run the scenario; `kill` is the index of the node to kill.
#[allow(clippy::too_many_arguments)]
pub async fn run(
    targets: &[Arc<Target>],
    kill: usize,
    kill_after: Duration,
    fleet: &Fleet,
    rec: &Recorder,
    tl: &Timeline,
    r: &Resolved,
    mix: Mix,
) -> anyhow::Result<(Vec<Phase>, Failover)> {
    anyhow::ensure!(
        targets.len() >= 2,
        "node-kill needs a cluster of at least 2 nodes (--spawn-cluster 3)"
    );
    let victim = targets
        .get(kill)
        .ok_or_else(|| anyhow::anyhow!("--kill-node {} is not a node", kill + 1))?;
    let ids: Vec<String> = targets
        .iter()
        .map(|t| t.node_id.clone())
        .collect::<Option<_>>()
        .ok_or_else(|| anyhow::anyhow!("node-kill needs node ids: use --spawn-cluster"))?;
    let killed = ids[kill].clone();
    let affected: Vec<usize> = fleet
        .users
        .iter()
        .enumerate()
        .filter(|(_, u)| owner_of(&u.name, &ids).as_deref() == Some(killed.as_str()))
        .map(|(i, _)| i)
        .collect();
    let devices_on_killed_node = (0..fleet.devices())
        .filter(|n| n % targets.len() == kill)
        .count();

    load(
        fleet,
        rec,
        tl,
        "warmup",
        r.rate,
        Duration::from_secs(2),
        mix,
    )
    .await;
    tl.set_phase("before");
    rec.reset_totals();
    let start = Mark::now(rec);
    let control = async {
        tokio::time::sleep(kill_after).await;
        let (before, at_kill) = start.close(rec, "before", r.rate);
        let kill_at = Instant::now();
        let _ = rec.kill_at.set(kill_at);
        if !victim.kill() {
            eprintln!("baton-sim: warning: the node to kill was not spawned by the harness");
        }
        tl.set_phase("during");
        {
            let mut rng = rand::thread_rng();
            for &u in &affected {
                let d = rng.gen_range(0..fleet.users[u].devices.len());
                fleet.send(rec, u, d, Cmd::Op(OpKind::Add, kill_at));
                Recorder::inc(&rec.counters.ops_scheduled);
            }
        }
        let load_end = start.at + r.duration;
        let mut all = None;
        loop {
            if affected
                .iter()
                .all(|&u| fleet.users[u].failover().is_some())
            {
                all = Some(kill_at.elapsed().as_secs_f64());
                break;
            }
            if Instant::now() >= load_end {
                break;
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        let (during, recovered) = at_kill.close(rec, "during", r.rate);
        tl.set_phase("after");
        (before, at_kill, during, recovered, all)
    };
    let survivors: Vec<(String, std::net::SocketAddr)> = targets
        .iter()
        .enumerate()
        .filter(|(i, _)| *i != kill)
        .map(|(i, t)| (ids[i].clone(), t.addr))
        .collect();
    let detect = async {
        let client = reqwest::Client::new();
        let want = (targets.len() - 1) as f64;
        // Wait for the kill, then time each survivor.
        while rec.kill_at.get().is_none() {
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
        let kill_at = rec.kill_at.get().copied().unwrap_or_else(Instant::now);
        let mut out = BTreeMap::new();
        let mut pending = survivors.clone();
        while !pending.is_empty() && kill_at.elapsed() < Duration::from_secs(20) {
            let mut still = Vec::new();
            for (id, addr) in pending {
                match members_gauge(&client, addr).await {
                    Some(m) if m <= want => {
                        out.insert(id, Some(kill_at.elapsed().as_secs_f64()));
                    }
                    _ => still.push((id, addr)),
                }
            }
            pending = still;
            tokio::time::sleep(Duration::from_millis(25)).await;
        }
        for (id, _) in pending {
            out.insert(id, None);
        }
        out
    };
    let (_, (before, at_kill, during, recovered, all), detection_s) = tokio::join!(
        workload::run_ops(fleet, rec, r.rate, r.duration, mix),
        control,
        detect
    );
    tokio::time::sleep(Duration::from_millis(500)).await;
    let (after, end) = recovered.close(rec, "after", r.rate);

    let mut times: Vec<Duration> = affected
        .iter()
        .filter_map(|&u| fleet.users[u].failover())
        .collect();
    times.sort();
    let windows = [
        ("before", &start, &at_kill),
        ("during", &at_kill, &recovered),
        ("after", &recovered, &end),
    ];
    let fo = Failover {
        killed,
        kill_after_s: kill_after.as_secs_f64(),
        devices_on_killed_node,
        affected_users: affected.len(),
        recovered_users: times.len(),
        failover_p50_ms: percentile(&times, 0.5),
        failover_p99_ms: percentile(&times, 0.99),
        failover_max_ms: times.last().map(|d| d.as_secs_f64() * 1000.0),
        all_recovered_s: all,
        detection_s,
        errors: windows
            .iter()
            .map(|(n, a, b)| (*n, b.errors_since(a)))
            .collect(),
        reconnects: windows
            .iter()
            .map(|(n, a, b)| (*n, b.reconnects - a.reconnects))
            .collect(),
        target_moves: windows
            .iter()
            .map(|(n, a, b)| (*n, b.moves - a.moves))
            .collect(),
    };
    Ok((vec![before, during, after], fo))
}

/// The `baton_cluster_members` gauge of the node at `addr` (`/metrics`).
pub async fn members_gauge(client: &reqwest::Client, addr: std::net::SocketAddr) -> Option<f64> {
    let text = client
        .get(format!("http://{addr}/metrics"))
        .timeout(Duration::from_secs(1))
        .send()
        .await
        .ok()?
        .text()
        .await
        .ok()?;
    text.lines()
        .find(|l| l.starts_with("baton_cluster_members"))
        .and_then(|l| l.split_whitespace().last())
        .and_then(|v| v.parse().ok())
}
