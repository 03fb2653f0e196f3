//! The Redis side of [`Shared`](super::Shared). Keys:
//!
//! - `baton:revoked:{jti}`: present while the token is revoked (expires with it);
//! - `baton:revocations`: a stream of revocations (capped at ~10,000 entries)
//!   that every node follows to close open sockets;
//! - `baton:presence:{user}`: the user's presence as JSON (10 min TTL).

use std::time::Duration;

use redis::aio::{ConnectionManager, ConnectionManagerConfig, MultiplexedConnection};
use redis::streams::{StreamReadOptions, StreamReadReply};
use redis::{AsyncCommands, Client};

use crate::protocol::PresenceEntry;

/// Redis could not be reached or answered with an error. Nothing was changed
/// by the call that failed, or (for writes) it is unknown whether it landed.
#[derive(Debug, thiserror::Error)]
pub enum SharedError {
    /// The Redis command failed.
    #[error("redis: {0}")]
    Redis(#[from] redis::RedisError),
    /// Stored presence did not decode.
    #[error("stored presence is not valid JSON: {0}")]
    Decode(#[from] serde_json::Error),
}

const STREAM: &str = "baton:revocations";
const OP_TIMEOUT: Duration = Duration::from_millis(250);

#[derive(Clone)]
pub(super) struct RedisShared {
    client: Client,
    conn: ConnectionManager,
}

impl RedisShared {
    pub(super) async fn connect(url: &str) -> Result<Self, SharedError> {
        let client = Client::open(url)?;
        let config = ConnectionManagerConfig::new()
            .set_connection_timeout(OP_TIMEOUT)
            .set_response_timeout(OP_TIMEOUT)
            .set_number_of_retries(1);
        let conn = ConnectionManager::new_with_config(client.clone(), config).await?;
        Ok(Self { client, conn })
    }

    pub(super) async fn revoke(&self, jti: &str, expires_at: u64) -> Result<(), SharedError> {
        let mut conn = self.conn.clone();
        let exp = expires_at.max(super::unix_now() + 1);
        redis::pipe()
            .atomic()
            .cmd("SET")
            .arg(format!("baton:revoked:{jti}"))
            .arg(1)
            .arg("EXAT")
            .arg(exp)
            .ignore()
            .cmd("XADD")
            .arg(STREAM)
            .arg("MAXLEN")
            .arg("~")
            .arg(10_000)
            .arg("*")
            .arg("jti")
            .arg(jti)
            .arg("exp")
            .arg(exp)
            .ignore()
            .query_async::<()>(&mut conn)
            .await?;
        Ok(())
    }

    pub(super) async fn is_revoked(&self, jti: &str) -> Result<bool, SharedError> {
        let mut conn = self.conn.clone();
        Ok(conn.exists(format!("baton:revoked:{jti}")).await?)
    }

    pub(super) async fn put_presence(
        &self,
        user: &str,
        entries: &[PresenceEntry],
    ) -> Result<(), SharedError> {
        let mut conn = self.conn.clone();
        let json = serde_json::to_string(entries)?;
        conn.set_ex::<_, _, ()>(format!("baton:presence:{user}"), json, 600)
            .await?;
        Ok(())
    }

    /// Delete every key holding `user` (presence, and the rate-limit key earlier
    /// releases wrote); returns
    /// how many existed.
    pub(super) async fn forget_user(&self, user: &str) -> Result<u64, SharedError> {
        let mut conn = self.conn.clone();
        let keys = [
            format!("baton:rate:{user}"),
            format!("baton:presence:{user}"),
        ];
        Ok(conn.del(&keys).await?)
    }

    pub(super) async fn presence(
        &self,
        user: &str,
    ) -> Result<Option<Vec<PresenceEntry>>, SharedError> {
        let mut conn = self.conn.clone();
        let json: Option<String> = conn.get(format!("baton:presence:{user}")).await?;
        Ok(match json {
            Some(j) => Some(serde_json::from_str(&j)?),
            None => None,
        })
    }

    /// Block up to `block` for revocations after stream id `after`; returns
    /// (id, jti, exp). Uses its own connection: a blocking read would stall
    /// the shared multiplexed one.
    pub(super) async fn read_revocations(
        &self,
        conn: &mut Option<MultiplexedConnection>,
        after: &str,
        block: Duration,
    ) -> Result<Vec<(String, String, u64)>, SharedError> {
        if conn.is_none() {
            *conn = Some(self.follower_conn().await?);
        }
        let Some(c) = conn.as_mut() else {
            return Ok(Vec::new());
        };
        let opts = StreamReadOptions::default()
            .block(block.as_millis() as usize)
            .count(256);
        let reply: Option<StreamReadReply> = match c.xread_options(&[STREAM], &[after], &opts).await
        {
            Ok(r) => r,
            Err(e) => {
                *conn = None;
                return Err(e.into());
            }
        };
        let mut out = Vec::new();
        for key in reply.map(|r| r.keys).unwrap_or_default() {
            for entry in key.ids {
                let jti: Option<String> = entry.get("jti");
                let exp: Option<u64> = entry.get("exp");
                if let (Some(jti), Some(exp)) = (jti, exp) {
                    out.push((entry.id.clone(), jti, exp));
                }
            }
        }
        Ok(out)
    }

    async fn follower_conn(&self) -> Result<MultiplexedConnection, SharedError> {
        let config = redis::AsyncConnectionConfig::new()
            .set_connection_timeout(OP_TIMEOUT)
            .set_response_timeout(OP_TIMEOUT * 4);
        Ok(self
            .client
            .get_multiplexed_async_connection_with_config(&config)
            .await?)
    }
}
