//! Herald's on-chain state as every client shows it: trigger and keeper states, the filter for
//! trigger creations, and the types registered for a manifest.

use std::collections::BTreeMap;

use alloy::{
    primitives::{Address, B256, U256},
    providers::Provider,
    rpc::types::Filter,
    sol_types::SolEvent,
};

use crate::bindings::Herald;

/// A trigger's state from its rules' flags (PAUSED = 1, CANCELLED = 2, DISPUTED = 4; cancellation wins,
/// then the pause).
pub fn trigger_status(flags: u8) -> &'static str {
    if flags & 2 != 0 {
        "cancelled"
    } else if flags & 1 != 0 {
        "paused"
    } else if flags & 4 != 0 {
        "disputed"
    } else {
        "active"
    }
}

/// A registered keeper's state: active, unbonding (inactive, bond still slashable), or inactive
/// (not yet activated, or bonded below the minimum).
pub fn keeper_state(active: bool, unbonds_at: u64) -> &'static str {
    if active {
        "active"
    } else if unbonds_at != 0 {
        "unbonding"
    } else {
        "inactive"
    }
}

/// `TriggerCreated` logs of `herald` — one trigger's if `id` is given, one owner's if `owner` is.
pub fn created_filter(herald: Address, id: Option<u64>, owner: Option<Address>) -> Filter {
    let mut filter = Filter::new()
        .address(herald)
        .event_signature(Herald::TriggerCreated::SIGNATURE_HASH)
        .from_block(0);
    if let Some(id) = id {
        filter = filter.topic1(U256::from(id));
    }
    if let Some(owner) = owner {
        filter = filter.topic2(owner.into_word());
    }
    filter
}

/// The lowest-numbered connector and service types whose current registration carries these
/// manifest hashes, if any. Keepers serve a trigger only on types registered for the manifests its
/// file uses, so these are the ids a new trigger on those manifests names by default.
pub async fn registered_types<P: Provider>(
    provider: &P,
    herald: Address,
    connector_hash: B256,
    service_hash: B256,
) -> Result<(Option<u32>, Option<u32>), alloy::transports::TransportError> {
    let filter = Filter::new()
        .address(herald)
        .event_signature(vec![
            Herald::ConnectorTypeSet::SIGNATURE_HASH,
            Herald::ServiceTypeSet::SIGNATURE_HASH,
        ])
        .from_block(0);
    let logs = provider.get_logs(&filter).await?;
    // A later registration of an id (an update) replaces the earlier one.
    let mut connectors = BTreeMap::new();
    let mut services = BTreeMap::new();
    for log in &logs {
        if let Ok(c) = log.log_decode::<Herald::ConnectorTypeSet>() {
            connectors.insert(c.inner.id.to::<u32>(), c.inner.manifestHash);
        } else if let Ok(s) = log.log_decode::<Herald::ServiceTypeSet>() {
            services.insert(s.inner.id.to::<u32>(), s.inner.manifestHash);
        }
    }
    let first = |types: &BTreeMap<u32, B256>, hash: B256| {
        types.iter().find(|(_, h)| **h == hash).map(|(id, _)| *id)
    };
    Ok((
        first(&connectors, connector_hash),
        first(&services, service_hash),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cancellation_wins_over_a_pause_and_unbonding_over_inactivity() {
        assert_eq!(trigger_status(0), "active");
        assert_eq!(trigger_status(1), "paused");
        assert_eq!(trigger_status(3), "cancelled");
        assert_eq!(keeper_state(true, 0), "active");
        assert_eq!(keeper_state(false, 9), "unbonding");
        assert_eq!(keeper_state(false, 0), "inactive");
    }
}
