//! The end-of-run check: every device's replica equals the REST state of its
//! user (watchlist, playback registers, version vector), and every op a
//! device saw acknowledged is in that state (`vv[device] >= highest acked seq`).

use std::time::Duration;

use baton_crdt::{UserDoc, VersionVector};
use futures_util::StreamExt;
use serde_json::{json, Value};

use crate::device::Cmd;
use crate::fleet::Fleet;

/// Outcome of the check.
#[derive(Debug, Clone, Default, serde::Serialize)]
pub struct Convergence {
    /// Users checked.
    pub users: usize,
    /// Users with a device whose replica differs from REST (or never caught up).
    pub diverged_users: usize,
    /// Acknowledged ops missing from the REST state.
    pub lost_acks: u64,
    /// REST reads that failed.
    pub rest_errors: usize,
    /// A few examples of what differed.
    pub examples: Vec<String>,
}

fn replica_view(doc: &UserDoc) -> Value {
    let playback: Vec<Value> = doc
        .playback()
        .iter()
        .map(|p| json!({"content": p.content.as_str(), "position_ms": p.position_ms, "duration_ms": p.duration_ms,
                        "state": p.state, "device": p.device, "ts": p.ts}))
        .collect();
    json!({"watchlist": doc.watchlist(), "playback": playback, "vv": doc.vv()})
}

fn rest_view(state: &Value) -> Value {
    let playback: Vec<Value> = state["playback"]
        .as_array()
        .map(|a| {
            a.iter()
                .map(|p| json!({"content": p["content"], "position_ms": p["position_ms"], "duration_ms": p["duration_ms"],
                                "state": p["state"], "device": p["device"], "ts": p["ts"]}))
                .collect()
        })
        .unwrap_or_default();
    json!({"watchlist": state["watchlist"], "playback": playback, "vv": state["vv"]})
}

/// One user's check: (converged, acked ops missing, first difference), or why it could not be read.
type UserCheck = Result<(bool, u64, Option<String>), String>;

/// Check every user of `fleet` against `GET {http}/v1/users/{u}/state`.
pub async fn check(fleet: &Fleet, http: &str, token: &str) -> Convergence {
    let client = reqwest::Client::new();
    let results: Vec<(usize, UserCheck)> =
        futures_util::stream::iter(fleet.users.iter().enumerate())
            .map(|(u, user)| {
                let client = client.clone();
                let url = format!("{http}/v1/users/{}/state", user.name);
                async move {
                    let state: Value = match client.get(&url).bearer_auth(token).send().await {
                        Ok(r) if r.status().is_success() => r.json().await.unwrap_or(Value::Null),
                        Ok(r) => return (u, Err(format!("{url}: HTTP {}", r.status()))),
                        Err(e) => return (u, Err(format!("{url}: {e}"))),
                    };
                    let vv: VersionVector =
                        serde_json::from_value(state["vv"].clone()).unwrap_or_default();
                    let mut lost = 0;
                    for d in &user.devices {
                        let acked = d.max_acked.load(std::sync::atomic::Ordering::Relaxed);
                        lost += acked.saturating_sub(vv.get(&d.id));
                    }
                    let want = rest_view(&state);
                    let mut diff = None;
                    for (i, tx) in fleet.cmds[u].iter().enumerate() {
                        let (otx, orx) = tokio::sync::oneshot::channel();
                        let got = if tx.send(Cmd::Report(vv.clone(), otx)).await.is_ok() {
                            tokio::time::timeout(Duration::from_secs(20), orx)
                                .await
                                .ok()
                                .and_then(Result::ok)
                        } else {
                            None
                        };
                        match got {
                            Some(doc) => {
                                let have = replica_view(&doc);
                                if have != want && diff.is_none() {
                                    diff = Some(format!(
                                        "{} {}: replica {have} != REST {want}",
                                        user.name, user.devices[i].id
                                    ));
                                }
                            }
                            None if diff.is_none() => {
                                diff = Some(format!(
                                    "{} {}: replica never reached REST vv",
                                    user.name, user.devices[i].id
                                ));
                            }
                            None => {}
                        }
                    }
                    (u, Ok((diff.is_none(), lost, diff)))
                }
            })
            .buffer_unordered(64)
            .collect()
            .await;
    let mut c = Convergence {
        users: fleet.users.len(),
        ..Convergence::default()
    };
    for (_, r) in results {
        match r {
            Ok((same, lost, diff)) => {
                c.lost_acks += lost;
                if !same {
                    c.diverged_users += 1;
                    if let (Some(d), true) = (diff, c.examples.len() < 3) {
                        c.examples.push(d);
                    }
                }
            }
            Err(e) => {
                c.rest_errors += 1;
                c.diverged_users += 1;
                if c.examples.len() < 3 {
                    c.examples.push(e);
                }
            }
        }
    }
    c
}
