//! Nothing a device sends makes the node do unbounded work: a flood of
//! handoffs against a large user document stays within a memory ceiling.
//! Before, every handoff forced a background save of the whole document with
//! no bound on saves in flight (2,000 handoffs took a node from 21 MiB to
//! 585 MiB); now a handoff is a ~100-byte control record in the log and at
//! most one snapshot save per user is in flight.

mod common;

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use baton_actors::{ActorConfig, DeviceLimits};
use baton_crdt::automerge::transaction::Transactable;
use baton_crdt::automerge::ROOT;
use baton_crdt::{Op, Preferences, B64};
use common::*;
use futures_util::StreamExt;
use serde_json::json;

/// Resident set size of this process (the test and the node in it), bytes.
fn rss_bytes() -> u64 {
    let statm = std::fs::read_to_string("/proc/self/statm").expect("statm");
    let pages: u64 = statm
        .split_whitespace()
        .nth(1)
        .and_then(|p| p.parse().ok())
        .expect("resident pages");
    pages * 4096
}

/// Growth allowed over the flood. The unbounded behaviour needed ~600 MiB for
/// this document and flood; the bounded one stays within a few MiB.
const CEILING: u64 = 64 << 20;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_handoff_flood_on_a_large_document_stays_bounded() {
    let cfg = ActorConfig {
        sync: baton_actors::SyncConfig {
            rate_limit_events: 100_000,
            // Worst case for saves: every record makes a snapshot due.
            snapshot_every_ops: 1,
            ..test_config().sync
        },
        // The per-device handoff rate limit is one bound; this test checks the
        // other: what each handoff costs the node when it is allowed.
        device: DeviceLimits {
            handoffs_per_minute: 100_000,
            ..DeviceLimits::default()
        },
        ..test_config()
    };
    let server = TestServer::sqlite(cfg).await;
    let mut tv = server.device("big", "tv", "tv").await;
    // A ~500 KB document: preferences holding 12 strings of 40 KB.
    let mut prefs = Preferences::new();
    let mut rng = 0x9e37_79b9_7f4a_7c15_u64;
    let mut last = 0;
    for i in 0..12 {
        let text: String = (0..40_000)
            .map(|_| {
                rng ^= rng << 13;
                rng ^= rng >> 7;
                rng ^= rng << 17;
                char::from(b'a' + (rng % 26) as u8)
            })
            .collect();
        let change = prefs
            .local_change(|tx| tx.put(ROOT, format!("blob{i}"), text).map(|_| ()))
            .expect("change");
        last = tv
            .op(Op::Preferences {
                changes: vec![B64(change)],
            })
            .await;
    }
    tv.wait_ack(last).await;
    let phone = server.device("big", "phone", "mobile").await;
    let state = server.state("big").await;
    let size = state["preferences"].to_string().len();
    assert!(size > 400_000, "preferences of {size} bytes");

    // The phone reads everything it is sent, as a live device does.
    let mut phone_ws = phone.ws;
    let drain = tokio::spawn(async move { while let Some(Ok(_)) = phone_ws.next().await {} });
    let peak = Arc::new(AtomicU64::new(0));
    let sampler = {
        let peak = peak.clone();
        tokio::spawn(async move {
            loop {
                peak.fetch_max(rss_bytes(), Ordering::Relaxed);
                tokio::time::sleep(Duration::from_millis(5)).await;
            }
        })
    };
    let before = rss_bytes();
    const FLOOD: usize = 2_000;
    const WINDOW: usize = 64;
    // The tv keeps up to WINDOW handoffs unanswered and reads its frames (a
    // device that does not read is cut off with 4008, a different bound).
    let mut answered = 0;
    let mut sent = 0;
    while answered < FLOOD {
        while sent < FLOOD && sent < answered + WINDOW {
            let frame = json!({"type":"handoff","request_id":format!("h-{sent}"),
                "target":"phone","content":"movie:42","position_ms":sent});
            send_json(&mut tv.ws, &frame).await;
            sent += 1;
        }
        let frame = tokio::time::timeout(Duration::from_secs(60), next_json(&mut tv.ws))
            .await
            .expect("answers keep coming")
            .expect("socket open");
        // Every handoff is answered (a result, or a refusal such as a rate limit).
        if frame["type"] == "handoff_result" || frame["type"] == "error" {
            answered += 1;
        }
    }
    // Wait for the pipeline to be idle (a read is served from durable state).
    let _ = server.state("big").await;
    sampler.abort();
    drain.abort();
    let growth = peak.load(Ordering::Relaxed).saturating_sub(before);
    eprintln!(
        "handoff flood: RSS {} MiB before, peak growth {:.1} MiB (ceiling {} MiB)",
        before >> 20,
        growth as f64 / f64::from(1 << 20),
        CEILING >> 20
    );
    assert!(
        growth < CEILING,
        "RSS grew {growth} bytes during {FLOOD} handoffs (ceiling {CEILING})"
    );
    // And the document is still whole and served.
    let state = server.state("big").await;
    assert_eq!(state["preferences"].to_string().len(), size);
    server.stop().await;
}
