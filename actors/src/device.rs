//! One connected device: a device actor that owns the socket's write half and
//! its bounded outbound queue, and a reader loop ([`run_session`]) that owns
//! the read half, checks liveness, parses frames and routes them to the
//! user's actor.

mod actor;
mod reader;
mod socket;

pub use actor::{BoxSink, DeviceMsg};
pub(crate) use reader::count_error;
pub use reader::{run_session, BoxStream, DeviceIdentity};
pub use socket::{SocketError, WireIn, WireOut};
