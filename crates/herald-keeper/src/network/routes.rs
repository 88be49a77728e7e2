//! The keeper-to-keeper HTTP routes, served beside the REST API.
//!
//! - `POST /v1/peer/attest`: co-sign a batch (200 with the signature; 422 refused for good, 503
//!   refused for now — the co-signer is behind — both with the reasons per receipt). Refused
//!   before the body is read: 400 another protocol version, 401 an unknown sender, another
//!   addressee or a stale time, 403 a registered keeper that is not active, 413 a body declared
//!   over [`MAX_ATTEST_BODY`], 429 every slot taken. After reading: 413 over the cap or over
//!   [`MAX_RECEIPTS_PER_REQUEST`](super::protocol::MAX_RECEIPTS_PER_REQUEST) receipts, 401 a
//!   signature that is not the sender's or a replay, 408 a body not sent in time;
//! - `POST /v1/peer/heartbeat`: a peer's heartbeat (204; 401 when it does not verify);
//! - `GET /v1/peers`: every registered keeper as this one sees it (online, last seen, counts).
//!
//! Peers authenticate by signing each request with their keeper key, not with API keys.

use std::{sync::Arc, time::Duration};

use axum::{
    Json, Router,
    body::Body,
    extract::{DefaultBodyLimit, State},
    http::{HeaderMap, StatusCode, header::CONTENT_LENGTH},
    response::{IntoResponse, Response},
    routing::{get, post},
};
use herald_store::Store;
use serde_json::json;

use super::{
    attest::{Attestor, Rejection},
    health::Health,
    protocol::{Heartbeat, MAX_ATTEST_BODY, Refusal},
};

/// Largest body of the routes that parse JSON directly (heartbeats): a few hundred bytes.
const MAX_SMALL_BODY: usize = 64 * 1024;

/// Longest a co-signing request's body may take to arrive once admitted: a slow sender holds one
/// of the few slots.
const BODY_TIMEOUT: Duration = Duration::from_secs(10);

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
        // The attest route reads its body itself, capped; this limit is for the others.
        .layer(DefaultBodyLimit::max(MAX_SMALL_BODY))
        .with_state(state)
}

/// Admits a request on its headers, then reads its body (capped, in a slot, in time) and only then
/// hands it to the attestor.
async fn attest(State(state): State<PeerState>, headers: HeaderMap, body: Body) -> Response {
    let attestor = &state.attestor;
    let peer = match attestor.admit(&headers) {
        Ok(peer) => peer,
        Err(rejection) => return rejected(rejection),
    };
    let declared = headers
        .get(CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    if let Some(length) = declared
        && length > MAX_ATTEST_BODY as u64
    {
        return rejected(Rejection::TooLarge(format!(
            "content-length {length}: at most {MAX_ATTEST_BODY} bytes"
        )));
    }
    let _slot = match attestor.slot() {
        Ok(slot) => slot,
        Err(rejection) => return rejected(rejection),
    };
    let body = match tokio::time::timeout(BODY_TIMEOUT, axum::body::to_bytes(body, MAX_ATTEST_BODY))
        .await
    {
        Ok(Ok(body)) => body,
        Ok(Err(e)) => {
            return rejected(Rejection::TooLarge(format!(
                "the body is over {MAX_ATTEST_BODY} bytes or was cut off: {e}"
            )));
        }
        Err(_) => {
            return answer(
                StatusCode::REQUEST_TIMEOUT,
                Refusal {
                    error: format!("the body did not arrive within {BODY_TIMEOUT:?}"),
                    receipts: Vec::new(),
                    retry: true,
                },
            );
        }
    };
    match attestor.attest(&peer, &body).await {
        Ok(signed) => Json(signed).into_response(),
        Err(rejection) => rejected(rejection),
    }
}

fn rejected(rejection: Rejection) -> Response {
    let status =
        StatusCode::from_u16(rejection.status()).unwrap_or(StatusCode::UNPROCESSABLE_ENTITY);
    answer(status, rejection.into_refusal())
}

fn answer(status: StatusCode, refusal: Refusal) -> Response {
    (status, Json(refusal)).into_response()
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
