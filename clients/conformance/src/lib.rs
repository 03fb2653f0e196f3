//! # baton-conformance
//!
//! Generates the client conformance vectors (`clients/vectors/*.json`):
//! scripted scenarios run against a server made of the real `baton-crdt`
//! [`baton_crdt::UserDoc`] (plus the server's own control records), observed
//! from one replica device, the `baton-client` [`baton_client::Core`].
//! Each vector holds the frames that device receives, the edits it makes, and
//! the state it must end in; the generator checks that the replica agrees
//! with the server before writing anything. `tests/fresh.rs` fails when a
//! committed vector differs from what the generator produces;
//! `runtime/tests/client/` replays each scenario's [`script`] against a real
//! node and compares its `GET /v1/users/{user}/state` with the vector.

mod error;
pub mod ops;
pub mod scenarios;
pub mod script;
pub mod sim;
pub mod vector;

pub use error::GenError;
pub use script::{ScriptEvent, Scripted};
pub use vector::{Expected, Step, Vector, VectorFile};

/// The directory of the committed vectors.
pub fn vectors_dir() -> std::path::PathBuf {
    std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../vectors")
}

/// Every scenario's vector and server script.
pub fn generate() -> Result<Vec<(Vector, Vec<Scripted>)>, GenError> {
    scenarios::all().into_iter().map(|f| f()).collect()
}
