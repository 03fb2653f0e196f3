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
