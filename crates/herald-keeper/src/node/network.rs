//! Joining the keeper network: the registry's keepers, this keeper's endpoint, the co-signer,
//! health, and the tasks a networked keeper runs besides its own pipeline.

use super::*;

/// This keeper's place in the network.
pub(super) struct Joined {
    pub(super) assignment: Assignment,
    pub(super) health: Arc<Health>,
    pub(super) routes: axum::Router,
    /// When receipts may be signed, which is when a takeover clock may start.
    sign_at: crate::config::SignAt,
    domain: Domain,
}

/// Joins the network: reads the registry's keepers up to `to_block` (the dispatcher applies the
/// rest as it reads on), makes sure the registry has this keeper's endpoint, and builds the
/// co-signer and the health view.
#[allow(clippy::too_many_arguments)]
pub(super) async fn join_network(
    config: &KeeperConfig,
    endpoint: &str,
    signer: &PrivateKeySigner,
    provider: &DynProvider,
    store: &Store,
    triggers: &Arc<RwLock<crate::triggers::TriggerSet>>,
    domain: Domain,
    to_block: u64,
    relays: mpsc::Sender<Relayed>,
) -> eyre::Result<Joined> {
    let herald = domain.herald;
    let me = signer.address();
    let peers = Peers::load(provider, herald, config.chain.deployed_at, to_block)
        .await
        .wrap_err("reading the registry's keepers")?;
    let registry = herald_chain::bindings::Herald::new(herald, provider);
    let record = registry.keeper(me).call().await?;
    if record.activeFrom.is_zero() {
        tracing::warn!(
            keeper = %me,
            "not a registered keeper: peers will not co-sign for it (run `herald keeper register`)"
        );
    } else if record.endpoint != endpoint {
        registry
            .setKeeperEndpoint(endpoint.to_string())
            .from(me)
            .send()
            .await?
            .get_receipt()
            .await
            .wrap_err("setting this keeper's endpoint in the registry")?;
        tracing::info!(%endpoint, "endpoint set in the registry");
    }
    tracing::info!(
        keepers = peers.all().count(),
        %endpoint,
        "joined the keeper network"
    );
    let peers = Arc::new(RwLock::new(peers));
    let takeover_timeout = config.network.takeover_timeout;
    let attestor = Arc::new(Attestor::new(
        signer.clone(),
        domain,
        provider.clone(),
        triggers.clone(),
        peers.clone(),
        store.clone(),
        takeover_timeout,
        config.chain.sign_at,
    ));
    let health = Arc::new(Health::new(
        me,
        domain,
        peers.clone(),
        HealthConfig {
            interval: config.network.heartbeat_interval,
            offline_after: config.network.offline_after,
            alert_webhook: config.network.alert_webhook.clone(),
            alert_after: config.network.alert_after,
        },
    ));
    let routes = peer_router(PeerState {
        attestor,
        health: health.clone(),
        store: store.clone(),
        relays,
    });
    Ok(Joined {
        assignment: Assignment {
            me,
            peers,
            takeover_timeout,
            health: health.clone(),
            triggers: triggers.clone(),
        },
        health,
        routes,
        sign_at: config.chain.sign_at,
        domain,
    })
}

impl Joined {
    /// Starts heartbeats, the offline watch and takeovers. Heartbeats and the alert go through the
    /// outbound client: peers' endpoints are theirs to choose, so they are checked when dialed
    /// (loopback and private ones only when `allow_private_targets`) and redirects are not followed.
    pub(super) fn spawn(
        &self,
        signer: &PrivateKeySigner,
        store: &Store,
        provider: &DynProvider,
        run: &mpsc::Sender<Dispatched>,
        allow_private_targets: bool,
        tasks: &mut Tasks,
    ) {
        let http = herald_services::Outbound::new(&herald_services::OutboundConfig {
            timeout: Duration::from_secs(5),
            allow_private_targets,
            ..herald_services::OutboundConfig::default()
        });
        let (takeovers, mut taken) = mpsc::channel(super::QUEUE);
        let run = run.clone();
        tasks.spawn(
            "heartbeat",
            health::send_heartbeats(
                self.health.clone(),
                signer.clone(),
                store.clone(),
                http.clone(),
            ),
        );
        tasks.spawn(
            "offline watch",
            health::watch_offline(self.health.clone(), http.clone()),
        );
        tasks.spawn(
            "takeover",
            takeover::take_over(
                store.clone(),
                provider.clone(),
                self.domain.herald,
                self.assignment.clone(),
                Relayer::new(
                    signer.clone(),
                    self.domain,
                    store.clone(),
                    self.assignment.clone(),
                    http,
                ),
                takeovers,
                Duration::from_millis(250),
                self.sign_at,
            ),
        );
        tasks.spawn("takeover handoff", async move {
            while let Some(pending) = taken.recv().await {
                if run.send((pending, Instant::now())).await.is_err() {
                    return;
                }
            }
        });
    }
}

/// Either co-signer: the settler's type stays one.
pub(super) enum Either {
    Local(LocalSigner),
    Network(NetworkCosigner),
}

impl Cosigner for Either {
    async fn cosign(
        &self,
        digest: B256,
        batch: &[crate::network::protocol::Attestable],
    ) -> Result<Vec<alloy::primitives::Bytes>, crate::cosign::CosignError> {
        match self {
            Self::Local(local) => local.cosign(digest, batch).await,
            Self::Network(network) => network.cosign(digest, batch).await,
        }
    }
}
