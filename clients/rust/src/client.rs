//! [`Client`]: the application's handle. Edits apply locally at once (and
//! are persisted), then go out through the connection task of
//! [`crate::session`], which keeps reconnecting until [`Client::close`].

use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{SystemTime, UNIX_EPOCH};

use baton_crdt::automerge::transaction::Transaction;
use baton_crdt::automerge::AutomergeError;
use baton_crdt::{ContentId, Op, PlayState};
use baton_protocol::{Activity, ClientFrame, LeaseView, PresenceEntry};
use rand::RngCore;
use tokio::sync::{broadcast, mpsc, watch};

use crate::config::{ClientConfig, TokenProvider};
use crate::core::Core;
use crate::events::{ConnectionState, Event};
use crate::persist::{Store, PERSIST_FORMAT};
use crate::view::StateView;
use crate::{ClientError, Outbox, PendingOp, Persisted, Replica};

pub(crate) enum Cmd {
    Send(Vec<ClientFrame>),
    Close,
}

pub(crate) struct Shared {
    pub core: Mutex<Core>,
    pub store: Arc<dyn Store>,
    pub actor: Vec<u8>,
    pub events: broadcast::Sender<Event>,
    pub status: watch::Sender<ConnectionState>,
    pub activity: Mutex<Option<Activity>>,
}

impl Shared {
    pub fn core(&self) -> Result<MutexGuard<'_, Core>, ClientError> {
        self.core
            .lock()
            .map_err(|_| ClientError::Store("client state poisoned".into()))
    }

    pub fn persist(&self, core: &Core) -> Result<(), ClientError> {
        let snapshot = core.replica().doc().to_snapshot_bytes()?;
        let state = Persisted {
            format: PERSIST_FORMAT,
            device: core.device().to_owned(),
            snapshot: String::from_utf8(snapshot).map_err(|e| ClientError::Store(e.to_string()))?,
            version: core.replica().version(),
            lease: core.replica().lease().clone(),
            pending: core
                .pending_ops()
                .iter()
                .map(|(seq, op)| PendingOp {
                    seq: *seq,
                    op: op.clone(),
                })
                .collect(),
            hlc_last: core.clock.last(),
            actor: hex(&self.actor),
        };
        self.store.save(&state)
    }

    pub fn emit(&self, events: Vec<Event>) {
        for e in events {
            if let Event::Connection(c) = &e {
                self.status.send_replace(c.clone());
            }
            let _ = self.events.send(e);
        }
    }
}

/// A connected (or reconnecting) device.
pub struct Client {
    shared: Arc<Shared>,
    cmd: mpsc::UnboundedSender<Cmd>,
    task: Option<tokio::task::JoinHandle<()>>,
}

impl Client {
    /// Loads the replica from `store` (or starts empty) and starts
    /// connecting. Must run inside a tokio runtime.
    pub fn start(
        config: ClientConfig,
        tokens: impl TokenProvider,
        store: Arc<dyn Store>,
    ) -> Result<Client, ClientError> {
        let (core, actor) = match store.load()? {
            Some(p) if p.device == config.device => {
                let replica = Replica::restore(p.doc()?, p.version, p.lease.clone());
                let mut core = Core::restore(
                    &config.device,
                    config.hello.clone(),
                    replica,
                    Outbox::restore(p.pending_map()),
                );
                core.clock.set_last(p.hlc_last);
                (core, unhex(&p.actor).unwrap_or_else(random_actor))
            }
            Some(p) => {
                return Err(ClientError::Store(format!(
                    "the store holds device {:?}, not {:?}",
                    p.device, config.device
                )))
            }
            None => (
                Core::new(&config.device, config.hello.clone()),
                random_actor(),
            ),
        };
        let (events, _) = broadcast::channel(1024);
        let (status, _) = watch::channel(ConnectionState::Connecting(1));
        let shared = Arc::new(Shared {
            core: Mutex::new(core),
            store,
            actor,
            events,
            status,
            activity: Mutex::new(None),
        });
        let (cmd, rx) = mpsc::unbounded_channel();
        let task = tokio::spawn(crate::session::run(
            config,
            Arc::new(tokens),
            shared.clone(),
            rx,
        ));
        Ok(Client {
            shared,
            cmd,
            task: Some(task),
        })
    }

    /// Events from now on (a receiver that falls 1,024 events behind
    /// loses the oldest; [`Client::state`] is always current).
    pub fn subscribe(&self) -> broadcast::Receiver<Event> {
        self.shared.events.subscribe()
    }

    /// The connection state, as a watch.
    pub fn connection(&self) -> watch::Receiver<ConnectionState> {
        self.shared.status.subscribe()
    }

    /// What the app shows: confirmed state plus pending own edits.
    pub fn state(&self) -> Result<StateView, ClientError> {
        Ok(self.shared.core()?.state())
    }

    /// The state the server has acknowledged to this device.
    pub fn confirmed(&self) -> Result<StateView, ClientError> {
        Ok(self.shared.core()?.replica().view())
    }

    /// Seqs of own edits not acknowledged yet.
    pub fn pending(&self) -> Result<Vec<u64>, ClientError> {
        Ok(self.shared.core()?.pending())
    }

    /// The active-player lease as last told.
    pub fn lease(&self) -> Result<LeaseView, ClientError> {
        Ok(self.shared.core()?.lease().clone())
    }

    /// The user's devices, as the last `presence` frame listed them.
    pub fn presence(&self) -> Result<Vec<PresenceEntry>, ClientError> {
        Ok(self.shared.core()?.presence.clone())
    }

    /// Adds `content` to the watchlist. Returns the op's seq.
    pub fn add(&self, content: &str) -> Result<u64, ClientError> {
        self.edit(|core| core.add_op(content, now_ms()).map(Some))
            .map(|s| s.unwrap_or(0))
    }

    /// Removes `content` (`None`: it was not on the watchlist).
    pub fn remove(&self, content: &str) -> Result<Option<u64>, ClientError> {
        self.edit(|core| core.remove_op(content))
    }

    /// Reports playback of `content`. `take_lease`: the user pressed play
    /// here (takes the lease from another device).
    pub fn playback(
        &self,
        content: &str,
        position_ms: u64,
        duration_ms: u64,
        state: PlayState,
        take_lease: bool,
    ) -> Result<u64, ClientError> {
        self.edit(|core| {
            core.playback_op(
                content,
                position_ms,
                duration_ms,
                state,
                take_lease,
                now_ntp(),
            )
            .map(Some)
        })
        .map(|s| s.unwrap_or(0))
    }

    /// Edits the preferences document (`None`: `f` changed nothing).
    pub fn preferences<F>(&self, f: F) -> Result<Option<u64>, ClientError>
    where
        F: FnOnce(&mut Transaction<'_>) -> Result<(), AutomergeError>,
    {
        let actor = self.shared.actor.clone();
        self.edit(|core| core.preferences_op(&actor, f))
    }

    /// Sends an op built by the application.
    pub fn submit(&self, op: Op) -> Result<u64, ClientError> {
        self.edit(|_| Ok(Some(op))).map(|s| s.unwrap_or(0))
    }

    fn edit(
        &self,
        build: impl FnOnce(&mut Core) -> Result<Option<Op>, ClientError>,
    ) -> Result<Option<u64>, ClientError> {
        let mut core = self.shared.core()?;
        let Some(op) = build(&mut core)? else {
            return Ok(None);
        };
        core.check_size(&op)?;
        let (seq, out) = core.submit(op);
        self.shared.persist(&core)?;
        drop(core);
        self.shared.emit(out.events);
        if !out.send.is_empty() {
            let _ = self.cmd.send(Cmd::Send(out.send));
        }
        Ok(Some(seq))
    }

    /// Hands playback to device `target`; the answer is an
    /// [`Event::HandoffResult`] with the returned request id.
    pub fn handoff(
        &self,
        target: &str,
        content: &str,
        position_ms: u64,
    ) -> Result<String, ClientError> {
        let content = ContentId::parse(content).map_err(|e| ClientError::Invalid(e.to_string()))?;
        let request_id = format!("h-{:016x}", rand::thread_rng().next_u64());
        self.send(ClientFrame::Handoff {
            request_id: request_id.clone(),
            target: target.to_owned(),
            content,
            position_ms,
        })?;
        Ok(request_id)
    }

    /// Asks for a full snapshot (after local data loss).
    pub fn resync(&self) -> Result<(), ClientError> {
        self.send(ClientFrame::Resync {})
    }

    /// What this device is playing, sent with every heartbeat.
    pub fn set_activity(&self, activity: Option<Activity>) -> Result<(), ClientError> {
        let mut guard = self
            .shared
            .activity
            .lock()
            .map_err(|_| ClientError::Store("client state poisoned".into()))?;
        *guard = activity;
        Ok(())
    }

    fn send(&self, frame: ClientFrame) -> Result<(), ClientError> {
        self.cmd
            .send(Cmd::Send(vec![frame]))
            .map_err(|_| ClientError::Closed)
    }

    /// Closes the connection (1000) and stops reconnecting. The replica
    /// stays in the store.
    pub async fn close(mut self) {
        let _ = self.cmd.send(Cmd::Close);
        if let Some(task) = self.task.take() {
            let _ = task.await;
        }
    }
}

impl Drop for Client {
    fn drop(&mut self) {
        if let Some(task) = self.task.take() {
            task.abort();
        }
    }
}

/// Milliseconds since the Unix epoch.
pub(crate) fn now_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
}

/// Now as NTP64 (upper 32 bits seconds, lower 32 bits fraction).
pub(crate) fn now_ntp() -> u64 {
    let d = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap_or_default();
    baton_crdt::hlc::duration_to_ntp64(d)
}

fn random_actor() -> Vec<u8> {
    let mut b = vec![0u8; 16];
    rand::thread_rng().fill_bytes(&mut b);
    b
}

fn hex(b: &[u8]) -> String {
    b.iter().map(|x| format!("{x:02x}")).collect()
}

fn unhex(s: &str) -> Option<Vec<u8>> {
    if s.is_empty() || s.len() % 2 != 0 {
        return None;
    }
    (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(s.get(i..i + 2)?, 16).ok())
        .collect()
}
