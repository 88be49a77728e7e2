//! The keeper network, as five real keeper processes with a quorum of three on a real anvil:
//! deterministic assignment, co-signing, takeover after a kill, byzantine keepers, a fabricated
//! event, a quorum that is out of reach for a while, and receipts that wait for finality.

use std::{collections::BTreeMap, time::Duration};

use alloy::{
    node_bindings::AnvilInstance,
    primitives::{Address, B256, Bytes, U256, aliases::U96, keccak256},
    providers::{DynProvider, Provider, ext::AnvilApi},
    rpc::types::Filter,
};
use herald_anvil_tests::{
    KeeperOptions, KeeperProcess, MAX_RUNNER_FEE, Network, OPERATOR_FEE, Receiver, anvil,
    create_trigger, depositor, herald_logs, http_terms, network, order_subscription, price,
    provider_for, sealed_envelope, seed_trigger, settled_receipts, signer, terms,
};
use herald_api::signing::{self, Emission};
use herald_chain::{
    bindings::{Herald, HeraldTestToken},
    receipt::{Receipt, batch_digest, domain, sign_digest},
};
use herald_devnet::NetworkSettings;
use herald_keeper::{
    config::SignAt,
    network::{
        peers::rank,
        protocol::{AttestBody, AttestRequest, Attestable, Domain, EventSource, WireReceipt},
    },
};
use herald_store::{ExecutionKey, ExecutionStatus, Settlement};
use serde_json::Value;

const TOKEN: u64 = 1_000_000_000_000_000_000;
const KEEPERS: usize = 5;
const QUORUM: u8 = 3;
const TRIGGERS: u64 = 6;
/// The trigger created after the chain ones: a subscription to events posted to a keeper's API.
const SUBSCRIPTION: u64 = TRIGGERS + 1;
const TAKEOVER_MS: u64 = 4_000;

/// One five-keeper network at a time: two of them (ten keeper processes and two anvils) on a
/// two-core machine starve each other's co-signing past the takeover timeout, and the timeouts are
/// what these tests are about.
static ONE_NETWORK: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

struct Scene {
    _turn: tokio::sync::MutexGuard<'static, ()>,
    anvil: AnvilInstance,
    net: Network,
    watched: HeraldTestToken::HeraldTestTokenInstance<DynProvider>,
    receiver: Receiver,
    alerts: Receiver,
    keepers: Vec<KeeperProcess>,
}

/// Five registered keepers, quorum three, `TRIGGERS` triggers each matching every transfer of one
/// token, and the keepers started. Each mode in `byzantine` is given to a different keeper, one
/// that performs at least one trigger (so its faults are put to the test).
async fn scene(byzantine: &[&'static str]) -> Scene {
    scene_with(None, byzantine, |_, _, options| options).await
}

/// [`scene`] on an anvil finalizing 2 × `slots_in_an_epoch` blocks behind its head (`None`: the
/// devnet's, final at the head), each keeper's options adjusted by `adjust` (given the network
/// and the keeper's address).
async fn scene_with(
    slots_in_an_epoch: Option<u64>,
    byzantine: &[&'static str],
    adjust: impl Fn(&Network, Address, KeeperOptions) -> KeeperOptions,
) -> Scene {
    let turn = ONE_NETWORK.lock().await;
    let anvil = match slots_in_an_epoch {
        None => anvil(),
        Some(slots) => herald_devnet::spawn_anvil_finalizing(0, slots).expect("anvil starts"),
    };
    let net = network(&anvil, KEEPERS, QUORUM).await;
    let watched = HeraldTestToken::deploy(net.admin.clone())
        .await
        .expect("token");
    let receiver = Receiver::start().await.expect("receiver");
    let alerts = Receiver::start().await.expect("alert receiver");
    let user = depositor(&anvil, &net, 9, U256::from(15 * TOKEN)).await;
    for _ in 0..TRIGGERS {
        create_trigger(
            &user,
            &net,
            terms(),
            U96::from(2 * TOKEN),
            &seed_trigger(*watched.address(), &receiver.url()),
        )
        .await;
    }
    assert_eq!(
        create_trigger(
            &user,
            &net,
            http_terms(),
            U96::from(TOKEN),
            &order_subscription(&receiver.url(), &[emitter().address()]),
        )
        .await,
        SUBSCRIPTION
    );
    let start_block = net.admin.get_block_number().await.expect("head") + 1;
    let mut performers: Vec<Address> = Vec::new();
    for t in 1..=TRIGGERS {
        let first = rank(t, net.keepers.iter().map(|k| k.address()))[0];
        if !performers.contains(&first) {
            performers.push(first);
        }
    }
    assert!(
        performers.len() >= byzantine.len(),
        "{} keepers perform triggers; {} byzantine modes asked for",
        performers.len(),
        byzantine.len()
    );
    let byzantine: Vec<(usize, &'static str)> = byzantine
        .iter()
        .zip(&performers)
        .map(|(mode, keeper)| {
            let index = net
                .keepers
                .iter()
                .position(|k| k.address() == *keeper)
                .expect("a keeper");
            (index, *mode)
        })
        .collect();
    let keepers = net
        .keepers
        .iter()
        .enumerate()
        .map(|(i, signer)| {
            let options = KeeperOptions {
                start_block,
                api_listen: Some(herald_devnet::free_addr(0).expect("a free port")),
                network: NetworkSettings {
                    takeover_timeout_ms: TAKEOVER_MS,
                    heartbeat_interval_ms: 300,
                    offline_after_ms: 1_500,
                    alert_webhook: Some(alerts.url()),
                    alert_after_ms: 3_000,
                    ..NetworkSettings::default()
                },
                ..KeeperOptions::default()
            };
            let options = adjust(&net, signer.address(), options);
            let herald = net.deployment.herald.address;
            match byzantine.iter().find(|(k, _)| *k == i) {
                Some((_, mode)) => {
                    KeeperProcess::start_byzantine(&anvil, herald, signer, &options, mode)
                }
                None => KeeperProcess::start(&anvil, herald, signer, &options),
            }
        })
        .collect();
    let scene = Scene {
        _turn: turn,
        anvil,
        net,
        watched,
        receiver,
        alerts,
        keepers,
    };
    scene.wait_for_endpoints().await;
    scene
}

impl Scene {
    /// The watched token's latest log (the last mint's).
    async fn last_log(&self) -> alloy::rpc::types::Log {
        self.net
            .admin
            .get_logs(&Filter::new().address(*self.watched.address()).from_block(0))
            .await
            .expect("logs")
            .pop()
            .expect("a mint's log")
    }

    fn herald(&self) -> Herald::HeraldInstance<&DynProvider> {
        Herald::new(self.net.deployment.herald.address, &self.net.admin)
    }

    fn logs(&self) -> String {
        self.keepers
            .iter()
            .enumerate()
            .map(|(i, k)| format!("=== keeper {i} ({})\n{}", k.address, k.logs()))
            .collect::<Vec<_>>()
            .join("\n")
    }

    async fn eventually(&self, secs: u64, what: &str, mut check: impl AsyncFnMut() -> bool) {
        let deadline = tokio::time::Instant::now() + Duration::from_secs(secs);
        while tokio::time::Instant::now() < deadline {
            if check().await {
                return;
            }
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
        panic!("timed out waiting for {what}\n{}", self.logs());
    }

    /// Every keeper has set its endpoint in the registry (each does at start).
    async fn wait_for_endpoints(&self) {
        if let Err(e) = self.net.wait_for_endpoints().await {
            panic!("{e}\n{}", self.logs());
        }
        // Let every keeper read the others' endpoint changes.
        tokio::time::sleep(Duration::from_millis(1_500)).await;
    }

    /// Mints `n` transfers, one transaction each.
    async fn mint(&self, n: u64) {
        let token =
            HeraldTestToken::new(*self.watched.address(), provider_for(&self.anvil, 0).await);
        for i in 0..n {
            token
                .mint(signer(&self.anvil, 8).address(), U256::from(100 + i))
                .send()
                .await
                .expect("send")
                .get_receipt()
                .await
                .expect("mint");
        }
    }

    /// Every `ReceiptSettled` so far: (trigger, event id) → times settled.
    async fn settled(&self) -> BTreeMap<(u64, B256), u32> {
        settled_receipts(&self.net.admin, self.net.deployment.herald.address).await
    }

    /// Which keeper performs each trigger, as every keeper computes it.
    fn performers(&self) -> BTreeMap<u64, Address> {
        (1..=TRIGGERS)
            .map(|t| (t, rank(t, self.keepers.iter().map(|k| k.address))[0]))
            .collect()
    }

    fn index_of(&self, keeper: Address) -> usize {
        self.keepers
            .iter()
            .position(|k| k.address == keeper)
            .expect("a keeper")
    }

    /// Keeper `i`'s bond in the registry.
    async fn bond(&self, i: usize) -> U96 {
        self.herald()
            .keeper(self.keepers[i].address)
            .call()
            .await
            .expect("keeper")
            .bond
    }

    async fn claimable(&self, who: Address) -> U256 {
        self.herald()
            .claimable(who)
            .call()
            .await
            .expect("claimable")
    }

    /// What keeper `i` serves at `GET /v1/peers`.
    async fn peers_seen_by(&self, i: usize) -> Vec<Value> {
        let body: Value = reqwest::get(format!("{}/v1/peers", self.api(i)))
            .await
            .expect("GET /v1/peers")
            .json()
            .await
            .expect("json");
        body["peers"].as_array().cloned().unwrap_or_default()
    }

    /// Keeper `i`'s API, `http://…`.
    fn api(&self, i: usize) -> String {
        format!(
            "http://{}",
            self.keepers[i]
                .api_listen
                .expect("the keeper serves its API")
        )
    }

    /// Every (trigger, event) settled exactly once, `expected` in all.
    async fn all_settled_once(&self, expected: usize, secs: u64) -> BTreeMap<(u64, B256), u32> {
        self.eventually(secs, &format!("{expected} receipts settled"), async || {
            self.settled().await.len() >= expected
        })
        .await;
        // A moment for any duplicate to land, if one were coming.
        tokio::time::sleep(Duration::from_millis(1_500)).await;
        let settled = self.settled().await;
        assert_eq!(settled.len(), expected, "{settled:?}");
        assert!(
            settled.values().all(|n| *n == 1),
            "a receipt was paid twice: {settled:?}"
        );
        settled
    }

    /// Defines `order.created` at keeper `at`'s API (signed by the subscription's emitter) and
    /// posts one event of it with `payload`, as its emitter signs it now; returns the emission.
    async fn emit_order(&self, at: usize, payload: &Value) -> Emission {
        let chain_id = self.net.admin.get_chain_id().await.expect("chain id");
        let eip712 = domain(chain_id, self.net.herald());
        let emission = Emission::sign(&emitter(), &eip712, "order.created", payload).expect("sign");
        self.post_order(at, payload, &emission).await;
        emission
    }

    /// Defines `order.created` at keeper `at`'s API and posts the event `emission` signed.
    async fn post_order(&self, at: usize, payload: &Value, emission: &Emission) {
        let store = self.keepers[at].store().await;
        let issued = herald_api::auth::issue("test", herald_store::KeyScope::Write, 6_000);
        store
            .insert_api_key(&issued.key, &issued.hash)
            .await
            .expect("an API key");
        let api = self.api(at);
        let http = reqwest::Client::new();
        let chain_id = self.net.admin.get_chain_id().await.expect("chain id");
        let eip712 = domain(chain_id, self.net.herald());
        let emitter = emitter();
        let definition = serde_json::json!({"name": "order.created"});
        let definition_bytes = serde_json::to_vec(&definition).expect("json");
        for (path, body, headers) in [
            (
                "/v1/event-types",
                definition_bytes.clone(),
                signing::change_headers(
                    &emitter,
                    &eip712,
                    "order.created",
                    signing::DEFINE,
                    &definition_bytes,
                )
                .expect("sign")
                .to_vec(),
            ),
            (
                "/v1/events/order.created",
                serde_json::to_vec(payload).expect("json"),
                emission.headers().to_vec(),
            ),
        ] {
            let mut request = http
                .post(format!("{api}{path}"))
                .bearer_auth(&issued.secret)
                .header("content-type", "application/json")
                .body(body);
            for (name, value) in headers {
                request = request.header(name, value);
            }
            let response = request.send().await.expect("the keeper's API");
            assert!(
                response.status().is_success(),
                "{path}: {}",
                response.status()
            );
        }
    }

    /// Distinct executions delivered, by webhook-id.
    fn delivered_ids(&self) -> BTreeMap<String, usize> {
        let mut ids = BTreeMap::new();
        for r in self.receiver.delivered() {
            *ids.entry(r.header("webhook-id").expect("webhook-id").to_string())
                .or_default() += 1;
        }
        ids
    }
}

fn runner_fee() -> u64 {
    KeeperOptions::default().runner_fee
}

/// Receipts of other keepers that `keepers` co-signed, in all.
async fn co_signatures(keepers: impl IntoIterator<Item = &KeeperProcess>) -> u64 {
    let mut total = 0;
    for keeper in keepers {
        total += keeper
            .store()
            .await
            .network_counts()
            .await
            .expect("counts")
            .1;
    }
    total
}

/// What a keeper earns for one execution it observed and ran: the operator's and runner's fees.
fn keeper_share() -> u64 {
    OPERATOR_FEE + runner_fee().min(MAX_RUNNER_FEE)
}

/// The key the scene's subscription accepts events from.
fn emitter() -> alloy::signers::local::PrivateKeySigner {
    alloy::signers::local::PrivateKeySigner::from_bytes(&B256::repeat_byte(0xe1)).expect("a key")
}

#[tokio::test(flavor = "multi_thread")]
async fn each_execution_runs_once_on_its_assigned_keeper_and_settles_once_with_a_quorum() {
    const EVENTS: u64 = 5;
    let s = scene(&[]).await;
    s.mint(EVENTS).await;
    let expected = (EVENTS * TRIGGERS) as usize;
    let settled = s.all_settled_once(expected, 90).await;

    // Delivered once each: no keeper ran another's execution.
    let ids = s.delivered_ids();
    assert_eq!(ids.len(), expected);
    assert!(ids.values().all(|n| *n == 1), "delivered twice: {ids:?}");

    // Each ran on its assigned keeper: the performer's store has it finished, the others' have it
    // on standby.
    let performers = s.performers();
    for (i, keeper) in s.keepers.iter().enumerate() {
        let store = keeper.store().await;
        for (trigger, event) in settled.keys() {
            let key = herald_store::ExecutionKey {
                trigger_id: *trigger,
                event_id: herald_core::EventId::from_bytes(*event),
            };
            let execution = store.execution(key).await.expect("read").expect("stored");
            if performers[trigger] == keeper.address {
                assert_eq!(
                    execution.status,
                    ExecutionStatus::Succeeded,
                    "keeper {i}, {key}"
                );
                assert!(matches!(
                    store.settlement(key).await.expect("settlement"),
                    Settlement::Settled { .. }
                ));
            } else {
                assert_eq!(
                    execution.status,
                    ExecutionStatus::Standby,
                    "keeper {i}, {key}"
                );
            }
        }
    }

    // Paid by role: each keeper earned operator + runner fees for what it performed.
    let mut performed: BTreeMap<Address, u64> = BTreeMap::new();
    for (trigger, _) in settled.keys() {
        *performed.entry(performers[trigger]).or_default() += 1;
    }
    for keeper in &s.keepers {
        let n = performed.get(&keeper.address).copied().unwrap_or_default();
        assert_eq!(
            s.claimable(keeper.address).await,
            U256::from(n * keeper_share()),
            "keeper {} performed {n}",
            keeper.address
        );
    }
    assert!(
        performed.len() >= 2,
        "the triggers spread over keepers: {performed:?}"
    );

    // Attested by a quorum: every receipt was co-signed by at least two other keepers.
    let attested = co_signatures(&s.keepers).await;
    assert!(
        attested >= 2 * expected as u64,
        "{attested} co-signatures for {expected} receipts"
    );

    // Every keeper sees every other online, with its counts.
    s.eventually(10, "all peers online", async || {
        let peers = s.peers_seen_by(0).await;
        peers.len() == KEEPERS && peers.iter().all(|p| p["online"] == true)
    })
    .await;
    assert!(s.alerts.received().is_empty(), "no keeper went offline");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_killed_keepers_executions_are_taken_over_and_it_shows_offline() {
    const EVENTS: u64 = 6;
    let mut s = scene(&[]).await;
    let performers = s.performers();
    // The keeper performing the most triggers dies after the first events.
    let mut load: BTreeMap<Address, usize> = BTreeMap::new();
    for p in performers.values() {
        *load.entry(*p).or_default() += 1;
    }
    let victim = *load.iter().max_by_key(|(_, n)| **n).expect("a performer").0;
    let victim_index = s.index_of(victim);
    s.mint(2).await;
    s.all_settled_once((2 * TRIGGERS) as usize, 60).await;
    s.keepers[victim_index].kill();
    s.mint(EVENTS - 2).await;

    let expected = (EVENTS * TRIGGERS) as usize;
    s.all_settled_once(expected, 120).await;
    // Each execution delivered; with the same id, if ever twice.
    assert_eq!(s.delivered_ids().len(), expected);
    let watcher = (victim_index + 1) % KEEPERS;
    s.eventually(10, "the killed keeper shown offline", async || {
        s.peers_seen_by(watcher).await.iter().any(|p| {
            p["address"].as_str().map(str::to_lowercase) == Some(victim.to_string().to_lowercase())
                && p["online"] == false
                && p["last_seen"].is_string()
        })
    })
    .await;
    // And the alert fired, naming it.
    s.eventually(15, "the offline alert", async || {
        s.alerts.received().iter().any(|a| {
            a.json()["keeper"].as_str().map(str::to_lowercase)
                == Some(victim.to_string().to_lowercase())
        })
    })
    .await;
    // The takeovers were paid to the next keeper in each ranking, never to the dead one.
    let before = s.claimable(victim).await;
    assert!(
        before > U256::ZERO,
        "it was paid for what it did before it died"
    );
    let victim_triggers = performers.values().filter(|p| **p == victim).count() as u64;
    assert_eq!(
        before,
        U256::from(2 * victim_triggers * keeper_share()),
        "paid only for the two events before the kill"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn byzantine_keepers_cannot_reach_a_quorum_and_an_equivocator_is_slashed() {
    const EVENTS: u64 = 3;
    let s = scene(&["wrong-fee", "wrong-result", "equivocate"]).await;
    let faulty = |mode: &str| {
        s.keepers
            .iter()
            .position(|k| k.byzantine == Some(mode))
            .expect("a keeper in that mode")
    };
    let (wrong_fee, wrong_result, equivocator) = (
        faulty("wrong-fee"),
        faulty("wrong-result"),
        faulty("equivocate"),
    );
    let bond_before = s.bond(equivocator).await;
    let slash = s.herald().slashAmount().call().await.expect("slashAmount");
    s.mint(EVENTS).await;

    // The equivocator's two signed batches reach honest keepers, who prove it on chain.
    s.eventually(60, "the equivocator slashed", async || {
        let logs =
            herald_logs::<Herald::KeeperSlashed>(&s.net.admin, s.net.deployment.herald.address)
                .await;
        !logs.is_empty()
    })
    .await;
    let bond_after = s.bond(equivocator).await;
    assert_eq!(
        U256::from(bond_before) - U256::from(bond_after),
        U256::from(slash.min(bond_before)),
        "the bond is reduced by the slash amount"
    );

    // The honest keepers refused the faulty receipts, each for what was wrong with it.
    for (i, reason) in [
        (wrong_fee, "above the service type's cap"),
        (wrong_result, "does not commit to the request"),
    ] {
        s.eventually(30, reason, async || s.keepers[i].logs().contains(reason))
            .await;
    }

    // Every execution still settles once: what the faulty keepers could not get signed, honest
    // keepers took over. The wrong-fee and wrong-result keepers were never paid.
    let expected = (EVENTS * TRIGGERS) as usize;
    s.all_settled_once(expected, 180).await;
    // Any keeper may be the one that reports the equivocator, faulty ones included: the bounty for
    // that report is theirs, and no pay for work.
    let bounties = |who: Address| {
        let admin = s.net.admin.clone();
        let herald = s.net.deployment.herald.address;
        async move {
            herald_logs::<Herald::KeeperSlashed>(&admin, herald)
                .await
                .iter()
                .filter_map(|l| l.log_decode::<Herald::KeeperSlashed>().ok())
                .filter(|e| e.inner.data.reporter == who)
                .map(|e| e.inner.data.bounty)
                .sum::<U256>()
        }
    };
    for i in [wrong_fee, wrong_result] {
        let address = s.keepers[i].address;
        assert_eq!(
            s.claimable(address).await - bounties(address).await,
            U256::ZERO,
            "byzantine keeper {i} ({}) was paid\n{}",
            s.keepers[i].byzantine.unwrap_or_default(),
            s.logs()
        );
    }
}

/// Security finding 7, the takeover side: a performer that holds chosen events back (here, those
/// in odd blocks) while settling the rest cannot settle past them — co-signers hold back every
/// receipt above an unpaid execution of the trigger — so it stops settling that trigger, counts
/// as not at work on it, and the next keeper takes the held-back events over. Every event settles
/// exactly once, and the censor is paid for none it held back.
#[tokio::test(flavor = "multi_thread")]
async fn a_performer_holding_events_back_is_taken_over_and_every_event_settles_once() {
    const EVENTS: u64 = 4;
    let s = scene(&["censor"]).await;
    let censor = s
        .keepers
        .iter()
        .position(|k| k.byzantine == Some("censor"))
        .expect("the censor");
    let censor_address = s.keepers[censor].address;
    s.mint(EVENTS).await;
    let settled = s.all_settled_once((EVENTS * TRIGGERS) as usize, 120).await;
    assert_eq!(s.delivered_ids().len(), (EVENTS * TRIGGERS) as usize);
    // What the censor was paid for: only events in even blocks of the triggers it performs.
    let censored_triggers = s
        .performers()
        .values()
        .filter(|p| **p == censor_address)
        .count() as u64;
    assert!(censored_triggers > 0);
    let odd_events = settled
        .keys()
        .filter(|(t, _)| *t == 1)
        .filter(|(_, id)| {
            herald_core::EventId::from_bytes(*id)
                .log_position()
                .is_some_and(|at| at.block_number % 2 == 1)
        })
        .count() as u64;
    assert!(odd_events > 0, "some events were in odd blocks");
    let paid = s.claimable(censor_address).await;
    assert!(
        paid <= U256::from((EVENTS - odd_events) * censored_triggers * keeper_share()),
        "the censor was paid for an event it held back: {paid}"
    );
    let taken_over = s
        .keepers
        .iter()
        .enumerate()
        .filter(|(i, _)| *i != censor)
        .any(|(_, k)| k.logs().contains("taking over from a silent peer"));
    assert!(taken_over, "another keeper took the held-back events over");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_fabricated_event_is_never_co_signed() {
    let s = scene(&[]).await;
    let chain_id = s.anvil.chain_id();
    let herald = s.net.deployment.herald.address;
    // The liar is a registered keeper ranked last for trigger 1; the one asked performs it.
    let ranking = rank(1, s.keepers.iter().map(|k| k.address));
    let liar = &s.net.keepers[s.index_of(ranking[KEEPERS - 1])];
    let honest = s.index_of(ranking[0]);
    let honest_address = s.keepers[honest].address;
    // The subscription's owner seals its secrets to every keeper but the liar, before the mint
    // the keepers settle below, so they have read the envelope when they are asked.
    let others: Vec<_> = s
        .net
        .keepers
        .iter()
        .filter(|k| k.address() != liar.address())
        .cloned()
        .collect();
    let envelope = sealed_envelope(
        (chain_id, herald, SUBSCRIPTION),
        &signer(&s.anvil, 9),
        &others,
        &[("api_token", "sk-live-of-the-subscription")],
    )
    .expect("seal");
    Herald::new(herald, &provider_for(&s.anvil, 9).await)
        .setTriggerSecrets(SUBSCRIPTION, envelope.to_bytes().into())
        .send()
        .await
        .expect("send")
        .get_receipt()
        .await
        .expect("setTriggerSecrets");
    s.mint(1).await;
    s.all_settled_once(TRIGGERS as usize, 60).await;
    // A real transaction (the mint), but an event it never emitted: log index 7 of its block.
    let real_tx = s
        .net
        .admin
        .get_logs(&Filter::new().address(*s.watched.address()).from_block(0))
        .await
        .expect("logs")
        .last()
        .and_then(|l| l.transaction_hash)
        .expect("the mint's transaction");
    let block = s.net.admin.get_block_number().await.expect("head");
    let fabricated = |tx_hash: B256, position: u64| {
        let mut event_id = keccak256(b"never happened");
        event_id[..8].copy_from_slice(&position.to_be_bytes());
        event_id[8..16].copy_from_slice(&chain_id.to_be_bytes());
        let result = Bytes::from_static(b"{}\x00\xc8");
        Attestable {
            receipt: WireReceipt {
                trigger_id: 1,
                event_id,
                result_hash: keccak256(&result),
                connector: liar.address(),
                runner: liar.address(),
                runner_fee: U256::from(1),
                executed_at: 1,
                success: true,
            },
            result,
            source: EventSource::Chain { tx_hash },
        }
    };
    let attest_url = format!("{}/v1/peer/attest", s.api(honest));
    // An API event the liar invents and signs itself: a well-formed, fresh, signed event, but its
    // signer is not one of the subscription's emitters (audit finding 3).
    let invented_http = {
        let mut item = fabricated(B256::ZERO, 1);
        let payload = serde_json::json!({"order": "FAKE", "amount": 500});
        let eip712 = domain(chain_id, herald);
        let emission = Emission::sign(liar, &eip712, "order.created", &payload).expect("sign");
        let event = signing::signed_event(
            chain_id,
            liar.address(),
            emission.id,
            "order.created",
            emission.time_ms,
            payload,
            &emission.signature,
        );
        item.receipt.event_id = *event.id.as_bytes();
        item.receipt.trigger_id = SUBSCRIPTION;
        item.receipt.executed_at = emission.time_ms / 1_000;
        item.source = EventSource::Http {
            event: event.to_cloudevent(),
            signature: emission.signature,
        };
        item
    };
    // A real API event from the subscription's emitter, but performed by a keeper the
    // subscription's secrets are not sealed to: it could only have delivered without them.
    let not_a_recipient = {
        let mut item = invented_http.clone();
        let payload = serde_json::json!({"order": "REAL", "amount": 500});
        let emission = Emission::sign(
            &emitter(),
            &domain(chain_id, herald),
            "order.created",
            &payload,
        )
        .expect("sign");
        let event = signing::signed_event(
            chain_id,
            emitter().address(),
            emission.id,
            "order.created",
            emission.time_ms,
            payload,
            &emission.signature,
        );
        item.receipt.event_id = *event.id.as_bytes();
        item.receipt.executed_at = emission.time_ms / 1_000;
        item.source = EventSource::Http {
            event: event.to_cloudevent(),
            signature: emission.signature,
        };
        item
    };
    // A real event, but the liar is not its performer and its takeover time (4 ranks × the
    // timeout after the block) is far off.
    s.mint(1).await;
    let log = s.last_log().await;
    let not_assigned = {
        let mut item = fabricated(B256::ZERO, 0);
        item.receipt.event_id = *mint_event_id(chain_id, &log).as_bytes();
        item.source = EventSource::Chain {
            tx_hash: log.transaction_hash.expect("tx"),
        };
        item
    };
    // The liar's own keeper process also asks the honest keeper to co-sign, and a request not
    // newer than the sender's last is a replay: date these 20 s ahead (within the 60 s the
    // co-signer allows) so the process's concurrent requests cannot overtake them.
    let mut issued_at = jiff::Timestamp::now().as_millisecond() as u64 + 20_000;
    for (what, expected_reason, item) in [
        (
            "a transaction that does not exist",
            "transaction",
            fabricated(B256::repeat_byte(0x42), block << 28),
        ),
        (
            "a log the transaction does not have",
            "transaction",
            fabricated(real_tx, (block << 28) | 7),
        ),
        (
            "an API event a keeper invented, signed by a key the subscription does not name",
            "does not accept events signed by",
            invented_http,
        ),
        (
            "an API event performed by a keeper the subscription is not sealed to",
            "secrets are sealed to",
            not_a_recipient,
        ),
        (
            "a real event assigned to another keeper, before its takeover time",
            "is assigned to",
            not_assigned,
        ),
    ] {
        let receipts: Vec<Receipt> = vec![item.receipt.to_receipt().expect("fits")];
        let digest = batch_digest(&domain(chain_id, herald), &receipts);
        issued_at += 1;
        let request = AttestRequest::new(
            liar,
            Domain { chain_id, herald },
            honest_address,
            issued_at,
            &AttestBody {
                receipts: vec![item],
                batch_signature: sign_digest(liar, &digest).expect("sign").1,
            },
        )
        .expect("sign");
        let response = post_attest(&attest_url, &request).await;
        let status = response.status();
        let body: Value = response.json().await.expect("json");
        assert_eq!(status, 422, "{what}: {body}");
        assert!(
            body.get("signature").is_none(),
            "{what}: signed anyway: {body}"
        );
        assert!(
            body["receipts"][0][1]
                .as_str()
                .is_some_and(|r| r.contains(expected_reason)),
            "{what}: the reason names the evidence: {body}"
        );

        // The same request again is a replay, refused before anything is checked.
        let again = post_attest(&attest_url, &request).await;
        let body: Value = again.json().await.expect("json");
        assert!(
            body["error"]
                .as_str()
                .is_some_and(|e| e.contains("replayed")),
            "{body}"
        );
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn receipts_wait_while_the_quorum_is_out_of_reach_and_settle_when_keepers_return() {
    const EVENTS: u64 = 3;
    let mut s = scene(&[]).await;
    for i in 2..KEEPERS {
        s.keepers[i].kill();
    }
    s.mint(EVENTS).await;
    // Long enough for every takeover to have happened, and for nothing to settle.
    tokio::time::sleep(Duration::from_millis(3 * TAKEOVER_MS)).await;
    assert!(s.settled().await.is_empty(), "settled without a quorum");
    let live_executions: usize = {
        let mut n = 0;
        for i in 0..2 {
            let store = s.keepers[i].store().await;
            n += store
                .execution_counts()
                .await
                .expect("counts")
                .iter()
                .filter(|(status, _, _)| status == "succeeded")
                .map(|(_, _, n)| *n as usize)
                .sum::<usize>();
        }
        n
    };
    assert!(
        live_executions > 0,
        "the live keepers ran what they could\n{}",
        s.logs()
    );

    for i in 2..KEEPERS {
        s.keepers[i].restart();
    }
    let expected = (EVENTS * TRIGGERS) as usize;
    s.all_settled_once(expected, 120).await;
    assert_eq!(s.delivered_ids().len(), expected, "nothing lost");
    let bps = s
        .herald()
        .params()
        .call()
        .await
        .expect("params")
        .protocolFeeBps;
    let (each, _) = price(runner_fee(), true, bps);
    let mut budgets = U256::ZERO;
    for t in 1..=TRIGGERS {
        budgets += U256::from(
            s.herald()
                .trigger(t)
                .call()
                .await
                .expect("trigger")
                .ledger
                .budget,
        );
    }
    assert_eq!(
        budgets,
        U256::from(TRIGGERS * 2 * TOKEN - expected as u64 * each),
        "each execution paid once"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn an_event_posted_to_one_keeper_is_co_signed_by_its_peers_and_settled_once() {
    let s = scene(&[]).await;
    s.emit_order(0, &serde_json::json!({"order": "A-1", "amount": 500}))
        .await;

    // Only keeper 0 saw the event: its peers checked its emitter's signature on it, that the
    // subscription names that emitter, matched it in their own trigger sets, and co-signed.
    s.eventually(60, "the API event settled", async || {
        s.settled().await.keys().any(|(t, _)| *t == SUBSCRIPTION)
    })
    .await;
    let settled = s.settled().await;
    assert_eq!(
        settled
            .iter()
            .filter(|((t, _), _)| *t == SUBSCRIPTION)
            .map(|(_, n)| n)
            .sum::<u32>(),
        1
    );
    let delivered = s.receiver.delivered();
    assert_eq!(delivered.len(), 1);
    assert_eq!(delivered[0].json()["data"]["arguments"]["order"], "A-1");
    assert_eq!(
        s.claimable(s.keepers[0].address).await,
        U256::from(keeper_share()),
        "the keeper it was posted to observed and ran it"
    );
    let attested = co_signatures(&s.keepers[1..]).await;
    assert!(attested >= u64::from(QUORUM) - 1, "co-signed by {attested}");
}

/// Only the keepers a sealed subscription's envelope names can perform it, and an emitter may post
/// to any keeper. Keeper 0, which the subscription is not sealed to, used to skip the event, and
/// it was lost; now it relays the emitter-signed event to the recipient, which checks it as a
/// co-signer would, performs it with the credentials only it can open, and settles it once.
#[tokio::test(flavor = "multi_thread")]
async fn an_event_posted_to_a_keeper_the_subscription_is_not_sealed_to_is_relayed_and_settled() {
    let s = scene(&[]).await;
    let (chain_id, herald) = (s.anvil.chain_id(), s.net.herald());
    let recipient = 1;
    let envelope = sealed_envelope(
        (chain_id, herald, SUBSCRIPTION),
        &signer(&s.anvil, 9),
        &[s.net.keepers[recipient].clone()],
        &[("api_token", "sk-live-of-the-subscription")],
    )
    .expect("seal");
    let sealed_at = Herald::new(herald, &provider_for(&s.anvil, 9).await)
        .setTriggerSecrets(SUBSCRIPTION, envelope.to_bytes().into())
        .send()
        .await
        .expect("send")
        .get_receipt()
        .await
        .expect("setTriggerSecrets")
        .block_number
        .expect("mined");
    // Both have read the envelope before the event is posted.
    let stream = format!("eip155:{chain_id}");
    let stores = [
        s.keepers[0].store().await,
        s.keepers[recipient].store().await,
    ];
    s.eventually(30, "both keepers read the envelope", async || {
        for store in &stores {
            let cursor = store.cursor(&stream).await.expect("cursor");
            if cursor.is_none_or(|c| c.block < sealed_at) {
                return false;
            }
        }
        true
    })
    .await;

    let payload = serde_json::json!({"order": "A-2", "amount": 700});
    let emission = s.emit_order(0, &payload).await;
    s.eventually(60, "the relayed event settled", async || {
        s.settled().await.keys().any(|(t, _)| *t == SUBSCRIPTION)
    })
    .await;
    tokio::time::sleep(Duration::from_millis(1_000)).await;
    let settled = s.settled().await;
    assert_eq!(
        settled
            .iter()
            .filter(|((t, _), _)| *t == SUBSCRIPTION)
            .count(),
        1,
        "settled once: {settled:?}"
    );
    let delivered = s.receiver.delivered();
    assert_eq!(delivered.len(), 1, "delivered once");
    assert_eq!(delivered[0].json()["data"]["arguments"]["order"], "A-2");
    assert_eq!(
        s.claimable(s.keepers[recipient].address).await,
        U256::from(keeper_share()),
        "the recipient ran it"
    );
    assert_eq!(s.claimable(s.keepers[0].address).await, U256::ZERO);
    let relayed = stores[0]
        .executions(&herald_store::ExecutionFilter {
            trigger_id: Some(SUBSCRIPTION),
            limit: 10,
            ..herald_store::ExecutionFilter::default()
        })
        .await
        .expect("executions");
    let detail = relayed.items[0]
        .execution
        .detail
        .clone()
        .unwrap_or_default();
    assert!(
        detail.contains(&format!("relayed to {}", s.keepers[recipient].address)),
        "keeper 0 says where the event went: {detail}"
    );

    // The relay route, as an attacker would try it.
    use herald_keeper::network::protocol::{PeerHeaders, RELAY, RelayBody};
    let (event, _) = stores[0]
        .event(&relayed.items[0].execution.key.event_id)
        .await
        .expect("store")
        .expect("keeper 0 keeps the event");
    let peer_domain = Domain { chain_id, herald };
    let to = s.keepers[recipient].address;
    let relay = async |from: &alloy::signers::local::PrivateKeySigner,
                       kind: &str,
                       body: &RelayBody| {
        let body = serde_json::to_vec(body).expect("json");
        let now = jiff::Timestamp::now().as_millisecond() as u64;
        let headers = PeerHeaders::signed(from, peer_domain, kind, to, now, &body).expect("sign");
        let response = reqwest::Client::new()
            .post(format!("{}/v1/peer/event", s.api(recipient)))
            .headers(headers.to_header_map())
            .body(body)
            .send()
            .await
            .expect("the recipient's peer route");
        (
            response.status().as_u16(),
            response.text().await.expect("text"),
        )
    };
    let genuine = RelayBody {
        event: event.to_cloudevent(),
        signature: signing::signature_of(&event).expect("the emitter's signature"),
        triggers: vec![SUBSCRIPTION],
    };
    let stranger = alloy::signers::local::PrivateKeySigner::random();
    let (status, text) = relay(&stranger, RELAY, &genuine).await;
    assert_eq!(status, 401, "a stranger is refused: {text}");
    assert!(text.contains("not a registered keeper"), "{text}");
    let keeper_2 = &s.net.keepers[2];
    let (status, text) = relay(keeper_2, herald_keeper::network::protocol::ATTEST, &genuine).await;
    assert_eq!(
        status, 401,
        "a signature for another kind of request: {text}"
    );
    // An event its emitter never signed: the payload changed under the signature.
    let mut forged = genuine.clone();
    forged.event["data"]["order"] = "A-FORGED".into();
    let (status, text) = relay(keeper_2, RELAY, &forged).await;
    assert_eq!(status, 422, "a forged event is refused for good: {text}");
    // Trigger 1 is a chain trigger: no relay makes it run on an API event.
    let other = RelayBody {
        triggers: vec![1],
        ..genuine.clone()
    };
    let (status, text) = relay(keeper_2, RELAY, &other).await;
    assert_eq!(status, 422, "{text}");
    // The genuine relay again, from another keeper: answered, recorded once, performed once.
    let (status, text) = relay(keeper_2, RELAY, &genuine).await;
    assert_eq!(status, 200, "{text}");
    // The emitter posts the same event to the recipient too: not a duplicate of the relay.
    s.post_order(recipient, &payload, &emission).await;
    tokio::time::sleep(Duration::from_millis(1_500)).await;
    assert_eq!(
        s.receiver.delivered().len(),
        1,
        "a relay sent twice, and the event posted to the recipient too, runs once"
    );
}

/// Fraud challenges slash every signer of a receipt whose log cannot be proven, and a reorg deeper
/// than the confirmation depth removes logs: a keeper signs a receipt of a chain log only once its
/// block is at or below its node's finalized block, as performer and as co-signer, while the
/// webhook runs at once. This anvil finalizes four blocks behind its head. Trigger 1's performer
/// signs at the confirmation depth (`sign_at = "depth"`: as a keeper whose node runs ahead would
/// ask early): the others answer "not yet" until the block is final, then co-sign.
#[tokio::test(flavor = "multi_thread")]
async fn receipts_of_a_log_are_signed_only_once_its_block_is_final() {
    const FINALITY_LAG: u64 = 4;
    let hasty_for = |net: &Network| rank(1, net.keepers.iter().map(|k| k.address()))[0];
    let s = scene_with(Some(FINALITY_LAG / 2), &[], |net, keeper, options| {
        KeeperOptions {
            sign_at: if keeper == hasty_for(net) {
                SignAt::Depth
            } else {
                SignAt::Finalized
            },
            ..options
        }
    })
    .await;
    let hasty = s.performers()[&1];
    let careful: Vec<(u64, Address)> = s
        .performers()
        .into_iter()
        .filter(|(_, performer)| *performer != hasty)
        .collect();
    assert!(
        !careful.is_empty(),
        "a trigger performed by a careful keeper"
    );

    s.mint(1).await;
    let log = s.last_log().await;
    let block = log.block_number.expect("block");
    s.eventually(30, "every trigger's webhook, before finality", async || {
        s.delivered_ids().len() == TRIGGERS as usize
    })
    .await;
    let hasty_keeper = &s.keepers[s.index_of(hasty)];
    let not_yet = format!("block {block} is not final yet");
    s.eventually(
        30,
        "the co-signers' answer to the hasty performer",
        async || hasty_keeper.logs().contains(&not_yet) || !s.settled().await.is_empty(),
    )
    .await;
    // A moment in which keepers signing at the depth would have settled everything, and past the
    // first standbys' takeover time: nobody can settle before finality, so a keeper that waits for
    // it starts its takeover clock then, and runs nothing again meanwhile (the hasty one, judging
    // by the depth, may).
    tokio::time::sleep(Duration::from_millis(TAKEOVER_MS + 2_000)).await;
    for keeper in s.keepers.iter().filter(|k| k.address != hasty) {
        assert!(
            !keeper.logs().contains("taking over"),
            "keeper {} took an execution over before finality\n{}",
            keeper.address,
            s.logs()
        );
    }
    assert!(
        s.settled().await.is_empty(),
        "settled before finality\n{}",
        s.logs()
    );
    let finalized = s
        .net
        .admin
        .get_block_by_number(alloy::eips::BlockNumberOrTag::Finalized)
        .await
        .expect("finalized")
        .expect("anvil serves it")
        .header
        .number;
    assert!(finalized < block, "still not final: {finalized} < {block}");

    // The performers that wait for finality signed nothing of their own yet.
    let event_id = mint_event_id(s.anvil.chain_id(), &log);
    for (trigger_id, performer) in &careful {
        let key = ExecutionKey {
            trigger_id: *trigger_id,
            event_id,
        };
        let store = s.keepers[s.index_of(*performer)].store().await;
        let signed = store
            .signed_receipts(&performer.to_string(), &[key])
            .await
            .expect("signed receipts");
        assert!(
            signed.is_empty(),
            "trigger {trigger_id}'s performer signed before finality\n{}",
            s.logs()
        );
    }
    // The co-signers refused the hasty performer's receipts "not yet", naming both blocks.
    let careful_keepers = || s.keepers.iter().filter(|k| k.address != hasty);
    assert_eq!(
        co_signatures(careful_keepers()).await,
        0,
        "co-signed before finality\n{}",
        s.logs()
    );
    let logs = hasty_keeper.logs();
    assert!(
        logs.contains(&format!(
            "{not_yet} (the node's finalized block is {finalized})"
        )),
        "the refusal names the block and the finalized block\n{logs}"
    );

    s.net
        .admin
        .anvil_mine(Some(FINALITY_LAG), None)
        .await
        .expect("mine past finality");
    s.all_settled_once(TRIGGERS as usize, 60).await;
    assert!(
        co_signatures(careful_keepers()).await >= u64::from(QUORUM) - 1,
        "co-signed once final"
    );
}

/// Settlement remembers only a trigger's latest pause. A receipt executed inside an *earlier* pause
/// (paused, resumed, paused and resumed again) would be paid if co-signers judged the trigger's
/// current state, as they did: they judge every pause at the execution time now.
#[tokio::test(flavor = "multi_thread")]
async fn an_execution_inside_an_earlier_pause_is_never_co_signed() {
    let s = scene(&[]).await;
    let owner = herald_anvil_tests::provider_for(&s.anvil, 9).await;
    let herald = Herald::new(s.net.deployment.herald.address, owner);
    // A second apart, as block times count: the mint falls strictly inside the first pause. Wall
    // time, not anvil's clock: co-signers judge event times against their own clocks.
    let later = async || tokio::time::sleep(Duration::from_millis(1_100)).await;
    mined(herald.pauseTrigger(1)).await;
    later().await;
    s.mint(1).await;
    let log = s.last_log().await;
    later().await;
    mined(herald.resumeTrigger(1)).await;
    later().await;
    mined(herald.pauseTrigger(1)).await;
    later().await;
    mined(herald.resumeTrigger(1)).await;
    let block = log.block_number.expect("block");
    let minted_at = s
        .net
        .admin
        .get_block_by_number(block.into())
        .await
        .expect("block")
        .expect("mined")
        .header
        .timestamp;

    // The performer trigger 1 had at the mint asks a peer to co-sign an execution at the mint's
    // time: inside the first pause, which settlement has forgotten.
    let chain_id = s.anvil.chain_id();
    let herald_address = s.net.deployment.herald.address;
    let ranking = rank(1, s.keepers.iter().map(|k| k.address));
    let performer = &s.net.keepers[s.index_of(ranking[0])];
    let peer = s.index_of(ranking[1]);
    let event_id = mint_event_id(chain_id, &log);
    let result = Bytes::from_static(b"{}\x00\xc8");
    let item = Attestable {
        receipt: WireReceipt {
            trigger_id: 1,
            event_id: *event_id.as_bytes(),
            result_hash: keccak256(&result),
            connector: performer.address(),
            runner: performer.address(),
            runner_fee: U256::from(1),
            executed_at: minted_at,
            success: true,
        },
        result,
        source: EventSource::Chain {
            tx_hash: log.transaction_hash.expect("tx"),
        },
    };
    let receipts: Vec<Receipt> = vec![item.receipt.to_receipt().expect("fits")];
    let digest = batch_digest(&domain(chain_id, herald_address), &receipts);
    // Dated ahead (within the co-signer's allowance) so the performer's own requests, which the
    // peer orders by time, cannot overtake it.
    let request = AttestRequest::new(
        performer,
        Domain {
            chain_id,
            herald: herald_address,
        },
        s.keepers[peer].address,
        jiff::Timestamp::now().as_millisecond() as u64 + 20_000,
        &AttestBody {
            receipts: vec![item],
            batch_signature: sign_digest(performer, &digest).expect("sign").1,
        },
    )
    .expect("sign");
    let response = post_attest(&format!("{}/v1/peer/attest", s.api(peer)), &request).await;
    let status = response.status();
    let body: Value = response.json().await.expect("json");
    assert_eq!(status, 422, "{body}");
    assert!(body.get("signature").is_none(), "signed anyway: {body}");
    assert!(
        body["receipts"][0][1]
            .as_str()
            .is_some_and(|r| r.contains("inside a pause of trigger 1")),
        "the reason names the pause: {body}"
    );
}

/// The event id of a mint's log on chain `chain_id` (a mint emits one log, index 0 in its
/// transaction), as keepers compute it.
fn mint_event_id(chain_id: u64, log: &alloy::rpc::types::Log) -> herald_core::EventId {
    herald_core::EventId::from_log(
        herald_core::LogPosition {
            chain_id,
            block_number: log.block_number.expect("block"),
            tx_index: log.transaction_index.expect("index"),
            log_index_in_tx: 0,
        },
        log.block_hash.expect("hash"),
        herald_connectors::evm::log_hash(log.address(), log.data()),
    )
    .expect("fits")
}

/// Sends a call and waits for it to be mined.
async fn mined<D: alloy::contract::CallDecoder>(
    call: alloy::contract::CallBuilder<&DynProvider, D>,
) {
    call.send()
        .await
        .expect("send")
        .get_receipt()
        .await
        .expect("mined");
}

/// Posts a co-signing request as a performer does: its peer headers and its exact body.
async fn post_attest(url: &str, request: &AttestRequest) -> reqwest::Response {
    reqwest::Client::new()
        .post(url)
        .headers(request.headers.to_header_map())
        .body(request.body.clone())
        .send()
        .await
        .expect("POST /v1/peer/attest")
}

/// A request's peer headers, as name and value.
fn peer_headers(request: &AttestRequest) -> Vec<(String, String)> {
    request
        .headers
        .to_header_map()
        .iter()
        .filter(|(name, _)| *name != "content-type")
        .map(|(name, value)| (name.to_string(), value.to_str().expect("text").to_string()))
        .collect()
}

/// Opens a connection and sends `POST /v1/peer/attest` with `headers`, declaring a body of
/// `declared` bytes but sending only `sent` of them. The connection stays open: the rest of the
/// body never comes.
async fn partial_attest(
    addr: std::net::SocketAddr,
    headers: &[(String, String)],
    declared: usize,
    sent: usize,
) -> tokio::net::TcpStream {
    use tokio::io::AsyncWriteExt;
    let mut stream = tokio::net::TcpStream::connect(addr).await.expect("connect");
    let mut head = format!(
        "POST /v1/peer/attest HTTP/1.1\r\nhost: {addr}\r\ncontent-type: application/json\r\n\
         content-length: {declared}\r\n"
    );
    for (name, value) in headers {
        head.push_str(&format!("{name}: {value}\r\n"));
    }
    head.push_str("\r\n");
    stream.write_all(head.as_bytes()).await.expect("head");
    // The server may answer and close before these arrive: that is the point.
    let _ = stream.write_all(&vec![b'['; sent]).await;
    let _ = stream.flush().await;
    stream
}

/// The status and text of the answer on `stream`, if one starts within `wait`.
async fn answer_on(stream: &mut tokio::net::TcpStream, wait: Duration) -> Option<(u16, String)> {
    use tokio::io::AsyncReadExt;
    let mut text = Vec::new();
    let mut chunk = [0u8; 4096];
    let deadline = tokio::time::Instant::now() + wait;
    loop {
        let patience = if text.is_empty() {
            deadline.saturating_duration_since(tokio::time::Instant::now())
        } else {
            Duration::from_millis(300)
        };
        match tokio::time::timeout(patience, stream.read(&mut chunk)).await {
            Ok(Ok(n)) if n > 0 => text.extend_from_slice(&chunk[..n]),
            _ => break,
        }
    }
    let text = String::from_utf8_lossy(&text).to_string();
    let status = text.split(' ').nth(1)?.parse().ok()?;
    Some((status, text))
}

/// A receipt no honest keeper would sign (its transaction does not exist), from `performer`.
fn bogus(performer: Address, n: u64) -> Attestable {
    let mut event_id = keccak256(n.to_be_bytes());
    event_id[..8].copy_from_slice(&(n << 28).to_be_bytes());
    let result = Bytes::from_static(b"{}\x00\xc8");
    Attestable {
        receipt: WireReceipt {
            trigger_id: 1,
            event_id,
            result_hash: keccak256(&result),
            connector: performer,
            runner: performer,
            runner_fee: U256::from(1),
            executed_at: 1,
            success: true,
        },
        result,
        source: EventSource::Chain {
            tx_hash: B256::repeat_byte(0x42),
        },
    }
}

/// Finding 11: the peer API is no longer a way to make a keeper parse, store or look up what
/// anyone sends. A stranger's 16 MiB body is refused before it is read (the answer comes while
/// most of it was never sent); so is a declared body over the cap, even in an active keeper's
/// name; slow senders hold at most a few slots, and the next request is told to come back; a
/// batch over the receipt cap is refused; an inactive keeper is refused unread; and a batch that
/// fails its checks is not kept.
#[tokio::test(flavor = "multi_thread")]
async fn the_peer_api_refuses_what_it_cannot_authenticate_before_reading_it() {
    use herald_keeper::network::{
        attest::MAX_CONCURRENT_ATTESTS,
        protocol::{MAX_ATTEST_BODY, MAX_RECEIPTS_PER_REQUEST, PEER_PROTOCOL_VERSION},
    };
    const HUGE: usize = 16 * 1024 * 1024;
    let s = scene(&[]).await;
    let peer_domain = Domain {
        chain_id: s.anvil.chain_id(),
        herald: s.net.deployment.herald.address,
    };
    let ranking = rank(1, s.keepers.iter().map(|k| k.address));
    let honest = s.index_of(ranking[0]);
    let honest_address = s.keepers[honest].address;
    let addr = s.keepers[honest]
        .api_listen
        .expect("the keeper serves its API");
    let attest_url = format!("{}/v1/peer/attest", s.api(honest));
    let active = &s.net.keepers[s.index_of(ranking[1])];
    let retiring = &s.net.keepers[s.index_of(ranking[KEEPERS - 1])];
    let store = s.keepers[honest].store().await;
    // Dated ahead (within the allowed skew) and increasing, so none is taken for a replay.
    let mut issued_at = jiff::Timestamp::now().as_millisecond() as u64 + 20_000;
    let mut next_time = || {
        issued_at += 1;
        issued_at
    };
    let signed = |from: &alloy::signers::local::PrivateKeySigner, items: Vec<Attestable>, at| {
        let receipts: Vec<Receipt> = items
            .iter()
            .map(|a| a.receipt.to_receipt().expect("fits"))
            .collect();
        let digest = batch_digest(&domain(peer_domain.chain_id, peer_domain.herald), &receipts);
        let request = AttestRequest::new(
            from,
            peer_domain,
            honest_address,
            at,
            &AttestBody {
                receipts: items,
                batch_signature: sign_digest(from, &digest).expect("sign").1,
            },
        )
        .expect("sign");
        (request, digest)
    };

    // No credentials at all: 401 while 16 MiB minus 1 KiB of the body were never sent.
    let version = vec![(
        "herald-peer-version".to_string(),
        PEER_PROTOCOL_VERSION.to_string(),
    )];
    let mut conn = partial_attest(addr, &version, HUGE, 1024).await;
    let (status, text) = answer_on(&mut conn, Duration::from_secs(5))
        .await
        .expect("answered before the body was sent");
    assert_eq!(status, 401, "{text}");
    assert!(text.contains("no herald-peer-from header"), "{text}");

    // Well-formed headers from a key that is not a registered keeper: the same.
    let stranger = alloy::signers::local::PrivateKeySigner::random();
    let (forged, _) = signed(&stranger, vec![bogus(stranger.address(), 1)], next_time());
    let mut conn = partial_attest(addr, &peer_headers(&forged), HUGE, 1024).await;
    let (status, text) = answer_on(&mut conn, Duration::from_secs(5))
        .await
        .expect("answered before the body was sent");
    assert_eq!(status, 401, "{text}");
    assert!(text.contains("not a registered keeper"), "{text}");

    // An active keeper's name (anyone can write it; the signature can only be checked against
    // the body): a declared body over the cap is refused unread.
    let (claims_active, _) = signed(active, vec![bogus(active.address(), 2)], next_time());
    let mut conn = partial_attest(addr, &peer_headers(&claims_active), HUGE, 1024).await;
    let (status, text) = answer_on(&mut conn, Duration::from_secs(5))
        .await
        .expect("answered before the body was sent");
    assert_eq!(status, 413, "{text}");
    assert!(text.contains(&MAX_ATTEST_BODY.to_string()), "{text}");

    // Slow senders in that name take every slot; the next request is told to come back.
    let mut slow = Vec::new();
    for _ in 0..MAX_CONCURRENT_ATTESTS {
        slow.push(partial_attest(addr, &peer_headers(&claims_active), 1_000, 10).await);
    }
    tokio::time::sleep(Duration::from_millis(500)).await;
    let mut conn = partial_attest(addr, &peer_headers(&claims_active), 1_000, 10).await;
    let (status, text) = answer_on(&mut conn, Duration::from_secs(5))
        .await
        .expect("answered at once");
    assert_eq!(status, 429, "{text}");
    drop(slow);
    drop(conn);

    // A batch over the receipt cap, signed by an active keeper: refused, and not kept.
    let items: Vec<Attestable> = (0..=MAX_RECEIPTS_PER_REQUEST as u64)
        .map(|n| bogus(active.address(), 100 + n))
        .collect();
    let mut answered = None;
    for _ in 0..20 {
        let (request, digest) = signed(active, items.clone(), next_time());
        let response = post_attest(&attest_url, &request).await;
        if response.status() != 429 {
            answered = Some((
                response.status(),
                // The start names the cap; the rest is a reason per receipt.
                response
                    .text()
                    .await
                    .expect("text")
                    .chars()
                    .take(400)
                    .collect::<String>(),
                digest,
            ));
            break;
        }
        // The slow senders' slots are being given back.
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
    let (status, text, digest) = answered.expect("a free slot");
    assert_eq!(status, 413, "{text}");
    assert!(
        text.contains(&format!("at most {MAX_RECEIPTS_PER_REQUEST} per request")),
        "{text}"
    );
    assert!(
        store
            .peer_batch(&active.address().to_string(), &digest.to_string())
            .await
            .expect("read")
            .is_none(),
        "an over-cap batch is not kept"
    );

    // A batch an active keeper signed that fails its checks: refused, and not kept.
    let (request, digest) = signed(active, vec![bogus(active.address(), 5)], next_time());
    let response = post_attest(&attest_url, &request).await;
    let status = response.status();
    let text = response.text().await.expect("text");
    assert_eq!(status, 422, "{text}");
    assert!(
        store
            .peer_batch(&active.address().to_string(), &digest.to_string())
            .await
            .expect("read")
            .is_none(),
        "only batches that checked out are kept"
    );

    // A keeper that asked to unbond is registered but no longer active: refused unread (403),
    // and nothing of its request is kept.
    Herald::new(
        peer_domain.herald,
        provider_for(&s.anvil, 3 + s.index_of(retiring.address())).await,
    )
    .requestUnbond(retiring.address())
    .send()
    .await
    .expect("requestUnbond")
    .get_receipt()
    .await
    .expect("mined");
    s.eventually(30, "the unbonding keeper seen inactive", async || {
        s.peers_seen_by(honest).await.iter().any(|p| {
            p["address"].as_str().map(str::to_lowercase)
                == Some(retiring.address().to_string().to_lowercase())
                && p["active"] == false
        })
    })
    .await;
    let (request, digest) = signed(retiring, vec![bogus(retiring.address(), 6)], next_time());
    let mut conn = partial_attest(addr, &peer_headers(&request), HUGE, 1024).await;
    let (status, text) = answer_on(&mut conn, Duration::from_secs(5))
        .await
        .expect("answered before the body was sent");
    assert_eq!(status, 403, "{text}");
    assert!(text.contains("not an active keeper"), "{text}");
    let response = post_attest(&attest_url, &request).await;
    assert_eq!(response.status(), 403);
    assert!(
        store
            .peer_batch(&retiring.address().to_string(), &digest.to_string())
            .await
            .expect("read")
            .is_none(),
        "nothing of an inactive keeper's request is kept"
    );
}
