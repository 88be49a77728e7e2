//! A keeper rebuilds its trigger set from the registry's events alone: created triggers are compiled,
//! pauses and cancellations applied, and a trigger whose configuration is invalid is reported
//! without stopping the others.

use alloy::primitives::{
    B256, U256,
    aliases::{U24, U96},
};
use herald_anvil_tests::{
    OPERATOR_FEE, anvil, create_trigger, depositor, http_terms, network, provider_for, signer,
    terms,
};
use herald_chain::bindings::Herald;
use herald_keeper::{FeeFloor, TriggerSet, load_triggers, source_key};
use herald_match::TriggerId;
use herald_spec::Manifests;
use serde_json::json;

const SEED: &str = include_str!("../../examples/seed-000-trigger.yaml");

#[tokio::test(flavor = "multi_thread")]
async fn the_trigger_set_comes_from_chain_logs() {
    let anvil = anvil();
    let net = network(&anvil, 1, 1).await;
    let user = depositor(&anvil, &net, 9, U256::from(10u64.pow(18))).await;
    let herald = Herald::new(net.deployment.herald.address, &user);
    let create = |config: &'static str| create_trigger(&user, &net, terms(), U96::ZERO, config);
    create(SEED).await; // 1: valid
    create("broken:\n  connector: {type: NOPE}\n").await; // 2: invalid
    create(SEED).await; // 3: valid, then paused
    create(SEED).await; // 4: valid, then cancelled
    herald
        .pauseTrigger(3)
        .send()
        .await
        .expect("send")
        .get_receipt()
        .await
        .expect("pause 3");
    herald
        .cancelTrigger(4)
        .send()
        .await
        .expect("send")
        .get_receipt()
        .await
        .expect("cancel 4");

    let mut set = TriggerSet::new(Manifests::builtin());
    let report = load_triggers(&user, net.deployment.herald.address, 0, &mut set)
        .await
        .expect("load");
    assert_eq!(report.loaded, vec![1, 3, 4]);
    assert_eq!(report.cancelled, vec![4]);
    assert_eq!(report.invalid.len(), 1);
    let (id, reason) = &report.invalid[0];
    assert_eq!(*id, 2);
    assert!(reason.starts_with("trigger #2:"), "{reason}");

    let event = json!({
        "to": "0xE94327D07Fc17907b4DB788E5aDf2ed424adDff6",
        "logs": ["134014335782478591349648913289461..."],
        "executedAt": "2017-10-20T09:30:00Z",
        "arguments": {"Amount": "11"},
    });
    // The seed names no contract and no ABI: its source is every contract's raw logs.
    let snapshot = set.matcher().snapshot();
    let key = source_key("ETHEREUM_MAINNET_CONTRACT", None, None, None);
    assert_eq!(set.get(1).expect("loaded").source, key);
    // The matcher holds paused triggers too (co-signers judge a pause at the execution time);
    // the set says which are paused now, and the dispatcher runs the others.
    assert_eq!(
        snapshot.matches(&key, &event),
        vec![TriggerId(1), TriggerId(3)]
    );
    assert!(set.is_paused(3) && !set.is_paused(1));
    assert_eq!(
        snapshot.is_paused(TriggerId(4)),
        None,
        "cancelled triggers are gone"
    );
    assert!(set.get(4).is_none());
}

/// Security finding 5: the type ids in a trigger's terms are what settlement pays, and the file's
/// connector and service names are what keepers run. A trigger whose file says
/// `ETHEREUM_MAINNET_CONTRACT`/`webhook` while its terms name a zero-fee type someone else
/// registered made keepers work for nothing and paid the real developers and the protocol nothing.
/// Keepers now serve a trigger only on types registered for its file's manifests, and paying them
/// at least their floor.
#[tokio::test(flavor = "multi_thread")]
async fn a_trigger_is_served_only_on_types_registered_for_its_manifests() {
    let anvil = anvil();
    let net = network(&anvil, 1, 1).await;
    let user = depositor(&anvil, &net, 9, U256::from(10u64.pow(18))).await;
    // Someone registers a free connector type under any manifest hash.
    let squatter = provider_for(&anvil, 8).await;
    Herald::new(net.deployment.herald.address, &squatter)
        .registerConnectorType(
            signer(&anvil, 8).address(),
            U96::ZERO,
            U96::ZERO,
            B256::repeat_byte(7),
            "ipfs://free".into(),
        )
        .send()
        .await
        .expect("send")
        .get_receipt()
        .await
        .expect("register type 3");
    let free = Herald::TriggerTerms {
        connectorType: U24::from(3),
        ..terms()
    };
    let create = |terms, config| create_trigger(&user, &net, terms, U96::ZERO, config);
    create(terms(), SEED).await; // 1: the types the file names
    create(free, SEED).await; // 2: a free type under another manifest
    create(http_terms(), SEED).await; // 3: the HTTP event's type for a chain trigger

    let load = async |floor| {
        let mut set = TriggerSet::new(Manifests::builtin()).with_fee_floor(floor);
        load_triggers(&user, net.deployment.herald.address, 0, &mut set)
            .await
            .expect("load")
    };
    let report = load(FeeFloor::default()).await;
    assert_eq!(report.loaded, vec![1]);
    let reasons: Vec<&str> = report.invalid.iter().map(|(_, r)| r.as_str()).collect();
    assert_eq!(
        report.invalid.iter().map(|(id, _)| *id).collect::<Vec<_>>(),
        vec![2, 3]
    );
    for reason in &reasons {
        assert!(reason.contains("is registered for manifest"), "{reason}");
    }

    // An operator who asks more than type 1 pays its operator serves none of them.
    let report = load(FeeFloor {
        operator_fee: U256::from(OPERATOR_FEE + 1),
        ..FeeFloor::default()
    })
    .await;
    assert!(report.loaded.is_empty(), "{report:?}");
    assert!(
        report.invalid[0].1.contains("below this keeper's minimum"),
        "{report:?}"
    );
}
