//! Reading executions back for people: filtered, newest first, a page at a time.

use sqlx::Row;

use crate::{
    Execution, ExecutionKey, ExecutionStatus, Store, StoreError,
    pipeline::key_of,
    store::{execution_of, hex_id},
};

/// Which executions to list.
#[derive(Clone, Debug, Default)]
pub struct ExecutionFilter {
    /// Only this trigger's.
    pub trigger_id: Option<u64>,
    /// Only those in this state.
    pub status: Option<ExecutionStatus>,
    /// Only those recorded at or after this time (unix milliseconds).
    pub since_ms: Option<i64>,
    /// Only those recorded before this time (unix milliseconds).
    pub until_ms: Option<i64>,
    /// Continue after this page cursor (from [`ExecutionPage::next`]).
    pub after: Option<PageCursor>,
    /// Most rows (capped at 1,000).
    pub limit: u32,
}

/// Where a page ended: the last row's (recorded at, key).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PageCursor {
    /// The row's creation time, unix milliseconds.
    pub created_ms: i64,
    /// The row's key.
    pub key: ExecutionKey,
}

impl std::fmt::Display for PageCursor {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}_{}", self.created_ms, self.key)
    }
}

impl std::str::FromStr for PageCursor {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let invalid = || format!("not a page cursor: {s:?}");
        let (created, key) = s.split_once('_').ok_or_else(invalid)?;
        Ok(Self {
            created_ms: created.parse().map_err(|_| invalid())?,
            key: key.parse().map_err(|_| invalid())?,
        })
    }
}

/// An execution with everything a person asks about it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ExecutionRecord {
    /// Key, status, attempts, detail and result.
    pub execution: Execution,
    /// The price quoted at dispatch, in the token's smallest unit.
    pub fee: Option<String>,
    /// Settlement: `none`, `submitted`, `settled`, `rejected` or `quarantined`.
    pub settlement: String,
    /// The settle transaction.
    pub settle_tx: Option<String>,
    /// The fee paid, why settlement refused it, or why it was quarantined.
    pub settle_detail: Option<String>,
    /// The chain block of the event (0 for off-chain events).
    pub block: u64,
    /// When it was recorded, unix milliseconds.
    pub created_ms: i64,
    /// When it last changed, unix milliseconds.
    pub updated_ms: i64,
    /// The service request it sends (JSON), if it runs a service.
    pub request: Option<String>,
}

/// One page of executions.
#[derive(Clone, Debug, Default)]
pub struct ExecutionPage {
    /// The rows, newest first.
    pub items: Vec<ExecutionRecord>,
    /// The cursor for the next page, if there may be one.
    pub next: Option<PageCursor>,
}

impl Store {
    /// Executions matching `filter`, newest first.
    pub async fn executions(&self, filter: &ExecutionFilter) -> Result<ExecutionPage, StoreError> {
        let limit = filter.limit.clamp(1, 1_000);
        let (after_created, after_trigger, after_event) = match &filter.after {
            Some(c) => (
                Some(c.created_ms),
                Some(c.key.trigger_id as i64),
                Some(hex_id(&c.key.event_id)),
            ),
            None => (None, None, None),
        };
        // One static statement: absent filters are NULL and match everything.
        let rows = sqlx::query(
            "SELECT trigger_id, event_id, status, attempts, detail, result_hash, fee, settlement, \
             settle_tx, settle_detail, block, created_at, updated_at, request FROM executions \
             WHERE ($1 IS NULL OR trigger_id = $1) AND ($2 IS NULL OR status = $2) \
             AND ($3 IS NULL OR created_at >= $3) AND ($4 IS NULL OR created_at < $4) \
             AND ($5 IS NULL OR created_at < $5 OR (created_at = $5 AND (trigger_id > $6 \
                 OR (trigger_id = $6 AND event_id > $7)))) \
             ORDER BY created_at DESC, trigger_id, event_id LIMIT $8",
        )
        .bind(filter.trigger_id.map(|t| t as i64))
        .bind(filter.status.map(|s| s.as_str().to_string()))
        .bind(filter.since_ms)
        .bind(filter.until_ms)
        .bind(after_created)
        .bind(after_trigger)
        .bind(after_event)
        .bind(i64::from(limit))
        .fetch_all(&self.pool)
        .await?;
        let items = rows.iter().map(record_of).collect::<Result<Vec<_>, _>>()?;
        let next = (items.len() == limit as usize)
            .then(|| items.last())
            .flatten()
            .map(|last| PageCursor {
                created_ms: last.created_ms,
                key: last.execution.key,
            });
        Ok(ExecutionPage { items, next })
    }

    /// One execution with everything about it.
    pub async fn execution_record(
        &self,
        key: ExecutionKey,
    ) -> Result<Option<ExecutionRecord>, StoreError> {
        let row = sqlx::query(
            "SELECT trigger_id, event_id, status, attempts, detail, result_hash, fee, settlement, \
             settle_tx, settle_detail, block, created_at, updated_at, request FROM executions \
             WHERE trigger_id = $1 AND event_id = $2",
        )
        .bind(key.trigger_id as i64)
        .bind(hex_id(&key.event_id))
        .fetch_optional(&self.pool)
        .await?;
        row.as_ref().map(record_of).transpose()
    }
}

fn record_of(row: &sqlx::any::AnyRow) -> Result<ExecutionRecord, StoreError> {
    let block: i64 = row.try_get("block")?;
    Ok(ExecutionRecord {
        execution: execution_of(row, key_of(row)?)?,
        fee: row.try_get("fee")?,
        settlement: row.try_get("settlement")?,
        settle_tx: row.try_get("settle_tx")?,
        settle_detail: row.try_get("settle_detail")?,
        block: block as u64,
        created_ms: row.try_get("created_at")?,
        updated_ms: row.try_get("updated_at")?,
        request: row.try_get("request")?,
    })
}
