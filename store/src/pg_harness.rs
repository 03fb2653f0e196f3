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

mod server;

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Mutex;
use std::time::Duration;

use server::Server;

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
