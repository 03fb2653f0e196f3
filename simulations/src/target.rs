//! What the harness drives: a Baton node it spawns (`--spawn path/to/baton`,
//! so it knows the pid for memory and CPU), a node already running
//! (`--url`), or the bare relay baseline (spawned as `baton-sim relay`).
//! A cluster is several targets (see [`crate::cluster`]); a spawned node can be
//! killed mid-run ([`Target::kill`]).

use std::net::SocketAddr;
use std::process::Stdio;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Mutex;
use std::time::Duration;

use anyhow::{anyhow, Context as _};
use baton_auth::{Minter, Scope};
use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::process::{Child, Command};

/// Server settings applied to a spawned node (and written into every report).
pub const SPAWN_ENV: &[(&str, &str)] = &[
    ("BATON_LIMITS__RATE_LIMIT_EVENTS", "1000000"),
    ("BATON_LIMITS__MAX_CONNECTIONS", "200000"),
    ("BATON_LOG__FILTER", "warn"),
];

/// A target under test.
pub struct Target {
    /// Its socket address.
    pub addr: SocketAddr,
    /// `ws://.../v1/sync` or the relay's URL.
    pub ws_url: String,
    /// Mints device and service tokens (none for the relay).
    pub minter: Option<Minter>,
    /// Process id, when the harness spawned it.
    pub pid: Option<u32>,
    /// What it is and how it is configured, for the report.
    pub description: serde_json::Value,
    /// `true` for the bare relay.
    pub relay: bool,
    /// Cluster node id (`BATON_NODE_ID`), when known.
    pub node_id: Option<String>,
    alive: AtomicBool,
    child: Mutex<Option<Child>>,
}

/// How to spawn one `baton serve`.
#[derive(Debug, Clone, Default)]
pub struct SpawnSpec {
    /// `BATON_LISTEN` (default `127.0.0.1:0`).
    pub listen: Option<SocketAddr>,
    /// The private key (PEM) whose public half the node trusts
    /// (`BATON_AUTH__PUBLIC_KEY_FILE` must be in `env`); default: the node's dev key.
    pub private_pem: Option<String>,
    /// Cluster node id, for the report and placement.
    pub node_id: Option<String>,
    /// Extra environment.
    pub env: Vec<(String, String)>,
}

impl Target {
    /// A node already running at `addr` whose tokens `minter` signs.
    pub fn external(addr: SocketAddr, minter: Minter, description: serde_json::Value) -> Target {
        Target {
            addr,
            ws_url: format!("ws://{addr}/v1/sync"),
            minter: Some(minter),
            pid: None,
            description,
            relay: false,
            node_id: None,
            alive: AtomicBool::new(true),
            child: Mutex::new(None),
        }
    }

    /// Spawn `baton serve` on a fresh data dir with [`SPAWN_ENV`] plus `extra` env.
    pub async fn spawn_baton(
        bin: &str,
        data_dir: &std::path::Path,
        extra: &[(String, String)],
    ) -> anyhow::Result<Target> {
        let spec = SpawnSpec {
            env: extra.to_vec(),
            ..SpawnSpec::default()
        };
        Target::spawn_with(bin, data_dir, &spec).await
    }

    /// Spawn `baton serve` as `spec` says, on the data dir `data_dir`.
    pub async fn spawn_with(
        bin: &str,
        data_dir: &std::path::Path,
        spec: &SpawnSpec,
    ) -> anyhow::Result<Target> {
        std::fs::create_dir_all(data_dir)?;
        let listen = spec
            .listen
            .map_or_else(|| "127.0.0.1:0".to_owned(), |a| a.to_string());
        let mut cmd = Command::new(bin);
        cmd.arg("serve")
            .env("BATON_LISTEN", listen)
            .env("BATON_DATA_DIR", data_dir)
            .stdout(Stdio::piped())
            .stderr(Stdio::from(std::fs::File::create(
                data_dir.join("baton.log"),
            )?))
            .kill_on_drop(true);
        for (k, v) in SPAWN_ENV {
            cmd.env(k, v);
        }
        for (k, v) in &spec.env {
            cmd.env(k, v);
        }
        let (child, addr) = start(cmd, "baton listening on http://").await?;
        let pem = match &spec.private_pem {
            Some(pem) => pem.clone(),
            None => std::fs::read_to_string(data_dir.join("dev-signing-key.pem"))
                .context("reading the node's development key")?,
        };
        let minter = Minter::from_private_pem(&pem, "baton-dev", "baton")?;
        let mut env: serde_json::Map<String, serde_json::Value> = SPAWN_ENV
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).into()))
            .collect();
        for (k, v) in &spec.env {
            // Secrets stay out of the report.
            let v = if k.contains("SECRET") { "<set>" } else { v };
            env.insert(k.clone(), v.into());
        }
        let store = if spec.env.iter().any(|(k, _)| k == "BATON_DATABASE_URL") {
            "postgres"
        } else {
            "sqlite (WAL, synchronous=FULL)"
        };
        let description = serde_json::json!({
            "kind": "baton", "binary": bin, "store": store, "env": env, "node_id": spec.node_id,
            "defaults": "README.md configuration table for every key not in env \
                (outbound-queue 256, max-inflight-ops 64, ws read buffer 1024, write buffer 4096, group-commit-max-batch 512, pool-size 8)",
        });
        Ok(Target {
            addr,
            ws_url: format!("ws://{addr}/v1/sync"),
            minter: Some(minter),
            pid: child.id(),
            description,
            relay: false,
            node_id: spec.node_id.clone(),
            alive: AtomicBool::new(true),
            child: Mutex::new(Some(child)),
        })
    }

    /// Spawn the bare relay (`<this binary> relay`).
    pub async fn spawn_relay() -> anyhow::Result<Target> {
        let exe = std::env::current_exe().context("locating baton-sim")?;
        let mut cmd = Command::new(exe);
        cmd.args(["relay", "--listen", "127.0.0.1:0"])
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .kill_on_drop(true);
        let (child, addr) = start(cmd, "relay listening on ").await?;
        Ok(Target::relay_at(addr, child.id(), Some(child)))
    }

    /// A relay already listening at `addr` (in-process in tests).
    pub fn relay_at(addr: SocketAddr, pid: Option<u32>, child: Option<Child>) -> Target {
        Target {
            addr,
            ws_url: format!("ws://{addr}/relay"),
            minter: None,
            pid,
            description: serde_json::json!({"kind": "relay",
                "what": "tokio-tungstenite broadcast per user: hello->welcome, op->ack+delta, handoff->playback_control; no auth check, actors, CRDT or store"}),
            relay: true,
            node_id: None,
            alive: AtomicBool::new(true),
            child: Mutex::new(child),
        }
    }

    /// A device token (a placeholder for the relay, which does not check it).
    pub fn device_token(&self, user: &str, device: &str) -> anyhow::Result<String> {
        match &self.minter {
            Some(m) => Ok(m.mint(
                user,
                Some(device),
                &Scope::DEVICE,
                Duration::from_secs(86_400),
                crate::clock::unix_secs(),
            )?),
            None => Ok(format!("relay.{user}.{device}")),
        }
    }

    /// A `service:read` token for REST checks.
    pub fn service_token(&self) -> anyhow::Result<String> {
        let m = self
            .minter
            .as_ref()
            .ok_or_else(|| anyhow!("no minter for this target"))?;
        Ok(m.mint(
            "svc",
            None,
            &[Scope::ServiceRead],
            Duration::from_secs(86_400),
            crate::clock::unix_secs(),
        )?)
    }

    /// Whether the target has not been killed by [`Target::kill`].
    pub fn is_alive(&self) -> bool {
        self.alive.load(Ordering::Relaxed)
    }

    /// SIGKILL a spawned process now (no graceful leave); `false` when the
    /// harness did not spawn it.
    pub fn kill(&self) -> bool {
        let mut child = self
            .child
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        let killed = child.as_mut().is_some_and(|c| c.start_kill().is_ok());
        if killed {
            self.alive.store(false, Ordering::Relaxed);
        }
        killed
    }

    /// Stop a spawned process (SIGKILL via tokio; the data dir is thrown away).
    pub async fn stop(&self) {
        let child = self
            .child
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .take();
        if let Some(mut c) = child {
            let _ = c.kill().await;
        }
        self.alive.store(false, Ordering::Relaxed);
    }
}

/// Start `cmd` and read its stdout until a line starting with `marker` names the address.
async fn start(mut cmd: Command, marker: &str) -> anyhow::Result<(Child, SocketAddr)> {
    let mut child = cmd.spawn().context("spawning the target")?;
    let stdout = child.stdout.take().ok_or_else(|| anyhow!("no stdout"))?;
    let mut lines = BufReader::new(stdout).lines();
    let find = async {
        while let Some(line) = lines.next_line().await? {
            if let Some(rest) = line.strip_prefix(marker) {
                let addr = rest.split_whitespace().next().unwrap_or_default();
                return addr
                    .parse::<SocketAddr>()
                    .with_context(|| format!("address in {line:?}"));
            }
        }
        Err(anyhow!("the target exited before listening"))
    };
    let addr = tokio::time::timeout(Duration::from_secs(60), find)
        .await
        .context("the target did not start within 60 s")??;
    // Keep draining stdout so the child never blocks on a full pipe.
    tokio::spawn(async move { while let Ok(Some(_)) = lines.next_line().await {} });
    Ok((child, addr))
}
