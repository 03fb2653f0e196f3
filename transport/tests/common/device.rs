//! A test device: a WebSocket speaking the protocol and a local replica
//! built from `baton-crdt`, as a client app would keep.

use baton_crdt::{LoggedOp, Op, UserDoc};
use serde_json::{json, Value};

use super::*;

/// A device with a local replica, as a client app would keep.
pub struct TestDevice {
    pub ws: Ws,
    pub user: String,
    pub id: String,
    pub doc: UserDoc,
    pub next_seq: u64,
    pub welcome: Value,
    /// Ops sent and not yet acknowledged, as (seq, op).
    pub unacked: Vec<(u64, Op)>,
    /// Frames that arrived while waiting for something else.
    pub inbox: Vec<Value>,
    pub acked: Vec<(u64, u64)>,
}

impl TestDevice {
    pub async fn connect(
        server: &TestServer,
        user: &str,
        device: &str,
        kind: &str,
        doc: UserDoc,
        unacked: Vec<(u64, Op)>,
    ) -> TestDevice {
        let token = server.token(user, device);
        let mut ws = raw_connect(server, Some(&token)).await.expect("connect");
        send_json(
            &mut ws,
            &json!({"type":"hello","protocol":1,"device":{"kind":kind,"name":device},"vv":doc.vv()}),
        )
        .await;
        let mut inbox = Vec::new();
        let welcome = next_of(&mut ws, "welcome", &mut inbox).await;
        let mut dev = TestDevice {
            ws,
            user: user.to_owned(),
            id: device.to_owned(),
            doc,
            next_seq: welcome["next_seq"].as_u64().expect("next_seq"),
            welcome: welcome.clone(),
            unacked,
            inbox,
            acked: Vec::new(),
        };
        dev.catch_up().await;
        // Resend what was never acknowledged, in order (at-least-once).
        let pending = std::mem::take(&mut dev.unacked);
        for (seq, op) in pending {
            dev.send_op_raw(seq, op).await;
        }
        dev
    }

    async fn catch_up(&mut self) {
        let mut snapshot = String::new();
        loop {
            let frame = next_json(&mut self.ws).await.expect("catch-up frame");
            match frame["type"].as_str() {
                Some("delta") => self.apply_delta(&frame),
                Some("snapshot_chunk") => snapshot.push_str(frame["data"].as_str().expect("data")),
                Some("synced") => break,
                _ => self.inbox.push(frame),
            }
        }
        if !snapshot.is_empty() {
            self.doc = UserDoc::from_snapshot_bytes(snapshot.as_bytes()).expect("snapshot parses");
        }
    }

    pub fn apply_delta(&mut self, frame: &Value) {
        let op: LoggedOp = serde_json::from_value(frame.clone()).expect("delta is a LoggedOp");
        self.doc.replay(&op).expect("delta applies");
    }

    /// Apply locally (as an offline-capable app does) and send.
    pub async fn op(&mut self, op: Op) -> u64 {
        let seq = self.next_seq;
        self.next_seq += 1;
        // Apply locally without the server's lease rules: the server is the
        // authority on the lease and refuses what it must.
        let local = LoggedOp {
            device: self.id.clone(),
            seq,
            version: self.doc.version() + 1,
            at_ms: 0,
            op: op.clone(),
        };
        self.doc.replay(&local).expect("local apply");
        self.send_op_raw(seq, op).await;
        seq
    }

    pub async fn send_op_raw(&mut self, seq: u64, op: Op) {
        self.unacked.push((seq, op.clone()));
        send_json(&mut self.ws, &json!({"type":"op","seq":seq,"op":op})).await;
    }

    /// Wait for the ack of `seq`, applying deltas that arrive meanwhile.
    pub async fn wait_ack(&mut self, seq: u64) -> u64 {
        loop {
            let frame = next_json(&mut self.ws)
                .await
                .expect("frame while waiting for ack");
            match frame["type"].as_str() {
                Some("ack") => {
                    let s = frame["seq"].as_u64().expect("seq");
                    let v = frame["version"].as_u64().expect("version");
                    self.unacked.retain(|(q, _)| *q != s);
                    self.acked.push((s, v));
                    if s == seq {
                        return v;
                    }
                }
                Some("delta") => self.apply_delta(&frame),
                Some("error") => panic!("op {seq} refused: {frame}"),
                _ => self.inbox.push(frame),
            }
        }
    }

    /// Wait for a frame of `kind`, applying deltas that arrive meanwhile.
    pub async fn wait_for(&mut self, kind: &str) -> Value {
        if let Some(pos) = self.inbox.iter().position(|f| f["type"] == kind) {
            return self.inbox.remove(pos);
        }
        loop {
            let frame = next_json(&mut self.ws)
                .await
                .unwrap_or_else(|c| panic!("closed ({c:?}) waiting for {kind}"));
            if frame["type"] == kind {
                if kind == "delta" {
                    self.apply_delta(&frame);
                }
                return frame;
            }
            match frame["type"].as_str() {
                Some("delta") => self.apply_delta(&frame),
                _ => self.inbox.push(frame),
            }
        }
    }

    /// Wait until the local replica has seen `version` worth of the user's ops.
    pub async fn wait_version(&mut self, version: u64) {
        while self.doc.version() < version {
            self.wait_for("delta").await;
        }
    }

    pub fn watchlist(&self) -> Vec<String> {
        self.doc
            .watchlist()
            .into_iter()
            .map(|w| w.content.as_str().to_owned())
            .collect()
    }

    /// Disconnect, keeping the replica and unacked ops (going offline).
    pub async fn go_offline(mut self) -> (UserDoc, Vec<(u64, Op)>, u64) {
        let _ = self.ws.close(None).await;
        (self.doc, self.unacked, self.next_seq)
    }
}
