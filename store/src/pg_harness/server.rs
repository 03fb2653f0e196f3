//! Starting and stopping the `postgres` process: binaries, the OS user, readiness.

use std::fs::File;
use std::net::TcpListener;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use super::{HarnessError, PgHarness};

/// A running `postgres` process and its temporary directory.
#[derive(Debug)]
pub(super) struct Server {
    child: Child,
    pub(super) port: u16,
    dir: tempfile::TempDir,
}

impl Server {
    pub(super) fn start() -> Result<Self, HarnessError> {
        let bin = find_bin_dir()?;
        let dir = tempfile::Builder::new()
            .prefix("baton-pg-")
            .tempdir()
            .map_err(io("creating the temp dir"))?;
        let run_as = RunAs::detect(dir.path())?;
        let data = dir.path().join("data");
        let initdb = run_as
            .command(&bin.join("initdb"), dir.path())
            .arg("-D")
            .arg(&data)
            .args([
                "-U",
                "postgres",
                "-A",
                "trust",
                "-E",
                "UTF8",
                "--no-locale",
                "--no-sync",
            ])
            .output()
            .map_err(io("running initdb"))?;
        if !initdb.status.success() {
            return Err(HarnessError::Command {
                what: "initdb".into(),
                status: initdb.status,
                output: format!(
                    "{}{}",
                    String::from_utf8_lossy(&initdb.stdout),
                    String::from_utf8_lossy(&initdb.stderr)
                ),
            });
        }
        let port = free_port()?;
        let log_path = dir.path().join("postgres.log");
        let log = File::create(&log_path).map_err(io("creating postgres.log"))?;
        let log_err = log.try_clone().map_err(io("cloning the log handle"))?;
        let child = run_as
            .command(&bin.join("postgres"), dir.path())
            .arg("-D")
            .arg(&data)
            .arg("-k")
            .arg(dir.path())
            .args(["-h", "127.0.0.1", "-p", &port.to_string()])
            .args([
                "-c",
                "fsync=on",
                "-c",
                "synchronous_commit=on",
                "-c",
                "max_connections=200",
            ])
            .stdin(Stdio::null())
            .stdout(log)
            .stderr(log_err)
            .spawn()
            .map_err(io("spawning postgres"))?;
        let mut server = Server { child, port, dir };
        server.wait_ready(&bin, &log_path)?;
        Ok(server)
    }

    /// Polls `pg_isready` until the server answers, it exits, or the timeout passes.
    fn wait_ready(&mut self, bin: &Path, log_path: &Path) -> Result<(), HarnessError> {
        let deadline = Instant::now() + PgHarness::READY_TIMEOUT;
        let log = || std::fs::read_to_string(log_path).unwrap_or_default();
        while Instant::now() < deadline {
            if let Ok(Some(status)) = self.child.try_wait() {
                return Err(HarnessError::NotReady(format!(
                    "exited with {status}: {}",
                    log()
                )));
            }
            let ready = Command::new(bin.join("pg_isready"))
                .args([
                    "-h",
                    "127.0.0.1",
                    "-p",
                    &self.port.to_string(),
                    "-U",
                    "postgres",
                    "-t",
                    "1",
                ])
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .status()
                .map_err(io("running pg_isready"))?;
            if ready.success() {
                return Ok(());
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        Err(HarnessError::NotReady(format!(
            "timed out after {:?}: {}",
            PgHarness::READY_TIMEOUT,
            log()
        )))
    }
}

impl Drop for Server {
    /// SIGQUIT (immediate shutdown, which also ends the backends), SIGKILL if still alive
    /// after 5 s. The temp dir is removed afterwards by its own drop.
    fn drop(&mut self) {
        let _ = Command::new("kill")
            .args(["-QUIT", &self.child.id().to_string()])
            .status();
        let deadline = Instant::now() + Duration::from_secs(5);
        while Instant::now() < deadline {
            if let Ok(Some(_)) = self.child.try_wait() {
                return;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
        tracing::warn!(dir = ?self.dir.path(), "postgres needed SIGKILL");
    }
}

/// Who runs the Postgres programs: this process, or (as root) the `postgres` user.
enum RunAs {
    Me,
    Postgres { uid: u32, gid: u32 },
}

impl RunAs {
    /// As root, also hands `dir` to the `postgres` user.
    fn detect(dir: &Path) -> Result<Self, HarnessError> {
        let me = std::fs::metadata("/proc/self").map_err(io("reading /proc/self"))?;
        if me.uid() != 0 {
            return Ok(RunAs::Me);
        }
        let uid = id_of("-u")?;
        let gid = id_of("-g")?;
        std::os::unix::fs::chown(dir, Some(uid), Some(gid)).map_err(io("chown of the temp dir"))?;
        Ok(RunAs::Postgres { uid, gid })
    }

    fn command(&self, program: &Path, cwd: &Path) -> Command {
        let mut cmd = match self {
            RunAs::Me => Command::new(program),
            RunAs::Postgres { uid, gid } => {
                // setpriv execs in place, so the child's pid is the program's pid.
                let mut c = Command::new("setpriv");
                c.arg(format!("--reuid={uid}"))
                    .arg(format!("--regid={gid}"))
                    .arg("--clear-groups")
                    .arg("--")
                    .arg(program);
                c
            }
        };
        cmd.current_dir(cwd);
        cmd
    }
}

/// `id -u postgres` / `id -g postgres`.
fn id_of(flag: &str) -> Result<u32, HarnessError> {
    let out = Command::new("id")
        .args([flag, "postgres"])
        .output()
        .map_err(io("running id"))?;
    String::from_utf8_lossy(&out.stdout)
        .trim()
        .parse()
        .map_err(|_| {
            HarnessError::NoBinaries("no `postgres` OS user (install Debian's postgresql)".into())
        })
}

/// `BATON_PG_BIN`, else the highest-versioned `/usr/lib/postgresql/<v>/bin`.
fn find_bin_dir() -> Result<PathBuf, HarnessError> {
    if let Ok(dir) = std::env::var(PgHarness::BIN_ENV) {
        return Ok(PathBuf::from(dir));
    }
    let root = Path::new("/usr/lib/postgresql");
    let entries = std::fs::read_dir(root).map_err(|e| {
        HarnessError::NoBinaries(format!("{root:?}: {e}; set {}", PgHarness::BIN_ENV))
    })?;
    entries
        .filter_map(Result::ok)
        .filter_map(|e| {
            let version: u32 = e.file_name().to_str()?.parse().ok()?;
            let bin = e.path().join("bin");
            bin.join("initdb").exists().then_some((version, bin))
        })
        .max_by_key(|(v, _)| *v)
        .map(|(_, bin)| bin)
        .ok_or_else(|| HarnessError::NoBinaries(format!("no */bin/initdb under {root:?}")))
}

/// A port that was free a moment ago (bind port 0, read it, release it).
fn free_port() -> Result<u16, HarnessError> {
    let listener = TcpListener::bind("127.0.0.1:0").map_err(io("binding a free port"))?;
    Ok(listener
        .local_addr()
        .map_err(io("reading the bound port"))?
        .port())
}

fn io(what: &'static str) -> impl FnOnce(std::io::Error) -> HarnessError {
    move |source| HarnessError::Io {
        what: what.to_string(),
        source,
    }
}
