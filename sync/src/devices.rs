//! The connected devices of one user, in device-id order.
//!
//! A sorted `Vec` rather than a `BTreeMap`: iteration stays deterministic (a
//! seed replays exactly), and a user has a handful of devices, so a lookup is
//! a short binary search. A `BTreeMap` allocates a whole leaf node (eleven
//! slots, ~800 bytes here) for the first entry; this holds what it holds.

use crate::machine::Live;

/// Device id -> its live connection, sorted by device id.
#[derive(Default)]
pub(crate) struct LiveDevices(Vec<(String, Live)>);

impl LiveDevices {
    fn find(&self, device: &str) -> Result<usize, usize> {
        self.0.binary_search_by(|(d, _)| d.as_str().cmp(device))
    }

    /// Insert or replace; the replaced entry is returned.
    pub(crate) fn insert(&mut self, device: String, live: Live) -> Option<Live> {
        match self.find(&device) {
            Ok(i) => Some(std::mem::replace(&mut self.0[i].1, live)),
            Err(i) => {
                self.0.insert(i, (device, live));
                None
            }
        }
    }

    pub(crate) fn remove(&mut self, device: &str) -> Option<Live> {
        let i = self.find(device).ok()?;
        let (_, live) = self.0.remove(i);
        if self.0.is_empty() {
            // An idle user keeps no allocation.
            self.0 = Vec::new();
        }
        Some(live)
    }

    pub(crate) fn get(&self, device: &str) -> Option<&Live> {
        self.find(device).ok().map(|i| &self.0[i].1)
    }

    pub(crate) fn get_mut(&mut self, device: &str) -> Option<&mut Live> {
        self.find(device).ok().map(|i| &mut self.0[i].1)
    }

    pub(crate) fn contains_key(&self, device: &str) -> bool {
        self.find(device).is_ok()
    }

    pub(crate) fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    pub(crate) fn len(&self) -> usize {
        self.0.len()
    }

    pub(crate) fn iter(&self) -> impl Iterator<Item = (&String, &Live)> {
        self.0.iter().map(|(d, l)| (d, l))
    }

    pub(crate) fn keys(&self) -> impl Iterator<Item = &String> {
        self.0.iter().map(|(d, _)| d)
    }

    pub(crate) fn values(&self) -> impl Iterator<Item = &Live> {
        self.0.iter().map(|(_, l)| l)
    }
}

impl IntoIterator for LiveDevices {
    type Item = (String, Live);
    type IntoIter = std::vec::IntoIter<(String, Live)>;

    fn into_iter(self) -> Self::IntoIter {
        self.0.into_iter()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn live(conn: u64) -> Live {
        Live {
            conn,
            activity: None,
        }
    }

    #[test]
    fn keeps_device_id_order_and_replaces_in_place() {
        let mut d = LiveDevices::default();
        assert!(d.insert("tv".into(), live(1)).is_none());
        assert!(d.insert("mobile".into(), live(2)).is_none());
        assert!(d.insert("web".into(), live(3)).is_none());
        assert_eq!(d.insert("tv".into(), live(4)).map(|l| l.conn), Some(1));
        let order: Vec<(&str, u64)> = d.iter().map(|(k, l)| (k.as_str(), l.conn)).collect();
        assert_eq!(order, [("mobile", 2), ("tv", 4), ("web", 3)]);
        assert_eq!(d.len(), 3);
        assert!(d.contains_key("web") && !d.contains_key("car"));
        assert_eq!(d.remove("mobile").map(|l| l.conn), Some(2));
        assert!(d.remove("mobile").is_none());
        assert_eq!(d.get("tv").map(|l| l.conn), Some(4));
    }

    #[test]
    fn an_emptied_map_releases_its_allocation() {
        let mut d = LiveDevices::default();
        d.insert("tv".into(), live(1));
        d.remove("tv");
        assert!(d.is_empty());
        assert_eq!(d.0.capacity(), 0);
    }
}
