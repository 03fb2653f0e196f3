//! `Hlc`: hybrid logical clock timestamps on the wire, and the skew bound.

use crate::CrdtError;
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use std::fmt;
use std::num::NonZeroU128;
use std::str::FromStr;
use std::time::Duration;
use uhlc::{Timestamp, ID, NTP64};

/// A `uhlc` timestamp, serialized as uhlc's text form `"<ntp64>/<id hex>"`,
/// e.g. `"7386690599959157260/33"`. Ordered by time, then replica id.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Hlc(pub Timestamp);

impl Hlc {
    /// Timestamp at `time` issued by replica `id`.
    pub fn new(time: NTP64, id: ID) -> Self {
        Hlc(Timestamp::new(time, id))
    }

    /// The device's timestamp at `time` (id from [`hlc_id_for`]).
    pub fn for_device(device: &str, time: NTP64) -> Self {
        Hlc::new(time, hlc_id_for(device))
    }

    /// The physical+logical time part.
    pub fn time(&self) -> NTP64 {
        *self.0.get_time()
    }

    /// The issuing replica's id.
    pub fn id(&self) -> ID {
        *self.0.get_id()
    }
}

/// The HLC id a device must stamp its timestamps with: FNV-1a 128 of the
/// device id (never zero, 16 bytes max). Devices learn it in the welcome.
pub fn hlc_id_for(device: &str) -> ID {
    const OFFSET: u128 = 0x6c62272e07bb014262b821756295c58d;
    const PRIME: u128 = 0x0000000001000000000000000000013B;
    let mut h = OFFSET;
    for b in device.bytes() {
        h ^= u128::from(b);
        h = h.wrapping_mul(PRIME);
    }
    ID::from(NonZeroU128::new(h).unwrap_or(NonZeroU128::MIN))
}

/// Converts a duration to NTP64 units, saturating instead of panicking.
pub fn duration_to_ntp64(d: Duration) -> u64 {
    let secs = d.as_secs().min(u64::from(u32::MAX));
    let frac = (u64::from(d.subsec_nanos()) << 32) / 1_000_000_000;
    (secs << 32) | frac
}

/// Milliseconds since the epoch of an NTP64 time.
pub fn ntp64_to_ms(t: NTP64) -> u64 {
    let secs = t.0 >> 32;
    let frac_ms = ((t.0 & 0xFFFF_FFFF) * 1000) >> 32;
    secs * 1000 + frac_ms
}

impl fmt::Display for Hlc {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.0)
    }
}

impl FromStr for Hlc {
    type Err = CrdtError;
    fn from_str(s: &str) -> Result<Self, CrdtError> {
        // uhlc's FromStr has no error Display for every case; keep ours short.
        Timestamp::from_str(s)
            .map(Hlc)
            .map_err(|e| CrdtError::BadTimestamp {
                reason: format!("{s:?} is not <ntp64>/<hex id>: {e:?}"),
            })
    }
}

impl Serialize for Hlc {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(&self.0)
    }
}

impl<'de> Deserialize<'de> for Hlc {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = <std::borrow::Cow<'de, str>>::deserialize(d)?;
        s.parse().map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn text_form_round_trips() {
        let h = Hlc::for_device("tv-1", NTP64(7386690599959157260));
        let j = serde_json::to_string(&h).unwrap();
        assert!(j.starts_with("\"7386690599959157260/"), "{j}");
        assert_eq!(serde_json::from_str::<Hlc>(&j).unwrap(), h);
        assert!(serde_json::from_str::<Hlc>("\"12\"").is_err());
        assert!(serde_json::from_str::<Hlc>("\"x/1\"").is_err());
        assert!(serde_json::from_str::<Hlc>("\"1/0\"").is_err());
    }

    #[test]
    fn ids_are_deterministic_and_distinct() {
        assert_eq!(hlc_id_for("tv-1"), hlc_id_for("tv-1"));
        assert_ne!(hlc_id_for("tv-1"), hlc_id_for("tv-2"));
        assert!(hlc_id_for("").size() <= 16);
    }

    #[test]
    fn conversions() {
        assert_eq!(duration_to_ntp64(Duration::from_secs(5)), 5u64 << 32);
        assert_eq!(duration_to_ntp64(Duration::MAX) >> 32, u64::from(u32::MAX));
        assert_eq!(ntp64_to_ms(NTP64((3u64 << 32) | (1u64 << 31))), 3500);
    }
}
