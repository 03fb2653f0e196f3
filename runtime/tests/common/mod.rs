//! Process-level test helpers: start the built `baton` binary on a free port
//! and a store (SQLite in a temp dir, or a Postgres URL), wait for it, mint tokens.

#![allow(dead_code)] // each test binary uses a subset

use std::net::TcpListener;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

pub const BIN: &str = env!("CARGO_BIN_EXE_baton");

pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("free port")
}

pub fn command(data: &Path, port: u16, db: Option<&str>) -> Command {
    let mut cmd = Command::new(BIN);
    cmd.env("BATON_LISTEN", format!("127.0.0.1:{port}"))
        .env("BATON_DATA_DIR", data)
        .env("BATON_LIMITS__RATE_LIMIT_EVENTS", "100000")
        .env("BATON_LOG__FILTER", "warn");
    match db {
        Some(url) => cmd.env("BATON_DATABASE_URL", url),
        None => cmd.env_remove("BATON_DATABASE_URL"),
    };
    cmd
}

pub fn start(data: &Path, port: u16, db: Option<&str>) -> Child {
    command(data, port, db)
        .arg("serve")
        .stdout(Stdio::null())
        .stderr(Stdio::inherit())
        .spawn()
        .expect("baton starts")
}

pub async fn wait_ready(port: u16) {
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        if let Ok(r) = reqwest::get(format!("http://127.0.0.1:{port}/health/ready")).await {
            if r.status().is_success() {
                return;
            }
        }
        assert!(
            Instant::now() < deadline,
            "node on {port} not ready in 30 s"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

pub fn token(data: &Path, port: u16, db: Option<&str>, user: &str, device: &str) -> String {
    token_with(data, port, db, &["--user", user, "--device", device])
}

/// `baton token ARGS` against the node's data directory: the printed token.
pub fn token_with(data: &Path, port: u16, db: Option<&str>, args: &[&str]) -> String {
    let out = command(data, port, db)
        .arg("token")
        .args(args)
        .output()
        .expect("baton token runs");
    assert!(
        out.status.success(),
        "token: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout)
        .expect("utf8")
        .trim()
        .to_owned()
}

/// SIGKILL and reap.
pub fn kill9(child: &mut Child) {
    child.kill().expect("SIGKILL");
    let _ = child.wait();
}

/// A device socket to the node on `port`.
pub type Ws =
    tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>;

/// Open `/v1/sync` on the node on `port` with `tok` as the bearer token.
pub async fn connect(port: u16, tok: &str) -> Ws {
    use tokio_tungstenite::tungstenite::client::IntoClientRequest;
    let mut req = format!("ws://127.0.0.1:{port}/v1/sync")
        .into_client_request()
        .expect("req");
    req.headers_mut().insert(
        "authorization",
        format!("Bearer {tok}").parse().expect("header"),
    );
    let (ws, _) = tokio_tungstenite::connect_async(req)
        .await
        .expect("connect");
    ws
}

/// A child process SIGKILLed and reaped when dropped, so a failing test leaves no
/// node behind (an orphan would also hold the test's stderr open).
pub struct KillOnDrop(pub Child);

impl Drop for KillOnDrop {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}
