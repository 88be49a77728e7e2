//! The keeper pipeline's batch operations: ingest a block's events and executions with the cursor in
//! one transaction, finish many executions at once, and retract a reorged block's. Settlement's
//! side is in `settlement`.
//!
//! Batching is what makes the durable store fast enough: SQLite commits a transaction of a thousand
//! rows about as fast as one of a single row.

use alloy_primitives::{B256, Bytes, U256};
use herald_core::{Event, EventId};
use sqlx::Row;

use crate::store::{Cursor, ExecutionKey, ExecutionStatus, Store, StoreError, hex_id, now_ms};

/// An event to ingest, with the block it came from when it is a chain event.
#[derive(Clone, Debug)]
pub struct IngestEvent<'a> {
    /// The event.
    pub event: &'a Event,
    /// The block's number and hash (0x hex), for chain events.
    pub block: Option<(u64, String)>,
}

/// An execution decided at ingestion: to run (pending), or skipped with a reason.
#[derive(Clone, Debug)]
pub struct NewExecution {
    /// Its key.
    pub key: ExecutionKey,
    /// The event's block (0 when not a chain event), for settlement's confirmation depth.
    pub block: u64,
    /// `Pending` (to run) or `Skipped` (not run, `detail` says why).
    pub status: ExecutionStatus,
    /// The service call, JSON (endpoint, headers, body): resent verbatim after a restart.
    pub request: Option<String>,
    /// The quoted price, decimal.
    pub fee: Option<String>,
    /// The skip reason.
    pub detail: Option<String>,
    /// `Standby` executions: when this keeper takes over (unix milliseconds).
    pub takeover_at: Option<u64>,
}

/// A pending execution and the request it sends.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PendingExecution {
    /// Its key.
    pub key: ExecutionKey,
    /// The service call, as stored at ingestion.
    pub request: String,
}

/// How an execution ended.
#[derive(Clone, Debug)]
pub struct Finished {
    /// Its key.
    pub key: ExecutionKey,
    /// `Succeeded` or `Failed`.
    pub status: ExecutionStatus,
    /// Attempts made.
    pub attempts: u32,
    /// keccak256 of the result.
    pub result_hash: B256,
    /// The result itself (what `result_hash` commits to).
    pub result: Bytes,
    /// Last status and body excerpt, or a result summary.
    pub detail: Option<String>,
    /// When the service finished, unix seconds.
    pub executed_at: u64,
    /// What the runner charges, in the token's smallest unit.
    pub runner_fee: U256,
}

impl Store {
    /// Stores events and the executions they start, and moves the stream's cursor, atomically: a
    /// crash leaves either all of it or none, so the cursor never passes an event that is not stored.
    /// Returns the keys of executions newly recorded as pending (those already present — after a
    /// restart, a rescan or a redelivery — are not returned and not changed).
    pub async fn ingest(
        &self,
        stream: &str,
        events: &[IngestEvent<'_>],
        executions: &[NewExecution],
        cursor: Option<&Cursor>,
    ) -> Result<Vec<ExecutionKey>, StoreError> {
        let now = now_ms();
        let mut tx = self.pool.begin().await?;
        for item in events {
            let (block, hash) = match &item.block {
                Some((number, hash)) => (Some(*number as i64), Some(hash.as_str())),
                None => (None, None),
            };
            sqlx::query(
                "INSERT INTO events (id, connector, position, cloudevent, received_at, block, block_hash) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT (id) DO NOTHING",
            )
            .bind(hex_id(&item.event.id))
            .bind(stream)
            .bind(item.event.id.position() as i64)
            .bind(item.event.to_cloudevent().to_string())
            .bind(now)
            .bind(block)
            .bind(hash)
            .execute(&mut *tx)
            .await?;
        }
        let mut started = Vec::new();
        for execution in executions {
            let inserted = sqlx::query(
                "INSERT INTO executions (trigger_id, event_id, status, detail, created_at, updated_at, \
                 position, block, request, fee, takeover_at) \
                 VALUES ($1, $2, $3, $4, $5, $5, $6, $7, $8, $9, $10) \
                 ON CONFLICT (trigger_id, event_id) DO NOTHING",
            )
            .bind(execution.key.trigger_id as i64)
            .bind(hex_id(&execution.key.event_id))
            .bind(execution.status.as_str())
            .bind(execution.detail.as_deref())
            .bind(now)
            .bind(execution.key.event_id.position() as i64)
            .bind(execution.block as i64)
            .bind(execution.request.as_deref())
            .bind(execution.fee.as_deref())
            .bind(execution.takeover_at.map(|t| t as i64))
            .execute(&mut *tx)
            .await?
            .rows_affected()
                == 1;
            if inserted && execution.status == ExecutionStatus::Pending {
                started.push(execution.key);
            }
        }
        if let Some(cursor) = cursor {
            sqlx::query(
                "INSERT INTO cursors (stream, block, block_hash, updated_at) VALUES ($1, $2, $3, $4) \
                 ON CONFLICT (stream) DO UPDATE SET block = $2, block_hash = $3, updated_at = $4",
            )
            .bind(stream)
            .bind(cursor.block as i64)
            .bind(&cursor.block_hash)
            .bind(now)
            .execute(&mut *tx)
            .await?;
        }
        tx.commit().await?;
        Ok(started)
    }

    /// Pending executions with their requests, oldest first: what a restarted keeper resumes.
    pub async fn pending_requests(&self, limit: u32) -> Result<Vec<PendingExecution>, StoreError> {
        let rows = sqlx::query(
            "SELECT trigger_id, event_id, request FROM executions WHERE status = 'pending' \
             ORDER BY created_at, trigger_id, position LIMIT $1",
        )
        .bind(i64::from(limit))
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|row| {
                Ok(PendingExecution {
                    key: key_of(row)?,
                    request: row
                        .try_get::<Option<String>, _>("request")?
                        .unwrap_or_default(),
                })
            })
            .collect()
    }

    /// The stored request of one execution.
    pub async fn request(&self, key: ExecutionKey) -> Result<Option<String>, StoreError> {
        let row =
            sqlx::query("SELECT request FROM executions WHERE trigger_id = $1 AND event_id = $2")
                .bind(key.trigger_id as i64)
                .bind(hex_id(&key.event_id))
                .fetch_optional(&self.pool)
                .await?;
        Ok(row.and_then(|row| row.try_get::<Option<String>, _>("request").ok().flatten()))
    }

    /// Records how executions ended, in one transaction. Only pending executions change: a
    /// retracted one stays retracted.
    pub async fn finish(&self, finished: &[Finished]) -> Result<(), StoreError> {
        let now = now_ms();
        let mut tx = self.pool.begin().await?;
        for f in finished {
            sqlx::query(
                "UPDATE executions SET status = $3, attempts = $4, result_hash = $5, detail = $6, \
                 executed_at = $7, runner_fee = $8, updated_at = $9, result = $10 \
                 WHERE trigger_id = $1 AND event_id = $2 AND status = 'pending'",
            )
            .bind(f.key.trigger_id as i64)
            .bind(hex_id(&f.key.event_id))
            .bind(f.status.as_str())
            .bind(i64::from(f.attempts))
            .bind(f.result_hash.to_string())
            .bind(f.detail.as_deref())
            .bind(f.executed_at as i64)
            .bind(f.runner_fee.to_string())
            .bind(now)
            .bind(f.result.to_string())
            .execute(&mut *tx)
            .await?;
        }
        tx.commit().await?;
        Ok(())
    }

    /// The distinct blocks (number, hash) a stream's live events came from, at or above `from`:
    /// what reorg handling compares with the canonical chain.
    pub async fn event_blocks(
        &self,
        stream: &str,
        from: u64,
    ) -> Result<Vec<(u64, String)>, StoreError> {
        let rows = sqlx::query(
            "SELECT DISTINCT block, block_hash FROM events WHERE connector = $1 AND block >= $2 \
             AND retracted = 0 AND block_hash IS NOT NULL ORDER BY block",
        )
        .bind(stream)
        .bind(from as i64)
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|row| {
                let block: i64 = row.try_get("block")?;
                Ok((block as u64, row.try_get("block_hash")?))
            })
            .collect()
    }

    /// Retracts every event of a block removed by a reorg, and their executions unless already
    /// settled, in one transaction. Returns the executions retracted.
    pub async fn retract_block(
        &self,
        stream: &str,
        block_hash: &str,
    ) -> Result<Vec<ExecutionKey>, StoreError> {
        let mut tx = self.pool.begin().await?;
        // Write first (see `record_peer_batch`): the executions are found by block hash, not by
        // the events' retracted flag.
        sqlx::query("UPDATE events SET retracted = 1 WHERE connector = $1 AND block_hash = $2")
            .bind(stream)
            .bind(block_hash)
            .execute(&mut *tx)
            .await?;
        let rows = sqlx::query(
            "SELECT x.trigger_id, x.event_id FROM executions x JOIN events e ON e.id = x.event_id \
             WHERE e.connector = $1 AND e.block_hash = $2 AND x.status <> 'retracted' \
             AND x.settlement <> 'settled'",
        )
        .bind(stream)
        .bind(block_hash)
        .fetch_all(&mut *tx)
        .await?;
        let keys = rows.iter().map(key_of).collect::<Result<Vec<_>, _>>()?;
        let now = now_ms();
        for key in &keys {
            sqlx::query(
                "UPDATE executions SET status = 'retracted', updated_at = $3 \
                 WHERE trigger_id = $1 AND event_id = $2",
            )
            .bind(key.trigger_id as i64)
            .bind(hex_id(&key.event_id))
            .bind(now)
            .execute(&mut *tx)
            .await?;
        }
        tx.commit().await?;
        Ok(keys)
    }

    /// How many executions are in each (status, settlement) pair: the keeper's progress at a glance.
    pub async fn execution_counts(&self) -> Result<Vec<(String, String, u64)>, StoreError> {
        let rows = sqlx::query(
            "SELECT status, settlement, COUNT(*) AS n FROM executions GROUP BY status, settlement \
             ORDER BY status, settlement",
        )
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|row| {
                let n: i64 = row.try_get("n")?;
                Ok((row.try_get("status")?, row.try_get("settlement")?, n as u64))
            })
            .collect()
    }
}

pub(crate) fn key_of(row: &sqlx::any::AnyRow) -> Result<ExecutionKey, StoreError> {
    let trigger_id: i64 = row.try_get("trigger_id")?;
    let event_id: String = row.try_get("event_id")?;
    Ok(ExecutionKey {
        trigger_id: trigger_id as u64,
        event_id: event_id
            .parse::<EventId>()
            .map_err(|e| StoreError::Corrupt {
                table: "executions",
                reason: e.to_string(),
            })?,
    })
}
