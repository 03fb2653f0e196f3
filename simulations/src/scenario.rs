//! The named scenarios and their parameters (`baton-sim <scenario> --help`).

use std::time::Duration;

use clap::{Args, ValueEnum};

/// A named preset.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum, serde::Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Scenario {
    /// Fixed op rate for a while; also runs the bare relay baseline.
    Steady,
    /// Raise the rate step by step until p99 propagation exceeds the SLO; also on the relay.
    Ramp,
    /// N devices connect within T seconds (open-loop schedule), then hold idle: memory per idle device.
    ConnectStorm,
    /// All devices drop at once and come back with backoff and jitter, under load.
    ReconnectStorm,
    /// Every user's playing device hands playback to another device at once.
    HandoffBurst,
    /// Under load, devices keep going offline, editing locally, and coming back.
    OfflineChurn,
    /// A cluster (`--spawn-cluster 3`) under steady load; one node is SIGKILLed
    /// mid-run: failover time, errors and latency before / during / after.
    NodeKill,
}

/// Parameters shared by every scenario (defaults are the preset's; set any to override).
#[derive(Debug, Clone, Args, serde::Serialize)]
pub struct Params {
    /// Users.
    #[arg(long)]
    pub users: Option<usize>,
    /// Devices per user (tv, mobile, web, mobile...).
    #[arg(long)]
    pub devices_per_user: Option<usize>,
    /// Ops per second (ramp: the first step).
    #[arg(long)]
    pub rate: Option<f64>,
    /// Seconds of load (ramp: per step).
    #[arg(long)]
    pub duration: Option<f64>,
    /// Seconds over which devices first connect.
    #[arg(long)]
    pub connect_window: Option<f64>,
    /// Ramp: stop when p99 propagation exceeds this many milliseconds.
    #[arg(long, default_value_t = 5.0)]
    pub slo_ms: f64,
    /// Ramp: the rates to try, comma separated (overrides --rate).
    #[arg(long, value_delimiter = ',')]
    pub steps: Vec<f64>,
    /// Fraction of ops that are playback progress.
    #[arg(long, default_value_t = 0.5)]
    pub playback_mix: f64,
    /// Fraction of ops that are watchlist removes (the rest are adds).
    #[arg(long, default_value_t = 0.2)]
    pub remove_mix: f64,
    /// Content ids per watchlist.
    #[arg(long, default_value_t = 50)]
    pub catalog: u32,
    /// Heartbeat period in seconds (protocol: 10).
    #[arg(long, default_value_t = 10.0)]
    pub heartbeat: f64,
    /// Loopback source addresses to spread client sockets over (127.0.0.1..N).
    #[arg(long, default_value_t = 8)]
    pub spread: usize,
    /// Skip the bare relay baseline.
    #[arg(long)]
    pub no_baseline: bool,
    /// node-kill: the node to kill, 1-based (default: the last; REST checks use the first live one).
    #[arg(long)]
    pub kill_node: Option<usize>,
    /// node-kill: seconds of load before the kill (default: a third of --duration).
    #[arg(long)]
    pub kill_after: Option<f64>,
}

/// Parameters after the preset's defaults are applied.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Resolved {
    /// Users.
    pub users: usize,
    /// Devices per user.
    pub devices_per_user: usize,
    /// Ops per second.
    pub rate: f64,
    /// Load duration.
    pub duration: Duration,
    /// Connect window.
    pub connect_window: Duration,
    /// Ramp steps.
    pub steps: Vec<f64>,
    /// Compare with the relay.
    pub baseline: bool,
}

impl Scenario {
    /// Apply this preset's defaults to `p`.
    pub fn resolve(self, p: &Params) -> Resolved {
        // (users, devices/user, rate, seconds, connect window, baseline)
        let (u, d, r, s, w, b) = match self {
            Scenario::Steady => (1000, 3, 1000.0, 20.0, 5.0, true),
            Scenario::Ramp => (2000, 3, 1000.0, 8.0, 5.0, true),
            Scenario::ConnectStorm => (5000, 3, 0.0, 10.0, 10.0, false),
            Scenario::ReconnectStorm => (1000, 3, 500.0, 20.0, 5.0, false),
            Scenario::HandoffBurst => (1000, 3, 200.0, 10.0, 5.0, true),
            Scenario::OfflineChurn => (500, 3, 500.0, 30.0, 5.0, false),
            Scenario::NodeKill => (1000, 3, 1000.0, 30.0, 5.0, false),
        };
        let rate = p.rate.unwrap_or(r);
        let steps = if p.steps.is_empty() {
            [1.0, 2.0, 5.0, 10.0, 20.0, 40.0]
                .iter()
                .map(|m| m * rate)
                .collect()
        } else {
            p.steps.clone()
        };
        Resolved {
            users: p.users.unwrap_or(u),
            devices_per_user: p.devices_per_user.unwrap_or(d).max(1),
            rate,
            duration: Duration::from_secs_f64(p.duration.unwrap_or(s)),
            connect_window: Duration::from_secs_f64(p.connect_window.unwrap_or(w)),
            steps,
            baseline: b && !p.no_baseline,
        }
    }
}
