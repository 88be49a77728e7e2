//! Watching the keeper's gas wallet: a keeper whose native balance runs out stops settling (and
//! answering fraud challenges) without anything else going wrong, so it warns, and posts an alert
//! to `network.alert_webhook`, when the balance drops below `network.low_gas_balance` — once per
//! drop, again after it was topped up and dropped anew.

use std::time::Duration;

use alloy::{
    primitives::{Address, U256, utils::format_ether},
    providers::{DynProvider, Provider},
};
use herald_services::Outbound;
use serde_json::json;

/// Checks the balance of `wallet`, which pays `keeper`'s gas, every `every` and alerts below
/// `threshold` (wei).
pub async fn watch_gas(
    provider: DynProvider,
    keeper: Address,
    wallet: Address,
    threshold: U256,
    alert_webhook: Option<String>,
    http: Outbound,
    every: Duration,
) {
    let mut low = false;
    let mut tick = tokio::time::interval(every);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tick.tick().await;
        let balance = match provider.get_balance(wallet).await {
            Ok(balance) => balance,
            Err(e) => {
                tracing::debug!(error = %e, "reading the gas wallet's balance");
                continue;
            }
        };
        let was_low = std::mem::replace(&mut low, balance < threshold);
        if !low || was_low {
            continue;
        }
        tracing::warn!(%wallet, balance = %format_ether(balance), threshold = %format_ether(threshold),
            "the gas wallet is running low: settlement and challenge answers will stop when it is empty");
        let Some(url) = &alert_webhook else {
            continue;
        };
        let alert = json!({
            "alert": "low_gas_balance",
            "keeper": keeper,
            "wallet": wallet,
            "balance_wei": balance.to_string(),
            "threshold_wei": threshold.to_string(),
        });
        if let Err(e) = crate::network::health::post_alert(&http, url, &alert).await {
            tracing::warn!(error = %e, "posting the low gas alert");
        }
    }
}
