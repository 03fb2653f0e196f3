//! `baton-sim`: run a named load scenario against a Baton node (spawned with
//! `--spawn`, or already running at `--url`), a cluster (`--spawn` with
//! `--spawn-cluster N`, or `--url` repeated) and the bare relay baseline;
//! print a table, write JSON and SVG charts. `baton-sim relay` runs the relay.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;

use anyhow::{bail, Context as _};
use baton_simulations::cluster::{ClusterSpec, SpawnedCluster};
use baton_simulations::scenario::{Params, Scenario};
use baton_simulations::target::Target;
use baton_simulations::{charts, net, relay, report, simulate};
use clap::{Parser, Subcommand};

const SCENARIOS: &str = "Scenarios (baton-sim run <SCENARIO> --spawn target/release/baton):
  steady           fixed op rate for a while; also runs the bare relay baseline
  ramp             raise the rate step by step until p99 propagation > --slo-ms; also on the relay
  connect-storm    N devices connect within T seconds, then hold idle (memory per idle device)
  reconnect-storm  all devices drop at once under load and come back with backoff + jitter
  handoff-burst    every user's playing device hands playback to another device at once
  offline-churn    under load, devices go offline, edit locally, and come back
  node-kill        a cluster (--spawn-cluster 3) under load; one node is SIGKILLed: failover time
Every run ends with a convergence check (replicas vs REST, acknowledged ops present).";

/// Load-simulation harness for Baton.
#[derive(Parser)]
#[command(name = "baton-sim", version, about, long_about = None, after_help = SCENARIOS)]
struct Cli {
    #[command(subcommand)]
    cmd: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Run a scenario: steady | ramp | connect-storm | reconnect-storm | handoff-burst | offline-churn.
    Run(Box<RunArgs>),
    /// Run the bare WebSocket broadcast relay (the baseline) until killed.
    Relay {
        /// Address to listen on.
        #[arg(long, default_value = "127.0.0.1:0")]
        listen: SocketAddr,
    },
}

#[derive(clap::Args)]
struct RunArgs {
    /// The scenario.
    #[arg(value_enum)]
    scenario: Scenario,
    /// Spawn this `baton` binary on a fresh SQLite data dir (knows its pid: memory and CPU are measured).
    #[arg(long, conflicts_with = "url")]
    spawn: Option<String>,
    /// With --spawn: start N nodes as one cluster (shared Postgres, Redis and key).
    #[arg(long, requires = "spawn")]
    spawn_cluster: Option<usize>,
    /// --spawn-cluster: use this Postgres instead of a throwaway server.
    #[arg(long, requires = "spawn_cluster")]
    database_url: Option<String>,
    /// --spawn-cluster: use this Redis instead of starting redis-server.
    #[arg(long, requires = "spawn_cluster")]
    redis_url: Option<String>,
    /// A node already running (host:port); repeat for every node of a cluster; needs --key.
    #[arg(long, requires = "key")]
    url: Vec<SocketAddr>,
    /// The nodes' signing key (PEM) for --url (e.g. ./data/dev-signing-key.pem).
    #[arg(long)]
    key: Option<PathBuf>,
    /// Extra environment for the spawned node, KEY=VALUE (e.g. BATON_DATABASE_URL=postgres://...).
    #[arg(long = "server-env", value_parser = parse_kv)]
    server_env: Vec<(String, String)>,
    /// Where to write `<out>.json` and `<out>-*.svg`.
    #[arg(long, default_value = "target/baton-sim/report")]
    out: PathBuf,
    /// No live progress line.
    #[arg(long)]
    quiet: bool,
    #[command(flatten)]
    params: Params,
}

fn parse_kv(s: &str) -> Result<(String, String), String> {
    s.split_once('=')
        .map(|(k, v)| (k.to_owned(), v.to_owned()))
        .ok_or_else(|| format!("expected KEY=VALUE, got {s}"))
}

fn main() -> anyhow::Result<()> {
    let cli = Cli::parse();
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("starting the runtime")?;
    rt.block_on(async move {
        match cli.cmd {
            Command::Relay { listen } => {
                net::raise_nofile();
                // The node's default `http.listen-backlog`: the same room for a storm.
                let socket = if listen.is_ipv4() {
                    tokio::net::TcpSocket::new_v4()?
                } else {
                    tokio::net::TcpSocket::new_v6()?
                };
                socket.set_reuseaddr(true)?;
                socket.bind(listen)?;
                let l = socket.listen(4096)?;
                println!("relay listening on {}", l.local_addr()?);
                relay::serve(l).await?;
                Ok(())
            }
            Command::Run(a) => run(*a).await,
        }
    })
}

async fn run(a: RunArgs) -> anyhow::Result<()> {
    let nofile = net::raise_nofile();
    eprintln!("baton-sim: RLIMIT_NOFILE soft limit {nofile}");
    let dir = std::env::temp_dir().join(format!("baton-sim-{}", std::process::id()));
    std::fs::create_dir_all(&dir)?;
    let mut cluster = None;
    let mut infra = Vec::new();
    let baton: Vec<Arc<Target>> = match (&a.spawn, a.spawn_cluster) {
        (Some(bin), Some(n)) => {
            let spec = ClusterSpec {
                bin: bin.clone(),
                nodes: n,
                database_url: a.database_url.clone(),
                redis_url: a.redis_url.clone(),
                env: a.server_env.clone(),
            };
            let c = SpawnedCluster::start(&spec, &dir).await?;
            eprintln!("baton-sim: cluster of {n}: {}", c.description);
            let nodes = c.nodes.clone();
            infra.clone_from(&c.infra_pids);
            cluster = Some(c);
            nodes
        }
        (Some(bin), None) => vec![Arc::new(
            Target::spawn_baton(bin, &dir, &a.server_env).await?,
        )],
        (None, _) if !a.url.is_empty() => {
            let key = a.key.as_ref().context("--url needs --key")?;
            let pem = std::fs::read_to_string(key)
                .with_context(|| format!("reading {}", key.display()))?;
            let mut nodes = Vec::new();
            for addr in &a.url {
                let minter = baton_auth::Minter::from_private_pem(&pem, "baton-dev", "baton")?;
                nodes.push(Arc::new(Target::external(
                    *addr,
                    minter,
                    serde_json::json!({"kind": "baton", "url": addr.to_string(),
                    "config": "external node: not known to the harness (start it with BATON_LIMITS__RATE_LIMIT_EVENTS=1000000)"}),
                )));
            }
            nodes
        }
        _ => bail!(
            "give --spawn <path to baton> [--spawn-cluster N] or --url <host:port>... --key <pem>"
        ),
    };
    let relay = if a.scenario.resolve(&a.params).baseline {
        Some(Arc::new(Target::spawn_relay().await?))
    } else {
        None
    };
    let rep = simulate(
        &baton,
        &infra,
        relay.clone(),
        a.scenario,
        &a.params,
        a.quiet,
    )
    .await;
    // Stop what was spawned even when the run failed.
    let stop = async {
        for t in baton.iter().chain(relay.iter()) {
            t.stop().await;
        }
        if let Some(c) = cluster {
            c.stop().await;
        }
    };
    let rep = match rep {
        Ok(rep) => {
            stop.await;
            rep
        }
        Err(e) => {
            stop.await;
            return Err(e);
        }
    };
    println!("{}", report::table(&rep));
    if let Some(parent) = a.out.parent() {
        std::fs::create_dir_all(parent)?;
    }
    let json = a.out.with_extension("json");
    std::fs::write(&json, serde_json::to_vec_pretty(&rep)?)?;
    let mut files = vec![json];
    files.extend(charts::write(&a.out, &rep.baton.timeline)?);
    if let Some(r) = &rep.relay {
        let prefix = PathBuf::from(format!("{}-relay", a.out.display()));
        files.extend(charts::write(&prefix, &r.timeline)?);
    }
    for f in files {
        println!("wrote {}", f.display());
    }
    let _ = std::fs::remove_dir_all(&dir);
    Ok(())
}
