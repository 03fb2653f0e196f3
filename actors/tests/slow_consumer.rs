//! The device session over an in-memory pipe: a device whose socket stops
//! taking frames is disconnected with 4008 instead of being buffered without
//! bound, and the user's other devices are unaffected.

use std::pin::Pin;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};
use std::time::Duration;

use baton_actors::protocol::CloseCode;
use baton_actors::{ActorConfig, DeviceIdentity, Hub, SocketError, WireIn, WireOut};
use futures_util::Sink;
use tokio::sync::mpsc;
use tokio_stream_shim::ReceiverStream;

mod tokio_stream_shim {
    //! A tiny `Stream` over a tokio receiver (avoids another dependency).
    use std::pin::Pin;
    use std::task::{Context, Poll};

    pub struct ReceiverStream<T>(pub tokio::sync::mpsc::Receiver<T>);

    impl<T> futures_util::Stream for ReceiverStream<T> {
        type Item = T;
        fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<T>> {
            self.0.poll_recv(cx)
        }
    }
}

/// Records frames; while `stall` is set, a text frame's write never finishes
/// and the sink takes nothing more (a peer that stopped reading, whose
/// socket buffers are full), as a real WebSocket sink behaves: a close frame
/// can only follow once the peer reads again. `blocked` records that
/// something waited to be written behind a stuck frame.
#[derive(Clone, Default)]
struct Recorder {
    frames: Arc<Mutex<Vec<WireOut>>>,
    stall: Arc<AtomicBool>,
    blocked: Arc<AtomicBool>,
    waker: Arc<Mutex<Option<std::task::Waker>>>,
}

impl Recorder {
    /// The peer reads again.
    fn release(&self) {
        self.stall.store(false, Ordering::Release);
        if let Some(w) = self.waker.lock().expect("lock").take() {
            w.wake();
        }
    }
}

struct RecSink {
    rec: Recorder,
    stuck: bool,
}

impl RecSink {
    fn wait(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), SocketError>> {
        if self.stuck && self.rec.stall.load(Ordering::Acquire) {
            *self.rec.waker.lock().expect("lock") = Some(cx.waker().clone());
            return Poll::Pending;
        }
        self.stuck = false;
        Poll::Ready(Ok(()))
    }
}

impl Sink<WireOut> for RecSink {
    type Error = SocketError;
    fn poll_ready(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Result<(), SocketError>> {
        let ready = self.wait(cx);
        if ready.is_pending() {
            self.rec.blocked.store(true, Ordering::Release);
        }
        ready
    }
    fn start_send(mut self: Pin<&mut Self>, item: WireOut) -> Result<(), SocketError> {
        if matches!(item, WireOut::Text(_)) && self.rec.stall.load(Ordering::Acquire) {
            self.stuck = true;
        }
        self.rec
            .frames
            .lock()
            .map_err(|e| SocketError(e.to_string()))?
            .push(item);
        Ok(())
    }
    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Result<(), SocketError>> {
        self.wait(cx)
    }
    fn poll_close(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Result<(), SocketError>> {
        self.poll_flush(cx)
    }
}

fn texts(rec: &Recorder) -> Vec<serde_json::Value> {
    rec.frames
        .lock()
        .expect("lock")
        .iter()
        .filter_map(|f| match f {
            WireOut::Text(b) => serde_json::from_slice(b).ok(),
            _ => None,
        })
        .collect()
}

fn ident(device: &str) -> DeviceIdentity {
    DeviceIdentity {
        user: "u".into(),
        device: device.into(),
        write_watchlist: true,
        write_preferences: true,
        playback_control: true,
        jti: None,
        expires_at: None,
    }
}

async fn until(what: &str, mut f: impl FnMut() -> bool) {
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    while !f() {
        assert!(std::time::Instant::now() < deadline, "timed out: {what}");
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

struct Setup {
    hub: Hub,
    sessions: Vec<tokio::task::JoinHandle<()>>,
    inputs: Vec<mpsc::Sender<WireIn>>,
    recorders: Vec<Recorder>,
}

/// Two devices, "slow" and "writer", both synced.
async fn setup(cfg: ActorConfig) -> (Setup, tempfile::TempDir) {
    let (store, dir) = baton_store::sqlite_harness::temp_sqlite()
        .await
        .expect("store");
    let hub = Hub::start(store, cfg, 100).await.expect("hub");
    let mut sessions = Vec::new();
    let mut inputs = Vec::new();
    let mut recorders = Vec::new();
    for device in ["slow", "writer"] {
        let (tx, rx) = mpsc::channel::<WireIn>(64);
        let rec = Recorder::default();
        let permit = hub.try_admit().expect("admit");
        let stream: baton_actors::BoxStream = Box::pin(ReceiverStream(rx));
        let sink: baton_actors::BoxSink = Box::pin(RecSink {
            rec: rec.clone(),
            stuck: false,
        });
        sessions.push(tokio::spawn(baton_actors::run_session(
            hub.clone(),
            permit,
            ident(device),
            stream,
            sink,
        )));
        tx.send(WireIn::Text(format!(
            r#"{{"type":"hello","protocol":1,"device":{{"kind":"tv","name":"{device}"}}}}"#
        )))
        .await
        .expect("hello");
        inputs.push(tx);
        recorders.push(rec);
    }
    until("both synced", || {
        recorders
            .iter()
            .all(|r| texts(r).iter().any(|f| f["type"] == "synced"))
    })
    .await;
    let setup = Setup {
        hub,
        sessions,
        inputs,
        recorders,
    };
    (setup, dir)
}

/// The writer sends ops `from..=to` and waits for the ack of the last one.
async fn write(s: &Setup, from: u64, to: u64) {
    for seq in from..=to {
        let op = format!(
            r#"{{"type":"op","seq":{seq},"op":{{"kind":"watchlist_add","content":"m:{seq}","added_at_ms":1}}}}"#
        );
        s.inputs[1].send(WireIn::Text(op)).await.expect("op");
    }
    until("writer acked", || {
        texts(&s.recorders[1])
            .iter()
            .any(|f| f["type"] == "ack" && f["seq"] == to)
    })
    .await;
}

fn closes(rec: &Recorder) -> Vec<u16> {
    rec.frames
        .lock()
        .expect("lock")
        .iter()
        .filter_map(|f| match f {
            WireOut::Close(c) => Some(c.code()),
            _ => None,
        })
        .collect()
}

/// The slow device is being disconnected: its close frame waits behind the
/// stuck frame. The peer reads again: it gets the close frame (last), answers
/// it, and the session ends.
async fn close_reaches_the_peer_once_it_reads(s: &mut Setup) {
    let slow = s.recorders[0].clone();
    until("close frame waiting behind the stuck write", || {
        slow.blocked.load(Ordering::Acquire)
    })
    .await;
    assert!(closes(&slow).is_empty(), "nothing can pass a stuck frame");
    slow.release();
    until("close frame written", || !closes(&slow).is_empty()).await;
    s.inputs[0]
        .send(WireIn::Close(None))
        .await
        .expect("peer close");
    tokio::time::timeout(Duration::from_secs(5), &mut s.sessions[0])
        .await
        .expect("slow session ended")
        .expect("session task");
    assert_eq!(closes(&slow), vec![CloseCode::SlowConsumer.code()]);
    let last = slow.frames.lock().expect("lock").last().cloned();
    assert!(
        matches!(last, Some(WireOut::Close(_))),
        "the close frame comes last"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stalled_device_is_closed_with_4008_and_others_continue() {
    let (mut s, _dir) = setup(ActorConfig {
        sync: baton_actors::SyncConfig {
            rate_limit_events: 10_000,
            ..ActorConfig::default().sync
        },
        device: baton_actors::DeviceLimits {
            outbound_queue: 16,
            max_inflight_ops: 8,
            ..Default::default()
        },
        timers: baton_actors::SessionTimers {
            write_timeout: Duration::from_secs(30),
            ..Default::default()
        },
        ..ActorConfig::default()
    })
    .await;
    // The slow device stops reading.
    s.recorders[0].stall.store(true, Ordering::Release);
    // The writer keeps at most 8 ops in flight, as the protocol asks, so its
    // own acks never exceed its queue; the stalled device gets every delta.
    for batch in 0..5u64 {
        write(&s, batch * 8 + 1, batch * 8 + 8).await;
    }
    // Disconnected long before its 30 s write timeout, with a close frame.
    close_reaches_the_peer_once_it_reads(&mut s).await;
    let frames_to_slow = texts(&s.recorders[0]).len();
    assert!(
        frames_to_slow < 20,
        "the slow device was not buffered for: {frames_to_slow} frames"
    );
    assert!(
        !s.sessions[1].is_finished(),
        "the writer is still connected"
    );
    s.hub.shutdown(Duration::from_secs(5)).await;
}

/// A write that exceeds the write timeout makes the device a slow consumer:
/// it too gets 4008 once it reads again (it used to get half a frame and EOF).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_write_timeout_is_a_4008_close_not_a_silent_drop() {
    let (mut s, _dir) = setup(ActorConfig {
        sync: baton_actors::SyncConfig {
            rate_limit_events: 10_000,
            ..ActorConfig::default().sync
        },
        timers: baton_actors::SessionTimers {
            write_timeout: Duration::from_millis(200),
            close_timeout: Duration::from_secs(30),
            ..Default::default()
        },
        ..ActorConfig::default()
    })
    .await;
    s.recorders[0].stall.store(true, Ordering::Release);
    write(&s, 1, 1).await;
    close_reaches_the_peer_once_it_reads(&mut s).await;
    s.hub.shutdown(Duration::from_secs(5)).await;
}
