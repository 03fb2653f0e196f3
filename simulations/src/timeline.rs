//! Once a second: latency percentiles of the last second, throughput, server
//! and client memory and CPU; printed as a live progress line on stderr and
//! kept for the charts.

use std::io::Write as _;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use crate::metrics::{Lat, Recorder};
use crate::procstat::{CpuMeter, TreeMeter};

/// One second of the run.
#[derive(Debug, Clone, Default, serde::Serialize)]
pub struct Point {
    /// Seconds since the run started.
    pub t: f64,
    /// Phase label.
    pub phase: String,
    /// Propagation p50 / p99 / p99.9 of this second (us).
    pub prop_p50_us: u64,
    /// p99.
    pub prop_p99_us: u64,
    /// p99.9.
    pub prop_p999_us: u64,
    /// Ack p99 of this second (us).
    pub ack_p99_us: u64,
    /// Acks per second.
    pub acks_per_s: f64,
    /// Deltas received per second.
    pub deltas_per_s: f64,
    /// Devices online.
    pub online: u64,
    /// Server RSS (KiB), when the pid is known; summed over a cluster's nodes.
    pub server_rss_kib: u64,
    /// Server CPU (% of one core); summed over a cluster's nodes.
    pub server_cpu: f64,
    /// Per node (a cluster): RSS (KiB) and CPU (% of one core); 0 once killed.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub nodes: Vec<(u64, f64)>,
    /// Harness RSS (KiB).
    pub client_rss_kib: u64,
    /// Harness CPU (% of one core).
    pub client_cpu: f64,
    /// Services the harness started for a cluster (Postgres with its backends,
    /// Redis): CPU (% of one core).
    pub infra_cpu: f64,
}

/// The sampler task and its points.
pub struct Timeline {
    /// Points so far.
    pub points: Arc<Mutex<Vec<Point>>>,
    /// Phase label for the next points.
    pub phase: Arc<Mutex<String>>,
    task: tokio::task::JoinHandle<()>,
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}

impl Timeline {
    /// Start sampling `rec` (and the server processes `pids`, if known).
    /// `infra`: roots of process trees to sample as `infra_cpu`.
    pub fn start(rec: Arc<Recorder>, pids: Vec<u32>, infra: Vec<u32>, quiet: bool) -> Timeline {
        let points: Arc<Mutex<Vec<Point>>> = Arc::default();
        let phase: Arc<Mutex<String>> = Arc::new(Mutex::new("start".into()));
        let (p2, ph2) = (points.clone(), phase.clone());
        let task = tokio::spawn(async move {
            let t0 = Instant::now();
            let mut servers: Vec<CpuMeter> =
                pids.iter().map(|p| CpuMeter::new(p.to_string())).collect();
            let mut client = CpuMeter::new("self");
            let mut infra = TreeMeter::new(infra);
            let (mut acks, mut deltas) = (0u64, 0u64);
            let mut tick = tokio::time::interval(Duration::from_secs(1));
            tick.tick().await;
            loop {
                tick.tick().await;
                let (a, d) = (
                    Recorder::get(&rec.counters.acks),
                    Recorder::get(&rec.counters.deltas),
                );
                let prop = rec.take_window(Lat::Propagation);
                let ack = rec.take_window(Lat::Ack);
                let per: Vec<(u64, f64)> = servers
                    .iter_mut()
                    .map(|m| m.read().unwrap_or((0, 0.0)))
                    .collect();
                let srss = per.iter().map(|x| x.0).sum();
                let scpu = per.iter().map(|x| x.1).sum();
                let (crss, ccpu) = client.read().unwrap_or((0, 0.0));
                let (_, icpu) = infra.read().unwrap_or((0, 0.0));
                let p = Point {
                    t: t0.elapsed().as_secs_f64(),
                    phase: lock(&ph2).clone(),
                    prop_p50_us: prop.p50_us,
                    prop_p99_us: prop.p99_us,
                    prop_p999_us: prop.p999_us,
                    ack_p99_us: ack.p99_us,
                    acks_per_s: (a - acks) as f64,
                    deltas_per_s: (d - deltas) as f64,
                    online: Recorder::get(&rec.counters.online),
                    server_rss_kib: srss,
                    server_cpu: scpu,
                    nodes: if per.len() > 1 { per } else { Vec::new() },
                    client_rss_kib: crss,
                    client_cpu: ccpu,
                    infra_cpu: icpu,
                };
                (acks, deltas) = (a, d);
                if !quiet {
                    let errs: u64 = rec.errors().values().sum();
                    let mut e = std::io::stderr();
                    let _ = write!(
                        e,
                        "\r[{:>5.0}s {:<14}] online {:>6}  acks/s {:>7.0}  deltas/s {:>7.0}  prop p50 {:>6.2} p99 {:>7.2} ms  srv {:>6} MiB {:>4.0}%  errors {:<6}",
                        p.t, p.phase, p.online, p.acks_per_s, p.deltas_per_s,
                        p.prop_p50_us as f64 / 1000.0, p.prop_p99_us as f64 / 1000.0,
                        p.server_rss_kib / 1024, p.server_cpu, errs
                    );
                    let _ = e.flush();
                }
                lock(&p2).push(p);
            }
        });
        Timeline {
            points,
            phase,
            task,
        }
    }

    /// Label the following seconds.
    pub fn set_phase(&self, name: &str) {
        *lock(&self.phase) = name.to_owned();
    }

    /// Stop and return the points.
    pub fn finish(self) -> Vec<Point> {
        self.task.abort();
        eprintln!();
        let points = lock(&self.points).clone();
        points
    }
}
