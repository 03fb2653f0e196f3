//! Baton nodes as real processes on 127.0.0.x, sharing one Postgres and one
//! Redis, trusting one signing key.

use std::net::{SocketAddr, TcpListener, UdpSocket};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::time::{Duration, Instant};

use baton_transport::auth::{Minter, Scope};

const BIN: &str = env!("CARGO_BIN_EXE_baton");
/// The shared cluster secret of every test cluster.
const SECRET: &str = "cluster-test-secret-0123456789";

fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../transport/tests/fixtures")
        .join(name)
}

/// A free TCP port on `ip`.
pub fn free_tcp(ip: &str) -> u16 {
    TcpListener::bind((ip, 0))
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("free tcp port")
}

/// A free UDP port on `ip`.
pub fn free_udp(ip: &str) -> u16 {
    UdpSocket::bind((ip, 0))
        .and_then(|s| s.local_addr())
        .map(|a| a.port())
        .expect("free udp port")
}

/// Where a node listens and what it tells its peers.
#[derive(Debug, Clone)]
pub struct Addrs {
    /// `node-{n}`.
    pub id: String,
    /// HTTP address devices use.
    pub http: SocketAddr,
    /// UDP gossip bind address.
    pub gossip: SocketAddr,
    /// Gossip address peers use (a proxy's, in the partition test).
    pub gossip_advertise: SocketAddr,
    /// HTTP address peers use.
    pub api_advertise: SocketAddr,
}

impl Addrs {
    /// Node `n` on 127.0.0.n with free ports, advertised directly.
    pub fn new(n: u8) -> Addrs {
        let ip = format!("127.0.0.{n}");
        let http: SocketAddr = format!("{ip}:{}", free_tcp(&ip)).parse().expect("addr");
        let gossip: SocketAddr = format!("{ip}:{}", free_udp(&ip)).parse().expect("addr");
        Addrs {
            id: format!("node-{n}"),
            http,
            gossip,
            gossip_advertise: gossip,
            api_advertise: http,
        }
    }
}

/// One running node.
pub struct Node {
    pub addrs: Addrs,
    child: Option<Child>,
    pub log: PathBuf,
}

/// Everything the nodes share.
pub struct Shared {
    pub database_url: String,
    pub redis_url: String,
    pub dir: PathBuf,
    minter: Minter,
}

impl Shared {
    pub fn new(database_url: String, redis_url: String, dir: &Path) -> Shared {
        let pem = std::fs::read_to_string(fixture("test_rsa.pem")).expect("fixture key");
        let minter = Minter::from_private_pem(&pem, "baton-dev", "baton").expect("minter");
        Shared {
            database_url,
            redis_url,
            dir: dir.to_owned(),
            minter,
        }
    }

    /// A device token every node accepts.
    pub fn device_token(&self, user: &str, device: &str) -> String {
        self.minter
            .mint(
                user,
                Some(device),
                &[
                    Scope::ReadWatchlist,
                    Scope::WriteWatchlist,
                    Scope::ReadPreferences,
                    Scope::WritePreferences,
                    Scope::PlaybackControl,
                ],
                Duration::from_secs(3600),
                now_unix(),
            )
            .expect("mint")
    }

    /// A `service:read` token.
    pub fn service_token(&self) -> String {
        self.minter
            .mint(
                "svc",
                None,
                &[Scope::ServiceRead],
                Duration::from_secs(3600),
                now_unix(),
            )
            .expect("mint")
    }

    /// An operator token with `admin:erase` (user erasure and export).
    pub fn admin_token(&self) -> String {
        self.minter
            .mint(
                "privacy",
                None,
                &[Scope::AdminErase],
                Duration::from_secs(3600),
                now_unix(),
            )
            .expect("mint")
    }

    /// Start node `addrs`, joining through `seeds`.
    pub fn start(&self, addrs: &Addrs, seeds: &[SocketAddr]) -> Node {
        let data = self.dir.join(&addrs.id);
        std::fs::create_dir_all(&data).expect("node dir");
        let log = self.dir.join(format!("{}.log", addrs.id));
        let seeds = seeds
            .iter()
            .map(ToString::to_string)
            .collect::<Vec<_>>()
            .join(",");
        let child = Command::new(BIN)
            .arg("serve")
            .env("BATON_NODE_ID", &addrs.id)
            .env("BATON_LISTEN", addrs.http.to_string())
            .env("BATON_DATA_DIR", &data)
            .env("BATON_DATABASE_URL", &self.database_url)
            .env("BATON_REDIS_URL", &self.redis_url)
            .env("BATON_AUTH__PUBLIC_KEY_FILE", fixture("test_rsa.pub.pem"))
            .env("BATON_LIMITS__RATE_LIMIT_EVENTS", "1000000")
            .env("BATON_LOG__FILTER", "info")
            .env("BATON_CLUSTER__ENABLED", "true")
            .env("BATON_CLUSTER__SECRET", SECRET)
            .env("BATON_CLUSTER__GOSSIP_LISTEN", addrs.gossip.to_string())
            .env(
                "BATON_CLUSTER__GOSSIP_ADVERTISE",
                addrs.gossip_advertise.to_string(),
            )
            .env(
                "BATON_CLUSTER__API_ADVERTISE",
                addrs.api_advertise.to_string(),
            )
            .env("BATON_CLUSTER__SEEDS", format!("[{seeds}]"))
            .env("BATON_CLUSTER__REBALANCE_INTERVAL_SECS", "1")
            .env("BATON_CLUSTER__DRAIN_TIMEOUT_SECS", "20")
            .stdout(Stdio::null())
            .stderr(Stdio::from(std::fs::File::create(&log).expect("log file")))
            .spawn()
            .expect("baton starts");
        Node {
            addrs: addrs.clone(),
            child: Some(child),
            log,
        }
    }
}

fn now_unix() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

impl Node {
    pub fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.addrs.http)
    }

    /// Poll `check` every `every` until it holds; panic with the node's log
    /// after `within`.
    async fn until<F, Fut>(&self, what: &str, within: Duration, every: Duration, mut check: F)
    where
        F: FnMut() -> Fut,
        Fut: std::future::Future<Output = bool>,
    {
        let deadline = Instant::now() + within;
        while !check().await {
            assert!(
                Instant::now() < deadline,
                "{}: {what} not within {within:?}; log:\n{}",
                self.addrs.id,
                self.log_tail()
            );
            tokio::time::sleep(every).await;
        }
    }

    /// Wait until `/health/ready` answers 200.
    pub async fn ready(&self) {
        let url = self.url("/health/ready");
        self.until(
            "ready",
            Duration::from_secs(60),
            Duration::from_millis(50),
            || async {
                reqwest::get(&url)
                    .await
                    .is_ok_and(|r| r.status().is_success())
            },
        )
        .await;
    }

    /// Wait until this node's gossip sees `n` members (from its metrics).
    pub async fn sees_members(&self, n: usize) {
        let what = format!("seeing {n} members");
        self.until(
            &what,
            Duration::from_secs(30),
            Duration::from_millis(100),
            || async { self.metric("baton_cluster_members").await == Some(n as f64) },
        )
        .await;
    }

    /// The value of an unlabelled metric, or the sum over a labelled one.
    pub async fn metric(&self, name: &str) -> Option<f64> {
        let text = reqwest::get(self.url("/metrics"))
            .await
            .ok()?
            .text()
            .await
            .ok()?;
        let values: Vec<f64> = text
            .lines()
            .filter(|l| {
                l.strip_prefix(name)
                    .is_some_and(|rest| rest.starts_with(' ') || rest.starts_with('{'))
            })
            .filter_map(|l| l.rsplit(' ').next()?.parse().ok())
            .collect();
        (!values.is_empty()).then(|| values.iter().sum())
    }

    /// SIGKILL.
    pub fn kill9(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    /// SIGTERM (graceful leave); returns once the process exited, or panics
    /// after `within`.
    pub fn terminate(&mut self, within: Duration) -> ExitStatus {
        let mut child = self.child.take().expect("node running");
        let _ = Command::new("kill")
            .args(["-TERM", &child.id().to_string()])
            .status();
        let deadline = Instant::now() + within;
        loop {
            if let Ok(Some(status)) = child.try_wait() {
                return status;
            }
            if Instant::now() > deadline {
                let _ = child.kill();
                panic!("{} did not exit within {within:?}", self.addrs.id);
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    pub fn log_tail(&self) -> String {
        let text = std::fs::read_to_string(&self.log).unwrap_or_default();
        let lines: Vec<&str> = text.lines().collect();
        lines[lines.len().saturating_sub(30)..].join("\n")
    }
}

impl Drop for Node {
    fn drop(&mut self) {
        self.kill9();
    }
}
