//! Seed 003 end to end: events emitted through a keeper's REST API run the triggers subscribed to
//! them (triggers on the HTTP_EVENT connector) and are settled on chain like chain events; an event
//! the API stored while the keeper was down is dispatched when it comes back. Every event is made
//! and signed by its emitter (audit finding 3), the key the subscription names.

use std::time::Duration;

use alloy::{
    primitives::{U256, aliases::U96},
    providers::Provider,
    signers::local::PrivateKeySigner,
};
use herald_anvil_tests::{
    Receiver, anvil, create_trigger, depositor, http_terms, network, order_subscription,
};
use herald_api::signing::{self, Emission};
use herald_chain::bindings::Herald;
use herald_devnet::{InProcessKeeper, KeeperSettings};
use herald_keeper::node::Identity;
use herald_store::{KeyScope, Store};
use serde_json::{Value, json};

#[tokio::test(flavor = "multi_thread")]
async fn api_events_run_their_subscriptions_and_settle() {
    let _ = tracing_subscriber::fmt()
        .with_env_filter(tracing_subscriber::EnvFilter::from_default_env())
        .with_test_writer()
        .try_init();
    let anvil = anvil();
    let net = network(&anvil, 1, 1).await;
    let receiver = Receiver::start().await.expect("receiver");
    let user = depositor(&anvil, &net, 9, U256::from(10u64.pow(18))).await;
    let emitter = PrivateKeySigner::random();
    let chain_id = net.admin.get_chain_id().await.expect("chain id");
    let domain = herald_chain::receipt::domain(chain_id, net.herald());
    let id = create_trigger(
        &user,
        &net,
        http_terms(),
        U96::from(10u64.pow(17)),
        &order_subscription(&receiver.url(), &[emitter.address()]),
    )
    .await;
    assert_eq!(id, 1);

    let dir = tempfile::tempdir().expect("tempdir");
    let listen = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("a free port");
    let config = KeeperSettings {
        start_block: net.next_block().await,
        api_listen: Some(listen),
        ..KeeperSettings::default()
    }
    .keeper_config(&anvil, net.herald(), &dir.path().join("keeper.db"))
    .expect("config");
    let store = Store::connect(&config.store.url).await.expect("store");
    let issued = herald_api::auth::issue("test", KeyScope::Write, 6_000);
    store
        .insert_api_key(&issued.key, &issued.hash)
        .await
        .expect("key");
    let keeper = InProcessKeeper::start(config.clone(), Identity::derived(net.keepers[0].clone()));

    let api = format!("http://{listen}");
    let http = reqwest::Client::new();
    let post = async |path: &str, body: Value, headers: &[(&'static str, String)]| -> Value {
        for _ in 0..100 {
            let mut request = http
                .post(format!("{api}{path}"))
                .bearer_auth(&issued.secret)
                .header("content-type", "application/json")
                .body(serde_json::to_vec(&body).expect("json"));
            for (name, value) in headers {
                request = request.header(*name, value);
            }
            if let Ok(response) = request.send().await {
                assert!(
                    response.status().is_success(),
                    "{path}: {}",
                    response.status()
                );
                return response.json().await.expect("json");
            }
            tokio::time::sleep(Duration::from_millis(100)).await; // the API is starting
        }
        panic!("the keeper's API never answered");
    };
    for name in ["order.created", "order.cancelled"] {
        let body = json!({"name": name});
        let bytes = serde_json::to_vec(&body).expect("json");
        let owned = signing::change_headers(&emitter, &domain, name, signing::DEFINE, &bytes)
            .expect("sign");
        post("/v1/event-types", body, &owned).await;
    }
    let emit = async |name: &str, payload: Value| -> Value {
        let emission = Emission::sign(&emitter, &domain, name, &payload).expect("sign");
        post(&format!("/v1/events/{name}"), payload, &emission.headers()).await
    };
    let matching = emit("order.created", json!({"order": "A-1", "amount": 500})).await;
    emit("order.created", json!({"order": "A-2", "amount": 50})).await; // too small
    emit("order.cancelled", json!({"order": "A-1", "amount": 500})).await; // other type

    if !receiver.wait_for_accepted(1, Duration::from_secs(60)).await {
        panic!(
            "the subscription did not run; keeper stopped: {}; received: {:?}; executions: {:?}",
            keeper.has_stopped(),
            receiver
                .received()
                .iter()
                .map(|r| r.answered)
                .collect::<Vec<_>>(),
            store
                .executions(&herald_store::ExecutionFilter {
                    limit: 10,
                    ..Default::default()
                })
                .await
                .map(|p| p
                    .items
                    .into_iter()
                    .map(|r| (r.execution.status, r.execution.detail))
                    .collect::<Vec<_>>())
        );
    }
    let herald = Herald::new(net.herald(), &net.admin);
    let settled = async |n: u32| {
        for _ in 0..300 {
            if herald
                .trigger(1)
                .call()
                .await
                .expect("trigger")
                .ledger
                .executions
                == n
            {
                return;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        panic!("{n} executions were not settled");
    };
    settled(1).await;
    let delivered = receiver.delivered();
    assert_eq!(delivered.len(), 1, "only the matching event ran");
    let body = delivered[0].json();
    assert_eq!(body["data"]["arguments"]["order"], "A-1");
    assert_eq!(
        delivered[0].header("webhook-id"),
        Some(format!("1:{}", matching["id"].as_str().expect("id")).as_str())
    );

    // Stored while the keeper is down (as the API does before answering): dispatched on restart.
    keeper.stop().await.expect("stopped cleanly");
    let payload = json!({"order": "B-7", "amount": 900});
    let emission = Emission::sign(&emitter, &domain, "order.created", &payload).expect("sign");
    let late = signing::signed_event(
        chain_id,
        emitter.address(),
        emission.id,
        "order.created",
        emission.time_ms,
        payload,
        &emission.signature,
    );
    store
        .record_event("HTTP_EVENT", &late)
        .await
        .expect("stored");
    let keeper = InProcessKeeper::start(config, Identity::derived(net.keepers[0].clone()));
    assert!(
        receiver.wait_for_accepted(2, Duration::from_secs(30)).await,
        "the stored event was dispatched after the restart"
    );
    settled(2).await;
    assert_eq!(
        receiver.delivered()[1].json()["data"]["arguments"]["order"],
        "B-7"
    );

    // A subscription is never charged for an event made before it existed, however late the
    // event reaches a keeper (a relay or a retried batch may bring one minutes later).
    let second = create_trigger(
        &user,
        &net,
        http_terms(),
        U96::from(10u64.pow(17)),
        &order_subscription(&receiver.url(), &[emitter.address()]),
    )
    .await;
    let created_at = net
        .admin
        .get_block_by_number(alloy::eips::BlockNumberOrTag::Latest)
        .await
        .expect("block")
        .expect("latest")
        .header
        .timestamp;
    let runs_of = |trigger: u64| {
        receiver
            .delivered()
            .iter()
            .filter(|r| {
                r.header("webhook-id")
                    .is_some_and(|id| id.starts_with(&format!("{trigger}:")))
            })
            .count()
    };
    let created_block = net.admin.get_block_number().await.expect("head");
    let stream = format!("eip155:{chain_id}");
    for _ in 0..300 {
        let read = store
            .cursor(&stream)
            .await
            .expect("cursor")
            .map_or(0, |c| c.block);
        if read >= created_block {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    // The keeper has read the second subscription's creation. An event made 20 s before that
    // block is inside the API's 60 s window, so it is taken, but it may not run the subscription.
    let time_ms = (created_at * 1_000).saturating_sub(20_000);
    let id = uuid::Uuid::new_v7(uuid::Timestamp::from_unix(
        uuid::NoContext,
        time_ms / 1_000,
        (time_ms % 1_000) as u32 * 1_000_000,
    ));
    let payload = json!({"order": "C-0", "amount": 700});
    let old = Emission {
        id,
        time_ms,
        signature: signing::sign(
            &emitter,
            &signing::event_digest(&domain, id, "order.created", time_ms, &payload),
        )
        .expect("sign"),
    };
    post("/v1/events/order.created", payload, &old.headers()).await;
    // A fresh event runs it: what it delivers first is the fresh one.
    emit("order.created", json!({"order": "C-1", "amount": 500})).await;
    for _ in 0..300 {
        if runs_of(second) > 0 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    tokio::time::sleep(Duration::from_secs(1)).await;
    let of_second: Vec<_> = receiver
        .delivered()
        .into_iter()
        .filter(|r| {
            r.header("webhook-id")
                .is_some_and(|id| id.starts_with(&format!("{second}:")))
        })
        .map(|r| r.json()["data"]["arguments"]["order"].clone())
        .collect();
    assert_eq!(
        of_second,
        [json!("C-1")],
        "the subscription ran only the event made after it"
    );
    keeper.stop().await.expect("stopped cleanly");
}
