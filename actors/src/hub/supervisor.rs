//! Supervisor of the user actors: when one stops (passivation, shutdown or
//! failure) its slot is dropped, so the next request activates it afresh from
//! the store. A failed actor loses nothing acknowledged: acks follow commits.

use std::collections::HashMap;
use std::sync::Weak;

use ractor::{Actor, ActorId, ActorProcessingErr, ActorRef, SupervisionEvent};

use super::HubInner;

/// Messages to the supervisor.
pub(crate) enum SupMsg {
    /// The hub it serves (set once at start).
    Attach(Weak<HubInner>),
    /// A user actor was spawned for this user.
    Track(ActorId, String),
}

pub(crate) struct HubSupervisor;

pub(crate) struct SupState {
    hub: Weak<HubInner>,
    users: HashMap<ActorId, String>,
}

impl Actor for HubSupervisor {
    type Msg = SupMsg;
    type State = SupState;
    type Arguments = ();

    async fn pre_start(
        &self,
        _myself: ActorRef<SupMsg>,
        _args: (),
    ) -> Result<SupState, ActorProcessingErr> {
        Ok(SupState {
            hub: Weak::new(),
            users: HashMap::new(),
        })
    }

    async fn handle(
        &self,
        _myself: ActorRef<SupMsg>,
        msg: SupMsg,
        state: &mut SupState,
    ) -> Result<(), ActorProcessingErr> {
        match msg {
            SupMsg::Attach(hub) => state.hub = hub,
            SupMsg::Track(id, user) => {
                state.users.insert(id, user);
            }
        }
        Ok(())
    }

    async fn handle_supervisor_evt(
        &self,
        _myself: ActorRef<SupMsg>,
        event: SupervisionEvent,
        state: &mut SupState,
    ) -> Result<(), ActorProcessingErr> {
        let (cell, failure) = match event {
            SupervisionEvent::ActorTerminated(cell, _, _) => (cell, None),
            SupervisionEvent::ActorFailed(cell, err) => (cell, Some(err.to_string())),
            _ => return Ok(()),
        };
        let id = cell.get_id();
        let Some(user) = state.users.remove(&id) else {
            return Ok(());
        };
        if let Some(err) = failure {
            tracing::error!(
                user,
                error = err,
                "user actor failed; it will be reactivated from the store on next use"
            );
            metrics::counter!("baton_user_actor_failures_total").increment(1);
        }
        if let Some(hub) = state.hub.upgrade() {
            hub.forget_actor(&user, id);
        }
        Ok(())
    }
}
