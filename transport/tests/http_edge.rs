//! The HTTP edge's connection limits, over real TCP sockets: a request head
//! that never completes and a connection that never sends a byte are closed
//! after their (short, configured) timeouts; one connection past the
//! pre-upgrade cap is refused at once; upgraded WebSockets hold no slot and
//! are subject to neither timeout. Waits are on the event (EOF) with a
//! generous upper bound, never fixed sleeps.

mod common;

use std::time::{Duration, Instant};

use baton_transport::{HttpLimits, TransportConfig};
use common::{add, test_config, TestServer, WAIT};
use tempfile::TempDir;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

const LONG: Duration = Duration::from_secs(600);

async fn node(limits: HttpLimits) -> (TestServer, TempDir) {
    let (store, dir) = baton_store::sqlite_harness::temp_sqlite()
        .await
        .expect("store");
    let transport = TransportConfig {
        http: limits,
        ..TransportConfig::default()
    };
    (
        TestServer::with_store(store, test_config(), transport).await,
        dir,
    )
}

/// Everything the server sends until it closes the connection; panics if it
/// is still open after [`WAIT`].
async fn read_until_closed(tcp: &mut TcpStream) -> String {
    let mut out = Vec::new();
    let read = tokio::time::timeout(WAIT, async {
        let mut buf = [0u8; 1024];
        loop {
            match tcp.read(&mut buf).await {
                Ok(0) | Err(_) => break,
                Ok(n) => out.extend_from_slice(&buf[..n]),
            }
        }
    })
    .await;
    assert!(read.is_ok(), "the server kept the connection open");
    String::from_utf8_lossy(&out).into_owned()
}

/// One `GET /health/live` on `tcp`; the response head and body.
async fn get_live(tcp: &mut TcpStream) -> String {
    tcp.write_all(b"GET /health/live HTTP/1.1\r\nhost: baton\r\n\r\n")
        .await
        .expect("write");
    let mut buf = vec![0u8; 4096];
    let n = tokio::time::timeout(WAIT, tcp.read(&mut buf))
        .await
        .expect("an answer in time")
        .expect("read");
    String::from_utf8_lossy(&buf[..n]).into_owned()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn half_a_request_line_is_closed_after_the_header_read_timeout() {
    let timeout = Duration::from_millis(300);
    let (server, _dir) = node(HttpLimits {
        header_read_timeout: timeout,
        idle_timeout: LONG,
        ..HttpLimits::default()
    })
    .await;
    // A complete head in time is served, and the connection stays usable.
    let mut ok = TcpStream::connect(server.addr).await.expect("connect");
    assert!(get_live(&mut ok).await.starts_with("HTTP/1.1 200"));
    assert!(get_live(&mut ok).await.starts_with("HTTP/1.1 200"));

    let started = Instant::now();
    let mut slow = TcpStream::connect(server.addr).await.expect("connect");
    slow.write_all(b"GET /health/li").await.expect("write");
    read_until_closed(&mut slow).await;
    assert!(started.elapsed() >= timeout, "closed before the timeout");
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn silent_and_idle_keep_alive_connections_are_closed_after_the_idle_timeout() {
    let timeout = Duration::from_millis(300);
    let (server, _dir) = node(HttpLimits {
        header_read_timeout: LONG,
        idle_timeout: timeout,
        ..HttpLimits::default()
    })
    .await;
    let started = Instant::now();
    let mut silent = TcpStream::connect(server.addr).await.expect("connect");
    assert_eq!(read_until_closed(&mut silent).await, "");
    assert!(started.elapsed() >= timeout, "closed before the timeout");

    // A keep-alive connection that is served once and then says nothing.
    let mut kept = TcpStream::connect(server.addr).await.expect("connect");
    assert!(get_live(&mut kept).await.starts_with("HTTP/1.1 200"));
    let served = Instant::now();
    assert_eq!(read_until_closed(&mut kept).await, "");
    assert!(served.elapsed() >= timeout, "closed before the timeout");
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_connection_past_the_pre_upgrade_cap_is_refused_with_503() {
    let (server, _dir) = node(HttpLimits {
        header_read_timeout: LONG,
        idle_timeout: LONG,
        max_pending_connections: 2,
    })
    .await;
    // Upgraded devices hold no slot.
    let mut tv = server.device("cap", "tv", "tv").await;
    let _phone = server.device("cap", "phone", "phone").await;

    let mut first = TcpStream::connect(server.addr).await.expect("connect");
    let mut second = TcpStream::connect(server.addr).await.expect("connect");
    let mut third = TcpStream::connect(server.addr).await.expect("connect");
    let refused = read_until_closed(&mut third).await;
    assert!(refused.starts_with("HTTP/1.1 503"), "{refused}");
    assert!(refused.contains("retry-after: 1"), "{refused}");
    assert!(refused.contains("\"too_many_connections\""), "{refused}");
    // The two at the cap are served.
    assert!(get_live(&mut first).await.starts_with("HTTP/1.1 200"));
    assert!(get_live(&mut second).await.starts_with("HTTP/1.1 200"));

    // A closed connection gives its slot back.
    drop(first);
    let deadline = Instant::now() + WAIT;
    loop {
        let mut next = TcpStream::connect(server.addr).await.expect("connect");
        if get_live(&mut next).await.starts_with("HTTP/1.1 200") {
            break;
        }
        assert!(Instant::now() < deadline, "the slot was never released");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    // The devices were untouched throughout.
    let seq = tv.op(add("cap:1")).await;
    tv.wait_ack(seq).await;
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn upgraded_websockets_are_not_subject_to_the_http_timeouts() {
    let timeout = Duration::from_millis(200);
    let (server, _dir) = node(HttpLimits {
        header_read_timeout: timeout,
        idle_timeout: timeout,
        ..HttpLimits::default()
    })
    .await;
    let mut tv = server.device("ws", "tv", "tv").await;
    // Two silent probes opened after the device's last frame, each closed by
    // the timeouts: the device has been silent longer than both.
    for _ in 0..2 {
        let mut probe = TcpStream::connect(server.addr).await.expect("connect");
        read_until_closed(&mut probe).await;
    }
    let seq = tv.op(add("ws:1")).await;
    tv.wait_ack(seq).await;
    server.stop().await;
}

/// The listener keeps `backlog` completed connections for `accept` (as the
/// kernel reports a listening socket's queue limit: `ss`'s Send-Q column).
#[tokio::test]
async fn the_listener_is_bound_with_the_configured_backlog() {
    for backlog in [7u32, 4096] {
        let listener =
            baton_transport::bind("127.0.0.1:0".parse().expect("addr"), backlog).expect("bind");
        let port = listener.local_addr().expect("addr").port();
        let out = std::process::Command::new("ss")
            .args(["-Hltn", &format!("sport = :{port}")])
            .output()
            .expect("ss (iproute2)");
        let line = String::from_utf8_lossy(&out.stdout).into_owned();
        let queue_limit: u32 = line
            .split_whitespace()
            .nth(2)
            .and_then(|q| q.parse().ok())
            .unwrap_or_else(|| panic!("no listening socket in `ss` output: {line:?}"));
        let somaxconn: u32 = std::fs::read_to_string("/proc/sys/net/core/somaxconn")
            .ok()
            .and_then(|s| s.trim().parse().ok())
            .unwrap_or(u32::MAX);
        assert_eq!(queue_limit, backlog.min(somaxconn), "{line}");
    }
}
