//! `baton serve`: placeholder until the node is wired (owned by the serve work).

use crate::config::Config;

/// Runs a node until shutdown.
pub async fn run(cfg: Config) -> anyhow::Result<()> {
    let auth = cfg.auth.to_auth_config(&cfg.data_dir)?;
    tracing::debug!(?auth, store = ?cfg.store, sqlite = %cfg.sqlite_path().display(), "configuration loaded");
    anyhow::bail!(
        "`baton serve` is not wired yet (would listen on {})",
        cfg.listen
    )
}
