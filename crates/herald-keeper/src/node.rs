//! The keeper process: follow the chain, dispatch, run services, settle.
//!
//! ```text
//!  LogFollower ──blocks──▶ Dispatcher ──(one transaction: events, executions, cursor)──▶ Store
//!                              │ pending executions
//!                              ▼
//!                       runners (bounded concurrency) ──results──▶ finisher (batched) ──▶ Store
//!                                                                                          │
//!                                            Settler ◀── settleable executions ────────────┘
//! ```
//!
//! In a network (`[network]`, the default when the API listens) the dispatcher stores another
//! keeper's executions as standby, a takeover task runs those their performer left unsettled, the
//! settler collects co-signatures from peers, and the API also serves the peer routes (co-signing,
//! heartbeats, peer status). See `network`.
//!
//! Crash safety comes from the order of writes, not from shutdown: an execution is stored before
//! its service runs, its result before its receipt is built, and a `settle` transaction before it
//! is awaited. A restarted keeper resumes pending executions (same request, same `webhook-id`),
//! reconciles submitted transactions, and reads the chain again from its cursor.

use std::{
    sync::{Arc, RwLock},
    time::{Duration, Instant},
};

use alloy::{
    network::EthereumWallet,
    primitives::{Address, B256},
    providers::{DynProvider, Provider, ProviderBuilder},
    signers::local::PrivateKeySigner,
};
use eyre::WrapErr;
use herald_api::{ApiState, Chain, Metrics};
use herald_connectors::evm::{FollowConfig, HeadSource, LogFollower};
use herald_core::Event;
use herald_services::{WebhookClient, WebhookConfig};
use herald_spec::Manifests;
use herald_store::{Finished, Store};
use tokio::sync::{Notify, mpsc};

use crate::{
    budget::Budgets,
    conduct::{Conduct, Honest},
    config::KeeperConfig,
    cosign::{Cosigner, LocalSigner},
    dispatch::Dispatcher,
    network::{
        Assignment, Peers,
        attest::Attestor,
        client::NetworkCosigner,
        health::{self, Health, HealthConfig},
        protocol::Domain,
        relay::{Relayed, Relayer},
        routes::{PeerState, router as peer_router},
        takeover,
    },
    runner::Runner,
    secrets::{Unsealer, publish_encryption_key},
    settler::{Settler, SettlerConfig},
    triggers::{TriggerSet, load_triggers},
};

mod execute;
mod follow;
mod identity;
mod network;
mod tasks;
mod watchdog;

use execute::{Dispatched, finish_executions, run_executions};
use follow::{Feeds, Wiring, follow, redispatch_api_events};
pub use identity::{Identity, load_encryption_key, load_signer};
use network::{Either, join_network};
use tasks::Tasks;

/// The connector name chain events are counted under.
const CONNECTOR: &str = "evm";

/// How many items each queue between the node's tasks holds (API events to the follower,
/// executions to the runners, results to the finisher, takeovers). A full queue makes its
/// producer wait: under a burst the follower stops reading and the API holds its requests until
/// the runners catch up, and memory stays bounded — what is waiting is in the store already.
/// Sized to keep the runners fed between blocks (1,024 cost the throughput bench 17%).
const QUEUE: usize = 16_384;

/// How often the gas wallet's balance is looked at.
const GAS_CHECK_INTERVAL: Duration = Duration::from_secs(30);

/// Starts the REST API (and the peer routes, in a network) if `[api] listen` is set.
async fn serve_api(
    config: &KeeperConfig,
    store: &Store,
    chain: Chain,
    metrics: &Arc<Metrics>,
    events: mpsc::Sender<Event>,
    peer_routes: axum::Router,
    tasks: &mut Tasks,
) -> eyre::Result<bool> {
    let Some(listen) = config.api.listen else {
        return Ok(false);
    };
    let listener = tokio::net::TcpListener::bind(listen)
        .await
        .wrap_err_with(|| format!("api.listen {listen}"))?;
    let state = ApiState::new(store.clone(), Some(chain), metrics.clone()).with_event_feed(events);
    tracing::info!(%listen, "serving the REST API");
    // Graceful: when the node stops, the API closes its connections (idle keep-alive ones
    // included) instead of leaving them to answer from a closed store.
    tasks.spawn_graceful("REST API", |stopping| async move {
        if let Err(error) = herald_api::serve_with(listener, state, peer_routes, stopping).await {
            tracing::error!(%error, "the REST API stopped");
        }
    });
    Ok(true)
}

/// Runs the keeper, with the identity its configuration points at, until `shutdown` resolves.
pub async fn run(
    config: KeeperConfig,
    shutdown: impl std::future::Future<Output = ()>,
) -> eyre::Result<()> {
    let identity = Identity::load(&config)?;
    run_as(config, identity, shutdown).await
}

/// Runs the keeper as `identity` until `shutdown` resolves.
pub async fn run_as(
    config: KeeperConfig,
    identity: Identity,
    shutdown: impl std::future::Future<Output = ()>,
) -> eyre::Result<()> {
    run_with(config, identity, Arc::new(Honest), shutdown).await
}

/// Runs the keeper as `identity`, behaving as `conduct` decides, until `shutdown` resolves. Only
/// code that embeds the node chooses a conduct other than [`Honest`] (see [`crate::conduct`]).
pub async fn run_with(
    config: KeeperConfig,
    identity: Identity,
    conduct: Arc<dyn Conduct>,
    shutdown: impl std::future::Future<Output = ()>,
) -> eyre::Result<()> {
    let gas_wallet = identity.gas_wallet();
    let Identity {
        signer,
        encryption,
        gas,
    } = identity;
    let keeper = signer.address();
    // Transactions are paid by the gas wallet; the few the registry wants from the keeper itself
    // (its endpoint and encryption key) name the signing key as `from`.
    let mut wallet = EthereumWallet::from(gas.unwrap_or_else(|| signer.clone()));
    wallet.register_signer(signer.clone());
    let store = Store::connect(&config.store.url).await?;
    // Nonces are asked of the node for every transaction rather than cached: after a dropped
    // transaction or a reorg, a cached nonce would stall every later settlement.
    let provider: DynProvider = ProviderBuilder::new()
        .disable_recommended_fillers()
        .with_gas_estimation()
        .with_simple_nonce_management()
        .fetch_chain_id()
        .wallet(wallet)
        .connect(&config.chain.rpc_url)
        .await
        .wrap_err_with(|| format!("connecting to chain.rpc_url {}", config.chain.rpc_url))?
        .erased();
    let herald = config.chain.herald;
    let chain_id = provider.get_chain_id().await?;
    let stream = format!("eip155:{chain_id}");
    tracing::info!(%keeper, %gas_wallet, %herald, chain_id, "keeper starting");

    let mut set = TriggerSet::new(Manifests::builtin()).with_fee_floor(config.fee_floor());
    let report = load_triggers(&provider, herald, config.chain.deployed_at, &mut set).await?;
    for (id, reason) in &report.invalid {
        tracing::warn!(trigger = id, %reason, "trigger configuration refused");
    }
    tracing::info!(
        loaded = report.loaded.len() - report.cancelled.len(),
        invalid = report.invalid.len(),
        "trigger set rebuilt from the registry"
    );

    let triggers = Arc::new(RwLock::new(set));

    let cursor = store.cursor(&stream).await?;
    let (next_block, last) = match &cursor {
        Some(c) => (c.block + 1, Some((c.block, c.block_hash.parse::<B256>()?))),
        None => (
            config.chain.start_block.unwrap_or(report.to_block + 1),
            None,
        ),
    };
    let mut follower = LogFollower::new(
        provider.clone(),
        match config.heads_url() {
            Some(url) => HeadSource::connect(url).await,
            None => HeadSource::Poll,
        },
        FollowConfig {
            confirmations: config.chain.confirmations,
            max_range: config.chain.max_range,
            poll_interval: config.poll_interval(),
        },
        next_block,
        last,
    )
    .await?;
    follower.set_addresses(triggers.read().expect("triggers").addresses(herald));
    tracing::info!(
        from = next_block,
        subscribed = follower.subscribed(),
        "following the chain"
    );

    let webhook = WebhookClient::new(WebhookConfig {
        timeout: config.webhook.timeout,
        max_attempts: config.webhook.max_attempts,
        base_delay: config.webhook.base_delay,
        max_delay: config.webhook.max_delay,
        allow_private_targets: config.webhook.allow_private_targets,
        ..WebhookConfig::default()
    });
    publish_encryption_key(
        &provider,
        herald,
        keeper,
        encryption.public_key(),
        config.keeper.replace_encryption_key,
    )
    .await?;
    let runner = Runner::new(
        webhook,
        Unsealer::new(keeper, encryption, chain_id, herald, triggers.clone()),
        config.runner_fee(),
    )
    .with_conduct(conduct.clone());
    let metrics = Arc::new(Metrics::default());
    let (run_tx, run_rx) = mpsc::channel::<Dispatched>(QUEUE);
    // Every keeper answers challenges of genuine receipts, whoever signed them: an unanswered
    // challenge costs the signers their bonds.
    let mut tasks = Tasks::default();
    tasks.spawn(
        "challenge defence",
        crate::defend::defend(
            provider.clone(),
            herald,
            config.chain.deployed_at,
            config.poll_interval(),
        ),
    );
    tasks.spawn(
        "gas watch",
        crate::gas_watch::watch_gas(
            provider.clone(),
            keeper,
            gas_wallet,
            config.low_gas_balance(),
            config.network.alert_webhook.clone(),
            herald_services::Outbound::new(&herald_services::OutboundConfig {
                timeout: Duration::from_secs(5),
                allow_private_targets: config.webhook.allow_private_targets,
                ..herald_services::OutboundConfig::default()
            }),
            GAS_CHECK_INTERVAL,
        ),
    );
    // Relayed API events, checked by the peer route, wait here for the main loop to record them.
    let (relays, mut relayed) = mpsc::channel::<Relayed>(64);
    let network = match config.network_endpoint() {
        Some(endpoint) => {
            let joined = join_network(
                &config,
                &endpoint,
                &signer,
                &provider,
                &store,
                &triggers,
                Domain { chain_id, herald },
                next_block.saturating_sub(1),
                relays,
            )
            .await?;
            joined.spawn(
                &signer,
                &store,
                &provider,
                &run_tx,
                config.webhook.allow_private_targets,
                &mut tasks,
            );
            Some(joined)
        }
        None => None,
    };
    let (api_events, mut api_feed) = mpsc::channel::<Event>(QUEUE);
    let api = serve_api(
        &config,
        &store,
        Chain {
            provider: provider.clone(),
            herald,
        },
        &metrics,
        api_events,
        network
            .as_ref()
            .map_or_else(axum::Router::new, |n| n.routes.clone()),
        &mut tasks,
    )
    .await?;
    let settled_wake = Arc::new(Notify::new());
    let (done_tx, done_rx) = mpsc::channel::<Finished>(QUEUE);
    // Both drain on stop: the runners finish what is in flight, then the finisher writes it.
    let concurrency = config.webhook.concurrency;
    let runner_metrics = metrics.clone();
    tasks.spawn_graceful("runners", move |stopping| {
        run_executions(
            runner,
            run_rx,
            done_tx,
            concurrency,
            runner_metrics,
            stopping,
        )
    });
    let (finisher_store, finisher_wake) = (store.clone(), settled_wake.clone());
    let finisher_metrics = metrics.clone();
    tasks.spawn_graceful("finisher", move |_| {
        finish_executions(finisher_store, done_rx, finisher_wake, finisher_metrics)
    });
    let settler_config = SettlerConfig {
        batch_size: config.settlement.batch_size,
        batch_age: config.settlement.batch_age,
        settle_confirmations: config.chain.settle_confirmations,
        sign_at: config.chain.sign_at,
        confirm_timeout: config.settlement.confirm_timeout,
    };
    let settler = |cosigner: Either| {
        Settler::new(
            store.clone(),
            provider.clone(),
            herald,
            chain_id,
            keeper,
            cosigner,
            settler_config.clone(),
            settled_wake.clone(),
        )
        .with_metrics(metrics.clone())
        .with_conduct(conduct.clone())
        .run()
    };
    match &network {
        Some(network) => tasks.spawn(
            "settler",
            settler(Either::Network(
                NetworkCosigner::new(
                    signer.clone(),
                    Domain { chain_id, herald },
                    network.assignment.peers.clone(),
                    config.network.attest_timeout,
                    config.webhook.allow_private_targets,
                )
                .with_conduct(conduct.clone()),
            )),
        ),
        None => tasks.spawn("settler", settler(Either::Local(LocalSigner::new(signer)))),
    }

    tasks.spawn_fallible("store watchdog", watchdog::watch(store.clone()));

    // Resume what a previous run left pending: same request, same webhook-id.
    let resumed = store.pending_requests(u32::MAX).await?;
    if !resumed.is_empty() {
        tracing::info!(executions = resumed.len(), "resuming pending executions");
    }
    for pending in resumed {
        run_tx.send((pending, Instant::now())).await?;
    }

    let mut dispatcher = Dispatcher::new(
        stream.clone(),
        herald,
        triggers,
        Budgets::new(provider.clone(), herald),
        store.clone(),
        config.runner_fee(),
    );
    if let Some(network) = &network {
        dispatcher = dispatcher.with_assignment(network.assignment.clone());
    }
    let wiring = Wiring {
        store: &store,
        run_tx: &run_tx,
        reorg_depth: config.chain.reorg_depth,
        metrics: &metrics,
    };
    // Events the API stored but a previous run did not dispatch.
    redispatch_api_events(&mut dispatcher, &wiring).await?;
    let feeds = Feeds {
        api: api.then_some(&mut api_feed),
        relayed: network.is_some().then_some(&mut relayed),
    };
    let follow = follow(&mut follower, &mut dispatcher, feeds, &wiring);
    let outcome = tokio::select! {
        outcome = follow => outcome,
        stopped = tasks.first_to_stop() => Err(stopped),
        () = shutdown => Ok(()),
    };
    tasks.stop().await;
    store.close().await;
    tracing::info!("keeper stopped");
    outcome
}
