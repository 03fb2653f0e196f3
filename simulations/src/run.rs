//! One scenario against one target: build the fleet, connect it on an
//! open-loop schedule, run the scenario's phases, settle, check convergence,
//! and collect the figures.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use rand::Rng;

use crate::convergence::{self, Convergence};
use crate::device::{Cmd, DeviceEnv, Endpoint, OpKind};
use crate::fleet::{self, Fleet};
use crate::metrics::{Lat, Recorder, Summary};
use crate::nodekill::{self, Failover};
use crate::procstat;
use crate::scenario::{Params, Resolved, Scenario};
use crate::target::Target;
use crate::timeline::{Point, Timeline};
use crate::user::UserShared;
use crate::workload::{self, Mix};

/// Figures of one phase (a fixed rate held for a while).
#[derive(Debug, Clone, serde::Serialize)]
pub struct Phase {
    /// Label (`steady`, `rate-5000`, ...).
    pub name: String,
    /// Intended ops per second.
    pub rate: f64,
    /// Seconds.
    pub secs: f64,
    /// Ops issued.
    pub issued: u64,
    /// Acks per second achieved.
    pub acks_per_s: f64,
    /// Deltas received per second.
    pub deltas_per_s: f64,
    /// Latencies by kind.
    pub latency: BTreeMap<&'static str, Summary>,
}

/// Figures of a whole run against one target.
#[derive(Debug, Clone, serde::Serialize)]
pub struct RunResult {
    /// The target and its configuration (a cluster: `{"kind": "cluster", "nodes": [...]}`).
    pub target: serde_json::Value,
    /// Nodes (targets) the devices were spread over.
    pub nodes: usize,
    /// Devices in the fleet.
    pub devices: usize,
    /// Seconds from the first scheduled connect until all were synced (None: not all).
    pub all_connected_s: Option<f64>,
    /// Devices synced at the end of the connect phase.
    pub connected: u64,
    /// Connect latency (intended connect time -> synced) of the first connections.
    pub connect_latency: Summary,
    /// Server RSS before any device connected (KiB).
    pub server_rss_before_kib: u64,
    /// Server RSS with every device connected and idle (KiB); summed over nodes.
    pub server_rss_idle_kib: u64,
    /// The same per node (a cluster).
    pub node_rss_idle_kib: Vec<u64>,
    /// (idle - before) / devices, in bytes.
    pub server_bytes_per_idle_device: Option<u64>,
    /// Harness memory per virtual device, in bytes.
    pub client_bytes_per_device: Option<u64>,
    /// Phases with load.
    pub phases: Vec<Phase>,
    /// Ramp: the highest rate whose p99 propagation held the SLO.
    pub highest_rate_held: Option<f64>,
    /// Reconnect storm: seconds until every device was back.
    pub reconnect_all_back_s: Option<f64>,
    /// node-kill: what the kill did.
    pub failover: Option<Failover>,
    /// Devices that settled (online, nothing unacknowledged) at the end.
    pub settled: usize,
    /// Convergence (Baton only: the relay has no REST state).
    pub convergence: Option<Convergence>,
    /// Errors by code (error frames, close codes, connect failures).
    pub errors: BTreeMap<String, u64>,
    /// Counters.
    pub counters: BTreeMap<&'static str, u64>,
    /// Once a second.
    pub timeline: Vec<Point>,
}

pub(crate) fn phase_of(
    rec: &Recorder,
    name: String,
    rate: f64,
    secs: f64,
    issued: u64,
    acks0: u64,
    deltas0: u64,
) -> Phase {
    let c = &rec.counters;
    Phase {
        name,
        rate,
        secs,
        issued,
        acks_per_s: (Recorder::get(&c.acks) - acks0) as f64 / secs.max(1e-3),
        deltas_per_s: (Recorder::get(&c.deltas) - deltas0) as f64 / secs.max(1e-3),
        latency: Lat::ALL
            .iter()
            .map(|l| (l.name(), rec.summary(*l)))
            .collect(),
    }
}

/// Hold `rate` for `dur` and return the phase's figures.
pub(crate) async fn load(
    fleet: &Fleet,
    rec: &Recorder,
    tl: &Timeline,
    name: &str,
    rate: f64,
    dur: Duration,
    mix: Mix,
) -> Phase {
    tl.set_phase(name);
    rec.reset_totals();
    let (a0, d0) = (
        Recorder::get(&rec.counters.acks),
        Recorder::get(&rec.counters.deltas),
    );
    let t0 = Instant::now();
    let issued = workload::run_ops(fleet, rec, rate, dur, mix).await;
    // Let the tail of this phase land before reading its histograms.
    tokio::time::sleep(Duration::from_millis(500)).await;
    phase_of(
        rec,
        name.to_owned(),
        rate,
        t0.elapsed().as_secs_f64(),
        issued,
        a0,
        d0,
    )
}

/// RSS (KiB) of each process in `pids` (0 when it is gone).
fn rss_of(pids: &[u32]) -> Vec<u64> {
    pids.iter()
        .map(|p| procstat::sample(&p.to_string()).map_or(0, |s| s.rss_kib))
        .collect()
}

/// Run `scenario` against `targets` (one node, or the nodes of a cluster:
/// device `n` first connects to target `n % targets.len()`). `infra`: pids
/// of services (Postgres, Redis) whose CPU is sampled too.
pub async fn run(
    targets: &[Arc<Target>],
    infra: &[u32],
    scenario: Scenario,
    r: &Resolved,
    p: &Params,
    quiet: bool,
) -> anyhow::Result<RunResult> {
    let target = targets
        .first()
        .ok_or_else(|| anyhow::anyhow!("no target"))?;
    let users: Vec<Arc<UserShared>> = (0..r.users)
        .map(|i| Arc::new(UserShared::new(format!("u{i}"), r.devices_per_user)))
        .collect();
    let tokens = fleet::mint_tokens(target, &users).await?;
    let pids: Vec<u32> = targets.iter().filter_map(|t| t.pid).collect();
    let server_before: u64 = rss_of(&pids).iter().sum();
    let client_before = procstat::sample("self").map_or(0, |s| s.rss_kib);
    let rec = Arc::new(Recorder::default());
    let tl = Timeline::start(rec.clone(), pids.clone(), infra.to_vec(), quiet);
    let env = DeviceEnv {
        targets: targets
            .iter()
            .map(|t| Endpoint {
                url: t.ws_url.clone(),
                addr: t.addr,
            })
            .collect(),
        spread: p.spread,
        rec: rec.clone(),
        heartbeat: Duration::from_secs_f64(p.heartbeat.max(0.1)),
        catalog: p.catalog.max(1),
        relay: target.relay,
    };
    let mix = Mix {
        playback: p.playback_mix,
        remove: p.remove_mix,
    };
    tl.set_phase("connect");
    let fleet = Fleet::spawn(&env, users, tokens, Instant::now(), r.connect_window);
    let n = fleet.devices();
    let all = fleet
        .wait_online(&rec, n as u64, r.connect_window + Duration::from_secs(120))
        .await
        .map(|d| d.as_secs_f64());
    let connected = Recorder::get(&rec.counters.online);
    let connect_latency = rec.summary(Lat::Connect);
    tl.set_phase("idle");
    tokio::time::sleep(Duration::from_secs(3)).await;
    let node_idle = rss_of(&pids);
    let server_idle: u64 = node_idle.iter().sum();
    let client_idle = procstat::sample("self").map_or(0, |s| s.rss_kib);
    let per = |after: u64, before: u64| {
        (connected > 0 && after > 0).then(|| after.saturating_sub(before) * 1024 / connected)
    };

    let mut phases = Vec::new();
    let mut highest = None;
    let mut back = None;
    let mut failover = None;
    match scenario {
        Scenario::Steady => {
            load(
                &fleet,
                &rec,
                &tl,
                "warmup",
                r.rate,
                Duration::from_secs(2),
                mix,
            )
            .await;
            phases.push(load(&fleet, &rec, &tl, "steady", r.rate, r.duration, mix).await);
        }
        Scenario::Ramp => {
            load(
                &fleet,
                &rec,
                &tl,
                "warmup",
                r.steps.first().copied().unwrap_or(r.rate),
                Duration::from_secs(2),
                mix,
            )
            .await;
            for &rate in &r.steps {
                let ph = load(
                    &fleet,
                    &rec,
                    &tl,
                    &format!("rate-{rate}"),
                    rate,
                    r.duration,
                    mix,
                )
                .await;
                let held = ph.latency["propagation"].p99_us as f64 <= p.slo_ms * 1000.0
                    && ph.acks_per_s >= 0.9 * rate;
                phases.push(ph);
                if !held {
                    break;
                }
                highest = Some(rate);
            }
        }
        Scenario::ConnectStorm => {
            tl.set_phase("hold");
            tokio::time::sleep(r.duration).await;
        }
        Scenario::ReconnectStorm => {
            let drop_all = async {
                tokio::time::sleep(r.duration / 4).await;
                tl.set_phase("storm");
                for (u, row) in fleet.cmds.iter().enumerate() {
                    for d in 0..row.len() {
                        fleet.send(&rec, u, d, Cmd::Drop(Duration::from_secs(2)));
                    }
                }
                tokio::time::sleep(Duration::from_millis(200)).await;
                fleet
                    .wait_online(&rec, n as u64, Duration::from_secs(120))
                    .await
                    .map(|d| d.as_secs_f64() + 0.2)
            };
            let (ph, b) = tokio::join!(
                load(&fleet, &rec, &tl, "load", r.rate, r.duration, mix),
                drop_all
            );
            phases.push(ph);
            back = b;
        }
        Scenario::HandoffBurst => {
            // Every user's TV starts playing (takes the lease).
            for (u, user) in fleet.users.iter().enumerate() {
                fleet.send(
                    &rec,
                    u,
                    user.player(),
                    Cmd::Op(OpKind::Play, Instant::now()),
                );
            }
            tokio::time::sleep(Duration::from_secs(2)).await;
            let burst = async {
                tokio::time::sleep(Duration::from_secs(1)).await;
                tl.set_phase("burst");
                workload::handoff_burst(&fleet, &rec, Duration::from_secs(1)).await
            };
            let (ph, _) = tokio::join!(
                load(&fleet, &rec, &tl, "handoff-burst", r.rate, r.duration, mix),
                burst
            );
            phases.push(ph);
        }
        Scenario::NodeKill => {
            let kill = p.kill_node.unwrap_or(targets.len()).max(1) - 1;
            let after =
                Duration::from_secs_f64(p.kill_after.unwrap_or(r.duration.as_secs_f64() / 3.0));
            let (ph, fo) = nodekill::run(targets, kill, after, &fleet, &rec, &tl, r, mix).await?;
            phases.extend(ph);
            failover = Some(fo);
        }
        Scenario::OfflineChurn => {
            let churn = async {
                let end = Instant::now() + r.duration;
                while Instant::now() < end {
                    tokio::time::sleep(Duration::from_secs(1)).await;
                    let mut rng = rand::thread_rng();
                    for (u, row) in fleet.cmds.iter().enumerate() {
                        for d in 0..row.len() {
                            if rng.gen_bool(0.03) {
                                let secs = rng.gen_range(2.0..8.0);
                                fleet.send(&rec, u, d, Cmd::Offline(Duration::from_secs_f64(secs)));
                            }
                        }
                    }
                }
            };
            let (ph, ()) = tokio::join!(
                load(&fleet, &rec, &tl, "churn", r.rate, r.duration, mix),
                churn
            );
            phases.push(ph);
        }
    }
    tl.set_phase("settle");
    let settled = fleet.settle(Duration::from_secs(60)).await;
    tl.set_phase("check");
    // REST on any live node answers for any user.
    let checker = targets.iter().find(|t| t.is_alive()).unwrap_or(target);
    let convergence = if checker.minter.is_some() {
        let http = format!("http://{}", checker.addr);
        Some(convergence::check(&fleet, &http, &checker.service_token()?).await)
    } else {
        None
    };
    let c = &rec.counters;
    let counters: BTreeMap<&'static str, u64> = [
        ("ops_scheduled", &c.ops_scheduled),
        ("acks", &c.acks),
        ("deltas", &c.deltas),
        ("connects", &c.connects),
        ("reconnects", &c.reconnects),
        ("target_moves", &c.target_moves),
        ("handoffs", &c.handoffs),
        ("handoffs_delivered", &c.handoffs_delivered),
        ("playback_skipped", &c.playback_skipped),
        ("offline_ops", &c.offline_ops),
    ]
    .into_iter()
    .map(|(k, v)| (k, Recorder::get(v)))
    .collect();
    fleet.stop().await;
    let mut timeline = tl.finish();
    timeline.retain(|pt| pt.t > 0.0);
    let mut errors = rec.errors();
    errors.retain(|_, v| *v > 0);
    let description = if targets.len() == 1 {
        target.description.clone()
    } else {
        serde_json::json!({"kind": "cluster",
            "nodes": targets.iter().map(|t| t.description.clone()).collect::<Vec<_>>()})
    };
    Ok(RunResult {
        target: description,
        nodes: targets.len(),
        devices: n,
        all_connected_s: all,
        connected,
        connect_latency,
        server_rss_before_kib: server_before,
        server_rss_idle_kib: server_idle,
        node_rss_idle_kib: if node_idle.len() > 1 {
            node_idle
        } else {
            Vec::new()
        },
        server_bytes_per_idle_device: per(server_idle, server_before),
        client_bytes_per_device: per(client_idle, client_before),
        phases,
        highest_rate_held: highest,
        reconnect_all_back_s: back,
        failover,
        settled,
        convergence,
        errors,
        counters,
        timeline,
    })
}
