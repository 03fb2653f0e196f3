//! Log lines of one device session carry that session's span (user, device,
//! conn) and never another's: two sessions interleaved on one thread, every
//! captured line naming a device names exactly one.

use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};
use std::time::Duration;

use baton_actors::{ActorConfig, DeviceIdentity, Hub, SocketError, WireIn, WireOut};
use futures_util::Sink;
use tokio::sync::mpsc;

/// Captured log output.
#[derive(Clone, Default)]
struct Captured(Arc<Mutex<Vec<u8>>>);

impl std::io::Write for Captured {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0
            .lock()
            .map_err(|e| std::io::Error::other(e.to_string()))?
            .extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl Captured {
    fn lines(&self) -> Vec<String> {
        let bytes = self.0.lock().expect("lock").clone();
        String::from_utf8_lossy(&bytes)
            .lines()
            .map(str::to_owned)
            .collect()
    }
}

struct Input(mpsc::Receiver<WireIn>);

impl futures_util::Stream for Input {
    type Item = WireIn;
    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<WireIn>> {
        self.0.poll_recv(cx)
    }
}

/// A sink that takes everything at once.
struct Discard;

impl Sink<WireOut> for Discard {
    type Error = SocketError;
    fn poll_ready(self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<Result<(), SocketError>> {
        Poll::Ready(Ok(()))
    }
    fn start_send(self: Pin<&mut Self>, _: WireOut) -> Result<(), SocketError> {
        Ok(())
    }
    fn poll_flush(self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<Result<(), SocketError>> {
        Poll::Ready(Ok(()))
    }
    fn poll_close(self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<Result<(), SocketError>> {
        Poll::Ready(Ok(()))
    }
}

fn ident(device: &str) -> DeviceIdentity {
    DeviceIdentity {
        user: format!("user-{device}"),
        device: device.into(),
        write_watchlist: true,
        write_preferences: true,
        playback_control: true,
        jti: None,
        expires_at: None,
    }
}

#[tokio::test(flavor = "current_thread")]
async fn concurrent_sessions_never_log_under_each_others_span() {
    let captured = Captured::default();
    let writer = captured.clone();
    let subscriber = tracing_subscriber::fmt()
        .with_ansi(false)
        .with_max_level(tracing::Level::INFO)
        .with_writer(move || writer.clone())
        .finish();
    let _default = tracing::subscriber::set_default(subscriber);

    let (store, _dir) = baton_store::sqlite_harness::temp_sqlite()
        .await
        .expect("store");
    let hub = Hub::start(store, ActorConfig::default(), 100)
        .await
        .expect("hub");
    let mut inputs = Vec::new();
    let mut sessions = Vec::new();
    // Both sessions start and wait for their hello: each is suspended
    // inside its span while the other runs on the same thread.
    for device in ["alpha", "beta"] {
        let (tx, rx) = mpsc::channel(8);
        let permit = hub.try_admit().expect("admit");
        sessions.push(tokio::spawn(baton_actors::run_session(
            hub.clone(),
            permit,
            ident(device),
            Box::pin(Input(rx)),
            Box::pin(Discard),
        )));
        inputs.push(tx);
        tokio::task::yield_now().await;
    }
    for (tx, device) in inputs.iter().zip(["alpha", "beta"]) {
        tx.send(WireIn::Text(format!(
            r#"{{"type":"hello","protocol":1,"device":{{"kind":"tv","name":"{device}"}}}}"#
        )))
        .await
        .expect("hello");
    }
    // Each session reads its hello before the close (one ordered channel).
    for tx in &inputs {
        tx.send(WireIn::Close(None)).await.expect("close");
    }
    for session in sessions {
        tokio::time::timeout(Duration::from_secs(10), session)
            .await
            .expect("session ended")
            .expect("session task");
    }
    hub.shutdown(Duration::from_secs(5)).await;

    let lines = captured.lines();
    let session_lines: Vec<&String> = lines.iter().filter(|l| l.contains("device=")).collect();
    for event in ["device attached", "device detached"] {
        assert_eq!(
            session_lines.iter().filter(|l| l.contains(event)).count(),
            2,
            "both sessions logged {event}: {lines:#?}"
        );
    }
    for line in session_lines {
        let devices = ["alpha", "beta"]
            .iter()
            .filter(|d| line.contains(&format!("device={d}")))
            .count();
        assert_eq!(devices, 1, "one session's span per line: {line}");
        let own = if line.contains("device=alpha") {
            "alpha"
        } else {
            "beta"
        };
        assert!(
            line.contains(&format!("user=user-{own}")),
            "the user field matches the device: {line}"
        );
    }
}
