//! Security finding 1: a trigger's configuration is whatever bytes anyone passes to `createTrigger`,
//! and every keeper parses every configuration — at start (rebuilding its triggers from the
//! registry's logs), while following the chain, and when the API lists subscriptions. Before the fix,
//! 8 KB of block-style YAML nesting overflowed a worker's stack and aborted the keeper, again on each
//! restart. Here hostile configurations go straight on chain, bypassing the CLI, next to one honest
//! trigger, and the real keeper process keeps delivering the honest one, across a restart, while its
//! API still lists subscriptions.

use std::time::Duration;

use alloy::primitives::{Bytes, U256, aliases::U96};
use herald_anvil_tests::{
    KeeperOptions, KeeperProcess, Receiver, anvil, create_trigger, depositor, eventually, network,
    seed_trigger, signer, terms,
};
use herald_chain::bindings::{Herald, HeraldTestToken};
use herald_store::KeyScope;

const BUDGET: u64 = 100_000_000_000_000_000; // 0.1 token

/// Configurations a hostile user can emit, each under the on-chain size cap.
fn hostile_configs() -> Vec<(&'static str, Vec<u8>)> {
    let honest_but = |data: &str| {
        format!(
            "t:\n  connector: {{type: ETHEREUM_MAINNET_CONTRACT}}\n  service:\n    service: webhook\n    data:\n{data}"
        )
    };
    let many_templates: String = (0..200)
        .map(|i| format!("      k{i}: \"{{{{ event.arguments.Amount }}}}\"\n"))
        .collect();
    // Deterministic noise: not YAML, not UTF-8.
    let noise: Vec<u8> = (0u32..4_096)
        .map(|i| (i.wrapping_mul(2_654_435_761) >> 13) as u8)
        .collect();
    vec![
        (
            "block nesting",
            format!("{}x\n", "- ".repeat(4_000)).into_bytes(),
        ),
        (
            "flow nesting",
            format!("{}x{}", "[".repeat(4_000), "]".repeat(4_000)).into_bytes(),
        ),
        (
            "nested data",
            honest_but(&format!(
                "      endpoint:\n        {}x\n",
                "- ".repeat(3_000)
            ))
            .into_bytes(),
        ),
        ("template flood", honest_but(&many_templates).into_bytes()),
        ("noise", noise),
        ("aliases", b"a: &a [1, 2]\nb: [*a, *a, *a]\n".to_vec()),
    ]
}

#[tokio::test(flavor = "multi_thread")]
async fn hostile_configs_on_chain_never_stop_a_keeper() {
    let anvil = anvil();
    let net = network(&anvil, 1, 1).await;
    let herald = Herald::new(net.deployment.herald.address, &net.admin);
    let watched = HeraldTestToken::deploy(&net.admin).await.expect("token");
    let receiver = Receiver::start().await.expect("receiver");
    let user = depositor(&anvil, &net, 9, U256::from(BUDGET * 10)).await;

    let hostile = hostile_configs();
    let raw = Herald::new(net.deployment.herald.address, &user);
    for (what, config) in &hostile {
        raw.createTrigger(terms(), U96::from(BUDGET), Bytes::from(config.clone()))
            .send()
            .await
            .unwrap_or_else(|e| panic!("{what}: {e}"))
            .get_receipt()
            .await
            .unwrap_or_else(|e| panic!("{what}: {e}"));
    }
    let honest = create_trigger(
        &user,
        &net,
        terms(),
        U96::from(BUDGET),
        &seed_trigger(*watched.address(), &receiver.url()),
    )
    .await;
    assert_eq!(honest as usize, hostile.len() + 1);

    let listen = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("a free port");
    let mut keeper = KeeperProcess::start(
        &anvil,
        net.deployment.herald.address,
        &net.keepers[0],
        &KeeperOptions {
            start_block: net.next_block().await,
            api_listen: Some(listen),
            ..KeeperOptions::default()
        },
    );
    let key = herald_api::auth::issue("test", KeyScope::Read, 6_000);
    keeper
        .store()
        .await
        .insert_api_key(&key.key, &key.hash)
        .await
        .expect("api key");

    let mint = async |amount: u64| {
        HeraldTestToken::new(*watched.address(), &net.admin)
            .mint(signer(&anvil, 5).address(), U256::from(amount))
            .send()
            .await
            .expect("send")
            .get_receipt()
            .await
            .expect("mint");
    };
    let executions = async || {
        herald
            .trigger(honest)
            .call()
            .await
            .expect("trigger")
            .ledger
            .executions
    };

    mint(11).await;
    eventually(30, &keeper, "the honest trigger settled once", async || {
        executions().await == 1
    })
    .await;

    // The API parses every configuration too, to list subscriptions.
    let subscriptions = reqwest::Client::new()
        .get(format!("http://{listen}/v1/subscriptions"))
        .bearer_auth(&key.secret)
        .timeout(Duration::from_secs(10))
        .send()
        .await
        .expect("the keeper's API answers");
    assert!(
        subscriptions.status().is_success(),
        "GET /v1/subscriptions: {}",
        subscriptions.status()
    );

    // A restart rebuilds the trigger set from the same logs.
    keeper.kill();
    keeper.restart();
    mint(12).await;
    eventually(
        30,
        &keeper,
        "the honest trigger settled twice",
        async || executions().await == 2,
    )
    .await;
    assert_eq!(receiver.delivered().len(), 2, "{}", keeper.logs());

    let logs = keeper.logs();
    for expected in ["nest at most", "templates"] {
        assert!(
            logs.contains(expected),
            "the keeper says why it refused a configuration ({expected:?}):\n{logs}"
        );
    }
}
