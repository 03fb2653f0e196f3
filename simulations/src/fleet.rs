//! The fleet: every user and virtual device of a run, each device a task fed
//! by a bounded command channel.

use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::Context as _;
use tokio::sync::mpsc;
use tokio::task::JoinHandle;

use crate::device::{Cmd, Device, DeviceEnv};
use crate::metrics::Recorder;
use crate::target::Target;
use crate::user::UserShared;

/// Commands a device may have queued before the workload counts it as
/// backlogged (the client cannot keep up).
const CMD_QUEUE: usize = 4096;

/// All users and devices.
pub struct Fleet {
    /// Users.
    pub users: Vec<Arc<UserShared>>,
    /// Per user, per device: the command channel.
    pub cmds: Vec<Vec<mpsc::Sender<Cmd>>>,
    joins: Vec<JoinHandle<()>>,
}

/// Mint one real JWT per device, in parallel on blocking threads.
pub async fn mint_tokens(
    target: &Arc<Target>,
    users: &[Arc<UserShared>],
) -> anyhow::Result<Vec<Vec<String>>> {
    let workers = std::thread::available_parallelism().map_or(2, |n| n.get());
    let chunk = users.len().div_ceil(workers).max(1);
    let mut tasks = Vec::new();
    for part in users.chunks(chunk) {
        let part: Vec<Arc<UserShared>> = part.to_vec();
        let target = target.clone();
        tasks.push(tokio::task::spawn_blocking(move || {
            part.iter()
                .map(|u| {
                    u.devices
                        .iter()
                        .map(|d| target.device_token(&u.name, &d.id))
                        .collect()
                })
                .collect::<anyhow::Result<Vec<Vec<String>>>>()
        }));
    }
    let mut out = Vec::new();
    for t in tasks {
        out.extend(t.await.context("minting task")??);
    }
    Ok(out)
}

impl Fleet {
    /// Spawn every device; device `k` (in global order) first connects at
    /// `start + k * window / n` (an open-loop connect schedule).
    pub fn spawn(
        env: &DeviceEnv,
        users: Vec<Arc<UserShared>>,
        tokens: Vec<Vec<String>>,
        start: Instant,
        window: Duration,
    ) -> Fleet {
        let total: usize = users.iter().map(|u| u.devices.len()).sum();
        let mut n = 0usize;
        let mut cmds = Vec::new();
        let mut joins = Vec::new();
        for (u, toks) in users.iter().zip(tokens) {
            let mut row = Vec::new();
            for (idx, token) in toks.into_iter().enumerate() {
                let (tx, rx) = mpsc::channel(CMD_QUEUE);
                let at = start + window.mul_f64(n as f64 / total.max(1) as f64);
                let dev = Device::new(env.clone(), u.clone(), idx, n, token);
                joins.push(tokio::spawn(dev.run(at, rx)));
                row.push(tx);
                n += 1;
            }
            cmds.push(row);
        }
        Fleet { users, cmds, joins }
    }

    /// Number of devices.
    pub fn devices(&self) -> usize {
        self.cmds.iter().map(Vec::len).sum()
    }

    /// Send a command; a full channel is counted, not awaited (open loop).
    pub fn send(&self, rec: &Recorder, user: usize, dev: usize, cmd: Cmd) {
        if let Some(tx) = self.cmds.get(user).and_then(|r| r.get(dev)) {
            if tx.try_send(cmd).is_err() {
                rec.error("client_backlog");
            }
        }
    }

    /// Wait until `online` devices are synced or `timeout` passes; returns the time taken.
    pub async fn wait_online(
        &self,
        rec: &Recorder,
        want: u64,
        timeout: Duration,
    ) -> Option<Duration> {
        let t0 = Instant::now();
        while Recorder::get(&rec.counters.online) < want {
            if t0.elapsed() > timeout {
                return None;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        Some(t0.elapsed())
    }

    /// Ask every device to settle (online, nothing unacknowledged); returns how many did.
    pub async fn settle(&self, timeout: Duration) -> usize {
        let mut waits = Vec::new();
        for row in &self.cmds {
            for tx in row {
                let (otx, orx) = tokio::sync::oneshot::channel();
                if tx.send(Cmd::Settle(otx)).await.is_ok() {
                    waits.push(orx);
                }
            }
        }
        let deadline = tokio::time::Instant::now() + timeout;
        let mut ok = 0;
        for w in waits {
            if matches!(tokio::time::timeout_at(deadline, w).await, Ok(Ok(()))) {
                ok += 1;
            }
        }
        ok
    }

    /// Stop every device task.
    pub async fn stop(self) {
        for row in &self.cmds {
            for tx in row {
                let _ = tx.try_send(Cmd::Stop);
            }
        }
        drop(self.cmds);
        for j in self.joins {
            let _ = tokio::time::timeout(Duration::from_secs(5), j).await;
        }
    }
}
