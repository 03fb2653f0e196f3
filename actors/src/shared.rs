//! State shared between nodes and short-lived: token revocations and
//! presence. With a Redis URL configured it lives in Redis;
//! otherwise in-process (one node).
//!
//! ## When Redis is down (the policy)
//!
//! | what | behaviour | why |
//! |---|---|---|
//! | revocation check | **fails open** for tokens this node has not seen revoked; tokens whose revocation this node already received stay refused (a local copy of every revocation is kept until the token expires) | refusing every token would turn a cache outage into a full outage; revoked tokens are rare and expire within the hour |
//! | revoking a token | **fails closed**: the admin call returns 503 and nothing is promised | an operator must know the revocation did not reach every node |
//! | presence publishing | skipped (counted in `baton_shared_errors_total`) | presence is soft state, re-published on the next change |
//!
//! The per-user op rate limit is not shared: one node owns a user (its ops
//! reach that node's user actor, forwarded in a cluster), and the owner keeps
//! the limit in the user's state machine with no round trip per op.
//!
//! Every fallback is counted in `baton_shared_errors_total{op}`.

mod redis_backend;

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::sync::broadcast;

use crate::protocol::PresenceEntry;

pub use redis_backend::SharedError;

/// Handle to the shared state. Cheap to clone.
#[derive(Clone)]
pub struct Shared {
    inner: Arc<Inner>,
}

struct Inner {
    redis: Option<redis_backend::RedisShared>,
    /// Revocations this node knows of: jti -> expiry (Unix seconds).
    revoked: Mutex<HashMap<String, u64>>,
    /// Presence, in-process (used when there is no Redis).
    presence: Mutex<HashMap<String, Vec<PresenceEntry>>>,
    /// Revoked jtis, as they arrive, for closing open sockets.
    events: broadcast::Sender<String>,
}

/// Seconds since the Unix epoch (revocations expire with their tokens).
pub(crate) fn unix_now() -> u64 {
    crate::clock::wall_ms() / 1000
}

fn count_error(op: &'static str) {
    metrics::counter!("baton_shared_errors_total", "op" => op).increment(1);
}

impl Shared {
    /// In-process shared state (a single node).
    pub fn local() -> Shared {
        Self::build(None)
    }

    /// Shared state in Redis at `url`. Connects now (fails if Redis cannot be
    /// reached at start) and then follows revocations from every node.
    pub async fn redis(url: &str) -> Result<Shared, SharedError> {
        let backend = redis_backend::RedisShared::connect(url).await?;
        let shared = Self::build(Some(backend));
        shared.spawn_follower();
        Ok(shared)
    }

    fn build(redis: Option<redis_backend::RedisShared>) -> Shared {
        let (events, _) = broadcast::channel(1024);
        Shared {
            inner: Arc::new(Inner {
                redis,
                revoked: Mutex::new(HashMap::new()),
                presence: Mutex::new(HashMap::new()),
                events,
            }),
        }
    }

    /// `"redis"` or `"local"`.
    pub fn backend_name(&self) -> &'static str {
        if self.inner.redis.is_some() {
            "redis"
        } else {
            "local"
        }
    }

    /// Revoke token `jti` until `expires_at` (Unix seconds; the token's `exp`).
    /// With Redis, fails when Redis cannot be reached (nothing is promised then).
    pub async fn revoke(&self, jti: &str, expires_at: u64) -> Result<(), SharedError> {
        if let Some(redis) = &self.inner.redis {
            redis.revoke(jti, expires_at).await?;
        }
        self.remember(jti, expires_at);
        Ok(())
    }

    fn remember(&self, jti: &str, expires_at: u64) {
        let now = unix_now();
        if let Ok(mut revoked) = self.inner.revoked.lock() {
            revoked.retain(|_, exp| *exp > now);
            revoked.insert(jti.to_owned(), expires_at);
        }
        let _ = self.inner.events.send(jti.to_owned());
    }

    /// Whether `jti` is revoked. See the module docs for the Redis-down policy.
    pub async fn is_revoked(&self, jti: &str) -> bool {
        let known = self
            .inner
            .revoked
            .lock()
            .map(|r| r.get(jti).is_some_and(|exp| *exp > unix_now()))
            .unwrap_or(false);
        if known {
            return true;
        }
        match &self.inner.redis {
            Some(redis) => match redis.is_revoked(jti).await {
                Ok(revoked) => revoked,
                Err(_) => {
                    count_error("is_revoked");
                    false
                }
            },
            None => false,
        }
    }

    /// Revoked jtis as they become known on this node.
    pub fn revocations(&self) -> broadcast::Receiver<String> {
        self.inner.events.subscribe()
    }

    /// Publish a user's presence for every node (best effort, in the background).
    pub fn publish_presence(&self, user: &str, entries: Vec<PresenceEntry>) {
        match &self.inner.redis {
            Some(redis) => {
                let redis = redis.clone();
                let user = user.to_owned();
                tokio::spawn(async move {
                    if redis.put_presence(&user, &entries).await.is_err() {
                        count_error("put_presence");
                    }
                });
            }
            None => {
                if let Ok(mut p) = self.inner.presence.lock() {
                    p.insert(user.to_owned(), entries);
                }
            }
        }
    }

    /// Remove everything shared state holds for `user` (erasure): its Redis
    /// keys (`baton:presence:{user}`, and `baton:rate:{user}` of earlier releases) or its in-process
    /// presence. Unlike the soft-state calls, a Redis failure is an error here:
    /// the caller must not report an erasure that left data behind.
    pub async fn forget_user(&self, user: &str) -> Result<(), SharedError> {
        if let Ok(mut p) = self.inner.presence.lock() {
            p.remove(user);
        }
        match &self.inner.redis {
            Some(redis) => redis.forget_user(user).await.map(|_| ()),
            None => Ok(()),
        }
    }

    /// A user's presence as last published by whichever node owns the user.
    pub async fn presence(&self, user: &str) -> Result<Option<Vec<PresenceEntry>>, SharedError> {
        match &self.inner.redis {
            Some(redis) => redis.presence(user).await,
            None => Ok(self
                .inner
                .presence
                .lock()
                .ok()
                .and_then(|p| p.get(user).cloned())),
        }
    }

    /// Follow the revocation stream in Redis so sockets of revoked tokens
    /// close on every node, not only where the revocation was made. A
    /// blocking stream read (not pub/sub, which drops messages) so none is
    /// missed: after a Redis outage the follower resumes from the last id it saw.
    fn spawn_follower(&self) {
        let weak = Arc::downgrade(&self.inner);
        tokio::spawn(async move {
            // From the start of the (capped) stream: a node that starts learns
            // every revocation still in force, and keeps a local copy for when
            // Redis is unreachable. An id, never `$`, so nothing added between
            // two reads is missed.
            let mut last = String::from("0-0");
            let mut conn = None;
            loop {
                let Some(inner) = weak.upgrade() else { return };
                let Some(redis) = inner.redis.clone() else {
                    return;
                };
                drop(inner);
                match redis
                    .read_revocations(&mut conn, &last, Duration::from_millis(250))
                    .await
                {
                    Ok(batch) => {
                        let Some(inner) = weak.upgrade() else { return };
                        let shared = Shared { inner };
                        let now = unix_now();
                        for (id, jti, exp) in batch {
                            if exp > now {
                                shared.remember(&jti, exp);
                            }
                            last = id;
                        }
                    }
                    Err(_) => {
                        count_error("follow_revocations");
                        tokio::time::sleep(Duration::from_millis(250)).await;
                    }
                }
            }
        });
    }
}

impl Default for Shared {
    fn default() -> Self {
        Self::local()
    }
}
