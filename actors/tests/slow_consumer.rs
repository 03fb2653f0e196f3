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

/// Records frames; once `stall` is set, text frames never finish flushing
/// (a peer that stopped reading), while close frames are still recorded.
#[derive(Clone, Default)]
struct Recorder {
    frames: Arc<Mutex<Vec<WireOut>>>,
    stall: Arc<AtomicBool>,
}

struct RecSink {
    rec: Recorder,
    stuck: bool,
}

impl Sink<WireOut> for RecSink {
    type Error = SocketError;
    fn poll_ready(self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<Result<(), SocketError>> {
        Poll::Ready(Ok(()))
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
    fn poll_flush(self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<Result<(), SocketError>> {
        if self.stuck {
            Poll::Pending
        } else {
            Poll::Ready(Ok(()))
        }
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

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stalled_device_is_closed_with_4008_and_others_continue() {
    let (store, _dir) = baton_store::sqlite_harness::temp_sqlite()
        .await
        .expect("store");
    let cfg = ActorConfig {
        outbound_queue: 16,
        max_inflight_ops: 8,
        write_timeout: Duration::from_secs(30),
        rate_limit_events: 10_000,
        ..ActorConfig::default()
    };
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
    let (slow, writer) = (&recorders[0], &recorders[1]);
    until("both synced", || {
        [slow, writer]
            .iter()
            .all(|r| texts(r).iter().any(|f| f["type"] == "synced"))
    })
    .await;
    // The slow device stops reading.
    slow.stall.store(true, Ordering::Release);
    // The writer keeps at most 8 ops in flight, as the protocol asks, so its
    // own acks never exceed its queue; the stalled device gets every delta.
    for batch in 0..5u64 {
        for seq in batch * 8 + 1..=batch * 8 + 8 {
            let op = format!(
                r#"{{"type":"op","seq":{seq},"op":{{"kind":"watchlist_add","content":"m:{seq}","added_at_ms":1}}}}"#
            );
            inputs[1].send(WireIn::Text(op)).await.expect("op");
        }
        let last = batch * 8 + 8;
        until("writer acked", || {
            texts(writer)
                .iter()
                .any(|f| f["type"] == "ack" && f["seq"] == last)
        })
        .await;
    }
    // The slow session ended, with 4008, long before its 30 s write timeout.
    tokio::time::timeout(Duration::from_secs(5), &mut sessions[0])
        .await
        .expect("slow session ended")
        .expect("session task");
    let closes: Vec<u16> = slow
        .frames
        .lock()
        .expect("lock")
        .iter()
        .filter_map(|f| match f {
            WireOut::Close(c) => Some(c.code()),
            _ => None,
        })
        .collect();
    assert_eq!(closes, vec![CloseCode::SlowConsumer.code()]);
    let frames_to_slow = texts(slow).len();
    assert!(
        frames_to_slow < 20,
        "the slow device was not buffered for: {frames_to_slow} frames"
    );
    assert!(!sessions[1].is_finished(), "the writer is still connected");
    hub.shutdown(Duration::from_secs(5)).await;
}
