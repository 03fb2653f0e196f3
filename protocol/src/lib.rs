//! # baton-protocol
//!
//! The device protocol, version 1: the JSON text frames a device and the
//! server exchange over `/v1/sync` ([`ClientFrame`], [`ServerFrame`]), their
//! parsing with stable error codes ([`wire::parse_client_frame`]), the close
//! codes ([`CloseCode`]), who is on the other end ([`DeviceIdentity`]) and the
//! socket as every transport presents it ([`WireIn`] / [`WireOut`]: the
//! WebSocket server, the PubNub bridge and the cluster relay all speak it).
//! `PROTOCOL.md` at the repository root is the prose description of exactly
//! these types and `schema/baton-v1.schema.json` their JSON Schema; keep the
//! three in step.
//!
//! No I/O and no runtime: the crate is shared by the server, the device
//! clients, the harness and the bridge without pulling in any of them. The
//! `openapi` feature adds `utoipa` schemas for the types REST responses reuse.

mod client;
mod close;
mod identity;
mod interaction;
mod server;
mod socket;
pub mod wire;

pub use client::{Activity, ClientFrame, DeviceHello};
pub use close::CloseCode;
pub use identity::DeviceIdentity;
pub use interaction::InteractionKind;
pub use server::{
    ErrorFrame, HandoffOutcome, LeaseView, Limits, PresenceEntry, ResumeMode, ServerFrame, Welcome,
};
pub use socket::{BoxSink, BoxStream, SocketError, WireIn, WireOut};

/// The protocol version this server speaks.
pub const PROTOCOL_VERSION: u32 = 1;
