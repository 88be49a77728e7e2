//! Keepers on the devnet: their configuration, and keepers running inside this process.

use std::path::Path;

use alloy::{node_bindings::AnvilInstance, primitives::Address};
use eyre::WrapErr;
use herald_keeper::{
    KeeperConfig,
    config::SignAt,
    node::{self, Identity},
};
use tokio::{sync::oneshot, task::JoinHandle};

/// The keeper settings a devnet, a benchmark or a test chooses.
#[derive(Clone, Debug)]
pub struct KeeperSettings {
    /// Block to start reading at.
    pub start_block: u64,
    /// Blocks before an event runs.
    pub confirmations: u64,
    /// Blocks before a receipt settles.
    pub settle_confirmations: u64,
    /// Whether receipts of chain logs also wait for finality (the devnet's anvil finalizes every
    /// block as it is mined, so this costs nothing there).
    pub sign_at: SignAt,
    /// Webhook attempts before failing.
    pub max_attempts: u32,
    /// First retry delay, ms.
    pub base_delay_ms: u64,
    /// What the keeper charges as runner.
    pub runner_fee: u64,
    /// Most receipts per `settle`.
    pub batch_size: u32,
    /// Longest a receipt waits for its batch, ms.
    pub batch_age_ms: u64,
    /// Where the keeper serves its REST API (and, in a network, the peer routes), if anywhere.
    pub api_listen: Option<std::net::SocketAddr>,
    /// The keeper network's timings (used when `api_listen` is set).
    pub network: NetworkSettings,
}

/// The keeper network's settings a devnet or a test chooses.
#[derive(Clone, Debug)]
pub struct NetworkSettings {
    /// How long each keeper in a ranking waits for the one before it, ms.
    pub takeover_timeout_ms: u64,
    /// How often heartbeats go out, ms.
    pub heartbeat_interval_ms: u64,
    /// A peer unheard this long shows offline, ms.
    pub offline_after_ms: u64,
    /// Where offline alerts go.
    pub alert_webhook: Option<String>,
    /// How long a peer is offline before the alert, ms.
    pub alert_after_ms: u64,
    /// The gas wallet balance (ether) below which the keeper alerts; `None`: the keeper's default.
    pub low_gas_balance: Option<String>,
}

impl Default for NetworkSettings {
    fn default() -> Self {
        Self {
            takeover_timeout_ms: 5_000,
            heartbeat_interval_ms: 500,
            offline_after_ms: 2_000,
            alert_webhook: None,
            alert_after_ms: 600_000,
            low_gas_balance: None,
        }
    }
}

impl NetworkSettings {
    fn toml(&self) -> String {
        format!(
            "\n[network]\ntakeover_timeout = \"{}ms\"\nheartbeat_interval = \"{}ms\"\n\
             offline_after = \"{}ms\"\nalert_after = \"{}ms\"\n{}{}",
            self.takeover_timeout_ms,
            self.heartbeat_interval_ms,
            self.offline_after_ms,
            self.alert_after_ms,
            self.alert_webhook
                .as_ref()
                .map(|url| format!("alert_webhook = \"{url}\"\n"))
                .unwrap_or_default(),
            self.low_gas_balance
                .as_ref()
                .map(|ether| format!("low_gas_balance = \"{ether}\"\n"))
                .unwrap_or_default(),
        )
    }
}

impl Default for KeeperSettings {
    fn default() -> Self {
        Self {
            start_block: 0,
            confirmations: 0,
            settle_confirmations: 0,
            sign_at: SignAt::Finalized,
            max_attempts: 3,
            base_delay_ms: 50,
            runner_fee: 1_000_000_000_000_000,
            batch_size: 50,
            batch_age_ms: 200,
            api_listen: None,
            network: NetworkSettings::default(),
        }
    }
}

impl KeeperSettings {
    /// The `keeper.toml` for a keeper of `herald` on `anvil` (requests over HTTP, new heads over
    /// WebSocket), storing in the SQLite file `db`. Loopback webhook targets are allowed: the
    /// devnet's receivers live there.
    pub fn keeper_toml(&self, anvil: &AnvilInstance, herald: Address, db: &Path) -> String {
        format!(
            "[chain]\nrpc_url = \"{http}\"\nws_url = \"{ws}\"\nherald = \"{herald}\"\nstart_block = {start}\n\
             confirmations = {conf}\nsettle_confirmations = {settle}\nsign_at = \"{sign_at}\"\n\
             poll_interval = \"200ms\"\n\n\
             [store]\nurl = \"sqlite://{db}\"\n\n\
             [webhook]\nallow_private_targets = true\ntimeout = \"2s\"\nmax_attempts = {attempts}\n\
             base_delay = \"{base}ms\"\nmax_delay = \"1s\"\n\n\
             [settlement]\nbatch_size = {batch}\nbatch_age = \"{age}ms\"\nrunner_fee = \"{fee}\"\n\
             confirm_timeout = \"10s\"\n{api}",
            http = anvil.endpoint(),
            ws = anvil.ws_endpoint(),
            start = self.start_block,
            conf = self.confirmations,
            settle = self.settle_confirmations,
            sign_at = self.sign_at.as_str(),
            db = db.display(),
            attempts = self.max_attempts,
            base = self.base_delay_ms,
            batch = self.batch_size,
            age = self.batch_age_ms,
            fee = self.runner_fee,
            api = self
                .api_listen
                .map(|listen| format!("\n[api]\nlisten = \"{listen}\"\n{}", self.network.toml()))
                .unwrap_or_default(),
        )
    }

    /// The same, parsed (environment overrides are not applied: the devnet is self-contained).
    pub fn keeper_config(
        &self,
        anvil: &AnvilInstance,
        herald: Address,
        db: &Path,
    ) -> eyre::Result<KeeperConfig> {
        KeeperConfig::parse(
            "devnet keeper.toml",
            &self.keeper_toml(anvil, herald, db),
            [],
        )
        .wrap_err("the devnet's keeper configuration")
    }
}

/// A keeper node running on this process's runtime.
pub struct InProcessKeeper {
    /// Its address.
    pub address: Address,
    /// Its store's URL.
    pub store_url: String,
    stop: Option<oneshot::Sender<()>>,
    task: JoinHandle<eyre::Result<()>>,
}

impl InProcessKeeper {
    /// Starts a keeper with `config` as `identity`.
    pub fn start(config: KeeperConfig, identity: Identity) -> Self {
        let (stop, stopped) = oneshot::channel::<()>();
        let address = identity.signer.address();
        let store_url = config.store.url.clone();
        let task = tokio::spawn(node::run_as(config, identity, async {
            let _ = stopped.await;
        }));
        Self {
            address,
            store_url,
            stop: Some(stop),
            task,
        }
    }

    /// Whether it stopped on its own (an error it could not retry).
    pub fn has_stopped(&self) -> bool {
        self.task.is_finished()
    }

    /// Stops it and returns how its run ended.
    pub async fn stop(mut self) -> eyre::Result<()> {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        (&mut self.task)
            .await
            .wrap_err("the keeper task panicked")?
    }
}

impl Drop for InProcessKeeper {
    fn drop(&mut self) {
        self.task.abort();
    }
}
