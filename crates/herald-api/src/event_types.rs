//! Event types and events (seed 003): define a type by name with an optional JSON Schema, then
//! `POST /v1/events/{name}` with a payload; payloads the schema refuses get 422 with the reasons.
//!
//! Both are signed (audit finding 3, see [`crate::signing`]): a type belongs to the key that
//! signed its definition, and only that key or the emitter keys it names may emit it (403 for any
//! other); an event carries its emitter's id, time and signature in headers, and is refused (422,
//! naming the header) when they are missing, malformed or out of the time window — before anything
//! is stored or dispatched.

use alloy::primitives::{Address, Bytes};
use axum::{
    Json,
    body::Bytes as Body,
    extract::{
        Path, State,
        rejection::{BytesRejection, PathRejection},
    },
    http::{HeaderMap, StatusCode},
};
use herald_core::Event;
use herald_store::{EventType, Ownership};
use serde::{Deserialize, Serialize, de::DeserializeOwned};
use serde_json::Value;
use utoipa::ToSchema;
use uuid::Uuid;

use crate::{
    ApiState,
    error::ApiError,
    signing::{
        self, EMITTER_SIGNATURE_HEADER, EVENT_ID_HEADER, EVENT_TIME_HEADER, ID_WINDOW_MS,
        OWNER_SIGNATURE_HEADER, SIGNED_AT_HEADER,
    },
};

/// The connector events emitted through the API are recorded under.
pub use herald_spec::HTTP_EVENT_CONNECTOR as HTTP_CONNECTOR;

/// An event type, as sent.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct EventTypeInput {
    /// Its name: letters, digits, `.`, `_` and `-`, at most 128.
    pub name: String,
    /// For people.
    pub description: Option<String>,
    /// A JSON Schema (draft 2020-12 unless it says otherwise) its payloads must satisfy.
    #[schema(value_type = Option<Object>)]
    pub schema: Option<Value>,
    /// The keys, besides the owner, whose events of this type are accepted (0x addresses).
    #[serde(default)]
    #[schema(value_type = Vec<String>)]
    pub emitters: Vec<Address>,
}

/// A change to an event type.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct EventTypeUpdate {
    /// For people.
    pub description: Option<String>,
    /// The new JSON Schema (absent: payloads are not checked).
    #[schema(value_type = Option<Object>)]
    pub schema: Option<Value>,
    /// The keys, besides the owner, whose events of this type are accepted (replaces the list).
    #[serde(default)]
    #[schema(value_type = Vec<String>)]
    pub emitters: Vec<Address>,
}

/// An event type, as stored.
#[derive(Debug, Serialize, ToSchema)]
pub struct EventTypeView {
    /// Its name.
    pub name: String,
    /// For people.
    pub description: Option<String>,
    /// Its JSON Schema.
    #[schema(value_type = Option<Object>)]
    pub schema: Option<Value>,
    /// Created at, unix milliseconds.
    pub created_ms: i64,
    /// Last changed at, unix milliseconds.
    pub updated_ms: i64,
    /// The key that signed its definition: it alone changes the type.
    pub owner: Option<String>,
    /// The keys, besides the owner, whose events of this type are accepted.
    pub emitters: Vec<String>,
}

impl From<EventType> for EventTypeView {
    fn from(t: EventType) -> Self {
        Self {
            owner: t.owner.clone(),
            emitters: emitters_of(&t).iter().map(Address::to_string).collect(),
            schema: t
                .schema
                .as_deref()
                .and_then(|s| serde_json::from_str(s).ok()),
            name: t.name,
            description: t.description,
            created_ms: t.created_ms,
            updated_ms: t.updated_ms,
        }
    }
}

/// An accepted event.
#[derive(Debug, Serialize, ToSchema)]
pub struct Accepted {
    /// Its id (a UUIDv7, time-ordered).
    pub id: String,
    /// Its type.
    #[serde(rename = "type")]
    pub kind: String,
}

/// Event types, by name.
#[utoipa::path(get, path = "/event-types", tag = "events", security(("api_key" = [])),
    responses((status = 200, body = Vec<EventTypeView>)))]
pub async fn list(State(state): State<ApiState>) -> Result<Json<Vec<EventTypeView>>, ApiError> {
    let types = state.store.event_types().await?;
    Ok(Json(types.into_iter().map(Into::into).collect()))
}

/// Defines an event type, owned by the key that signs the definition: `herald-signed-at` (unix
/// milliseconds, within 60 s of the keeper's clock) and `herald-owner-signature` over EIP-712
/// `EventTypeChange(name, "define", keccak256(body), signedAt)`.
#[utoipa::path(post, path = "/event-types", tag = "events", security(("api_key" = [])),
    params(("herald-signed-at" = u64, Header, description = "when the owner signed, unix ms"),
           ("herald-owner-signature" = String, Header, description = "the owner's EIP-712 signature, 0x hex")),
    request_body = EventTypeInput,
    responses((status = 201, body = EventTypeView),
              (status = 409, body = crate::error::ErrorBody),
              (status = 422, body = crate::error::ErrorBody)))]
pub async fn create(
    State(state): State<ApiState>,
    headers: HeaderMap,
    body: Result<Body, BytesRejection>,
) -> Result<(StatusCode, Json<EventTypeView>), ApiError> {
    let body = body_bytes(body)?;
    let input: EventTypeInput = json_body(&body)?;
    check_name(&input.name)?;
    let schema = schema_text(input.schema.as_ref())?;
    let change = owner_change(&state, &headers, &input.name, signing::DEFINE, &body).await?;
    if state.store.event_type(&input.name).await?.is_some() {
        return Err(ApiError::new(
            StatusCode::CONFLICT,
            "exists",
            format!(
                "event type {:?} exists; PUT /v1/event-types/{0} changes it",
                input.name
            ),
        ));
    }
    put(
        &state,
        &input.name,
        input.description.as_deref(),
        schema.as_deref(),
        &change,
        &input.emitters,
    )
    .await?;
    let stored = stored(&state, &input.name).await?;
    Ok((StatusCode::CREATED, Json(stored.into())))
}

/// One event type.
#[utoipa::path(get, path = "/event-types/{name}", tag = "events", security(("api_key" = [])),
    params(("name" = String, Path)),
    responses((status = 200, body = EventTypeView), (status = 404, body = crate::error::ErrorBody)))]
pub async fn show(
    State(state): State<ApiState>,
    name: Result<Path<String>, PathRejection>,
) -> Result<Json<EventTypeView>, ApiError> {
    let Path(name) = name?;
    Ok(Json(stored(&state, &name).await?.into()))
}

/// Changes an event type's description, schema and emitters: signed by its owner as for a
/// definition, with action `"update"` and a `herald-signed-at` later than the type's last change.
#[utoipa::path(put, path = "/event-types/{name}", tag = "events", security(("api_key" = [])),
    params(("name" = String, Path),
           ("herald-signed-at" = u64, Header, description = "when the owner signed, unix ms"),
           ("herald-owner-signature" = String, Header, description = "the owner's EIP-712 signature, 0x hex")),
    request_body = EventTypeUpdate,
    responses((status = 200, body = EventTypeView),
              (status = 403, body = crate::error::ErrorBody),
              (status = 404, body = crate::error::ErrorBody),
              (status = 422, body = crate::error::ErrorBody)))]
pub async fn update(
    State(state): State<ApiState>,
    name: Result<Path<String>, PathRejection>,
    headers: HeaderMap,
    body: Result<Body, BytesRejection>,
) -> Result<Json<EventTypeView>, ApiError> {
    let Path(name) = name?;
    let body = body_bytes(body)?;
    let update: EventTypeUpdate = json_body(&body)?;
    let current = stored(&state, &name).await?;
    let schema = schema_text(update.schema.as_ref())?;
    let change = owner_change(&state, &headers, &name, signing::UPDATE, &body).await?;
    check_owner(&current, &change)?;
    put(
        &state,
        &name,
        update.description.as_deref(),
        schema.as_deref(),
        &change,
        &update.emitters,
    )
    .await?;
    Ok(Json(stored(&state, &name).await?.into()))
}

/// Deletes an event type (events already emitted stay): signed by its owner as for a definition,
/// with action `"delete"` over an empty body.
#[utoipa::path(delete, path = "/event-types/{name}", tag = "events", security(("api_key" = [])),
    params(("name" = String, Path),
           ("herald-signed-at" = u64, Header, description = "when the owner signed, unix ms"),
           ("herald-owner-signature" = String, Header, description = "the owner's EIP-712 signature, 0x hex")),
    responses((status = 204), (status = 403, body = crate::error::ErrorBody),
              (status = 404, body = crate::error::ErrorBody)))]
pub async fn delete(
    State(state): State<ApiState>,
    name: Result<Path<String>, PathRejection>,
    headers: HeaderMap,
) -> Result<StatusCode, ApiError> {
    let Path(name) = name?;
    let current = stored(&state, &name).await?;
    let change = owner_change(&state, &headers, &name, signing::DELETE, b"").await?;
    check_owner(&current, &change)?;
    if state.store.delete_event_type(&name).await? {
        Ok(StatusCode::NO_CONTENT)
    } else {
        Err(ApiError::not_found(format!("no event type {name:?}")))
    }
}

/// Emits an event of a defined type. The emitter — the type's owner or a key it named — makes the
/// event: `herald-event-id` (a UUIDv7 it generates), `herald-event-time` (unix milliseconds; the
/// id's time, the event's time and this keeper's clock within 60 s of each other) and
/// `herald-emitter-signature` over EIP-712 `HttpEvent(bytes16 id, string eventType, uint64 time,
/// bytes32 payloadHash)`, payloadHash = keccak256 of the payload's canonical JSON (keys sorted, no
/// whitespace). The event is checked against the type's schema and stored durably before the answer.
#[utoipa::path(post, path = "/events/{name}", tag = "events", security(("api_key" = [])),
    params(("name" = String, Path),
           ("herald-event-id" = String, Header, description = "the event's id, a UUIDv7 the emitter generates"),
           ("herald-event-time" = u64, Header, description = "the event's time, unix ms"),
           ("herald-emitter-signature" = String, Header, description = "the emitter's EIP-712 signature, 0x hex")),
    request_body(content = Object, description = "the payload"),
    responses((status = 202, body = Accepted),
              (status = 403, body = crate::error::ErrorBody),
              (status = 404, body = crate::error::ErrorBody),
              (status = 409, body = crate::error::ErrorBody),
              (status = 413, body = crate::error::ErrorBody),
              (status = 422, body = crate::error::ErrorBody)))]
pub async fn emit(
    State(state): State<ApiState>,
    name: Result<Path<String>, PathRejection>,
    headers: HeaderMap,
    body: Result<Body, BytesRejection>,
) -> Result<(StatusCode, Json<Accepted>), ApiError> {
    let Path(name) = name?;
    let body = body_bytes(body)?;
    let payload: Value = json_body(&body)?;
    let event_type = stored(&state, &name).await?;
    let event = signed_event(&state, &headers, &name, payload).await?;
    let emitter =
        signing::emitter_of(&event).ok_or_else(|| ApiError::internal("unsigned event"))?;
    if !may_emit(&event_type, emitter) {
        return Err(ApiError::new(
            StatusCode::FORBIDDEN,
            "not_an_emitter",
            format!(
                "{emitter} may not emit {name:?}: it is neither the type's owner ({}) nor one of \
                 the emitters it named",
                event_type.owner.as_deref().unwrap_or("none yet")
            ),
        ));
    }
    check_payload(&event_type, &event.data)?;
    if !state.store.record_event(HTTP_CONNECTOR, &event).await? {
        return Err(ApiError::new(
            StatusCode::CONFLICT,
            "duplicate_event",
            format!("an event with id {} exists", event.id),
        ));
    }
    state.metrics.events_in(HTTP_CONNECTOR, 1);
    if let Some(feed) = &state.events {
        // Stored first: a keeper that stops before dispatching finds it past its cursor.
        let _ = feed.send(event.clone()).await;
    }
    Ok((
        StatusCode::ACCEPTED,
        Json(Accepted {
            id: event.id.to_string(),
            kind: name,
        }),
    ))
}

/// The event the emitter signed, from the request's headers and payload: its id and time in the
/// window, its signature recovered to the emitter.
async fn signed_event(
    state: &ApiState,
    headers: &HeaderMap,
    name: &str,
    payload: Value,
) -> Result<Event, ApiError> {
    let id: Uuid = header(headers, EVENT_ID_HEADER, "a UUIDv7")?;
    let time_ms: u64 = header(headers, EVENT_TIME_HEADER, "unix milliseconds")?;
    let signature: Bytes = header(headers, EMITTER_SIGNATURE_HEADER, "a 0x hex signature")?;
    signing::check_id(id, time_ms, now_ms(), ID_WINDOW_MS).map_err(|e| {
        let field = match e {
            signing::WindowError::NotV7(_) | signing::WindowError::IdApart { .. } => {
                EVENT_ID_HEADER
            }
            _ => EVENT_TIME_HEADER,
        };
        ApiError::unprocessable("invalid_event_time", format!("{field}: {e}"))
    })?;
    let (domain, chain_id) = state.signing_domain().await?;
    let digest = signing::event_digest(&domain, id, name, time_ms, &payload);
    let emitter = signing::recover(&digest, &signature).ok_or_else(|| {
        ApiError::unprocessable(
            "invalid_signature",
            format!("{EMITTER_SIGNATURE_HEADER}: not a 65-byte secp256k1 signature"),
        )
    })?;
    Ok(signing::signed_event(
        chain_id, emitter, id, name, time_ms, payload, &signature,
    ))
}

/// A change to an event type, as its signer signed it.
struct Change {
    signer: Address,
    signed_ms: u64,
}

/// Who signed this change to `name` (`action`, over `body`), checked to be recent.
async fn owner_change(
    state: &ApiState,
    headers: &HeaderMap,
    name: &str,
    action: &str,
    body: &[u8],
) -> Result<Change, ApiError> {
    let signed_ms: u64 = header(headers, SIGNED_AT_HEADER, "unix milliseconds")?;
    let signature: Bytes = header(headers, OWNER_SIGNATURE_HEADER, "a 0x hex signature")?;
    if signed_ms.abs_diff(now_ms()) > ID_WINDOW_MS {
        return Err(ApiError::unprocessable(
            "invalid_signed_at",
            format!(
                "{SIGNED_AT_HEADER}: {signed_ms} is more than {ID_WINDOW_MS} ms from this keeper's clock"
            ),
        ));
    }
    let (domain, _) = state.signing_domain().await?;
    let digest = signing::change_digest(&domain, name, action, body, signed_ms);
    let signer = signing::recover(&digest, &signature).ok_or_else(|| {
        ApiError::unprocessable(
            "invalid_signature",
            format!("{OWNER_SIGNATURE_HEADER}: not a 65-byte secp256k1 signature"),
        )
    })?;
    Ok(Change { signer, signed_ms })
}

/// Refuses a change not signed by the type's owner, or not newer than its last change. A type
/// defined before types had owners is claimed by the first signed change.
fn check_owner(current: &EventType, change: &Change) -> Result<(), ApiError> {
    if let Some(owner) = owner_of(current)
        && owner != change.signer
    {
        return Err(ApiError::new(
            StatusCode::FORBIDDEN,
            "not_the_owner",
            format!(
                "event type {:?} is owned by {owner}; {} may not change it",
                current.name, change.signer
            ),
        ));
    }
    if current
        .signed_ms
        .is_some_and(|last| change.signed_ms as i64 <= last)
    {
        return Err(ApiError::unprocessable(
            "invalid_signed_at",
            format!(
                "{SIGNED_AT_HEADER}: {} is not later than the type's last change ({}): a replay?",
                change.signed_ms,
                current.signed_ms.unwrap_or_default()
            ),
        ));
    }
    Ok(())
}

async fn put(
    state: &ApiState,
    name: &str,
    description: Option<&str>,
    schema: Option<&str>,
    change: &Change,
    emitters: &[Address],
) -> Result<(), ApiError> {
    let owner = change.signer.to_string();
    let emitters = serde_json::to_string(emitters).map_err(ApiError::internal)?;
    let ownership = Ownership {
        owner: &owner,
        emitters: &emitters,
        signed_ms: change.signed_ms as i64,
    };
    state
        .store
        .put_event_type(name, description, schema, ownership)
        .await?;
    Ok(())
}

fn owner_of(t: &EventType) -> Option<Address> {
    t.owner.as_deref()?.parse().ok()
}

fn emitters_of(t: &EventType) -> Vec<Address> {
    t.emitters
        .as_deref()
        .and_then(|text| serde_json::from_str(text).ok())
        .unwrap_or_default()
}

/// Whether `emitter` may emit events of type `t`: its owner, or a key the owner named.
fn may_emit(t: &EventType, emitter: Address) -> bool {
    owner_of(t) == Some(emitter) || emitters_of(t).contains(&emitter)
}

fn check_payload(event_type: &EventType, payload: &Value) -> Result<(), ApiError> {
    let Some(schema) = event_type.schema.as_deref() else {
        return Ok(());
    };
    let schema: Value = serde_json::from_str(schema).map_err(ApiError::internal)?;
    let validator = jsonschema::validator_for(&schema).map_err(ApiError::internal)?;
    let problems: Vec<String> = validator
        .iter_errors(payload)
        .take(10)
        .map(|e| {
            let at = e.instance_path().to_string();
            format!("{}: {e}", if at.is_empty() { "/" } else { at.as_str() })
        })
        .collect();
    if problems.is_empty() {
        return Ok(());
    }
    Err(ApiError::unprocessable(
        "invalid_payload",
        format!(
            "the payload does not match {}'s schema: {}",
            event_type.name,
            problems.join("; ")
        ),
    ))
}

/// The body's bytes (the signatures cover them exactly), or 413 for one over the limit.
fn body_bytes(body: Result<Body, BytesRejection>) -> Result<Body, ApiError> {
    body.map_err(|rejection| {
        let status = rejection.status();
        let code = if status == StatusCode::PAYLOAD_TOO_LARGE {
            "too_large"
        } else {
            "invalid_body"
        };
        ApiError::new(status, code, rejection.body_text())
    })
}

/// A JSON body: 400 when it is not JSON, 422 when it is not the JSON expected.
fn json_body<T: DeserializeOwned>(body: &[u8]) -> Result<T, ApiError> {
    serde_json::from_slice(body).map_err(|e| {
        if e.is_syntax() || e.is_eof() {
            ApiError::new(
                StatusCode::BAD_REQUEST,
                "invalid_json",
                format!("the body is not JSON: {e}"),
            )
        } else {
            ApiError::unprocessable("invalid_body", format!("the body: {e}"))
        }
    })
}

/// One request header, parsed, or a 422 naming it.
fn header<T: std::str::FromStr>(
    headers: &HeaderMap,
    name: &'static str,
    expected: &str,
) -> Result<T, ApiError> {
    let Some(value) = headers.get(name) else {
        return Err(ApiError::unprocessable(
            "missing_signature",
            format!("no {name} header: expected {expected} (see the OpenAPI document)"),
        ));
    };
    let text = value.to_str().unwrap_or_default().trim();
    text.parse().map_err(|_| {
        ApiError::unprocessable(
            "invalid_header",
            format!(
                "{name} is {:?}: expected {expected}",
                text.chars().take(100).collect::<String>()
            ),
        )
    })
}

fn now_ms() -> u64 {
    jiff::Timestamp::now().as_millisecond().max(0) as u64
}

async fn stored(state: &ApiState, name: &str) -> Result<EventType, ApiError> {
    state
        .store
        .event_type(name)
        .await?
        .ok_or_else(|| ApiError::not_found(format!("no event type {name:?}")))
}

fn check_name(name: &str) -> Result<(), ApiError> {
    let ok = !name.is_empty()
        && name.len() <= 128
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-'));
    if ok {
        Ok(())
    } else {
        Err(ApiError::unprocessable(
            "invalid_name",
            format!("name {name:?}: expected 1 to 128 letters, digits, '.', '_' or '-'"),
        ))
    }
}

/// The schema as stored text, after checking it is a valid JSON Schema.
fn schema_text(schema: Option<&Value>) -> Result<Option<String>, ApiError> {
    let Some(schema) = schema else {
        return Ok(None);
    };
    jsonschema::meta::validate(schema).map_err(|e| {
        ApiError::unprocessable(
            "invalid_schema",
            format!("schema: not a valid JSON Schema: {e}"),
        )
    })?;
    Ok(Some(schema.to_string()))
}
