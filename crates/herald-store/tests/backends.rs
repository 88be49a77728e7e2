//! The same suite against a real SQLite file and a real PostgreSQL database.

use std::sync::Arc;

use alloy_primitives::{B256, Bytes, U256, keccak256};
use herald_core::{Event, EventId};
use herald_store::{
    Cursor, ExecutionFilter, ExecutionKey, ExecutionStatus, Finished, IngestEvent, NewExecution,
    PageCursor, PeerBatch, PeerReceipt, Settlement, Store,
};
use serde_json::json;
use sqlx::{Connection, Executor};

/// A `settle` transaction.
const TX: B256 = B256::repeat_byte(0xaa);

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

fn block_of(e: &Event) -> u64 {
    e.id.log_position().expect("a chain log").block_number
}

fn event(n: u64) -> Event {
    let mut e = Event::new("evm.log", "eip155:31337", json!({"n": n}));
    e.id = log_id(n);
    e
}

fn key(trigger: u64, e: &Event) -> ExecutionKey {
    ExecutionKey {
        trigger_id: trigger,
        event_id: e.id,
    }
}

/// Everything a keeper relies on, against one store. `reopen` gives a fresh connection to the same
/// database, as a restarted keeper would have.
async fn suite(store: Store, reopen: impl AsyncFn() -> Store) {
    // Events are stored once, however often they are delivered.
    let (a, b) = (event(1), event(2));
    assert!(store.record_event("evm.log", &a).await.expect("record"));
    assert!(!store.record_event("evm.log", &a).await.expect("redelivery"));
    assert!(store.record_event("evm.log", &b).await.expect("record"));
    let (stored, retracted) = store.event(&a.id).await.expect("read").expect("present");
    assert_eq!(stored, a, "the event round-trips exactly");
    assert!(!retracted);
    assert_eq!(store.event(&event(99).id).await.expect("read"), None);
    // An event another keeper relayed here, then posted here by its emitter: new, and then the
    // connector's own (a relay must not turn its emitter's post away as a duplicate).
    let relayed = event(3);
    store
        .ingest(
            herald_store::RELAYED_STREAM,
            &[IngestEvent {
                event: &relayed,
                block: None,
            }],
            &[],
            None,
        )
        .await
        .expect("a relayed event");
    assert!(
        store
            .record_event("HTTP_EVENT", &relayed)
            .await
            .expect("posted")
    );
    assert!(
        !store
            .record_event("HTTP_EVENT", &relayed)
            .await
            .expect("again")
    );
    assert_eq!(
        store.events_after("HTTP_EVENT", 0, 10).await.expect("read"),
        vec![relayed.clone()]
    );

    // An execution is written, pending, before its service runs, once per (trigger, event):
    // ingesting returns only the executions newly recorded as pending, the ones to run.
    let stream = "eip155:31337/logs";
    let (x, y) = (event(10), event(11));
    let executions = |request: Option<&str>| {
        [(20, &x), (21, &x), (20, &y)].map(|(trigger, e)| {
            let mut execution = pending(trigger, e, block_of(e));
            if let Some(request) = request {
                execution.request = Some(request.into());
            }
            execution
        })
    };
    let started = store
        .ingest(stream, &[ingest(&x), ingest(&y)], &executions(None), None)
        .await
        .expect("ingest");
    assert_eq!(started, vec![key(20, &x), key(21, &x), key(20, &y)]);
    let written = store
        .execution(key(20, &x))
        .await
        .expect("read")
        .expect("present");
    assert_eq!(
        (written.status, written.attempts),
        (ExecutionStatus::Pending, 0)
    );
    let again = store
        .ingest(
            stream,
            &[ingest(&x), ingest(&y)],
            &executions(Some("{\"redelivered\":true}")),
            None,
        )
        .await
        .expect("ingest again");
    assert!(
        again.is_empty(),
        "a redelivered event finds the execution instead of starting another"
    );
    assert_eq!(
        store.execution(key(20, &x)).await.expect("read"),
        Some(written),
        "and leaves it as it was"
    );

    // Concurrent deliveries of one event: exactly one records the execution, so one runs it.
    let z = event(12);
    let shared = Arc::new(store.clone());
    let racers: Vec<_> = (0..16)
        .map(|_| {
            let s = shared.clone();
            let z = z.clone();
            tokio::spawn(async move {
                s.ingest(
                    stream,
                    &[ingest(&z)],
                    &[pending(22, &z, block_of(&z))],
                    None,
                )
                .await
                .expect("ingest")
            })
        })
        .collect();
    let mut winners = Vec::new();
    for r in racers {
        winners.extend(r.await.expect("task"));
    }
    assert_eq!(winners, vec![key(22, &z)]);

    // How executions end: only a pending execution changes.
    store
        .finish(&[Finished {
            attempts: 2,
            detail: Some("200 OK".into()),
            ..done(20, &x, ExecutionStatus::Succeeded)
        }])
        .await
        .expect("finish");
    let finished = store
        .execution(key(20, &x))
        .await
        .expect("read")
        .expect("present");
    assert_eq!(finished.status, ExecutionStatus::Succeeded);
    assert_eq!(finished.attempts, 2);
    assert_eq!(finished.result_hash, Some(keccak256([0x01]).to_string()));
    assert_eq!(finished.detail.as_deref(), Some("200 OK"));
    store
        .finish(&[done(20, &x, ExecutionStatus::Failed)])
        .await
        .expect("finish again");
    assert_eq!(
        store.execution(key(20, &x)).await.expect("read"),
        Some(finished),
        "a finished execution is not finished again"
    );

    // A restarted keeper finds the unfinished work, with the requests as first written.
    let restarted = reopen().await;
    let unfinished = async |store: &Store| {
        let mut found: Vec<_> = store
            .pending_requests(u32::MAX)
            .await
            .expect("pending")
            .into_iter()
            .filter(|p| (20..=22).contains(&p.key.trigger_id))
            .collect();
        found.sort_by_key(|p| (p.key.trigger_id, p.key.event_id));
        found
            .into_iter()
            .map(|p| (p.key, p.request))
            .collect::<Vec<_>>()
    };
    let request = |trigger: u64| format!("{{\"trigger\":{trigger}}}");
    assert_eq!(
        unfinished(&restarted).await,
        vec![
            (key(20, &y), request(20)),
            (key(21, &x), request(21)),
            (key(22, &z), request(22)),
        ]
    );

    // A reorg removes block 10: its event is retracted, and so are its unsettled executions,
    // finished or not, for good.
    let x_block = format!("0x{:064x}", block_of(&x));
    let mut retracted = restarted
        .retract_block(stream, &x_block)
        .await
        .expect("retract");
    retracted.sort_by_key(|k| k.trigger_id);
    assert_eq!(retracted, vec![key(20, &x), key(21, &x)]);
    assert!(
        restarted
            .event(&x.id)
            .await
            .expect("read")
            .expect("present")
            .1
    );
    assert!(
        !restarted
            .event(&y.id)
            .await
            .expect("read")
            .expect("present")
            .1,
        "another block's event stays"
    );
    for trigger in [20, 21] {
        let e = restarted
            .execution(key(trigger, &x))
            .await
            .expect("read")
            .expect("present");
        assert_eq!(e.status, ExecutionStatus::Retracted, "trigger {trigger}");
    }
    assert_eq!(
        restarted
            .execution(key(20, &y))
            .await
            .expect("read")
            .expect("present")
            .status,
        ExecutionStatus::Pending,
        "another block's execution stays"
    );
    restarted
        .finish(&[done(21, &x, ExecutionStatus::Succeeded)])
        .await
        .expect("late finish");
    assert_eq!(
        restarted
            .execution(key(21, &x))
            .await
            .expect("read")
            .expect("present")
            .status,
        ExecutionStatus::Retracted,
        "a late result cannot resurrect a retracted execution"
    );
    assert!(
        restarted
            .retract_block(stream, &x_block)
            .await
            .expect("retract again")
            .is_empty(),
        "retracted once"
    );
    assert_eq!(
        unfinished(&restarted).await,
        vec![(key(20, &y), request(20)), (key(22, &z), request(22))],
        "a retracted execution is not resumed"
    );

    // Cursors move only with an ingest that carries one, together with its events, and survive
    // a restart.
    assert_eq!(restarted.cursor(stream).await.expect("read"), None);
    let (u, v) = (event(13), event(14));
    let c1 = Cursor {
        block: 13,
        block_hash: format!("0x{:064x}", 13),
    };
    restarted
        .ingest(stream, &[ingest(&u)], &[], Some(&c1))
        .await
        .expect("ingest with a cursor");
    assert_eq!(restarted.cursor(stream).await.expect("read"), Some(c1));
    let c2 = Cursor {
        block: 14,
        block_hash: format!("0x{:064x}", 14),
    };
    restarted
        .ingest(stream, &[ingest(&v)], &[], Some(&c2))
        .await
        .expect("move");
    restarted.close().await;
    let reopened = reopen().await;
    assert_eq!(reopened.cursor(stream).await.expect("read"), Some(c2));
    assert_eq!(
        reopened.events_after(stream, 0, 10).await.expect("read"),
        vec![y, z, u, v],
        "the events the cursor passed are stored, and the retracted one is not dispatched again"
    );
    reopened.close().await;
    pipeline(store.clone()).await;
    listing(store.clone()).await;
    network(store.clone()).await;
    store.close().await;
}

fn pending(trigger: u64, e: &Event, block: u64) -> NewExecution {
    NewExecution {
        key: key(trigger, e),
        block,
        status: ExecutionStatus::Pending,
        request: Some(format!("{{\"trigger\":{trigger}}}")),
        fee: Some("1050".into()),
        detail: None,
        takeover_at: None,
    }
}

fn ingest(e: &Event) -> IngestEvent<'_> {
    IngestEvent {
        event: e,
        block: Some((block_of(e), format!("0x{:064x}", block_of(e)))),
    }
}

fn done(trigger: u64, e: &Event, status: ExecutionStatus) -> Finished {
    Finished {
        key: key(trigger, e),
        status,
        attempts: 1,
        result_hash: keccak256([0x01]),
        result: Bytes::from_static(&[0x01]),
        detail: None,
        executed_at: 1_700_000_000,
        runner_fee: U256::from(7),
    }
}

/// The keeper pipeline: ingestion with the cursor, resumption, settlement order, reorgs.
async fn pipeline(store: Store) {
    let stream = "eip155:31337";
    let events: Vec<Event> = (100..104).map(event).collect();
    let skipped = NewExecution {
        status: ExecutionStatus::Skipped,
        request: None,
        detail: Some("insufficient budget".into()),
        ..pending(9, &events[0], 100)
    };
    let started = store
        .ingest(
            stream,
            &[ingest(&events[0]), ingest(&events[1])],
            &[
                pending(1, &events[0], 100),
                pending(1, &events[1], 101),
                skipped,
            ],
            Some(&Cursor {
                block: 101,
                block_hash: "0x65".into(),
            }),
        )
        .await
        .expect("ingest");
    assert_eq!(
        started,
        vec![key(1, &events[0]), key(1, &events[1])],
        "skipped executions do not run"
    );
    assert_eq!(
        store.cursor(stream).await.expect("cursor").map(|c| c.block),
        Some(101)
    );
    // A rescan of the same blocks changes nothing and starts nothing.
    let again = store
        .ingest(
            stream,
            &[ingest(&events[0])],
            &[pending(1, &events[0], 100)],
            None,
        )
        .await
        .expect("rescan");
    assert!(again.is_empty());
    // (The first suite left executions of other triggers pending in this database.)
    let resumable: Vec<_> = store
        .pending_requests(100)
        .await
        .expect("pending")
        .into_iter()
        .filter(|p| p.key.trigger_id == 1)
        .collect();
    assert_eq!(resumable.len(), 2);
    assert_eq!(
        resumable[0].request, "{\"trigger\":1}",
        "the request is kept verbatim"
    );

    // The later execution finishes first: it must wait for the earlier one of the same trigger.
    store
        .finish(&[done(1, &events[1], ExecutionStatus::Succeeded)])
        .await
        .expect("finish");
    assert!(
        store
            .settleable(1_000, 10)
            .await
            .expect("settleable")
            .is_empty()
    );
    store
        .finish(&[done(1, &events[0], ExecutionStatus::Failed)])
        .await
        .expect("finish");
    let ready = store.settleable(1_000, 10).await.expect("settleable");
    assert_eq!(
        ready.iter().map(|s| (s.key, s.success)).collect::<Vec<_>>(),
        vec![(key(1, &events[0]), false), (key(1, &events[1]), true)],
        "by position, and failures settle too"
    );
    assert_eq!(
        store.settleable(100, 10).await.expect("shallow").len(),
        1,
        "confirmation depth"
    );

    store
        .set_settlement(&[
            (key(1, &events[0]), Settlement::Submitted { tx: TX }),
            (key(1, &events[1]), Settlement::Submitted { tx: TX }),
        ])
        .await
        .expect("submitted");
    assert_eq!(
        store.submitted().await.expect("submitted"),
        vec![(TX, vec![key(1, &events[0]), key(1, &events[1])])]
    );
    store
        .set_settlement(&[(
            key(1, &events[0]),
            Settlement::Settled {
                fee: U256::from(1050),
            },
        )])
        .await
        .expect("settled");
    assert_eq!(
        store.settlement(key(1, &events[0])).await.expect("read"),
        Settlement::Settled {
            fee: U256::from(1050)
        }
    );
    store
        .set_settlement(&[(
            key(1, &events[0]),
            Settlement::Rejected {
                reason: "StaleEvent".into(),
            },
        )])
        .await
        .expect("late rejection");
    assert_eq!(
        store.settlement(key(1, &events[0])).await.expect("read"),
        Settlement::Settled {
            fee: U256::from(1050)
        },
        "a duplicate submission's rejection does not undo a settlement"
    );

    // A reorg removes block 101: its event's executions are retracted; settled ones are kept.
    assert_eq!(
        store.event_blocks(stream, 100).await.expect("blocks"),
        vec![
            (100, format!("0x{:064x}", 100)),
            (101, format!("0x{:064x}", 101))
        ]
    );
    let retracted = store
        .retract_block(stream, &format!("0x{:064x}", 101))
        .await
        .expect("retract");
    assert_eq!(retracted, vec![key(1, &events[1])]);
    assert_eq!(
        store
            .execution(key(1, &events[1]))
            .await
            .expect("read")
            .expect("present")
            .status,
        ExecutionStatus::Retracted
    );
    assert_eq!(
        store
            .retract_block(stream, &format!("0x{:064x}", 100))
            .await
            .expect("retract"),
        vec![key(9, &events[0])],
        "a settled execution is history, not retracted"
    );
    assert_eq!(store.event_blocks(stream, 0).await.expect("blocks"), vec![]);
}

/// Listing executions for people: filters, newest first, pages that neither skip nor repeat.
async fn listing(store: Store) {
    let events: Vec<Event> = (300..306).map(event).collect();
    let refs: Vec<IngestEvent<'_>> = events.iter().map(ingest).collect();
    let executions: Vec<NewExecution> = events
        .iter()
        .enumerate()
        .map(|(i, e)| pending(if i % 2 == 0 { 70 } else { 80 }, e, 300 + i as u64))
        .collect();
    store
        .ingest("listing", &refs, &executions, None)
        .await
        .expect("ingest");
    store
        .finish(&[done(70, &events[0], ExecutionStatus::Succeeded)])
        .await
        .expect("finish");

    let all = |filter: ExecutionFilter| {
        let store = store.clone();
        async move { store.executions(&filter).await.expect("list").items }
    };
    let of_70 = all(ExecutionFilter {
        trigger_id: Some(70),
        limit: 100,
        ..ExecutionFilter::default()
    })
    .await;
    assert_eq!(of_70.len(), 3);
    assert!(of_70.iter().all(|r| r.execution.key.trigger_id == 70));
    let succeeded = all(ExecutionFilter {
        trigger_id: Some(70),
        status: Some(ExecutionStatus::Succeeded),
        limit: 100,
        ..ExecutionFilter::default()
    })
    .await;
    assert_eq!(succeeded.len(), 1);
    assert_eq!(succeeded[0].execution.key, key(70, &events[0]));
    assert_eq!(succeeded[0].fee.as_deref(), Some("1050"));
    assert_eq!(succeeded[0].settlement, "none");
    let future = all(ExecutionFilter {
        since_ms: Some(i64::MAX),
        limit: 100,
        ..ExecutionFilter::default()
    })
    .await;
    assert!(future.is_empty(), "nothing was recorded in the future");

    let everything = all(ExecutionFilter {
        limit: 1_000,
        ..ExecutionFilter::default()
    })
    .await;
    let mut paged = Vec::new();
    let mut after = None;
    loop {
        let page = store
            .executions(&ExecutionFilter {
                after,
                limit: 2,
                ..ExecutionFilter::default()
            })
            .await
            .expect("page");
        paged.extend(page.items.iter().map(|r| r.execution.key));
        let Some(next) = page.next else { break };
        assert_eq!(
            next.to_string().parse::<PageCursor>(),
            Ok(next),
            "cursors round-trip"
        );
        after = Some(next);
    }
    assert_eq!(
        paged,
        everything
            .iter()
            .map(|r| r.execution.key)
            .collect::<Vec<_>>(),
        "pages of 2 give every execution once, in the same order"
    );
    assert!(
        everything
            .windows(2)
            .all(|w| w[0].created_ms >= w[1].created_ms),
        "newest first"
    );
    let record = store
        .execution_record(key(80, &events[1]))
        .await
        .expect("read")
        .expect("present");
    assert_eq!(record.execution.status, ExecutionStatus::Pending);
    assert_eq!(record.request.as_deref(), Some("{\"trigger\":80}"));
    assert_eq!(record.block, 301);
}

#[tokio::test(flavor = "multi_thread")]
async fn sqlite_file() {
    let dir = tempfile::tempdir().expect("tempdir");
    let url = format!("sqlite://{}", dir.path().join("keeper.db").display());
    let store = Store::connect(&url).await.expect("connect");
    suite(store, async || Store::connect(&url).await.expect("reopen")).await;
    corrupt_rows(&url).await;
    // WAL is a property of the database file: check it from a separate connection.
    sqlx::any::install_default_drivers();
    let mut conn = sqlx::AnyConnection::connect(&url)
        .await
        .expect("raw connection");
    let mode: String = sqlx::query_scalar("PRAGMA journal_mode")
        .fetch_one(&mut conn)
        .await
        .expect("pragma");
    assert_eq!(mode, "wal");
}

/// Uses the PostgreSQL at `HERALD_TEST_POSTGRES` (default: the local server, database `test`) to
/// create a throwaway database. CI starts PostgreSQL; this test fails rather than skips without it.
#[tokio::test(flavor = "multi_thread")]
async fn postgres() {
    sqlx::any::install_default_drivers();
    let admin_url = std::env::var("HERALD_TEST_POSTGRES")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/test".to_string());
    let mut admin = sqlx::AnyConnection::connect(&admin_url).await.unwrap_or_else(|e| {
        panic!(
            "PostgreSQL is needed at {admin_url} ({e}); start it (pg_ctlcluster --skip-systemctl-redirect <version> main start) \
             or point HERALD_TEST_POSTGRES at one"
        )
    });
    let name = format!(
        "herald_test_{}_{}",
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
    suite(store, async || Store::connect(&url).await.expect("reopen")).await;
    corrupt_rows(&url).await;
    admin
        .execute(sqlx::AssertSqlSafe(format!("DROP DATABASE {name}")))
        .await
        .expect("drop database");
}

/// A row that cannot be read back into a receipt (a corrupt hash, fee, result or event, a foreign
/// settlement transaction) is quarantined with the reason, and never stalls the rest: its batch,
/// and its trigger's later executions, settle.
async fn corrupt_rows(url: &str) {
    let store = Store::connect(url).await.expect("connect");
    let stream = "eip155:31337/corrupt";
    let events: Vec<Event> = (500..506).map(event).collect();
    let ingested: Vec<IngestEvent<'_>> = events.iter().map(ingest).collect();
    let executions: Vec<NewExecution> = events
        .iter()
        .map(|e| pending(500, e, block_of(e)))
        .collect();
    store
        .ingest(stream, &ingested, &executions, None)
        .await
        .expect("ingest");
    let finished: Vec<Finished> = events
        .iter()
        .map(|e| done(500, e, ExecutionStatus::Succeeded))
        .collect();
    store.finish(&finished).await.expect("finish");

    let mut raw = sqlx::AnyConnection::connect(url)
        .await
        .expect("raw connection");
    let damage = [
        (
            &events[1],
            "UPDATE executions SET result_hash = 'not a hash'",
        ),
        (&events[2], "UPDATE executions SET runner_fee = '-1'"),
        (&events[3], "UPDATE executions SET result = '0x02'"),
    ];
    for (e, update) in damage {
        raw.execute(sqlx::AssertSqlSafe(format!(
            "{update} WHERE trigger_id = 500 AND event_id = '{}'",
            e.id.as_bytes()
        )))
        .await
        .expect("damage a row");
    }
    raw.execute(sqlx::AssertSqlSafe(format!(
        "UPDATE events SET cloudevent = '{{not json' WHERE id = '{}'",
        events[4].id.as_bytes()
    )))
    .await
    .expect("damage an event");

    let ready = store.settleable(1_000, 100).await.expect("settleable");
    let ours: Vec<ExecutionKey> = ready
        .iter()
        .map(|s| s.key)
        .filter(|k| k.trigger_id == 500)
        .collect();
    assert_eq!(
        ours,
        [key(500, &events[0]), key(500, &events[5])],
        "the readable rows, before and after the corrupt ones"
    );
    for (e, column) in [
        (&events[1], "result_hash"),
        (&events[2], "runner_fee"),
        (&events[3], "result does not hash"),
        (&events[4], "cloudevent"),
    ] {
        match store.settlement(key(500, e)).await.expect("read") {
            Settlement::Quarantined { reason } => {
                assert!(reason.contains(column), "{column}: {reason}")
            }
            other => panic!("{column}: {other:?}"),
        }
    }
    assert_eq!(
        store.settleable(1_000, 100).await.expect("again").len(),
        ready.len(),
        "quarantined once, not offered again"
    );

    // A submitted row whose transaction is unreadable: reconciling cannot find it.
    store
        .set_settlement(&[
            (key(500, &events[0]), Settlement::Submitted { tx: TX }),
            (key(500, &events[5]), Settlement::Submitted { tx: TX }),
        ])
        .await
        .expect("submitted");
    raw.execute(sqlx::AssertSqlSafe(format!(
        "UPDATE executions SET settle_tx = '0xzz' WHERE trigger_id = 500 AND event_id = '{}'",
        events[5].id.as_bytes()
    )))
    .await
    .expect("damage a transaction");
    let ours: Vec<(B256, Vec<ExecutionKey>)> = store
        .submitted()
        .await
        .expect("submitted")
        .into_iter()
        .map(|(tx, keys)| {
            (
                tx,
                keys.into_iter().filter(|k| k.trigger_id == 500).collect(),
            )
        })
        .collect();
    assert_eq!(ours, vec![(TX, vec![key(500, &events[0])])]);
    assert!(matches!(
        store.settlement(key(500, &events[5])).await.expect("read"),
        Settlement::Quarantined { reason } if reason.contains("settle_tx")
    ));
    store.close().await;
}

/// Processes that open a new SQLite file at the same moment all get a migrated store.
#[tokio::test(flavor = "multi_thread")]
async fn concurrent_opens_of_a_new_sqlite_file_all_succeed() {
    let dir = tempfile::tempdir().expect("tempdir");
    let url = format!("sqlite://{}", dir.path().join("new.db").display());
    let opens: Vec<_> = (0..4)
        .map(|_| {
            let url = url.clone();
            tokio::spawn(async move { Store::connect(&url).await })
        })
        .collect();
    for open in opens {
        let store = open.await.expect("joined").expect("migrated");
        assert!(store.event_types().await.expect("usable").is_empty());
    }
}

#[tokio::test]
async fn bad_urls_are_refused_without_leaking_passwords() {
    let err = Store::connect("mysql://root:hunter2@localhost/db")
        .await
        .expect_err("unsupported")
        .to_string();
    assert_eq!(
        err,
        "database URL \"mysql://root:***@localhost/db\": expected sqlite://<file> or postgres://…"
    );
    assert!(!err.contains("hunter2"));
}

/// The keeper network's state: standby executions are taken over once due (unless settled by
/// someone else first), hold back their trigger's later receipts, and a peer's two different
/// receipts for one execution are found.
async fn network(store: Store) {
    let stream = "eip155:1/network";
    let events: Vec<Event> = (300..304).map(event).collect();
    let standby = |trigger, e: &Event, at| NewExecution {
        status: ExecutionStatus::Standby,
        takeover_at: Some(at),
        ..pending(trigger, e, 300)
    };
    let started = store
        .ingest(
            stream,
            &events.iter().map(ingest).collect::<Vec<_>>(),
            &[
                standby(71, &events[0], 1_000),
                pending(71, &events[1], 300),
                standby(72, &events[2], 5_000),
                standby(73, &events[3], 1_000),
            ],
            None,
        )
        .await
        .expect("ingest");
    assert_eq!(
        started,
        vec![key(71, &events[1])],
        "standby rows are not run"
    );
    store
        .finish(&[done(71, &events[1], ExecutionStatus::Succeeded)])
        .await
        .expect("finish");
    let ready = store
        .settleable(u64::MAX >> 1, 100)
        .await
        .expect("settleable");
    assert!(
        ready.iter().all(|s| s.key.trigger_id != 71),
        "another keeper's earlier execution holds trigger 71 back: {ready:?}"
    );

    // Finding 7: what a co-signer holds a later receipt of trigger 71 back for — both its
    // executions are unpaid (one on standby, one finished here); 72's is another trigger's.
    let p = |e: &Event| e.id.position();
    assert_eq!(
        store
            .unpaid_positions_below(71, u64::MAX >> 1, 10)
            .await
            .expect("unpaid"),
        vec![p(&events[0]), p(&events[1])]
    );
    assert_eq!(
        store
            .unpaid_positions_below(71, p(&events[1]), 10)
            .await
            .expect("unpaid below"),
        vec![p(&events[0])],
        "only positions below the one asked about"
    );
    // One this keeper signed a receipt for is on its way to settlement: it holds nothing back.
    let claimed = store
        .claim_receipts(
            "0xd0",
            &[herald_store::SignedReceipt {
                key: key(71, &events[1]),
                runner: "0xaa".into(),
                receipt_hash: "0xh0".into(),
                executed_at: 1,
            }],
        )
        .await
        .expect("claim");
    assert!(claimed.is_empty());
    assert_eq!(
        store
            .unpaid_positions_below(71, u64::MAX >> 1, 10)
            .await
            .expect("unpaid"),
        vec![p(&events[0])],
        "a signed receipt is on its way"
    );

    // Trigger 73's execution was settled by its performer: never taken over.
    store
        .set_settlement(&[(
            key(73, &events[3]),
            Settlement::Settled { fee: U256::from(1) },
        )])
        .await
        .expect("settled by a peer");
    assert!(
        store
            .unpaid_positions_below(73, u64::MAX >> 1, 10)
            .await
            .expect("unpaid")
            .is_empty(),
        "a settled execution is paid"
    );
    let due = store.due_takeovers(2_000, 100).await.expect("due");
    assert_eq!(
        due,
        vec![key(71, &events[0])],
        "only what is due and unsettled"
    );
    let moved = store.take_over(&due).await.expect("take over");
    assert_eq!(moved.len(), 1);
    assert_eq!(
        moved[0].request, "{\"trigger\":71}",
        "the stored request is what runs"
    );
    assert!(
        store.take_over(&due).await.expect("again").is_empty(),
        "taken over once"
    );

    let receipt = |hash: &str, index| PeerReceipt {
        key: key(71, &events[0]),
        runner: "0xaa".into(),
        receipt_hash: hash.into(),
        index,
    };
    let batch = |digest: &str| PeerBatch {
        digest: digest.into(),
        receipts: format!("[\"{digest}\"]"),
        signature: format!("sig-{digest}"),
    };
    let first = store
        .record_peer_batch("0xpeer", &batch("0xd1"), &[receipt("0xh1", 0)])
        .await
        .expect("first batch");
    assert!(first.is_empty());
    let same = store
        .record_peer_batch("0xpeer", &batch("0xd2"), &[receipt("0xh1", 3)])
        .await
        .expect("same receipt again");
    assert!(
        same.is_empty(),
        "the same receipt in another batch is no conflict"
    );
    let conflicts = store
        .record_peer_batch("0xpeer", &batch("0xd3"), &[receipt("0xh2", 1)])
        .await
        .expect("conflicting batch");
    assert_eq!(conflicts.len(), 1, "{conflicts:?}");
    assert_eq!(conflicts[0].earlier_index, 0);
    assert_eq!(conflicts[0].index, 1);
    assert_eq!(conflicts[0].earlier.signature, "sig-0xd1");
    // Looking, without keeping: the conflict is found, and the batch looked at is not kept.
    let found = store
        .peer_conflicts("0xpeer", &[receipt("0xh9", 2)])
        .await
        .expect("look");
    assert_eq!((found.len(), found[0].index), (1, 2), "{found:?}");
    assert!(
        store
            .peer_batch("0xpeer", "0xd9")
            .await
            .expect("read")
            .is_none()
    );
    assert_eq!(
        store
            .peer_batch("0xpeer", "0xd1")
            .await
            .expect("read")
            .map(|b| b.signature),
        Some("sig-0xd1".into())
    );
    assert!(
        store
            .record_peer_batch("0xother", &batch("0xd4"), &[receipt("0xh3", 0)])
            .await
            .expect("another signer")
            .is_empty(),
        "conflicts are per signer"
    );
    store
        .mark_cosigned("0xpeer", "0xd1")
        .await
        .expect("cosigned");
    let (_, attested) = store.network_counts().await.expect("counts");
    assert_eq!(attested, 1);
    assert!(
        store
            .record_equivocation("0xpeer", key(71, &events[0]), "two results")
            .await
            .expect("report")
    );
    assert!(
        !store
            .record_equivocation("0xpeer", key(71, &events[0]), "two results")
            .await
            .expect("report again")
    );
}

/// A co-signer records peers' batches while the keeper's other tasks write: SQLite must not
/// refuse either with "database is locked" (a transaction that reads before it writes fails
/// without waiting when another connection commits in between).
#[tokio::test(flavor = "multi_thread")]
async fn peer_batches_are_recorded_while_others_write() {
    let dir = tempfile::tempdir().expect("tempdir");
    let url = format!("sqlite://{}", dir.path().join("busy.db").display());
    let store = Store::connect(&url).await.expect("connect");
    let events: Vec<Event> = (500..700).map(event).collect();
    let writer = {
        let store = store.clone();
        let events = events.clone();
        tokio::spawn(async move {
            for e in &events {
                store
                    .ingest("eip155:1/busy", &[ingest(e)], &[pending(90, e, 500)], None)
                    .await
                    .expect("ingest while batches are recorded");
            }
        })
    };
    for (i, e) in events.iter().enumerate() {
        let digest = format!("0x{i:064x}");
        store
            .record_peer_batch(
                "0xpeer",
                &PeerBatch {
                    digest: digest.clone(),
                    receipts: "[]".into(),
                    signature: "0x".into(),
                },
                &[PeerReceipt {
                    key: key(91, e),
                    runner: "0xpeer".into(),
                    receipt_hash: digest,
                    index: 0,
                }],
            )
            .await
            .expect("record while the store is written to");
    }
    writer.await.expect("writer");
}
