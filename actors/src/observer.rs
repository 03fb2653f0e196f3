//! A hook for what a user actor fans out, so another component (the PubNub
//! bridge) can forward it. The observer is called on the actor's thread, once
//! per event, after the event reached the user's connected devices: it must
//! only copy what it needs into its own bounded queue and return, never block
//! or await.

use baton_crdt::LoggedOp;

pub use baton_sync::ControlEvent;

/// Receives every committed op and every control event of every user of this node.
pub trait FanoutObserver: Send + Sync + 'static {
    /// A committed op of `user` was fanned out (the content of its `delta` frame).
    fn delta(&self, user: &str, op: &LoggedOp);
    /// A control event of `user` was sent to the user's devices.
    fn control(&self, user: &str, event: ControlEvent);
}
