//! Keeping a JWKS fetched from a URL fresh.
//!
//! A background task owns the `watch::Sender` of the key set. It refetches
//! every `refresh` period, and early when a verifier met an unknown `kid`
//! (at most once per [`MIN_KID_REFETCH_INTERVAL`], so a flood of tokens with
//! bogus `kid`s cannot hammer the identity provider). A failed fetch keeps the
//! previous keys. The task ends when the last verifier is dropped.

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use jsonwebtoken::Algorithm;
use tokio::sync::{watch, Notify};

use super::keys::KeySet;
use super::AuthError;

/// The least time between two refetches caused by unknown `kid`s.
pub const MIN_KID_REFETCH_INTERVAL: Duration = Duration::from_secs(30);

/// Timeout of one JWKS request.
const FETCH_TIMEOUT: Duration = Duration::from_secs(10);

/// Admits one early refetch per interval. Pure: the caller supplies `now`.
#[derive(Debug)]
pub(super) struct RefetchGate {
    min_interval: Duration,
    last: Option<Instant>,
}

impl RefetchGate {
    pub(super) fn new(min_interval: Duration) -> Self {
        RefetchGate {
            min_interval,
            last: None,
        }
    }

    /// True (and the interval restarts) when a refetch may go now.
    pub(super) fn try_acquire(&mut self, now: Instant) -> bool {
        match self.last {
            Some(last) if now.saturating_duration_since(last) < self.min_interval => false,
            _ => {
                self.last = Some(now);
                true
            }
        }
    }
}

/// The verifier's handle on the refresh task.
#[derive(Debug)]
pub(super) struct RefetchTrigger {
    wake: Arc<Notify>,
    gate: Mutex<RefetchGate>,
}

impl RefetchTrigger {
    /// Asks for an early refetch if the gate admits one. Never blocks on I/O.
    pub(super) fn request(&self) {
        let admitted = self
            .gate
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .try_acquire(Instant::now());
        if admitted {
            tracing::info!("unknown kid: refetching the JWKS early");
            self.wake.notify_one();
        }
    }
}

/// A JWKS endpoint and how to read it.
#[derive(Debug, Clone)]
pub(super) struct JwksEndpoint {
    client: reqwest::Client,
    url: String,
    alg: Algorithm,
}

impl JwksEndpoint {
    pub(super) fn new(url: &str, alg: Algorithm) -> Result<Self, AuthError> {
        let client = reqwest::Client::builder()
            .timeout(FETCH_TIMEOUT)
            .build()
            .map_err(|e| fetch_error(url, e))?;
        Ok(JwksEndpoint {
            client,
            url: url.to_owned(),
            alg,
        })
    }

    /// One GET of the JWKS.
    pub(super) async fn fetch(&self) -> Result<KeySet, AuthError> {
        let response = self
            .client
            .get(&self.url)
            .header(reqwest::header::ACCEPT, "application/json")
            .send()
            .await
            .and_then(reqwest::Response::error_for_status)
            .map_err(|e| fetch_error(&self.url, e))?;
        let body = response
            .bytes()
            .await
            .map_err(|e| fetch_error(&self.url, e))?;
        KeySet::from_jwks(&body, self.alg, &self.url)
    }
}

fn fetch_error(url: &str, e: impl std::fmt::Display) -> AuthError {
    AuthError::JwksFetch {
        url: url.to_owned(),
        reason: e.to_string(),
    }
}

/// Starts the refresh task and returns the trigger for early refetches.
pub(super) fn spawn(
    endpoint: JwksEndpoint,
    period: Duration,
    keys: watch::Sender<Arc<KeySet>>,
) -> RefetchTrigger {
    let wake = Arc::new(Notify::new());
    let task_wake = Arc::clone(&wake);
    tokio::spawn(async move {
        loop {
            tokio::select! {
                () = keys.closed() => break,
                () = tokio::time::sleep(period) => {}
                () = task_wake.notified() => {}
            }
            match endpoint.fetch().await {
                Ok(set) => {
                    tracing::debug!(url = %endpoint.url, keys = ?set, "JWKS refreshed");
                    keys.send_replace(Arc::new(set));
                }
                Err(e) => {
                    tracing::warn!(error = %e, "JWKS refresh failed; keeping the previous keys")
                }
            }
        }
    });
    RefetchTrigger {
        wake,
        gate: Mutex::new(RefetchGate::new(MIN_KID_REFETCH_INTERVAL)),
    }
}
