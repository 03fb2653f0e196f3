//! Resident memory and CPU time of a process, from `/proc/<pid>/status` and
//! `/proc/<pid>/stat` (Linux). Used for the spawned server (or relay) and for
//! the harness itself (client memory per virtual device).

use std::time::Instant;

/// One reading.
#[derive(Debug, Clone, Copy, Default)]
pub struct ProcSample {
    /// Resident set size in KiB (`VmRSS`).
    pub rss_kib: u64,
    /// User + system CPU time in clock ticks.
    pub cpu_ticks: u64,
}

/// Read `VmRSS` and CPU ticks of `pid` ("self" for this process).
pub fn sample(pid: &str) -> Option<ProcSample> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let rss_kib = status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.split_whitespace().next())
        .and_then(|v| v.parse().ok())?;
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // Fields after the parenthesised command name; utime and stime are the
    // 14th and 15th fields of the whole line.
    let rest = stat.rsplit_once(')').map(|(_, r)| r)?;
    let fields: Vec<&str> = rest.split_whitespace().collect();
    let utime: u64 = fields.get(11)?.parse().ok()?;
    let stime: u64 = fields.get(12)?.parse().ok()?;
    Some(ProcSample {
        rss_kib,
        cpu_ticks: utime + stime,
    })
}

/// CPU use between two readings, in percent of one core (USER_HZ = 100).
pub struct CpuMeter {
    pid: String,
    last: Option<(Instant, u64)>,
}

impl CpuMeter {
    /// A meter for `pid`.
    pub fn new(pid: impl Into<String>) -> Self {
        CpuMeter {
            pid: pid.into(),
            last: None,
        }
    }

    /// The current RSS (KiB) and the CPU percent since the previous call.
    pub fn read(&mut self) -> Option<(u64, f64)> {
        let s = sample(&self.pid)?;
        let now = Instant::now();
        let cpu = match self.last {
            Some((t, ticks)) => {
                let secs = now.duration_since(t).as_secs_f64().max(1e-3);
                (s.cpu_ticks.saturating_sub(ticks) as f64) / secs
            }
            None => 0.0,
        };
        self.last = Some((now, s.cpu_ticks));
        Some((s.rss_kib, cpu))
    }
}

/// Processes `roots` and all their descendants (Postgres forks a backend per
/// connection): summed RSS and CPU, read from `/proc` at each call.
pub struct TreeMeter {
    roots: Vec<u32>,
    last: Option<(Instant, u64)>,
}

impl TreeMeter {
    /// A meter for the trees under `roots`.
    pub fn new(roots: Vec<u32>) -> Self {
        TreeMeter { roots, last: None }
    }

    /// Summed RSS (KiB) and CPU percent since the previous call. CPU of
    /// descendants that exited between two calls is not seen.
    pub fn read(&mut self) -> Option<(u64, f64)> {
        if self.roots.is_empty() {
            return None;
        }
        let mut parent = std::collections::HashMap::new();
        for e in std::fs::read_dir("/proc").ok()?.flatten() {
            let Some(pid) = e.file_name().to_str().and_then(|s| s.parse::<u32>().ok()) else {
                continue;
            };
            let Ok(stat) = std::fs::read_to_string(format!("/proc/{pid}/stat")) else {
                continue;
            };
            let ppid = stat
                .rsplit_once(')')
                .and_then(|(_, r)| r.split_whitespace().nth(1))
                .and_then(|p| p.parse::<u32>().ok())
                .unwrap_or(0);
            parent.insert(pid, ppid);
        }
        let in_tree = |mut pid: u32| {
            for _ in 0..8 {
                if self.roots.contains(&pid) {
                    return true;
                }
                match parent.get(&pid) {
                    Some(&p) if p > 1 => pid = p,
                    _ => return false,
                }
            }
            false
        };
        let (mut rss, mut ticks) = (0, 0);
        for &pid in parent.keys() {
            if in_tree(pid) {
                if let Some(s) = sample(&pid.to_string()) {
                    rss += s.rss_kib;
                    ticks += s.cpu_ticks;
                }
            }
        }
        let now = Instant::now();
        let cpu = match self.last {
            Some((t, last)) => {
                ticks.saturating_sub(last) as f64 / now.duration_since(t).as_secs_f64().max(1e-3)
            }
            None => 0.0,
        };
        self.last = Some((now, ticks));
        Some((rss, cpu))
    }
}

/// The postmaster of a Postgres listening on `port` on this machine (found by
/// its command line: `postgres ... -p <port>`).
pub fn postgres_on_port(port: u16) -> Option<u32> {
    let want = port.to_string();
    for e in std::fs::read_dir("/proc").ok()?.flatten() {
        let Some(pid) = e.file_name().to_str().and_then(|s| s.parse::<u32>().ok()) else {
            continue;
        };
        let Ok(cmd) = std::fs::read(format!("/proc/{pid}/cmdline")) else {
            continue;
        };
        let args: Vec<&[u8]> = cmd.split(|b| *b == 0).collect();
        let is_pg = args.first().is_some_and(|a| a.ends_with(b"postgres"));
        if is_pg
            && args
                .windows(2)
                .any(|w| w[0] == b"-p" && w[1] == want.as_bytes())
        {
            return Some(pid);
        }
    }
    None
}
