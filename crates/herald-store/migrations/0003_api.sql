-- What the REST API keeps: API keys (only their SHA-256 is stored) and event types (seed 003).

CREATE TABLE api_keys (
    id              TEXT PRIMARY KEY,           -- public id, shown in lists and logs
    name            TEXT NOT NULL,
    key_hash        TEXT NOT NULL UNIQUE,       -- 0x SHA-256 of the secret key
    scope           TEXT NOT NULL,              -- read | write
    rate_per_minute BIGINT NOT NULL,
    created_at      BIGINT NOT NULL,
    revoked         BIGINT NOT NULL DEFAULT 0
);

CREATE TABLE event_types (
    name        TEXT PRIMARY KEY,
    description TEXT,
    schema      TEXT,                           -- JSON Schema of the payload, if any
    created_at  BIGINT NOT NULL,
    updated_at  BIGINT NOT NULL
);
