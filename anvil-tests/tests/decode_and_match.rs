//! A real Transfer log from anvil, decoded with the ABI a trigger gives and matched by a trigger
//! compiled from YAML against the built-in connector manifest.

use alloy::{
    primitives::{Address, U256},
    providers::Provider,
    rpc::types::Filter,
};
use herald_anvil_tests::{anvil, provider_for, signer};
use herald_chain::bindings::HeraldTestToken;
use herald_connectors::evm::{EventAbi, LogContext};
use herald_match::{Matcher, TriggerId};
use herald_spec::{Manifests, parse_triggers};

#[tokio::test(flavor = "multi_thread")]
async fn chain_logs_are_decoded_and_matched() {
    let anvil = anvil();
    let provider = provider_for(&anvil, 0).await;
    let token = HeraldTestToken::deploy(&provider)
        .await
        .expect("deploy token");
    let alice = signer(&anvil, 5).address();
    let bob = signer(&anvil, 6).address();
    for (to, amount) in [(alice, 11u128 * 10u128.pow(18)), (bob, 5)] {
        token
            .mint(to, U256::from(amount))
            .send()
            .await
            .expect("send")
            .get_receipt()
            .await
            .expect("mint");
    }

    let abi =
        EventAbi::parse("event Transfer(address indexed from, address indexed to, uint256 value)")
            .expect("abi");
    let logs = provider
        .get_logs(
            &Filter::new()
                .address(*token.address())
                .event_signature(abi.selector())
                .from_block(0),
        )
        .await
        .expect("logs");
    assert_eq!(logs.len(), 2);

    let yaml = format!(
        "big-mints:\n  connector: {{type: ETHEREUM_MAINNET_CONTRACT}}\n  event-filters:\n    - address: {{eq: {token}}}\n    - event: {{eq: Transfer}}\n    - arguments.from: {{eq: '0x0000000000000000000000000000000000000000'}}\n    - arguments.value: {{gt: '10000000000000000000'}}\n    - executedAt: {{gt: '2020-01-01T00:00:00Z'}}\n  service:\n    service: webhook\n    data: {{endpoint: 'https://hooks.example.com/{{{{ event.arguments.to }}}}'}}\n",
        token = format!("{:#x}", token.address())
            .to_uppercase()
            .replace("0X", "0x"),
    );
    let specs = parse_triggers("big-mints.yaml", &yaml).expect("parses");
    let filter = Manifests::builtin()
        .validate("big-mints.yaml", &specs[0])
        .expect("valid");
    let matcher = Matcher::new();
    matcher.insert(TriggerId(1), "ETHEREUM_MAINNET_CONTRACT", &filter);
    let snapshot = matcher.snapshot();

    let chain_id = provider.get_chain_id().await.expect("chain id");
    let mut matched = Vec::new();
    for log in &logs {
        let block = provider
            .get_block_by_number(log.block_number.expect("mined").into())
            .await
            .expect("rpc")
            .expect("block");
        let tx = provider
            .get_transaction_by_hash(log.transaction_hash.expect("mined"))
            .await
            .expect("rpc")
            .expect("tx");
        let context = LogContext {
            chain_id,
            block_number: log.block_number.expect("mined"),
            block_hash: log.block_hash.expect("mined"),
            block_time: block.header.timestamp,
            transaction_hash: log.transaction_hash.expect("mined"),
            log_index: log.log_index.expect("mined"),
            transaction_index: log.transaction_index.expect("mined"),
            // Each mint emits one log.
            log_index_in_tx: 0,
            from: Some(tx.inner.signer()),
            to: alloy::consensus::Transaction::to(tx.inner.inner()),
        };
        let payload = abi
            .decode(log.address(), log.data(), &context)
            .expect("decodes");
        assert_eq!(
            payload["arguments"]["from"],
            Address::ZERO.to_checksum(None)
        );
        assert_eq!(
            payload["from"],
            signer(&anvil, 0).address().to_checksum(None)
        );
        let id = EventAbi::event_id(log.address(), log.data(), &context).expect("fits");
        assert_eq!(
            id.position(),
            (context.block_number << 28) | (context.transaction_index << 14)
        );
        matched.push((
            payload["arguments"]["to"].clone(),
            snapshot.matches("ETHEREUM_MAINNET_CONTRACT", &payload),
        ));
    }
    assert_eq!(
        matched[0],
        (alice.to_checksum(None).into(), vec![TriggerId(1)]),
        "11 tokens: matched"
    );
    assert_eq!(
        matched[1],
        (bob.to_checksum(None).into(), vec![]),
        "5 wei: not matched"
    );
}
