//! The user actor: one live activation per user, a thin shell around the
//! sans-IO state machine [`baton_sync::UserSync`] that owns the sync rules
//! (commit pipeline, acks after commit, catch-up, registry, presence, lease,
//! snapshots). The shell loads the user from the store, turns each
//! [`UserMsg`] into an input with the time from the node's [`Clock`](crate::Clock),
//! and carries out the effects the machine returns: frames into device
//! queues, appends and snapshot saves to the store (their results come back
//! as messages), observer calls, replies. Personalization (interactions and
//! the adapter) lives beside the machine in the shell.

mod actor;
mod effects;
mod load;
mod msg;
mod personal;

pub(crate) use actor::{UserActor, UserArgs};
pub use baton_sync::{DeviceView, PlaybackView, UserStats, UserView, WatchlistView};
pub use msg::{DeviceMsg, LifecycleMsg, PersonalMsg, ReadMsg, StoreMsg, UserMsg};
pub use personal::PersonalView;
