//! The subscription: one long-poll on `{prefix}user.*` (PubNub wildcard
//! subscribe) through the `pubnub` client's raw subscription, which keeps its
//! timetoken cursor across failed polls, so messages published while PubNub
//! was unreachable from here are fetched when it answers again. Failures are
//! retried with backoff, forever.
//!
//! Each message: skipped when published by the bridge (its `uuid`, or
//! `origin: "baton"` in meta or body), when not on a `.sync` channel, or when
//! this node does not ingest the user; otherwise parsed as an
//! [`Envelope`], its token verified (user must be the channel's, device the
//! envelope's), and its frame handed to the device's virtual session.

use std::sync::Arc;

use baton_actors::protocol::ErrorFrame;
use baton_actors::{DeviceIdentity, Hub};
use baton_auth::Verifier;
use futures_util::StreamExt;
use pubnub::subscribe::{Message, Update};
use serde_json::Value;

use crate::channels::Channels;
use crate::client::Client;
use crate::config::BridgeConfig;
use crate::envelope::{Envelope, Skip};
use crate::retry::Backoff;
use crate::sessions::Sessions;

/// The inbound side (its task is [`Inbound::run`]).
pub(crate) struct Inbound {
    pub(crate) client: Client,
    pub(crate) channels: Channels,
    pub(crate) sessions: Arc<Sessions>,
    pub(crate) verifier: Verifier,
    pub(crate) hub: Hub,
    pub(crate) cfg: Arc<BridgeConfig>,
}

impl Inbound {
    /// Subscribe and handle messages until the task is aborted.
    pub(crate) async fn run(self) {
        let mut backoff = Backoff::new(&self.cfg.retry);
        loop {
            let subscription = self
                .client
                .subscribe_raw()
                .channels(vec![self.channels.wildcard()])
                .execute();
            let subscription = match subscription {
                Ok(s) => s,
                Err(err) => {
                    tracing::error!(error = %err, "pubnub subscription refused");
                    return;
                }
            };
            let mut updates = subscription.stream().boxed();
            while let Some(update) = updates.next().await {
                match update {
                    Ok(Update::Message(msg)) => {
                        backoff.reset();
                        self.handle(msg).await;
                    }
                    Ok(_) => backoff.reset(),
                    Err(err) => {
                        metrics::counter!("baton_pubnub_subscribe_errors_total").increment(1);
                        let delay = backoff.next_delay(false).unwrap_or(self.cfg.retry.max);
                        tracing::warn!(error = %err, ?delay, "pubnub subscribe failed; retrying");
                        tokio::time::sleep(delay).await;
                    }
                }
            }
        }
    }

    async fn handle(&self, msg: Message) {
        if msg.sender.as_deref() == Some(self.cfg.bridge_uuid.as_str())
            || msg
                .user_metadata
                .as_ref()
                .and_then(|m| m.get("origin"))
                .and_then(Value::as_str)
                == Some("baton")
        {
            return skipped("own");
        }
        let Some(user) = self.channels.sync_user(&msg.channel) else {
            return skipped("channel");
        };
        if self.hub.route(user) != baton_actors::Route::Local {
            return skipped("placement");
        }
        let payload: Value = match serde_json::from_slice(&msg.data) {
            Ok(v) => v,
            Err(_) => return skipped("not_json"),
        };
        let envelope = match Envelope::parse(&payload) {
            Ok(e) => e,
            Err(Skip::OwnMessage) => return skipped("own"),
            Err(Skip::Invalid(why)) => {
                // Answer on the device channel when the payload names a device.
                if let Some(device) = payload.get("device").and_then(Value::as_str) {
                    self.sessions.send_error(
                        user,
                        device,
                        ErrorFrame::new("invalid_frame", format!("not a device envelope: {why}")),
                    );
                }
                return skipped("invalid");
            }
        };
        metrics::counter!("baton_pubnub_inbound_total").increment(1);
        let ident = match self.authenticate(user, &envelope).await {
            Ok(ident) => ident,
            Err((device, err)) => {
                if let Some(device) = device {
                    self.sessions.send_error(user, &device, err);
                }
                return skipped("auth");
            }
        };
        let text = envelope.frame_text();
        if envelope.frame_type() == Some("hello") {
            self.sessions.open(ident, text);
        } else {
            self.sessions.feed(&ident.user, &ident.device, text);
        }
    }

    /// The device identity proven by the envelope's token, or the device to
    /// tell (if known) and why not.
    async fn authenticate(
        &self,
        user: &str,
        envelope: &Envelope,
    ) -> Result<DeviceIdentity, (Option<String>, ErrorFrame)> {
        let claimed = envelope.device.clone();
        let principal = self
            .verifier
            .verify(&envelope.token)
            .map_err(|e| (claimed.clone(), ErrorFrame::new(e.code(), e.to_string())))?;
        let Some(device) = principal.device.clone() else {
            return Err((
                claimed,
                ErrorFrame::new("forbidden", "a PubNub device needs a device token"),
            ));
        };
        if principal.user != user {
            return Err((
                None,
                ErrorFrame::new("forbidden", "the token's user does not own this channel"),
            ));
        }
        if claimed.as_deref().is_some_and(|c| c != device) {
            return Err((
                Some(device),
                ErrorFrame::new("forbidden", "envelope device differs from the token's"),
            ));
        }
        if let Some(jti) = &principal.jti {
            if self.hub.shared().is_revoked(jti).await {
                return Err((Some(device), ErrorFrame::new("revoked", "token revoked")));
            }
        }
        Ok(principal.device_identity(device))
    }
}

fn skipped(reason: &'static str) {
    metrics::counter!("baton_pubnub_inbound_skipped_total", "reason" => reason).increment(1);
}
