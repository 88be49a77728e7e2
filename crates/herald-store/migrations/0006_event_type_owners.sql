-- Event types are owned (audit finding 3): the key that first defined a type, and the emitter keys
-- it named, are the only ones whose events of that type the API accepts. Every change is signed by
-- the owner; `signed_at` is the last change's signature time, so an older change cannot be replayed.
-- Types defined before this migration have no owner: the first signed change claims them.
ALTER TABLE event_types ADD COLUMN owner TEXT;            -- 0x address, checksummed
ALTER TABLE event_types ADD COLUMN emitters TEXT;         -- JSON array of 0x addresses
ALTER TABLE event_types ADD COLUMN signed_at BIGINT;      -- unix milliseconds
