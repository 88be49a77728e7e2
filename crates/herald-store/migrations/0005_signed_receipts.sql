-- Every receipt this keeper signed (its own as performer, and peers' it co-signed), one per
-- (trigger, event, runner). A row is written, and committed, before the signature is made: the
-- primary key makes a second, different receipt for the same execution impossible to record, so a
-- keeper never signs two (the equivocation the contract slashes), under any isolation level and
-- however many processes share the database. The same receipt again (an honest retry) is allowed.
CREATE TABLE signed_receipts (
    trigger_id   BIGINT NOT NULL,
    event_id     TEXT NOT NULL,              -- 0x hex
    runner       TEXT NOT NULL,              -- 0x address, lowercase
    receipt_hash TEXT NOT NULL,              -- EIP-712 struct hash, 0x hex, lowercase
    executed_at  BIGINT NOT NULL,            -- its executedAt: a performer's later attempts reuse it
    digest       TEXT NOT NULL,              -- the batch it was first signed in
    signed_at    BIGINT NOT NULL,            -- unix milliseconds
    PRIMARY KEY (trigger_id, event_id, runner)
);
