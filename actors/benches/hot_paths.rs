//! Hot paths without sockets: client frame parsing, server frame encoding,
//! and one op's path through the actors (reader -> user actor -> SQLite
//! group commit -> ack + delta pushed to another device's session), over the
//! in-memory pipe of `tests/slow_consumer.rs`.

use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use baton_actors::protocol::ServerFrame;
use baton_actors::wire::parse_client_frame;
use baton_actors::{ActorConfig, DeviceIdentity, Hub, SocketError, WireIn, WireOut};
use baton_crdt::LoggedOp;
use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use futures_util::Sink;
use tokio::sync::mpsc;

const OP: &str = r#"{"type":"op","seq":5,"op":{"kind":"playback","content":"movie:42","position_ms":606000,"duration_ms":7200000,"state":"playing","ts":"7712213731550007656/40741acf20066ccca8cd574cee9fd867","lease":3}}"#;
const ADD: &str = r#"{"type":"op","seq":4,"op":{"kind":"watchlist_add","content":"movie:7","added_at_ms":1764100000000}}"#;

fn frames(c: &mut Criterion) {
    let mut g = c.benchmark_group("frame");
    g.bench_function("parse_client_op_playback", |b| {
        b.iter(|| parse_client_frame(std::hint::black_box(OP), 65_536))
    });
    g.bench_function("parse_client_op_watchlist_add", |b| {
        b.iter(|| parse_client_frame(std::hint::black_box(ADD), 65_536))
    });
    let delta: LoggedOp = serde_json::from_str(
        r#"{"device":"tv-living","seq":1,"version":1,"at_ms":1795639677417,"op":{"kind":"watchlist_add","content":"movie:42","added_at_ms":1764100000000}}"#,
    )
    .expect("delta");
    let frame = ServerFrame::Delta(delta);
    g.bench_function("encode_server_delta", |b| {
        b.iter(|| std::hint::black_box(&frame).to_text())
    });
    let ack = ServerFrame::Ack {
        seq: 5,
        version: 17,
        duplicate: false,
    };
    g.bench_function("encode_server_ack", |b| {
        b.iter(|| std::hint::black_box(&ack).to_text())
    });
    g.finish();
}

struct ReceiverStream(mpsc::Receiver<WireIn>);
impl futures_util::Stream for ReceiverStream {
    type Item = WireIn;
    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<WireIn>> {
        self.0.poll_recv(cx)
    }
}

/// Forwards every text frame to a channel.
struct ChanSink(mpsc::UnboundedSender<bytes::Bytes>);
impl Sink<WireOut> for ChanSink {
    type Error = SocketError;
    fn poll_ready(self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<Result<(), SocketError>> {
        Poll::Ready(Ok(()))
    }
    fn start_send(self: Pin<&mut Self>, item: WireOut) -> Result<(), SocketError> {
        if let WireOut::Text(b) = item {
            let _ = self.0.send(b);
        }
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
        user: "u".into(),
        device: device.into(),
        write_watchlist: true,
        write_preferences: true,
        playback_control: true,
        jti: None,
        expires_at: None,
    }
}

async fn until_type(rx: &mut mpsc::UnboundedReceiver<bytes::Bytes>, ty: &str, n: usize) {
    let pat = format!(r#""type":"{ty}""#);
    let mut seen = 0;
    while seen < n {
        match tokio::time::timeout(Duration::from_secs(10), rx.recv()).await {
            Ok(Some(b)) if std::str::from_utf8(&b).is_ok_and(|s| s.contains(&pat)) => seen += 1,
            Ok(Some(_)) => {}
            _ => panic!("timed out waiting for {ty}"),
        }
    }
}

fn fan_out(c: &mut Criterion) {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("runtime");
    let (hub, inputs, mut outs, _dir) = rt.block_on(async {
        let (store, dir) = baton_store::sqlite_harness::temp_sqlite()
            .await
            .expect("store");
        let cfg = ActorConfig {
            sync: baton_actors::SyncConfig {
                rate_limit_events: 100_000_000,
                ..ActorConfig::default().sync
            },
            ..ActorConfig::default()
        };
        let hub = Hub::start(store, cfg, 100).await.expect("hub");
        let mut inputs = Vec::new();
        let mut outs = Vec::new();
        for device in ["writer", "reader"] {
            let (tx, rx) = mpsc::channel::<WireIn>(1024);
            let (otx, mut orx) = mpsc::unbounded_channel();
            let permit = hub.try_admit().expect("admit");
            tokio::spawn(baton_actors::run_session(
                hub.clone(),
                permit,
                ident(device),
                Box::pin(ReceiverStream(rx)),
                Box::pin(ChanSink(otx)),
            ));
            tx.send(WireIn::Text(format!(
                r#"{{"type":"hello","protocol":1,"device":{{"kind":"tv","name":"{device}"}}}}"#
            )))
            .await
            .expect("hello");
            until_type(&mut orx, "synced", 1).await;
            inputs.push(tx);
            outs.push(orx);
        }
        (hub, inputs, outs, dir)
    });
    let mut seq = 0u64;
    let mut g = c.benchmark_group("op_to_delta");
    let batch = 64u64;
    g.throughput(Throughput::Elements(batch));
    g.bench_function("sqlite_64_ops_ack_and_fan_out", |b| {
        b.iter_custom(|iters| {
            rt.block_on(async {
                let t0 = Instant::now();
                for _ in 0..iters {
                    for _ in 0..batch {
                        seq += 1;
                        let op = format!(r#"{{"type":"op","seq":{seq},"op":{{"kind":"watchlist_add","content":"m:{}","added_at_ms":1}}}}"#, seq % 100);
                        inputs[0].send(WireIn::Text(op)).await.expect("op");
                    }
                    until_type(&mut outs[1], "delta", batch as usize).await;
                    until_type(&mut outs[0], "ack", batch as usize).await;
                }
                t0.elapsed()
            })
        });
    });
    g.finish();
    rt.block_on(hub.shutdown(Duration::from_secs(5)));
}

criterion_group!(benches, frames, fan_out);
criterion_main!(benches);
