//! The keeper-to-keeper HTTP routes, served beside the REST API.
//!
//! - `POST /v1/peer/attest`: co-sign a batch (200 with the signature; 422 refused for good, 503
//!   refused for now — the co-signer is behind — both with the reasons per receipt);
//! - `POST /v1/peer/heartbeat`: a peer's heartbeat (204; 401 when it does not verify);
//! - `GET /v1/peers`: every registered keeper as this one sees it (online, last seen, counts).
//!
//! Peers authenticate by signing each request with their keeper key, not with API keys.

use std::sync::Arc;

use axum::{
    Json, Router,
    extract::{DefaultBodyLimit, State},
    http::StatusCode,
    response::{IntoResponse, Response},
    routing::{get, post},
};
use herald_store::Store;
use serde_json::json;

use super::{
    attest::Attestor,
    health::Health,
    protocol::{AttestRequest, Heartbeat},
};

/// Largest co-signing request: a full batch with its evidence.
const MAX_PEER_BODY: usize = 16 * 1024 * 1024;

/// What the peer routes need.
#[derive(Clone)]
pub struct PeerState {
    /// Checks and co-signs.
    pub attestor: Arc<Attestor>,
    /// Peers' heartbeats.
    pub health: Arc<Health>,
    /// This keeper's store (its own counts).
    pub store: Store,
}

/// The peer routes.
pub fn router(state: PeerState) -> Router {
    Router::new()
        .route("/v1/peer/attest", post(attest))
        .route("/v1/peer/heartbeat", post(heartbeat))
        .route("/v1/peers", get(peers))
        .layer(DefaultBodyLimit::max(MAX_PEER_BODY))
        .with_state(state)
}

async fn attest(State(state): State<PeerState>, Json(request): Json<AttestRequest>) -> Response {
    match state.attestor.attest(request).await {
        Ok(answer) => Json(answer).into_response(),
        Err(refusal) => {
            let status = if refusal.retry {
                StatusCode::SERVICE_UNAVAILABLE
            } else {
                StatusCode::UNPROCESSABLE_ENTITY
            };
            (status, Json(refusal)).into_response()
        }
    }
}

async fn heartbeat(State(state): State<PeerState>, Json(beat): Json<Heartbeat>) -> Response {
    match state.health.receive(&beat) {
        Ok(()) => StatusCode::NO_CONTENT.into_response(),
        Err(error) => (StatusCode::UNAUTHORIZED, Json(json!({ "error": error }))).into_response(),
    }
}

async fn peers(State(state): State<PeerState>) -> Response {
    let own = state.store.network_counts().await.unwrap_or_default();
    Json(json!({
        "keeper": state.attestor.address(),
        "peers": state.health.view(own),
    }))
    .into_response()
}
