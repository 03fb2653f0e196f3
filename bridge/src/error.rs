//! The bridge's error type.

/// Why the bridge could not start. Once running, the bridge reports failures
/// through metrics and logs and retries; nothing in Baton's state is touched
/// by any of these.
#[derive(Debug, thiserror::Error)]
pub enum BridgeError {
    /// A configuration value is unusable; names the key.
    #[error("pubnub.{key}: {message}")]
    Config {
        /// The configuration key (kebab-case).
        key: &'static str,
        /// What is wrong with it.
        message: String,
    },
    /// The PubNub client refused its configuration.
    #[error("pubnub client: {0}")]
    Client(#[from] pubnub::core::PubNubError),
}
