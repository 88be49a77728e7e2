-- The keeper network (several keepers, one performer per execution, quorum co-signing).

-- Standby executions are performed by another keeper; this one takes over at `takeover_at` (unix
-- milliseconds) unless it has seen the receipt settled by then.
ALTER TABLE executions ADD COLUMN takeover_at BIGINT;
-- The bytes `result_hash` commits to, 0x hex: the evidence co-signers check the hash against.
ALTER TABLE executions ADD COLUMN result TEXT;
CREATE INDEX executions_by_takeover ON executions (status, takeover_at);

-- Every receipt a peer signed and sent for co-signing, with the batch it came in: what proves an
-- equivocation (two different receipts for one trigger, event and runner, both signed).
CREATE TABLE peer_batches (
    digest      TEXT NOT NULL,              -- EIP-712 batch digest, 0x hex
    signer      TEXT NOT NULL,              -- the peer that signed it, 0x address
    receipts    TEXT NOT NULL,              -- the batch, JSON
    signature   TEXT NOT NULL,              -- the peer's signature over the digest, 0x hex
    received_at BIGINT NOT NULL,
    PRIMARY KEY (digest, signer)
);
CREATE TABLE peer_receipts (
    signer       TEXT NOT NULL,
    trigger_id   BIGINT NOT NULL,
    event_id     TEXT NOT NULL,
    runner       TEXT NOT NULL,
    receipt_hash TEXT NOT NULL,             -- EIP-712 struct hash, 0x hex
    digest       TEXT NOT NULL,             -- the batch it came in
    batch_index  BIGINT NOT NULL,
    cosigned     BIGINT NOT NULL DEFAULT 0, -- 1 once this keeper signed it
    PRIMARY KEY (signer, trigger_id, event_id, runner, receipt_hash)
);
CREATE INDEX peer_receipts_by_cosigned ON peer_receipts (cosigned);

-- Equivocations this keeper reported on chain, so each is reported once.
CREATE TABLE equivocations (
    offender    TEXT NOT NULL,
    trigger_id  BIGINT NOT NULL,
    event_id    TEXT NOT NULL,
    report_tx   TEXT,
    detail      TEXT,
    reported_at BIGINT NOT NULL,
    PRIMARY KEY (offender, trigger_id, event_id)
);
