//! A fault-injecting proxy in front of one node's cluster ports (UDP gossip
//! and HTTP), refusing traffic from chosen source addresses: a network
//! partition between nodes on one machine, without namespaces. Nodes bind
//! their outgoing cluster traffic to their own 127.0.0.x, so the proxy can
//! tell them apart. Devices connect to nodes directly and are not affected.

use std::collections::{HashMap, HashSet};
use std::net::{IpAddr, SocketAddr};
use std::sync::{Arc, Mutex};

use tokio::net::{TcpListener, TcpStream, UdpSocket};

type Deny = Arc<Mutex<HashSet<IpAddr>>>;

/// The proxy of one node.
pub struct Proxy {
    pub gossip: SocketAddr,
    pub api: SocketAddr,
    deny: Deny,
    conns: Arc<Mutex<Vec<(IpAddr, tokio::task::AbortHandle)>>>,
    tasks: Vec<tokio::task::JoinHandle<()>>,
}

impl Proxy {
    /// Proxy on `ip` for the node whose gossip and HTTP are `gossip_to`, `api_to`.
    pub async fn start(ip: &str, gossip_to: SocketAddr, api_to: SocketAddr) -> Proxy {
        let deny: Deny = Arc::default();
        let udp = Arc::new(UdpSocket::bind((ip, 0)).await.expect("proxy udp"));
        let tcp = TcpListener::bind((ip, 0)).await.expect("proxy tcp");
        let gossip = udp.local_addr().expect("addr");
        let api = tcp.local_addr().expect("addr");
        let conns: Arc<Mutex<Vec<(IpAddr, tokio::task::AbortHandle)>>> = Arc::default();
        let tasks = vec![
            tokio::spawn(udp_loop(udp, ip.to_owned(), gossip_to, Arc::clone(&deny))),
            tokio::spawn(tcp_loop(tcp, api_to, Arc::clone(&deny), Arc::clone(&conns))),
        ];
        Proxy {
            gossip,
            api,
            deny,
            conns,
            tasks,
        }
    }

    /// Refuse traffic from `ips` (and cut their open connections); empty heals.
    pub fn deny(&self, ips: &[IpAddr]) {
        let mut deny = self.deny.lock().expect("deny");
        deny.clear();
        deny.extend(ips.iter().copied());
        let mut conns = self.conns.lock().expect("conns");
        conns.retain(|(ip, handle)| {
            if deny.contains(ip) {
                handle.abort();
                false
            } else {
                !handle.is_finished()
            }
        });
    }
}

impl Drop for Proxy {
    fn drop(&mut self) {
        for t in &self.tasks {
            t.abort();
        }
    }
}

async fn udp_loop(front: Arc<UdpSocket>, ip: String, node: SocketAddr, deny: Deny) {
    // One relay socket per peer, so the node's replies find their way back.
    let mut relays: HashMap<SocketAddr, Arc<UdpSocket>> = HashMap::new();
    let mut buf = vec![0u8; 65_536];
    loop {
        let Ok((n, from)) = front.recv_from(&mut buf).await else {
            return;
        };
        if deny.lock().expect("deny").contains(&from.ip()) {
            continue;
        }
        let relay = match relays.get(&from) {
            Some(r) => Arc::clone(r),
            None => {
                let Ok(r) = UdpSocket::bind((ip.as_str(), 0)).await else {
                    continue;
                };
                let r = Arc::new(r);
                relays.insert(from, Arc::clone(&r));
                tokio::spawn(udp_back(
                    Arc::clone(&r),
                    Arc::clone(&front),
                    from,
                    Arc::clone(&deny),
                ));
                r
            }
        };
        let _ = relay.send_to(&buf[..n], node).await;
    }
}

async fn udp_back(relay: Arc<UdpSocket>, front: Arc<UdpSocket>, peer: SocketAddr, deny: Deny) {
    let mut buf = vec![0u8; 65_536];
    loop {
        let Ok((n, _)) = relay.recv_from(&mut buf).await else {
            return;
        };
        if deny.lock().expect("deny").contains(&peer.ip()) {
            continue;
        }
        let _ = front.send_to(&buf[..n], peer).await;
    }
}

async fn tcp_loop(
    listener: TcpListener,
    node: SocketAddr,
    deny: Deny,
    conns: Arc<Mutex<Vec<(IpAddr, tokio::task::AbortHandle)>>>,
) {
    loop {
        let Ok((mut inbound, from)) = listener.accept().await else {
            return;
        };
        if deny.lock().expect("deny").contains(&from.ip()) {
            drop(inbound);
            continue;
        }
        let task = tokio::spawn(async move {
            if let Ok(mut outbound) = TcpStream::connect(node).await {
                let _ = tokio::io::copy_bidirectional(&mut inbound, &mut outbound).await;
            }
        });
        conns
            .lock()
            .expect("conns")
            .push((from.ip(), task.abort_handle()));
    }
}
