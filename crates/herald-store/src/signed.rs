//! What this keeper signed: one receipt per (trigger, event, runner), recorded before the
//! signature is made.
//!
//! The contract slashes a keeper that signed two different receipts for the same trigger, event
//! and runner. Checking "have I signed another one?" and then recording "I signed this one" in two
//! statements is a race under PostgreSQL's READ COMMITTED (two transactions each see nothing and
//! each record theirs). Here the primary key of `signed_receipts` decides instead: a claim inserts
//! its row or finds the one already there, and a concurrent insert of the same key waits for the
//! first to commit or roll back. Exactly one receipt per key is ever recorded, whatever the
//! isolation level and however many processes share the database; a keeper signs only what it
//! recorded.

use sqlx::Row;

use crate::store::{ExecutionKey, Store, StoreError, hex_id, now_ms};

/// A receipt this keeper signs (or signed) for one execution by one runner.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SignedReceipt {
    /// The execution it reports.
    pub key: ExecutionKey,
    /// Its runner, 0x address (compared without regard to case).
    pub runner: String,
    /// Its EIP-712 struct hash, 0x hex.
    pub receipt_hash: String,
    /// Its `executedAt`, unix seconds: frozen once signed, so a retry sends the same receipt.
    pub executed_at: u64,
}

/// A receipt refused because this keeper already signed a different one for the same execution
/// and runner.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error(
    "receipts[{index}] (execution {key}, runner {runner}) is {offered}, but this keeper already \
     signed {signed} for that execution and runner, and never signs two"
)]
pub struct AlreadySigned {
    /// The receipt's index in the claim.
    pub index: usize,
    /// The execution.
    pub key: ExecutionKey,
    /// The runner, lowercase.
    pub runner: String,
    /// The hash of the receipt signed before.
    pub signed: String,
    /// The hash of the receipt refused.
    pub offered: String,
}

impl Store {
    /// Records `receipts` as signed by this keeper in the batch `digest`, all of them or none,
    /// before the keeper signs: returns the receipts refused because a different receipt for the
    /// same (trigger, event, runner) was recorded before (by any connection or process). Empty
    /// means every receipt is recorded (or was already, identical) and may be signed; otherwise
    /// nothing was recorded and nothing may be signed.
    pub async fn claim_receipts(
        &self,
        digest: &str,
        receipts: &[SignedReceipt],
    ) -> Result<Vec<AlreadySigned>, StoreError> {
        // In key order, so two claims over overlapping keys wait for each other instead of
        // deadlocking on PostgreSQL.
        let mut order: Vec<(usize, String, String, String)> = receipts
            .iter()
            .enumerate()
            .map(|(i, r)| {
                (
                    i,
                    hex_id(&r.key.event_id),
                    r.runner.to_ascii_lowercase(),
                    r.receipt_hash.to_ascii_lowercase(),
                )
            })
            .collect();
        order.sort_by(|a, b| {
            (receipts[a.0].key.trigger_id, &a.1, &a.2).cmp(&(
                receipts[b.0].key.trigger_id,
                &b.1,
                &b.2,
            ))
        });
        let now = now_ms();
        let mut refused = Vec::new();
        // The first statement writes (see `record_peer_batch`).
        let mut tx = self.pool.begin().await?;
        for (index, event_id, runner, hash) in &order {
            let r = &receipts[*index];
            let inserted = sqlx::query(
                "INSERT INTO signed_receipts (trigger_id, event_id, runner, receipt_hash, \
                 executed_at, digest, signed_at) VALUES ($1, $2, $3, $4, $5, $6, $7) \
                 ON CONFLICT (trigger_id, event_id, runner) DO NOTHING",
            )
            .bind(r.key.trigger_id as i64)
            .bind(event_id)
            .bind(runner)
            .bind(hash)
            .bind(r.executed_at as i64)
            .bind(digest)
            .bind(now)
            .execute(&mut *tx)
            .await?
            .rows_affected()
                == 1;
            if inserted {
                continue;
            }
            // Not inserted: a row for this key is committed (an insert waits for a concurrent one
            // to finish), and this statement's snapshot sees it.
            let signed: Option<String> = sqlx::query(
                "SELECT receipt_hash FROM signed_receipts \
                 WHERE trigger_id = $1 AND event_id = $2 AND runner = $3",
            )
            .bind(r.key.trigger_id as i64)
            .bind(event_id)
            .bind(runner)
            .fetch_optional(&mut *tx)
            .await?
            .map(|row| row.try_get("receipt_hash"))
            .transpose()?;
            match signed {
                Some(signed) if signed == *hash => {}
                Some(signed) => refused.push(AlreadySigned {
                    index: *index,
                    key: r.key,
                    runner: runner.clone(),
                    signed,
                    offered: hash.clone(),
                }),
                None => {
                    return Err(StoreError::Corrupt {
                        table: "signed_receipts",
                        reason: format!(
                            "execution {} runner {runner}: neither inserted nor found",
                            r.key
                        ),
                    });
                }
            }
        }
        if refused.is_empty() {
            tx.commit().await?;
        } else {
            tx.rollback().await?;
            refused.sort_by_key(|r| r.index);
        }
        Ok(refused)
    }

    /// The receipts this keeper signed for `runner` among the executions `keys`, in the order of
    /// `keys` (those never signed are left out): what a performer's later attempts reuse.
    pub async fn signed_receipts(
        &self,
        runner: &str,
        keys: &[ExecutionKey],
    ) -> Result<Vec<SignedReceipt>, StoreError> {
        let runner = runner.to_ascii_lowercase();
        let mut conn = self.pool.acquire().await?;
        let mut found = Vec::new();
        for key in keys {
            let row = sqlx::query(
                "SELECT receipt_hash, executed_at FROM signed_receipts \
                 WHERE trigger_id = $1 AND event_id = $2 AND runner = $3",
            )
            .bind(key.trigger_id as i64)
            .bind(hex_id(&key.event_id))
            .bind(&runner)
            .fetch_optional(&mut *conn)
            .await?;
            if let Some(row) = row {
                let executed_at: i64 = row.try_get("executed_at")?;
                found.push(SignedReceipt {
                    key: *key,
                    runner: runner.clone(),
                    receipt_hash: row.try_get("receipt_hash")?,
                    executed_at: executed_at as u64,
                });
            }
        }
        Ok(found)
    }
}
