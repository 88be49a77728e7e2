//! What a keeper signs, on both backends: one receipt per (trigger, event, runner), ever, however
//! many tasks and processes race to sign conflicting ones.

use std::sync::Arc;

use herald_core::EventId;
use herald_store::{ExecutionKey, SignedReceipt, Store};
use sqlx::{Connection, Executor};

/// The id of the first log of block `n` of chain 31337.
fn log_id(n: u64) -> EventId {
    let at = herald_core::LogPosition {
        chain_id: 31337,
        block_number: n,
        tx_index: 0,
        log_index_in_tx: 0,
    };
    EventId::from_log(at, [n as u8; 32].into(), [1; 32].into()).expect("fits")
}

fn key(trigger: u64, n: u64) -> ExecutionKey {
    ExecutionKey {
        trigger_id: trigger,
        event_id: log_id(n),
    }
}

fn receipt(key: ExecutionKey, runner: &str, hash: &str, executed_at: u64) -> SignedReceipt {
    SignedReceipt {
        key,
        runner: runner.into(),
        receipt_hash: hash.into(),
        executed_at,
    }
}

fn hash(i: usize) -> String {
    format!("0x{i:064x}")
}

/// Many tasks, over several connection pools (as several keeper processes sharing one database
/// would), claim conflicting receipts for one execution at the same moment: exactly one wins, and
/// only its receipt is recorded. The same receipt again is allowed (an honest retry), another
/// runner is another execution, and a claim is all or nothing.
async fn one_receipt_per_execution(store: Store, reopen: impl AsyncFn() -> Store) {
    const POOLS: usize = 4;
    const TASKS: usize = 48;
    let contested = key(95, 900);
    let mut pools = vec![store.clone()];
    for _ in 1..POOLS {
        pools.push(reopen().await);
    }
    let start = Arc::new(tokio::sync::Barrier::new(TASKS));
    let racers: Vec<_> = (0..TASKS)
        .map(|i| {
            let store = pools[i % POOLS].clone();
            let start = start.clone();
            let claim = receipt(contested, "0xAAAA", &hash(i), 1_000 + i as u64);
            tokio::spawn(async move {
                start.wait().await;
                let refused = store
                    .claim_receipts(&format!("0xd{i}"), &[claim])
                    .await
                    .expect("claim");
                (i, refused)
            })
        })
        .collect();
    let mut winners = Vec::new();
    for racer in racers {
        let (i, refused) = racer.await.expect("task");
        match refused.as_slice() {
            [] => winners.push(i),
            [one] => {
                assert_eq!((one.index, one.offered.clone()), (0, hash(i)));
                assert!(
                    one.to_string().contains("already signed"),
                    "the reason says why: {one}"
                );
            }
            more => panic!("one receipt claimed, {} refused: {more:?}", more.len()),
        }
    }
    assert_eq!(
        winners.len(),
        1,
        "exactly one receipt may be signed: {winners:?}"
    );
    let won = winners[0];
    let recorded = receipt(contested, "0xaaaa", &hash(won), 1_000 + won as u64);
    assert_eq!(
        store
            .signed_receipts("0xAaAa", &[contested, key(96, 900)])
            .await
            .expect("read"),
        vec![recorded.clone()],
        "the winner's receipt, runner compared without regard to case"
    );

    // An honest retry, in another batch, signs the same receipt again.
    assert!(
        store
            .claim_receipts("0xretry", std::slice::from_ref(&recorded))
            .await
            .expect("retry")
            .is_empty()
    );
    // Another runner's receipt for the same event is another execution (a takeover).
    assert!(
        store
            .claim_receipts("0xtakeover", &[receipt(contested, "0xbbbb", "0x01", 7)])
            .await
            .expect("another runner")
            .is_empty()
    );
    // All or nothing: a batch with one conflicting receipt records none of its receipts.
    let fresh = receipt(key(95, 901), "0xaaaa", "0x02", 8);
    let refused = store
        .claim_receipts(
            "0xmixed",
            &[fresh.clone(), receipt(contested, "0xaaaa", "0x03", 9)],
        )
        .await
        .expect("mixed");
    assert_eq!(refused.len(), 1, "{refused:?}");
    assert_eq!(
        (refused[0].index, refused[0].signed.clone()),
        (1, hash(won))
    );
    assert!(
        store
            .signed_receipts("0xaaaa", &[fresh.key])
            .await
            .expect("read")
            .is_empty(),
        "nothing of a refused claim is recorded"
    );
    // Two different receipts for one execution in one batch: the second is refused.
    let twice = receipt(key(97, 901), "0xaaaa", "0x04", 8);
    let refused = store
        .claim_receipts(
            "0xtwice",
            &[
                twice.clone(),
                SignedReceipt {
                    receipt_hash: "0x05".into(),
                    ..twice
                },
            ],
        )
        .await
        .expect("twice");
    assert_eq!(refused.len(), 1, "{refused:?}");
    for pool in &pools {
        pool.close().await;
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn sqlite_signs_one_receipt_per_execution() {
    let dir = tempfile::tempdir().expect("tempdir");
    let url = format!("sqlite://{}", dir.path().join("signed.db").display());
    let store = Store::connect(&url).await.expect("connect");
    one_receipt_per_execution(store, async || Store::connect(&url).await.expect("reopen")).await;
}

/// On a throwaway database of the PostgreSQL at `HERALD_TEST_POSTGRES` (default: the local server,
/// database `test`), at its default isolation level, READ COMMITTED. Fails rather than skips
/// without it.
#[tokio::test(flavor = "multi_thread")]
async fn postgres_signs_one_receipt_per_execution() {
    sqlx::any::install_default_drivers();
    let admin_url = std::env::var("HERALD_TEST_POSTGRES")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/test".to_string());
    let mut admin = sqlx::AnyConnection::connect(&admin_url)
        .await
        .unwrap_or_else(|e| panic!("PostgreSQL is needed at {admin_url} ({e})"));
    let name = format!(
        "herald_signed_{}_{}",
        std::process::id(),
        jiff::Timestamp::now().as_nanosecond() % 1_000_000_000
    );
    admin
        .execute(sqlx::AssertSqlSafe(format!("CREATE DATABASE {name}")))
        .await
        .expect("create database");
    let base = admin_url
        .rsplit_once('/')
        .map(|(base, _)| base)
        .unwrap_or(&admin_url);
    let url = format!("{base}/{name}");
    let store = Store::connect(&url).await.expect("connect");
    one_receipt_per_execution(store, async || Store::connect(&url).await.expect("reopen")).await;
    admin
        .execute(sqlx::AssertSqlSafe(format!("DROP DATABASE {name}")))
        .await
        .expect("drop database");
}
