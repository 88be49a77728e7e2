//! Shared set-up for the integration tests: a real anvil from the project's toolchain, accounts, and
//! a deployed Herald with types and bonded keepers.

use std::path::PathBuf;

mod keeper;
mod receiver;
mod scenario;

pub use keeper::{KeeperOptions, KeeperProcess, WEBHOOK_SEED};
pub use receiver::{Received, Receiver};
pub use scenario::{eventually, price, seed_trigger};

use alloy::{
    network::EthereumWallet,
    node_bindings::{Anvil, AnvilInstance},
    primitives::{
        Address, U256,
        aliases::{U24, U40, U80, U96},
    },
    providers::{DynProvider, Provider, ProviderBuilder},
    signers::local::PrivateKeySigner,
};
use herald_chain::{
    DeployOptions, Deployment, TokenChoice,
    bindings::{Herald, HeraldTestToken},
    deploy::deploy,
};

/// Starts the project's own anvil (`.tools/`, or `HERALD_ANVIL`).
pub fn anvil() -> AnvilInstance {
    let path = std::env::var_os("HERALD_ANVIL")
        .map(PathBuf::from)
        .unwrap_or_else(|| {
            PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../.tools/node_modules/.bin/anvil")
        });
    Anvil::new().path(path).spawn()
}

/// Anvil's development account `i` as a signer.
pub fn signer(anvil: &AnvilInstance, i: usize) -> PrivateKeySigner {
    PrivateKeySigner::from_signing_key(anvil.keys()[i].clone().into())
}

/// A provider that signs as anvil's account `i`.
pub async fn provider_for(anvil: &AnvilInstance, i: usize) -> DynProvider {
    ProviderBuilder::new()
        .wallet(EthereumWallet::from(signer(anvil, i)))
        .connect(&anvil.endpoint())
        .await
        .expect("anvil is reachable")
        .erased()
}

/// A deployed Herald with a test token, connector type 1 and service type 1, and keepers that are
/// registered, bonded and active.
pub struct Network {
    /// The deployment record.
    pub deployment: Deployment,
    /// Account 0: deployer, admin and treasury.
    pub admin: DynProvider,
    /// The keepers' signers, in anvil account order.
    pub keepers: Vec<PrivateKeySigner>,
}

/// Fees the fixture's types charge.
pub const CONNECTOR_DEV_FEE: u64 = 3_000_000_000_000_000;
/// The connector operator's fee.
pub const OPERATOR_FEE: u64 = 2_000_000_000_000_000;
/// The service developer's fee.
pub const SERVICE_DEV_FEE: u64 = 4_000_000_000_000_000;
/// The cap on the runner's fee.
pub const MAX_RUNNER_FEE: u64 = 5_000_000_000_000_000;
/// Each keeper's bond.
pub const BOND: u64 = 10_000_000_000_000_000_000;

/// Deploys and sets up a network: account 0 admin, 1 connector developer, 2 service developer,
/// accounts `3..3 + keepers` keepers, with the given quorum.
pub async fn network(anvil: &AnvilInstance, keepers: usize, quorum: u8) -> Network {
    let admin = provider_for(anvil, 0).await;
    let dir = tempfile::tempdir().expect("tempdir");
    let owner = signer(anvil, 0).address();
    let options = DeployOptions {
        token: TokenChoice::TestToken,
        admin: owner,
        treasury: owner,
        dir: dir.path().into(),
        fresh: true,
    };
    let (deployment, _) = deploy(&admin, &options).await.expect("deploy");
    let herald = Herald::new(deployment.herald.address, &admin);
    herald
        .setQuorum(quorum)
        .send()
        .await
        .expect("send")
        .get_receipt()
        .await
        .expect("setQuorum");

    let dev =
        |i| async move { Herald::new(deployment.herald.address, provider_for(anvil, i).await) };
    let connector_dev = signer(anvil, 1).address();
    dev(1)
        .await
        .registerConnectorType(
            connector_dev,
            U96::from(CONNECTOR_DEV_FEE),
            U96::from(OPERATOR_FEE),
            Default::default(),
            "ipfs://evm-log".into(),
        )
        .send()
        .await
        .expect("send")
        .get_receipt()
        .await
        .expect("connector type");
    let service_dev = signer(anvil, 2).address();
    dev(2)
        .await
        .registerServiceType(
            service_dev,
            U96::from(SERVICE_DEV_FEE),
            U96::from(MAX_RUNNER_FEE),
            Default::default(),
            "ipfs://webhook".into(),
        )
        .send()
        .await
        .expect("send")
        .get_receipt()
        .await
        .expect("service type");

    let mut signers = Vec::new();
    for i in 3..3 + keepers {
        let provider = provider_for(anvil, i).await;
        fund(
            &provider,
            &deployment,
            signer(anvil, i).address(),
            U256::from(BOND),
        )
        .await;
        Herald::new(deployment.herald.address, &provider)
            .registerKeeper(U96::from(BOND), "http://127.0.0.1:0".into())
            .send()
            .await
            .expect("send")
            .get_receipt()
            .await
            .expect("registerKeeper");
        signers.push(signer(anvil, i));
    }
    Network {
        deployment,
        admin,
        keepers: signers,
    }
}

/// Mints `amount` test tokens to `who` (sent by `provider`'s account) and approves Herald to take them.
pub async fn fund(provider: &DynProvider, deployment: &Deployment, who: Address, amount: U256) {
    let token = HeraldTestToken::new(deployment.token.address, provider);
    token
        .mint(who, amount)
        .send()
        .await
        .expect("send")
        .get_receipt()
        .await
        .expect("mint");
    token
        .approve(deployment.herald.address, amount)
        .send()
        .await
        .expect("send")
        .get_receipt()
        .await
        .expect("approve");
}

/// A user (anvil account `i`) holding `amount` tokens deposited into Herald.
pub async fn depositor(
    anvil: &AnvilInstance,
    net: &Network,
    i: usize,
    amount: U256,
) -> DynProvider {
    let user = provider_for(anvil, i).await;
    fund(&user, &net.deployment, signer(anvil, i).address(), amount).await;
    Herald::new(net.deployment.herald.address, &user)
        .deposit(amount)
        .send()
        .await
        .expect("send")
        .get_receipt()
        .await
        .expect("deposit");
    user
}

/// Terms on the fixture's connector and service types: cap 0.1 token, no expiry, no limit.
pub fn terms() -> Herald::TriggerTerms {
    Herald::TriggerTerms {
        connectorType: U24::from(1),
        serviceType: U24::from(1),
        maxFeePerExecution: U80::from(10u64.pow(17)),
        expiresAt: U40::ZERO,
        maxExecutions: 0,
    }
}

/// Creates a trigger as `user` and waits for it to be mined.
pub async fn create_trigger(
    user: &DynProvider,
    net: &Network,
    terms: Herald::TriggerTerms,
    budget: U96,
    config: &str,
) {
    Herald::new(net.deployment.herald.address, user)
        .createTrigger(terms, budget, config.to_string().into_bytes().into())
        .send()
        .await
        .expect("send")
        .get_receipt()
        .await
        .expect("createTrigger");
}
