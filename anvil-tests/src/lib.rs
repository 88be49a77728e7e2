//! Shared set-up for the integration tests: the devnet's anvil, network and receiver (from
//! `herald-devnet`, so the tests exercise the set-up `herald devnet` and `herald bench` use), plus
//! a keeper process the tests can kill and restart.

pub mod fault;
mod keeper;
mod scenario;

pub use herald_devnet::{
    BOND, CONNECTOR_DEV_FEE, MAX_RUNNER_FEE, Network, OPERATOR_FEE, Received, Receiver,
    SERVICE_DEV_FEE, http_terms, order_subscription, price, sealed_config, sealed_envelope,
    seed_trigger, signer, terms,
};
pub use keeper::{KeeperOptions, KeeperProcess};
pub use scenario::eventually;

use std::collections::BTreeMap;

use alloy::{
    node_bindings::AnvilInstance,
    primitives::{Address, B256, U256, aliases::U96},
    providers::{DynProvider, Provider},
    rpc::types::{Filter, Log},
    sol_types::SolEvent,
};
use herald_chain::{Deployment, bindings::Herald};

// The tests' set-up fails loudly: each helper below is the devnet's, with the error turned into a
// panic that names the step.

/// Starts the project's own anvil (`.tools/`, or `HERALD_ANVIL`).
pub fn anvil() -> AnvilInstance {
    herald_devnet::spawn_anvil().expect("anvil starts")
}

/// A provider that signs as anvil's account `i`.
pub async fn provider_for(anvil: &AnvilInstance, i: usize) -> DynProvider {
    herald_devnet::provider_for(anvil, i)
        .await
        .expect("anvil is reachable")
}

/// Deploys and sets up a network (see [`Network::setup`]).
pub async fn network(anvil: &AnvilInstance, keepers: usize, quorum: u8) -> Network {
    Network::setup(anvil, keepers, quorum)
        .await
        .expect("network set-up")
}

/// Mints `amount` test tokens to `who` and approves Herald to take them.
pub async fn fund(provider: &DynProvider, deployment: &Deployment, who: Address, amount: U256) {
    herald_devnet::fund(provider, deployment, who, amount)
        .await
        .expect("funding");
}

/// A user (anvil account `i`) holding `amount` tokens deposited into Herald.
pub async fn depositor(
    anvil: &AnvilInstance,
    net: &Network,
    i: usize,
    amount: U256,
) -> DynProvider {
    herald_devnet::depositor(anvil, net, i, amount)
        .await
        .expect("deposit")
}

/// Creates a trigger as `user`, waits for it to be mined, and returns its id.
pub async fn create_trigger(
    user: &DynProvider,
    net: &Network,
    terms: Herald::TriggerTerms,
    budget: U96,
    config: &str,
) -> u64 {
    herald_devnet::create_trigger(user, net, terms, budget, config)
        .await
        .expect("createTrigger")
}

/// Every log of the event `E` that `herald` emitted so far.
pub async fn herald_logs<E: SolEvent>(provider: &DynProvider, herald: Address) -> Vec<Log> {
    provider
        .get_logs(
            &Filter::new()
                .address(herald)
                .event_signature(E::SIGNATURE_HASH)
                .from_block(0),
        )
        .await
        .expect("logs")
}

/// Every `ReceiptSettled` so far: (trigger, event id) → times settled.
pub async fn settled_receipts(
    provider: &DynProvider,
    herald: Address,
) -> BTreeMap<(u64, B256), u32> {
    let mut out = BTreeMap::new();
    for log in herald_logs::<Herald::ReceiptSettled>(provider, herald).await {
        let e = log
            .log_decode::<Herald::ReceiptSettled>()
            .expect("decodes")
            .inner
            .data;
        *out.entry((e.triggerId, e.eventId)).or_default() += 1;
    }
    out
}
