//! Finished executions through settlement: which may be put in a receipt now, where each one's
//! settlement stands, and the rows set aside because they cannot be read back.

use std::str::FromStr;

use alloy_primitives::{B256, Bytes, U256};
use sqlx::Row;

use crate::{
    pipeline::key_of,
    store::{ExecutionKey, Store, StoreError, hex_id, now_ms},
};

/// A finished execution ready to be put in a receipt.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Settleable {
    /// Its key.
    pub key: ExecutionKey,
    /// Whether the service succeeded.
    pub success: bool,
    /// keccak256 of the result.
    pub result_hash: B256,
    /// When the service finished, unix seconds.
    pub executed_at: u64,
    /// The runner's fee, in the token's smallest unit.
    pub runner_fee: U256,
    /// The result `result_hash` commits to (empty for results stored before it was kept).
    pub result: Bytes,
    /// The event, as the CloudEvents JSON it was stored as: the evidence co-signers check.
    pub event: serde_json::Value,
}

/// Where an execution's settlement stands.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Settlement {
    /// Not yet submitted.
    None,
    /// In a `settle` transaction not yet seen mined.
    Submitted {
        /// The transaction.
        tx: B256,
    },
    /// `ReceiptSettled` was seen.
    Settled {
        /// The fee paid, in the token's smallest unit.
        fee: U256,
    },
    /// `ReceiptRejected` was seen.
    Rejected {
        /// The reason's name.
        reason: String,
    },
    /// Its stored row could not be read back into a receipt (a corrupt or foreign row): it is
    /// set aside, never signed, so that the rest of its batch and its trigger settle.
    Quarantined {
        /// What could not be read.
        reason: String,
    },
}

impl Settlement {
    /// The stored name of the state, and its detail column.
    fn columns(&self) -> (&'static str, Option<String>, Option<String>) {
        match self {
            Self::None => ("none", None, None),
            Self::Submitted { tx } => ("submitted", Some(tx.to_string()), None),
            Self::Settled { fee } => ("settled", None, Some(fee.to_string())),
            Self::Rejected { reason } => ("rejected", None, Some(reason.clone())),
            Self::Quarantined { reason } => ("quarantined", None, Some(reason.clone())),
        }
    }
}

impl Store {
    /// Finished executions not yet submitted whose events are at or below `max_block`, in the order
    /// settlement needs: by trigger, then by position. A trigger's execution waits while an earlier
    /// one of the same trigger is still pending or not yet deep enough, or is another keeper's and
    /// not yet seen settled, because settlement refuses a position at or below one already settled.
    pub async fn settleable(
        &self,
        max_block: u64,
        limit: u32,
    ) -> Result<Vec<Settleable>, StoreError> {
        // Each trigger's barrier is its first execution that must settle before anything after
        // it: one still running, or finished but not yet deep enough. Computing it once per
        // trigger keeps this proportional to the unsettled executions, not to the history.
        let rows = sqlx::query(
            "WITH barrier AS (SELECT trigger_id, MIN(position) AS position FROM executions \
                 WHERE (status IN ('pending', 'standby') AND settlement <> 'settled') \
                     OR (settlement = 'none' AND status IN ('succeeded', 'failed') AND block > $1) \
                 GROUP BY trigger_id) \
             SELECT e.trigger_id, e.event_id, e.status, e.result_hash, e.executed_at, e.runner_fee, \
                 e.result, ev.cloudevent \
             FROM executions e LEFT JOIN barrier b ON b.trigger_id = e.trigger_id \
             JOIN events ev ON ev.id = e.event_id \
             WHERE e.settlement = 'none' AND e.status IN ('succeeded', 'failed') AND e.block <= $1 \
             AND (b.position IS NULL OR e.position < b.position) \
             ORDER BY e.trigger_id, e.position LIMIT $2",
        )
        .bind(max_block as i64)
        .bind(i64::from(limit))
        .fetch_all(&self.pool)
        .await?;
        let mut ready = Vec::with_capacity(rows.len());
        let mut corrupt = Vec::new();
        for row in &rows {
            match settleable_of(row) {
                Ok(settleable) => ready.push(settleable),
                Err(reason) => corrupt.push((row_id(row)?, reason)),
            }
        }
        self.quarantine_rows(&corrupt).await?;
        Ok(ready)
    }

    /// Sets executions aside, each with why: they are logged, shown as `quarantined` with the
    /// reason, and never offered for settlement again. For what the store returned but the
    /// caller cannot use (an event no co-signer could check, say).
    pub async fn quarantine(
        &self,
        executions: &[(ExecutionKey, String)],
    ) -> Result<(), StoreError> {
        let rows: Vec<_> = executions
            .iter()
            .map(|(key, reason)| {
                (
                    (key.trigger_id as i64, hex_id(&key.event_id)),
                    reason.clone(),
                )
            })
            .collect();
        self.quarantine_rows(&rows).await
    }

    /// [`quarantine`](Self::quarantine) by the raw (trigger, event id) columns, which address a
    /// row even when they do not decode. Settled and rejected executions keep their outcome.
    async fn quarantine_rows(&self, rows: &[((i64, String), String)]) -> Result<(), StoreError> {
        if rows.is_empty() {
            return Ok(());
        }
        let now = now_ms();
        let mut tx = self.pool.begin().await?;
        for ((trigger_id, event_id), reason) in rows {
            tracing::error!(
                trigger = trigger_id,
                event = %event_id,
                %reason,
                "quarantined a stored execution that cannot be read back; it will not be settled"
            );
            sqlx::query(
                "UPDATE executions SET settlement = 'quarantined', settle_detail = $3, \
                 updated_at = $4 WHERE trigger_id = $1 AND event_id = $2 \
                 AND settlement IN ('none', 'submitted')",
            )
            .bind(trigger_id)
            .bind(event_id)
            .bind(reason)
            .bind(now)
            .execute(&mut *tx)
            .await?;
        }
        tx.commit().await?;
        Ok(())
    }

    /// Records where executions stand in settlement, in one transaction. `Settled` is final.
    pub async fn set_settlement(
        &self,
        updates: &[(ExecutionKey, Settlement)],
    ) -> Result<(), StoreError> {
        let now = now_ms();
        let mut tx = self.pool.begin().await?;
        for (key, settlement) in updates {
            let (state, settle_tx, detail) = settlement.columns();
            // Settled is final: a later rejection (a duplicate submission after a restart is
            // refused as stale) or resubmission must not overwrite it.
            sqlx::query(
                "UPDATE executions SET settlement = $3, settle_tx = COALESCE($4, settle_tx), \
                 settle_detail = $5, updated_at = $6 WHERE trigger_id = $1 AND event_id = $2 \
                 AND (settlement <> 'settled' OR $3 = 'settled')",
            )
            .bind(key.trigger_id as i64)
            .bind(hex_id(&key.event_id))
            .bind(state)
            .bind(settle_tx)
            .bind(detail)
            .bind(now)
            .execute(&mut *tx)
            .await?;
        }
        tx.commit().await?;
        Ok(())
    }

    /// An execution's settlement state.
    pub async fn settlement(&self, key: ExecutionKey) -> Result<Settlement, StoreError> {
        let row = sqlx::query(
            "SELECT settlement, settle_tx, settle_detail FROM executions \
             WHERE trigger_id = $1 AND event_id = $2",
        )
        .bind(key.trigger_id as i64)
        .bind(hex_id(&key.event_id))
        .fetch_optional(&self.pool)
        .await?;
        let Some(row) = row else {
            return Ok(Settlement::None);
        };
        let state: String = row.try_get("settlement")?;
        let tx: Option<String> = row.try_get("settle_tx")?;
        let detail: Option<String> = row.try_get("settle_detail")?;
        let corrupt = |reason: String| StoreError::Corrupt {
            table: "executions",
            reason: format!("execution {key}: {reason}"),
        };
        Ok(match state.as_str() {
            "submitted" => Settlement::Submitted {
                tx: parsed("settle_tx", tx.as_deref()).map_err(corrupt)?,
            },
            "settled" => Settlement::Settled {
                fee: parsed("settle_detail", detail.as_deref()).map_err(corrupt)?,
            },
            "rejected" => Settlement::Rejected {
                reason: detail.unwrap_or_default(),
            },
            "quarantined" => Settlement::Quarantined {
                reason: detail.unwrap_or_default(),
            },
            "none" => Settlement::None,
            other => return Err(corrupt(format!("unknown settlement state {other:?}"))),
        })
    }

    /// Executions submitted but not seen settled or rejected, grouped by transaction: what a
    /// restarted keeper reconciles.
    /// A submitted row whose transaction cannot be read back is quarantined: which transaction
    /// carried it is unknown, so neither reconciling it nor submitting it again would be sound.
    pub async fn submitted(&self) -> Result<Vec<(B256, Vec<ExecutionKey>)>, StoreError> {
        let rows = sqlx::query(
            "SELECT trigger_id, event_id, settle_tx FROM executions WHERE settlement = 'submitted' \
             ORDER BY settle_tx, trigger_id, position",
        )
        .fetch_all(&self.pool)
        .await?;
        let mut groups: Vec<(B256, Vec<ExecutionKey>)> = Vec::new();
        let mut corrupt = Vec::new();
        for row in &rows {
            let read = key_of(row).map_err(|e| e.to_string()).and_then(|key| {
                let tx = row.try_get::<Option<String>, _>("settle_tx");
                let tx = tx.map_err(|e| e.to_string())?;
                Ok((key, parsed::<B256>("settle_tx", tx.as_deref())?))
            });
            let (key, tx) = match read {
                Ok(read) => read,
                Err(reason) => {
                    corrupt.push((row_id(row)?, reason));
                    continue;
                }
            };
            match groups.last_mut() {
                Some((last, keys)) if *last == tx => keys.push(key),
                _ => groups.push((tx, vec![key])),
            }
        }
        self.quarantine_rows(&corrupt).await?;
        Ok(groups)
    }
}

/// A finished execution's row as a [`Settleable`], or what in it cannot be read.
fn settleable_of(row: &sqlx::any::AnyRow) -> Result<Settleable, String> {
    let column = |name: &str| {
        row.try_get::<Option<String>, _>(name)
            .map_err(|e| format!("{name}: {e}"))
    };
    let status: String = row.try_get("status").map_err(|e| format!("status: {e}"))?;
    let executed_at: Option<i64> = row
        .try_get("executed_at")
        .map_err(|e| format!("executed_at: {e}"))?;
    let result_hash: B256 = parsed("result_hash", column("result_hash")?.as_deref())?;
    let result = match column("result")? {
        // Stored before results were kept: nothing to check it against.
        None => Bytes::new(),
        Some(text) => {
            let result: Bytes = parsed("result", Some(&text))?;
            if alloy_primitives::keccak256(&result) != result_hash {
                return Err("result does not hash to result_hash".into());
            }
            result
        }
    };
    let event: String = row
        .try_get("cloudevent")
        .map_err(|e| format!("cloudevent: {e}"))?;
    Ok(Settleable {
        key: key_of(row).map_err(|e| e.to_string())?,
        success: status == "succeeded",
        result_hash,
        executed_at: executed_at.unwrap_or_default().max(0) as u64,
        runner_fee: match column("runner_fee")? {
            None => U256::ZERO,
            text => parsed("runner_fee", text.as_deref())?,
        },
        result,
        event: serde_json::from_str(&event).map_err(|e| format!("event's cloudevent: {e}"))?,
    })
}

/// A row's raw key columns, to address it even when they do not decode.
fn row_id(row: &sqlx::any::AnyRow) -> Result<(i64, String), StoreError> {
    Ok((row.try_get("trigger_id")?, row.try_get("event_id")?))
}

/// A column's text as a `T`, or why it is not one.
fn parsed<T: FromStr>(column: &str, text: Option<&str>) -> Result<T, String>
where
    T::Err: std::fmt::Display,
{
    let text = text.ok_or_else(|| format!("{column} is missing"))?;
    text.parse()
        .map_err(|e| format!("{column} {text:?} does not decode: {e}"))
}
