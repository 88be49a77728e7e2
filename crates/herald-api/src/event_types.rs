//! Event types and events (seed 003): define a type by name with an optional JSON Schema, then
//! `POST /v1/events/{name}` with a payload; payloads the schema refuses get 422 with the reasons.

use axum::{
    Json,
    extract::{
        Path, State,
        rejection::{JsonRejection, PathRejection},
    },
    http::StatusCode,
};
use herald_core::Event;
use herald_store::EventType;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use utoipa::ToSchema;

use crate::{ApiState, error::ApiError};

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
}

impl From<EventType> for EventTypeView {
    fn from(t: EventType) -> Self {
        Self {
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

/// Defines an event type.
#[utoipa::path(post, path = "/event-types", tag = "events", security(("api_key" = [])),
    request_body = EventTypeInput,
    responses((status = 201, body = EventTypeView),
              (status = 409, body = crate::error::ErrorBody),
              (status = 422, body = crate::error::ErrorBody)))]
pub async fn create(
    State(state): State<ApiState>,
    body: Result<Json<EventTypeInput>, JsonRejection>,
) -> Result<(StatusCode, Json<EventTypeView>), ApiError> {
    let Json(input) = body?;
    check_name(&input.name)?;
    let schema = schema_text(input.schema.as_ref())?;
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
    state
        .store
        .put_event_type(&input.name, input.description.as_deref(), schema.as_deref())
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

/// Changes an event type's description and schema.
#[utoipa::path(put, path = "/event-types/{name}", tag = "events", security(("api_key" = [])),
    params(("name" = String, Path)), request_body = EventTypeUpdate,
    responses((status = 200, body = EventTypeView),
              (status = 404, body = crate::error::ErrorBody),
              (status = 422, body = crate::error::ErrorBody)))]
pub async fn update(
    State(state): State<ApiState>,
    name: Result<Path<String>, PathRejection>,
    body: Result<Json<EventTypeUpdate>, JsonRejection>,
) -> Result<Json<EventTypeView>, ApiError> {
    let Path(name) = name?;
    let Json(update) = body?;
    stored(&state, &name).await?;
    let schema = schema_text(update.schema.as_ref())?;
    state
        .store
        .put_event_type(&name, update.description.as_deref(), schema.as_deref())
        .await?;
    Ok(Json(stored(&state, &name).await?.into()))
}

/// Deletes an event type (events already emitted stay).
#[utoipa::path(delete, path = "/event-types/{name}", tag = "events", security(("api_key" = [])),
    params(("name" = String, Path)),
    responses((status = 204), (status = 404, body = crate::error::ErrorBody)))]
pub async fn delete(
    State(state): State<ApiState>,
    name: Result<Path<String>, PathRejection>,
) -> Result<StatusCode, ApiError> {
    let Path(name) = name?;
    if state.store.delete_event_type(&name).await? {
        Ok(StatusCode::NO_CONTENT)
    } else {
        Err(ApiError::not_found(format!("no event type {name:?}")))
    }
}

/// Emits an event of a defined type; its payload is checked against the type's schema and the
/// event is stored durably before the answer.
#[utoipa::path(post, path = "/events/{name}", tag = "events", security(("api_key" = [])),
    params(("name" = String, Path)), request_body(content = Object, description = "the payload"),
    responses((status = 202, body = Accepted),
              (status = 404, body = crate::error::ErrorBody),
              (status = 413, body = crate::error::ErrorBody),
              (status = 422, body = crate::error::ErrorBody)))]
pub async fn emit(
    State(state): State<ApiState>,
    name: Result<Path<String>, PathRejection>,
    body: Result<Json<Value>, JsonRejection>,
) -> Result<(StatusCode, Json<Accepted>), ApiError> {
    let Path(name) = name?;
    let Json(payload) = body?;
    let event_type = stored(&state, &name).await?;
    if let Some(schema) = event_type.schema.as_deref() {
        let schema: Value = serde_json::from_str(schema).map_err(ApiError::internal)?;
        let validator = jsonschema::validator_for(&schema).map_err(ApiError::internal)?;
        let problems: Vec<String> = validator
            .iter_errors(&payload)
            .take(10)
            .map(|e| {
                let at = e.instance_path().to_string();
                format!("{}: {e}", if at.is_empty() { "/" } else { at.as_str() })
            })
            .collect();
        if !problems.is_empty() {
            return Err(ApiError::unprocessable(
                "invalid_payload",
                format!(
                    "the payload does not match {name}'s schema: {}",
                    problems.join("; ")
                ),
            ));
        }
    }
    let event = Event::new(name.clone(), "herald:api", payload);
    state.store.record_event(HTTP_CONNECTOR, &event).await?;
    state.metrics.events_in(HTTP_CONNECTOR, 1);
    if let Some(feed) = &state.events {
        // Stored first: a keeper that stops before dispatching finds it past its cursor.
        let _ = feed.send(event.clone());
    }
    Ok((
        StatusCode::ACCEPTED,
        Json(Accepted {
            id: event.id.to_string(),
            kind: name,
        }),
    ))
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
