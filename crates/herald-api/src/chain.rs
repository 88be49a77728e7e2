//! Read-only views of the chain: triggers, balances, keepers. Answered from the node the API was
//! given; 503 when it has none.

use alloy::{
    primitives::{Address, B256},
    providers::{DynProvider, Provider},
    rpc::types::Filter,
    sol_types::SolEvent,
};
use axum::{
    Json,
    extract::{Path, State, rejection::PathRejection},
    http::StatusCode,
};
use herald_chain::{
    bindings::Herald,
    state::{created_filter, keeper_state, trigger_status},
};
use serde::Serialize;
use utoipa::ToSchema;

use crate::{ApiState, error::ApiError};

/// The deployment the API reads.
#[derive(Clone, Debug)]
pub struct Chain {
    /// The node.
    pub provider: DynProvider,
    /// The Herald contract.
    pub herald: Address,
}

/// A trigger as the chain has it.
#[derive(Debug, Serialize, ToSchema)]
pub struct TriggerView {
    /// Its id.
    pub id: u64,
    /// Its owner.
    pub owner: String,
    /// active, paused, disputed (a challenge proved a receipt of it false) or cancelled.
    pub status: String,
    /// What is left of its budget, in the token's smallest unit.
    pub budget: String,
    /// Executions settled.
    pub executions: u32,
    /// Execution limit (0: none).
    pub max_executions: u32,
    /// Cap per execution.
    pub max_fee_per_execution: String,
    /// Expiry, unix seconds (0: none).
    pub expires_at: u64,
    /// Its configuration (the trigger file).
    pub config: String,
}

/// A party's money in Herald.
#[derive(Debug, Serialize, ToSchema)]
pub struct BalanceView {
    /// The address.
    pub address: String,
    /// Deposited and not given to a trigger: withdrawable now.
    pub unallocated: String,
    /// Rewards to claim.
    pub claimable: String,
}

/// A registered keeper.
#[derive(Debug, Serialize, ToSchema)]
pub struct KeeperView {
    /// Its signing address.
    pub address: String,
    /// active, unbonding or inactive.
    pub state: String,
    /// Its bond.
    pub bond: String,
    /// Where it answers attestation requests.
    pub endpoint: String,
}

/// The chain the API serves, or 503.
pub(crate) fn chain(state: &ApiState) -> Result<&Chain, ApiError> {
    state.chain.as_ref().ok_or_else(|| {
        ApiError::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "no_chain",
            "this API serves no chain",
        )
    })
}

fn rpc(error: impl std::fmt::Display) -> ApiError {
    ApiError::new(
        StatusCode::BAD_GATEWAY,
        "rpc",
        format!("the chain's node: {error}"),
    )
}

/// Every trigger, from the registry's creation events.
#[utoipa::path(get, path = "/triggers", tag = "chain", security(("api_key" = [])),
    responses((status = 200, body = Vec<TriggerView>), (status = 503, body = crate::error::ErrorBody)))]
pub async fn triggers(State(state): State<ApiState>) -> Result<Json<Vec<TriggerView>>, ApiError> {
    let chain = chain(&state)?;
    let mut out = Vec::new();
    for created in created(chain, None).await? {
        out.push(trigger_view(chain, created).await?);
    }
    Ok(Json(out))
}

/// One trigger.
#[utoipa::path(get, path = "/triggers/{id}", tag = "chain", security(("api_key" = [])),
    params(("id" = u64, Path)),
    responses((status = 200, body = TriggerView), (status = 404, body = crate::error::ErrorBody)))]
pub async fn trigger(
    State(state): State<ApiState>,
    id: Result<Path<u64>, PathRejection>,
) -> Result<Json<TriggerView>, ApiError> {
    let Path(id) = id?;
    let chain = chain(&state)?;
    let created = created(chain, Some(id))
        .await?
        .into_iter()
        .next()
        .ok_or_else(|| ApiError::not_found(format!("no trigger #{id}")))?;
    Ok(Json(trigger_view(chain, created).await?))
}

/// A party's deposited balance and claimable rewards.
#[utoipa::path(get, path = "/balances/{address}", tag = "chain", security(("api_key" = [])),
    params(("address" = String, Path)),
    responses((status = 200, body = BalanceView), (status = 400, body = crate::error::ErrorBody)))]
pub async fn balance(
    State(state): State<ApiState>,
    address: Result<Path<String>, PathRejection>,
) -> Result<Json<BalanceView>, ApiError> {
    let Path(address) = address?;
    let who: Address = address
        .parse()
        .map_err(|_| ApiError::bad_request(format!("{address:?} is not an address")))?;
    let chain = chain(&state)?;
    let herald = Herald::new(chain.herald, &chain.provider);
    let unallocated = herald.balanceOf(who).call().await.map_err(rpc)?;
    let claimable = herald.claimable(who).call().await.map_err(rpc)?;
    Ok(Json(BalanceView {
        address: format!("{who:#x}"),
        unallocated: unallocated.to_string(),
        claimable: claimable.to_string(),
    }))
}

/// Registered keepers, in registration order.
#[utoipa::path(get, path = "/keepers", tag = "chain", security(("api_key" = [])),
    responses((status = 200, body = Vec<KeeperView>), (status = 503, body = crate::error::ErrorBody)))]
pub async fn keepers(State(state): State<ApiState>) -> Result<Json<Vec<KeeperView>>, ApiError> {
    let chain = chain(&state)?;
    let filter = Filter::new()
        .address(chain.herald)
        .event_signature(Herald::KeeperRegistered::SIGNATURE_HASH)
        .from_block(0);
    let logs = chain.provider.get_logs(&filter).await.map_err(rpc)?;
    let herald = Herald::new(chain.herald, &chain.provider);
    let mut out = Vec::new();
    for log in logs {
        let Ok(registered) = log.log_decode::<Herald::KeeperRegistered>() else {
            continue;
        };
        let address = registered.inner.data.keeper;
        let k = herald.keeper(address).call().await.map_err(rpc)?;
        let active = herald.isActiveKeeper(address).call().await.map_err(rpc)?;
        out.push(KeeperView {
            address: format!("{address:#x}"),
            state: keeper_state(active, k.unbondsAt.to()).into(),
            bond: k.bond.to_string(),
            endpoint: k.endpoint,
        });
    }
    Ok(Json(out))
}

/// The types registered for these manifests (see [`herald_chain::state::registered_types`]).
pub(crate) async fn types_for(
    chain: &Chain,
    connector_hash: B256,
    service_hash: B256,
) -> Result<(Option<u32>, Option<u32>), ApiError> {
    herald_chain::state::registered_types(
        &chain.provider,
        chain.herald,
        connector_hash,
        service_hash,
    )
    .await
    .map_err(rpc)
}

async fn created(chain: &Chain, id: Option<u64>) -> Result<Vec<Herald::TriggerCreated>, ApiError> {
    let filter = created_filter(chain.herald, id, None);
    let logs = chain.provider.get_logs(&filter).await.map_err(rpc)?;
    Ok(logs
        .iter()
        .filter_map(|log| log.log_decode::<Herald::TriggerCreated>().ok())
        .map(|log| log.inner.data)
        .collect())
}

async fn trigger_view(
    chain: &Chain,
    created: Herald::TriggerCreated,
) -> Result<TriggerView, ApiError> {
    let t = Herald::new(chain.herald, &chain.provider)
        .trigger(created.id)
        .call()
        .await
        .map_err(rpc)?;
    Ok(TriggerView {
        id: created.id,
        owner: format!("{:#x}", t.owner),
        status: trigger_status(t.rules.flags).into(),
        budget: t.ledger.budget.to_string(),
        executions: t.ledger.executions,
        max_executions: t.ledger.maxExecutions,
        max_fee_per_execution: t.rules.maxFeePerExecution.to_string(),
        expires_at: t.rules.expiresAt.to::<u64>(),
        config: String::from_utf8_lossy(&created.config).into_owned(),
    })
}
