//! One connected device: its session ([`run_session`]), a single task that
//! owns the socket. It is the device actor: its mailbox is the bounded
//! outbound queue in [`DeviceLink`](crate::DeviceLink), and it handles, one at
//! a time, frames from the device (parsed and routed to the user's actor),
//! frames for the device (written under a write timeout), pings, and the
//! liveness and heartbeat timeouts.
//!
//! It is deliberately not a `ractor` actor: a ractor actor allocates two
//! unbounded mailboxes and supervision plumbing, which at 100K connections
//! costs more than the whole per-device memory budget, and its unbounded
//! mailbox would need a separate bound anyway.

mod bounds;
mod frames;
mod rates;
mod session;

pub(crate) use frames::count_error;
pub use session::run_session;
