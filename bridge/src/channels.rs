//! PubNub channel names of a user, under the configured prefix:
//! `{prefix}user.{id}.sync`, `.watchlist`, `.playback`, `.devices`, and
//! `{prefix}user.{id}.device.{device}` for one PubNub device's session.

/// The typed channels besides `.sync`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Topic {
    /// `user.{id}.watchlist`
    Watchlist,
    /// `user.{id}.playback`
    Playback,
    /// `user.{id}.devices`
    Devices,
}

impl Topic {
    fn suffix(self) -> &'static str {
        match self {
            Topic::Watchlist => "watchlist",
            Topic::Playback => "playback",
            Topic::Devices => "devices",
        }
    }
}

/// Channel naming under one prefix.
#[derive(Debug, Clone)]
pub struct Channels {
    prefix: String,
}

impl Channels {
    /// Channels under `prefix` (may be empty).
    pub fn new(prefix: &str) -> Self {
        Channels {
            prefix: prefix.to_owned(),
        }
    }

    /// `{prefix}user.{user}.sync`: every delta, and where devices publish.
    pub fn sync(&self, user: &str) -> String {
        format!("{}user.{user}.sync", self.prefix)
    }

    /// `{prefix}user.{user}.{topic}`.
    pub fn typed(&self, user: &str, topic: Topic) -> String {
        format!("{}user.{user}.{}", self.prefix, topic.suffix())
    }

    /// `{prefix}user.{user}.device.{device}`: one PubNub device's session frames.
    pub fn device(&self, user: &str, device: &str) -> String {
        format!("{}user.{user}.device.{device}", self.prefix)
    }

    /// `{prefix}user.*`: what the bridge subscribes to.
    pub fn wildcard(&self) -> String {
        format!("{}user.*", self.prefix)
    }

    /// The user of a `.sync` channel, or `None` for any other channel.
    pub fn sync_user<'a>(&self, channel: &'a str) -> Option<&'a str> {
        let user = channel
            .strip_prefix(self.prefix.as_str())?
            .strip_prefix("user.")?
            .strip_suffix(".sync")?;
        (!user.is_empty()).then_some(user)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_and_parsing() {
        let c = Channels::new("prod.");
        assert_eq!(c.sync("alice"), "prod.user.alice.sync");
        assert_eq!(
            c.typed("alice", Topic::Playback),
            "prod.user.alice.playback"
        );
        assert_eq!(c.device("alice", "tv"), "prod.user.alice.device.tv");
        assert_eq!(c.wildcard(), "prod.user.*");
        assert_eq!(c.sync_user("prod.user.alice.sync"), Some("alice"));
        assert_eq!(c.sync_user("prod.user.alice.watchlist"), None);
        assert_eq!(c.sync_user("user.alice.sync"), None);
        assert_eq!(c.sync_user("prod.user..sync"), None);
    }
}
