//! Every conformance scenario played through real device sockets against
//! one real node (one user per scenario): the node's `GET /state` must equal
//! the committed vector's `expected` (minus the client-side `pending`) byte
//! for byte, and every op must be answered as the scripted server answered.

use std::collections::HashMap;

use baton_conformance::{ScriptEvent, Scripted};
use futures_util::{SinkExt, StreamExt};
use serde_json::{json, Value};
use tokio::sync::mpsc;
use tokio_tungstenite::tungstenite::Message;

use super::common;
use super::node::{state_subset, Node};

/// A device socket: a writer and a channel of the frames read.
struct Dev {
    tx: futures_util::stream::SplitSink<common::Ws, Message>,
    rx: mpsc::UnboundedReceiver<Value>,
}

impl Dev {
    async fn open(node: &Node, user: &str, device: &str, kind: &str) -> Dev {
        let ws = common::connect(node.port, &node.token(user, device)).await;
        let (mut tx, mut read) = ws.split();
        let (ftx, rx) = mpsc::unbounded_channel();
        tokio::spawn(async move {
            while let Some(Ok(msg)) = read.next().await {
                if let Message::Text(t) = msg {
                    if let Ok(v) = serde_json::from_str::<Value>(t.as_str()) {
                        let _ = ftx.send(v);
                    }
                }
            }
        });
        let hello = json!({"type":"hello","protocol":1,
            "device":{"kind":kind,"name":device,"capabilities":[]},"vv":{}});
        tx.send(Message::Text(hello.to_string().into()))
            .await
            .expect("hello");
        let mut dev = Dev { tx, rx };
        dev.until(|f| f["type"] == "welcome").await;
        dev
    }

    async fn send(&mut self, frame: Value) {
        self.tx
            .send(Message::Text(frame.to_string().into()))
            .await
            .expect("send");
    }

    async fn until(&mut self, pred: impl Fn(&Value) -> bool) -> Value {
        let wait = tokio::time::timeout(std::time::Duration::from_secs(10), async {
            while let Some(f) = self.rx.recv().await {
                if pred(&f) {
                    return f;
                }
            }
            panic!("socket closed while waiting");
        });
        wait.await.expect("answer within 10 s")
    }
}

async fn play(node: &Node, user: &str, script: &[Scripted]) {
    let mut devs: HashMap<String, Dev> = HashMap::new();
    for step in script {
        match &step.event {
            ScriptEvent::Hello { device, kind } => {
                let dev = Dev::open(node, user, device, kind).await;
                devs.insert(device.clone(), dev);
            }
            ScriptEvent::Op {
                device,
                seq,
                op,
                error,
            } => {
                let dev = devs.get_mut(device).expect("device connected");
                dev.send(json!({"type":"op","seq":seq,"op":op})).await;
                let seq = *seq;
                let answer = dev
                    .until(|f| {
                        (f["type"] == "ack" || f["type"] == "error")
                            && f["seq"].as_u64() == Some(seq)
                    })
                    .await;
                match error {
                    None => assert_eq!(
                        answer["type"], "ack",
                        "{user}: op {seq} of {device}: {answer}"
                    ),
                    Some(code) => assert_eq!(
                        answer["code"].as_str(),
                        Some(code.as_str()),
                        "{user}: op {seq} of {device}: {answer}"
                    ),
                }
            }
            ScriptEvent::Handoff {
                from,
                to,
                content,
                position_ms,
            } => {
                let dev = devs.get_mut(from).expect("device connected");
                dev.send(json!({"type":"handoff","request_id":"h","target":to,
                    "content":content,"position_ms":position_ms}))
                    .await;
                let r = dev.until(|f| f["type"] == "handoff_result").await;
                assert_eq!(r["outcome"], "delivered", "{user}: {r}");
            }
            ScriptEvent::Close { device } => {
                if let Some(mut dev) = devs.remove(device) {
                    let _ = dev.tx.close().await;
                }
            }
        }
        node.wait_version(user, step.version).await;
    }
}

/// `expected` of the committed file without `"pending"`.
fn committed_expected(name: &str) -> String {
    let path = baton_conformance::vectors_dir().join(format!("{name}.json"));
    let text = std::fs::read_to_string(&path).expect("committed vector");
    let start = text.find("\n\"expected\": ").expect("expected") + "\n\"expected\": ".len();
    let rest = &text[start..];
    let expected = rest[..rest.rfind('}').expect("brace")].trim_end();
    let cut = expected.rfind(",\"pending\":").expect("pending");
    format!("{}}}", &expected[..cut])
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_vector_matches_a_real_node() {
    let node = Node::start(&[]).await;
    let all = baton_conformance::generate().expect("scenarios");
    let mut failures = Vec::new();
    for (vector, script) in &all {
        let user = format!("vec-{}", vector.name.replace('_', "-"));
        play(&node, &user, script).await;
        let state = node.state_text(&user).await;
        let got = state_subset(&state);
        let want = committed_expected(&vector.name);
        if got != want {
            failures.push(format!("{}:\n node: {got}\n file: {want}", vector.name));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}
