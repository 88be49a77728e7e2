//! What a loaded configuration must satisfy beyond its types, each refusal naming the key.

use super::*;

impl KeeperConfig {
    /// Refuses what the types allow but a keeper cannot run with, naming the key and why.
    pub(super) fn validate(&self, file: &str) -> Result<(), ConfigError> {
        let bad = |key: &str, message: String| ConfigError::Key {
            file: file.to_string(),
            key: key.to_string(),
            message,
        };
        let url = &self.chain.rpc_url;
        if !["ws://", "wss://", "http://", "https://"]
            .iter()
            .any(|scheme| url.starts_with(scheme))
        {
            return Err(bad(
                "chain.rpc_url",
                format!("expected ws://, wss://, http:// or https://, found {url:?}"),
            ));
        }
        if let Some(ws) = &self.chain.ws_url
            && !(ws.starts_with("ws://") || ws.starts_with("wss://"))
        {
            return Err(bad(
                "chain.ws_url",
                format!("expected ws:// or wss://, found {ws:?}"),
            ));
        }
        if self.chain.herald == Address::ZERO {
            return Err(bad(
                "chain.herald",
                "the zero address is not a deployment".into(),
            ));
        }
        if self.chain.max_range == 0 {
            return Err(bad("chain.max_range", "must be at least 1".into()));
        }
        let store = &self.store.url;
        if !(store.starts_with("sqlite:") || store.starts_with("postgres")) {
            return Err(bad(
                "store.url",
                "expected sqlite://<file> or postgres://… (or set DATABASE_URL)".into(),
            ));
        }
        if self.webhook.max_attempts == 0 {
            return Err(bad("webhook.max_attempts", "must be at least 1".into()));
        }
        if self.webhook.concurrency == 0 {
            return Err(bad("webhook.concurrency", "must be at least 1".into()));
        }
        if self.settlement.batch_size == 0 {
            return Err(bad("settlement.batch_size", "must be at least 1".into()));
        }
        for (key, value) in [
            ("settlement.runner_fee", &self.settlement.runner_fee),
            (
                "settlement.min_operator_fee",
                &self.settlement.min_operator_fee,
            ),
        ] {
            if value.parse::<U256>().is_err() {
                return Err(bad(
                    key,
                    format!("expected a decimal amount, found {value:?}"),
                ));
            }
        }
        if let Some(endpoint) = &self.network.endpoint
            && !(endpoint.starts_with("http://") || endpoint.starts_with("https://"))
        {
            return Err(bad(
                "network.endpoint",
                format!("expected http:// or https://, found {endpoint:?}"),
            ));
        }
        if alloy::primitives::utils::parse_ether(&self.network.low_gas_balance).is_err() {
            return Err(bad(
                "network.low_gas_balance",
                format!(
                    "expected an amount of ether such as \"0.05\", found {:?}",
                    self.network.low_gas_balance
                ),
            ));
        }
        if let Some(alert) = &self.network.alert_webhook
            && !(alert.starts_with("http://") || alert.starts_with("https://"))
        {
            return Err(bad(
                "network.alert_webhook",
                format!("expected http:// or https://, found {alert:?}"),
            ));
        }
        if self.network.takeover_timeout.is_zero() {
            return Err(bad(
                "network.takeover_timeout",
                "must be longer than 0s".into(),
            ));
        }
        if self.network.heartbeat_interval.is_zero() {
            return Err(bad(
                "network.heartbeat_interval",
                "must be longer than 0s".into(),
            ));
        }
        Ok(())
    }
}
