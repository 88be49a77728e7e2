//! `keeper.toml`, with environment overrides.
//!
//! Every key can be overridden by `HERALD_<SECTION>__<KEY>` (e.g. `HERALD_CHAIN__RPC_URL`), and
//! `DATABASE_URL` overrides `store.url`. A config that does not parse or validate fails at start
//! with the offending key named (and its line, for a syntax error in the file).
//!
//! Secrets are never in the file: it names the environment variable (or keystore file) holding
//! them.

use std::{
    path::{Path, PathBuf},
    time::Duration,
};

use alloy::primitives::{Address, U256};
use serde::Deserialize;

/// The keeper's configuration.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct KeeperConfig {
    /// The chain and the Herald deployment on it.
    pub chain: ChainConfig,
    /// The keeper's identity.
    #[serde(default)]
    pub keeper: IdentityConfig,
    /// The durable store.
    #[serde(default)]
    pub store: StoreConfig,
    /// Webhook delivery.
    #[serde(default)]
    pub webhook: WebhookSection,
    /// Receipt batching and submission.
    #[serde(default)]
    pub settlement: SettlementConfig,
    /// The REST API.
    #[serde(default)]
    pub api: ApiConfig,
    /// The keeper network: co-signing, takeovers, heartbeats.
    #[serde(default)]
    pub network: NetworkConfig,
}

/// `[network]`: how this keeper works with the other keepers of the deployment. It needs
/// `[api] listen`, where peers reach it; without it the keeper performs every execution itself
/// and signs alone (enough only for a deployment with quorum 1).
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NetworkConfig {
    /// Whether to join the network (default: yes, when the API listens).
    #[serde(default = "defaults::yes")]
    pub enabled: bool,
    /// The URL peers reach this keeper at. Default: `http://` + `api.listen`. The keeper sets it in
    /// the registry at start when it differs.
    pub endpoint: Option<String>,
    /// How long each keeper in a trigger's ranking waits for the one before it to settle an
    /// execution before running it itself (default `"30s"`).
    #[serde(default = "defaults::takeover_timeout", with = "humantime_serde")]
    pub takeover_timeout: Duration,
    /// How long a peer has to answer a co-signing request (default `"5s"`).
    #[serde(default = "defaults::attest_timeout", with = "humantime_serde")]
    pub attest_timeout: Duration,
    /// How often heartbeats go to every peer (default `"5s"`).
    #[serde(default = "defaults::heartbeat_interval", with = "humantime_serde")]
    pub heartbeat_interval: Duration,
    /// A peer unheard this long shows offline (default `"20s"`).
    #[serde(default = "defaults::offline_after", with = "humantime_serde")]
    pub offline_after: Duration,
    /// Where to post an alert when a peer has been offline longer than `alert_after`.
    pub alert_webhook: Option<String>,
    /// How long a peer may be offline before the alert (default `"10m"`).
    #[serde(default = "defaults::alert_after", with = "humantime_serde")]
    pub alert_after: Duration,
    /// Below this native balance of the keeper's gas wallet (in ether, e.g. `"0.05"`), it warns and
    /// posts a `low_gas_balance` alert to `alert_webhook` (default 0.01).
    #[serde(default = "defaults::low_gas_balance")]
    pub low_gas_balance: String,
}

impl Default for NetworkConfig {
    fn default() -> Self {
        Self {
            enabled: true,
            endpoint: None,
            takeover_timeout: defaults::takeover_timeout(),
            attest_timeout: defaults::attest_timeout(),
            heartbeat_interval: defaults::heartbeat_interval(),
            offline_after: defaults::offline_after(),
            alert_webhook: None,
            alert_after: defaults::alert_after(),
            low_gas_balance: defaults::low_gas_balance(),
        }
    }
}

/// `[api]`: the REST API the keeper serves (with `/metrics`), if `listen` is set.
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ApiConfig {
    /// Address and port to serve on, e.g. `127.0.0.1:8080`. Unset: no API.
    pub listen: Option<std::net::SocketAddr>,
}

/// `[chain]`.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ChainConfig {
    /// Where requests go: `http(s)://…` (recommended) or `ws(s)://…`.
    pub rpc_url: String,
    /// Where new heads are subscribed to: a `ws(s)://…` endpoint of the same node. Default:
    /// `rpc_url` when it is a WebSocket; without either the keeper polls every `poll_interval_ms`.
    pub ws_url: Option<String>,
    /// The Herald contract.
    pub herald: Address,
    /// Where to start reading when the store has no cursor (default: the chain's head).
    pub start_block: Option<u64>,
    /// Where the trigger set's history starts (default: 0; set it to the deployment's block).
    #[serde(default)]
    pub deployed_at: u64,
    /// Blocks an event must be buried under before it runs.
    #[serde(default)]
    pub confirmations: u64,
    /// Blocks an event must be buried under before its receipt is settled; a reorg no deeper than
    /// this never settles a retracted event.
    #[serde(default = "defaults::settle_confirmations")]
    pub settle_confirmations: u64,
    /// When a receipt of a log of this chain is signed, as performer or co-signer: `"finalized"`
    /// (the default) once the log's block is at or below the node's `finalized` block as well as
    /// `settle_confirmations` deep; `"depth"` at `settle_confirmations` only, for a devnet whose
    /// chain has no meaningful finality. A signed receipt can be challenged, and a log that a
    /// reorg removed cannot be proven: every signer loses its bond as for a fabrication. The
    /// execution itself still runs at `confirmations`.
    #[serde(default)]
    pub sign_at: SignAt,
    /// Most blocks per `eth_getLogs`.
    #[serde(default = "defaults::max_range")]
    pub max_range: u64,
    /// Polling interval without a subscription (default `"1s"`).
    #[serde(default = "defaults::poll_interval", with = "humantime_serde")]
    pub poll_interval: Duration,
    /// How deep a reorg is searched for, in blocks.
    #[serde(default = "defaults::reorg_depth")]
    pub reorg_depth: u64,
}

/// `[chain] sign_at`: how settled a log of this chain must be before this keeper signs a receipt
/// of it.
#[derive(Clone, Copy, Debug, Default, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum SignAt {
    /// At or below the node's `finalized` block (and `settle_confirmations` deep): no reorg can
    /// remove the log afterwards, so a fraud challenge of the receipt can always be answered. A
    /// node that serves no `finalized` block gets nothing signed.
    #[default]
    Finalized,
    /// `settle_confirmations` deep only: a reorg deeper than that slashes every signer.
    Depth,
}

impl SignAt {
    /// The value as `keeper.toml` spells it.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Finalized => "finalized",
            Self::Depth => "depth",
        }
    }
}

/// `[keeper]`: where the signing key comes from.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct IdentityConfig {
    /// The environment variable holding the hex private key.
    #[serde(default = "defaults::key_env")]
    pub key_env: String,
    /// A keystore file, used instead of `key_env` when set.
    pub keystore: Option<PathBuf>,
    /// The environment variable holding the keystore's password.
    #[serde(default = "defaults::password_env")]
    pub keystore_password_env: String,
    /// The environment variable holding the keeper's X25519 encryption key (32 bytes, hex), the
    /// one trigger owners seal secrets to. Unset: derived from the signing key (see
    /// `docs/guides/operators.md`, "Sealed secrets").
    #[serde(default = "defaults::encryption_key_env")]
    pub encryption_key_env: String,
    /// Replace a different encryption key the registry holds for this keeper (owners must then
    /// reseal their triggers to it). Off: the keeper refuses to start instead.
    #[serde(default)]
    pub replace_encryption_key: bool,
    /// The environment variable holding the hex private key of the wallet that pays this
    /// keeper's gas (`settle`, answers to fraud challenges). Unset: the signing key pays. A
    /// separate gas wallet keeps the signing key's address free of ether a thief could drain,
    /// and lets one funded wallet be refilled without touching the keeper's identity.
    #[serde(default)]
    pub gas_key_env: Option<String>,
}

impl Default for IdentityConfig {
    fn default() -> Self {
        Self {
            key_env: defaults::key_env(),
            keystore: None,
            keystore_password_env: defaults::password_env(),
            encryption_key_env: defaults::encryption_key_env(),
            replace_encryption_key: false,
            gas_key_env: None,
        }
    }
}

/// `[store]`.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StoreConfig {
    /// `sqlite://file` or `postgres://…`.
    #[serde(default = "defaults::store_url")]
    pub url: String,
}

impl Default for StoreConfig {
    fn default() -> Self {
        Self {
            url: defaults::store_url(),
        }
    }
}

/// `[webhook]`.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WebhookSection {
    /// Per-attempt timeout (default `"10s"`).
    #[serde(default = "defaults::timeout", with = "humantime_serde")]
    pub timeout: Duration,
    /// Attempts before an execution is recorded as failed.
    #[serde(default = "defaults::max_attempts")]
    pub max_attempts: u32,
    /// First retry delay, doubling with jitter (default `"500ms"`).
    #[serde(default = "defaults::base_delay", with = "humantime_serde")]
    pub base_delay: Duration,
    /// Longest retry delay, which also caps `Retry-After` (default `"1m"`).
    #[serde(default = "defaults::max_delay", with = "humantime_serde")]
    pub max_delay: Duration,
    /// Deliver to loopback and private addresses (the devnet does; a public keeper must not).
    #[serde(default)]
    pub allow_private_targets: bool,
    /// Deliveries in flight at once.
    #[serde(default = "defaults::concurrency")]
    pub concurrency: usize,
}

impl Default for WebhookSection {
    fn default() -> Self {
        Self {
            timeout: defaults::timeout(),
            max_attempts: defaults::max_attempts(),
            base_delay: defaults::base_delay(),
            max_delay: defaults::max_delay(),
            allow_private_targets: false,
            concurrency: defaults::concurrency(),
        }
    }
}

/// `[settlement]`.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SettlementConfig {
    /// Most receipts per `settle` transaction.
    #[serde(default = "defaults::batch_size")]
    pub batch_size: u32,
    /// Longest a finished execution waits for its batch to fill (default `"1s"`).
    #[serde(default = "defaults::batch_age", with = "humantime_serde")]
    pub batch_age: Duration,
    /// What this keeper charges as runner, in the token's smallest unit (decimal). Triggers whose
    /// service type caps the runner's fee below it are not served.
    #[serde(default = "defaults::runner_fee")]
    pub runner_fee: String,
    /// The least operator fee a trigger's connector type must pay for this keeper to serve it, in
    /// the token's smallest unit (decimal).
    #[serde(default = "defaults::runner_fee")]
    pub min_operator_fee: String,
    /// How long to wait for a `settle` transaction to be mined before retrying (default `"1m"`).
    #[serde(default = "defaults::confirm_timeout", with = "humantime_serde")]
    pub confirm_timeout: Duration,
}

impl Default for SettlementConfig {
    fn default() -> Self {
        Self {
            batch_size: defaults::batch_size(),
            batch_age: defaults::batch_age(),
            runner_fee: defaults::runner_fee(),
            min_operator_fee: defaults::runner_fee(),
            confirm_timeout: defaults::confirm_timeout(),
        }
    }
}

mod defaults;

/// Why a configuration was refused.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// The file could not be read.
    #[error("{file}: {source}")]
    Read {
        /// The file.
        file: String,
        /// The I/O error.
        source: std::io::Error,
    },
    /// The file is not valid TOML.
    #[error("{file}: {message}")]
    Syntax {
        /// The file.
        file: String,
        /// The parser's message, with line and column.
        message: String,
    },
    /// A key is missing, unknown, or has the wrong type or value.
    #[error("{file}: `{key}`: {message}")]
    Key {
        /// The file (or `environment`, for an override).
        file: String,
        /// The key's dotted path.
        key: String,
        /// What is wrong.
        message: String,
    },
}

impl KeeperConfig {
    /// Reads `path`, applies the environment's overrides, and validates.
    pub fn load(path: &Path) -> Result<Self, ConfigError> {
        let file = path.display().to_string();
        let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Read {
            file: file.clone(),
            source,
        })?;
        Self::parse(&file, &text, std::env::vars())
    }

    /// Parses `text` with overrides from `env` (`HERALD_<SECTION>__<KEY>`, `DATABASE_URL`).
    pub fn parse(
        file: &str,
        text: &str,
        env: impl IntoIterator<Item = (String, String)>,
    ) -> Result<Self, ConfigError> {
        let mut table: toml::Table =
            text.parse()
                .map_err(|e: toml::de::Error| ConfigError::Syntax {
                    file: file.to_string(),
                    message: e.to_string().trim_end().to_string(),
                })?;
        for (name, value) in env {
            let path: Vec<String> = if name == "DATABASE_URL" {
                vec!["store".into(), "url".into()]
            } else if let Some(rest) = name.strip_prefix("HERALD_")
                && rest.contains("__")
            {
                rest.split("__").map(str::to_ascii_lowercase).collect()
            } else {
                continue;
            };
            override_key(&mut table, &path, &value);
        }
        refuse_retired_keys(file, &table)?;
        let config: Self =
            serde_path_to_error::deserialize(toml::Value::Table(table)).map_err(|e| {
                ConfigError::Key {
                    file: file.to_string(),
                    key: e.path().to_string(),
                    message: e.inner().message().to_string(),
                }
            })?;
        config.validate(file)?;
        Ok(config)
    }

    /// Where peers reach this keeper, when it is in the network: `network.endpoint`, or the API's
    /// address. `None`: the keeper works alone.
    pub fn network_endpoint(&self) -> Option<String> {
        if !self.network.enabled {
            return None;
        }
        let listen = self.api.listen?;
        Some(
            self.network
                .endpoint
                .clone()
                .unwrap_or_else(|| format!("http://{listen}")),
        )
    }

    /// The gas wallet's alert threshold in wei (validated at load).
    pub fn low_gas_balance(&self) -> U256 {
        alloy::primitives::utils::parse_ether(&self.network.low_gas_balance).unwrap_or_default()
    }

    /// The runner fee as a number (validated at load).
    pub fn runner_fee(&self) -> U256 {
        self.settlement.runner_fee.parse().unwrap_or_default()
    }

    /// The least this keeper is paid for the roles it plays (validated at load).
    pub fn fee_floor(&self) -> crate::FeeFloor {
        crate::FeeFloor {
            operator_fee: self.settlement.min_operator_fee.parse().unwrap_or_default(),
            runner_fee_cap: self.runner_fee(),
        }
    }

    /// The endpoint new heads are subscribed to, if any.
    pub fn heads_url(&self) -> Option<&str> {
        let rpc = self.chain.rpc_url.as_str();
        self.chain
            .ws_url
            .as_deref()
            .or_else(|| (rpc.starts_with("ws://") || rpc.starts_with("wss://")).then_some(rpc))
    }

    /// The polling interval.
    pub fn poll_interval(&self) -> Duration {
        self.chain.poll_interval
    }
}

/// The keys that held durations as milliseconds, and the duration keys that replaced them.
const RETIRED_KEYS: [(&str, &str, &str); 11] = [
    ("chain", "poll_interval_ms", "poll_interval"),
    ("webhook", "timeout_ms", "timeout"),
    ("webhook", "base_delay_ms", "base_delay"),
    ("webhook", "max_delay_ms", "max_delay"),
    ("settlement", "batch_age_ms", "batch_age"),
    ("settlement", "confirm_timeout_ms", "confirm_timeout"),
    ("network", "takeover_timeout_ms", "takeover_timeout"),
    ("network", "attest_timeout_ms", "attest_timeout"),
    ("network", "heartbeat_interval_ms", "heartbeat_interval"),
    ("network", "offline_after_ms", "offline_after"),
    ("network", "alert_after_ms", "alert_after"),
];

/// Refuses a file that still sets a duration in milliseconds, naming the key that replaced it
/// and, for a number, the same duration in the new form: read silently as unknown, or ignored,
/// it would leave an operator's 2-second timeout at the default.
fn refuse_retired_keys(file: &str, table: &toml::Table) -> Result<(), ConfigError> {
    for (section, old, new) in RETIRED_KEYS {
        let Some(value) = table
            .get(section)
            .and_then(toml::Value::as_table)
            .and_then(|t| t.get(old))
        else {
            continue;
        };
        let example = match value.as_integer().and_then(|ms| u64::try_from(ms).ok()) {
            Some(ms) => humantime::format_duration(Duration::from_millis(ms)).to_string(),
            None => "30s".into(),
        };
        return Err(ConfigError::Key {
            file: file.to_string(),
            key: format!("{section}.{old}"),
            message: format!(
                "durations are no longer written in milliseconds: write `{new} = \"{example}\"` \
                 (a duration such as \"500ms\", \"30s\" or \"10m\")"
            ),
        });
    }
    Ok(())
}

/// Sets `path` in `table` to `value`, read as a TOML value when it is one (`42`, `true`) and as a
/// string otherwise.
fn override_key(table: &mut toml::Table, path: &[String], value: &str) {
    let Some((last, sections)) = path.split_last() else {
        return;
    };
    let mut current = table;
    for section in sections {
        let entry = current
            .entry(section.clone())
            .or_insert_with(|| toml::Value::Table(toml::Table::new()));
        let toml::Value::Table(next) = entry else {
            return;
        };
        current = next;
    }
    let parsed = format!("v = {value}")
        .parse::<toml::Table>()
        .ok()
        .and_then(|mut t| t.remove("v"))
        .filter(|v| !v.is_str() || value.starts_with('"'))
        .unwrap_or_else(|| toml::Value::String(value.to_string()));
    current.insert(last.clone(), parsed);
}

#[cfg(test)]
mod tests;
mod validate;
