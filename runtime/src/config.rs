//! The node's configuration tree, layered with figment:
//! defaults -> optional TOML file -> `BATON_*` environment variables.
//!
//! Keys are kebab-case. In the environment, `__` separates sections and `_`
//! stands for `-`: `BATON_LIMITS__MAX_MESSAGE_BYTES=2048` sets
//! `limits.max-message-bytes`. Shortcuts: `BATON_LISTEN`, `BATON_DATA_DIR`,
//! `BATON_NODE_ID`, and `BATON_DATABASE_URL` for `store.database-url`.
//! After extraction every value is validated; errors name the key.

mod actors;
mod auth;
mod check;
mod cluster;
mod http;
mod limits;
mod log;
mod personalization;
mod pubnub;
mod sessions;
mod store;

#[cfg(test)]
mod tests;

use std::net::{Ipv4Addr, SocketAddr, SocketAddrV4};
use std::path::{Path, PathBuf};

use anyhow::bail;
use figment::providers::{Env, Format as _, Serialized, Toml};
use figment::Figment;
use serde::{Deserialize, Serialize};

pub use actors::ActorsSection;
pub use auth::AuthSection;
pub use cluster::ClusterSection;
pub use http::HttpSection;
pub use limits::LimitsSection;
pub use log::LogSection;
pub use personalization::{PersonalizationSection, VectorBackend};
pub use pubnub::PubnubSection;
pub use sessions::SessionsSection;
pub use store::StoreSection;

use check::Checker;

/// The whole configuration. `Config::default()` is the embedded default
/// (and the starting point for tests).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case", deny_unknown_fields, default)]
pub struct Config {
    /// Address of the HTTP/WebSocket listener.
    pub listen: SocketAddr,
    /// Directory for the SQLite database and the development key.
    pub data_dir: PathBuf,
    /// This node's name in a cluster.
    pub node_id: String,
    /// Redis for state shared between nodes (revocations, rate limits,
    /// presence); unset = in-process (one node).
    #[serde(default)]
    pub redis_url: Option<String>,
    /// `[store]`
    pub store: StoreSection,
    /// `[auth]`
    pub auth: AuthSection,
    /// `[http]`
    pub http: HttpSection,
    /// `[limits]`
    pub limits: LimitsSection,
    /// `[sessions]`
    pub sessions: SessionsSection,
    /// `[actors]`
    pub actors: ActorsSection,
    /// `[log]`
    pub log: LogSection,
    /// `[personalization]`
    pub personalization: PersonalizationSection,
    /// `[cluster]`
    pub cluster: ClusterSection,
    /// `[pubnub]`
    pub pubnub: PubnubSection,
}

/// Top-level keys; other `BATON_*` variables (e.g. `BATON_CONFIG`) are not configuration.
const TOP_LEVEL_KEYS: [&str; 14] = [
    "listen",
    "data-dir",
    "node-id",
    "redis-url",
    "store",
    "auth",
    "http",
    "limits",
    "sessions",
    "actors",
    "log",
    "personalization",
    "cluster",
    "pubnub",
];

impl Default for Config {
    fn default() -> Self {
        Config {
            listen: SocketAddr::V4(SocketAddrV4::new(Ipv4Addr::LOCALHOST, 7600)),
            data_dir: PathBuf::from("./data"),
            node_id: "node-1".to_owned(),
            redis_url: None,
            store: StoreSection::new(),
            auth: AuthSection::default(),
            http: HttpSection::new(),
            limits: LimitsSection::new(),
            sessions: SessionsSection::new(),
            actors: ActorsSection::new(),
            log: LogSection::default(),
            personalization: PersonalizationSection::new(),
            cluster: ClusterSection::new(),
            pubnub: PubnubSection::new(),
        }
    }
}

impl Config {
    /// Defaults, then `path` (which must exist when given), then the environment; validated.
    pub fn load(path: Option<&Path>) -> anyhow::Result<Config> {
        Self::from_figment(Self::figment(path)?)
    }

    /// The layered sources, before extraction.
    pub fn figment(path: Option<&Path>) -> anyhow::Result<Figment> {
        let mut figment = Figment::from(Serialized::defaults(Config::default()));
        if let Some(path) = path {
            if !path.is_file() {
                bail!("configuration file {} does not exist", path.display());
            }
            figment = figment.merge(Toml::file_exact(path));
        }
        Ok(figment.merge(env_provider()))
    }

    /// Extracts and validates.
    pub fn from_figment(figment: Figment) -> anyhow::Result<Config> {
        let config: Config = figment.extract().map_err(|errors| {
            let all: Vec<String> = errors.into_iter().map(|e| describe(&e)).collect();
            anyhow::anyhow!("invalid configuration: {}", all.join("; "))
        })?;
        config.validate()?;
        Ok(config)
    }

    /// Checks every value, reporting all problems at once.
    pub fn validate(&self) -> anyhow::Result<()> {
        let mut c = Checker::default();
        c.ensure(!self.node_id.is_empty(), "node-id", "must not be empty");
        c.ensure(
            !self.data_dir.as_os_str().is_empty(),
            "data-dir",
            "must not be empty",
        );
        self.store.check(&mut c);
        self.auth.check(&mut c);
        self.http.check(&mut c);
        self.limits.check(&mut c);
        self.sessions.check(&mut c);
        self.actors.check(&mut c);
        self.log.check(&mut c);
        self.personalization.check(&mut c);
        self.cluster
            .check(&mut c, self.store.database_url.is_some());
        self.pubnub.check(&mut c);
        c.finish()
    }

    /// Where the SQLite database lives when `store.database-url` is unset.
    pub fn sqlite_path(&self) -> PathBuf {
        self.data_dir.join("baton.db")
    }
}

/// `limits.max-message-bytes: <what is wrong> (in <source>)`: figment's own
/// message would show environment keys in their raw, upper-case form.
fn describe(e: &figment::Error) -> String {
    let key = e.path.join(".");
    let origin = e.metadata.as_ref().map(|m| match &m.source {
        Some(source) => format!("{} {source}", m.name),
        None => m.name.to_string(),
    });
    match (key.is_empty(), origin) {
        (true, None) => e.kind.to_string(),
        (true, Some(origin)) => format!("{} (in {origin})", e.kind),
        (false, None) => format!("{key}: {}", e.kind),
        (false, Some(origin)) => format!("{key}: {} (in {origin})", e.kind),
    }
}

/// `BATON_A__B_C` -> `a.b-c`; `BATON_DATABASE_URL` -> `store.database-url`.
fn env_provider() -> Env {
    Env::prefixed("BATON_")
        .map(|key| {
            // Keys reach this mapper before figment lowercases them.
            let key = key
                .as_str()
                .to_ascii_lowercase()
                .replace("__", ".")
                .replace('_', "-");
            match key.as_str() {
                "database-url" => "store.database-url".into(),
                _ => key.into(),
            }
        })
        .filter(|key| {
            let top = key.as_str().split('.').next().unwrap_or_default();
            TOP_LEVEL_KEYS.contains(&top)
        })
}
