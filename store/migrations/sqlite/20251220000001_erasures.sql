-- User erasure tombstones (right to erasure). Erasing a user deletes its log, snapshot,
-- adapter and owner claim and leaves this row: when (ms since the Unix epoch, the latest
-- erasure) so tokens issued before it are refused, and the owner epoch the deleted claim
-- had, so later claims keep growing past it and a writer under an older claim stays fenced.
CREATE TABLE store_erasures (
    user_id      TEXT   NOT NULL PRIMARY KEY,
    erased_at_ms INTEGER NOT NULL,
    epoch        INTEGER NOT NULL DEFAULT 0
) STRICT;
