//! Device registry, presence timestamps and retirement of long-gone devices.

use super::{DeviceInfo, UserDoc, RETIRED_REPLICA};
use std::collections::BTreeMap;

impl UserDoc {
    /// Inserts or updates a device. An existing entry keeps its
    /// `first_seen_ms`, and `last_seen_ms` never goes backwards.
    pub fn register_device(&mut self, device: &str, mut info: DeviceInfo) {
        if let Some(old) = self.devices.get(device) {
            info.first_seen_ms = old.first_seen_ms;
            info.last_seen_ms = info.last_seen_ms.max(old.last_seen_ms);
        }
        self.devices.insert(device.to_owned(), info);
    }

    /// Records a sign of life from a registered device (unknown: no-op).
    pub fn touch_device(&mut self, device: &str, now_ms: u64) {
        if let Some(info) = self.devices.get_mut(device) {
            info.last_seen_ms = info.last_seen_ms.max(now_ms);
        }
    }

    /// The registry, by device id.
    pub fn devices(&self) -> &BTreeMap<String, DeviceInfo> {
        &self.devices
    }

    /// True if the device is registered or has ops applied.
    pub fn is_known(&self, device: &str) -> bool {
        self.devices.contains_key(device) || self.vv.get(device) > 0
    }

    /// Causal-stability housekeeping: the registered devices not in `keep` and
    /// unseen for at least `retire_after_ms`. Retire them by applying
    /// [`super::Control::RetireDevices`], so the retirement is logged.
    pub fn stale_devices(&self, now_ms: u64, retire_after_ms: u64, keep: &[&str]) -> Vec<String> {
        self.devices
            .iter()
            .filter(|(id, info)| {
                now_ms.saturating_sub(info.last_seen_ms) >= retire_after_ms
                    && !keep.contains(&id.as_str())
            })
            .map(|(id, _)| id.clone())
            .collect()
    }

    /// Retires `devices`: each one's registry entry and version-vector entry
    /// are dropped, its live watchlist dots are re-stamped as dots of
    /// [`RETIRED_REPLICA`] (so no dot references it any more), and a lease it
    /// holds is released. Later ops that name the old dots in `observed` still
    /// reach the re-stamped ones. A retired device that comes back starts again
    /// at seq 1 (it gets `seq_gap {expected: 1}` otherwise).
    pub(super) fn retire_devices(&mut self, devices: &[String]) {
        for id in devices {
            self.devices.remove(id);
            self.vv.remove(id);
            self.release_lease(id);
            for (old, new) in self.watchlist.restamp(id, RETIRED_REPLICA) {
                // A dot re-stamped twice keeps pointing at its live dot.
                for target in self.retired_dots.values_mut() {
                    if *target == old {
                        *target = new.clone();
                    }
                }
                self.retired_dots.insert(old, new);
            }
            let top = self.watchlist.context().vv().get(RETIRED_REPLICA);
            self.vv.observe(RETIRED_REPLICA, top);
        }
    }
}
