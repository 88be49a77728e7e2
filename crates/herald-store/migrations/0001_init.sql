-- Portable across SQLite and PostgreSQL: TEXT and BIGINT only, ids as lower-case 0x hex.

CREATE TABLE events (
    id          TEXT PRIMARY KEY,           -- EventId, 0x + 64 hex
    connector   TEXT NOT NULL,              -- connector type
    position    BIGINT NOT NULL,            -- top 64 bits of the id, as a signed integer
    cloudevent  TEXT NOT NULL,              -- the event as CloudEvents JSON
    received_at BIGINT NOT NULL,            -- unix milliseconds
    retracted   BIGINT NOT NULL DEFAULT 0   -- 1 when its log was removed by a reorg
);
CREATE INDEX events_by_connector_position ON events (connector, position);

-- One row per (trigger, event): the execution key. Written before the service runs.
CREATE TABLE executions (
    trigger_id  BIGINT NOT NULL,
    event_id    TEXT NOT NULL REFERENCES events (id),
    status      TEXT NOT NULL,              -- pending | succeeded | failed | skipped | retracted
    attempts    BIGINT NOT NULL DEFAULT 0,
    detail      TEXT,                       -- last error, skip reason, or result summary
    result_hash TEXT,                       -- 0x + 64 hex once finished
    created_at  BIGINT NOT NULL,
    updated_at  BIGINT NOT NULL,
    PRIMARY KEY (trigger_id, event_id)
);
CREATE INDEX executions_by_status ON executions (status, updated_at);

-- How far each stream (e.g. a chain's logs) has been durably processed.
CREATE TABLE cursors (
    stream      TEXT PRIMARY KEY,           -- e.g. "eip155:31337/logs"
    block       BIGINT NOT NULL,
    block_hash  TEXT NOT NULL,
    updated_at  BIGINT NOT NULL
);
