-- Cluster ownership: which node owns a user, under a growing epoch. A node claims a
-- user (epoch + 1) before activating it; a snapshot is written only by a claim at least
-- as new as the user's current one, so a node that lost a user cannot overwrite the
-- state its successor wrote. Log appends are fenced by their (user_id, version) key.
CREATE TABLE store_owners (
    user_id       TEXT   NOT NULL PRIMARY KEY,
    epoch         BIGINT NOT NULL CHECK (epoch > 0),
    node          TEXT   NOT NULL,
    claimed_at_ms BIGINT NOT NULL
);

-- The claim epoch that wrote each snapshot (0: written before claims existed).
ALTER TABLE store_snapshots ADD COLUMN epoch BIGINT NOT NULL DEFAULT 0;
