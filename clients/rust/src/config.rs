//! How a [`crate::Client`] reaches the node and who it is: the node's URL,
//! the device's `hello`, backoff and timeouts, and the token provider.

use std::future::Future;
use std::pin::Pin;
use std::time::Duration;

use baton_protocol::DeviceHello;

use crate::backoff::Backoff;

/// A boxed token future.
pub type TokenFuture = Pin<Box<dyn Future<Output = Result<String, String>> + Send>>;

/// Supplies the device's JWT. Called before every connection attempt, so
/// returning a fresh token when the last one is near its `exp` is all a
/// refresh takes (the server closes a socket with 1008 when its token ends).
pub trait TokenProvider: Send + Sync + 'static {
    /// A token for the next connection.
    fn token(&self) -> TokenFuture;
}

impl<F, Fut> TokenProvider for F
where
    F: Fn() -> Fut + Send + Sync + 'static,
    Fut: Future<Output = Result<String, String>> + Send + 'static,
{
    fn token(&self) -> TokenFuture {
        Box::pin(self())
    }
}

/// How to reach the node and who this device is.
#[derive(Debug, Clone)]
pub struct ClientConfig {
    /// `ws://host:port/v1/sync` (or `wss://` behind TLS).
    pub url: String,
    /// This device's id (the token's `device` claim).
    pub device: String,
    /// How the device describes itself in `hello`.
    pub hello: DeviceHello,
    /// Reconnect delays.
    pub backoff: Backoff,
    /// Connect (TCP + upgrade) timeout.
    pub connect_timeout: Duration,
    /// Heartbeat period; `None`: `welcome.limits.heartbeat_interval_secs`.
    pub heartbeat: Option<Duration>,
}

impl ClientConfig {
    /// Defaults for `device` at `url` (kind `other`, name = the id).
    pub fn new(url: impl Into<String>, device: impl Into<String>) -> Self {
        let device = device.into();
        ClientConfig {
            url: url.into(),
            hello: DeviceHello {
                kind: "other".into(),
                name: device.clone(),
                capabilities: Vec::new(),
            },
            device,
            backoff: Backoff::default(),
            connect_timeout: Duration::from_secs(10),
            heartbeat: None,
        }
    }

    /// Sets the device kind (`tv`, `mobile`, `web`, ...).
    pub fn kind(mut self, kind: &str) -> Self {
        kind.clone_into(&mut self.hello.kind);
        self
    }
}
