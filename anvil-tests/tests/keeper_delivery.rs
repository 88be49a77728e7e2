//! Delivery is committed to (audit finding 11b): a performer that sends a trigger's webhook to
//! another endpoint than the trigger's, and gets a 2xx there, is refused by honest co-signers,
//! never paid, and its executions are taken over and settled once by a keeper that delivers to
//! the trigger's endpoint. Three real keeper processes, quorum two, on a real anvil.

use std::time::Duration;

use alloy::{
    primitives::{Address, U256, aliases::U96},
    providers::Provider,
};
use herald_anvil_tests::{
    KeeperOptions, KeeperProcess, Receiver, anvil, create_trigger, depositor, eventually, network,
    provider_for, seed_trigger, settled_receipts, signer, terms,
};
use herald_chain::bindings::{Herald, HeraldTestToken};
use herald_core::EventId;
use herald_devnet::NetworkSettings;
use herald_keeper::network::peers::rank;
use herald_store::{ExecutionKey, ExecutionStatus};

const TOKEN: u64 = 1_000_000_000_000_000_000;
const KEEPERS: usize = 3;
const QUORUM: u8 = 2;
const EVENTS: u64 = 2;

#[tokio::test(flavor = "multi_thread")]
async fn a_performer_that_delivers_elsewhere_is_never_co_signed_and_is_taken_over() {
    let anvil = anvil();
    let net = network(&anvil, KEEPERS, QUORUM).await;
    let herald = net.deployment.herald.address;
    let watched = HeraldTestToken::deploy(net.admin.clone())
        .await
        .expect("token");
    let receiver = Receiver::start().await.expect("receiver");
    let user = depositor(&anvil, &net, 9, U256::from(5 * TOKEN)).await;
    let trigger = create_trigger(
        &user,
        &net,
        terms(),
        U96::from(2 * TOKEN),
        &seed_trigger(*watched.address(), &receiver.url()),
    )
    .await;
    let start_block = net.admin.get_block_number().await.expect("head") + 1;
    let performer = rank(trigger, net.keepers.iter().map(|k| k.address()))[0];
    let options = || KeeperOptions {
        start_block,
        api_listen: Some(herald_devnet::free_addr(0).expect("a free port")),
        network: NetworkSettings {
            takeover_timeout_ms: 3_000,
            heartbeat_interval_ms: 300,
            offline_after_ms: 1_500,
            ..NetworkSettings::default()
        },
        ..KeeperOptions::default()
    };
    let keepers: Vec<KeeperProcess> = net
        .keepers
        .iter()
        .map(|signer| {
            if signer.address() == performer {
                KeeperProcess::start_byzantine(
                    &anvil,
                    herald,
                    signer,
                    &options(),
                    "deliver-elsewhere",
                )
            } else {
                KeeperProcess::start(&anvil, herald, signer, &options())
            }
        })
        .collect();
    let faulty = keepers
        .iter()
        .find(|k| k.address == performer)
        .expect("the performer");
    net.wait_for_endpoints().await.expect("keeper endpoints");
    // Let every keeper read the others' endpoint changes.
    tokio::time::sleep(Duration::from_millis(1_500)).await;

    let token = HeraldTestToken::new(*watched.address(), provider_for(&anvil, 0).await);
    for i in 0..EVENTS {
        token
            .mint(signer(&anvil, 8).address(), U256::from(100 + i))
            .send()
            .await
            .expect("send")
            .get_receipt()
            .await
            .expect("mint");
    }

    // The honest keepers refuse the faulty performer's receipts: the result commits to the
    // endpoint, not only to the body.
    eventually(60, faulty, "the co-signers' refusal", async || {
        faulty
            .logs()
            .contains("does not commit to the request (endpoint, headers, body)")
    })
    .await;

    // Every execution settles once, by the keeper that took over from the faulty performer.
    eventually(90, faulty, "every execution settled", async || {
        settled_receipts(&net.admin, herald).await.len() as u64 >= EVENTS
    })
    .await;
    tokio::time::sleep(Duration::from_millis(1_500)).await;
    let settled = settled_receipts(&net.admin, herald).await;
    assert_eq!(settled.len() as u64, EVENTS, "{settled:?}");
    assert!(settled.values().all(|n| *n == 1), "paid twice: {settled:?}");
    // The faulty performer's deliveries succeeded, at the other endpoint: what it reported was
    // true of the request it sent, and still not what the trigger sends.
    let store = faulty.store().await;
    for (trigger_id, event_id) in settled.keys() {
        let key = ExecutionKey {
            trigger_id: *trigger_id,
            event_id: EventId::from_bytes(*event_id),
        };
        let ran = store.execution(key).await.expect("store").expect("run");
        assert_eq!(ran.status, ExecutionStatus::Succeeded, "{:?}", ran.detail);
    }
    assert_eq!(
        claimable(&net, performer).await,
        U256::ZERO,
        "the keeper that delivered elsewhere was paid\n{}",
        faulty.logs()
    );
}

async fn claimable(net: &herald_anvil_tests::Network, who: Address) -> U256 {
    Herald::new(net.deployment.herald.address, &net.admin)
        .claimable(who)
        .call()
        .await
        .expect("claimable")
}
