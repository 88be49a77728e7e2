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
use herald_connectors::evm::{FollowConfig, HeadSource, LogFollower, Step};
use herald_core::Event;
use herald_services::{WebhookClient, WebhookConfig};
use herald_spec::Manifests;
use herald_store::{Cursor, Finished, PendingExecution, Store};
use tokio::sync::{Notify, Semaphore, mpsc};

use crate::{
    backoff::Backoff,
    budget::Budgets,
    config::KeeperConfig,
    cosign::{Cosigner, LocalSigner},
    dispatch::{Dispatcher, HTTP_STREAM, Ingested},
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
    triggers::{HTTP_CONNECTOR, TriggerSet, load_triggers},
};

mod identity;
mod network;

pub use identity::{Identity, load_encryption_key, load_signer};
use network::{Either, join_network};

/// The connector name chain events are counted under.
const CONNECTOR: &str = "evm";

/// How often the gas wallet's balance is looked at.
const GAS_CHECK_INTERVAL: Duration = Duration::from_secs(30);

/// Starts the REST API (and the peer routes, in a network) if `[api] listen` is set.
async fn serve_api(
    config: &KeeperConfig,
    store: &Store,
    provider: &DynProvider,
    herald: Address,
    metrics: &Arc<Metrics>,
    events: mpsc::UnboundedSender<Event>,
    peer_routes: axum::Router,
) -> eyre::Result<Option<tokio::task::JoinHandle<()>>> {
    let Some(listen) = config.api.listen else {
        return Ok(None);
    };
    let listener = tokio::net::TcpListener::bind(listen)
        .await
        .wrap_err_with(|| format!("api.listen {listen}"))?;
    let state = ApiState::new(
        store.clone(),
        Some(Chain {
            provider: provider.clone(),
            herald,
        }),
        metrics.clone(),
    )
    .with_event_feed(events);
    tracing::info!(%listen, "serving the REST API");
    Ok(Some(tokio::spawn(async move {
        if let Err(error) =
            herald_api::serve_with(listener, state, peer_routes, std::future::pending()).await
        {
            tracing::error!(%error, "the REST API stopped");
        }
    })))
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
        timeout: Duration::from_millis(config.webhook.timeout_ms),
        max_attempts: config.webhook.max_attempts,
        base_delay: Duration::from_millis(config.webhook.base_delay_ms),
        max_delay: Duration::from_millis(config.webhook.max_delay_ms),
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
    );
    let metrics = Arc::new(Metrics::default());
    let (run_tx, run_rx) = mpsc::unbounded_channel::<Dispatched>();
    // Every keeper answers challenges of genuine receipts, whoever signed them: an unanswered
    // challenge costs the signers their bonds.
    let mut tasks = vec![
        tokio::spawn(crate::defend::defend(
            provider.clone(),
            herald,
            config.chain.deployed_at,
            config.poll_interval(),
        )),
        tokio::spawn(crate::gas_watch::watch_gas(
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
        )),
    ];
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
            tasks.extend(joined.spawn(
                &signer,
                &store,
                &provider,
                herald,
                &run_tx,
                config.webhook.allow_private_targets,
            ));
            Some(joined)
        }
        None => None,
    };
    let (api_events, mut api_feed) = mpsc::unbounded_channel::<Event>();
    let api = serve_api(
        &config,
        &store,
        &provider,
        herald,
        &metrics,
        api_events,
        network
            .as_ref()
            .map_or_else(axum::Router::new, |n| n.routes.clone()),
    )
    .await?;
    let settled_wake = Arc::new(Notify::new());
    let (done_tx, done_rx) = mpsc::unbounded_channel::<Finished>();
    let runners = tokio::spawn(run_executions(
        runner,
        run_rx,
        done_tx,
        config.webhook.concurrency,
        metrics.clone(),
    ));
    let finisher = tokio::spawn(finish_executions(
        store.clone(),
        done_rx,
        settled_wake.clone(),
        metrics.clone(),
    ));
    let settler_config = SettlerConfig {
        batch_size: config.settlement.batch_size,
        batch_age: Duration::from_millis(config.settlement.batch_age_ms),
        settle_confirmations: config.chain.settle_confirmations,
        sign_at: config.chain.sign_at,
        confirm_timeout: Duration::from_millis(config.settlement.confirm_timeout_ms),
    };
    let settle = |cosigner: Either| {
        tokio::spawn(
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
            .run(),
        )
    };
    let settler = match &network {
        Some(network) => settle(Either::Network(NetworkCosigner::new(
            signer.clone(),
            Domain { chain_id, herald },
            network.assignment.peers.clone(),
            Duration::from_millis(config.network.attest_timeout_ms),
            config.webhook.allow_private_targets,
        ))),
        None => settle(Either::Local(LocalSigner::new(signer))),
    };

    // Resume what a previous run left pending: same request, same webhook-id.
    let resumed = store.pending_requests(u32::MAX).await?;
    if !resumed.is_empty() {
        tracing::info!(executions = resumed.len(), "resuming pending executions");
    }
    for pending in resumed {
        run_tx.send((pending, Instant::now()))?;
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
        api: api.is_some().then_some(&mut api_feed),
        relayed: network.is_some().then_some(&mut relayed),
    };
    let follow = follow(&mut follower, &mut dispatcher, feeds, &wiring);
    let outcome = tokio::select! {
        outcome = follow => outcome,
        () = shutdown => Ok(()),
    };
    settler.abort();
    for task in tasks {
        task.abort();
    }
    runners.abort();
    finisher.abort();
    if let Some(api) = api {
        api.abort();
    }
    store.close().await;
    tracing::info!("keeper stopped");
    outcome
}

/// What the main loop hands its results to.
struct Wiring<'a> {
    store: &'a Store,
    run_tx: &'a mpsc::UnboundedSender<Dispatched>,
    reorg_depth: u64,
    metrics: &'a Metrics,
}

impl Wiring<'_> {
    /// Counts what a dispatch produced and hands its executions to the runners.
    fn started(&self, connector: &str, ingested: Ingested) -> eyre::Result<()> {
        self.metrics.events_in(connector, ingested.logs);
        self.metrics
            .matched((ingested.started.len() + ingested.skipped.len()) as u64);
        for (key, reason) in &ingested.skipped {
            self.metrics.execution("skipped");
            tracing::info!(execution = %key, %reason, "execution skipped");
        }
        let dispatched = Instant::now();
        for pending in ingested.started {
            self.run_tx.send((pending, dispatched))?;
        }
        Ok(())
    }
}

/// Dispatches the API's events stored after the `http` stream's cursor.
async fn redispatch_api_events(dispatcher: &mut Dispatcher, w: &Wiring<'_>) -> eyre::Result<()> {
    loop {
        let after = w.store.cursor(HTTP_STREAM).await?.map_or(0, |c| c.block);
        let events = w.store.events_after(HTTP_CONNECTOR, after, 1_024).await?;
        if events.is_empty() {
            return Ok(());
        }
        tracing::info!(events = events.len(), "dispatching stored API events");
        let ingested = dispatcher.ingest_events(&events).await?;
        w.started(HTTP_CONNECTOR, ingested)?;
    }
}

/// What the main loop reads besides the chain.
struct Feeds<'a> {
    /// Events posted to this keeper's API (when it serves one).
    api: Option<&'a mut mpsc::UnboundedReceiver<Event>>,
    /// Events other keepers relayed to this one (in a network).
    relayed: Option<&'a mut mpsc::Receiver<Relayed>>,
}

/// The main loop: read the chain, the API's events and relayed ones, dispatch, hand pending
/// executions to the runners.
async fn follow(
    follower: &mut LogFollower,
    dispatcher: &mut Dispatcher,
    mut feeds: Feeds<'_>,
    w: &Wiring<'_>,
) -> eyre::Result<()> {
    let (store, reorg_depth, metrics) = (w.store, w.reorg_depth, w.metrics);
    let mut backoff = Backoff::new(Duration::from_millis(100), Duration::from_secs(30));
    let mut progress: Option<indicatif::ProgressBar> = None;
    let mut api_events = Vec::new();
    loop {
        let api_batch = async {
            match feeds.api.as_deref_mut() {
                Some(feed) => feed.recv_many(&mut api_events, 1_024).await,
                None => std::future::pending().await,
            }
        };
        let relay = async {
            match feeds.relayed.as_deref_mut() {
                Some(feed) => feed.recv().await,
                None => std::future::pending().await,
            }
        };
        // `LogFollower::next` changes nothing before it returns, so dropping it for an API event
        // loses nothing.
        let next = tokio::select! {
            next = follower.next() => next,
            received = api_batch => {
                if received == 0 {
                    feeds.api = None; // the API stopped
                } else {
                    let ingested = dispatcher.ingest_events(&api_events).await?;
                    w.started(HTTP_CONNECTOR, ingested)?;
                    api_events.clear();
                }
                continue;
            }
            relayed = relay => {
                match relayed {
                    None => feeds.relayed = None, // the peer routes stopped
                    Some(relayed) => {
                        // Answered either way: the relaying keeper keeps the event until this
                        // keeper has recorded it, and asks again after an error.
                        let recorded = dispatcher
                            .ingest_relayed(&relayed.event, &relayed.triggers)
                            .await;
                        let answer = match recorded {
                            Ok((ingested, recorded)) => {
                                w.started(HTTP_CONNECTOR, ingested)?;
                                Ok(recorded)
                            }
                            Err(e) => Err(e.to_string()),
                        };
                        let _ = relayed.done.send(answer);
                    }
                }
                continue;
            }
        };
        let step = match next {
            Ok(step) => step,
            Err(e) => {
                metrics.rpc_error();
                backoff.failed("reading the chain", &e).await;
                continue;
            }
        };
        backoff.succeeded();
        match step {
            Step::Blocks {
                from,
                to,
                to_hash,
                head,
                blocks,
            } => {
                if head.saturating_sub(to) > 0 && progress.is_none() && head - from > 1_000 {
                    let bar = indicatif::ProgressBar::new(head - from);
                    bar.set_message("backfilling");
                    progress = Some(bar);
                }
                let cursor = Cursor {
                    block: to,
                    block_hash: to_hash.to_string(),
                };
                let ingested = dispatcher.ingest(&blocks, cursor).await?;
                let (triggers_changed, cut_after) = (ingested.triggers_changed, ingested.cut_after);
                w.started(CONNECTOR, ingested)?;
                if triggers_changed {
                    follower.set_addresses(dispatcher.addresses());
                }
                let to = match cut_after {
                    Some((number, hash)) => {
                        tracing::debug!(
                            after = number,
                            "a new trigger watches another contract: reading on with it"
                        );
                        follower.resume_after(number, hash);
                        number
                    }
                    None => to,
                };
                if let Some(bar) = &progress {
                    bar.inc(to - from + 1);
                    if to >= head {
                        bar.finish_and_clear();
                        progress = None;
                    }
                }
            }
            Step::Reorg { at } => {
                let from = at.saturating_sub(reorg_depth);
                let mut retracted = 0;
                for (number, hash) in store.event_blocks(&dispatcher.stream, from).await? {
                    let canonical = follower.canonical_hash(number).await?;
                    if canonical.map(|h| h.to_string()) != Some(hash.clone()) {
                        for key in store.retract_block(&dispatcher.stream, &hash).await? {
                            dispatcher.budgets_mut().release(key);
                            retracted += 1;
                        }
                    }
                }
                tracing::warn!(at, rescan_from = from, retracted, "reorg: block replaced");
                follower.rewind(from);
            }
        }
    }
}

/// A pending execution and when it was handed to the runners.
type Dispatched = (PendingExecution, Instant);

/// Runs pending executions with bounded concurrency.
async fn run_executions(
    runner: Runner,
    mut pending: mpsc::UnboundedReceiver<Dispatched>,
    done: mpsc::UnboundedSender<Finished>,
    concurrency: usize,
    metrics: Arc<Metrics>,
) {
    let slots = Arc::new(Semaphore::new(concurrency));
    while let Some((execution, dispatched)) = pending.recv().await {
        let Ok(permit) = slots.clone().acquire_owned().await else {
            return;
        };
        let (runner, done, metrics) = (runner.clone(), done.clone(), metrics.clone());
        tokio::spawn(async move {
            let finished = runner.run(execution.key, &execution.request).await;
            metrics.latency(dispatched.elapsed());
            let _ = done.send(finished);
            drop(permit);
        });
    }
}

/// Writes results in batches: whatever has arrived since the last write, in one transaction.
async fn finish_executions(
    store: Store,
    mut done: mpsc::UnboundedReceiver<Finished>,
    settle: Arc<Notify>,
    metrics: Arc<Metrics>,
) {
    let mut batch = Vec::new();
    while done.recv_many(&mut batch, 1_024).await > 0 {
        let mut backoff = Backoff::new(Duration::from_millis(50), Duration::from_secs(5));
        while let Err(e) = store.finish(&batch).await {
            backoff.failed("recording results", &e).await;
        }
        for f in &batch {
            metrics.execution(f.status.as_str());
            tracing::debug!(execution = %f.key, status = f.status.as_str(), "execution finished");
        }
        batch.clear();
        settle.notify_one();
    }
}
