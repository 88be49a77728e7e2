//! The keeper-to-keeper HTTP routes, served beside the REST API.
//!
//! - `POST /v1/peer/attest`: co-sign a batch (200 with the signature; 422 refused for good, 503
//!   refused for now — the co-signer is behind — both with the reasons per receipt). Refused
//!   before the body is read: 400 another protocol version, 401 an unknown sender, another
//!   addressee or a stale time, 403 a registered keeper that is not active, 413 a body declared
//!   over [`MAX_ATTEST_BODY`], 429 every slot taken. After reading: 413 over the cap or over
//!   [`MAX_RECEIPTS_PER_REQUEST`](super::protocol::MAX_RECEIPTS_PER_REQUEST) receipts, 401 a
//!   signature that is not the sender's or a replay, 408 a body not sent in time;
//! - `POST /v1/peer/event`: an API event another keeper was posted, for sealed subscriptions
//!   sealed to this keeper and not to it (200 with the subscriptions recorded; refused
//!   before and after reading as the co-signing route is, 422 when it may perform none of them,
//!   503 when it has not read one of them yet or could not record them);
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
use tokio::sync::{OwnedSemaphorePermit, mpsc, oneshot};

use super::{
    attest::{Attestor, Rejection},
    health::Health,
    protocol::{Heartbeat, MAX_ATTEST_BODY, MAX_RELAY_BODY, PeerHeaders, Refusal, RelayAnswer},
    relay::Relayed,
};

/// Largest body of the routes that parse JSON directly (heartbeats): a few hundred bytes.
const MAX_SMALL_BODY: usize = 64 * 1024;

/// Longest a co-signing request's body may take to arrive once admitted: a slow sender holds one
/// of the few slots.
const BODY_TIMEOUT: Duration = Duration::from_secs(10);

/// Longest a relayed event may wait for the main loop to record it: less than the relaying
/// keeper waits for the answer, so an event recorded late is one it was told of. (An event
/// recorded after the answer is still performed once, by rank among its recipients.)
const RECORD_TIMEOUT: Duration = Duration::from_secs(3);

/// What the peer routes need.
#[derive(Clone)]
pub struct PeerState {
    /// Checks and co-signs.
    pub attestor: Arc<Attestor>,
    /// Peers' heartbeats.
    pub health: Arc<Health>,
    /// This keeper's store (its own counts).
    pub store: Store,
    /// Where relayed events go to be recorded (the keeper's main loop).
    pub relays: mpsc::Sender<Relayed>,
}

/// The peer routes.
pub fn router(state: PeerState) -> Router {
    Router::new()
        .route("/v1/peer/attest", post(attest))
        .route("/v1/peer/event", post(relayed_event))
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
    let slot = || attestor.slot();
    let (peer, body, _slot) = match admitted(attestor, &headers, body, MAX_ATTEST_BODY, slot).await
    {
        Ok(admitted) => admitted,
        Err(response) => return response,
    };
    match state.attestor.attest(&peer, &body).await {
        Ok(signed) => Json(signed).into_response(),
        Err(rejection) => rejected(rejection),
    }
}

/// Checks a relayed event as the co-signing route checks a request, then has the main loop record
/// the subscriptions this keeper may perform, and answers only once they are stored: until then
/// the relaying keeper keeps the event and asks again.
async fn relayed_event(State(state): State<PeerState>, headers: HeaderMap, body: Body) -> Response {
    let attestor = &state.attestor;
    let slot = || attestor.relay_slot();
    let (peer, body, _slot) = match admitted(attestor, &headers, body, MAX_RELAY_BODY, slot).await {
        Ok(admitted) => admitted,
        Err(response) => return response,
    };
    let (event, accepted) = match state.attestor.read_relayed(&peer, &body) {
        Ok(checked) => checked,
        Err(rejection) => return rejected(rejection),
    };
    let busy = |error: String| {
        answer(
            StatusCode::SERVICE_UNAVAILABLE,
            Refusal {
                error,
                receipts: Vec::new(),
                retry: true,
            },
        )
    };
    let (done, recorded) = oneshot::channel();
    let relayed = Relayed {
        event,
        triggers: accepted,
        done,
    };
    let recorded = tokio::time::timeout(RECORD_TIMEOUT, async {
        state.relays.send(relayed).await.ok()?;
        recorded.await.ok()
    });
    match recorded.await {
        Ok(Some(Ok(recorded))) => Json(RelayAnswer {
            keeper: state.attestor.address(),
            accepted: recorded,
        })
        .into_response(),
        Ok(Some(Err(error))) => busy(format!("recording the relayed event: {error}")),
        Ok(None) => busy("this keeper is stopping".into()),
        Err(_) => busy("the relayed event was not recorded in time".into()),
    }
}

/// A request admitted on its headers (see [`Attestor::admit`]) and its body, read in a slot
/// `slot` gives, at most `cap` bytes, within [`BODY_TIMEOUT`]; or the answer refusing it.
async fn admitted(
    attestor: &Attestor,
    headers: &HeaderMap,
    body: Body,
    cap: usize,
    slot: impl FnOnce() -> Result<OwnedSemaphorePermit, Rejection>,
) -> Result<(PeerHeaders, axum::body::Bytes, OwnedSemaphorePermit), Response> {
    let peer = attestor.admit(headers).map_err(rejected)?;
    let declared = headers
        .get(CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    if let Some(length) = declared
        && length > cap as u64
    {
        return Err(rejected(Rejection::TooLarge(format!(
            "content-length {length}: at most {cap} bytes"
        ))));
    }
    let slot = slot().map_err(rejected)?;
    match tokio::time::timeout(BODY_TIMEOUT, axum::body::to_bytes(body, cap)).await {
        Ok(Ok(body)) => Ok((peer, body, slot)),
        Ok(Err(e)) => Err(rejected(Rejection::TooLarge(format!(
            "the body is over {cap} bytes or was cut off: {e}"
        )))),
        Err(_) => Err(answer(
            StatusCode::REQUEST_TIMEOUT,
            Refusal {
                error: format!("the body did not arrive within {BODY_TIMEOUT:?}"),
                receipts: Vec::new(),
                retry: true,
            },
        )),
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
