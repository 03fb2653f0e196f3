//! Online backup of a SQLite store: [`Store::backup_to`].

use std::path::{Path, PathBuf};

use crate::backend::Backend;
use crate::{Store, StoreError};

impl Store {
    /// Writes a consistent copy of the whole SQLite database to `to` while the store keeps
    /// serving, and returns its size in bytes.
    ///
    /// `VACUUM INTO` copies one read transaction's view (in WAL mode writers continue
    /// meanwhile), so the copy holds every commit acknowledged before the backup began and
    /// no half-written transaction. It is written to `to` + `.partial` and renamed into
    /// place once complete, so a file at `to` is always a whole backup. Refuses an
    /// existing `to` (and an existing `.partial`: another backup may be writing it).
    /// Postgres answers [`StoreError::Unsupported`]: back it up with `pg_dump`
    /// (docs/OPERATIONS.md, "Backup and restore").
    pub async fn backup_to(&self, to: &Path) -> Result<u64, StoreError> {
        let Backend::Sqlite(pool) = &self.backend else {
            return Err(StoreError::Unsupported(
                "online backup of Postgres: use pg_dump (docs/OPERATIONS.md)",
            ));
        };
        let io = |path: &Path| {
            let path = path.to_path_buf();
            move |source| StoreError::Io { path, source }
        };
        let partial = PathBuf::from(format!("{}.partial", to.display()));
        for path in [to, partial.as_path()] {
            if path.exists() {
                return Err(StoreError::Io {
                    path: path.to_path_buf(),
                    source: std::io::Error::new(
                        std::io::ErrorKind::AlreadyExists,
                        "exists; refusing to overwrite",
                    ),
                });
            }
        }
        let target = partial
            .to_str()
            .ok_or_else(|| StoreError::invalid("to", "a backup path must be valid UTF-8"))?;
        if let Err(e) = sqlx::query("VACUUM INTO $1")
            .bind(target)
            .execute(pool)
            .await
        {
            let _ = std::fs::remove_file(&partial);
            return Err(e.into());
        }
        // The copy is complete and closed by SQLite; make it durable, then visible.
        std::fs::File::open(&partial)
            .and_then(|f| f.sync_all())
            .map_err(io(&partial))?;
        std::fs::rename(&partial, to).map_err(io(to))?;
        if let Some(dir) = to.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::File::open(dir)
                .and_then(|d| d.sync_all())
                .map_err(io(dir))?;
        }
        std::fs::metadata(to).map(|m| m.len()).map_err(io(to))
    }
}
