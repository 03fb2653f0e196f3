//! The simulated world: one user, its devices, the store, the current
//! activation (and an old one still running after an unplanned move), on
//! virtual time, every choice drawn from one seeded generator.

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;

use baton_crdt::uhlc::NTP64;
use baton_crdt::{hlc_id_for, Hlc};
use baton_protocol::{Limits, ServerFrame};
use baton_sync::{Now, SyncConfig};
use rand::rngs::StdRng;
use rand::SeedableRng;

use crate::device::Device;
use crate::node::Node;
use crate::store::ModelStore;

/// Settings of one run.
#[derive(Debug, Clone)]
pub struct Options {
    /// The seed of every random choice.
    pub seed: u64,
    /// Random steps before the final quiescence.
    pub steps: usize,
    /// Devices of the user.
    pub devices: usize,
    /// Crashes, failing commits and unplanned moves.
    pub faults: bool,
}

/// What a run did.
#[derive(Debug, Default, Clone)]
pub struct Report {
    /// Steps taken (random and quiescence).
    pub steps: usize,
    /// Ops acknowledged to devices.
    pub acks: usize,
    /// Frames delivered to devices.
    pub frames: usize,
    /// Process crashes.
    pub crashes: usize,
    /// Planned and unplanned moves.
    pub moves: usize,
    /// Commits that failed.
    pub failed_commits: usize,
    /// Appends refused by fencing.
    pub fenced: usize,
    /// Activations (cold and warm).
    pub activations: usize,
    /// Slow-consumer disconnects.
    pub slow_consumers: usize,
    /// Records in the log at the end.
    pub log_len: usize,
}

/// The largest number of frames a device's queue may hold in this model.
pub const QUEUE_FRAMES: usize = 256;

/// The world.
pub struct World {
    pub(crate) rng: StdRng,
    pub(crate) opts: Options,
    pub(crate) now_ms: u64,
    hlc_last: u64,
    pub(crate) store: ModelStore,
    pub(crate) node: Option<Node>,
    pub(crate) zombie: Option<Node>,
    pub(crate) devices: Vec<Device>,
    pub(crate) cfg: Arc<SyncConfig>,
    pub(crate) limits: Arc<Limits>,
    pub(crate) next_conn: u64,
    pub(crate) generation: u64,
    /// Connection id -> (device index, activation generation).
    pub(crate) conns: HashMap<u64, (usize, u64)>,
    /// Every acknowledged `(device, seq)`.
    pub(crate) acked: Vec<(String, u64)>,
    /// Every lease token devices were told, with its holder.
    pub(crate) lease_holders: BTreeMap<u64, String>,
    /// Bytes a device's queue may hold (live budget, catch-up allowance).
    pub(crate) queue_bytes: (usize, usize),
    pub(crate) max_inflight: usize,
    pub(crate) report: Report,
    /// The first broken invariant.
    pub(crate) violation: Option<String>,
    /// Print every input and effect (`BATON_DSIM_TRACE=1`).
    pub(crate) trace: bool,
}

impl World {
    /// A world for `opts`, with rules tuned so that short runs reach every
    /// path: snapshots every 8 records, a window of 16 ops, 200-byte
    /// snapshot chunks, 60 ops per 10 s.
    pub fn new(opts: Options) -> Self {
        let cfg = SyncConfig {
            snapshot_every_ops: 8,
            log_retention_ops: 16,
            snapshot_chunk_bytes: 200,
            rate_limit_events: 60,
            rate_limit_window: std::time::Duration::from_secs(10),
            idle_passivate: std::time::Duration::from_secs(30),
            ..SyncConfig::default()
        };
        let limits = Limits {
            rate_limit_events: cfg.rate_limit_events,
            rate_limit_window_secs: cfg.rate_limit_window.as_secs(),
            max_inflight_ops: 4,
            ..Limits::default()
        };
        let devices = (0..opts.devices)
            .map(|i| Device::new(&format!("dev{i}")))
            .collect();
        Self {
            rng: StdRng::seed_from_u64(opts.seed),
            opts,
            now_ms: 1_700_000_000_000,
            hlc_last: 0,
            store: ModelStore::new(),
            node: None,
            zombie: None,
            devices,
            cfg: Arc::new(cfg),
            limits: Arc::new(limits),
            next_conn: 1,
            generation: 0,
            conns: HashMap::new(),
            acked: Vec::new(),
            lease_holders: BTreeMap::new(),
            queue_bytes: (64 * 1024, 256 * 1024),
            max_inflight: 4,
            report: Report::default(),
            violation: None,
            trace: std::env::var_os("BATON_DSIM_TRACE").is_some(),
        }
    }

    /// The time of the next input: wall ms, and an HLC that never repeats.
    pub(crate) fn now(&mut self) -> Now {
        let ntp = ntp(self.now_ms).0.max(self.hlc_last + 1);
        self.hlc_last = ntp;
        Now {
            ms: self.now_ms,
            hlc: Hlc::new(NTP64(ntp), hlc_id_for("~node")),
        }
    }

    /// Record the first broken invariant.
    pub(crate) fn violate(&mut self, what: String) {
        if self.trace {
            eprintln!("[{}] VIOLATION {what}", self.report.steps);
        }
        if self.violation.is_none() {
            self.violation = Some(what);
        }
    }

    /// Checks a frame about to reach a device against the durable state:
    /// nothing it names may be something a crash could take back.
    pub(crate) fn check_reveal(&mut self, device: usize, frame: &ServerFrame) {
        let durable = self.store.version();
        let id = self.devices[device].id.clone();
        let mut broken = Vec::new();
        let mut leases: Vec<(u64, Option<String>)> = Vec::new();
        match frame {
            ServerFrame::Welcome(w) => {
                if w.version > durable {
                    broken.push(format!("welcome version {} > durable {durable}", w.version));
                }
                if !self.store.durable.is_known(&w.device) {
                    broken.push(format!(
                        "welcome of {} before its registration is durable",
                        w.device
                    ));
                }
                leases.push((w.lease.token, w.lease.holder.clone()));
            }
            ServerFrame::Ack { seq, version, .. }
                if *version > durable || self.store.durable.vv().get(&id) < *seq =>
            {
                broken.push(format!("ack of ({id}, {seq}) at {version} is not durable"));
            }
            ServerFrame::Delta(op)
                if op.version > durable || self.store.durable.vv().get(&op.device) < op.seq =>
            {
                broken.push(format!("delta ({}, {}) is not durable", op.device, op.seq));
            }
            ServerFrame::Synced { version } | ServerFrame::SnapshotChunk { version, .. }
                if *version > durable =>
            {
                broken.push(format!("snapshot/synced at {version} > durable {durable}"));
            }
            ServerFrame::Lease(lease) => leases.push((lease.token, lease.holder.clone())),
            ServerFrame::PlaybackControl { lease, .. } => leases.push((*lease, Some(id.clone()))),
            ServerFrame::Presence { devices } => {
                for entry in devices {
                    if !self.store.durable.is_known(&entry.device) {
                        broken.push(format!(
                            "presence shows {} before it is durable",
                            entry.device
                        ));
                    }
                }
            }
            _ => {}
        }
        for (token, holder) in leases {
            if token > self.store.durable.lease_token() {
                broken.push(format!("lease token {token} is not durable"));
            }
            if let Some(holder) = holder {
                match self.lease_holders.get(&token) {
                    Some(h) if *h != holder => {
                        broken.push(format!("lease token {token} told for {holder} and for {h}"))
                    }
                    _ => {
                        self.lease_holders.insert(token, holder);
                    }
                }
            }
        }
        for b in broken {
            self.violate(b);
        }
    }
}

/// NTP64 time of `ms` milliseconds since the epoch.
pub(crate) fn ntp(ms: u64) -> NTP64 {
    let secs = ms / 1000;
    let frac = ((ms % 1000) << 32) / 1000;
    NTP64((secs << 32) | frac)
}
