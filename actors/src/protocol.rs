//! The device protocol, version 1: the JSON text frames a device and the
//! server exchange over `/v1/sync`. `PROTOCOL.md` at the repository root is the
//! prose description of exactly these types; keep the two in step.

mod client;
mod close;
mod server;

pub use client::{Activity, ClientFrame, DeviceHello};
pub use close::CloseCode;
pub use server::{
    ErrorFrame, HandoffOutcome, LeaseView, Limits, PresenceEntry, ResumeMode, ServerFrame, Welcome,
};

/// The protocol version this server speaks.
pub const PROTOCOL_VERSION: u32 = 1;
