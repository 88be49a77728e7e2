//! What both benchmarks stand on: a devnet with one keeper (or a network of them, co-signing with
//! a majority quorum), one watched token, one seed-000 trigger and a receiver; and an emitter that sends pre-signed transactions, so the clock starts at the
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
    InProcessKeeper, KeeperSettings, Network, Receiver, create_trigger, depositor, free_addr,
    seed_trigger, signer, spawn_anvil, terms,
};
use herald_keeper::node::Identity;

/// Tokens the benchmark's user escrows: far more than any run spends.
const BUDGET: u128 = 1_000_000 * 10u128.pow(18);

/// The anvil account that emits the benchmark's events.
const EMITTER: usize = 5;

/// A running devnet with its keepers.
pub(crate) struct Rig {
    pub anvil: AnvilInstance,
    pub token: Address,
    pub receiver: Receiver,
    /// The keeper that performs the trigger's executions.
    pub keeper: InProcessKeeper,
    /// The other keepers, co-signing.
    pub others: Vec<InProcessKeeper>,
    _dir: tempfile::TempDir,
}

impl Rig {
    /// Starts anvil, the network, the trigger and `keepers` keepers: one signs alone; several
    /// form a network (each serving the peer routes) with a majority quorum.
    pub async fn start(settings: KeeperSettings, keepers: usize) -> eyre::Result<Self> {
        if keepers == 0 {
            eyre::bail!("--keepers: at least one keeper is needed");
        }
        let anvil = spawn_anvil()?;
        let quorum = u8::try_from(keepers / 2 + 1).wrap_err("--keepers: at most 500")?;
        let net = Network::setup(&anvil, keepers, quorum).await?;
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
        let mut started = Vec::new();
        for (i, signer) in net.keepers.iter().enumerate() {
            let config = KeeperSettings {
                start_block,
                api_listen: if keepers > 1 {
                    Some(free_addr(0)?)
                } else {
                    settings.api_listen
                },
                ..settings.clone()
            }
            .keeper_config(
                &anvil,
                net.herald(),
                &dir.path().join(format!("keeper-{i}.db")),
            )?;
            let identity = Identity::derived(signer.clone());
            started.push((signer.address(), InProcessKeeper::start(config, identity)));
        }
        if keepers > 1 {
            net.wait_for_endpoints().await?;
        }
        // The seed trigger is #1: its performer is first in its ranking.
        let performer = herald_keeper::network::peers::rank(1, started.iter().map(|(a, _)| *a))[0];
        let at = started
            .iter()
            .position(|(a, _)| *a == performer)
            .expect("the performer is one of them");
        let (_, keeper) = started.remove(at);
        Ok(Self {
            anvil,
            token,
            receiver,
            keeper,
            others: started.into_iter().map(|(_, k)| k).collect(),
            _dir: dir,
        })
    }

    /// Stops every keeper.
    pub async fn stop(self) -> eyre::Result<()> {
        self.keeper.stop().await?;
        for keeper in self.others {
            keeper.stop().await?;
        }
        Ok(())
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
