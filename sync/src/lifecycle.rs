//! The work that waits for a quiet pipeline, and how an activation ends:
//! passivation when idle, graceful shutdown, release to another node.

use crate::config::millis;
use crate::effect::{Effect, StopReason};
use crate::machine::{Deferred, Ending, UserSync};
use crate::warm::WarmState;

impl UserSync {
    /// Run what waited for a quiet pipeline: deferred reads and snapshots,
    /// a pending release or shutdown, a due snapshot save.
    pub(crate) fn when_idle(&mut self) {
        if !self.commits.is_idle() {
            return;
        }
        for job in std::mem::take(&mut self.deferred) {
            match job {
                Deferred::Read { ticket } => {
                    let view = Box::new(self.view());
                    self.emit(Effect::Read { ticket, view });
                }
                Deferred::Snapshot { device, conn } => self.send_snapshot(&device, conn),
            }
        }
        match self.ending.take() {
            Some(Ending::Release { ticket }) => {
                let save = self.final_snapshot();
                let (window_base, window) = self.window.export();
                let warm = self.doc.to_snapshot_bytes().ok().map(|snapshot| {
                    Box::new(WarmState {
                        user: self.user.clone(),
                        version: self.doc.version(),
                        snapshot,
                        window,
                        window_base,
                    })
                });
                metrics::counter!("baton_user_releases_total").increment(1);
                self.stop(save, StopReason::Released { ticket, warm });
            }
            Some(Ending::Shutdown { ticket }) => {
                let save = self.final_snapshot();
                self.stop(save, StopReason::Shutdown { ticket });
            }
            Some(Ending::Erase { ticket }) if self.snapshot_saving => {
                // Wait for the save in flight (its answer comes back as an input).
                self.ending = Some(Ending::Erase { ticket });
            }
            Some(Ending::Erase { ticket }) => self.stop(None, StopReason::Erased { ticket }),
            None => self.maybe_snapshot(),
        }
    }

    pub(crate) fn idle_expired(&self) -> bool {
        self.devices.is_empty()
            && self.commits.is_idle()
            && self.deferred.is_empty()
            && self.now.ms.saturating_sub(self.idle_since_ms) >= millis(self.cfg.idle_passivate)
    }

    pub(crate) fn passivate(&mut self) {
        let save = self.final_snapshot();
        metrics::counter!("baton_user_passivations_total").increment(1);
        self.stop(save, StopReason::Passivated);
    }
}
