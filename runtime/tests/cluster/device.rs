//! A resilient test device: writes watchlist adds at a steady pace, keeps
//! unacknowledged ops and resends them after every reconnect (at-least-once,
//! as PROTOCOL.md asks), moves to the next node when its node is gone, and
//! records every ack, close code and error frame.

use std::collections::{BTreeSet, VecDeque};
use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use futures_util::{SinkExt, StreamExt};
use serde_json::{json, Value};
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::Message;

/// What a device saw.
#[derive(Debug, Default, Clone)]
pub struct Record {
    /// Content ids of acknowledged adds.
    pub acked: BTreeSet<String>,
    /// When each ack arrived (for failover times).
    pub ack_times: Vec<Instant>,
    /// Close codes received (no code: the connection broke).
    pub closes: Vec<Option<u16>>,
    /// Error frames' codes.
    pub errors: Vec<String>,
    /// HTTP refusals and failed connects.
    pub connect_failures: u32,
    /// Sessions that reached `welcome`.
    pub sessions: u32,
    /// The highest seq acknowledged to this device so far (by an `ack`, or by
    /// a `welcome` whose `next_seq` is past it).
    pub max_acked_seq: u64,
    /// Every `welcome` that was not past an acknowledged seq: its `next_seq`
    /// at or below `max_acked_seq`, or its `vv` entry for this device below it.
    pub stale_welcomes: Vec<String>,
}

/// A running device.
pub struct Device {
    pub user: String,
    pub id: String,
    writing: Arc<AtomicBool>,
    stop: Arc<AtomicBool>,
    record: Arc<Mutex<Record>>,
    task: tokio::task::JoinHandle<()>,
}

struct Pending {
    seq: u64,
    content: String,
}

impl Device {
    /// Start a device of `user` connecting to `nodes[0]` first.
    pub fn start(
        user: &str,
        id: &str,
        token: String,
        nodes: Vec<SocketAddr>,
        every: Duration,
    ) -> Device {
        let writing = Arc::new(AtomicBool::new(true));
        let stop = Arc::new(AtomicBool::new(false));
        let record = Arc::new(Mutex::new(Record::default()));
        let task = tokio::spawn(run(
            id.to_owned(),
            token,
            nodes,
            every,
            Arc::clone(&writing),
            Arc::clone(&stop),
            Arc::clone(&record),
        ));
        Device {
            user: user.to_owned(),
            id: id.to_owned(),
            writing,
            stop,
            record,
            task,
        }
    }

    /// Stop making new ops (unacknowledged ones are still resent).
    pub fn pause(&self) {
        self.writing.store(false, Ordering::Release);
    }

    pub fn record(&self) -> Record {
        self.record.lock().expect("record").clone()
    }

    /// Stop writing, wait (bounded) until nothing is unacknowledged, disconnect.
    pub async fn finish(self) -> Record {
        self.pause();
        self.stop.store(true, Ordering::Release);
        let _ = tokio::time::timeout(Duration::from_secs(60), self.task).await;
        self.record.lock().expect("record").clone()
    }
}

async fn run(
    id: String,
    token: String,
    nodes: Vec<SocketAddr>,
    every: Duration,
    writing: Arc<AtomicBool>,
    stop: Arc<AtomicBool>,
    record: Arc<Mutex<Record>>,
) {
    let mut pending: VecDeque<Pending> = VecDeque::new();
    let mut next_seq = 1u64;
    let mut made = 0u64;
    let mut node = 0usize;
    let mut backoff = Duration::from_millis(50);
    loop {
        if stop.load(Ordering::Acquire) && pending.is_empty() {
            return;
        }
        let addr = nodes[node % nodes.len()];
        let mut req = format!("ws://{addr}/v1/sync")
            .into_client_request()
            .expect("request");
        req.headers_mut().insert(
            "authorization",
            format!("Bearer {token}").parse().expect("header"),
        );
        let ws = tokio::time::timeout(
            Duration::from_secs(3),
            tokio_tungstenite::connect_async(req),
        )
        .await;
        let mut ws = match ws {
            Ok(Ok((ws, _))) => ws,
            _ => {
                record.lock().expect("record").connect_failures += 1;
                node += 1;
                tokio::time::sleep(backoff).await;
                backoff = (backoff * 2).min(Duration::from_millis(800));
                continue;
            }
        };
        let hello = json!({"type":"hello","protocol":1,"device":{"kind":"tv","name":id},"vv":{}});
        if ws.send(Message::text(hello.to_string())).await.is_err() {
            node += 1;
            continue;
        }
        let mut welcomed = false;
        let mut ticker = tokio::time::interval(every);
        let close = loop {
            tokio::select! {
                frame = ws.next() => {
                    let text = match frame {
                        Some(Ok(Message::Text(t))) => t,
                        Some(Ok(Message::Close(f))) => break f.map(|f| u16::from(f.code)),
                        Some(Ok(_)) => continue,
                        Some(Err(_)) | None => break None,
                    };
                    let Ok(v) = serde_json::from_str::<Value>(&text) else { continue };
                    match v["type"].as_str() {
                        Some("welcome") => {
                            welcomed = true;
                            backoff = Duration::from_millis(50);
                            record.lock().expect("record").sessions += 1;
                            let server_next = v["next_seq"].as_u64().unwrap_or(1);
                            let own_vv = v["vv"][id.as_str()].as_u64().unwrap_or(0);
                            {
                                let mut r = record.lock().expect("record");
                                if server_next <= r.max_acked_seq || own_vv < r.max_acked_seq {
                                    let stale = format!(
                                        "{id}: welcome next_seq={server_next} vv={own_vv} after seq {} was acked",
                                        r.max_acked_seq
                                    );
                                    r.stale_welcomes.push(stale);
                                }
                                r.max_acked_seq = r.max_acked_seq.max(server_next.saturating_sub(1));
                            }
                            // What the server already has was acknowledged by it, even
                            // if the ack never reached us.
                            while pending.front().is_some_and(|p| p.seq < server_next) {
                                if let Some(p) = pending.pop_front() {
                                    let mut r = record.lock().expect("record");
                                    r.acked.insert(p.content);
                                    r.ack_times.push(Instant::now());
                                }
                            }
                            next_seq = next_seq.max(server_next);
                            for p in &pending {
                                let _ = ws.send(op_frame(p)).await;
                            }
                        }
                        Some("ack") => {
                            let seq = v["seq"].as_u64().unwrap_or(0);
                            {
                                let mut r = record.lock().expect("record");
                                r.max_acked_seq = r.max_acked_seq.max(seq);
                            }
                            if let Some(i) = pending.iter().position(|p| p.seq == seq) {
                                if let Some(p) = pending.remove(i) {
                                    let mut r = record.lock().expect("record");
                                    r.acked.insert(p.content);
                                    r.ack_times.push(Instant::now());
                                }
                            }
                        }
                        Some("error") => {
                            let code = v["code"].as_str().unwrap_or("?").to_owned();
                            record.lock().expect("record").errors.push(code);
                        }
                        _ => {}
                    }
                }
                _ = ticker.tick() => {
                    if stop.load(Ordering::Acquire) && pending.is_empty() {
                        let _ = ws.close(None).await;
                        return;
                    }
                    if welcomed && writing.load(Ordering::Acquire) && pending.len() < 16 {
                        made += 1;
                        let p = Pending { seq: next_seq, content: format!("{id}-{made}") };
                        next_seq += 1;
                        if ws.send(op_frame(&p)).await.is_err() {
                            pending.push_back(p);
                            break None;
                        }
                        pending.push_back(p);
                    }
                }
            }
        };
        record.lock().expect("record").closes.push(close);
        // Draining or gone: another node. Moved (4009) or restarted actor
        // (1011): any node will do, the same one included.
        if matches!(close, None | Some(1001) | Some(1012) | Some(1013)) {
            node += 1;
        }
        tokio::time::sleep(backoff).await;
        backoff = (backoff * 2).min(Duration::from_millis(800));
    }
}

fn op_frame(p: &Pending) -> Message {
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as u64);
    Message::text(
        json!({"type":"op","seq":p.seq,"op":{"kind":"watchlist_add","content":p.content,"added_at_ms":now}})
            .to_string(),
    )
}

/// The watchlist of `user` as node `addr` answers over REST.
pub async fn watchlist(addr: SocketAddr, user: &str, token: &str) -> Option<BTreeSet<String>> {
    let resp = reqwest::Client::new()
        .get(format!("http://{addr}/v1/users/{user}/watchlist"))
        .bearer_auth(token)
        .send()
        .await
        .ok()?;
    if !resp.status().is_success() {
        return None;
    }
    let body: Value = resp.json().await.ok()?;
    Some(
        body["items"]
            .as_array()?
            .iter()
            .filter_map(|i| i["content"].as_str().map(str::to_owned))
            .collect(),
    )
}
