//! `--spawn-cluster N`: N `baton serve` nodes joined into one cluster on this
//! machine, sharing one Postgres (a throwaway server from
//! `baton_store::pg_harness`, or `--database-url`), one Redis (a
//! `redis-server` started here, or `--redis-url`) and one signing key
//! generated for the run (the nodes trust its public half, the harness mints
//! with the private half). Node `i` is `node-i`, HTTP and gossip on free
//! loopback ports; every node is given every gossip address as a seed. The
//! run starts once every node's `baton_cluster_members` gauge shows N.
//!
//! The harness knows each node's pid (RSS and CPU summed and per node) and
//! can SIGKILL one ([`crate::target::Target::kill`]). Placement is computed
//! here exactly as the nodes do ([`owner_of`]: rendezvous hashing over the
//! live member ids), to name the users a killed node owned.

use std::net::{SocketAddr, TcpListener, UdpSocket};
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::sync::Arc;
use std::time::Duration;

use anyhow::{anyhow, Context as _};
use baton_cluster::Member;
use baton_store::pg_harness::PgHarness;
use tokio::process::{Child, Command};

use crate::target::{SpawnSpec, Target};

/// Shared secret of the spawned cluster's internal endpoints.
const SECRET: &str = "baton-sim-cluster-secret";

/// What `--spawn-cluster` needs besides the node count.
#[derive(Debug, Clone, Default)]
pub struct ClusterSpec {
    /// The `baton` binary.
    pub bin: String,
    /// Nodes.
    pub nodes: usize,
    /// An existing Postgres (a fresh database is not created: the URL is used as is).
    pub database_url: Option<String>,
    /// An existing Redis.
    pub redis_url: Option<String>,
    /// Extra environment for every node.
    pub env: Vec<(String, String)>,
}

/// A running cluster and the services it shares; dropping it stops them.
pub struct SpawnedCluster {
    /// The nodes, `node-1` first.
    pub nodes: Vec<Arc<Target>>,
    /// What was started, for the report.
    pub description: serde_json::Value,
    /// Pids of the Postgres postmaster and Redis started here.
    pub infra_pids: Vec<u32>,
    _pg: Option<PgHarness>,
    redis: Option<Child>,
}

impl SpawnedCluster {
    /// Start Postgres and Redis (unless given), generate the key, start the
    /// nodes and wait until their gossip has had time to converge.
    pub async fn start(spec: &ClusterSpec, dir: &Path) -> anyhow::Result<SpawnedCluster> {
        anyhow::ensure!(spec.nodes >= 1, "--spawn-cluster needs at least 1 node");
        let (pg, database_url) = match &spec.database_url {
            Some(url) => (None, url.clone()),
            None => {
                let pg = tokio::task::spawn_blocking(PgHarness::start)
                    .await
                    .context("starting Postgres")?
                    .context("starting a throwaway Postgres (baton_store::pg_harness)")?;
                let url = pg.create_database().await?;
                (Some(pg), url)
            }
        };
        let (redis, redis_url) = match &spec.redis_url {
            Some(url) => (None, url.clone()),
            None => {
                let (child, url) = start_redis(dir).await?;
                (Some(child), url)
            }
        };
        let (private_pem, public_pem) = tokio::task::spawn_blocking(generate_key)
            .await
            .context("key generation task")??;
        let key_file = dir.join("cluster-key.pub.pem");
        std::fs::write(&key_file, public_pem)?;
        let http: Vec<SocketAddr> = (0..spec.nodes)
            .map(|_| free_tcp())
            .collect::<anyhow::Result<_>>()?;
        let gossip: Vec<SocketAddr> = (0..spec.nodes)
            .map(|_| free_udp())
            .collect::<anyhow::Result<_>>()?;
        let seeds = format!(
            "[{}]",
            gossip
                .iter()
                .map(ToString::to_string)
                .collect::<Vec<_>>()
                .join(",")
        );
        let mut nodes = Vec::new();
        for i in 0..spec.nodes {
            let id = node_id(i);
            let mut env: Vec<(String, String)> = [
                ("BATON_NODE_ID", id.clone()),
                ("BATON_DATABASE_URL", database_url.clone()),
                ("BATON_REDIS_URL", redis_url.clone()),
                ("BATON_CLUSTER__ENABLED", "true".into()),
                ("BATON_CLUSTER__GOSSIP_LISTEN", gossip[i].to_string()),
                ("BATON_CLUSTER__SEEDS", seeds.clone()),
                ("BATON_CLUSTER__SECRET", SECRET.into()),
                (
                    "BATON_AUTH__PUBLIC_KEY_FILE",
                    key_file.display().to_string(),
                ),
            ]
            .into_iter()
            .map(|(k, v)| (k.to_owned(), v))
            .collect();
            env.extend(spec.env.iter().cloned());
            let node_spec = SpawnSpec {
                listen: Some(http[i]),
                private_pem: Some(private_pem.clone()),
                node_id: Some(id.clone()),
                env,
            };
            let data = dir.join(&id);
            let t = Target::spawn_with(&spec.bin, &data, &node_spec)
                .await
                .with_context(|| {
                    format!("starting {id} (log: {})", data.join("baton.log").display())
                })?;
            nodes.push(Arc::new(t));
        }
        wait_for_members(&nodes).await?;
        let description = serde_json::json!({
            "nodes": spec.nodes,
            "postgres": if pg.is_some() { "throwaway server (baton_store::pg_harness), fsync=on" } else { "given by --database-url" },
            "redis": if redis.is_some() { "redis-server --save \"\" --appendonly no, started by the harness" } else { "given by --redis-url" },
            "gossip": "chitchat, interval 100 ms, phi threshold 8 (defaults)",
        });
        let pg_pid = pg.as_ref().and_then(|_| {
            let port = database_url
                .rsplit_once(':')?
                .1
                .split('/')
                .next()?
                .parse()
                .ok()?;
            crate::procstat::postgres_on_port(port)
        });
        let infra_pids = pg_pid
            .into_iter()
            .chain(redis.as_ref().and_then(Child::id))
            .collect();
        Ok(SpawnedCluster {
            nodes,
            description,
            infra_pids,
            _pg: pg,
            redis,
        })
    }

    /// Stop every node and the services started here.
    pub async fn stop(mut self) {
        for n in &self.nodes {
            n.stop().await;
        }
        if let Some(mut r) = self.redis.take() {
            let _ = r.kill().await;
        }
    }
}

/// The id of node number `i` (0-based): `node-{i+1}`.
pub fn node_id(i: usize) -> String {
    format!("node-{}", i + 1)
}

/// The owner of `user` among the nodes `ids`, as every node computes it
/// (`baton_cluster::placement::owner`).
pub fn owner_of(user: &str, ids: &[String]) -> Option<String> {
    let members: Vec<Member> = ids
        .iter()
        .map(|id| Member {
            id: Arc::from(id.as_str()),
            api: Arc::from(""),
            draining: false,
            ready: true,
        })
        .collect();
    baton_cluster::placement::owner(user, members.iter()).map(|m| m.id.to_string())
}

/// Wait (at most 30 s) until every node sees all of them as members.
async fn wait_for_members(nodes: &[Arc<Target>]) -> anyhow::Result<()> {
    if nodes.len() < 2 {
        return Ok(());
    }
    let client = reqwest::Client::new();
    let want = nodes.len() as f64;
    let deadline = std::time::Instant::now() + Duration::from_secs(30);
    loop {
        let mut seen = Vec::new();
        for n in nodes {
            seen.push(crate::nodekill::members_gauge(&client, n.addr).await);
        }
        if seen.iter().all(|m| *m == Some(want)) {
            return Ok(());
        }
        if std::time::Instant::now() > deadline {
            return Err(anyhow!(
                "the cluster did not form within 30 s (members seen per node: {seen:?})"
            ));
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

fn free_tcp() -> anyhow::Result<SocketAddr> {
    Ok(TcpListener::bind("127.0.0.1:0")?.local_addr()?)
}

fn free_udp() -> anyhow::Result<SocketAddr> {
    Ok(UdpSocket::bind("127.0.0.1:0")?.local_addr()?)
}

/// An RSA-2048 key pair as (PKCS#8 private PEM, SPKI public PEM).
fn generate_key() -> anyhow::Result<(String, String)> {
    use rsa::pkcs8::{EncodePrivateKey as _, EncodePublicKey as _, LineEnding};
    let mut rng = rand::thread_rng();
    let key = rsa::RsaPrivateKey::new(&mut rng, 2048)?;
    let private = key.to_pkcs8_pem(LineEnding::LF)?.to_string();
    let public = key.to_public_key().to_public_key_pem(LineEnding::LF)?;
    Ok((private, public))
}

/// `redis-server` on a free port, no persistence; waits until it accepts.
async fn start_redis(dir: &Path) -> anyhow::Result<(Child, String)> {
    let port = free_tcp()?.port();
    let log: PathBuf = dir.join("redis.log");
    let child = Command::new("redis-server")
        .args([
            "--port",
            &port.to_string(),
            "--bind",
            "127.0.0.1",
            "--save",
            "",
            "--appendonly",
            "no",
        ])
        .stdout(Stdio::from(std::fs::File::create(&log)?))
        .stderr(Stdio::null())
        .kill_on_drop(true)
        .spawn()
        .context("starting redis-server (install Debian's redis-server or give --redis-url)")?;
    let addr = SocketAddr::from(([127, 0, 0, 1], port));
    for _ in 0..100 {
        if tokio::net::TcpStream::connect(addr).await.is_ok() {
            return Ok((child, format!("redis://{addr}/")));
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    Err(anyhow!("redis-server did not listen on {addr} within 5 s"))
}

#[cfg(test)]
mod tests {
    use super::{node_id, owner_of};

    #[test]
    fn owner_of_spreads_users_and_ignores_member_order() {
        let ids: Vec<String> = (0..3).map(node_id).collect();
        let mut rev = ids.clone();
        rev.reverse();
        let mut per = [0usize; 3];
        for u in 0..3000 {
            let user = format!("u{u}");
            let o = owner_of(&user, &ids).unwrap_or_default();
            assert_eq!(Some(o.clone()), owner_of(&user, &rev));
            let i = ids.iter().position(|id| *id == o).unwrap_or(0);
            per[i] += 1;
        }
        assert!(per.iter().all(|&n| n > 800), "{per:?}");
        assert_eq!(owner_of("u", &[]), None);
    }
}
