//! The playback lease: which device currently "owns" playback. Tokens only
//! grow, so a device acting on an old grant is fenced off (`stale_lease`).

use super::{Lease, UserDoc};
use crate::{CrdtError, PlayState};

impl UserDoc {
    /// Current holder, if any.
    pub fn lease(&self) -> Option<&Lease> {
        self.lease.as_ref()
    }

    /// Last token handed out (0 if never).
    pub fn lease_token(&self) -> u64 {
        self.lease_token
    }

    /// Releases the lease if `device` holds it. Returns whether it did.
    /// Reached through [`super::Control::LeaseRelease`], an ended playback op
    /// or retirement, all of them logged.
    pub(super) fn release_lease(&mut self, device: &str) -> bool {
        if self.lease.as_ref().is_some_and(|l| l.device == device) {
            self.lease = None;
            true
        } else {
            false
        }
    }

    /// Lease rules of a live playback op; mutates nothing.
    pub(super) fn check_lease(
        &self,
        device: &str,
        presented: Option<u64>,
        take_lease: bool,
    ) -> Result<(), CrdtError> {
        if presented.is_some_and(|t| t < self.lease_token) {
            return Err(CrdtError::StaleLease {
                current: self.lease_token,
            });
        }
        match &self.lease {
            Some(l) if l.device != device && !take_lease => Err(CrdtError::LeaseHeld {
                holder: l.device.clone(),
            }),
            _ => Ok(()),
        }
    }

    /// Lease effect of an accepted playback op: `take_lease` (or `Playing`
    /// while nobody holds it) grants the lease to the device with token+1;
    /// `Ended` from the holder releases it. Taking a lease one already holds
    /// changes nothing.
    pub(super) fn lease_effect(&mut self, device: &str, state: PlayState, take_lease: bool) {
        let holds = self.lease.as_ref().is_some_and(|l| l.device == device);
        if (take_lease && !holds) || (self.lease.is_none() && state == PlayState::Playing) {
            self.grant(device);
        }
        if state == PlayState::Ended {
            self.release_lease(device);
        }
    }

    fn grant(&mut self, to: &str) {
        self.lease_token += 1;
        let lease = Lease {
            device: to.to_owned(),
            token: self.lease_token,
        };
        self.lease = Some(lease);
    }
}
