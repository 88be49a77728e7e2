//! Seed 000 end to end: a token emits Transfers; a user's trigger (Transfer on that contract, tx to
//! the contract, executed after 2017-10-12, `arguments.Amount` > 10) points at a real local
//! receiver. The real keeper process delivers exactly the matching transfers, once each, signed
//! with the owner's own webhook secret (sealed to the keeper, verified here by the official
//! Standard Webhooks library) and with the trigger's headers, one of them a sealed credential;
//! their receipts settle; the user pays exactly the fees and the five parties are credited exactly
//! their shares, and can claim them. Neither secret is on chain in the clear or in the keeper's log.

use std::time::Duration;

use alloy::{
    primitives::{Address, U256, aliases::U96},
    providers::Provider,
};
use herald_anvil_tests::{
    CONNECTOR_DEV_FEE, KeeperOptions, KeeperProcess, MAX_RUNNER_FEE, OPERATOR_FEE, Receiver,
    SERVICE_DEV_FEE, anvil, create_trigger, depositor, eventually, network, price, provider_for,
    sealed_config, seed_trigger, signer, terms,
};
use herald_chain::bindings::{Herald, HeraldTestToken};
use herald_services::WebhookSecret;
use standardwebhooks::Webhook;

/// The trigger owner's credential for its receiver, sealed to the keeper.
const API_TOKEN: &str = "sk-live-7d3c9a1f0b2e4d6c8a";

const BUDGET: u64 = 100_000_000_000_000_000; // 0.1 token

#[tokio::test(flavor = "multi_thread")]
async fn seed_000_delivers_exactly_the_matching_transfers_and_settles_them() {
    let anvil = anvil();
    let net = network(&anvil, 1, 1).await;
    let herald_address = net.deployment.herald.address;
    let herald = Herald::new(herald_address, &net.admin);
    let watched = HeraldTestToken::deploy(&net.admin).await.expect("token");
    let other = HeraldTestToken::deploy(&net.admin).await.expect("token");
    let receiver = Receiver::start().await.expect("receiver");

    let user = depositor(&anvil, &net, 9, U256::from(BUDGET)).await;
    let owner = signer(&anvil, 9).address();
    let webhook_secret = WebhookSecret::generate().to_string();
    let config = seed_trigger(*watched.address(), &receiver.url()).replace(
        "        foo: bar\n",
        "        foo: bar\n        authorization: 'Bearer {{ secrets.api_token }}'\n",
    );
    // The network's first trigger.
    let config = sealed_config(
        &config,
        (anvil.chain_id(), herald_address, 1),
        &signer(&anvil, 9),
        &net.keepers[..1],
        &[("webhook", &webhook_secret), ("api_token", API_TOKEN)],
    )
    .expect("sealed");
    for secret in [&webhook_secret, API_TOKEN] {
        assert!(!config.contains(secret), "a secret in the clear on chain");
    }
    create_trigger(&user, &net, terms(), U96::from(BUDGET), &config).await;
    let start_block = net.admin.get_block_number().await.expect("head") + 1;
    let keeper = KeeperProcess::start(
        &anvil,
        herald_address,
        &net.keepers[0],
        &KeeperOptions {
            start_block,
            ..KeeperOptions::default()
        },
    );

    let alice = signer(&anvil, 5).address();
    let mint = async |token: &HeraldTestToken::HeraldTestTokenInstance<_>, amount: u64| {
        token
            .mint(alice, U256::from(amount))
            .send()
            .await
            .expect("send")
            .get_receipt()
            .await
            .expect("mint");
    };
    mint(&watched, 11).await; // matches
    mint(&watched, 5).await; // Amount too small
    mint(&other, 500).await; // another contract
    mint(&watched, 10).await; // not greater than 10
    mint(&watched, 1_000).await; // matches

    let ledger = async || herald.trigger(1).call().await.expect("trigger").ledger;
    eventually(30, &keeper, "two settled executions", async || {
        ledger().await.executions == 2
    })
    .await;
    // Nothing more arrives: each matching transfer was delivered once.
    tokio::time::sleep(Duration::from_millis(500)).await;
    let delivered = receiver.delivered();
    assert_eq!(
        delivered.len(),
        2,
        "exactly the matching transfers\n{}",
        keeper.logs()
    );

    let verifier = Webhook::new(&webhook_secret).expect("a Standard Webhooks secret");
    let mut amounts = Vec::new();
    let mut ids = Vec::new();
    for request in &delivered {
        assert_eq!(request.header("foo"), Some("bar"), "the trigger's header");
        assert_eq!(
            request.header("authorization"),
            Some(format!("Bearer {API_TOKEN}").as_str()),
            "the sealed credential, opened by the keeper that delivered"
        );
        let id = request.header("webhook-id").expect("webhook-id");
        verifier
            .verify(&request.body, &request.headers)
            .expect("the official library verifies the delivery with the owner's secret");
        let body = request.json();
        assert_eq!(body["id"], id, "the body names its execution");
        assert_eq!(body["trigger"], 1);
        assert_eq!(body["event"]["data"]["event"], "Transfer");
        assert_eq!(
            body["data"]["arguments"]["amount"],
            body["event"]["data"]["arguments"]["Amount"]
        );
        assert!(
            body["data"].get("headers").is_none(),
            "headers are not echoed"
        );
        amounts.push(body["event"]["data"]["arguments"]["Amount"].clone());
        ids.push(id.to_string());
    }
    amounts.sort_by_key(|a| a.as_str().map(str::len));
    assert_eq!(
        amounts,
        vec![serde_json::json!("11"), serde_json::json!("1000")]
    );
    ids.dedup();
    assert_eq!(ids.len(), 2, "one webhook-id per execution");

    let logs = keeper.logs();
    for secret in [webhook_secret.as_str(), API_TOKEN] {
        assert!(!logs.contains(secret), "a secret in the keeper's log");
    }

    // Money: the user paid exactly two executions; each party got exactly its share.
    let runner_fee = KeeperOptions::default().runner_fee.min(MAX_RUNNER_FEE);
    let bps = herald.params().call().await.expect("params").protocolFeeBps;
    let (price, protocol) = price(runner_fee, true, bps);
    let after = ledger().await;
    assert_eq!(U256::from(after.budget), U256::from(BUDGET - 2 * price));
    let claimable = async |who: Address| herald.claimable(who).call().await.expect("claimable");
    assert_eq!(
        claimable(signer(&anvil, 1).address()).await,
        U256::from(2 * CONNECTOR_DEV_FEE),
        "connector developer"
    );
    assert_eq!(
        claimable(signer(&anvil, 2).address()).await,
        U256::from(2 * SERVICE_DEV_FEE),
        "service developer"
    );
    assert_eq!(
        claimable(keeper.address).await,
        U256::from(2 * (OPERATOR_FEE + runner_fee)),
        "the keeper, as connector operator and as runner"
    );
    assert_eq!(
        claimable(signer(&anvil, 0).address()).await,
        U256::from(2 * protocol),
        "protocol treasury"
    );
    let _ = owner;

    // The service developer claims its share in tokens.
    let dev = provider_for(&anvil, 2).await;
    let token = HeraldTestToken::new(net.deployment.token.address, &dev);
    let before = token
        .balanceOf(signer(&anvil, 2).address())
        .call()
        .await
        .expect("balance");
    Herald::new(herald_address, &dev)
        .claim(signer(&anvil, 2).address())
        .send()
        .await
        .expect("send")
        .get_receipt()
        .await
        .expect("claim");
    let after_claim = token
        .balanceOf(signer(&anvil, 2).address())
        .call()
        .await
        .expect("balance");
    assert_eq!(after_claim - before, U256::from(2 * SERVICE_DEV_FEE));

    // The keeper's store agrees: two executions, succeeded and settled.
    let counts = keeper
        .store()
        .await
        .execution_counts()
        .await
        .expect("counts");
    assert_eq!(
        counts,
        vec![("succeeded".to_string(), "settled".to_string(), 2)]
    );
}
