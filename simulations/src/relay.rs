//! The baseline: a bare WebSocket broadcast relay on the same library
//! (tokio-tungstenite) with the same small buffers and the same JSON frames,
//! but no auth check, actors, CRDT or store. Per user it keeps a version
//! counter and each device's next seq; `hello` gets `welcome` + `synced`, an
//! `op` gets an `ack` and is broadcast as a `delta` to the user's other
//! devices, a `handoff` becomes `playback_control` + `handoff_result`.
//! Baton's latency divided by this relay's, measured in the same run on the
//! same machine, is its overhead.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use baton_crdt::{Hlc, LoggedOp, VersionVector};
use baton_protocol::{
    ClientFrame, HandoffOutcome, LeaseView, Limits, ResumeMode, ServerFrame, Welcome,
};
use futures_util::{SinkExt, StreamExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::mpsc;
use tokio_tungstenite::tungstenite::handshake::server::{Request, Response};
use tokio_tungstenite::tungstenite::protocol::WebSocketConfig;
use tokio_tungstenite::tungstenite::Message;

/// Frames queued per connection before it is dropped (as Baton's 4008).
const QUEUE: usize = 256;

#[derive(Default)]
struct Room {
    version: u64,
    next_seq: HashMap<String, u64>,
    members: HashMap<String, mpsc::Sender<Message>>,
    lease: u64,
}

type Rooms = Arc<Mutex<HashMap<String, Arc<Mutex<Room>>>>>;

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}

/// Serve until the listener fails.
pub async fn serve(listener: TcpListener) -> std::io::Result<()> {
    let rooms: Rooms = Arc::default();
    loop {
        let (stream, _) = listener.accept().await?;
        let rooms = rooms.clone();
        tokio::spawn(async move {
            let _ = stream.set_nodelay(true);
            connection(stream, rooms).await;
        });
    }
}

fn query(req: &Request) -> (String, String) {
    let mut user = String::new();
    let mut device = String::new();
    for kv in req.uri().query().unwrap_or_default().split('&') {
        match kv.split_once('=') {
            Some(("user", v)) => user = v.to_owned(),
            Some(("device", v)) => device = v.to_owned(),
            _ => {}
        }
    }
    (user, device)
}

// tungstenite's handshake callback must return `Result<Response, ErrorResponse>`.
#[allow(clippy::result_large_err)]
async fn connection(stream: TcpStream, rooms: Rooms) {
    let mut who = (String::new(), String::new());
    let cb = |req: &Request, resp: Response| {
        who = query(req);
        Ok(resp)
    };
    let cfg = WebSocketConfig::default()
        .read_buffer_size(4096)
        .write_buffer_size(4096);
    let Ok(ws) = tokio_tungstenite::accept_hdr_async_with_config(stream, cb, Some(cfg)).await
    else {
        return;
    };
    let (user, device) = who;
    let room = lock(&rooms).entry(user.clone()).or_default().clone();
    let (mut sink, mut source) = ws.split();
    let (tx, mut rx) = mpsc::channel::<Message>(QUEUE);
    let writer = tokio::spawn(async move {
        while let Some(m) = rx.recv().await {
            if sink.send(m).await.is_err() {
                break;
            }
        }
    });
    while let Some(Ok(msg)) = source.next().await {
        let Message::Text(text) = msg else { continue };
        let Ok(frame) = serde_json::from_str::<ClientFrame>(&text) else {
            continue;
        };
        let mut r = lock(&room);
        match frame {
            ClientFrame::Hello { .. } => {
                r.members.insert(device.clone(), tx.clone());
                let next_seq = *r.next_seq.get(&device).unwrap_or(&1);
                let welcome = welcome(&user, &device, r.version, next_seq);
                let _ = tx.try_send(text_of(&welcome));
                let _ = tx.try_send(text_of(&ServerFrame::Synced { version: r.version }));
            }
            ClientFrame::Op { seq, op } => {
                r.version += 1;
                r.next_seq.insert(device.clone(), seq + 1);
                let version = r.version;
                let ack = ServerFrame::Ack {
                    seq,
                    version,
                    duplicate: false,
                };
                let delta = text_of(&ServerFrame::Delta(LoggedOp {
                    device: device.clone(),
                    seq,
                    version,
                    at_ms: crate::clock::unix_ms(),
                    op,
                }));
                let _ = tx.try_send(text_of(&ack));
                r.members
                    .retain(|id, m| id == &device || m.try_send(delta.clone()).is_ok());
            }
            ClientFrame::Handoff {
                request_id,
                target,
                content,
                position_ms,
            } => {
                r.lease += 1;
                let outcome = match r.members.get(&target) {
                    Some(m) => {
                        let _ = m.try_send(text_of(&ServerFrame::PlaybackControl {
                            request_id: request_id.clone(),
                            from: device.clone(),
                            content,
                            position_ms,
                            lease: r.lease,
                        }));
                        HandoffOutcome::Delivered
                    }
                    None => HandoffOutcome::TargetOffline,
                };
                let _ = tx.try_send(text_of(&ServerFrame::HandoffResult {
                    request_id,
                    outcome,
                }));
            }
            // The relay only forwards; presence, resync and interactions
            // have nothing to relay.
            _ => {}
        }
    }
    {
        let mut r = lock(&room);
        if r.members.get(&device).is_some_and(|m| m.same_channel(&tx)) {
            r.members.remove(&device);
        }
    }
    drop(tx);
    let _ = writer.await;
}

fn text_of(frame: &ServerFrame) -> Message {
    Message::Text(frame.to_text().into())
}

fn welcome(user: &str, device: &str, version: u64, next_seq: u64) -> ServerFrame {
    let now = baton_crdt::uhlc::NTP64(crate::clock::ntp64_now());
    ServerFrame::Welcome(Box::new(Welcome {
        protocol: 1,
        session: "relay".into(),
        user: user.to_owned(),
        device: device.to_owned(),
        version,
        vv: VersionVector::new(),
        next_seq,
        hlc_id: baton_crdt::hlc_id_for(device).to_string(),
        server_time: Hlc::for_device("relay", now),
        resume: ResumeMode::Deltas,
        reset: false,
        lease: LeaseView {
            holder: None,
            token: 0,
        },
        // The node's defaults, but a relay has no op budget to speak of.
        limits: Limits {
            rate_limit_events: 1_000_000,
            ..Limits::default()
        },
    }))
}
