//! What the keeper network keeps: standby executions awaiting takeover, and the receipts peers
//! signed and sent for co-signing (the evidence of an equivocation). What this keeper signed itself
//! is recorded by [`Store::claim_receipts`].

use sqlx::Row;

use crate::{
    pipeline::{PendingExecution, key_of},
    store::{ExecutionKey, Store, StoreError, hex_id, now_ms},
};

/// One receipt of a batch a peer signed and sent for co-signing.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PeerReceipt {
    /// The execution it reports.
    pub key: ExecutionKey,
    /// Its runner, 0x address.
    pub runner: String,
    /// Its EIP-712 struct hash, 0x hex.
    pub receipt_hash: String,
    /// Its index in the batch.
    pub index: u32,
}

/// A batch a peer signed, as kept.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PeerBatch {
    /// The EIP-712 batch digest, 0x hex.
    pub digest: String,
    /// The batch, JSON.
    pub receipts: String,
    /// The peer's signature over the digest, 0x hex.
    pub signature: String,
}

/// A peer signed two different receipts for one (trigger, event, runner): the earlier batch and the
/// receipt's index in it, against the receipt at `index` of the batch just received.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Conflict {
    /// The execution both receipts report.
    pub key: ExecutionKey,
    /// The batch signed earlier.
    pub earlier: PeerBatch,
    /// The conflicting receipt's index in it.
    pub earlier_index: u32,
    /// The conflicting receipt's index in the batch just received.
    pub index: u32,
}

/// A receipt the same signer sent before for the same trigger, event and runner, with different
/// content, and the batch it came in. Binds: signer, trigger, event, runner, receipt hash.
const EARLIER_CONFLICT: &str = "SELECT p.batch_index, b.digest, b.receipts, b.signature \
     FROM peer_receipts p JOIN peer_batches b ON b.digest = p.digest AND b.signer = p.signer \
     WHERE p.signer = $1 AND p.trigger_id = $2 AND p.event_id = $3 AND p.runner = $4 \
     AND p.receipt_hash <> $5 LIMIT 1";

/// The conflict an [`EARLIER_CONFLICT`] row shows with `r`.
fn conflict_of(row: &sqlx::any::AnyRow, r: &PeerReceipt) -> Result<Conflict, StoreError> {
    let index: i64 = row.try_get("batch_index")?;
    Ok(Conflict {
        key: r.key,
        earlier: PeerBatch {
            digest: row.try_get("digest")?,
            receipts: row.try_get("receipts")?,
            signature: row.try_get("signature")?,
        },
        earlier_index: index as u32,
        index: r.index,
    })
}

impl Store {
    /// The positions of `trigger_id`'s executions below `below` that are still to be paid and on no
    /// way to be: run, running or on standby here, not seen settled or rejected on chain, and with
    /// no receipt this keeper signed (one it signed is in a batch on its way to settlement).
    /// Ascending, at most `limit`. A co-signer holds back a receipt while an earlier one of its
    /// trigger is unpaid and not in the same batch: settling it would make that earlier one stale
    /// (security finding 7).
    pub async fn unpaid_positions_below(
        &self,
        trigger_id: u64,
        below: u64,
        limit: u32,
    ) -> Result<Vec<u64>, StoreError> {
        let rows = sqlx::query(
            "SELECT position FROM executions WHERE trigger_id = $1 AND position < $2 \
             AND status IN ('pending', 'standby', 'succeeded', 'failed') \
             AND settlement IN ('none', 'submitted') \
             AND NOT EXISTS (SELECT 1 FROM signed_receipts s \
                 WHERE s.trigger_id = executions.trigger_id AND s.event_id = executions.event_id) \
             ORDER BY position LIMIT $3",
        )
        .bind(trigger_id as i64)
        .bind(below as i64)
        .bind(i64::from(limit))
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|row| Ok(row.try_get::<i64, _>("position")? as u64))
            .collect()
    }

    /// Standby executions whose takeover time has passed and that are not seen settled, in each
    /// trigger's event order: what this keeper performs in place of a silent peer.
    pub async fn due_takeovers(
        &self,
        now_ms: u64,
        limit: u32,
    ) -> Result<Vec<ExecutionKey>, StoreError> {
        let rows = sqlx::query(
            "SELECT trigger_id, event_id FROM executions WHERE status = 'standby' \
             AND settlement <> 'settled' AND takeover_at <= $1 \
             ORDER BY trigger_id, position LIMIT $2",
        )
        .bind(now_ms as i64)
        .bind(i64::from(limit))
        .fetch_all(&self.pool)
        .await?;
        rows.iter().map(key_of).collect()
    }

    /// Puts the takeover of each standby execution in `postponed` off until the time given (unix
    /// milliseconds): its event is not final yet, so nobody could have settled it.
    pub async fn postpone_takeovers(
        &self,
        postponed: &[(ExecutionKey, u64)],
    ) -> Result<(), StoreError> {
        let mut tx = self.pool.begin().await?;
        for (key, until) in postponed {
            sqlx::query(
                "UPDATE executions SET takeover_at = $3 \
                 WHERE trigger_id = $1 AND event_id = $2 AND status = 'standby'",
            )
            .bind(key.trigger_id as i64)
            .bind(hex_id(&key.event_id))
            .bind(*until as i64)
            .execute(&mut *tx)
            .await?;
        }
        tx.commit().await?;
        Ok(())
    }

    /// Skips a standby execution this keeper will never perform nor take over (an API event for
    /// a subscription sealed to other keepers, relayed to them or not relayable), with `detail`:
    /// it then neither holds back the trigger's later receipts nor is ever due. Returns whether
    /// it was still standby.
    pub async fn skip_standby(&self, key: &ExecutionKey, detail: &str) -> Result<bool, StoreError> {
        let updated = sqlx::query(
            "UPDATE executions SET status = 'skipped', detail = $3, takeover_at = NULL, \
             updated_at = $4 WHERE trigger_id = $1 AND event_id = $2 AND status = 'standby'",
        )
        .bind(key.trigger_id as i64)
        .bind(hex_id(&key.event_id))
        .bind(detail)
        .bind(now_ms())
        .execute(&self.pool)
        .await?;
        Ok(updated.rows_affected() == 1)
    }

    /// Moves standby executions to pending (this keeper performs them now) unless they were settled
    /// meanwhile; returns those moved, with their requests.
    pub async fn take_over(
        &self,
        keys: &[ExecutionKey],
    ) -> Result<Vec<PendingExecution>, StoreError> {
        let now = now_ms();
        let mut tx = self.pool.begin().await?;
        let mut moved = Vec::new();
        for key in keys {
            let row = sqlx::query(
                "UPDATE executions SET status = 'pending', updated_at = $3 \
                 WHERE trigger_id = $1 AND event_id = $2 AND status = 'standby' \
                 AND settlement <> 'settled' RETURNING request",
            )
            .bind(key.trigger_id as i64)
            .bind(hex_id(&key.event_id))
            .bind(now)
            .fetch_optional(&mut *tx)
            .await?;
            if let Some(row) = row {
                moved.push(PendingExecution {
                    key: *key,
                    request: row
                        .try_get::<Option<String>, _>("request")?
                        .unwrap_or_default(),
                });
            }
        }
        tx.commit().await?;
        Ok(moved)
    }

    /// The receipts among `receipts` that conflict with one `signer` sent before in a batch this
    /// keeper kept: same trigger, event and runner, different content. Reads only: the co-signer
    /// looks before it checks a batch, and keeps the batch only once it checked.
    pub async fn peer_conflicts(
        &self,
        signer: &str,
        receipts: &[PeerReceipt],
    ) -> Result<Vec<Conflict>, StoreError> {
        let mut conn = self.pool.acquire().await?;
        let mut conflicts = Vec::new();
        for r in receipts {
            let earlier = sqlx::query(EARLIER_CONFLICT)
                .bind(signer)
                .bind(r.key.trigger_id as i64)
                .bind(hex_id(&r.key.event_id))
                .bind(&r.runner)
                .bind(&r.receipt_hash)
                .fetch_optional(&mut *conn)
                .await?;
            if let Some(row) = earlier {
                conflicts.push(conflict_of(&row, r)?);
            }
        }
        Ok(conflicts)
    }

    /// A batch `signer` sent, as kept, if it was.
    pub async fn peer_batch(
        &self,
        signer: &str,
        digest: &str,
    ) -> Result<Option<PeerBatch>, StoreError> {
        let row = sqlx::query(
            "SELECT digest, receipts, signature FROM peer_batches WHERE signer = $1 AND digest = $2",
        )
        .bind(signer)
        .bind(digest)
        .fetch_optional(&self.pool)
        .await?;
        row.map(|row| {
            Ok(PeerBatch {
                digest: row.try_get("digest")?,
                receipts: row.try_get("receipts")?,
                signature: row.try_get("signature")?,
            })
        })
        .transpose()
    }

    /// Keeps a batch `signer` sent for co-signing, and returns every receipt in it that conflicts
    /// with one the same signer sent before: same trigger, event and runner, different content.
    ///
    /// Two concurrent calls under PostgreSQL's READ COMMITTED may each miss the other's receipts:
    /// this is evidence, not the guard. What keeps this keeper from signing both batches is
    /// [`claim_receipts`](Store::claim_receipts); the claim that loses then finds the winner's
    /// batch (kept before the winner claimed) with [`peer_conflicts`](Store::peer_conflicts).
    pub async fn record_peer_batch(
        &self,
        signer: &str,
        batch: &PeerBatch,
        receipts: &[PeerReceipt],
    ) -> Result<Vec<Conflict>, StoreError> {
        let now = now_ms();
        let mut tx = self.pool.begin().await?;
        // Write first: a SQLite transaction that reads before it writes fails with
        // SQLITE_BUSY_SNAPSHOT (no busy wait) when another connection commits in between.
        sqlx::query(
            "INSERT INTO peer_batches (digest, signer, receipts, signature, received_at) \
             VALUES ($1, $2, $3, $4, $5) ON CONFLICT (digest, signer) DO NOTHING",
        )
        .bind(&batch.digest)
        .bind(signer)
        .bind(&batch.receipts)
        .bind(&batch.signature)
        .bind(now)
        .execute(&mut *tx)
        .await?;
        let mut conflicts = Vec::new();
        for r in receipts {
            sqlx::query(
                "INSERT INTO peer_receipts (signer, trigger_id, event_id, runner, receipt_hash, \
                 digest, batch_index) VALUES ($1, $2, $3, $4, $5, $6, $7) \
                 ON CONFLICT (signer, trigger_id, event_id, runner, receipt_hash) DO NOTHING",
            )
            .bind(signer)
            .bind(r.key.trigger_id as i64)
            .bind(hex_id(&r.key.event_id))
            .bind(&r.runner)
            .bind(&r.receipt_hash)
            .bind(&batch.digest)
            .bind(i64::from(r.index))
            .execute(&mut *tx)
            .await?;
            let earlier = sqlx::query(EARLIER_CONFLICT)
                .bind(signer)
                .bind(r.key.trigger_id as i64)
                .bind(hex_id(&r.key.event_id))
                .bind(&r.runner)
                .bind(&r.receipt_hash)
                .fetch_optional(&mut *tx)
                .await?;
            if let Some(row) = earlier {
                conflicts.push(conflict_of(&row, r)?);
            }
        }
        tx.commit().await?;
        Ok(conflicts)
    }

    /// Marks the receipts of a batch from `signer` as co-signed by this keeper.
    pub async fn mark_cosigned(&self, signer: &str, digest: &str) -> Result<(), StoreError> {
        sqlx::query("UPDATE peer_receipts SET cosigned = 1 WHERE signer = $1 AND digest = $2")
            .bind(signer)
            .bind(digest)
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    /// Records an equivocation report; false if this one was reported already.
    pub async fn record_equivocation(
        &self,
        offender: &str,
        key: ExecutionKey,
        detail: &str,
    ) -> Result<bool, StoreError> {
        let inserted = sqlx::query(
            "INSERT INTO equivocations (offender, trigger_id, event_id, detail, reported_at) \
             VALUES ($1, $2, $3, $4, $5) ON CONFLICT (offender, trigger_id, event_id) DO NOTHING",
        )
        .bind(offender)
        .bind(key.trigger_id as i64)
        .bind(hex_id(&key.event_id))
        .bind(detail)
        .bind(now_ms())
        .execute(&self.pool)
        .await?
        .rows_affected();
        Ok(inserted == 1)
    }

    /// Sets the transaction an equivocation report went out in.
    pub async fn set_equivocation_tx(
        &self,
        offender: &str,
        key: ExecutionKey,
        tx_hash: &str,
    ) -> Result<(), StoreError> {
        sqlx::query(
            "UPDATE equivocations SET report_tx = $4 \
             WHERE offender = $1 AND trigger_id = $2 AND event_id = $3",
        )
        .bind(offender)
        .bind(key.trigger_id as i64)
        .bind(hex_id(&key.event_id))
        .bind(tx_hash)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    /// What this keeper has done for the network: executions it ran to the end, and receipts of
    /// other keepers it co-signed.
    pub async fn network_counts(&self) -> Result<(u64, u64), StoreError> {
        let executed: i64 = sqlx::query(
            "SELECT COUNT(*) AS n FROM executions WHERE status IN ('succeeded', 'failed')",
        )
        .fetch_one(&self.pool)
        .await?
        .try_get("n")?;
        let attested: i64 =
            sqlx::query("SELECT COUNT(*) AS n FROM peer_receipts WHERE cosigned = 1")
                .fetch_one(&self.pool)
                .await?
                .try_get("n")?;
        Ok((executed as u64, attested as u64))
    }
}
