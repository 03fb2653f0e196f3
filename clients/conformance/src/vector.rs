//! The vector file format (the contract with every client's test suite):
//!
//! ```text
//! { "name", "description", "user", "device",
//!   "steps": [ {"recv": <server frame as on the wire>}
//!            | {"local": {"seq": n, "op": <op as in the op frame>}} ],
//!   "expected": { "version", "vv", "watchlist", "playback", "preferences",
//!                 "lease", "pending": [seq...] } }
//! ```
//!
//! `expected` minus `pending` is exactly those keys of the server's
//! `GET /v1/users/{user}/state`, in that order, as compact JSON. Files are
//! written one step per line, each `recv` frame as the server's own text.

use baton_client::StateView;
use baton_crdt::Op;
use serde::{Deserialize, Serialize};

use crate::GenError;

/// One step of a vector.
#[derive(Debug, Clone, PartialEq)]
pub enum Step {
    /// A server frame, as its wire text.
    Recv(String),
    /// A local edit sent with this seq.
    Local(u64, Op),
}

/// The replica's state after the last step.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Expected {
    /// The confirmed state (server keys).
    #[serde(flatten)]
    pub state: StateView,
    /// Seqs of own ops not acknowledged.
    pub pending: Vec<u64>,
}

/// One conformance vector.
#[derive(Debug, Clone, PartialEq)]
pub struct Vector {
    /// File stem.
    pub name: String,
    /// What it exercises.
    pub description: String,
    /// The user.
    pub user: String,
    /// The replica's own device id.
    pub device: String,
    /// The steps.
    pub steps: Vec<Step>,
    /// The state after them.
    pub expected: Expected,
}

fn text<T: Serialize>(v: &T) -> Result<String, GenError> {
    serde_json::to_string(v).map_err(|e| GenError::Io(e.to_string()))
}

impl Vector {
    /// The file text.
    pub fn to_text(&self) -> Result<String, GenError> {
        let mut out = String::from("{\n");
        out += &format!("\"name\": {},\n", text(&self.name)?);
        out += &format!("\"description\": {},\n", text(&self.description)?);
        out += &format!("\"user\": {},\n", text(&self.user)?);
        out += &format!("\"device\": {},\n", text(&self.device)?);
        out += "\"steps\": [\n";
        let n = self.steps.len();
        for (i, step) in self.steps.iter().enumerate() {
            let line = match step {
                Step::Recv(frame) => format!("{{\"recv\":{frame}}}"),
                Step::Local(seq, op) => {
                    format!("{{\"local\":{{\"seq\":{seq},\"op\":{}}}}}", text(op)?)
                }
            };
            out += &line;
            out += if i + 1 < n { ",\n" } else { "\n" };
        }
        out += "],\n";
        out += &format!("\"expected\": {}\n}}\n", text(&self.expected)?);
        Ok(out)
    }
}

/// A vector file as read back (what a client's test replays).
#[derive(Debug, Clone, Deserialize)]
pub struct VectorFile {
    /// File stem.
    pub name: String,
    /// What it exercises.
    pub description: String,
    /// The user.
    pub user: String,
    /// The replica's device id.
    pub device: String,
    /// Steps as JSON.
    pub steps: Vec<serde_json::Value>,
    /// Expected state as JSON.
    pub expected: serde_json::Value,
}
