//! The user actor: one live activation per user. It owns the user's
//! [`UserDoc`](baton_crdt::UserDoc), merges device ops into it, persists them
//! through a per-user commit pipeline (at most one batch in flight, so the log
//! stays gap-free and in order), acknowledges ops only after they are durable,
//! fans deltas out to the user's other devices, and keeps the device registry,
//! presence and the active-player lease. The server's own changes (a device
//! registering, the lease moving or released, retirement) are control records
//! in the same log and pipeline: nothing is told to a device before the record
//! behind it is durable.

mod actor;
mod announce;
mod attach;
mod catch_up;
mod commit;
mod msg;
mod ops;
mod personal;
mod presence;
pub(crate) mod ratelimit;
mod snapshot;
mod view;

pub(crate) use actor::{UserActor, UserArgs};
pub use msg::UserMsg;
pub(crate) use personal::Personal;
pub use personal::PersonalView;
pub use view::{DeviceView, PlaybackView, UserStats, UserView, WatchlistView};
