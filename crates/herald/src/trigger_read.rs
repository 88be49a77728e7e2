//! Triggers read back from the chain: their state from the registry, their configuration from the
//! `TriggerCreated` log that carried it.

use alloy::{
    primitives::{Address, U256},
    providers::Provider,
};
use herald_chain::bindings::Herald;

use crate::session::Session;

/// A trigger as the chain has it.
pub(crate) struct OnChain {
    pub id: u64,
    pub owner: Address,
    pub budget: U256,
    pub executions: u32,
    pub max_executions: u32,
    pub max_fee: U256,
    pub expires_at: u64,
    pub status: &'static str,
    pub config: String,
}

/// The trigger `id`, or an error naming it if it does not exist.
pub(crate) async fn trigger(s: &Session, id: u64) -> Result<OnChain, String> {
    let state = s
        .contract()
        .trigger(id)
        .call()
        .await
        .map_err(|e| e.to_string())?;
    if state.owner == Address::ZERO {
        let count = s
            .contract()
            .triggerCount()
            .call()
            .await
            .map_err(|e| e.to_string())?;
        return Err(format!(
            "unknown trigger #{id} (this deployment has {count})"
        ));
    }
    let config = created_log(s, Some(id), None)
        .await?
        .into_iter()
        .next()
        .map(|e| String::from_utf8_lossy(&e.config).into_owned())
        .unwrap_or_default();
    Ok(OnChain {
        id,
        owner: state.owner,
        budget: U256::from(state.ledger.budget),
        executions: state.ledger.executions,
        max_executions: state.ledger.maxExecutions,
        max_fee: U256::from(state.rules.maxFeePerExecution),
        expires_at: state.rules.expiresAt.to::<u64>(),
        status: herald_chain::state::trigger_status(state.rules.flags),
        config,
    })
}

/// The trigger `id`, checked to belong to the session's account.
pub(crate) async fn owned_trigger(s: &Session, id: u64) -> Result<OnChain, String> {
    let t = trigger(s, id).await?;
    if t.owner != s.account() {
        return Err(format!(
            "trigger #{id} belongs to {:#x}, not to {:#x} (the account of HERALD_PRIVATE_KEY)",
            t.owner,
            s.account()
        ));
    }
    Ok(t)
}

/// Every trigger (of `owner`, if given), from the registry's creation events.
pub(crate) async fn triggers_of(
    s: &Session,
    owner: Option<Address>,
) -> Result<Vec<OnChain>, String> {
    let mut out = Vec::new();
    for created in created_log(s, None, owner).await? {
        out.push(trigger(s, created.id).await?);
    }
    Ok(out)
}

/// Trigger `id`'s configuration as created (its file).
pub(crate) async fn config_of(s: &Session, id: u64) -> Result<String, String> {
    let created = created_log(s, Some(id), None).await?;
    let created = created
        .first()
        .ok_or_else(|| format!("trigger #{id} was not created on this deployment"))?;
    String::from_utf8(created.config.to_vec())
        .map_err(|_| format!("trigger #{id}'s configuration is not UTF-8"))
}

pub(crate) async fn created_log(
    s: &Session,
    id: Option<u64>,
    owner: Option<Address>,
) -> Result<Vec<Herald::TriggerCreated>, String> {
    let filter = herald_chain::state::created_filter(s.herald, id, owner);
    let logs = s
        .provider
        .get_logs(&filter)
        .await
        .map_err(|e| e.to_string())?;
    Ok(logs
        .iter()
        .filter_map(|log| log.log_decode::<Herald::TriggerCreated>().ok())
        .map(|log| log.inner.data)
        .collect())
}
