//! `baton-client` and the conformance vectors against a real node: the
//! debug `baton` binary of this workspace, started by each test on a free
//! port with its own SQLite file.

#[path = "../common/mod.rs"]
mod common;

mod closes;
mod node;
mod sdk;
mod sqlite;
mod support;
mod vectors;
