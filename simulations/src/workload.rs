//! Open-loop load: op `i` of a phase is intended at `start + i / rate`,
//! whatever the server or the devices are doing; latency is measured from
//! that intended time, so stalls are not hidden (no coordinated omission).

use std::time::{Duration, Instant};

use rand::Rng;

use crate::device::{Cmd, OpKind};
use crate::fleet::Fleet;
use crate::metrics::Recorder;

/// The op mix (fractions of all ops; the rest are watchlist adds).
#[derive(Debug, Clone, Copy, serde::Serialize)]
pub struct Mix {
    /// Playback progress reports (sent by the user's playing device).
    pub playback: f64,
    /// Watchlist removes.
    pub remove: f64,
}

impl Default for Mix {
    fn default() -> Self {
        Mix {
            playback: 0.5,
            remove: 0.2,
        }
    }
}

/// Issue ops at `rate` per second for `dur`, spread over random users.
/// Returns the number of ops issued.
pub async fn run_ops(fleet: &Fleet, rec: &Recorder, rate: f64, dur: Duration, mix: Mix) -> u64 {
    let start = Instant::now();
    let mut issued: u64 = 0;
    let mut tick = tokio::time::interval(Duration::from_millis(1));
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Skip);
    let users = fleet.users.len();
    if users == 0 || rate <= 0.0 {
        tokio::time::sleep(dur).await;
        return 0;
    }
    loop {
        tick.tick().await;
        let elapsed = start.elapsed().min(dur);
        let due = (elapsed.as_secs_f64() * rate) as u64;
        let mut rng = rand::thread_rng();
        while issued < due {
            let intended = start + Duration::from_secs_f64(issued as f64 / rate);
            let u = rng.gen_range(0..users);
            let user = &fleet.users[u];
            let x: f64 = rng.gen();
            let (kind, dev) = if x < mix.playback {
                (OpKind::Play, user.player())
            } else if x < mix.playback + mix.remove {
                (OpKind::Remove, rng.gen_range(0..user.devices.len()))
            } else {
                (OpKind::Add, rng.gen_range(0..user.devices.len()))
            };
            fleet.send(rec, u, dev, Cmd::Op(kind, intended));
            Recorder::inc(&rec.counters.ops_scheduled);
            issued += 1;
        }
        if elapsed >= dur {
            return issued;
        }
    }
}

/// Every user's playing device hands playback to another device at once
/// (within `spread`); returns the number of handoffs asked.
pub async fn handoff_burst(fleet: &Fleet, rec: &Recorder, spread: Duration) -> usize {
    let start = Instant::now();
    let n = fleet.users.len();
    let mut asked = 0;
    for (u, user) in fleet.users.iter().enumerate() {
        let from = user.player();
        let to = (from + 1) % user.devices.len();
        if to == from {
            continue;
        }
        let at = start + spread.mul_f64(u as f64 / n.max(1) as f64);
        tokio::time::sleep_until(at.into()).await;
        fleet.send(rec, u, from, Cmd::Handoff(to, at));
        asked += 1;
    }
    asked
}
