//! Fraud proofs end to end on a real anvil and the real contracts, with the real `herald` CLI as the
//! outsider who catches the fraud from public chain data alone:
//!
//! - sybils who bought the quorum settle 200 receipts for logs that never happened; an outsider
//!   challenges them with `herald challenge open --settle-tx`, nobody can answer, and
//!   `herald challenge resolve` takes every sybil's whole bond (the outsider's bounty and the
//!   treasury's) and marks the trigger disputed; `herald trigger rewind` finds from the chain which
//!   of its settled receipts were fabricated, puts its cursor and execution count back, and it
//!   settles genuine events again;
//! - a challenge of a genuine receipt is answered by the keeper's defender (the same task every
//!   keeper node runs), nobody is slashed, and the challenger's deposit goes to the defender.
//! - a log the defender proved cannot be challenged again.

use std::time::Duration;

use alloy::{
    network::EthereumWallet,
    node_bindings::AnvilInstance,
    primitives::{Address, B256, U256, aliases::U96, keccak256},
    providers::{DynProvider, Provider, ProviderBuilder},
    rpc::types::{Filter, Log},
    signers::local::PrivateKeySigner,
    sol_types::SolEvent,
};
use assert_cmd::Command;
use herald_chain::{
    bindings::{Herald, HeraldChallenges, HeraldTestToken},
    challenge,
    receipt::{Receipt, batch_digest, domain, order_signatures, sign_digest},
};
use herald_core::{EventId, LogPosition};
use herald_devnet::{BOND, Network, create_trigger, depositor, fund, spawn_anvil, terms};
use serde_json::Value;

const TOKEN: u128 = 1_000_000_000_000_000_000;
const USER: usize = 9;
/// The code of `RejectReason.EventFromFuture`.
const EVENT_FROM_FUTURE: u8 = 10;

struct World {
    anvil: AnvilInstance,
    net: Network,
    user: DynProvider,
    chain_id: u64,
}

impl World {
    /// Four honest keepers (a 3-of-4 quorum holding 75% of the stake) and a trigger funded by the
    /// user, anvil account 9.
    async fn new() -> Self {
        let anvil = spawn_anvil().expect("anvil");
        let net = Network::setup(&anvil, 4, 3).await.expect("network");
        let user = depositor(&anvil, &net, USER, U256::from(1_000 * TOKEN))
            .await
            .expect("deposit");
        create_trigger(&user, &net, terms(), U96::from(100 * TOKEN), "seed-000")
            .await
            .expect("trigger");
        let chain_id = user.get_chain_id().await.expect("chain id");
        Self {
            anvil,
            net,
            user,
            chain_id,
        }
    }

    fn herald(&self) -> Herald::HeraldInstance<&DynProvider> {
        Herald::new(self.net.herald(), &self.user)
    }

    /// A fresh account with ether for gas and `tokens` test tokens (Herald approved for them).
    async fn account(&self, tokens: U256) -> (PrivateKeySigner, DynProvider) {
        let signer = PrivateKeySigner::random();
        let _: () = self
            .net
            .admin
            .raw_request(
                "anvil_setBalance".into(),
                (signer.address(), U256::from(100 * TOKEN)),
            )
            .await
            .expect("anvil_setBalance");
        let provider = ProviderBuilder::new()
            .wallet(EthereumWallet::from(signer.clone()))
            .connect(&self.anvil.endpoint())
            .await
            .expect("provider")
            .erased();
        fund(&provider, &self.net.deployment, signer.address(), tokens)
            .await
            .expect("fund");
        (signer, provider)
    }

    /// A keeper that registers with `bond` and so joins the quorum at once (the devnet has no
    /// activation delay).
    async fn sybil(&self, bond: u128) -> (PrivateKeySigner, DynProvider) {
        let (signer, provider) = self.account(U256::from(bond)).await;
        Herald::new(self.net.herald(), &provider)
            .registerKeeper(U96::from(bond), "http://127.0.0.1:0".into(), Address::ZERO)
            .send()
            .await
            .expect("send")
            .get_receipt()
            .await
            .expect("registerKeeper");
        (signer, provider)
    }

    /// A genuine log: a mint of the test token, in a new block.
    async fn genuine_log(&self) -> Log {
        let (signer, _) = self.account(U256::from(1)).await;
        let logs = self
            .user
            .get_logs(
                &Filter::new()
                    .address(self.net.deployment.token.address)
                    .event_signature(HeraldTestToken::Transfer::SIGNATURE_HASH)
                    .topic2(signer.address().into_word())
                    .from_block(0),
            )
            .await
            .expect("logs");
        logs.into_iter().next().expect("the mint's Transfer")
    }

    async fn head(&self) -> (u64, u64) {
        let block = self
            .user
            .get_block_by_number(Default::default())
            .await
            .expect("rpc")
            .expect("latest");
        (block.header.number, block.header.timestamp)
    }

    async fn sign_and_settle(
        &self,
        receipts: &[Receipt],
        signers: &[&PrivateKeySigner],
    ) -> (B256, Vec<alloy::primitives::Bytes>) {
        let digest = batch_digest(&domain(self.chain_id, self.net.herald()), receipts);
        let signatures = order_signatures(
            signers
                .iter()
                .map(|s| sign_digest(s, &digest).expect("sign"))
                .collect(),
        );
        // Submitted by the admin: the user's key also signs CLI commands, which would leave this
        // provider's cached nonce behind.
        let mined = Herald::new(self.net.herald(), &self.net.admin)
            .settle(receipts.to_vec(), signatures.clone())
            .gas(25_000_000)
            .send()
            .await
            .expect("send")
            .get_receipt()
            .await
            .expect("settle");
        assert!(mined.status(), "settle reverted");
        (mined.transaction_hash, signatures)
    }

    async fn mine(&self, blocks: u64) {
        let _: () = self
            .user
            .raw_request("anvil_mine".into(), (U256::from(blocks),))
            .await
            .expect("anvil_mine");
    }

    /// `herald ARGS` signing with `key`, run to its end.
    fn herald_run(&self, key: &PrivateKeySigner, args: &[&str]) -> std::process::Output {
        Command::cargo_bin("herald")
            .expect("binary")
            .env("HERALD_RPC_URL", self.anvil.endpoint())
            .env("HERALD_ADDRESS", self.net.herald().to_string())
            .env(
                "HERALD_PRIVATE_KEY",
                format!("0x{}", alloy::hex::encode(key.to_bytes())),
            )
            .args(args)
            .output()
            .expect("runs")
    }

    /// `herald --json ARGS` signing with `key`, which must succeed.
    fn herald_cli(&self, key: &PrivateKeySigner, args: &[&str]) -> Value {
        let out = self.herald_run(key, &[&["--json"], args].concat());
        assert!(
            out.status.success(),
            "herald {args:?} failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        serde_json::from_slice(&out.stdout).expect("JSON on stdout")
    }

    fn user_key(&self) -> PrivateKeySigner {
        self.anvil.keys()[USER].clone().into()
    }
}

/// A receipt of trigger 1 for `event`, observed and run by `keeper`.
fn receipt(event: EventId, keeper: Address, executed_at: u64) -> Receipt {
    Receipt {
        triggerId: 1,
        eventId: *event.as_bytes(),
        resultHash: B256::repeat_byte(0x42),
        connector: keeper,
        runner: keeper,
        runnerFee: U96::from(1_000_000_000_000_000u64),
        executedAt: executed_at,
        success: true,
    }
}

/// The id a keeper gives the first log of `log`'s transaction.
fn id_of(chain_id: u64, log: &Log) -> EventId {
    let at = LogPosition {
        chain_id,
        block_number: log.block_number.expect("mined"),
        tx_index: log.transaction_index.expect("mined"),
        log_index_in_tx: 0,
    };
    EventId::from_log(
        at,
        log.block_hash.expect("mined"),
        herald_connectors::evm::log_hash(log.address(), log.data()),
    )
    .expect("fits")
}

#[tokio::test(flavor = "multi_thread")]
async fn sybils_who_bought_the_quorum_lose_their_bonds_and_the_trigger_settles_again() {
    let w = World::new().await;
    let herald = w.herald();
    let budget_before = herald
        .trigger(1)
        .call()
        .await
        .expect("trigger")
        .ledger
        .budget;

    // Three fresh keepers with ten times an honest bond each: 88% of the stake, three signers.
    let mut sybils = Vec::new();
    for _ in 0..3 {
        sybils.push(w.sybil(10 * u128::from(BOND)).await);
    }
    let (block, now) = w.head().await;
    let liar = sybils[0].0.address();
    // 200 logs that never happened: transactions 1..=200 of a block that has one.
    let mut receipts: Vec<Receipt> = (1..=200u64)
        .map(|tx| {
            let at = LogPosition {
                chain_id: w.chain_id,
                block_number: block,
                tx_index: tx,
                log_index_in_tx: 0,
            };
            let id = EventId::from_log(at, B256::repeat_byte(7), keccak256(tx.to_be_bytes()));
            receipt(id.expect("fits"), liar, now)
        })
        .collect();
    // And the cursor pushed to the end of time, as a chain log and as a UUID id: both refused.
    let end = LogPosition {
        chain_id: w.chain_id,
        block_number: (1 << 36) - 1,
        tx_index: (1 << 14) - 1,
        log_index_in_tx: (1 << 14) - 1,
    };
    let brick = EventId::from_log(end, B256::repeat_byte(7), B256::repeat_byte(8)).expect("fits");
    receipts.push(receipt(brick, liar, now));
    let mut uuid_bytes = [0u8; 32];
    uuid_bytes[..16].fill(0xff);
    let uuid_brick = EventId::from_bytes(B256::from(uuid_bytes));
    receipts.push(receipt(uuid_brick, liar, now));

    let signers: Vec<&PrivateKeySigner> = sybils.iter().map(|(s, _)| s).collect();
    let (settle_tx, signatures) = w.sign_and_settle(&receipts, &signers).await;
    let settled = w
        .user
        .get_transaction_receipt(settle_tx)
        .await
        .expect("rpc")
        .expect("mined");
    let rejected: Vec<u8> = settled
        .inner
        .logs()
        .iter()
        .filter_map(|l| Herald::ReceiptRejected::decode_log_data(l.data()).ok())
        .map(|r| r.reason)
        .collect();
    assert_eq!(
        rejected,
        vec![EVENT_FROM_FUTURE, EVENT_FROM_FUTURE],
        "the two cursor bricks are refused, the 200 fabricated receipts paid"
    );
    let drained = herald.trigger(1).call().await.expect("trigger").ledger;
    assert_eq!(drained.executions, 200);
    assert_eq!(
        drained.lastEventKey,
        EventId::from_bytes(receipts[199].eventId).position()
    );
    // Genuine events before the fabricated position are now stale: the trigger is stuck.
    for (signer, provider) in &sybils {
        Herald::new(w.net.herald(), provider)
            .requestUnbond(signer.address())
            .send()
            .await
            .expect("send")
            .get_receipt()
            .await
            .expect("requestUnbond");
    }

    // An outsider, with nothing but the node: the CLI finds which receipts name no log.
    let (outsider, _) = w.account(U256::from(1_000 * TOKEN)).await;
    let opened = w.herald_cli(
        &outsider,
        &["challenge", "open", "--settle-tx", &settle_tx.to_string()],
    );
    let challenged = opened["challenged"].as_array().expect("indexes");
    assert_eq!(
        challenged.len(),
        201,
        "the 200 absent logs and the future block; the UUID id is no log: {opened}"
    );

    // Nobody can answer for a log that does not exist: the window passes.
    let challenges = challenge::challenges_of(&w.user, w.net.herald())
        .await
        .expect("challenges");
    let windows = challenge::windows(&w.user, challenges)
        .await
        .expect("windows");
    w.mine(windows.response + 1).await;
    let challenge_tx = opened["tx"].as_str().expect("tx").to_string();
    let resolved = w.herald_cli(
        &outsider,
        &["challenge", "resolve", "--challenge-tx", &challenge_tx],
    );
    assert_eq!(resolved["fraud"], Value::Bool(true), "{resolved}");

    // Every signer lost its whole bond; only the honest stake is left.
    for (sybil, _) in &sybils {
        let k = herald.keeper(sybil.address()).call().await.expect("keeper");
        assert_eq!(k.bond, U96::ZERO, "{} keeps nothing", sybil.address());
    }
    assert_eq!(
        herald.totalBond().call().await.expect("totalBond"),
        U96::from(4 * u128::from(BOND))
    );
    // The outsider's bounty; the trigger is disputed, its budget not refunded (the contract cannot
    // tell a victim's trigger from the sybils' own, see punishFraud).
    let bounty = herald
        .claimable(outsider.address())
        .call()
        .await
        .expect("claimable");
    assert_eq!(bounty, U256::from(30 * u128::from(BOND) / 10));
    let disputed = herald.trigger(1).call().await.expect("trigger");
    assert_eq!(
        disputed.ledger.executions, 200,
        "the offenders' receipts give nothing back"
    );
    assert_eq!(disputed.ledger.budget, drained.budget);
    assert!(disputed.ledger.budget < budget_before);
    assert_eq!(disputed.rules.flags & 4, 4, "DISPUTED");

    // The owner puts the cursor and the count back: the CLI reads which settled receipts the
    // challenge proved fabricated. A genuine event then settles with the honest quorum.
    let rewound = w.herald_cli(&w.user_key(), &["trigger", "rewind", "1"]);
    assert_eq!(rewound["fabricated"], 200, "{rewound}");
    assert_eq!(
        rewound["cursor"], 0,
        "no genuine receipt settled: {rewound}"
    );
    assert_eq!(rewound["executions"], 0, "{rewound}");
    let log = w.genuine_log().await;
    let (_, now) = w.head().await;
    let honest: Vec<&PrivateKeySigner> = w.net.keepers[..3].iter().collect();
    let genuine = vec![receipt(id_of(w.chain_id, &log), honest[0].address(), now)];
    w.sign_and_settle(&genuine, &honest).await;
    assert_eq!(
        herald
            .trigger(1)
            .call()
            .await
            .expect("trigger")
            .ledger
            .executions,
        1,
        "the trigger settles genuine events again"
    );

    // The fraudulent batch, replayed, no longer carries a quorum.
    let replay = herald.settle(receipts, signatures).call().await;
    let err = replay.expect_err("no quorum").to_string();
    assert!(err.contains("revert"), "{err}");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_challenge_of_a_genuine_receipt_is_answered_and_pays_the_defender() {
    let w = World::new().await;
    let herald = w.herald();
    let log = w.genuine_log().await;
    let (_, now) = w.head().await;
    let honest: Vec<&PrivateKeySigner> = w.net.keepers[..3].iter().collect();
    let genuine = vec![receipt(id_of(w.chain_id, &log), honest[0].address(), now)];
    let (settle_tx, _) = w.sign_and_settle(&genuine, &honest).await;

    // Keeper 3 runs the defender every keeper node runs.
    let defender = w.net.keepers[3].clone();
    let token = HeraldTestToken::new(w.net.deployment.token.address, &w.user);
    let held = |who: Address| {
        let (token, herald) = (token.clone(), herald.clone());
        async move {
            token.balanceOf(who).call().await.expect("balance")
                + herald.claimable(who).call().await.expect("claimable")
        }
    };
    let defender_before = held(defender.address()).await;
    let defender_provider = ProviderBuilder::new()
        .wallet(EthereumWallet::from(defender.clone()))
        .connect(&w.anvil.endpoint())
        .await
        .expect("provider")
        .erased();
    let defending = tokio::spawn(herald_keeper::defend::defend(
        defender_provider,
        w.net.herald(),
        0,
        Duration::from_millis(100),
    ));

    // The CLI finds nothing to challenge on its own; forced, it challenges the genuine receipt.
    let (outsider, _) = w.account(U256::from(1_000 * TOKEN)).await;
    let out = w.herald_run(
        &outsider,
        &["challenge", "open", "--settle-tx", &settle_tx.to_string()],
    );
    assert_eq!(out.status.code(), Some(1), "nothing to challenge");
    let before = token
        .balanceOf(outsider.address())
        .call()
        .await
        .expect("balance");
    let settle_tx = settle_tx.to_string();
    let force_receipt_0 = [
        "challenge",
        "open",
        "--settle-tx",
        &settle_tx,
        "--receipt",
        "0",
    ];
    let opened = w.herald_cli(&outsider, &force_receipt_0);
    let deposit: U256 = serde_json::from_value(opened["deposit"].clone()).expect("deposit");
    assert!(deposit > U256::ZERO);
    assert_eq!(
        token
            .balanceOf(outsider.address())
            .call()
            .await
            .expect("balance"),
        before - deposit
    );

    // The defender answers and resolves; the challenge ends without fraud.
    let challenges = challenge::challenges_of(&w.user, w.net.herald())
        .await
        .expect("challenges");
    let resolved_filter = Filter::new()
        .address(challenges)
        .event_signature(HeraldChallenges::ChallengeResolved::SIGNATURE_HASH)
        .from_block(0);
    let mut resolved = None;
    for _ in 0..300 {
        let logs = w.user.get_logs(&resolved_filter).await.expect("logs");
        resolved = logs
            .first()
            .and_then(|l| HeraldChallenges::ChallengeResolved::decode_log_data(l.data()).ok());
        if resolved.is_some() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let resolved = resolved.expect("the defender answers and resolves the challenge");
    defending.abort();
    assert!(!resolved.fraud);
    assert_eq!(resolved.slashed, U256::ZERO);
    for keeper in &w.net.keepers {
        let k = herald
            .keeper(keeper.address())
            .call()
            .await
            .expect("keeper");
        assert_eq!(k.bond, U96::from(BOND), "no honest keeper is slashed");
    }
    assert_eq!(
        held(defender.address()).await,
        defender_before + deposit,
        "the defender holds the challenger's deposit"
    );

    // The log is proven for every challenge: challenging it again is refused before any deposit
    // (the contract refuses it too: `ProvenOnceTest`).
    let again = w.herald_run(&outsider, &force_receipt_0);
    let stderr = String::from_utf8_lossy(&again.stderr);
    assert_ne!(again.status.code(), Some(0));
    assert!(stderr.contains("already proven"), "{stderr}");
}
