//! Liveness, readiness and metrics: open to everyone (no key), as probes and scrapers expect.

use axum::{
    Json,
    extract::State,
    http::{StatusCode, header},
    response::IntoResponse,
};
use serde::Serialize;
use utoipa::ToSchema;

use crate::ApiState;

/// A probe's answer.
#[derive(Serialize, ToSchema)]
pub struct Health {
    /// `ok`, or what is not.
    pub status: String,
}

/// Liveness: the process answers.
#[utoipa::path(get, path = "/health", tag = "system",
    responses((status = 200, description = "the process is alive", body = Health)))]
pub async fn health() -> Json<Health> {
    Json(Health {
        status: "ok".into(),
    })
}

/// Readiness: the store answers, and the chain's node does (when the API has one).
#[utoipa::path(get, path = "/ready", tag = "system",
    responses((status = 200, description = "ready", body = Health),
              (status = 503, description = "a dependency is down", body = Health)))]
pub async fn ready(State(state): State<ApiState>) -> impl IntoResponse {
    if let Err(e) = state.store.event_types().await {
        let status = format!("store: {e}");
        return (StatusCode::SERVICE_UNAVAILABLE, Json(Health { status }));
    }
    if let Some(chain) = &state.chain
        && let Err(e) = alloy::providers::Provider::get_block_number(&chain.provider).await
    {
        let status = format!("chain: {e}");
        return (StatusCode::SERVICE_UNAVAILABLE, Json(Health { status }));
    }
    (
        StatusCode::OK,
        Json(Health {
            status: "ok".into(),
        }),
    )
}

/// Prometheus metrics.
#[utoipa::path(get, path = "/metrics", tag = "system",
    responses((status = 200, description = "Prometheus text exposition", content_type = "text/plain")))]
pub async fn metrics(State(state): State<ApiState>) -> impl IntoResponse {
    (
        [(
            header::CONTENT_TYPE,
            "application/openmetrics-text; version=1.0.0; charset=utf-8",
        )],
        state.metrics.render(),
    )
}
