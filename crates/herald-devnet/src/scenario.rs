//! Seed 000's trigger, seed 003's subscription, and what an execution costs on the network's types.

use alloy::{primitives::Address, signers::local::PrivateKeySigner};
use herald_seal::{Context, EncryptionKey, Envelope, Recipient, Secrets};

use crate::{CONNECTOR_DEV_FEE, MAX_RUNNER_FEE, OPERATOR_FEE, SERVICE_DEV_FEE};

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

/// A subscription (seed 003): events `order.created` with `data.amount` > 100, signed by one of
/// `emitters` and posted to a keeper's API, run a webhook to `endpoint` carrying the order.
pub fn order_subscription(endpoint: &str, emitters: &[Address]) -> String {
    let emitters = emitters
        .iter()
        .map(|e| format!("'{e:#x}'"))
        .collect::<Vec<_>>()
        .join(", ");
    format!(
        "orders-over-100:
  connector:
    type: HTTP_EVENT
    emitters: [{emitters}]
  event-filters:
    - type:
        eq: order.created
    - data.amount:
        gt: 100
  service:
    service: webhook
    data:
      endpoint: {endpoint}
      arguments:
        order: '{{{{ event.data.order }}}}'
"
    )
}

/// What one execution costs on the network's types: (total, protocol share).
pub fn price(runner_fee: u64, success: bool, protocol_fee_bps: u16) -> (u64, u64) {
    let service = if success { SERVICE_DEV_FEE } else { 0 };
    let subtotal = CONNECTOR_DEV_FEE + OPERATOR_FEE + service + runner_fee.min(MAX_RUNNER_FEE);
    let protocol = subtotal * u64::from(protocol_fee_bps) / 10_000;
    (subtotal + protocol, protocol)
}

/// `config` (a file of one trigger) with `secrets` sealed into it, as `herald trigger create`
/// seals them: see [`sealed_envelope`].
pub fn sealed_config(
    config: &str,
    (chain_id, herald, trigger): (u64, Address, u64),
    owner: &PrivateKeySigner,
    keepers: &[PrivateKeySigner],
    secrets: &[(&str, &str)],
) -> eyre::Result<String> {
    let envelope = sealed_envelope((chain_id, herald, trigger), owner, keepers, secrets)?;
    Ok(herald_spec::with_secrets(
        "trigger.yaml",
        config,
        &envelope.to_base64(),
    )?)
}

/// `secrets` sealed as `herald trigger create` and `herald trigger secrets set` seal them: to
/// each of `keepers` (by the encryption key a devnet keeper derives from its signing key) and to
/// `owner`, for trigger `trigger` (for a creation, the id it will get) of the deployment `herald`
/// on `chain_id`.
pub fn sealed_envelope(
    (chain_id, herald, trigger): (u64, Address, u64),
    owner: &PrivateKeySigner,
    keepers: &[PrivateKeySigner],
    secrets: &[(&str, &str)],
) -> eyre::Result<Envelope> {
    let mut sealed = Secrets::new();
    for (name, value) in secrets {
        sealed.insert(name, *value)?;
    }
    let mut recipients: Vec<Recipient> = keepers
        .iter()
        .map(|k| Recipient {
            address: k.address(),
            key: EncryptionKey::for_keeper(&k.to_bytes().0).public_key(),
        })
        .collect();
    recipients.push(Recipient {
        address: owner.address(),
        key: EncryptionKey::for_owner(&owner.to_bytes().0).public_key(),
    });
    let context = Context {
        chain_id,
        herald,
        owner: owner.address(),
        trigger,
    };
    Ok(Envelope::seal(&sealed, &context, &recipients)?)
}
