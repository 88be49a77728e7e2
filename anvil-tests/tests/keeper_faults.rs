//! The keeper under faults, each against a real anvil, the real contracts, the real keeper process
//! and a real receiver: SIGKILLs mid-stream, a reorg, a trigger created mid-read, a receiver that
//! is down or always failing, and a trigger that cannot pay.

use std::{
    collections::{BTreeMap, HashSet},
    time::Duration,
};

use alloy::{
    node_bindings::AnvilInstance,
    primitives::{B256, U256, aliases::U96},
    providers::{DynProvider, Provider, ext::AnvilApi},
};
use herald_anvil_tests::{
    KeeperOptions, KeeperProcess, Network, Receiver, anvil, create_trigger, depositor, eventually,
    network, price, provider_for, seed_trigger, settled_receipts, signer, terms,
};
use herald_chain::bindings::{Herald, HeraldTestToken};
use herald_store::{ExecutionKey, ExecutionStatus, Settlement};

const TOKEN: u64 = 1_000_000_000_000_000_000;

struct Scene {
    anvil: AnvilInstance,
    net: Network,
    watched: HeraldTestToken::HeraldTestTokenInstance<DynProvider>,
    receiver: Receiver,
    user: DynProvider,
}

/// A network, a watched token, a receiver, and a user with `deposit` tokens in escrow.
async fn scene(deposit: u64) -> Scene {
    let anvil = anvil();
    let net = network(&anvil, 1, 1).await;
    let watched = HeraldTestToken::deploy(net.admin.clone())
        .await
        .expect("token");
    let receiver = Receiver::start().await.expect("receiver");
    let user = depositor(&anvil, &net, 9, U256::from(deposit)).await;
    Scene {
        anvil,
        net,
        watched,
        receiver,
        user,
    }
}

impl Scene {
    async fn trigger(&self, budget: u64) {
        create_trigger(
            &self.user,
            &self.net,
            terms(),
            U96::from(budget),
            &seed_trigger(*self.watched.address(), &self.receiver.url()),
        )
        .await;
    }

    fn keeper(&self, options: KeeperOptions) -> KeeperProcess {
        KeeperProcess::start(
            &self.anvil,
            self.net.deployment.herald.address,
            &self.net.keepers[0],
            &options,
        )
    }

    async fn head(&self) -> u64 {
        self.net.admin.get_block_number().await.expect("head")
    }

    /// Mints through a fresh provider: after a revert, a provider's cached nonce is stale.
    async fn mint(&self, amount: u64) {
        HeraldTestToken::new(*self.watched.address(), provider_for(&self.anvil, 0).await)
            .mint(signer(&self.anvil, 5).address(), U256::from(amount))
            .send()
            .await
            .expect("send")
            .with_timeout(Some(Duration::from_secs(30)))
            .get_receipt()
            .await
            .expect("mint");
    }

    fn herald(&self) -> Herald::HeraldInstance<&DynProvider> {
        Herald::new(self.net.deployment.herald.address, &self.net.admin)
    }

    async fn executions(&self, trigger: u64) -> u32 {
        self.herald()
            .trigger(trigger)
            .call()
            .await
            .expect("trigger")
            .ledger
            .executions
    }

    /// Every `ReceiptSettled` so far: (trigger, event id) → times settled.
    async fn settled(&self) -> BTreeMap<(u64, B256), u32> {
        settled_receipts(&self.net.admin, self.net.deployment.herald.address).await
    }
}

fn fast() -> KeeperOptions {
    KeeperOptions::default()
}

#[tokio::test(flavor = "multi_thread")]
async fn sigkill_three_times_mid_stream_loses_nothing_and_pays_nothing_twice() {
    const EVENTS: u64 = 200;
    let s = scene(5 * TOKEN).await;
    s.trigger(4 * TOKEN).await;
    let mut keeper = s.keeper(KeeperOptions {
        start_block: s.head().await + 1,
        ..fast()
    });

    // Stream the events from another task while the keeper is killed and restarted.
    let watched = s.watched.clone();
    let to = signer(&s.anvil, 5).address();
    let stream = tokio::spawn(async move {
        for i in 0..EVENTS {
            watched
                .mint(to, U256::from(11 + i))
                .send()
                .await
                .expect("send")
                .with_timeout(Some(Duration::from_secs(30)))
                .get_receipt()
                .await
                .expect("mint");
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
    });
    // Kill points spread over the stream and the settlement that follows it, varied per run.
    let jitter = u64::from(std::process::id() % 200);
    for (n, wait_ms) in [300 + jitter, 500, 700 + jitter].into_iter().enumerate() {
        tokio::time::sleep(Duration::from_millis(wait_ms)).await;
        keeper.kill();
        tokio::time::sleep(Duration::from_millis(100 * n as u64)).await;
        keeper.restart();
    }
    stream.await.expect("stream");

    eventually(90, &keeper, "200 settled executions", async || {
        s.executions(1).await == EVENTS as u32
    })
    .await;
    tokio::time::sleep(Duration::from_millis(500)).await;

    // Delivered at least once each, always with the same webhook-id and body.
    let mut bodies: BTreeMap<String, HashSet<Vec<u8>>> = BTreeMap::new();
    for r in s.receiver.delivered() {
        let id = r.header("webhook-id").expect("webhook-id").to_string();
        bodies.entry(id).or_default().insert(r.body.to_vec());
    }
    assert_eq!(
        bodies.len(),
        EVENTS as usize,
        "every matching event delivered\n{}",
        keeper.logs()
    );
    assert!(
        bodies.values().all(|b| b.len() == 1),
        "a redelivery sends the same body"
    );
    // Settled exactly once each, on chain.
    let settled = s.settled().await;
    assert_eq!(settled.len(), EVENTS as usize);
    assert!(settled.values().all(|n| *n == 1));
    let bps = s
        .herald()
        .params()
        .call()
        .await
        .expect("params")
        .protocolFeeBps;
    let (each, _) = price(fast().runner_fee, true, bps);
    let ledger = s.herald().trigger(1).call().await.expect("trigger").ledger;
    assert_eq!(
        U256::from(ledger.budget),
        U256::from(4 * TOKEN - EVENTS * each)
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn an_event_in_a_reorged_block_is_retracted_and_never_settled() {
    let s = scene(TOKEN).await;
    s.trigger(TOKEN / 2).await;
    let keeper = s.keeper(KeeperOptions {
        start_block: s.head().await + 1,
        settle_confirmations: 3,
        ..fast()
    });
    let provider = &s.net.admin;
    let snapshot = provider.anvil_snapshot().await.expect("snapshot");
    s.mint(11).await; // runs at 0 confirmations, but is not settled yet
    eventually(20, &keeper, "the first delivery", async || {
        s.receiver.delivered().len() == 1
    })
    .await;
    let first = s.receiver.delivered()[0]
        .header("webhook-id")
        .expect("id")
        .to_string();

    // The block is replaced: back to the snapshot, then other blocks at the same heights.
    assert!(provider.anvil_revert(snapshot).await.expect("revert"));
    provider
        .anvil_mine(Some(2), None)
        .await
        .expect("mine replacement blocks");
    s.mint(12).await;
    provider.anvil_mine(Some(4), None).await.expect("mine");

    eventually(30, &keeper, "the second event settled", async || {
        s.executions(1).await == 1
    })
    .await;
    let settled = s.settled().await;
    assert_eq!(settled.len(), 1, "only the surviving event is settled");
    let store = keeper.store().await;
    let counts = store.execution_counts().await.expect("counts");
    assert!(
        counts.contains(&("retracted".to_string(), "none".to_string(), 1)),
        "{counts:?}\n{}",
        keeper.logs()
    );
    let second = s
        .receiver
        .delivered()
        .iter()
        .map(|r| r.header("webhook-id").expect("id").to_string())
        .find(|id| *id != first)
        .expect("the second event was delivered");
    let (trigger, event) = settled.keys().next().expect("one");
    assert_eq!(
        second,
        format!("{trigger}:{event}"),
        "the settled event is the surviving one"
    );
    assert_ne!(first, second);
}

/// A trigger created while the keeper runs, on a contract no trigger watched before, fires from
/// the next block. The keeper reads logs filtered by the contracts its triggers watch, so when
/// the creation and a matching event became safe in one read, the event had been read without
/// that contract and was lost. Here three confirmations make both blocks safe at once.
#[tokio::test(flavor = "multi_thread")]
async fn an_event_read_with_its_triggers_creation_is_not_lost() {
    let s = scene(TOKEN).await;
    let keeper = s.keeper(KeeperOptions {
        start_block: s.head().await + 1,
        confirmations: 3,
        ..fast()
    });
    eventually(30, &keeper, "the keeper following the chain", async || {
        keeper.logs().contains("following the chain")
    })
    .await;
    s.trigger(TOKEN / 2).await; // block N: watches a contract nothing watched
    s.mint(11).await; // block N + 1
    s.net
        .admin
        .anvil_mine(Some(3), None)
        .await
        .expect("mine: N and N + 1 become safe together");
    eventually(30, &keeper, "the event delivered", async || {
        s.receiver.delivered().len() == 1
    })
    .await;
    eventually(30, &keeper, "the event settled", async || {
        s.executions(1).await == 1
    })
    .await;
}

#[tokio::test(flavor = "multi_thread")]
async fn a_receiver_that_is_down_then_up_gets_it_and_one_always_failing_settles_as_failure() {
    let s = scene(TOKEN).await;
    s.trigger(TOKEN / 2).await;
    let keeper = s.keeper(KeeperOptions {
        start_block: s.head().await + 1,
        max_attempts: 4,
        base_delay_ms: 200,
        ..fast()
    });
    // Down for a while: 503s, then back.
    s.receiver.answer(503);
    s.mint(11).await;
    eventually(20, &keeper, "two refused attempts", async || {
        s.receiver.received().len() >= 2
    })
    .await;
    s.receiver.answer(200);
    eventually(30, &keeper, "the retried delivery settled", async || {
        s.executions(1).await == 1
    })
    .await;
    assert_eq!(s.receiver.delivered().len(), 1);

    // Always failing: recorded as failed after the last attempt, settled with success = false,
    // which does not pay the service developer.
    s.receiver.answer(500);
    let service_dev = signer(&s.anvil, 2).address();
    let before = s
        .herald()
        .claimable(service_dev)
        .call()
        .await
        .expect("claimable");
    s.mint(12).await;
    eventually(30, &keeper, "the failed execution settled", async || {
        s.executions(1).await == 2
    })
    .await;
    let failed: Vec<_> = s
        .receiver
        .received()
        .into_iter()
        .filter(|r| r.answered == 500)
        .collect();
    assert_eq!(failed.len(), 4, "max_attempts attempts");
    let after = s
        .herald()
        .claimable(service_dev)
        .call()
        .await
        .expect("claimable");
    assert_eq!(
        after, before,
        "a failed execution does not pay the service developer"
    );
    let store = keeper.store().await;
    let counts = store.execution_counts().await.expect("counts");
    assert_eq!(
        counts,
        vec![
            ("failed".to_string(), "settled".to_string(), 1),
            ("succeeded".to_string(), "settled".to_string(), 1),
        ]
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_trigger_that_cannot_pay_is_skipped_with_the_reason_and_makes_no_receipt() {
    let s = scene(TOKEN).await;
    let bps = s
        .herald()
        .params()
        .call()
        .await
        .expect("params")
        .protocolFeeBps;
    let (each, _) = price(fast().runner_fee, true, bps);
    s.trigger(each - 1).await; // 1: one wei short
    s.trigger(TOKEN / 2).await; // 2: same events, can pay
    let keeper = s.keeper(KeeperOptions {
        start_block: s.head().await + 1,
        ..fast()
    });
    s.mint(11).await;
    eventually(20, &keeper, "trigger 2 settled", async || {
        s.executions(2).await == 1
    })
    .await;
    tokio::time::sleep(Duration::from_millis(500)).await;
    let delivered = s.receiver.delivered();
    assert_eq!(delivered.len(), 1, "only the trigger that can pay runs");
    assert_eq!(delivered[0].json()["trigger"], 2);
    assert_eq!(s.executions(1).await, 0, "no receipt for trigger 1");
    assert!(s.settled().await.keys().all(|(trigger, _)| *trigger == 2));
    let store = keeper.store().await;
    let (_, event) = delivered[0]
        .header("webhook-id")
        .expect("id")
        .split_once(':')
        .expect("trigger:event");
    let skipped = store
        .execution(ExecutionKey {
            trigger_id: 1,
            event_id: event.parse().expect("event id"),
        })
        .await
        .expect("read")
        .expect("recorded");
    assert_eq!(skipped.status, ExecutionStatus::Skipped);
    let reason = skipped.detail.unwrap_or_default();
    assert!(reason.contains("InsufficientBudget"), "{reason}");
    assert_eq!(
        store.settlement(skipped.key).await.expect("read"),
        Settlement::None
    );
    let pending = store.pending_requests(10).await.expect("pending");
    assert!(pending.is_empty());
}

/// Security finding 12: a user could request a withdrawal of the whole budget, let a keeper run an
/// event, and complete the withdrawal at the end of the delay before the receipt settled, so the
/// keeper was never paid. Keepers now admit against the budget less any pending withdrawal.
#[tokio::test(flavor = "multi_thread")]
async fn a_budget_being_withdrawn_pays_for_nothing_new() {
    let s = scene(TOKEN).await;
    s.trigger(TOKEN / 4).await; // 1: its owner is taking the budget back
    s.trigger(TOKEN / 4).await; // 2: same events, nothing withdrawn
    Herald::new(s.net.deployment.herald.address, &s.user)
        .requestWithdrawal(1, U96::from(TOKEN / 4))
        .send()
        .await
        .expect("send")
        .get_receipt()
        .await
        .expect("requestWithdrawal");
    let keeper = s.keeper(KeeperOptions {
        start_block: s.head().await + 1,
        ..fast()
    });
    s.mint(11).await;
    eventually(20, &keeper, "trigger 2 settled", async || {
        s.executions(2).await == 1
    })
    .await;
    tokio::time::sleep(Duration::from_millis(500)).await;
    let delivered = s.receiver.delivered();
    assert_eq!(
        delivered.len(),
        1,
        "only the trigger keeping its budget runs"
    );
    assert_eq!(delivered[0].json()["trigger"], 2);
    let (_, event) = delivered[0]
        .header("webhook-id")
        .expect("id")
        .split_once(':')
        .expect("trigger:event");
    let skipped = keeper
        .store()
        .await
        .execution(ExecutionKey {
            trigger_id: 1,
            event_id: event.parse().expect("event id"),
        })
        .await
        .expect("read")
        .expect("recorded");
    assert_eq!(skipped.status, ExecutionStatus::Skipped);
    let reason = skipped.detail.unwrap_or_default();
    assert!(reason.contains("InsufficientBudget"), "{reason}");
}

/// A keeper whose gas wallet holds less than `network.low_gas_balance` warns and posts one
/// `low_gas_balance` alert (settlement and fraud-challenge answers stop when the wallet is empty).
/// Finding 16b: a keeper's transactions are paid by its own gas wallet (`keeper.gas_key_env`),
/// not by its signing key, and that wallet is the one watched: below the threshold it warns and
/// posts one alert per drop naming both.
#[tokio::test(flavor = "multi_thread")]
async fn a_separate_gas_wallet_pays_for_settlement_and_raises_one_alert_when_low() {
    let s = scene(TOKEN).await;
    s.trigger(TOKEN).await;
    let alerts = Receiver::start().await.expect("alert receiver");
    let gas = signer(&s.anvil, 7);
    // Anvil's accounts hold 10,000 ether: a threshold above it is "low".
    let keeper = KeeperProcess::start_paying_gas_from(
        &s.anvil,
        s.net.deployment.herald.address,
        &s.net.keepers[0],
        &gas,
        &KeeperOptions {
            start_block: s.head().await + 1,
            // The `[network]` section is written with the API's.
            api_listen: Some(herald_devnet::free_addr(0).expect("a free port")),
            network: herald_devnet::NetworkSettings {
                alert_webhook: Some(alerts.url()),
                low_gas_balance: Some("20000".into()),
                ..herald_devnet::NetworkSettings::default()
            },
            ..fast()
        },
    );
    s.mint(11).await;
    eventually(30, &keeper, "the event settled", async || {
        s.executions(1).await == 1
    })
    .await;
    let batches = s
        .herald()
        .BatchSettled_filter()
        .from_block(0)
        .query()
        .await
        .expect("BatchSettled logs");
    assert!(!batches.is_empty());
    for (_, log) in batches {
        let tx = s
            .net
            .admin
            .get_transaction_by_hash(log.transaction_hash.expect("a mined log"))
            .await
            .expect("transaction")
            .expect("known");
        assert_eq!(
            tx.inner.signer(),
            gas.address(),
            "settle is paid by the gas wallet, not the signing key"
        );
    }

    let low = || {
        alerts
            .received()
            .into_iter()
            .filter(|a| a.json()["alert"] == "low_gas_balance")
            .collect::<Vec<_>>()
    };
    eventually(30, &keeper, "the low gas alert", async || !low().is_empty()).await;
    assert!(keeper.logs().contains("the gas wallet is running low"));
    let alert = low()[0].json();
    let address = |field: &str| alert[field].as_str().and_then(|a| a.parse().ok());
    assert_eq!(address("keeper"), Some(keeper.address));
    assert_eq!(
        address("wallet"),
        Some(gas.address()),
        "the gas wallet is watched"
    );
    let balance = s
        .net
        .admin
        .get_balance(gas.address())
        .await
        .expect("balance");
    assert_eq!(alert["threshold_wei"], "20000000000000000000000");
    let reported: U256 = alert["balance_wei"]
        .as_str()
        .and_then(|b| b.parse().ok())
        .expect("a balance");
    assert!(reported >= balance, "{reported} vs {balance} now");
    tokio::time::sleep(Duration::from_millis(1_500)).await;
    assert_eq!(low().len(), 1, "once per drop");
}

/// Every long-lived task of a keeper is supervised: one that panics stops the node with an error
/// naming it, instead of leaving ingestion running while nothing settles. Restarted, the keeper
/// settles what it had, once.
#[tokio::test(flavor = "multi_thread")]
async fn a_keeper_whose_settler_panics_stops_naming_it_and_settles_after_a_restart() {
    let s = scene(5 * TOKEN).await;
    s.trigger(4 * TOKEN).await;
    let mut keeper = KeeperProcess::start_byzantine(
        &s.anvil,
        s.net.deployment.herald.address,
        &s.net.keepers[0],
        &KeeperOptions {
            start_block: s.head().await + 1,
            ..fast()
        },
        "panic-settling",
    );
    s.mint(21).await;

    let status = keeper
        .wait_for_exit(
            Duration::from_secs(60),
            "the keeper kept running with a dead settler",
        )
        .await;
    let logs = keeper.logs();
    assert!(
        !status.success(),
        "a dead task is a failure: {status}\n{logs}"
    );
    assert!(
        logs.contains("the settler task panicked: test fault: the settler panics"),
        "the error names the task and its panic\n{logs}"
    );
    assert_eq!(s.executions(1).await, 0, "nothing settled before the panic");

    keeper.byzantine = None;
    keeper.restart();
    eventually(60, &keeper, "the execution settled", async || {
        s.executions(1).await == 1
    })
    .await;
    assert_eq!(s.receiver.delivered().len(), 1, "delivered once, not again");
    assert!(s.settled().await.values().all(|n| *n == 1));
}

/// A receiver that holds each request for `hold` before answering 200, and says when one arrived.
async fn slow_receiver(hold: Duration) -> (String, tokio::sync::mpsc::UnboundedReceiver<()>) {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let url = format!("http://{}/hook", listener.local_addr().expect("addr"));
    let (arrived, arrivals) = tokio::sync::mpsc::unbounded_channel();
    tokio::spawn(async move {
        while let Ok((mut stream, _)) = listener.accept().await {
            let arrived = arrived.clone();
            tokio::spawn(async move {
                let mut request = Vec::new();
                let mut buf = [0u8; 4096];
                // Headers, then as much body as content-length says.
                loop {
                    let Ok(n) = stream.read(&mut buf).await else {
                        return;
                    };
                    if n == 0 {
                        return;
                    }
                    request.extend_from_slice(&buf[..n]);
                    let text = String::from_utf8_lossy(&request).to_string();
                    if let Some(end) = text.find("\r\n\r\n") {
                        let length = text
                            .lines()
                            .find_map(|l| {
                                l.to_ascii_lowercase()
                                    .strip_prefix("content-length:")
                                    .map(|v| v.trim().parse::<usize>().unwrap_or(0))
                            })
                            .unwrap_or(0);
                        if request.len() >= end + 4 + length {
                            break;
                        }
                    }
                }
                let _ = arrived.send(());
                tokio::time::sleep(hold).await;
                let _ = stream
                    .write_all(b"HTTP/1.1 200 OK\r\ncontent-length: 0\r\nconnection: close\r\n\r\n")
                    .await;
            });
        }
    });
    (url, arrivals)
}

/// Ctrl-C drains: a keeper interrupted while a webhook is in flight waits for its answer and
/// records it, so a restart does not deliver it again.
#[tokio::test(flavor = "multi_thread")]
async fn a_keeper_interrupted_mid_delivery_records_it_before_it_exits() {
    let s = scene(5 * TOKEN).await;
    let (url, mut arrivals) = slow_receiver(Duration::from_millis(1_500)).await;
    create_trigger(
        &s.user,
        &s.net,
        terms(),
        U96::from(TOKEN),
        &seed_trigger(*s.watched.address(), &url),
    )
    .await;
    let mut keeper = s.keeper(KeeperOptions {
        start_block: s.head().await + 1,
        ..fast()
    });
    s.mint(21).await;
    tokio::time::timeout(Duration::from_secs(60), arrivals.recv())
        .await
        .unwrap_or_else(|_| panic!("the webhook never arrived\n{}", keeper.logs()));
    keeper.interrupt();

    let status = keeper
        .wait_for_exit(Duration::from_secs(30), "the keeper did not stop")
        .await;
    assert!(status.success(), "{status}\n{}", keeper.logs());
    let store = keeper.store().await;
    let executions = store
        .executions(&herald_store::ExecutionFilter {
            limit: 10,
            ..Default::default()
        })
        .await
        .expect("executions")
        .items;
    assert_eq!(executions.len(), 1);
    assert_eq!(
        executions[0].execution.status,
        ExecutionStatus::Succeeded,
        "the delivery in flight was recorded before exit\n{}",
        keeper.logs()
    );
    store.close().await;

    keeper.restart();
    eventually(60, &keeper, "the execution settled", async || {
        s.executions(1).await == 1
    })
    .await;
    assert!(
        arrivals.try_recv().is_err(),
        "not delivered again after the restart"
    );
}

/// A keeper whose SQLite file is removed while it runs stops, with the cause and a non-zero exit.
/// Its writes would otherwise go on into the unlinked file and be lost at the next start, among
/// them the receipts it signed: restarted, it could sign a second receipt for one execution and
/// be slashed for it. Before, it worked on without a word.
#[tokio::test(flavor = "multi_thread")]
async fn a_keeper_whose_store_file_is_removed_stops_with_the_cause() {
    let s = scene(5 * TOKEN).await;
    s.trigger(4 * TOKEN).await;
    let mut keeper = s.keeper(KeeperOptions {
        start_block: s.head().await + 1,
        ..fast()
    });
    s.mint(21).await;
    eventually(60, &keeper, "the execution settled", async || {
        s.executions(1).await == 1
    })
    .await;
    std::fs::remove_file(keeper.dir.path().join("keeper.db")).expect("remove the store");
    let status = keeper
        .wait_for_exit(
            Duration::from_secs(30),
            "the keeper went on without its store",
        )
        .await;
    let logs = keeper.logs();
    assert!(!status.success(), "{status}\n{logs}");
    assert!(
        logs.contains("the store watchdog task failed") && logs.contains("keeper.db was removed"),
        "the error names the task and the cause\n{logs}"
    );
}

/// A store row that cannot be read back into a receipt (a result hash damaged on disk) is
/// quarantined with the reason, and the other receipts of its batch — of the same trigger, before
/// and after it — settle. Before, the settler failed the whole batch on it, for ever.
#[tokio::test(flavor = "multi_thread")]
async fn a_corrupt_store_row_is_quarantined_and_the_rest_of_its_batch_settles() {
    use sqlx::{Connection, Executor};

    let s = scene(5 * TOKEN).await;
    s.trigger(4 * TOKEN).await;
    let settle_now = KeeperOptions {
        start_block: s.head().await + 1,
        ..fast()
    };
    // Nothing is deep enough to settle: the executions finish and wait.
    let holding = KeeperOptions {
        settle_confirmations: 1_000_000,
        ..settle_now.clone()
    };
    let mut keeper = s.keeper(holding);
    for amount in [21, 22, 23] {
        s.mint(amount).await;
    }
    eventually(60, &keeper, "three executions finished", async || {
        succeeded(&keeper, 1).await.len() == 3
    })
    .await;
    keeper.kill();
    let mut keys = succeeded(&keeper, 1).await;
    keys.sort_by_key(|k| k.event_id.position());
    let damaged = keys[1];

    let url = format!("sqlite://{}", keeper.dir.path().join("keeper.db").display());
    sqlx::any::install_default_drivers();
    let mut raw = sqlx::AnyConnection::connect(&url)
        .await
        .expect("open the file");
    raw.execute(sqlx::AssertSqlSafe(format!(
        "UPDATE executions SET result_hash = '0xdamaged' WHERE trigger_id = 1 AND event_id = '{}'",
        damaged.event_id.as_bytes()
    )))
    .await
    .expect("damage the row");
    raw.close().await.expect("close");

    keeper.reconfigure(&s.anvil, s.net.deployment.herald.address, &settle_now);
    keeper.restart();
    eventually(60, &keeper, "the readable receipts settled", async || {
        s.executions(1).await == 2
    })
    .await;
    let settled = s.settled().await;
    for key in [keys[0], keys[2]] {
        assert_eq!(
            settled.get(&(1, *key.event_id.as_bytes())),
            Some(&1),
            "{key} settled once"
        );
    }
    assert!(!settled.contains_key(&(1, *damaged.event_id.as_bytes())));
    match keeper
        .store()
        .await
        .settlement(damaged)
        .await
        .expect("read")
    {
        Settlement::Quarantined { reason } => {
            assert!(reason.contains("result_hash"), "{reason}")
        }
        other => panic!("the damaged row: {other:?}\n{}", keeper.logs()),
    }
    assert!(keeper.exit_status().is_none(), "{}", keeper.logs());
    assert!(
        keeper.logs().contains("quarantined a stored execution"),
        "the operator is told\n{}",
        keeper.logs()
    );
}

/// The keys of a trigger's executions the keeper's store records as succeeded.
async fn succeeded(keeper: &KeeperProcess, trigger: u64) -> Vec<ExecutionKey> {
    let page = keeper
        .store()
        .await
        .executions(&herald_store::ExecutionFilter {
            trigger_id: Some(trigger),
            status: Some(ExecutionStatus::Succeeded),
            limit: 10,
            ..Default::default()
        })
        .await
        .expect("list");
    page.items.iter().map(|r| r.execution.key).collect()
}
