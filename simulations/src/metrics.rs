//! Measurements shared by every virtual device: HDR latency histograms
//! (whole run and per one-second window), counters, and errors by code.
//!
//! Latencies are recorded in microseconds, from the op's *intended* send time
//! (open loop), so a stalled server or client shows up as latency.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Mutex, OnceLock};
use std::time::{Duration, Instant};

use hdrhistogram::Histogram;

/// The latencies the harness measures.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Lat {
    /// TCP connect + upgrade + hello -> `synced`.
    Connect,
    /// Op intended send time -> `ack` on the sender.
    Ack,
    /// Op intended send time on device A -> `delta` on device B of the same user.
    Propagation,
    /// `handoff` intended time -> `playback_control` on the target.
    Handoff,
}

impl Lat {
    /// Every kind, in report order.
    pub const ALL: [Lat; 4] = [Lat::Connect, Lat::Ack, Lat::Propagation, Lat::Handoff];

    /// Name in reports.
    pub fn name(self) -> &'static str {
        match self {
            Lat::Connect => "connect",
            Lat::Ack => "ack",
            Lat::Propagation => "propagation",
            Lat::Handoff => "handoff",
        }
    }

    fn index(self) -> usize {
        self as usize
    }
}

/// Monotonic counters.
#[derive(Debug, Default)]
pub struct Counters {
    /// Ops the workload scheduled.
    pub ops_scheduled: AtomicU64,
    /// Op frames written to a socket (resends included).
    pub ops_sent: AtomicU64,
    /// Acks received (duplicates included).
    pub acks: AtomicU64,
    /// Deltas received after catch-up.
    pub deltas: AtomicU64,
    /// Sessions that reached `synced`.
    pub connects: AtomicU64,
    /// Reconnections after a lost session.
    pub reconnects: AtomicU64,
    /// Times a device moved on to the next target (cluster) after a failure.
    pub target_moves: AtomicU64,
    /// Handoffs sent.
    pub handoffs: AtomicU64,
    /// `handoff_result` with `delivered`.
    pub handoffs_delivered: AtomicU64,
    /// Playback ops skipped because another device held the lease.
    pub playback_skipped: AtomicU64,
    /// Ops that went into a local outbox because the device was offline.
    pub offline_ops: AtomicU64,
    /// Devices currently in a synced session.
    pub online: AtomicU64,
}

/// One latency summary, in microseconds.
#[derive(Debug, Clone, Copy, Default, serde::Serialize)]
pub struct Summary {
    /// Samples.
    pub count: u64,
    /// Median.
    pub p50_us: u64,
    /// 99th percentile.
    pub p99_us: u64,
    /// 99.9th percentile.
    pub p999_us: u64,
    /// Largest.
    pub max_us: u64,
}

impl Summary {
    /// Summary of one histogram.
    pub fn of(h: &Histogram<u64>) -> Summary {
        Summary {
            count: h.len(),
            p50_us: h.value_at_quantile(0.5),
            p99_us: h.value_at_quantile(0.99),
            p999_us: h.value_at_quantile(0.999),
            max_us: h.max(),
        }
    }
}

/// Everything recorded during one run.
#[derive(Debug)]
pub struct Recorder {
    total: Vec<Mutex<Histogram<u64>>>,
    window: Vec<Mutex<Histogram<u64>>>,
    errors: Mutex<BTreeMap<String, u64>>,
    /// The counters.
    pub counters: Counters,
    /// When a node was killed (node-kill): acks of sessions synced after it
    /// count for the failover time of their user.
    pub kill_at: OnceLock<Instant>,
}

fn histogram() -> Histogram<u64> {
    // 1 us .. 10 min, 3 significant digits; the bounds are constants.
    #[allow(clippy::expect_used)]
    Histogram::new_with_bounds(1, 600_000_000, 3).expect("constant, valid bounds")
}

impl Default for Recorder {
    fn default() -> Self {
        let mk = || {
            (0..Lat::ALL.len())
                .map(|_| Mutex::new(histogram()))
                .collect()
        };
        Recorder {
            total: mk(),
            window: mk(),
            errors: Mutex::new(BTreeMap::new()),
            counters: Counters::default(),
            kill_at: OnceLock::new(),
        }
    }
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}

impl Recorder {
    /// Record one latency.
    pub fn record(&self, lat: Lat, d: Duration) {
        let us = u64::try_from(d.as_micros()).unwrap_or(u64::MAX).max(1);
        let _ = lock(&self.total[lat.index()]).record(us.min(600_000_000));
        let _ = lock(&self.window[lat.index()]).record(us.min(600_000_000));
    }

    /// Count one error (error frame code, close code, HTTP status...).
    pub fn error(&self, code: &str) {
        *lock(&self.errors).entry(code.to_owned()).or_insert(0) += 1;
    }

    /// Errors by code so far.
    pub fn errors(&self) -> BTreeMap<String, u64> {
        lock(&self.errors).clone()
    }

    /// Summary over the whole run so far.
    pub fn summary(&self, lat: Lat) -> Summary {
        Summary::of(&lock(&self.total[lat.index()]))
    }

    /// Summary of the current window; resets the window.
    pub fn take_window(&self, lat: Lat) -> Summary {
        let mut h = lock(&self.window[lat.index()]);
        let s = Summary::of(&h);
        h.reset();
        s
    }

    /// Reset the whole-run histograms (after a warm-up or between ramp steps).
    pub fn reset_totals(&self) {
        for h in &self.total {
            lock(h).reset();
        }
    }

    /// Read a counter.
    pub fn get(c: &AtomicU64) -> u64 {
        c.load(Ordering::Relaxed)
    }

    /// Increment a counter.
    pub fn inc(c: &AtomicU64) {
        c.fetch_add(1, Ordering::Relaxed);
    }
}
