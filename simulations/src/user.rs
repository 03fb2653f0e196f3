//! The user model: one user with a mix of TV, mobile and web devices, and the
//! state its devices share inside the harness (not on the wire): when each op
//! was *intended* to be sent (to time its deltas on the other devices), open
//! handoffs, and which device the workload routes playback to.

use std::collections::{HashMap, VecDeque};
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// Device kinds in the order a user acquires them: every user has a TV;
/// most have a phone; some a web browser.
pub const KINDS: [&str; 4] = ["tv", "mobile", "web", "mobile"];

/// How long the intended send time of an op is remembered.
const KEEP: Duration = Duration::from_secs(60);

/// One device slot of a user.
#[derive(Debug)]
pub struct DeviceSlot {
    /// Device id (`d0`, `d1`, ...).
    pub id: String,
    /// `tv`, `mobile`, `web`.
    pub kind: &'static str,
    /// Highest `seq` this device had acknowledged (for the lost-ack check).
    pub max_acked: AtomicU64,
}

/// A user and what its devices share.
#[derive(Debug)]
pub struct UserShared {
    /// User id.
    pub name: String,
    /// Its devices.
    pub devices: Vec<DeviceSlot>,
    /// Device index the workload sends playback to (the believed lease holder).
    pub player: AtomicUsize,
    /// node-kill: microseconds from the kill to this user's first ack on a
    /// session synced after the kill, plus one (0 = none yet).
    pub failover_us: AtomicU64,
    sent: Mutex<SentLog>,
    handoffs: Mutex<HashMap<String, Instant>>,
}

#[derive(Debug, Default)]
struct SentLog {
    map: HashMap<(usize, u64), Instant>,
    order: VecDeque<(Instant, usize, u64)>,
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}

impl UserShared {
    /// User `name` with `devices` devices (kinds from [`KINDS`], cycling).
    pub fn new(name: String, devices: usize) -> Self {
        UserShared {
            name,
            devices: (0..devices)
                .map(|i| DeviceSlot {
                    id: format!("d{i}"),
                    kind: KINDS[i % KINDS.len()],
                    max_acked: AtomicU64::new(0),
                })
                .collect(),
            player: AtomicUsize::new(0),
            failover_us: AtomicU64::new(0),
            sent: Mutex::new(SentLog::default()),
            handoffs: Mutex::new(HashMap::new()),
        }
    }

    /// Index of device `id`.
    pub fn index_of(&self, id: &str) -> Option<usize> {
        self.devices.iter().position(|d| d.id == id)
    }

    /// Remember that device `dev` sent `seq`, intended at `at`.
    pub fn sent(&self, dev: usize, seq: u64, at: Instant) {
        let mut log = lock(&self.sent);
        log.map.insert((dev, seq), at);
        log.order.push_back((at, dev, seq));
        let now = Instant::now();
        while let Some(&(t, d, s)) = log.order.front() {
            if now.duration_since(t) < KEEP {
                break;
            }
            log.order.pop_front();
            if log.map.get(&(d, s)) == Some(&t) {
                log.map.remove(&(d, s));
            }
        }
    }

    /// Forget `(dev, seq)` (the op was refused or renumbered).
    pub fn forget(&self, dev: usize, seq: u64) -> Option<Instant> {
        lock(&self.sent).map.remove(&(dev, seq))
    }

    /// When `(dev, seq)` was intended to be sent, if it is being timed.
    pub fn intended(&self, dev: usize, seq: u64) -> Option<Instant> {
        lock(&self.sent).map.get(&(dev, seq)).copied()
    }

    /// Remember a handoff request.
    pub fn handoff_sent(&self, request: String, at: Instant) {
        lock(&self.handoffs).insert(request, at);
    }

    /// Take the intended time of a handoff request.
    pub fn handoff_done(&self, request: &str) -> Option<Instant> {
        lock(&self.handoffs).remove(request)
    }

    /// Note the device that now plays.
    pub fn set_player(&self, dev: usize) {
        self.player.store(dev, Ordering::Relaxed);
    }

    /// node-kill: note an ack at `now` on a session synced at `synced`, if
    /// both are after the kill at `kill` and it is this user's first.
    pub fn note_ack_after_kill(&self, kill: Instant, synced: Instant, now: Instant) {
        if synced > kill {
            let us = u64::try_from(now.duration_since(kill).as_micros()).unwrap_or(u64::MAX - 1);
            let _ =
                self.failover_us
                    .compare_exchange(0, us + 1, Ordering::Relaxed, Ordering::Relaxed);
        }
    }

    /// node-kill: the failover time of this user, if it had an ack after the kill.
    pub fn failover(&self) -> Option<Duration> {
        match self.failover_us.load(Ordering::Relaxed) {
            0 => None,
            us => Some(Duration::from_micros(us - 1)),
        }
    }

    /// The device that plays.
    pub fn player(&self) -> usize {
        self.player.load(Ordering::Relaxed)
    }
}
