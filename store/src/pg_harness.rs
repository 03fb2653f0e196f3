//! A throwaway Postgres server for tests and benches (feature `test-harness`).
//!
//! [`PgHarness::start`] either uses the server named by `BATON_TEST_PG_URL`, or starts
//! its own: `initdb` into a fresh temporary directory, then `postgres` listening on
//! 127.0.0.1 at a free port (socket dir = that temp dir, `fsync=on`). The binaries come
//! from `BATON_PG_BIN` or the newest `/usr/lib/postgresql/*/bin` (Debian's `postgresql`
//! package). Postgres refuses to run as root, so when the process is root the data
//! directory is given to the `postgres` OS user and both programs run as that user via
//! `setpriv`. Readiness is polled with `pg_isready` for at most
//! [`PgHarness::READY_TIMEOUT`]. Dropping the harness stops the server (SIGQUIT, then
//! SIGKILL) and deletes the directory.
//!
//! Each test gets its own database from [`PgHarness::create_database`], so one server
//! serves a whole test binary. With the standard libtest harness a `static` is never
//! dropped: hold the harness in `main` (a `harness = false` test, as this crate's
//! contract suite does) or in the test itself.
//!
//! ```no_run
//! # async fn demo() -> Result<(), Box<dyn std::error::Error>> {
//! use baton_store::{pg_harness::PgHarness, Store, StoreConfig, StoreOptions};
//! let pg = PgHarness::start()?;
//! let url = pg.create_database().await?;
//! let store = Store::open(&StoreConfig::Postgres { url }, StoreOptions::default()).await?;
//! # Ok(()) }
//! ```

use std::fs::File;
use std::net::TcpListener;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use sqlx::{Connection, PgConnection};

/// Why the harness could not provide a server or a database.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum HarnessError {
    /// No Postgres binaries found (install Debian's `postgresql` or set `BATON_PG_BIN`).
    #[error("postgres binaries not found: {0}")]
    NoBinaries(String),
    /// A file-system or process operation failed.
    #[error("{what}: {source}")]
    Io {
        /// What the harness was doing.
        what: String,
        /// The underlying error.
        source: std::io::Error,
    },
    /// A Postgres program exited unsuccessfully.
    #[error("{what} failed ({status}): {output}")]
    Command {
        /// The program and its purpose.
        what: String,
        /// Its exit status.
        status: std::process::ExitStatus,
        /// Its combined output.
        output: String,
    },
    /// The server did not accept connections in time (or exited); carries its log.
    #[error("postgres did not become ready: {0}")]
    NotReady(String),
    /// Creating the test database failed.
    #[error("creating a test database failed: {0}")]
    Sql(#[from] sqlx::Error),
}

/// A Postgres server for tests: started here, or the one named by `BATON_TEST_PG_URL`.
#[derive(Debug)]
pub struct PgHarness {
    admin_url: String,
    server: Option<Server>,
    next_db: AtomicU64,
    /// Databases created on an external server, dropped again when the harness is.
    created: Mutex<Vec<String>>,
}

impl PgHarness {
    /// Environment variable naming an existing server to use instead of starting one.
    pub const URL_ENV: &'static str = "BATON_TEST_PG_URL";
    /// Environment variable naming the directory holding `initdb` and `postgres`.
    pub const BIN_ENV: &'static str = "BATON_PG_BIN";
    /// Longest wait for a started server to accept connections.
    pub const READY_TIMEOUT: Duration = Duration::from_secs(30);

    /// Uses `BATON_TEST_PG_URL` if set, else starts a server (blocking, about a second).
    pub fn start() -> Result<Self, HarnessError> {
        if let Ok(url) = std::env::var(Self::URL_ENV) {
            if !url.is_empty() {
                return Ok(PgHarness {
                    admin_url: url,
                    server: None,
                    next_db: AtomicU64::new(0),
                    created: Mutex::new(Vec::new()),
                });
            }
        }
        let server = Server::start()?;
        Ok(PgHarness {
            admin_url: format!("postgres://postgres@127.0.0.1:{}/postgres", server.port),
            server: Some(server),
            next_db: AtomicU64::new(0),
            created: Mutex::new(Vec::new()),
        })
    }

    /// URL of the server's maintenance database (superuser on a started server).
    pub fn admin_url(&self) -> &str {
        &self.admin_url
    }

    /// True when the server came from `BATON_TEST_PG_URL` rather than being started here.
    pub fn is_external(&self) -> bool {
        self.server.is_none()
    }

    /// Creates a new, empty, uniquely named database and returns its URL.
    pub async fn create_database(&self) -> Result<String, HarnessError> {
        let n = self.next_db.fetch_add(1, Ordering::Relaxed);
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.subsec_nanos());
        let name = format!("baton_test_{}_{n}_{nanos}", std::process::id());
        let mut conn = PgConnection::connect(&self.admin_url).await?;
        sqlx::query(&format!("CREATE DATABASE \"{name}\""))
            .execute(&mut conn)
            .await?;
        conn.close().await?;
        if self.is_external() {
            if let Ok(mut created) = self.created.lock() {
                created.push(name.clone());
            }
        }
        Ok(with_database(&self.admin_url, &name))
    }
}

impl Drop for PgHarness {
    /// On an external server, drops the databases this harness created (best effort, on
    /// a helper thread with its own runtime so it also works inside async code). A
    /// started server is simply stopped, taking its databases with it.
    fn drop(&mut self) {
        let names = match self.created.get_mut() {
            Ok(names) => std::mem::take(names),
            Err(_) => return,
        };
        if names.is_empty() {
            return;
        }
        let url = self.admin_url.clone();
        let cleanup = std::thread::spawn(move || {
            let Ok(rt) = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
            else {
                return;
            };
            rt.block_on(async move {
                let Ok(mut conn) = PgConnection::connect(&url).await else {
                    return;
                };
                for name in names {
                    let sql = format!("DROP DATABASE IF EXISTS \"{name}\" WITH (FORCE)");
                    if let Err(e) = sqlx::query(&sql).execute(&mut conn).await {
                        tracing::warn!(database = name, error = %e, "could not drop test database");
                    }
                }
                let _ = conn.close().await;
            });
        });
        let _ = cleanup.join();
    }
}

/// Replaces the database (path) of a `postgres://` URL, keeping any `?query`.
fn with_database(url: &str, db: &str) -> String {
    let (base, query) = url
        .split_once('?')
        .map_or((url, None), |(b, q)| (b, Some(q)));
    let authority_start = base.find("://").map_or(0, |i| i + 3);
    let path_start = base[authority_start..]
        .find('/')
        .map_or(base.len(), |i| authority_start + i);
    let mut out = format!("{}/{db}", &base[..path_start]);
    if let Some(q) = query {
        out.push('?');
        out.push_str(q);
    }
    out
}

/// A running `postgres` process and its temporary directory.
#[derive(Debug)]
struct Server {
    child: Child,
    port: u16,
    dir: tempfile::TempDir,
}

impl Server {
    fn start() -> Result<Self, HarnessError> {
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

#[cfg(test)]
mod tests {
    use super::with_database;

    #[test]
    fn replaces_the_database_of_a_url() {
        assert_eq!(
            with_database("postgres://u@h:5/postgres", "x"),
            "postgres://u@h:5/x"
        );
        assert_eq!(with_database("postgres://u@h:5", "x"), "postgres://u@h:5/x");
        assert_eq!(
            with_database("postgres://u:p@h/db?sslmode=disable", "x"),
            "postgres://u:p@h/x?sslmode=disable"
        );
    }
}
