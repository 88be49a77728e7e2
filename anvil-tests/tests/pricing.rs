//! The keeper's price and budget check agree with what `settle` does on chain: the quote is exactly
//! the debit, for successes, failures and capped runner fees, and `admit` refuses exactly what the
//! contract refuses.

use alloy::{
    primitives::{
        B256, U256,
        aliases::{U80, U96},
    },
    providers::Provider,
};
use herald_anvil_tests::{anvil, create_trigger, depositor, network, terms};
use herald_chain::{
    bindings::Herald,
    receipt::{Receipt, batch_digest, domain, order_signatures, sign_digest},
};
use herald_core::{EventId, LogPosition};
use herald_keeper::{PriceList, Refusal, admit};

#[tokio::test(flavor = "multi_thread")]
async fn quotes_are_exactly_what_settlement_debits() {
    let anvil = anvil();
    let net = network(&anvil, 1, 1).await;
    let herald_address = net.deployment.herald.address;
    let user = depositor(&anvil, &net, 9, U256::from(10u64.pow(18))).await;
    let herald = Herald::new(herald_address, &user);
    create_trigger(&user, &net, terms(), U96::from(10u64.pow(17)), "t").await;
    let mut tight = terms();
    tight.maxFeePerExecution = U80::from(10_000_000_000_000_000u64); // 0.01 token: below a full price
    create_trigger(&user, &net, tight, U96::from(10u64.pow(17)), "t").await;

    let prices = PriceList::load(&user, herald_address, 1, 1)
        .await
        .expect("prices");
    let chain_id = user.get_chain_id().await.expect("chain id");
    let keeper = &net.keepers[0];
    let now = user
        .get_block_by_number(Default::default())
        .await
        .expect("rpc")
        .expect("block")
        .header
        .timestamp;

    let cases = [
        (1u64, 1_000_000_000_000_000u64, true),
        (1, 50_000_000_000_000_000, true),
        (1, 1_000_000_000_000_000, false),
        (2, 1_000_000_000_000_000, true),
    ];
    for (n, (trigger, runner_fee, success)) in cases.into_iter().enumerate() {
        let before = herald.trigger(trigger).call().await.expect("trigger");
        let quote = prices.quote(U256::from(runner_fee), success);
        let verdict = admit(&before, &quote, now);
        let receipt = Receipt {
            triggerId: trigger,
            // A log of another chain (mainnet): settlement bounds only its own chain's positions.
            eventId: *EventId::from_log(
                LogPosition {
                    chain_id: 1,
                    block_number: 1_000 + n as u64,
                    tx_index: 0,
                    log_index_in_tx: 0,
                },
                B256::ZERO,
                B256::ZERO,
            )
            .expect("fits")
            .as_bytes(),
            resultHash: B256::repeat_byte(1),
            connector: keeper.address(),
            runner: keeper.address(),
            runnerFee: U96::from(runner_fee),
            executedAt: now,
            success,
        };
        let digest = batch_digest(
            &domain(chain_id, herald_address),
            std::slice::from_ref(&receipt),
        );
        let signatures = order_signatures(vec![sign_digest(keeper, &digest).expect("sign")]);
        let settle = herald.settle(vec![receipt], signatures);
        let settled = settle.call().await.expect("simulate");
        settle
            .send()
            .await
            .expect("send")
            .get_receipt()
            .await
            .expect("settle");
        let after = herald.trigger(trigger).call().await.expect("trigger");
        let debit = U256::from(before.ledger.budget) - U256::from(after.ledger.budget);
        match verdict {
            Ok(()) => {
                assert_eq!(settled, U256::from(1), "case {n}: admitted, so settled");
                assert_eq!(debit, quote.total, "case {n}: the quote is the debit");
            }
            Err(refusal) => {
                assert_eq!(settled, U256::ZERO, "case {n}: refused, so not settled");
                assert_eq!(debit, U256::ZERO);
                assert!(
                    matches!(refusal, Refusal::FeeAboveCap { .. }),
                    "case {n}: {refusal:?}"
                );
            }
        }
    }
}
