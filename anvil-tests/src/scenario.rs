//! Pieces the keeper scenarios share: seed 000's trigger, prices, waiting.

use std::time::Duration;

use alloy::primitives::Address;

use crate::{CONNECTOR_DEV_FEE, KeeperProcess, MAX_RUNNER_FEE, OPERATOR_FEE, SERVICE_DEV_FEE};

/// Seed 000's trigger on `token`: Transfer on that contract, the transaction sent to it, executed
/// after 2017-10-12, `arguments.Amount` > 10; a webhook to `endpoint` with header `foo: bar`.
pub fn seed_trigger(token: Address, endpoint: &str) -> String {
    format!(
        "augur-transfer-after-12-oct-with-more-than-10-token:
  connector:
    type: ETHEREUM_MAINNET_CONTRACT
    contract: '{token:#x}'
    abi: 'Transfer(address indexed from, address indexed to, uint256 Amount)'
  event-filters:
    - to:
        eq: '{token:#x}'
    - executedAt:
        gt: '2017-10-12T00:00:00.000Z'
    - arguments.Amount:
        gt: 10
  service:
    service: webhook
    data:
      endpoint: {endpoint}
      headers:
        foo: bar
      arguments:
        amount: '{{{{ event.arguments.Amount }}}}'
"
    )
}

/// What one execution costs on the fixture's types: (total, protocol share).
pub fn price(runner_fee: u64, success: bool, protocol_fee_bps: u16) -> (u64, u64) {
    let service = if success { SERVICE_DEV_FEE } else { 0 };
    let subtotal = CONNECTOR_DEV_FEE + OPERATOR_FEE + service + runner_fee.min(MAX_RUNNER_FEE);
    let protocol = subtotal * u64::from(protocol_fee_bps) / 10_000;
    (subtotal + protocol, protocol)
}

/// Polls `check` every 100 ms for up to `secs`; panics with `what` and the keeper's log otherwise.
pub async fn eventually(
    secs: u64,
    keeper: &KeeperProcess,
    what: &str,
    mut check: impl AsyncFnMut() -> bool,
) {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(secs);
    while tokio::time::Instant::now() < deadline {
        if check().await {
            return;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!(
        "timed out waiting for {what}\nkeeper log:\n{}",
        keeper.logs()
    );
}
