//! `GET /v1/executions` and `GET /v1/executions/{key}`: what the keeper ran, with its log.

use axum::{
    Json,
    extract::{
        Path, Query, State,
        rejection::{PathRejection, QueryRejection},
    },
};
use herald_store::{ExecutionFilter, ExecutionKey, ExecutionRecord, ExecutionStatus, PageCursor};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use crate::{ApiState, error::ApiError};

/// Filters and paging.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ListQuery {
    /// Only this trigger's executions.
    pub trigger: Option<u64>,
    /// Only those in this state: pending, succeeded, failed, skipped, retracted.
    pub status: Option<String>,
    /// Only those recorded at or after this time (unix milliseconds).
    pub since: Option<i64>,
    /// Only those recorded before this time (unix milliseconds).
    pub until: Option<i64>,
    /// The `next` cursor of the previous page.
    pub cursor: Option<String>,
    /// Page size, 1 to 1,000 (default 50).
    pub limit: Option<u32>,
}

/// One execution.
#[derive(Debug, Serialize, ToSchema)]
pub struct ExecutionView {
    /// `<trigger>:<event>`: also the webhook-id receivers deduplicate on.
    pub key: String,
    /// The trigger.
    pub trigger: u64,
    /// The event.
    pub event: String,
    /// pending, succeeded, failed, skipped or retracted.
    pub status: String,
    /// Service attempts made.
    pub attempts: u32,
    /// The log: last error, skip reason, or result summary.
    pub detail: Option<String>,
    /// keccak256 of the result, once finished.
    pub result_hash: Option<String>,
    /// The price quoted, in the token's smallest unit.
    pub fee: Option<String>,
    /// none, submitted, settled or rejected.
    pub settlement: String,
    /// The settle transaction.
    pub settle_tx: Option<String>,
    /// The fee paid, or why settlement refused it.
    pub settle_detail: Option<String>,
    /// The event's block (0 off chain).
    pub block: u64,
    /// Recorded at, unix milliseconds.
    pub created_ms: i64,
    /// Last changed at, unix milliseconds.
    pub updated_ms: i64,
}

impl From<ExecutionRecord> for ExecutionView {
    fn from(r: ExecutionRecord) -> Self {
        let e = r.execution;
        Self {
            key: e.key.to_string(),
            trigger: e.key.trigger_id,
            event: e.key.event_id.to_string(),
            status: e.status.as_str().into(),
            attempts: e.attempts,
            detail: e.detail,
            result_hash: e.result_hash,
            fee: r.fee,
            settlement: r.settlement,
            settle_tx: r.settle_tx,
            settle_detail: r.settle_detail,
            block: r.block,
            created_ms: r.created_ms,
            updated_ms: r.updated_ms,
        }
    }
}

/// A page of executions.
#[derive(Debug, Serialize, ToSchema)]
pub struct ExecutionPageView {
    /// Newest first.
    pub items: Vec<ExecutionView>,
    /// Pass as `cursor` for the next page; absent on the last.
    pub next: Option<String>,
}

/// Executions, newest first, filtered and paginated.
#[utoipa::path(get, path = "/executions", tag = "executions", params(ListQuery),
    security(("api_key" = [])),
    responses((status = 200, body = ExecutionPageView),
              (status = 400, body = crate::error::ErrorBody),
              (status = 401, body = crate::error::ErrorBody),
              (status = 429, body = crate::error::ErrorBody)))]
pub async fn list(
    State(state): State<ApiState>,
    query: Result<Query<ListQuery>, QueryRejection>,
) -> Result<Json<ExecutionPageView>, ApiError> {
    let Query(query) = query?;
    let status = query
        .status
        .as_deref()
        .map(str::parse::<ExecutionStatus>)
        .transpose()
        .map_err(|e| ApiError::bad_request(format!("status: {e}")))?;
    let after = query
        .cursor
        .as_deref()
        .map(str::parse::<PageCursor>)
        .transpose()
        .map_err(|e| ApiError::bad_request(format!("cursor: {e}")))?;
    let limit = query.limit.unwrap_or(50);
    if !(1..=1_000).contains(&limit) {
        return Err(ApiError::bad_request(format!(
            "limit: expected 1 to 1000, found {limit}"
        )));
    }
    let page = state
        .store
        .executions(&ExecutionFilter {
            trigger_id: query.trigger,
            status,
            since_ms: query.since,
            until_ms: query.until,
            after,
            limit,
        })
        .await?;
    Ok(Json(ExecutionPageView {
        items: page.items.into_iter().map(Into::into).collect(),
        next: page.next.map(|c| c.to_string()),
    }))
}

/// One execution by key.
#[utoipa::path(get, path = "/executions/{key}", tag = "executions",
    params(("key" = String, Path, description = "<trigger id>:<event id>")),
    security(("api_key" = [])),
    responses((status = 200, body = ExecutionView),
              (status = 400, body = crate::error::ErrorBody),
              (status = 404, body = crate::error::ErrorBody)))]
pub async fn show(
    State(state): State<ApiState>,
    key: Result<Path<String>, PathRejection>,
) -> Result<Json<ExecutionView>, ApiError> {
    let Path(key) = key?;
    let parsed: ExecutionKey = key.parse().map_err(ApiError::bad_request)?;
    let record = state
        .store
        .execution_record(parsed)
        .await?
        .ok_or_else(|| ApiError::not_found(format!("no execution {key}")))?;
    Ok(Json(record.into()))
}
