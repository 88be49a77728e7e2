//! What both benchmarks stand on: a devnet with one keeper, one watched token, one seed-000 trigger
//! and a receiver; and an emitter that sends pre-signed transactions, so the clock starts at the
//! node and not at gas estimation.

use alloy::{
    eips::eip2718::Encodable2718,
    network::{EthereumWallet, NetworkTransactionBuilder, TransactionBuilder},
    node_bindings::AnvilInstance,
    primitives::{Address, Bytes, U256, aliases::U96},
    providers::{DynProvider, Provider, ProviderBuilder},
    rpc::types::TransactionRequest,
    signers::local::PrivateKeySigner,
};
use eyre::WrapErr;
use herald_chain::bindings::HeraldTestToken;
use herald_devnet::{
    InProcessKeeper, KeeperSettings, Network, Receiver, create_trigger, depositor, seed_trigger,
    signer, spawn_anvil, terms,
};
use herald_keeper::node::Identity;

/// Tokens the benchmark's user escrows: far more than any run spends.
const BUDGET: u128 = 1_000_000 * 10u128.pow(18);

/// The anvil account that emits the benchmark's events.
const EMITTER: usize = 5;

/// A running devnet with one keeper.
pub(crate) struct Rig {
    pub anvil: AnvilInstance,
    pub token: Address,
    pub receiver: Receiver,
    pub keeper: InProcessKeeper,
    _dir: tempfile::TempDir,
}

impl Rig {
    /// Starts anvil, the network, the trigger and the keeper.
    pub async fn start(settings: KeeperSettings) -> eyre::Result<Self> {
        let anvil = spawn_anvil()?;
        let net = Network::setup(&anvil, 1, 1).await?;
        let token = *HeraldTestToken::deploy(&net.admin)
            .await
            .wrap_err("deploying the watched token")?
            .address();
        let receiver = Receiver::start().await?;
        let user = depositor(&anvil, &net, 9, U256::from(BUDGET)).await?;
        create_trigger(
            &user,
            &net,
            terms(),
            U96::from(BUDGET),
            &seed_trigger(token, &receiver.url()),
        )
        .await?;
        let dir = tempfile::tempdir()?;
        let start_block = net.admin.get_block_number().await? + 1;
        let config = KeeperSettings {
            start_block,
            ..settings
        }
        .keeper_config(&anvil, net.herald(), &dir.path().join("keeper.db"))?;
        let keeper = InProcessKeeper::start(
            config,
            Identity {
                signer: net.keepers[0].clone(),
                webhook_seed: b"herald-bench-webhook-seed".to_vec(),
            },
        );
        Ok(Self {
            anvil,
            token,
            receiver,
            keeper,
            _dir: dir,
        })
    }

    /// An emitter of transactions to the watched token.
    pub async fn emitter(&self) -> eyre::Result<Emitter> {
        Emitter::new(&self.anvil, signer(&self.anvil, EMITTER), self.token).await
    }
}

/// Signs transactions ahead of time and sends them raw.
pub(crate) struct Emitter {
    provider: DynProvider,
    wallet: EthereumWallet,
    from: Address,
    to: Address,
    nonce: u64,
    chain_id: u64,
}

impl Emitter {
    async fn new(
        anvil: &AnvilInstance,
        signer: PrivateKeySigner,
        to: Address,
    ) -> eyre::Result<Self> {
        let provider = ProviderBuilder::new()
            .disable_recommended_fillers()
            .connect(&anvil.endpoint())
            .await?
            .erased();
        let from = signer.address();
        Ok(Self {
            nonce: provider.get_transaction_count(from).await?,
            chain_id: provider.get_chain_id().await?,
            provider,
            wallet: EthereumWallet::from(signer),
            from,
            to,
        })
    }

    /// The account's address.
    pub fn address(&self) -> Address {
        self.from
    }

    /// Signs a call to the watched token with `input`, allowing `gas`.
    pub async fn sign(&mut self, input: Bytes, gas: u64) -> eyre::Result<Vec<u8>> {
        let tx = TransactionRequest::default()
            .with_from(self.from)
            .with_to(self.to)
            .with_input(input)
            .with_nonce(self.nonce)
            .with_chain_id(self.chain_id)
            .with_gas_limit(gas)
            .with_max_fee_per_gas(100_000_000_000)
            .with_max_priority_fee_per_gas(1_000_000_000);
        let envelope = tx.build(&self.wallet).await?;
        self.nonce += 1;
        Ok(envelope.encoded_2718())
    }

    /// Sends a signed transaction; with anvil's automining it returns once the block is mined.
    pub async fn send(&self, raw: &[u8]) -> eyre::Result<()> {
        // The pending transaction is not awaited: the receiver's clock is what the benchmark reads.
        let _pending = self
            .provider
            .send_raw_transaction(raw)
            .await
            .wrap_err("sending a benchmark transaction")?;
        Ok(())
    }

    /// Gas `input` needs, with a margin.
    pub async fn estimate(&self, input: Bytes) -> eyre::Result<u64> {
        let tx = TransactionRequest::default()
            .with_from(self.from)
            .with_to(self.to)
            .with_input(input);
        Ok(self.provider.estimate_gas(tx).await? * 6 / 5)
    }
}
