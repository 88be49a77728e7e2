//! Subscriptions (seed 003): "when event X is emitted, run this service with this data".
//!
//! A subscription is a trigger on the `HTTP_EVENT` connector, and a trigger spends its owner's
//! budget, so it is created, changed and cancelled on chain by its owner. The API never holds
//! users' keys: `POST`, `PUT` and `DELETE` check the request, build the trigger file, and answer
//! with the transactions for the owner to sign and send (`to`, `data`). Reads come from the chain.

use alloy::{
    primitives::{
        Address, Bytes, U256,
        aliases::{U24, U40, U80, U96},
    },
    sol_types::SolCall,
};
use axum::{
    Json,
    extract::{
        Path, State,
        rejection::{JsonRejection, PathRejection},
    },
};
use herald_chain::bindings::Herald;
use herald_spec::{Manifests, parse_triggers};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value, json};
use utoipa::ToSchema;

use crate::{
    ApiState,
    chain::{self, TriggerView},
    error::ApiError,
};

/// The connector subscriptions are triggers on.
use herald_spec::HTTP_EVENT_CONNECTOR as CONNECTOR;

/// What to subscribe to and what to run.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SubscriptionInput {
    /// The trigger's name (default `subscription`).
    pub name: Option<String>,
    /// The event type to subscribe to (defined with `POST /v1/event-types`).
    pub event: String,
    /// More filters on the event, in trigger-file syntax, e.g. `[{"data.amount": {"gt": 100}}]`.
    #[serde(default)]
    #[schema(value_type = Vec<Object>)]
    pub filters: Vec<Value>,
    /// The service to run (e.g. `webhook`).
    pub service: String,
    /// The service's data; strings may hold `{{ event.data.… }}` templates.
    #[schema(value_type = Object)]
    pub data: Value,
    /// The budget to give it from the owner's deposited balance, in the token's smallest unit.
    pub budget: String,
    /// The most one execution may cost, in the token's smallest unit.
    pub max_fee_per_execution: String,
    /// When it stops running, unix seconds (default: never).
    pub expires_at: Option<u64>,
    /// How many times it may run (default: no limit).
    pub max_executions: Option<u32>,
    /// The on-chain connector type id (default: the first registered for the HTTP_EVENT manifest).
    pub connector_type: Option<u32>,
    /// The on-chain service type id (default: the first registered for the service's manifest).
    pub service_type: Option<u32>,
}

/// A transaction for the subscription's owner to sign and send.
#[derive(Debug, Serialize, ToSchema)]
pub struct PreparedTransaction {
    /// What it does.
    pub action: String,
    /// The Herald contract.
    pub to: String,
    /// The calldata.
    pub data: String,
}

/// What to sign.
#[derive(Debug, Serialize, ToSchema)]
pub struct Prepared {
    /// The trigger file the subscription is registered with (JSON, which is YAML), if it creates one.
    pub config: Option<String>,
    /// Send these from the owner's account, in order.
    pub transactions: Vec<PreparedTransaction>,
}

/// A subscription as the chain has it.
#[derive(Debug, Serialize, ToSchema)]
pub struct SubscriptionView {
    /// The event type it runs for.
    pub event: Option<String>,
    /// The trigger behind it.
    pub trigger: TriggerView,
}

/// Subscriptions: triggers on the HTTP_EVENT connector.
#[utoipa::path(get, path = "/subscriptions", tag = "events", security(("api_key" = [])),
    responses((status = 200, body = Vec<SubscriptionView>), (status = 503, body = crate::error::ErrorBody)))]
pub async fn list(State(state): State<ApiState>) -> Result<Json<Vec<SubscriptionView>>, ApiError> {
    let Json(triggers) = chain::triggers(State(state)).await?;
    Ok(Json(triggers.into_iter().filter_map(view).collect()))
}

/// One subscription.
#[utoipa::path(get, path = "/subscriptions/{id}", tag = "events", security(("api_key" = [])),
    params(("id" = u64, Path, description = "the trigger's id")),
    responses((status = 200, body = SubscriptionView), (status = 404, body = crate::error::ErrorBody)))]
pub async fn show(
    State(state): State<ApiState>,
    id: Result<Path<u64>, PathRejection>,
) -> Result<Json<SubscriptionView>, ApiError> {
    let Path(id) = id?;
    Ok(Json(existing(&state, id).await?))
}

/// Prepares a new subscription: checks it as keepers will and answers with the transaction that
/// creates it.
#[utoipa::path(post, path = "/subscriptions", tag = "events", security(("api_key" = [])),
    request_body = SubscriptionInput,
    responses((status = 200, body = Prepared), (status = 422, body = crate::error::ErrorBody)))]
pub async fn create(
    State(state): State<ApiState>,
    body: Result<Json<SubscriptionInput>, JsonRejection>,
) -> Result<Json<Prepared>, ApiError> {
    let Json(input) = body?;
    let herald = chain_address(&state)?;
    let (config, call) = creation(&state, &input).await?;
    Ok(Json(Prepared {
        config: Some(config),
        transactions: vec![prepared("createTrigger", herald, call)],
    }))
}

/// Prepares a change: a trigger's configuration is fixed on chain, so a change cancels it and
/// creates its successor (the old budget comes back through `requestWithdrawal`).
#[utoipa::path(put, path = "/subscriptions/{id}", tag = "events", security(("api_key" = [])),
    params(("id" = u64, Path)), request_body = SubscriptionInput,
    responses((status = 200, body = Prepared),
              (status = 404, body = crate::error::ErrorBody),
              (status = 422, body = crate::error::ErrorBody)))]
pub async fn update(
    State(state): State<ApiState>,
    id: Result<Path<u64>, PathRejection>,
    body: Result<Json<SubscriptionInput>, JsonRejection>,
) -> Result<Json<Prepared>, ApiError> {
    let Path(id) = id?;
    let Json(input) = body?;
    let herald = chain_address(&state)?;
    existing(&state, id).await?;
    let (config, call) = creation(&state, &input).await?;
    let cancel = Herald::cancelTriggerCall { id }.abi_encode();
    Ok(Json(Prepared {
        config: Some(config),
        transactions: vec![
            prepared("cancelTrigger", herald, cancel),
            prepared("createTrigger", herald, call),
        ],
    }))
}

/// Prepares a cancellation.
#[utoipa::path(delete, path = "/subscriptions/{id}", tag = "events", security(("api_key" = [])),
    params(("id" = u64, Path)),
    responses((status = 200, body = Prepared), (status = 404, body = crate::error::ErrorBody)))]
pub async fn delete(
    State(state): State<ApiState>,
    id: Result<Path<u64>, PathRejection>,
) -> Result<Json<Prepared>, ApiError> {
    let Path(id) = id?;
    let herald = chain_address(&state)?;
    existing(&state, id).await?;
    let cancel = Herald::cancelTriggerCall { id }.abi_encode();
    Ok(Json(Prepared {
        config: None,
        transactions: vec![prepared("cancelTrigger", herald, cancel)],
    }))
}

fn chain_address(state: &ApiState) -> Result<Address, ApiError> {
    chain::chain(state).map(|c| c.herald)
}

async fn existing(state: &ApiState, id: u64) -> Result<SubscriptionView, ApiError> {
    let Json(trigger) = chain::trigger(State(state.clone()), Ok(Path(id))).await?;
    view(trigger).ok_or_else(|| ApiError::not_found(format!("trigger #{id} is not a subscription")))
}

/// The subscription a trigger is, if it is one (its connector is HTTP_EVENT).
fn view(trigger: TriggerView) -> Option<SubscriptionView> {
    let specs = parse_triggers("config", &trigger.config).ok()?;
    let spec = specs.first()?;
    if spec.connector.value != CONNECTOR {
        return None;
    }
    let event = spec.filters.iter().find_map(|f| match f {
        herald_spec::SpannedFilter::Leaf { predicate, .. }
            if predicate.op == herald_core::filter::Op::Eq
                && predicate.path.to_string() == "type" =>
        {
            predicate.value.as_str().map(str::to_string)
        }
        _ => None,
    });
    Some(SubscriptionView { event, trigger })
}

/// The trigger file and `createTrigger` calldata for `input`, checked as keepers will check them.
async fn creation(
    state: &ApiState,
    input: &SubscriptionInput,
) -> Result<(String, Vec<u8>), ApiError> {
    let bad = |message: String| ApiError::unprocessable("invalid_subscription", message);
    if state.store.event_type(&input.event).await?.is_none() {
        return Err(bad(format!(
            "event: no event type {:?}; define it with POST /v1/event-types",
            input.event
        )));
    }
    let mut filters = vec![json!({"type": {"eq": input.event}})];
    filters.extend(input.filters.iter().cloned());
    let mut trigger = Map::new();
    trigger.insert("connector".into(), json!({"type": CONNECTOR}));
    trigger.insert("event-filters".into(), Value::Array(filters));
    trigger.insert(
        "service".into(),
        json!({"service": input.service, "data": input.data}),
    );
    let name = input.name.clone().unwrap_or_else(|| "subscription".into());
    let config = json!({ name: Value::Object(trigger) }).to_string();
    let specs = parse_triggers("subscription", &config).map_err(|e| bad(e.to_string()))?;
    let manifests = Manifests::builtin();
    for spec in &specs {
        manifests
            .validate("subscription", spec)
            .map_err(|e| bad(e.to_string()))?;
    }
    let (connector_type, service_type) = match (input.connector_type, input.service_type) {
        (Some(c), Some(s)) => (c, s),
        (given_connector, given_service) => {
            let connector_hash = manifests
                .connector(CONNECTOR)
                .map(|m| m.manifest_hash)
                .unwrap_or_default();
            let service_hash = manifests
                .service(&input.service)
                .map(|m| m.manifest_hash)
                .unwrap_or_default();
            let (c, s) =
                chain::types_for(chain::chain(state)?, connector_hash, service_hash).await?;
            let missing = |what: &str, hash| {
                bad(format!(
                    "{what}: no {what} is registered for manifest {hash}; give its id"
                ))
            };
            (
                given_connector
                    .or(c)
                    .ok_or_else(|| missing("connector_type", connector_hash))?,
                given_service
                    .or(s)
                    .ok_or_else(|| missing("service_type", service_hash))?,
            )
        }
    };
    let amount = |what: &str, text: &str| {
        text.parse::<U256>()
            .map_err(|_| bad(format!("{what}: expected a decimal amount, found {text:?}")))
    };
    let budget = amount("budget", &input.budget)?;
    let max_fee = amount("max_fee_per_execution", &input.max_fee_per_execution)?;
    use alloy::primitives::ruint::UintTryFrom;
    let budget = U96::uint_try_from(budget).map_err(|_| bad("budget: too large".into()))?;
    let max_fee =
        U80::uint_try_from(max_fee).map_err(|_| bad("max_fee_per_execution: too large".into()))?;
    let expires_at = input.expires_at.unwrap_or(0);
    if expires_at >= 1 << 40 {
        return Err(bad("expires_at: too far in the future".into()));
    }
    let call = Herald::createTriggerCall {
        terms: Herald::TriggerTerms {
            connectorType: U24::from(connector_type.min(0xFF_FFFF)),
            serviceType: U24::from(service_type.min(0xFF_FFFF)),
            maxFeePerExecution: max_fee,
            expiresAt: U40::from(expires_at),
            maxExecutions: input.max_executions.unwrap_or(0),
        },
        budget,
        config: Bytes::from(config.clone().into_bytes()),
    };
    Ok((config, call.abi_encode()))
}

fn prepared(action: &str, herald: Address, data: Vec<u8>) -> PreparedTransaction {
    PreparedTransaction {
        action: action.into(),
        to: format!("{herald:#x}"),
        data: format!("0x{}", alloy::hex::encode(data)),
    }
}
