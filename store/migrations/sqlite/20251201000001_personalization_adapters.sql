-- Personalization: one LoRA adapter per user (opaque bytes, baton-personalization's
-- format) with its training version. Never moves backwards (see UPSERT_ADAPTER).
CREATE TABLE store_adapters (
    user_id TEXT    NOT NULL PRIMARY KEY,
    version INTEGER NOT NULL CHECK (version >= 0),
    bytes   BLOB    NOT NULL
) STRICT;
