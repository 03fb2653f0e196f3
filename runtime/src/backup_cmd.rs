//! `baton backup --to FILE`: an online backup of the node's SQLite store, taken while
//! the node serves (`VACUUM INTO` through a second connection to the same file; the
//! node's writers continue meanwhile). Postgres is refused with a pointer to `pg_dump`.
//! Restore: docs/OPERATIONS.md, "Backup and restore".

use std::path::Path;

use anyhow::{bail, Context as _};
use baton_store::{Store, StoreConfig, StoreOptions};

use crate::config::Config;

/// Backs up and returns a one-line report.
pub async fn run(cfg: &Config, to: &Path) -> anyhow::Result<String> {
    if cfg.store.database_url.is_some() {
        bail!(
            "store.database-url is set: back Postgres up with its own tools \
             (pg_dump --format=custom; docs/OPERATIONS.md, \"Backup and restore\")"
        );
    }
    let from = cfg.sqlite_path();
    if !from.exists() {
        bail!("no SQLite store at {} (check data-dir)", from.display());
    }
    let store = Store::open(
        &StoreConfig::Sqlite { path: from.clone() },
        StoreOptions {
            pool_size: 1,
            ..StoreOptions::default()
        },
    )
    .await
    .with_context(|| format!("opening {}", from.display()))?;
    let result = store.backup_to(to).await;
    store.close().await;
    let bytes = result.with_context(|| format!("backing up to {}", to.display()))?;
    Ok(format!(
        "backed up {} to {} ({bytes} bytes)",
        from.display(),
        to.display()
    ))
}
