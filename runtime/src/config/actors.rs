//! `[actors]`: life cycle of the per-user actors.

use serde::{Deserialize, Serialize};

use super::check::Checker;

/// Per-user actor settings.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case", deny_unknown_fields, default)]
pub struct ActorsSection {
    /// Seconds without a connected device before a user actor is passivated.
    pub idle_passivate_secs: u64,
    /// User actors kept live at once.
    pub max_live_users: usize,
    /// Days without contact after which a device is retired.
    pub retire_devices_after_days: u64,
    /// Operations between two snapshots of a user's document.
    pub snapshot_every_ops: u64,
    /// Operations kept in the log (for catching up devices) after a snapshot.
    pub log_retention_ops: u64,
}

impl ActorsSection {
    /// The defaults.
    pub const fn new() -> Self {
        ActorsSection {
            idle_passivate_secs: 60,
            max_live_users: 100_000,
            retire_devices_after_days: 90,
            snapshot_every_ops: 200,
            log_retention_ops: 1_000,
        }
    }

    pub(super) fn check(&self, c: &mut Checker) {
        c.at_least("actors.idle-passivate-secs", self.idle_passivate_secs, 1);
        c.at_least("actors.max-live-users", self.max_live_users, 1);
        c.at_least(
            "actors.retire-devices-after-days",
            self.retire_devices_after_days,
            1,
        );
        c.at_least("actors.snapshot-every-ops", self.snapshot_every_ops, 1);
        c.at_least(
            "actors.log-retention-ops",
            self.log_retention_ops,
            self.snapshot_every_ops,
        );
    }
}

impl Default for ActorsSection {
    fn default() -> Self {
        Self::new()
    }
}
