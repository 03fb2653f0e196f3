//! Warm handoff over HTTP: a batch of users' live state to their new owner's
//! `POST /internal/v1/handoff`, authenticated by the cluster secret.

use std::time::Duration;

use base64::Engine as _;
use baton_actors::WarmState;
use serde::{Deserialize, Serialize};

use crate::{ClusterConfig, ClusterError};

/// Header carrying the cluster secret on internal requests.
pub const SECRET_HEADER: &str = "x-baton-cluster-secret";
/// Path of the handoff endpoint.
pub const PATH: &str = "/internal/v1/handoff";

/// One user's state on the wire: the warm state with its snapshot in base64.
#[derive(Debug, Serialize, Deserialize)]
pub struct WireState {
    /// User, version and catch-up window.
    #[serde(flatten)]
    pub state: WarmState,
    /// The snapshot bytes, base64.
    pub snapshot: String,
}

/// The request body.
#[derive(Debug, Serialize, Deserialize)]
pub struct Batch {
    /// The sending node.
    pub from: String,
    /// The users.
    pub states: Vec<WireState>,
}

impl Batch {
    /// Encode `states` from node `from`.
    pub fn new(from: &str, states: Vec<WarmState>) -> Batch {
        let b64 = base64::engine::general_purpose::STANDARD;
        Batch {
            from: from.to_owned(),
            states: states
                .into_iter()
                .map(|mut state| WireState {
                    snapshot: b64.encode(std::mem::take(&mut state.snapshot)),
                    state,
                })
                .collect(),
        }
    }

    /// Decode into warm states; a state that does not decode is dropped (its
    /// user then loads cold from the store, which loses nothing).
    pub fn into_states(self) -> Vec<WarmState> {
        let b64 = base64::engine::general_purpose::STANDARD;
        self.states
            .into_iter()
            .filter_map(|w| {
                let mut state = w.state;
                state.snapshot = b64.decode(w.snapshot).ok()?;
                Some(state)
            })
            .collect()
    }
}

/// Sends batches to peers.
#[derive(Clone)]
pub struct Client {
    http: reqwest::Client,
    node_id: String,
    secret: String,
}

impl Client {
    /// A client bound to the node's cluster IP (when it has one).
    pub fn new(cfg: &ClusterConfig) -> Result<Client, ClusterError> {
        let http = reqwest::Client::builder()
            .local_address(cfg.local_ip())
            .timeout(cfg.peer_timeout)
            .connect_timeout(Duration::from_secs(2))
            .build()
            .map_err(|e| ClusterError::Config(format!("HTTP client: {e}")))?;
        Ok(Client {
            http,
            node_id: cfg.node_id.clone(),
            secret: cfg.secret.clone(),
        })
    }

    /// Post `states` to the node at `api`.
    pub async fn send(&self, api: &str, states: Vec<WarmState>) -> Result<(), ClusterError> {
        let peer = |detail: String| ClusterError::Peer {
            peer: api.to_owned(),
            detail,
        };
        let response = self
            .http
            .post(format!("http://{api}{PATH}"))
            .header(SECRET_HEADER, &self.secret)
            .json(&Batch::new(&self.node_id, states))
            .send()
            .await
            .map_err(|e| peer(e.to_string()))?;
        if response.status().is_success() {
            Ok(())
        } else {
            Err(peer(format!("answered {}", response.status())))
        }
    }
}
