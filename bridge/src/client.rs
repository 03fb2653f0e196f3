//! The `pubnub` client over reqwest, pointed at the configured origin, and
//! one publish with a timeout.

use std::collections::HashMap;

use pubnub::core::PubNubError;
use pubnub::providers::deserialization_serde::DeserializerSerde;
use pubnub::transport::TransportReqwest;
use pubnub::{Keyset, PubNubClientBuilder, PubNubGenericClient, RequestRetryConfiguration};

use crate::config::BridgeConfig;
use crate::error::BridgeError;

/// The client type the bridge uses.
pub(crate) type Client = PubNubGenericClient<TransportReqwest, DeserializerSerde>;

/// Build the client. Its own retries are off: the bridge retries with its
/// own policy so that it can keep per-user order and count drops.
pub(crate) fn build(cfg: &BridgeConfig) -> Result<Client, BridgeError> {
    let mut transport = TransportReqwest::new();
    transport.set_hostname(cfg.base_url());
    let client = PubNubClientBuilder::with_transport(transport)
        .with_keyset(Keyset {
            subscribe_key: cfg.subscribe_key.clone(),
            publish_key: Some(cfg.publish_key.clone()),
            secret_key: cfg.secret_key.clone(),
        })
        .with_user_id(cfg.bridge_uuid.clone())
        .with_retry_configuration(RequestRetryConfiguration::None)
        .build()?;
    Ok(client)
}

/// Why one publish attempt failed.
#[derive(Debug, thiserror::Error)]
pub(crate) enum PublishError {
    /// PubNub answered with an error or could not be reached.
    #[error(transparent)]
    PubNub(#[from] PubNubError),
    /// No answer within the request timeout.
    #[error("publish timed out")]
    Timeout,
}

/// Publish `body` once to `channel`, marked as coming from Baton (`meta.origin`).
pub(crate) async fn publish(
    client: &Client,
    cfg: &BridgeConfig,
    channel: &str,
    body: &serde_json::Value,
    store: bool,
) -> Result<(), PublishError> {
    let meta = HashMap::from([("origin".to_owned(), "baton".to_owned())]);
    let request = client
        .publish_message(body.clone())
        .channel(channel)
        .store(store)
        .meta(meta)
        .execute();
    match tokio::time::timeout(cfg.request_timeout, request).await {
        Ok(Ok(_)) => Ok(()),
        Ok(Err(err)) => Err(err.into()),
        Err(_) => Err(PublishError::Timeout),
    }
}
