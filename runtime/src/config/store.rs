//! `[store]`: where acknowledged operations are made durable.

use serde::{Deserialize, Serialize};

use super::check::Checker;

/// Storage settings.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case", deny_unknown_fields, default)]
pub struct StoreSection {
    /// Postgres URL; when unset the node uses SQLite at `<data-dir>/baton.db`.
    pub database_url: Option<String>,
    /// Most writes folded into one commit.
    pub group_commit_max_batch: usize,
    /// Database connections.
    pub pool_size: u32,
}

impl StoreSection {
    /// The defaults.
    pub const fn new() -> Self {
        StoreSection {
            database_url: None,
            group_commit_max_batch: 512,
            pool_size: 8,
        }
    }

    pub(super) fn check(&self, c: &mut Checker) {
        if let Some(url) = &self.database_url {
            c.ensure(
                url.starts_with("postgres://") || url.starts_with("postgresql://"),
                "store.database-url",
                "must be a postgres:// or postgresql:// URL",
            );
        }
        c.at_least(
            "store.group-commit-max-batch",
            self.group_commit_max_batch,
            1,
        );
        c.at_least("store.pool-size", self.pool_size, 1);
    }
}

impl Default for StoreSection {
    fn default() -> Self {
        Self::new()
    }
}
