//! The devnet's demo: seed 000's trigger on a token, sample transfers, and who got paid what.
//!
//! [`Demo::start`] brings up anvil, the contracts, the priced types, the keepers (in this process,
//! each with its own SQLite store), a user with an escrowed budget, a watched token and seed
//! 000's trigger pointed at the built-in receiver. [`Demo::emit_samples`] sends transfers of which
//! some match; [`Demo::progress`] reads what was delivered and settled so far; [`Demo::payouts`]
//! reads every party's claimable balance from the contract.

use alloy::{
    node_bindings::AnvilInstance,
    primitives::{Address, U256, aliases::U96},
    providers::{DynProvider, Provider},
    rpc::types::Filter,
    sol_types::SolEvent,
};
use eyre::WrapErr;
use herald_chain::bindings::{Herald, HeraldTestToken};
use herald_keeper::node::Identity;

use crate::{
    InProcessKeeper, KeeperSettings, Network, Receiver, create_trigger, depositor, seed_trigger,
    signer, spawn_anvil_on, terms,
};

/// The demo user's anvil account.
const USER: usize = 9;
/// The account the sample transfers are minted to.
const HOLDER: usize = 5;
/// What the demo user escrows for the trigger (1 token).
const BUDGET: u64 = 1_000_000_000_000_000_000;
/// What the demo user holds in its wallet besides (100 tokens).
const WALLET: u128 = 100_000_000_000_000_000_000;
/// The sample transfers' amounts; seed 000's trigger wants more than 10.
pub const SAMPLE_AMOUNTS: [u64; 5] = [11, 5, 1_000, 10, 42];

/// How the demo is set up.
#[derive(Clone, Debug)]
pub struct DemoOptions {
    /// Anvil's port (0: a free one).
    pub port: u16,
    /// Keepers to run.
    pub keepers: usize,
    /// The port the first keeper serves the REST API on (0: a free one).
    pub api_port: u16,
}

/// A running demo.
pub struct Demo {
    /// The chain.
    pub anvil: AnvilInstance,
    /// The deployment, types and keepers.
    pub net: Network,
    /// The token whose transfers the trigger watches.
    pub token: Address,
    /// The built-in webhook receiver the trigger points at.
    pub receiver: Receiver,
    /// The keepers, running.
    pub keepers: Vec<InProcessKeeper>,
    /// The demo user.
    pub user: Address,
    /// The trigger's id.
    pub trigger: u64,
    /// The trigger's configuration (seed 000's YAML).
    pub trigger_yaml: String,
    /// The first keeper's REST API.
    pub api_url: String,
    /// A write key for it (made for the demo; shown to its user).
    pub api_key: String,
    _dir: tempfile::TempDir,
}

/// What has happened so far.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Progress {
    /// Webhooks the receiver accepted: (webhook-id, amount transferred).
    pub delivered: Vec<(String, String)>,
    /// Receipts settled on chain: (event id, fee).
    pub settled: Vec<(String, U256)>,
    /// Receipts the contract rejected: (event id, reason code).
    pub rejected: Vec<(String, u8)>,
}

/// One party's earnings.
#[derive(Clone, Debug)]
pub struct Payout {
    /// What the party did.
    pub role: String,
    /// Its address.
    pub address: Address,
    /// Its claimable balance.
    pub claimable: U256,
}

/// `127.0.0.1:port`, or a free port when `port` is 0 (found by binding and releasing it).
pub fn free_addr(port: u16) -> eyre::Result<std::net::SocketAddr> {
    let probe = std::net::TcpListener::bind(("127.0.0.1", port))
        .wrap_err_with(|| format!("127.0.0.1:{port} is taken (choose another with --api-port)"))?;
    Ok(probe.local_addr()?)
}

impl Demo {
    /// Sets everything up and starts the keepers.
    pub async fn start(options: &DemoOptions) -> eyre::Result<Self> {
        if options.keepers == 0 {
            eyre::bail!("--keepers: at least one keeper is needed");
        }
        let anvil = spawn_anvil_on(options.port)?;
        // A majority must co-sign each batch: with three keepers, any one may be down.
        let quorum = u8::try_from(options.keepers / 2 + 1)
            .map_err(|_| eyre::eyre!("--keepers: at most 500 keepers"))?;
        let net = Network::setup(&anvil, options.keepers, quorum).await?;
        let token = *HeraldTestToken::deploy(&net.admin)
            .await
            .wrap_err("deploying the demo token")?
            .address();
        let receiver = Receiver::start().await?;
        let user = depositor(&anvil, &net, USER, U256::from(BUDGET)).await?;
        // Tokens in the user's wallet too, to try `herald deposit` and friends on the devnet.
        HeraldTestToken::new(net.deployment.token.address, &user)
            .mint(signer(&anvil, USER).address(), U256::from(WALLET))
            .send()
            .await?
            .get_receipt()
            .await
            .wrap_err("minting the demo user's wallet tokens")?;
        let trigger_yaml = seed_trigger(token, &receiver.url());
        let trigger =
            create_trigger(&user, &net, terms(), U96::from(BUDGET), &trigger_yaml).await?;
        let start_block = net.admin.get_block_number().await? + 1;
        let dir = tempfile::tempdir()?;
        let api_addr = free_addr(options.api_port)?;
        let mut configs = Vec::new();
        for i in 0..net.keepers.len() {
            configs.push(
                KeeperSettings {
                    start_block,
                    // The first keeper serves the demo user's API; every keeper serves the peer
                    // routes its network needs on its own port.
                    api_listen: Some(if i == 0 { api_addr } else { free_addr(0)? }),
                    ..KeeperSettings::default()
                }
                .keeper_config(
                    &anvil,
                    net.herald(),
                    &dir.path().join(format!("keeper-{i}.db")),
                )?,
            );
        }
        // The key goes into the first keeper's store before the keeper opens it: two pools
        // migrating one new SQLite file at once would race (SQLite migrations take no lock).
        let store = herald_store::Store::connect(&configs[0].store.url).await?;
        let issued = herald_api::auth::issue("devnet", herald_store::KeyScope::Write, 600);
        store.insert_api_key(&issued.key, &issued.hash).await?;
        store.close().await;
        let keepers = configs
            .into_iter()
            .zip(&net.keepers)
            .map(|(config, signer)| {
                InProcessKeeper::start(config, Identity::derived(signer.clone()))
            })
            .collect();
        net.wait_for_endpoints().await?;
        Ok(Self {
            api_url: format!("http://{api_addr}"),
            api_key: issued.secret,
            user: signer(&anvil, USER).address(),
            anvil,
            net,
            token,
            receiver,
            keepers,
            trigger,
            trigger_yaml,
            _dir: dir,
        })
    }

    /// Mints the sample transfers (one transaction each); returns how many match the trigger.
    pub async fn emit_samples(&self) -> eyre::Result<usize> {
        let token = HeraldTestToken::new(self.token, &self.net.admin);
        let holder = signer(&self.anvil, HOLDER).address();
        for amount in SAMPLE_AMOUNTS {
            token
                .mint(holder, U256::from(amount))
                .send()
                .await?
                .get_receipt()
                .await
                .wrap_err("minting a sample transfer")?;
        }
        Ok(SAMPLE_AMOUNTS.iter().filter(|a| **a > 10).count())
    }

    /// Mints the sample transfers and waits until every matching one is settled on chain; returns
    /// how many matched.
    pub async fn settle_samples(&self, timeout: std::time::Duration) -> eyre::Result<usize> {
        let expected = self.emit_samples().await?;
        let deadline = tokio::time::Instant::now() + timeout;
        while self.progress().await?.settled.len() < expected {
            if tokio::time::Instant::now() >= deadline {
                eyre::bail!("the demo's {expected} executions were not settled within {timeout:?}");
            }
            tokio::time::sleep(std::time::Duration::from_millis(100)).await;
        }
        Ok(expected)
    }

    /// Deliveries and settlements so far.
    pub async fn progress(&self) -> eyre::Result<Progress> {
        let delivered = self
            .receiver
            .delivered()
            .iter()
            .map(|r| {
                let body = r.json();
                let amount = body["event"]["data"]["arguments"]["Amount"]
                    .as_str()
                    .unwrap_or_default()
                    .to_string();
                (
                    r.header("webhook-id").unwrap_or_default().to_string(),
                    amount,
                )
            })
            .collect();
        let logs = self
            .net
            .admin
            .get_logs(
                &Filter::new()
                    .address(self.net.herald())
                    .event_signature(vec![
                        Herald::ReceiptSettled::SIGNATURE_HASH,
                        Herald::ReceiptRejected::SIGNATURE_HASH,
                    ])
                    .from_block(0),
            )
            .await
            .wrap_err("reading settlement events")?;
        let mut progress = Progress {
            delivered,
            ..Progress::default()
        };
        for log in logs {
            if let Ok(e) = log.log_decode::<Herald::ReceiptSettled>() {
                let e = e.inner.data;
                progress.settled.push((e.eventId.to_string(), e.fee));
            } else if let Ok(e) = log.log_decode::<Herald::ReceiptRejected>() {
                let e = e.inner.data;
                progress.rejected.push((e.eventId.to_string(), e.reason));
            }
        }
        Ok(progress)
    }

    /// Every party's claimable balance, and the trigger's remaining budget.
    pub async fn payouts(&self) -> eyre::Result<(Vec<Payout>, U256)> {
        let herald = Herald::new(self.net.herald(), &self.net.admin);
        let mut parties = vec![
            (
                "connector developer".to_string(),
                signer(&self.anvil, 1).address(),
            ),
            (
                "service developer".to_string(),
                signer(&self.anvil, 2).address(),
            ),
        ];
        // The trigger's performer, as every keeper ranks it; the others co-sign.
        let performer = herald_keeper::network::peers::rank(
            self.trigger,
            self.keepers.iter().map(|k| k.address),
        )
        .first()
        .copied();
        for (i, keeper) in self.keepers.iter().enumerate() {
            let role = if Some(keeper.address) == performer {
                "performer: connector operator, runner"
            } else {
                "co-signer"
            };
            parties.push((format!("keeper {} ({role})", i + 1), keeper.address));
        }
        parties.push((
            "protocol treasury".to_string(),
            signer(&self.anvil, 0).address(),
        ));
        let mut payouts = Vec::new();
        for (role, address) in parties {
            let claimable = herald.claimable(address).call().await?;
            payouts.push(Payout {
                role,
                address,
                claimable,
            });
        }
        let budget = U256::from(herald.trigger(self.trigger).call().await?.ledger.budget);
        Ok((payouts, budget))
    }

    /// What the user escrowed for the trigger.
    pub fn budget(&self) -> U256 {
        U256::from(BUDGET)
    }

    /// A provider on the devnet (account 0).
    pub fn provider(&self) -> &DynProvider {
        &self.net.admin
    }

    /// Stops the keepers; anvil stops when the demo is dropped.
    pub async fn stop(self) -> eyre::Result<()> {
        for keeper in self.keepers {
            keeper.stop().await?;
        }
        Ok(())
    }
}
