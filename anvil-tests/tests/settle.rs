//! Receipts signed in Rust settle on the real contract: the locally computed EIP-712 digest equals
//! the contract's, a 3-of-5 quorum is accepted, the five parties are paid, and a replay pays nothing.

use alloy::{
    primitives::{Address, B256, U256, aliases::U96},
    providers::Provider,
};
use herald_anvil_tests::{
    CONNECTOR_DEV_FEE, MAX_RUNNER_FEE, OPERATOR_FEE, SERVICE_DEV_FEE, anvil, create_trigger,
    depositor, network, signer, terms,
};
use herald_chain::{
    bindings::Herald,
    receipt::{Receipt, batch_digest, domain, order_signatures, sign_digest},
};
use herald_core::{EventId, LogPosition};

/// The id of the first log of Ethereum mainnet's block `block`: a log of another chain, whose
/// position settlement takes on the quorum's word (it bounds only its own chain's and UUID ids).
fn mainnet_log(block: u64, hash: u8) -> EventId {
    let at = LogPosition {
        chain_id: 1,
        block_number: block,
        tx_index: 0,
        log_index_in_tx: 0,
    };
    EventId::from_log(at, B256::repeat_byte(hash), B256::repeat_byte(9)).expect("fits")
}

#[tokio::test(flavor = "multi_thread")]
async fn rust_signed_batches_settle_once() {
    let anvil = anvil();
    let net = network(&anvil, 5, 3).await;
    let herald_address = net.deployment.herald.address;

    // A user funds a trigger.
    let user = depositor(&anvil, &net, 9, U256::from(10u128.pow(21))).await;
    let herald = Herald::new(herald_address, &user);
    let terms = terms();
    let budget = U96::from(10u64.pow(18));
    create_trigger(&user, &net, terms, budget, "seed-000").await;

    // Three executions of trigger 1, run by keeper 0, for three logs in block order.
    let runner = net.keepers[0].address();
    let now = user
        .get_block_by_number(Default::default())
        .await
        .expect("rpc")
        .expect("latest")
        .header
        .timestamp;
    let receipts: Vec<Receipt> = (0..3u64)
        .map(|i| Receipt {
            eventId: *mainnet_log(100 + i, i as u8).as_bytes(),
            ..receipts_template(runner, now)
        })
        .collect();

    let chain_id = user.get_chain_id().await.expect("chain id");
    let digest = batch_digest(&domain(chain_id, herald_address), &receipts);
    assert_eq!(
        herald
            .batchDigest(receipts.clone())
            .call()
            .await
            .expect("batchDigest"),
        digest,
        "same digest as the contract"
    );

    let signed = net.keepers[1..4]
        .iter()
        .map(|k| sign_digest(k, &digest).expect("sign"))
        .collect();
    let signatures = order_signatures(signed);
    let settle = herald.settle(receipts.clone(), signatures.clone());
    assert_eq!(settle.call().await.expect("simulate"), U256::from(3));
    settle
        .send()
        .await
        .expect("send")
        .get_receipt()
        .await
        .expect("settle");

    let subtotal = CONNECTOR_DEV_FEE
        + OPERATOR_FEE
        + SERVICE_DEV_FEE
        + 1_000_000_000_000_000u64.min(MAX_RUNNER_FEE);
    let fee = subtotal + subtotal * 500 / 10_000;
    let trigger = herald.trigger(1).call().await.expect("trigger");
    assert_eq!(trigger.ledger.executions, 3);
    assert_eq!(trigger.ledger.budget, budget - U96::from(3 * fee));
    let claimable = |who: Address| {
        let herald = herald.clone();
        async move { herald.claimable(who).call().await.expect("claimable") }
    };
    assert_eq!(
        claimable(runner).await,
        U256::from(3 * (OPERATOR_FEE + 1_000_000_000_000_000)),
        "operator and runner"
    );
    assert_eq!(
        claimable(signer(&anvil, 1).address()).await,
        U256::from(3 * CONNECTOR_DEV_FEE)
    );
    assert_eq!(
        claimable(signer(&anvil, 2).address()).await,
        U256::from(3 * SERVICE_DEV_FEE)
    );
    assert_eq!(
        claimable(signer(&anvil, 0).address()).await,
        U256::from(3 * (subtotal * 500 / 10_000)),
        "protocol"
    );

    // The same signed batch again pays nothing.
    let replay = herald.settle(receipts, signatures);
    assert_eq!(replay.call().await.expect("simulate"), U256::ZERO);
    replay
        .send()
        .await
        .expect("send")
        .get_receipt()
        .await
        .expect("replay mined");
    assert_eq!(
        herald
            .trigger(1)
            .call()
            .await
            .expect("trigger")
            .ledger
            .executions,
        3
    );

    // Two signatures are not a 3-of-5 quorum.
    let fresh = vec![Receipt {
        eventId: *mainnet_log(200, 0).as_bytes(),
        ..receipts_template(runner, now)
    }];
    let digest = batch_digest(&domain(chain_id, herald_address), &fresh);
    let two = order_signatures(
        net.keepers[..2]
            .iter()
            .map(|k| sign_digest(k, &digest).expect("sign"))
            .collect(),
    );
    let err = herald
        .settle(fresh, two)
        .call()
        .await
        .expect_err("below quorum")
        .to_string();
    assert!(err.contains("revert"), "{err}");
}

/// A receipt for trigger 1 run and observed by `keeper`; callers set the event.
fn receipts_template(keeper: Address, executed_at: u64) -> Receipt {
    Receipt {
        triggerId: 1,
        eventId: B256::ZERO,
        resultHash: B256::repeat_byte(0x42),
        connector: keeper,
        runner: keeper,
        runnerFee: U96::from(1_000_000_000_000_000u64),
        executedAt: executed_at,
        success: true,
    }
}
