//! SQL shared by both backends (`$n` placeholders work in SQLite and Postgres alike).

pub(crate) const SELECT_SNAPSHOT: &str =
    "SELECT version, bytes FROM store_snapshots WHERE user_id = $1";

pub(crate) const SELECT_SNAPSHOT_VERSION: &str =
    "SELECT version FROM store_snapshots WHERE user_id = $1";

/// `$2`: exclusive lower bound; `$3`: row limit.
pub(crate) const SELECT_LOG_AFTER: &str = "SELECT user_id, version, device, seq, at_ms, payload \
     FROM store_log WHERE user_id = $1 AND version > $2 ORDER BY version LIMIT $3";

pub(crate) const SELECT_BOUNDS: &str = "SELECT MIN(version) AS first, MAX(version) AS last, \
     COUNT(*) AS len FROM store_log WHERE user_id = $1";

/// Never moves a snapshot backwards: an older version leaves the row untouched.
pub(crate) const UPSERT_SNAPSHOT: &str = "INSERT INTO store_snapshots (user_id, version, bytes) \
     VALUES ($1, $2, $3) ON CONFLICT (user_id) DO UPDATE \
     SET version = excluded.version, bytes = excluded.bytes \
     WHERE excluded.version >= store_snapshots.version";

/// Deletes up to `$2`, but never past the snapshot: with no snapshot the subquery is NULL
/// and nothing matches.
pub(crate) const COMPACT: &str = "DELETE FROM store_log WHERE user_id = $1 AND version <= $2 \
     AND version <= (SELECT version FROM store_snapshots WHERE user_id = $1)";

pub(crate) const PING: &str = "SELECT 1";
