//! The cluster scenarios of issue 4, and the erasure case of issue 13 (`erase.rs`).

use std::collections::{BTreeMap, BTreeSet};
use std::net::{IpAddr, SocketAddr};
use std::time::{Duration, Instant};

use baton_store::{Store, StoreConfig, StoreOptions};

use crate::device::{self, Device, Record};
use crate::node::{Addrs, Node, Shared};
use crate::proxy::Proxy;
use crate::{Case, Env};

pub const ALL: &[(&str, Case)] = &[
    ("devices_on_different_nodes_converge", |e| {
        Box::pin(converge(e))
    }),
    ("kill_9_loses_no_acknowledged_op", |e| Box::pin(kill_9(e))),
    ("fourth_node_takes_about_a_quarter", |e| {
        Box::pin(add_node(e))
    }),
    ("graceful_leave_hands_users_over", |e| {
        Box::pin(graceful_leave(e))
    }),
    ("partition_serves_both_sides_and_heals", |e| {
        Box::pin(partition(e))
    }),
    ("no_welcome_is_stale_through_drain_kill_and_restart", |e| {
        Box::pin(no_stale_welcome(e))
    }),
    ("erasure_through_any_node_erases_at_the_owner", |e| {
        Box::pin(crate::erase::erase_through_any_node(e))
    }),
];

const WRITE_EVERY: Duration = Duration::from_millis(100);

pub(crate) fn shared(env: &Env) -> Shared {
    Shared::new(
        env.database_url.clone(),
        env.redis_url.clone(),
        env.dir.path(),
    )
}

/// Start nodes 1..=n, each seeded with node 1, and wait until all see all.
pub(crate) async fn start_cluster(sh: &Shared, n: u8) -> Vec<Node> {
    let addrs: Vec<Addrs> = (1..=n).map(Addrs::new).collect();
    let seed = [addrs[0].gossip_advertise];
    let nodes: Vec<Node> = addrs.iter().map(|a| sh.start(a, &seed)).collect();
    for node in &nodes {
        node.ready().await;
    }
    for node in &nodes {
        node.sees_members(nodes.len()).await;
    }
    nodes
}

/// Devices: user `u{k}` gets one device on each node in `spread(k)`.
fn devices(
    sh: &Shared,
    prefix: &str,
    users: usize,
    nodes: &[SocketAddr],
    per_user: usize,
) -> Vec<Device> {
    let mut out = Vec::new();
    for k in 0..users {
        let user = format!("{prefix}{k}");
        for d in 0..per_user {
            let first = (k + d) % nodes.len();
            let order: Vec<SocketAddr> = (0..nodes.len())
                .map(|i| nodes[(first + i) % nodes.len()])
                .collect();
            let id = format!("{user}-d{d}");
            out.push(Device::start(
                &user,
                &id,
                sh.device_token(&user, &id),
                order,
                WRITE_EVERY,
            ));
        }
    }
    out
}

async fn finish(devices: Vec<Device>) -> Vec<(String, Record)> {
    let mut out = Vec::new();
    for d in devices {
        let user = d.user.clone();
        out.push((user, d.finish().await));
    }
    out
}

/// Every node in `nodes` answers, for every user, the same watchlist, and it
/// holds every acknowledged add. Returns the number of acknowledged ops.
async fn assert_nothing_lost(
    sh: &Shared,
    nodes: &[SocketAddr],
    records: &[(String, Record)],
) -> usize {
    let token = sh.service_token();
    let mut acked: BTreeMap<&str, BTreeSet<String>> = BTreeMap::new();
    for (user, r) in records {
        acked
            .entry(user)
            .or_default()
            .extend(r.acked.iter().cloned());
    }
    let mut total = 0;
    for (user, want) in &acked {
        let mut views = Vec::new();
        for node in nodes {
            let view = device::watchlist(*node, user, &token)
                .await
                .unwrap_or_else(|| panic!("{node} did not answer for {user}"));
            views.push(view);
        }
        for (node, view) in nodes.iter().zip(&views) {
            assert_eq!(view, &views[0], "{node} disagrees on {user}");
        }
        let lost: Vec<_> = want.difference(&views[0]).collect();
        assert!(lost.is_empty(), "{user}: acknowledged but lost: {lost:?}");
        total += want.len();
    }
    total
}

pub(crate) async fn open_store(env: &Env) -> Store {
    Store::open(
        &StoreConfig::Postgres {
            url: env.database_url.clone(),
        },
        StoreOptions::default(),
    )
    .await
    .expect("store")
}

async fn owners(store: &Store, users: &[String]) -> BTreeMap<String, String> {
    let mut out = BTreeMap::new();
    for u in users {
        if let Some((_, node)) = store.owner(u).await.expect("owner") {
            out.insert(u.clone(), node);
        }
    }
    out
}

/// The users `owners` places on `node`.
fn owned_by<'a>(owners: &'a BTreeMap<String, String>, node: &str) -> Vec<&'a String> {
    owners
        .iter()
        .filter(|(_, n)| *n == node)
        .map(|(u, _)| u)
        .collect()
}

fn user_ids(prefix: &str, n: usize) -> Vec<String> {
    (0..n).map(|k| format!("{prefix}{k}")).collect()
}

fn http(nodes: &[Node]) -> Vec<SocketAddr> {
    nodes.iter().map(|n| n.addrs.http).collect()
}

/// 1. One user, a device on each of three nodes: all converge.
async fn converge(env: Env) {
    let sh = shared(&env);
    let nodes = start_cluster(&sh, 3).await;
    let addrs = http(&nodes);
    let devs = devices(&sh, "c", 4, &addrs, 3);
    tokio::time::sleep(Duration::from_secs(3)).await;
    let records = finish(devs).await;
    for (_, r) in &records {
        assert!(r.errors.is_empty(), "error frames: {:?}", r.errors);
        assert!(!r.acked.is_empty(), "a device got no ack");
    }
    let total = assert_nothing_lost(&sh, &addrs, &records).await;
    println!("converge: {total} acknowledged ops, identical on 3 nodes");
}

/// 2. SIGKILL a node while devices write.
async fn kill_9(env: Env) {
    let sh = shared(&env);
    let mut nodes = start_cluster(&sh, 3).await;
    let addrs = http(&nodes);
    let users = user_ids("k", 18);
    let devs = devices(&sh, "k", users.len(), &addrs, 2);
    tokio::time::sleep(Duration::from_secs(3)).await;
    let store = open_store(&env).await;
    let before = owners(&store, &users).await;
    let victims = owned_by(&before, "node-3");
    assert!(!victims.is_empty(), "no user owned by node-3: {before:?}");
    let killed_at = Instant::now();
    nodes[2].kill9();
    tokio::time::sleep(Duration::from_secs(8)).await;
    // Failover: from the kill to the first ack of a user the killed node owned.
    let mut failover = Vec::new();
    for d in &devs {
        if victims.contains(&&d.user) {
            let first = d.record().ack_times.into_iter().find(|t| *t > killed_at);
            failover.push((d.user.clone(), first.map(|t| t - killed_at)));
        }
    }
    let records = finish(devs).await;
    let survivors = &addrs[..2];
    let total = assert_nothing_lost(&sh, survivors, &records).await;
    let after = owners(&store, &users).await;
    for u in &victims {
        assert_ne!(
            after.get(*u).map(String::as_str),
            Some("node-3"),
            "{u} still owned by the dead node"
        );
    }
    let mut per_user: BTreeMap<String, Duration> = BTreeMap::new();
    for (user, t) in failover {
        let t = t.unwrap_or_else(|| panic!("{user} had no ack after the kill"));
        let e = per_user.entry(user).or_insert(t);
        *e = (*e).min(t);
    }
    let worst = per_user.values().max().copied().unwrap_or_default();
    println!(
        "kill -9: {total} acknowledged ops, none lost; {} users of node-3, failover to first ack: max {:.2} s ({:?})",
        per_user.len(),
        worst.as_secs_f64(),
        per_user.values().map(|d| format!("{:.2}", d.as_secs_f64())).collect::<Vec<_>>()
    );
    store.close().await;
}

/// 3. A fourth node joins: about a quarter of the users move to it, warm.
async fn add_node(env: Env) {
    let sh = shared(&env);
    let mut nodes = start_cluster(&sh, 3).await;
    let addrs = http(&nodes);
    let users = user_ids("a", 24);
    let devs = devices(&sh, "a", users.len(), &addrs, 1);
    tokio::time::sleep(Duration::from_secs(3)).await;
    let store = open_store(&env).await;
    let before = owners(&store, &users).await;
    let fourth = Addrs::new(4);
    nodes.push(sh.start(&fourth, &[nodes[0].addrs.gossip_advertise]));
    nodes[3].ready().await;
    for n in &nodes {
        n.sees_members(4).await;
    }
    tokio::time::sleep(Duration::from_secs(4)).await;
    let records = finish(devs).await;
    let after = owners(&store, &users).await;
    let moved: Vec<&String> = users
        .iter()
        .filter(|u| before.get(*u) != after.get(*u))
        .collect();
    for u in &moved {
        assert_eq!(
            after.get(*u).map(String::as_str),
            Some("node-4"),
            "{u} moved between old nodes"
        );
    }
    let share = moved.len() as f64 / users.len() as f64;
    assert!(
        (0.08..=0.5).contains(&share),
        "moved share {share} ({} users)",
        moved.len()
    );
    for (user, r) in &records {
        assert!(r.errors.is_empty(), "{user}: error frames {:?}", r.errors);
        let bad: Vec<_> = r
            .closes
            .iter()
            .filter(|c| !matches!(c, Some(4009) | Some(1000)))
            .collect();
        assert!(bad.is_empty(), "{user}: closes beyond a reconnect: {bad:?}");
    }
    let all = http(&nodes);
    let total = assert_nothing_lost(&sh, &all, &records).await;
    let warm = nodes[3]
        .metric("baton_cluster_warm_states_received_total")
        .await
        .unwrap_or(0.0);
    println!(
        "add node: {} of {} users moved to node-4 ({:.0} %), {warm} handed over warm; {total} acks, none lost",
        moved.len(),
        users.len(),
        share * 100.0
    );
    assert!(warm > 0.0, "no warm handoff reached node-4");
    store.close().await;
}

/// 4. SIGTERM: the node hands its users over before it exits.
async fn graceful_leave(env: Env) {
    let sh = shared(&env);
    let mut nodes = start_cluster(&sh, 3).await;
    let addrs = http(&nodes);
    let users = user_ids("g", 12);
    let devs = devices(&sh, "g", users.len(), &addrs, 2);
    tokio::time::sleep(Duration::from_secs(3)).await;
    let store = open_store(&env).await;
    let before = owners(&store, &users).await;
    let leaving = owned_by(&before, "node-2");
    assert!(!leaving.is_empty(), "no user owned by node-2");
    let started = Instant::now();
    let status = nodes[1].terminate(Duration::from_secs(40));
    println!(
        "graceful leave: node-2 exited {status} after {:.2} s",
        started.elapsed().as_secs_f64()
    );
    let mut warm = 0.0;
    for i in [0, 2] {
        warm += nodes[i]
            .metric("baton_cluster_warm_states_received_total")
            .await
            .unwrap_or(0.0);
    }
    assert!(warm >= 1.0, "node-2 handed no user over before exiting");
    tokio::time::sleep(Duration::from_secs(3)).await;
    let records = finish(devs).await;
    let survivors = [addrs[0], addrs[2]];
    let total = assert_nothing_lost(&sh, &survivors, &records).await;
    let after = owners(&store, &users).await;
    for u in &leaving {
        assert_ne!(
            after.get(*u).map(String::as_str),
            Some("node-2"),
            "{u} left on the drained node"
        );
    }
    for (user, r) in &records {
        assert!(r.errors.is_empty(), "{user}: error frames {:?}", r.errors);
    }
    println!(
        "graceful leave: {} users handed over ({warm} warm); {total} acks, none lost",
        leaving.len()
    );
    store.close().await;
}

/// 5. Partition {node-1, node-2} | {node-3} with proxies, then heal.
async fn partition(env: Env) {
    let sh = shared(&env);
    let mut addrs: Vec<Addrs> = (1..=3).map(Addrs::new).collect();
    let mut proxies = Vec::new();
    for a in &mut addrs {
        let p = Proxy::start(&a.http.ip().to_string(), a.gossip, a.http).await;
        a.gossip_advertise = p.gossip;
        a.api_advertise = p.api;
        proxies.push(p);
    }
    let seed = [addrs[0].gossip_advertise];
    let nodes: Vec<Node> = addrs.iter().map(|a| sh.start(a, &seed)).collect();
    for n in &nodes {
        n.ready().await;
    }
    for n in &nodes {
        n.sees_members(3).await;
    }
    let http_addrs = http(&nodes);
    // Each user: one device on node-1, one on node-3 (the two sides).
    let mut devs = Vec::new();
    for k in 0..6 {
        let user = format!("p{k}");
        for (d, first) in [(0usize, 0usize), (1, 2)] {
            let id = format!("{user}-d{d}");
            devs.push(Device::start(
                &user,
                &id,
                sh.device_token(&user, &id),
                vec![http_addrs[first]],
                WRITE_EVERY,
            ));
        }
    }
    tokio::time::sleep(Duration::from_secs(2)).await;
    let ip = |n: u8| -> IpAddr { format!("127.0.0.{n}").parse().expect("ip") };
    proxies[0].deny(&[ip(3)]);
    proxies[1].deny(&[ip(3)]);
    proxies[2].deny(&[ip(1), ip(2)]);
    nodes[0].sees_members(2).await;
    nodes[2].sees_members(1).await;
    let split_at = Instant::now();
    tokio::time::sleep(Duration::from_secs(5)).await;
    let healed_at = Instant::now();
    let mut served = [0usize; 2];
    for d in &devs {
        let side = usize::from(d.id.ends_with("d1"));
        served[side] += d
            .record()
            .ack_times
            .iter()
            .filter(|t| **t > split_at && **t < healed_at)
            .count();
    }
    for p in &proxies {
        p.deny(&[]);
    }
    for n in &nodes {
        n.sees_members(3).await;
    }
    tokio::time::sleep(Duration::from_secs(3)).await;
    let records = finish(devs).await;
    assert!(
        served[0] > 0 && served[1] > 0,
        "a side served nothing during the partition: {served:?}"
    );
    let total = assert_nothing_lost(&sh, &http_addrs, &records).await;
    println!(
        "partition: acks during the split: node-1 side {}, node-3 side {}; after the heal {total} acks, identical on 3 nodes",
        served[0], served[1]
    );
}

/// Wait until every device in `devs` holds `more` acks beyond what it held
/// when called (ops flow for everyone again), at most `within`.
async fn acks_grow(devs: &[Device], more: usize, within: Duration) {
    let base: Vec<usize> = devs.iter().map(|d| d.record().acked.len()).collect();
    let deadline = Instant::now() + within;
    loop {
        let behind: Vec<&str> = devs
            .iter()
            .zip(&base)
            .filter(|(d, b)| d.record().acked.len() < *b + more)
            .map(|(d, _)| d.id.as_str())
            .collect();
        if behind.is_empty() {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "devices without {more} new acks within {within:?}: {behind:?}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// Scenario 6, issue 9: a move never serves stale state. Three devices per user, each
/// on a different node, writing steadily; SIGTERM one node, then kill -9 and
/// restart another. Every `welcome` any device gets, from any node, must be
/// past every seq acknowledged to that device (`next_seq` above it, its own
/// `vv` entry at least it); at the end every node agrees and holds every
/// acknowledged op.
async fn no_stale_welcome(env: Env) {
    let sh = shared(&env);
    let mut nodes = start_cluster(&sh, 3).await;
    let addrs = http(&nodes);
    let users = user_ids("s", 24);
    let devs = devices(&sh, "s", users.len(), &addrs, 3);
    acks_grow(&devs, 10, Duration::from_secs(30)).await;
    let started = Instant::now();
    let status = nodes[1].terminate(Duration::from_secs(40));
    println!(
        "stale: node-2 drained, exit {status} after {:.2} s",
        started.elapsed().as_secs_f64()
    );
    acks_grow(&devs, 5, Duration::from_secs(30)).await;
    nodes[2].kill9();
    acks_grow(&devs, 5, Duration::from_secs(30)).await;
    let third = nodes[2].addrs.clone();
    nodes[2] = sh.start(&third, &[nodes[0].addrs.gossip_advertise]);
    nodes[2].ready().await;
    nodes[0].sees_members(2).await;
    nodes[2].sees_members(2).await;
    // Users move to the restarted node and ops flow for everyone again.
    acks_grow(&devs, 10, Duration::from_secs(30)).await;
    let records = finish(devs).await;
    let stale: Vec<&String> = records
        .iter()
        .flat_map(|(_, r)| &r.stale_welcomes)
        .collect();
    let survivors = [addrs[0], addrs[2]];
    let total = assert_nothing_lost(&sh, &survivors, &records).await;
    let sessions: u32 = records.iter().map(|(_, r)| r.sessions).sum();
    println!(
        "stale: {total} acks, none lost; {sessions} welcomes, {} stale",
        stale.len()
    );
    assert!(stale.is_empty(), "stale welcomes: {stale:#?}");
}
