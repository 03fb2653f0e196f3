-- baton-store schema (Postgres). Versions and sequence numbers are u64 values stored as
-- BIGINT; the store rejects values above i64::MAX before they reach SQL.

-- One snapshot per user: the user's state folded up to and including `version`.
CREATE TABLE store_snapshots (
    user_id TEXT   NOT NULL PRIMARY KEY,
    version BIGINT NOT NULL CHECK (version >= 0),
    bytes   BYTEA  NOT NULL
);

-- The per-user delta log. `version` is the user's server log position (1, 2, 3, ...).
CREATE TABLE store_log (
    user_id TEXT   NOT NULL,
    version BIGINT NOT NULL CHECK (version > 0),
    device  TEXT   NOT NULL,
    seq     BIGINT NOT NULL CHECK (seq >= 0),
    at_ms   BIGINT NOT NULL,
    payload BYTEA  NOT NULL,
    PRIMARY KEY (user_id, version)
);
