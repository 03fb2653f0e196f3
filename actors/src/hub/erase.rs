//! The hub's part in the right to erasure and the right of access: erasing a
//! user from every store this node writes, and reading what the user's actor
//! holds for an export.
//!
//! Erasure order, each step idempotent (a failed erasure is retried whole):
//!
//! 1. the tombstone (`Store::mark_erased`): from here on tokens issued before
//!    the erasure are refused (401 `user_erased`), so no device can reattach
//!    with the old replica;
//! 2. new activations of the user on this node are refused (503) until the end;
//! 3. the live actor, if any, closes the user's devices with 4010 ("wipe your
//!    replica"), waits for a snapshot write in flight and stops without writing;
//! 4. the store deletes log, snapshot, adapter and owner claim in one
//!    transaction after every queued append (`Store::erase_user`);
//! 5. the vector store's preference vector and the shared state's keys go.

use baton_personalization::{PersonalizationError, USER_PREFERENCES};
use baton_store::Erased;

use super::Hub;
use crate::lock::lock;
use crate::user::{LifecycleMsg, PersonalView, ReadMsg, UserMsg};
use crate::ActorError;

/// What one erasure did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ErasureReport {
    /// The erasure time (ms since the Unix epoch): tokens issued before it are refused.
    pub erased_at_ms: u64,
    /// Rows deleted from the store.
    pub store: Erased,
    /// Whether a live actor (and so open sockets) was stopped on this node.
    pub stopped_live_actor: bool,
}

/// Removes the user from the set of users being erased when dropped.
struct Erasing<'a> {
    hub: &'a Hub,
    user: &'a str,
}

impl Drop for Erasing<'_> {
    fn drop(&mut self) {
        lock(&self.hub.inner.erasing).remove(self.user);
    }
}

impl Hub {
    /// Erase `user` from every store this node writes (see the module docs for
    /// the order). Call it on the user's owner. Idempotent: erasing again
    /// deletes nothing more and moves the tombstone to the later time.
    pub async fn erase(&self, user: &str) -> Result<ErasureReport, ActorError> {
        let erased_at_ms = self.inner.clock.wall_ms();
        self.inner.store.mark_erased(user, erased_at_ms).await?;
        lock(&self.inner.erasing).insert(user.to_owned());
        let _erasing = Erasing { hub: self, user };
        let stopped_live_actor = self.stop_for_erasure(user).await?;
        drop(self.take_warm(user));
        let store = self.inner.store.erase_user(user, erased_at_ms).await?;
        match self
            .vectors()
            .delete(USER_PREFERENCES, &[user.to_owned()])
            .await
        {
            Ok(()) | Err(PersonalizationError::UnknownCollection(_)) => {}
            Err(e) => return Err(e.into()),
        }
        self.inner.shared.forget_user(user).await?;
        metrics::counter!("baton_user_erasures_total").increment(1);
        tracing::info!(user, ?store, stopped_live_actor, "user erased");
        Ok(ErasureReport {
            erased_at_ms,
            store,
            stopped_live_actor,
        })
    }

    /// Whether `user` is being erased on this node right now.
    pub(crate) fn is_erasing(&self, user: &str) -> bool {
        lock(&self.inner.erasing).contains(user)
    }

    /// Stop the user's live actor, if any, with 4010 to its devices.
    async fn stop_for_erasure(&self, user: &str) -> Result<bool, ActorError> {
        let Some((live, cell)) = self.inner.registry.live(user) else {
            return Ok(false);
        };
        match live
            .actor
            .call(
                |reply| UserMsg::Lifecycle(LifecycleMsg::Erase(reply)),
                Some(self.inner.cfg.hub.call_timeout),
            )
            .await
        {
            Ok(ractor::rpc::CallResult::Success(())) => {}
            Ok(ractor::rpc::CallResult::Timeout) => return Err(ActorError::Timeout),
            // Stopped meanwhile (passivation): it wrote its snapshot first, which
            // the store erasure deletes.
            Ok(ractor::rpc::CallResult::SenderError) | Err(_) => {}
        }
        self.inner.registry.forget(user, &cell);
        Ok(true)
    }

    /// What the user's actor holds for personalization (activates the user).
    pub async fn personal(&self, user: &str) -> Result<PersonalView, ActorError> {
        self.ask(user, |reply| UserMsg::Read(ReadMsg::Personal(reply)))
            .await
    }
}
