//! Changes the server makes to a user's state on its own: a device registering,
//! the lease moving on a handoff or released when its holder goes offline, and
//! long-gone devices retired. They are log records like device ops (written under
//! the reserved replica [`SERVER_REPLICA`]), so each one is durable before any
//! device hears of it, and `snapshot + replay(log)` rebuilds them after a crash.

use super::{DeviceInfo, Lease, UserDoc};
use crate::CrdtError;
use serde::{Deserialize, Serialize};

/// Reserved replica under which control records are logged. Device ids
/// starting with `~` are refused, so no device can collide.
pub const SERVER_REPLICA: &str = "~server";

/// A server-side change of a user's state, as logged.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case", deny_unknown_fields)]
pub enum Control {
    /// A device registered, or changed how it describes itself.
    RegisterDevice {
        /// Device id.
        device: String,
        /// Its description as registered.
        info: DeviceInfo,
    },
    /// The lease moved to `to` with fencing token `token` (a handoff).
    LeaseMove {
        /// The new holder.
        to: String,
        /// The new token: greater than every token handed out before.
        token: u64,
    },
    /// The lease of `device` was released (it went offline).
    LeaseRelease {
        /// The holder that let go.
        device: String,
    },
    /// Devices retired by causal-stability housekeeping
    /// ([`UserDoc::stale_devices`]).
    RetireDevices {
        /// Retired device ids.
        devices: Vec<String>,
    },
}

/// A control record with its log position.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LoggedControl {
    /// Document version after this record.
    pub version: u64,
    /// Server time of the change (ms since epoch).
    pub at_ms: u64,
    /// The change.
    pub change: Control,
}

impl UserDoc {
    /// The record that moves the lease to `to` with the next token (a handoff).
    /// Nothing changes until it is applied.
    pub fn lease_move_to(&self, to: &str) -> Control {
        Control::LeaseMove {
            to: to.to_owned(),
            token: self.lease_token + 1,
        }
    }

    /// The record that releases the lease, if `device` holds it.
    pub fn lease_release_by(&self, device: &str) -> Option<Control> {
        self.lease
            .as_ref()
            .filter(|l| l.device == device)
            .map(|_| Control::LeaseRelease {
                device: device.to_owned(),
            })
    }

    /// The record that registers `device` as described, or `None` when the
    /// registry already says exactly that (presence times aside).
    pub fn registration(&self, device: &str, info: DeviceInfo) -> Option<Control> {
        let same = self.devices.get(device).is_some_and(|old| {
            old.kind == info.kind && old.name == info.name && old.capabilities == info.capabilities
        });
        (!same).then(|| Control::RegisterDevice {
            device: device.to_owned(),
            info,
        })
    }

    /// Applies a control record as the next log version (live, or replayed
    /// from the log). Validates first: a lease token that does not grow, or a
    /// reserved device id, is refused and leaves the document untouched.
    pub fn apply_control(
        &mut self,
        change: &Control,
        at_ms: u64,
    ) -> Result<LoggedControl, CrdtError> {
        match change {
            Control::RegisterDevice { device, info } => {
                super::apply::check_device(device)?;
                self.register_device(device, info.clone());
            }
            Control::LeaseMove { to, token } => {
                super::apply::check_device(to)?;
                if *token <= self.lease_token {
                    return Err(CrdtError::InvalidOp {
                        reason: format!(
                            "lease token {token} does not grow past {}",
                            self.lease_token
                        ),
                    });
                }
                self.lease_token = *token;
                self.lease = Some(Lease {
                    device: to.clone(),
                    token: *token,
                });
            }
            Control::LeaseRelease { device } => {
                self.release_lease(device);
            }
            Control::RetireDevices { devices } => self.retire_devices(devices),
        }
        self.version += 1;
        Ok(LoggedControl {
            version: self.version,
            at_ms,
            change: change.clone(),
        })
    }
}
