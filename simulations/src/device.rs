//! A virtual device: one task per device that connects over a real
//! WebSocket with its own JWT, speaks protocol v1 through the
//! `baton-client` state machine ([`baton_client::Core`]: the replica, the
//! outbox of unacknowledged ops and its renumbering rules, catch-up) and
//! reconnects with exponential backoff and full jitter. Against a cluster it starts on target `n % targets` (so a user's
//! devices land on different nodes) and moves on to the next target after a
//! failed connect or a lost socket. The workload drives it with [`Cmd`]s; it never blocks the
//! workload (commands queue in a bounded channel and ops wait in an outbox
//! while the device is offline or at its in-flight limit).
//!
//! - [`ops`]: the workload's queue of intents and the ops built from them;
//! - [`session`]: one connected session (hello, frames through the core,
//!   commands, heartbeats).

mod ops;
mod session;

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use baton_client::{Core, DeviceHello};
use baton_crdt::{UserDoc, VersionVector};
use rand::Rng;
use tokio::sync::{mpsc, oneshot};

use crate::metrics::{Lat, Recorder};
use crate::net;
use crate::user::UserShared;

pub use ops::OpKind;

/// What the workload asks of a device.
#[derive(Debug)]
pub enum Cmd {
    /// Send an op, intended at this instant (`true` = time it).
    Op(OpKind, Instant),
    /// Hand playback to device index `target` of the same user.
    Handoff(usize, Instant),
    /// Lose the connection abruptly; reconnect after a jittered wait up to this.
    Drop(Duration),
    /// Go offline cleanly for this long, editing locally meanwhile.
    Offline(Duration),
    /// Answer when online with nothing queued and nothing unacknowledged.
    Settle(oneshot::Sender<()>),
    /// Answer with the replica once it covers this version vector.
    Report(VersionVector, oneshot::Sender<UserDoc>),
    /// End the task.
    Stop,
}

/// One place a device can connect to.
#[derive(Debug, Clone)]
pub struct Endpoint {
    /// `ws://host:port/v1/sync` (or the relay URL).
    pub url: String,
    /// Its socket address.
    pub addr: SocketAddr,
}

/// What all devices share: where to connect and where to record.
#[derive(Debug, Clone)]
pub struct DeviceEnv {
    /// The targets (one node, or every node of a cluster), tried round-robin.
    pub targets: Arc<[Endpoint]>,
    /// How many 127.0.0.x source addresses to spread over.
    pub spread: usize,
    /// Measurements.
    pub rec: Arc<Recorder>,
    /// Heartbeat period.
    pub heartbeat: Duration,
    /// Distinct content ids per user's watchlist.
    pub catalog: u32,
    /// Relay mode: the URL takes `?user=&device=`.
    pub relay: bool,
}

/// One virtual device.
pub struct Device {
    env: DeviceEnv,
    user: Arc<UserShared>,
    idx: usize,
    n: usize,
    token: String,
    /// Index of the target in use.
    at: usize,
    /// When the current session reached `synced`.
    synced_at: Option<Instant>,
    core: Core,
    q: ops::Queue,
    handing_off: bool,
    started: bool,
    handoff_n: u64,
    settle: Vec<oneshot::Sender<()>>,
    report: Option<(VersionVector, oneshot::Sender<UserDoc>)>,
}

/// How a session ended.
#[derive(Debug)]
enum End {
    /// The socket was lost (close code if any); reconnect with backoff.
    Lost(Option<u16>),
    /// Reconnect at once to renumber after a refusal (after this wait).
    Resync(Duration),
    /// Dropped by command; reconnect within this window.
    Dropped(Duration),
    /// Offline by command until this instant.
    Offline(Instant),
    /// Replaced (4001) or told to stop.
    Stop,
}

impl Device {
    /// Device `idx` of `user`; `n` is its global number (source address and
    /// first target).
    pub fn new(env: DeviceEnv, user: Arc<UserShared>, idx: usize, n: usize, token: String) -> Self {
        let at = n % env.targets.len().max(1);
        let slot = &user.devices[idx];
        let hello = DeviceHello {
            kind: slot.kind.to_owned(),
            name: slot.id.clone(),
            capabilities: vec!["playback".into()],
        };
        let core = Core::new(&slot.id, hello);
        Device {
            env,
            user,
            idx,
            n,
            token,
            at,
            synced_at: None,
            core,
            q: ops::Queue::default(),
            handing_off: false,
            started: false,
            handoff_n: 0,
            settle: Vec::new(),
            report: None,
        }
    }

    fn id(&self) -> &str {
        &self.user.devices[self.idx].id
    }

    fn endpoint(&self) -> &Endpoint {
        &self.env.targets[self.at % self.env.targets.len()]
    }

    fn url(&self) -> String {
        let url = &self.endpoint().url;
        if self.env.relay {
            format!("{url}?user={}&device={}", self.user.name, self.id())
        } else {
            url.clone()
        }
    }

    /// Use the next target for the next connection (no-op with one target).
    fn next_target(&mut self) {
        if self.env.targets.len() > 1 {
            self.at = (self.at + 1) % self.env.targets.len();
            Recorder::inc(&self.env.rec.counters.target_moves);
        }
    }

    /// Run until [`Cmd::Stop`]; the first connection starts at `start`.
    pub async fn run(mut self, start: Instant, mut rx: mpsc::Receiver<Cmd>) {
        let mut wait_until = start;
        let mut attempt: u32 = 0;
        let mut intended = start;
        let mut first = true;
        loop {
            if !self.idle_until(wait_until, &mut rx).await {
                return;
            }
            let target = self.endpoint().addr;
            let source = net::source_addr(self.n, self.env.spread, &target);
            let url = self.url();
            let res =
                net::connect(&url, target, source, &self.token, Duration::from_secs(30)).await;
            let ws = match res {
                Ok(ws) => ws,
                Err(e) => {
                    self.env.rec.error(&e.code());
                    attempt += 1;
                    let hint = match e {
                        net::ConnectError::Refused(_, Some(s)) => Duration::from_secs(s),
                        _ => Duration::ZERO,
                    };
                    wait_until = Instant::now() + backoff(attempt).max(hint);
                    self.next_target();
                    continue;
                }
            };
            if !first {
                Recorder::inc(&self.env.rec.counters.reconnects);
            }
            let end = self.session(ws, &mut rx, intended, first).await;
            self.synced_at = None;
            first = false;
            let now = Instant::now();
            match end {
                End::Stop => return,
                // 4009: the user moved to another node; this one still
                // forwards, so reconnect to it now (PROTOCOL.md close codes).
                End::Lost(Some(4009)) => {
                    self.env.rec.error("close_4009");
                    attempt = 0;
                    wait_until = now + jitter(Duration::from_millis(100));
                }
                End::Lost(code) => {
                    self.env.rec.error(&format!(
                        "close_{}",
                        code.map_or("none".to_owned(), |c| c.to_string())
                    ));
                    attempt = if self.started { 1 } else { attempt + 1 };
                    wait_until = now + backoff(attempt);
                    self.next_target();
                }
                End::Resync(after) => {
                    attempt = 0;
                    wait_until = now + after;
                }
                End::Dropped(window) => {
                    attempt = 0;
                    wait_until = now + jitter(window);
                }
                End::Offline(until) => {
                    attempt = 0;
                    wait_until = until;
                }
            }
            intended = wait_until;
            self.started = false;
        }
    }

    /// Offline: handle commands until `until`. `false` = stop.
    async fn idle_until(&mut self, until: Instant, rx: &mut mpsc::Receiver<Cmd>) -> bool {
        loop {
            let sleep = tokio::time::sleep_until(until.into());
            tokio::select! {
                () = sleep => return true,
                cmd = rx.recv() => match cmd {
                    None | Some(Cmd::Stop) => return false,
                    Some(Cmd::Op(kind, _)) => {
                        Recorder::inc(&self.env.rec.counters.offline_ops);
                        self.q.queue(kind, None);
                    }
                    // Settling and reporting need a connection: reconnect now.
                    Some(Cmd::Settle(tx)) => { self.settle.push(tx); return true; }
                    Some(Cmd::Report(vv, tx)) => { self.report = Some((vv, tx)); return true; }
                    Some(Cmd::Handoff(..) | Cmd::Drop(_) | Cmd::Offline(_)) => {}
                },
            }
        }
    }

    fn record_connect(&self, intended: Instant) {
        self.env.rec.record(Lat::Connect, intended.elapsed());
    }
}

/// Full-jitter exponential backoff: uniform in [0, min(30 s, 0.5 s * 2^attempt)].
pub fn backoff(attempt: u32) -> Duration {
    let cap = (0.5 * 2f64.powi(i32::try_from(attempt.min(16)).unwrap_or(16))).min(30.0);
    jitter(Duration::from_secs_f64(cap))
}

fn jitter(window: Duration) -> Duration {
    if window.is_zero() {
        return window;
    }
    rand::thread_rng().gen_range(Duration::ZERO..=window)
}
