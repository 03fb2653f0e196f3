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

/// Never moves a snapshot backwards, and only a claim at least as new as the user's
/// fence ([`SELECT_FENCE`]) writes: an older version, or an equal version written under a
/// newer epoch, leaves the row untouched.
pub(crate) const UPSERT_SNAPSHOT: &str =
    "INSERT INTO store_snapshots (user_id, version, bytes, epoch) \
     SELECT $1, $2, $3, $4 \
     WHERE $4 >= (SELECT COALESCE((SELECT epoch FROM store_owners WHERE user_id = $1), \
       (SELECT CASE WHEN epoch > 0 THEN epoch + 1 ELSE 0 END \
        FROM store_erasures WHERE user_id = $1), 0)) \
     ON CONFLICT (user_id) DO UPDATE \
     SET version = excluded.version, bytes = excluded.bytes, epoch = excluded.epoch \
     WHERE excluded.version > store_snapshots.version \
     OR (excluded.version = store_snapshots.version AND excluded.epoch >= store_snapshots.epoch)";

/// The oldest claim epoch that may still write the user's snapshot: the current owner
/// epoch; with no claim row 0, or after an erasure 1 past the deleted claim (so that
/// claim's own late writes are refused too; a user never claimed stays at 0).
pub(crate) const SELECT_FENCE: &str =
    "SELECT COALESCE((SELECT epoch FROM store_owners WHERE user_id = $1), \
       (SELECT CASE WHEN epoch > 0 THEN epoch + 1 ELSE 0 END \
        FROM store_erasures WHERE user_id = $1), 0)";

/// The current owner epoch of a user (no row: never claimed).
pub(crate) const SELECT_OWNER: &str = "SELECT epoch, node FROM store_owners WHERE user_id = $1";

/// A new claim: epoch + 1 (for the first, 1 past the epoch an erasure deleted), returning it.
pub(crate) const CLAIM: &str = "INSERT INTO store_owners (user_id, epoch, node, claimed_at_ms) \
     VALUES ($1, 1 + COALESCE((SELECT epoch FROM store_erasures WHERE user_id = $1), 0), $2, $3) \
     ON CONFLICT (user_id) DO UPDATE \
     SET epoch = store_owners.epoch + 1, node = excluded.node, claimed_at_ms = excluded.claimed_at_ms \
     RETURNING epoch";

/// Deletes up to `$2`, but never past the snapshot: with no snapshot the subquery is NULL
/// and nothing matches.
pub(crate) const COMPACT: &str = "DELETE FROM store_log WHERE user_id = $1 AND version <= $2 \
     AND version <= (SELECT version FROM store_snapshots WHERE user_id = $1)";

pub(crate) const PING: &str = "SELECT 1";
