//! A deployed Herald with priced types, bonded keepers and funded users.

use alloy::{
    network::EthereumWallet,
    node_bindings::AnvilInstance,
    primitives::{
        Address, U256,
        aliases::{U24, U40, U80, U96},
    },
    providers::{DynProvider, Provider, ProviderBuilder},
    signers::local::PrivateKeySigner,
};
use eyre::WrapErr;
use herald_chain::{
    DeployOptions, Deployment, TokenChoice,
    bindings::{Herald, HeraldTestToken},
    deploy::deploy,
};

/// The connector developer's fee per execution (0.003 token).
pub const CONNECTOR_DEV_FEE: u64 = 3_000_000_000_000_000;
/// The connector operator's fee per execution (0.002 token).
pub const OPERATOR_FEE: u64 = 2_000_000_000_000_000;
/// The service developer's fee per successful execution (0.004 token).
pub const SERVICE_DEV_FEE: u64 = 4_000_000_000_000_000;
/// The cap on the runner's fee per execution (0.005 token).
pub const MAX_RUNNER_FEE: u64 = 5_000_000_000_000_000;
/// Each keeper's bond (10 tokens).
pub const BOND: u64 = 10_000_000_000_000_000_000;

/// Anvil's development account `i` as a signer.
pub fn signer(anvil: &AnvilInstance, i: usize) -> PrivateKeySigner {
    PrivateKeySigner::from_signing_key(anvil.keys()[i].clone().into())
}

/// A provider over HTTP that signs as anvil's account `i`.
pub async fn provider_for(anvil: &AnvilInstance, i: usize) -> eyre::Result<DynProvider> {
    Ok(ProviderBuilder::new()
        .wallet(EthereumWallet::from(signer(anvil, i)))
        .connect(&anvil.endpoint())
        .await
        .wrap_err_with(|| format!("connecting to anvil at {}", anvil.endpoint()))?
        .erased())
}

/// A deployed Herald with a test token, connector types 1 (EVM log) and 2 (HTTP event), service
/// type 1 (webhook), and keepers that are
/// registered, bonded and active. Accounts: 0 deployer, admin and treasury; 1 connector
/// developer; 2 service developer; `3..3 + keepers` the keepers.
pub struct Network {
    /// The deployment record.
    pub deployment: Deployment,
    /// Account 0: deployer, admin and treasury.
    pub admin: DynProvider,
    /// The keepers' signers, in anvil account order.
    pub keepers: Vec<PrivateKeySigner>,
}

impl Network {
    /// Deploys and sets up a network with `keepers` keepers and the given quorum.
    pub async fn setup(anvil: &AnvilInstance, keepers: usize, quorum: u8) -> eyre::Result<Self> {
        let admin = provider_for(anvil, 0).await?;
        let dir = tempfile::tempdir()?;
        let owner = signer(anvil, 0).address();
        let options = DeployOptions {
            token: TokenChoice::TestToken,
            admin: owner,
            treasury: owner,
            dir: dir.path().into(),
            fresh: true,
            params: herald_chain::params::NetworkParams::devnet(keepers, quorum),
            devnet: true,
        };
        let (deployment, _) = deploy(&admin, &options)
            .await
            .wrap_err("deploying the contracts")?;
        let herald = deployment.herald.address;

        // The built-in types, each registered for its manifest (keepers serve a trigger only on
        // types whose manifest hash is that of the manifest its file names): connector 1 is the
        // EVM contract log, connector 2 the HTTP event (subscriptions), service 1 the webhook.
        let [evm, http, webhook] = herald_spec::BUILTIN_MANIFESTS;
        let connector_dev = provider_for(anvil, 1).await?;
        for (name, text) in [evm, http] {
            Herald::new(herald, &connector_dev)
                .registerConnectorType(
                    signer(anvil, 1).address(),
                    U96::from(CONNECTOR_DEV_FEE),
                    U96::from(OPERATOR_FEE),
                    alloy::primitives::keccak256(text),
                    format!("herald:builtin/{name}"),
                )
                .send()
                .await?
                .get_receipt()
                .await
                .wrap_err_with(|| format!("registerConnectorType {name}"))?;
        }
        let service_dev = provider_for(anvil, 2).await?;
        Herald::new(herald, &service_dev)
            .registerServiceType(
                signer(anvil, 2).address(),
                U96::from(SERVICE_DEV_FEE),
                U96::from(MAX_RUNNER_FEE),
                alloy::primitives::keccak256(webhook.1),
                format!("herald:builtin/{}", webhook.0),
            )
            .send()
            .await?
            .get_receipt()
            .await
            .wrap_err("registerServiceType")?;

        let mut signers = Vec::new();
        for i in 3..3 + keepers {
            let keeper = provider_for(anvil, i).await?;
            fund(
                &keeper,
                &deployment,
                signer(anvil, i).address(),
                U256::from(BOND),
            )
            .await?;
            Herald::new(herald, &keeper)
                .registerKeeper(U96::from(BOND), "http://127.0.0.1:0".into(), Address::ZERO)
                .send()
                .await?
                .get_receipt()
                .await
                .wrap_err_with(|| format!("registerKeeper for account {i}"))?;
            // As `herald keeper register` does: owners can seal to the keeper at once.
            let encryption = herald_seal::EncryptionKey::for_keeper(&signer(anvil, i).to_bytes().0);
            Herald::new(herald, &keeper)
                .setEncryptionKey(encryption.public_key().as_bytes().into())
                .send()
                .await?
                .get_receipt()
                .await
                .wrap_err_with(|| format!("setEncryptionKey for account {i}"))?;
            signers.push(signer(anvil, i));
        }
        Ok(Self {
            deployment,
            admin,
            keepers: signers,
        })
    }

    /// Waits until every keeper has put its endpoint in the registry (each does as it starts), so
    /// the first batches find their co-signers.
    pub async fn wait_for_endpoints(&self) -> eyre::Result<()> {
        let herald = Herald::new(self.herald(), &self.admin);
        let deadline = tokio::time::Instant::now() + std::time::Duration::from_secs(30);
        for keeper in &self.keepers {
            while herald
                .keeper(keeper.address())
                .call()
                .await?
                .endpoint
                .ends_with(":0")
            {
                if tokio::time::Instant::now() >= deadline {
                    eyre::bail!("keeper {} did not register its endpoint", keeper.address());
                }
                tokio::time::sleep(std::time::Duration::from_millis(100)).await;
            }
        }
        Ok(())
    }

    /// The Herald contract's address.
    pub fn herald(&self) -> Address {
        self.deployment.herald.address
    }

    /// The block after the chain's head: where a keeper started now begins reading.
    pub async fn next_block(&self) -> u64 {
        self.admin.get_block_number().await.unwrap_or_default() + 1
    }
}

/// Mints `amount` test tokens to `who` (sent by `provider`'s account) and approves Herald to take
/// them.
pub async fn fund(
    provider: &DynProvider,
    deployment: &Deployment,
    who: Address,
    amount: U256,
) -> eyre::Result<()> {
    let token = HeraldTestToken::new(deployment.token.address, provider);
    token
        .mint(who, amount)
        .send()
        .await?
        .get_receipt()
        .await
        .wrap_err("minting test tokens")?;
    token
        .approve(deployment.herald.address, amount)
        .send()
        .await?
        .get_receipt()
        .await
        .wrap_err("approving Herald")?;
    Ok(())
}

/// A user (anvil account `i`) holding `amount` tokens deposited into Herald.
pub async fn depositor(
    anvil: &AnvilInstance,
    net: &Network,
    i: usize,
    amount: U256,
) -> eyre::Result<DynProvider> {
    let user = provider_for(anvil, i).await?;
    fund(&user, &net.deployment, signer(anvil, i).address(), amount).await?;
    Herald::new(net.herald(), &user)
        .deposit(amount)
        .send()
        .await?
        .get_receipt()
        .await
        .wrap_err("deposit")?;
    Ok(user)
}

/// Terms on the network's connector and service types: cap 0.1 token, no expiry, no limit.
pub fn terms() -> Herald::TriggerTerms {
    Herald::TriggerTerms {
        connectorType: U24::from(1),
        serviceType: U24::from(1),
        maxFeePerExecution: U80::from(10u64.pow(17)),
        expiresAt: U40::ZERO,
        maxExecutions: 0,
    }
}

/// The terms of a subscription (a trigger on the HTTP_EVENT connector, type 2) with `terms`' caps.
pub fn http_terms() -> Herald::TriggerTerms {
    Herald::TriggerTerms {
        connectorType: U24::from(HTTP_CONNECTOR_TYPE),
        ..terms()
    }
}

/// The connector type the devnet registers for the HTTP_EVENT manifest.
pub const HTTP_CONNECTOR_TYPE: u32 = 2;

/// Creates a trigger as `user`, waits for it to be mined and returns its id.
pub async fn create_trigger(
    user: &DynProvider,
    net: &Network,
    terms: Herald::TriggerTerms,
    budget: U96,
    config: &str,
) -> eyre::Result<u64> {
    let receipt = Herald::new(net.herald(), user)
        .createTrigger(terms, budget, config.to_string().into_bytes().into())
        .send()
        .await?
        .get_receipt()
        .await
        .wrap_err("createTrigger")?;
    receipt
        .decoded_log::<Herald::TriggerCreated>()
        .map(|log| log.data.id)
        .ok_or_else(|| eyre::eyre!("createTrigger mined without a TriggerCreated event"))
}
