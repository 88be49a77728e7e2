-- What the keeper's pipeline needs beyond 0001: the block an event came from (to retract it after a
-- reorg), the request an execution sends (so a restart resends the very same webhook), what the
-- receipt reports, and where settlement stands.

ALTER TABLE events ADD COLUMN block BIGINT;            -- chain events: the block's number
ALTER TABLE events ADD COLUMN block_hash TEXT;         -- and hash, 0x hex
CREATE INDEX events_by_connector_block ON events (connector, block);

ALTER TABLE executions ADD COLUMN position BIGINT NOT NULL DEFAULT 0;  -- the event's position
ALTER TABLE executions ADD COLUMN block BIGINT NOT NULL DEFAULT 0;     -- its block (0: not a chain event)
ALTER TABLE executions ADD COLUMN request TEXT;                        -- the service call, JSON
ALTER TABLE executions ADD COLUMN fee TEXT;                            -- quoted price, decimal
ALTER TABLE executions ADD COLUMN executed_at BIGINT;                  -- unix seconds, once finished
ALTER TABLE executions ADD COLUMN runner_fee TEXT;                     -- decimal, once finished
ALTER TABLE executions ADD COLUMN settlement TEXT NOT NULL DEFAULT 'none'; -- none | submitted | settled | rejected
ALTER TABLE executions ADD COLUMN settle_tx TEXT;                      -- the settle transaction, 0x hex
ALTER TABLE executions ADD COLUMN settle_detail TEXT;                  -- fee paid, or why it was rejected
CREATE INDEX executions_by_trigger_position ON executions (trigger_id, position);
CREATE INDEX executions_by_settlement ON executions (settlement, status);
