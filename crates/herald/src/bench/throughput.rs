//! `herald bench throughput`: sustained matched executions per second, durably, with delivery.
//!
//! The emitter sends `events / per-tx` pre-signed `mintBatch` transactions back to back, each
//! emitting `per-tx` Transfers that all match the trigger. The keeper reads each block's logs,
//! decodes and matches them, writes events, executions and cursor in one transaction, POSTs every
//! webhook (signed, to the local receiver) and records the results, while its settler submits
//! receipts. The rate is executions delivered divided by the time from the first transaction sent
//! to the last webhook received. Progress is counted in distinct `webhook-id`s: `lost` counts
//! matched events whose webhook never arrived, `redelivered` the requests that repeated one that
//! had (never counted as progress), and `unreceived` the executions the keeper's store records as
//! succeeded whose webhook the receiver never got. Then the benchmark waits for every receipt to
//! settle on chain and reports that too.

use std::{
    collections::HashSet,
    time::{Duration, Instant},
};

use alloy::{primitives::U256, sol_types::SolCall};
use clap::Args;
use herald_chain::bindings::HeraldTestToken;
use herald_devnet::KeeperSettings;
use herald_store::Store;

use super::rig::Rig;

/// Most Transfers per `mintBatch`: each adds about 195 bytes to the transaction's receipt, which
/// must stay provable (`MAX_PROVABLE_RECEIPT_BYTES`) for its logs to be events.
const MAX_PER_TX: usize = 300;

#[derive(Args)]
pub(crate) struct ThroughputArgs {
    /// Matched events in total.
    #[arg(long, default_value_t = 20_000)]
    events: usize,
    /// Events per transaction (one `mintBatch` each), at most [`MAX_PER_TX`].
    #[arg(long, default_value_t = 250)]
    per_tx: usize,
    /// Longest to wait for the last delivery and for settlement, seconds.
    #[arg(long, default_value_t = 300)]
    timeout: u64,
    /// Keepers: one signs alone; several form a network where the trigger's performer collects a
    /// majority of co-signatures, each peer checking every receipt against its own node.
    #[arg(long, default_value_t = 1)]
    keepers: usize,
}

pub(crate) async fn run(args: ThroughputArgs, json: bool) -> eyre::Result<()> {
    if args.per_tx == 0 || args.events == 0 {
        eyre::bail!("--events and --per-tx must be at least 1");
    }
    if args.per_tx > MAX_PER_TX {
        eyre::bail!(
            "--per-tx {} is above {MAX_PER_TX}: a receipt of more Transfers is over the {} KiB a \
             fraud challenge can prove, and keepers take no events from it",
            args.per_tx,
            herald_connectors::evm::MAX_PROVABLE_RECEIPT_BYTES / 1024
        );
    }
    let rig = Rig::start(
        KeeperSettings {
            batch_size: 500,
            batch_age_ms: 200,
            ..KeeperSettings::default()
        },
        args.keepers,
    )
    .await?;
    let mut emitter = rig.emitter().await?;
    let to = emitter.address();
    let batches = args.events.div_ceil(args.per_tx);
    let events = batches * args.per_tx;
    let mint_batch = |first: usize| -> alloy::primitives::Bytes {
        HeraldTestToken::mintBatchCall {
            to,
            amount: U256::from(11 + first),
            count: U256::from(args.per_tx),
        }
        .abi_encode()
        .into()
    };
    let gas = emitter.estimate(mint_batch(0)).await?;
    let mut signed = Vec::with_capacity(batches);
    for b in 0..batches {
        signed.push(emitter.sign(mint_batch(b * args.per_tx), gas).await?);
    }

    let start = Instant::now();
    for raw in &signed {
        emitter.send(raw).await?;
    }
    let sent = start.elapsed();
    let timeout = Duration::from_secs(args.timeout);
    let complete = rig.receiver.wait_for_distinct(events, timeout).await;
    let received = rig.receiver.delivered();
    let last = received.iter().map(|r| r.at).max().unwrap_or(start);
    let elapsed = last.saturating_duration_since(start);
    let ids: HashSet<&str> = received
        .iter()
        .filter_map(|r| r.header("webhook-id"))
        .collect();
    let lost = events.saturating_sub(ids.len());
    let redelivered = received.len() - ids.len();
    let rate = ids.len() as f64 / elapsed.as_secs_f64().max(1e-9);

    // Settlement runs behind delivery; wait for it to finish before stopping the keeper.
    let store = Store::connect(&rig.keeper.store_url).await?;
    let settled = wait_settled(&store, events, start, timeout).await?;
    let succeeded = count(&store, |status, _| status == "succeeded").await?;
    let unreceived = (succeeded as usize).saturating_sub(ids.len());
    store.close().await;
    rig.stop().await?;

    if json {
        println!(
            "{}",
            serde_json::json!({
                "executions_per_second": rate.round(),
                "lost": lost,
                "events": events,
                "redelivered": redelivered,
                "unreceived": unreceived,
                "seconds": elapsed.as_secs_f64(),
                "emit_seconds": sent.as_secs_f64(),
                "settled": settled.0,
                "settled_seconds": settled.1.as_secs_f64(),
                "keepers": args.keepers,
            })
        );
    } else {
        println!(
            "throughput: executions/s={rate:.0} lost={lost} (events={events} in {:.2}s, \
             redelivered={redelivered} unreceived={unreceived}; settled {} of {events} on chain after {:.2}s; keepers={})",
            elapsed.as_secs_f64(),
            settled.0,
            settled.1.as_secs_f64(),
            args.keepers,
        );
    }
    if unreceived > 0 {
        eyre::bail!("{unreceived} executions recorded as succeeded never reached the receiver");
    }
    if !complete || lost > 0 {
        eyre::bail!("{lost} of {events} executions were not delivered within {timeout:?}");
    }
    Ok(())
}

/// Polls the keeper's store until `events` executions are settled; returns how many were and when.
async fn wait_settled(
    store: &Store,
    events: usize,
    start: Instant,
    timeout: Duration,
) -> eyre::Result<(u64, Duration)> {
    let deadline = start + timeout;
    loop {
        let settled = count(store, |_, settlement| settlement == "settled").await?;
        if settled >= events as u64 || Instant::now() >= deadline {
            return Ok((settled, start.elapsed()));
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// How many of the store's executions are in a (status, settlement) pair `which` picks.
async fn count(store: &Store, which: impl Fn(&str, &str) -> bool) -> eyre::Result<u64> {
    Ok(store
        .execution_counts()
        .await?
        .iter()
        .filter(|(status, settlement, _)| which(status, settlement))
        .map(|(_, _, n)| n)
        .sum())
}
