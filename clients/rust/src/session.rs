//! The connection task: connect with a fresh token, run one session
//! (`hello`, catch-up, live frames, heartbeats, local edits), and after it
//! ends decide when to reconnect (PROTOCOL.md section 7).

use std::sync::Arc;
use std::time::Duration;

use baton_protocol::ClientFrame;
use futures_util::{SinkExt, StreamExt};
use tokio::sync::mpsc;
use tokio::time::Instant;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::protocol::frame::coding::CloseCode;
use tokio_tungstenite::tungstenite::protocol::CloseFrame;
use tokio_tungstenite::tungstenite::{Error as WsError, Message};

use crate::client::{now_ntp, Cmd, Shared};
use crate::config::{ClientConfig, TokenProvider};
use crate::core::{Action, Phase};
use crate::events::{ConnectionState, Event};
use crate::reconnect::{after_close, Next};
use crate::ClientError;

type Ws =
    tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>;

/// How a session (or a connection attempt) ended.
#[derive(Debug)]
enum End {
    /// Closed by the server or lost, with the close code if any.
    Lost(Option<u16>, String),
    /// The core asked for a new session at once.
    Reconnect,
    /// The application closed the client.
    Stop,
}

/// Runs until the application closes the client (or 4000 / 4001).
pub(crate) async fn run(
    config: ClientConfig,
    tokens: Arc<dyn TokenProvider>,
    shared: Arc<Shared>,
    mut rx: mpsc::UnboundedReceiver<Cmd>,
) {
    let mut attempt: u32 = 0;
    loop {
        shared.emit(vec![Event::Connection(ConnectionState::Connecting(
            attempt + 1,
        ))]);
        let (end, hint, live) = match connect(&config, tokens.as_ref()).await {
            Ok(ws) => {
                let mut hint = None;
                let (end, live) = session(&config, &shared, ws, &mut rx, &mut hint).await;
                (end, hint, live)
            }
            Err(ClientError::Refused {
                status,
                code,
                retry_after,
            }) => (
                End::Lost(None, format!("HTTP {status} {code}")),
                retry_after,
                false,
            ),
            Err(e) => (End::Lost(None, e.to_string()), None, false),
        };
        if let Ok(mut core) = shared.core() {
            core.disconnected();
        }
        if live {
            attempt = 0;
        }
        let code = match &end {
            End::Stop => {
                shared.emit(vec![Event::Connection(ConnectionState::Closed(
                    "closed".into(),
                ))]);
                return;
            }
            // Backoff, not at once: a frame the replica cannot take may come again.
            End::Reconnect => None,
            End::Lost(code, _) => *code,
        };
        let wait = match after_close(code, attempt, hint, &config.backoff) {
            Next::Stop(why) => {
                shared.emit(vec![Event::Connection(ConnectionState::Closed(why))]);
                return;
            }
            Next::Retry {
                wait,
                attempt: next,
            } => {
                attempt = next;
                wait
            }
        };
        let reason = match &end {
            End::Lost(code, why) => match code {
                Some(c) => format!("closed {c}: {why}"),
                None => why.clone(),
            },
            _ => "reconnecting".into(),
        };
        shared.emit(vec![Event::Connection(ConnectionState::Offline {
            reason,
            retry_in_ms: u64::try_from(wait.as_millis()).unwrap_or(u64::MAX),
        })]);
        if !idle(wait, &mut rx).await {
            shared.emit(vec![Event::Connection(ConnectionState::Closed(
                "closed".into(),
            ))]);
            return;
        }
    }
}

/// Waits offline; local edits keep queueing in the core. `false`: closed.
async fn idle(wait: Duration, rx: &mut mpsc::UnboundedReceiver<Cmd>) -> bool {
    let until = Instant::now() + wait;
    loop {
        tokio::select! {
            () = tokio::time::sleep_until(until) => return true,
            cmd = rx.recv() => match cmd {
                None | Some(Cmd::Close) => return false,
                Some(Cmd::Send(_)) => {} // resent from the outbox once live
            },
        }
    }
}

async fn connect(config: &ClientConfig, tokens: &dyn TokenProvider) -> Result<Ws, ClientError> {
    let token = tokens.token().await.map_err(ClientError::Token)?;
    let mut req = config
        .url
        .as_str()
        .into_client_request()
        .map_err(|e| ClientError::Invalid(e.to_string()))?;
    let bearer = format!("Bearer {token}")
        .parse()
        .map_err(|_| ClientError::Token("the token is not a valid header value".into()))?;
    req.headers_mut().insert("authorization", bearer);
    let fut = tokio_tungstenite::connect_async(req);
    match tokio::time::timeout(config.connect_timeout, fut).await {
        Err(_) => Err(ClientError::Socket("connect timed out".into())),
        Ok(Ok((ws, _))) => Ok(ws),
        Ok(Err(WsError::Http(resp))) => Err(refusal(&resp)),
        Ok(Err(e)) => Err(ClientError::Socket(e.to_string())),
    }
}

/// The typed form of an HTTP refusal of the upgrade.
fn refusal(resp: &tokio_tungstenite::tungstenite::http::Response<Option<Vec<u8>>>) -> ClientError {
    let retry_after = resp
        .headers()
        .get("retry-after")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.trim().parse::<u64>().ok())
        .map(Duration::from_secs);
    let code = resp
        .body()
        .as_deref()
        .and_then(|b| serde_json::from_slice::<serde_json::Value>(b).ok())
        .and_then(|v| v["error"]["code"].as_str().map(str::to_owned))
        .unwrap_or_default();
    ClientError::Refused {
        status: resp.status().as_u16(),
        code,
        retry_after,
    }
}

/// One session. Returns how it ended and whether it reached `synced`.
async fn session(
    config: &ClientConfig,
    shared: &Shared,
    mut ws: Ws,
    rx: &mut mpsc::UnboundedReceiver<Cmd>,
    hint: &mut Option<Duration>,
) -> (End, bool) {
    let mut live = false;
    let hello = match shared.core() {
        Ok(mut core) => core.connected(),
        Err(e) => return (End::Lost(None, e.to_string()), false),
    };
    if let Err(e) = send(&mut ws, &[hello]).await {
        return (End::Lost(None, e.to_string()), false);
    }
    let mut beat_every = config.heartbeat.unwrap_or(Duration::from_secs(10));
    let mut next_beat = Instant::now() + beat_every;
    let mut resume_at: Option<Instant> = None;
    loop {
        let resume_sleep = tokio::time::sleep_until(resume_at.unwrap_or(next_beat));
        let msg = tokio::select! {
            msg = ws.next() => msg,
            cmd = rx.recv() => {
                let frames = match cmd {
                    None | Some(Cmd::Close) => {
                        let close = CloseFrame { code: CloseCode::Normal, reason: "".into() };
                        let _ = tokio::time::timeout(Duration::from_secs(2), ws.close(Some(close))).await;
                        return (End::Stop, live);
                    }
                    Some(Cmd::Send(frames)) => frames,
                };
                if let Err(e) = send(&mut ws, &frames).await {
                    return (End::Lost(None, e.to_string()), live);
                }
                continue;
            }
            () = tokio::time::sleep_until(next_beat) => {
                next_beat = Instant::now() + beat_every;
                let synced = shared.core().map(|c| c.phase() == Phase::Live).unwrap_or(false);
                if synced {
                    let activity = shared.activity.lock().ok().and_then(|a| a.clone());
                    if let Err(e) = send(&mut ws, &[ClientFrame::Heartbeat { activity }]).await {
                        return (End::Lost(None, e.to_string()), live);
                    }
                }
                continue;
            }
            () = resume_sleep, if resume_at.is_some() => {
                resume_at = None;
                let out = match shared.core() { Ok(mut c) => c.resume_sending(), Err(_) => continue };
                if let Err(e) = send(&mut ws, &out.send).await {
                    return (End::Lost(None, e.to_string()), live);
                }
                continue;
            }
        };
        let text = match msg {
            Some(Ok(Message::Text(t))) => t,
            Some(Ok(Message::Close(c))) => {
                let code = c.as_ref().map(|f| u16::from(f.code));
                let why = c.map(|f| f.reason.to_string()).unwrap_or_default();
                return (End::Lost(code, why), live);
            }
            Some(Ok(_)) => continue,
            Some(Err(e)) => return (End::Lost(None, e.to_string()), live),
            None => return (End::Lost(None, "connection closed".into()), live),
        };
        let out = {
            let Ok(mut core) = shared.core() else {
                return (End::Lost(None, "client state poisoned".into()), live);
            };
            let out = match core.handle_text(text.as_str(), now_ntp()) {
                Ok(out) => out,
                Err(e) => {
                    tracing::warn!(error = %e, "server frame not applied; reconnecting");
                    return (End::Reconnect, live);
                }
            };
            if let Some(l) = core.limits() {
                let secs = l.heartbeat_interval_secs.max(1);
                beat_every = config.heartbeat.unwrap_or(Duration::from_secs(secs));
            }
            if out.events.iter().any(persist_worthy) {
                if let Err(e) = shared.persist(&core) {
                    tracing::warn!(error = %e, "could not persist the replica");
                }
            }
            out
        };
        live |= out.events.iter().any(|e| matches!(e, Event::Synced { .. }));
        for e in &out.events {
            if let Event::ServerError(se) = e {
                if se.retry_after.is_some() {
                    *hint = se.retry_after;
                }
            }
        }
        shared.emit(out.events);
        if let Err(e) = send(&mut ws, &out.send).await {
            return (End::Lost(None, e.to_string()), live);
        }
        match out.action {
            Some(Action::Reconnect) => {
                let _ = tokio::time::timeout(Duration::from_secs(2), ws.close(None)).await;
                return (End::Reconnect, live);
            }
            Some(Action::RetryAfter(d)) => resume_at = Some(Instant::now() + d),
            None => {}
        }
    }
}

fn persist_worthy(e: &Event) -> bool {
    matches!(
        e,
        Event::StateChanged
            | Event::Acked { .. }
            | Event::SnapshotAdopted { .. }
            | Event::Synced { .. }
            | Event::LeaseChanged(_)
    )
}

async fn send(ws: &mut Ws, frames: &[ClientFrame]) -> Result<(), ClientError> {
    for f in frames {
        let text = serde_json::to_string(f).map_err(|e| ClientError::Invalid(e.to_string()))?;
        ws.send(Message::Text(text.into()))
            .await
            .map_err(|e| ClientError::Socket(e.to_string()))?;
    }
    Ok(())
}
