//! What can happen next, drawn at random: an effect carried out, a commit or
//! a snapshot save ending (or failing), a device acting or reading, time
//! passing, the process crashing, the user moving.

use std::collections::VecDeque;

use baton_crdt::{ContentId, Hlc, Op, PlayState};
use baton_protocol::DeviceHello;
use baton_sync::{CommitFailure, Input, UserSync, WarmState};
use rand::Rng;

use crate::device::Read;
use crate::effects::Which;
use crate::node::Node;
use crate::world::{ntp, World};

const CONTENTS: &[&str] = &["movie:1", "movie:2", "show:3", "show:4"];

impl World {
    /// Start an activation: claim, then recover warm (if handed over and
    /// still current) or cold from the store.
    pub(crate) fn activate(&mut self, warm: Option<WarmState>) {
        let epoch = self.store.claim();
        let retention = self.cfg.log_retention_ops;
        let recovered = match warm {
            Some(w) if w.version <= self.store.version() => {
                baton_sync::recover_warm(&w, &self.store.tail_after(w.version), retention)
                    .ok()
                    .flatten()
            }
            _ => None,
        };
        let recovered = match recovered {
            Some(r) => r,
            None => match baton_sync::recover("u", self.store.stored(retention), retention) {
                Ok(r) => r,
                Err(e) => {
                    self.violate(format!("recovery failed: {e}"));
                    return;
                }
            },
        };
        self.generation += 1;
        self.report.activations += 1;
        let now = self.now();
        let mut sync = UserSync::new(
            self.cfg.clone(),
            self.limits.clone(),
            "u".into(),
            recovered,
            now,
        );
        sync.set_observed(true);
        let queue: VecDeque<_> = sync.start(now).into();
        self.node = Some(Node {
            sync,
            epoch,
            queue,
            persist: None,
            saving: None,
            generation: self.generation,
        });
    }

    /// One random step.
    pub(crate) fn step(&mut self) {
        self.report.steps += 1;
        let faults = self.opts.faults;
        match self.rng.gen_range(0..100) {
            0..=29 => {
                let which = if self.rng.gen_bool(0.8) {
                    Which::Node
                } else {
                    Which::Zombie
                };
                self.run_effect(which);
            }
            30..=39 => {
                let which = if self.rng.gen_bool(0.8) {
                    Which::Node
                } else {
                    Which::Zombie
                };
                self.complete_persist(which, faults);
            }
            40..=43 => {
                let which = if self.rng.gen_bool(0.8) {
                    Which::Node
                } else {
                    Which::Zombie
                };
                self.complete_save(which);
            }
            44..=69 => {
                let d = self.rng.gen_range(0..self.devices.len());
                self.device_act(d);
            }
            70..=84 => {
                let d = self.rng.gen_range(0..self.devices.len());
                self.device_read(d);
            }
            85..=88 => {
                self.now_ms += self.rng.gen_range(1..3_000);
                self.feed(Which::Node, Input::Tick);
            }
            89 if faults => self.crash(),
            90 => {
                if self.node.is_some() {
                    self.report.moves += 1;
                    self.feed(Which::Node, Input::Release { ticket: 0 });
                }
            }
            91 if faults => self.unplanned_move(),
            92..=93 => self.feed(Which::Node, Input::Read { ticket: 0 }),
            94 => self.feed(Which::Node, Input::Passivate),
            _ => self.now_ms += self.rng.gen_range(1..50),
        }
        for d in 0..self.devices.len() {
            self.try_send(d);
        }
    }

    /// The append in flight of `which` ends. With faults it may fail before
    /// or after it is written (both unknown to the node: nothing is acked).
    pub(crate) fn complete_persist(&mut self, which: Which, faults: bool) {
        let Some(node) = self.node_mut(which) else {
            return;
        };
        let Some(records) = node.persist.take() else {
            return;
        };
        let epoch = node.epoch;
        let fault = if faults {
            self.rng.gen_range(0..20)
        } else {
            99
        };
        let result = match fault {
            0 => Err(CommitFailure {
                stale_writer: false,
                detail: "injected: failed before writing".into(),
            }),
            1 => {
                let _ = self.store.append(&records, epoch);
                Err(CommitFailure {
                    stale_writer: false,
                    detail: "injected: failed after writing".into(),
                })
            }
            _ => match self.store.append(&records, epoch) {
                Ok(()) => Ok(()),
                Err(e) if e == "fenced" => {
                    self.report.fenced += 1;
                    Err(CommitFailure {
                        stale_writer: true,
                        detail: e,
                    })
                }
                Err(e) => {
                    self.violate(format!("the store refused a batch: {e}"));
                    return;
                }
            },
        };
        if result.is_err() {
            self.report.failed_commits += 1;
        }
        self.feed(which, Input::Committed(result));
    }

    pub(crate) fn complete_save(&mut self, which: Which) {
        let Some(node) = self.node_mut(which) else {
            return;
        };
        let Some(save) = node.saving.take() else {
            return;
        };
        let epoch = node.epoch;
        let ok = self.save_snapshot(&save, epoch);
        if !ok {
            self.feed(which, Input::Fenced);
        }
        self.feed(
            which,
            Input::SnapshotSaved {
                version: save.version,
                ok,
            },
        );
    }

    /// The process of the current owner dies: effects not carried out are
    /// lost; an append in flight may or may not have reached the disk.
    fn crash(&mut self) {
        let Some(node) = self.node.take() else {
            return;
        };
        self.report.crashes += 1;
        if let Some(records) = node.persist {
            if self.rng.gen_bool(0.5) {
                let _ = self.store.append(&records, node.epoch);
            }
        }
        self.disconnect_generation(node.generation);
    }

    /// Every connection to activation `generation` ends (its process is gone).
    pub(crate) fn disconnect_generation(&mut self, generation: u64) {
        for dev in &mut self.devices {
            if dev
                .conn
                .and_then(|c| self.conns.get(&c))
                .is_some_and(|(_, g)| *g == generation)
            {
                dev.disconnect();
            }
        }
    }

    /// Another node takes the user without a handover (this one was thought
    /// dead): the old activation runs on until the store fences it.
    fn unplanned_move(&mut self) {
        if self.node.is_none() {
            return;
        }
        self.report.moves += 1;
        if let Some(old) = self.zombie.take() {
            // Only two at once in this model: the older one dies.
            self.disconnect_generation(old.generation);
        }
        self.zombie = self.node.take();
        self.activate(None);
    }

    fn device_act(&mut self, d: usize) {
        let online = self.devices[d].conn.is_some();
        let welcomed = self.devices[d].welcomed;
        let roll = self.rng.gen_range(0..100);
        if !online {
            if roll < 50 {
                self.connect(d);
            } else {
                let op = self.random_op(d);
                let seq = self.devices[d].next_seq();
                self.devices[d].outbox.push_back((seq, op));
            }
            return;
        }
        if !welcomed {
            return;
        }
        let Some(conn) = self.devices[d].conn else {
            return;
        };
        let Some(which) = self.conns.get(&conn).and_then(|(_, g)| self.which_for(*g)) else {
            return;
        };
        let id = self.devices[d].id.clone();
        match roll {
            0..=44 => {
                let op = self.random_op(d);
                let seq = self.devices[d].next_seq();
                self.devices[d].outbox.push_back((seq, op));
            }
            45..=54 => self.drop_conn(d, which),
            55..=59 if !self.devices[d].resync_pending => {
                self.devices[d].resync_pending = true;
                self.feed(which, Input::Resync { device: id, conn });
            }
            60..=66 if !self.devices[d].handoff_pending => {
                self.devices[d].handoff_pending = true;
                let target = format!("dev{}", self.rng.gen_range(0..self.devices.len()));
                let position_ms = self.rng.gen_range(0..100_000);
                let content = ContentId::parse(CONTENTS[0]).expect("valid content id");
                self.feed(
                    which,
                    Input::Handoff {
                        device: id,
                        request_id: format!("r{}", self.report.steps),
                        target,
                        content,
                        position_ms,
                    },
                );
            }
            67..=71 => self.feed(
                which,
                Input::Heartbeat {
                    device: id,
                    activity: None,
                },
            ),
            // Misbehaving within the protocol: a stale resend or a gap.
            72..=76 if self.devices[d].inflight < self.max_inflight => {
                // An op it already had acknowledged (resent with other
                // content), or one far past its next seq.
                let acked = self.devices[d].replica.next_seq(&id) - 1;
                let seq = if acked > 0 && self.rng.gen_bool(0.5) {
                    self.rng.gen_range(1..=acked)
                } else {
                    self.devices[d].next_seq() + 3
                };
                let op = self.random_op(d);
                self.devices[d].inflight += 1;
                self.feed(
                    which,
                    Input::Op {
                        device: id,
                        conn,
                        seq,
                        op,
                        mark: 0,
                    },
                );
            }
            _ => {}
        }
    }

    pub(crate) fn connect(&mut self, d: usize) {
        if self.node.is_none() {
            self.activate(None);
        }
        let Some(node) = &self.node else {
            return;
        };
        let generation = node.generation;
        let conn = self.next_conn;
        self.next_conn += 1;
        self.conns.insert(conn, (d, generation));
        let dev = &mut self.devices[d];
        dev.conn = Some(conn);
        let input = Input::Attach {
            device: dev.id.clone(),
            conn,
            hello: DeviceHello {
                kind: "tv".into(),
                name: String::new(),
                capabilities: Vec::new(),
            },
            vv: dev.replica.vv().clone(),
            ticket: conn,
        };
        self.feed(Which::Node, input);
    }

    /// Send the outbox head, one op at a time, as a client does.
    pub(crate) fn try_send(&mut self, d: usize) {
        let now = self.now_ms;
        let dev = &self.devices[d];
        let (Some(conn), true, false) = (dev.conn, dev.welcomed, dev.sent_head) else {
            return;
        };
        if dev.inflight >= self.max_inflight || now < dev.retry_at_ms {
            return;
        }
        let Some((seq, op)) = dev.outbox.front().cloned() else {
            return;
        };
        let Some(which) = self.conns.get(&conn).and_then(|(_, g)| self.which_for(*g)) else {
            return;
        };
        let id = dev.id.clone();
        let dev = &mut self.devices[d];
        dev.sent_head = true;
        dev.inflight += 1;
        self.feed(
            which,
            Input::Op {
                device: id,
                conn,
                seq,
                op,
                mark: 0,
            },
        );
    }

    pub(crate) fn device_read(&mut self, d: usize) {
        match self.devices[d].read() {
            Read::Nothing => {}
            Read::Acked { seq, .. } => {
                self.report.acks += 1;
                let id = self.devices[d].id.clone();
                if self.store.durable.vv().get(&id) < seq {
                    self.violate(format!("({id}, {seq}) acknowledged and not durable"));
                }
                self.acked.push((id, seq));
            }
            Read::RateLimited(ms) => self.devices[d].retry_at_ms = self.now_ms + ms,
            Read::Violation(v) => {
                let id = self.devices[d].id.clone();
                self.violate(format!("{id}: {v}"));
            }
        }
    }

    fn random_op(&mut self, d: usize) -> Op {
        let content = CONTENTS[self.rng.gen_range(0..CONTENTS.len())];
        let id = ContentId::parse(content).expect("valid content id");
        let dev = &self.devices[d];
        match self.rng.gen_range(0..3) {
            0 => Op::WatchlistAdd {
                content: id,
                added_at_ms: self.now_ms,
                observed: Vec::new(),
            },
            1 => Op::WatchlistRemove {
                content: id,
                observed: dev.dots.get(content).cloned().unwrap_or_default(),
            },
            _ => {
                let state = match self.rng.gen_range(0..3) {
                    0 => PlayState::Playing,
                    1 => PlayState::Paused,
                    _ => PlayState::Ended,
                };
                Op::Playback {
                    content: id,
                    position_ms: self.rng.gen_range(0..7_200_000),
                    duration_ms: 7_200_000,
                    state,
                    ts: Hlc::for_device(&dev.id, ntp(self.now_ms)),
                    lease: Some(dev.replica.lease_token()),
                    take_lease: self.rng.gen_bool(0.2),
                }
            }
        }
    }
}
