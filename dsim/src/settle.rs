//! The end of a run: faults stop, every device comes back, everything in
//! flight completes; then the final invariants.

use crate::effects::Which;
use crate::world::World;

/// Rounds of the final quiescence before a run counts as stuck.
const MAX_ROUNDS: usize = 20_000;

impl World {
    /// Run until nothing moves, with every device online.
    pub(crate) fn settle(&mut self) {
        // The old owner learns it lost the user (the rebalancer's job).
        if self.zombie.is_some() {
            self.feed(Which::Zombie, baton_sync::Input::Fenced);
            while self.run_effect(Which::Zombie) {}
            if let Some(old) = self.zombie.take() {
                self.disconnect_generation(old.generation);
            }
        }
        let mut quiet_rounds = 0;
        for _ in 0..MAX_ROUNDS {
            self.report.steps += 1;
            let moved = self.settle_round();
            if moved {
                quiet_rounds = 0;
                continue;
            }
            // Devices waiting out a rate limit: let time pass.
            let waiting = self.devices.iter().any(|d| !d.outbox.is_empty());
            if waiting {
                self.now_ms += 1_000;
                quiet_rounds += 1;
                if quiet_rounds < 100 {
                    continue;
                }
            }
            return;
        }
        self.violate("the run does not settle".into());
    }

    fn settle_round(&mut self) -> bool {
        let mut moved = false;
        while self.run_effect(Which::Node) {
            moved = true;
        }
        if self.node.as_ref().is_some_and(|n| n.persist.is_some()) {
            self.complete_persist(Which::Node, false);
            moved = true;
        }
        if self.node.as_ref().is_some_and(|n| n.saving.is_some()) {
            self.complete_save(Which::Node);
            moved = true;
        }
        for d in 0..self.devices.len() {
            if self.devices[d].conn.is_none() {
                self.connect(d);
                moved = true;
            }
            while !self.devices[d].inbox.is_empty() {
                self.device_read(d);
                moved = true;
            }
            let before = self.devices[d].outbox.len();
            self.try_send(d);
            moved |= self.devices[d].sent_head && before > 0 && self.node_has_work();
        }
        moved
    }

    fn node_has_work(&self) -> bool {
        self.node.as_ref().is_some_and(|n| !n.queue.is_empty())
    }

    /// Every device resumes once more and reads everything; then the state
    /// each holds must be the durable state, and every ack durable.
    pub(crate) fn final_checks(&mut self) {
        for d in 0..self.devices.len() {
            if self.devices[d].conn.is_some() {
                if let Some(which) = self.devices[d]
                    .conn
                    .and_then(|c| self.conns.get(&c))
                    .and_then(|(_, g)| self.which_for(*g))
                {
                    self.drop_conn(d, which);
                }
            }
        }
        self.settle();
        let durable = &self.store.durable;
        let want = (
            format!("{:?}", durable.watchlist()),
            format!("{:?}", durable.playback()),
            durable.preferences_json(),
        );
        let mut broken = Vec::new();
        if let Some(node) = &self.node {
            if node.sync.uncommitted() != 0 {
                broken.push(format!(
                    "{} records never committed",
                    node.sync.uncommitted()
                ));
            }
            if node.sync.doc().version() != durable.version() {
                broken.push(format!(
                    "the node is at {} and the store at {}",
                    node.sync.doc().version(),
                    durable.version()
                ));
            }
        }
        for dev in &self.devices {
            if !dev.outbox.is_empty() {
                broken.push(format!(
                    "{}: {} ops never acknowledged (conn {:?}, welcomed {}, sent {}, in flight {}, \
                     retry at {} (now {}), seqs {:?}, replica next seq {})",
                    dev.id,
                    dev.outbox.len(),
                    dev.conn,
                    dev.welcomed,
                    dev.sent_head,
                    dev.inflight,
                    dev.retry_at_ms,
                    self.now_ms,
                    dev.outbox.iter().map(|(s, _)| *s).collect::<Vec<_>>(),
                    dev.replica.next_seq(&dev.id),
                ));
            }
            let got = (
                format!("{:?}", dev.replica.watchlist()),
                format!("{:?}", dev.replica.playback()),
                dev.replica.preferences_json(),
            );
            if got != want {
                broken.push(format!(
                    "{} diverged from the server:\n  device {got:?}\n  server {want:?}",
                    dev.id
                ));
            }
        }
        for (id, seq) in &self.acked {
            if durable.vv().get(id) < *seq {
                broken.push(format!("acknowledged ({id}, {seq}) was lost"));
            }
        }
        self.report.log_len = self.store.log.len();
        for b in broken {
            self.violate(b);
        }
    }

    /// Checked after every step: what one user may hold stays bounded.
    pub(crate) fn check_bounds(&mut self) {
        let devices = self.devices.len();
        let Some(node) = &self.node else {
            return;
        };
        let window = node.sync.window_len();
        let retention = self.cfg.log_retention_ops as usize;
        // Each device: its ops in flight, a registration, a lease release and
        // a handoff; plus the activation's own release and a retirement.
        let bound = devices * (self.max_inflight + 3) + 2;
        let uncommitted = node.sync.uncommitted();
        if window > retention {
            self.violate(format!("catch-up window {window} > retention {retention}"));
        }
        if uncommitted > bound {
            self.violate(format!(
                "{uncommitted} records wait for commit (bound {bound})"
            ));
        }
    }
}
