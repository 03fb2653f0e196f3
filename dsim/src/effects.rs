//! Carrying out one effect of an activation, as a node would, with the
//! checks of what it reveals and of the bounds it must keep.

use baton_protocol::{CloseCode, ServerFrame};
use baton_sync::{Effect, Input, Lane, StopReason};

use crate::world::{World, QUEUE_FRAMES};

/// Which activation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Which {
    /// The current owner.
    Node,
    /// An older owner still running after an unplanned move.
    Zombie,
}

impl World {
    pub(crate) fn node_mut(&mut self, which: Which) -> Option<&mut crate::node::Node> {
        match which {
            Which::Node => self.node.as_mut(),
            Which::Zombie => self.zombie.as_mut(),
        }
    }

    /// The activation a connection reached, if it still runs.
    pub(crate) fn which_for(&self, generation: u64) -> Option<Which> {
        if self
            .node
            .as_ref()
            .is_some_and(|n| n.generation == generation)
        {
            Some(Which::Node)
        } else if self
            .zombie
            .as_ref()
            .is_some_and(|n| n.generation == generation)
        {
            Some(Which::Zombie)
        } else {
            None
        }
    }

    /// Feed an input to an activation.
    pub(crate) fn feed(&mut self, which: Which, input: Input) {
        if self.trace {
            eprintln!("[{}] {which:?} <- {input:?}", self.report.steps);
        }
        let now = self.now();
        if let Some(node) = self.node_mut(which) {
            node.feed(now, input);
        }
    }

    /// The device index of a live connection of `which`.
    fn device_of(&self, conn: u64, which: Which) -> Option<usize> {
        let (device, generation) = *self.conns.get(&conn)?;
        (self.which_for(generation) == Some(which) && self.devices[device].conn == Some(conn))
            .then_some(device)
    }

    /// End a device's connection from the server side; the session tells the
    /// activation it is gone.
    pub(crate) fn drop_conn(&mut self, device: usize, which: Which) {
        let Some(conn) = self.devices[device].conn else {
            return;
        };
        self.devices[device].disconnect();
        let id = self.devices[device].id.clone();
        self.feed(which, Input::Detach { device: id, conn });
    }

    /// Carry out the next effect of `which`; false when it had none.
    pub(crate) fn run_effect(&mut self, which: Which) -> bool {
        let Some(effect) = self.node_mut(which).and_then(|n| n.queue.pop_front()) else {
            return false;
        };
        if self.trace {
            match &effect {
                Effect::Send { conn, frame, .. } => eprintln!(
                    "[{}] {which:?} -> {conn}: {}",
                    self.report.steps,
                    String::from_utf8_lossy(frame)
                        .chars()
                        .take(160)
                        .collect::<String>()
                ),
                other => eprintln!("[{}] {which:?} -> {other:?}", self.report.steps),
            }
        }
        match effect {
            Effect::Send { conn, frame, lane } => {
                let Some(device) = self.device_of(conn, which) else {
                    return true;
                };
                match serde_json::from_slice::<ServerFrame>(&frame) {
                    Ok(parsed) => self.check_reveal(device, &parsed),
                    Err(e) => self.violate(format!("a frame does not parse: {e}")),
                }
                // The node's queue rules (`DeviceLink`): live frames within
                // their frame and byte caps, everything within the budget
                // plus the catch-up allowance.
                let (live, catch_up) = self.queue_bytes;
                let dev = &mut self.devices[device];
                let len = frame.len();
                let full = dev.queued_bytes + len > live + catch_up
                    || (lane == Lane::Live
                        && (dev.live_frames >= QUEUE_FRAMES || dev.live_bytes + len > live));
                if full {
                    self.report.slow_consumers += 1;
                    self.drop_conn(device, which);
                    return true;
                }
                dev.queued_bytes += len;
                if lane == Lane::Live {
                    dev.live_frames += 1;
                    dev.live_bytes += len;
                }
                dev.inbox.push_back((frame, lane == Lane::Live));
                self.report.frames += 1;
            }
            Effect::Resolved { conn } => {
                if let Some(device) = self.device_of(conn, which) {
                    let dev = &mut self.devices[device];
                    match dev.inflight.checked_sub(1) {
                        Some(n) => dev.inflight = n,
                        None => {
                            let id = dev.id.clone();
                            self.violate(format!("{id}: more ops resolved than sent"));
                        }
                    }
                }
            }
            Effect::Acked { .. } | Effect::Observe(_) | Effect::PublishPresence(_) => {}
            Effect::Close { conn, code } => {
                if let Some(device) = self.device_of(conn, which) {
                    if code == CloseCode::SlowConsumer {
                        self.report.slow_consumers += 1;
                    }
                    self.drop_conn(device, which);
                }
            }
            Effect::Persist(records) => {
                let node = self.node_mut(which).expect("the activation runs");
                if node.persist.is_some() {
                    self.violate("two batches in flight".into());
                } else {
                    node.persist = Some(records);
                }
            }
            Effect::SaveSnapshot(save) => {
                let node = self.node_mut(which).expect("the activation runs");
                if node.saving.is_some() {
                    self.violate("two snapshot saves in flight".into());
                } else {
                    node.saving = Some(save);
                }
            }
            Effect::ResyncServed { conn } => {
                if let Some(device) = self.device_of(conn, which) {
                    self.devices[device].resync_pending = false;
                }
            }
            Effect::Attached { conn, result, .. } => {
                if result.is_err() {
                    if let Some(device) = self.device_of(conn, which) {
                        self.devices[device].disconnect();
                    }
                }
            }
            Effect::Read { view, .. } => {
                if which == Which::Node && view.version != self.store.version() {
                    let durable = self.store.version();
                    self.violate(format!(
                        "a read answered version {} while {durable} is durable",
                        view.version
                    ));
                }
            }
            Effect::Stop(stop) => {
                let node = match which {
                    Which::Node => self.node.take(),
                    Which::Zombie => self.zombie.take(),
                };
                let Some(node) = node else {
                    return true;
                };
                if let Some(save) = &stop.save {
                    self.save_snapshot(save, node.epoch);
                }
                self.disconnect_generation(node.generation);
                if let StopReason::Released { warm, .. } = stop.reason {
                    // The next owner starts from the handover, unless one
                    // already runs (an unplanned move overtook this one).
                    if self.node.is_none() {
                        self.activate(warm.map(|w| *w));
                    }
                }
            }
        }
        true
    }

    /// Store a snapshot; one that holds more than is durable is a violation.
    pub(crate) fn save_snapshot(&mut self, save: &baton_sync::SnapshotSave, epoch: u64) -> bool {
        if save.version > self.store.version() {
            let durable = self.store.version();
            self.violate(format!(
                "a snapshot at {} holds more than is durable ({durable})",
                save.version
            ));
        }
        self.store.save_snapshot(save, epoch).is_ok()
    }
}
