//! The keeper's main loop: read the chain, the API's events and relayed ones, dispatch, and hand
//! pending executions to the runners.

use std::time::{Duration, Instant};

use herald_api::Metrics;
use herald_connectors::evm::{LogFollower, Step};
use herald_core::Event;
use herald_store::{Cursor, Store};
use tokio::sync::mpsc;

use super::{CONNECTOR, Dispatched};
use crate::{
    backoff::Backoff,
    dispatch::{Dispatcher, HTTP_STREAM, Ingested},
    network::relay::Relayed,
    triggers::HTTP_CONNECTOR,
};

/// What the main loop hands its results to.
pub(super) struct Wiring<'a> {
    pub(super) store: &'a Store,
    pub(super) run_tx: &'a mpsc::Sender<Dispatched>,
    pub(super) reorg_depth: u64,
    pub(super) metrics: &'a Metrics,
}

impl Wiring<'_> {
    /// Counts what a dispatch produced and hands its executions to the runners, waiting while
    /// their queue is full: a keeper behind on deliveries reads no further until it catches up
    /// (what it ingested waits as pending rows in the store, not in memory).
    async fn started(&self, connector: &str, ingested: Ingested) -> eyre::Result<()> {
        self.metrics.events_in(connector, ingested.logs);
        self.metrics
            .matched((ingested.started.len() + ingested.skipped.len()) as u64);
        for (key, reason) in &ingested.skipped {
            self.metrics.execution("skipped");
            tracing::info!(execution = %key, %reason, "execution skipped");
        }
        let dispatched = Instant::now();
        for pending in ingested.started {
            self.run_tx.send((pending, dispatched)).await?;
        }
        Ok(())
    }
}

/// Dispatches the API's events stored after the `http` stream's cursor.
pub(super) async fn redispatch_api_events(
    dispatcher: &mut Dispatcher,
    w: &Wiring<'_>,
) -> eyre::Result<()> {
    loop {
        let after = w.store.cursor(HTTP_STREAM).await?.map_or(0, |c| c.block);
        let events = w.store.events_after(HTTP_CONNECTOR, after, 1_024).await?;
        if events.is_empty() {
            return Ok(());
        }
        tracing::info!(events = events.len(), "dispatching stored API events");
        let ingested = dispatcher.ingest_events(&events).await?;
        w.started(HTTP_CONNECTOR, ingested).await?;
    }
}

/// What the main loop reads besides the chain.
pub(super) struct Feeds<'a> {
    /// Events posted to this keeper's API (when it serves one).
    pub(super) api: Option<&'a mut mpsc::Receiver<Event>>,
    /// Events other keepers relayed to this one (in a network).
    pub(super) relayed: Option<&'a mut mpsc::Receiver<Relayed>>,
}

/// The main loop: read the chain, the API's events and relayed ones, dispatch, hand pending
/// executions to the runners.
pub(super) async fn follow(
    follower: &mut LogFollower,
    dispatcher: &mut Dispatcher,
    mut feeds: Feeds<'_>,
    w: &Wiring<'_>,
) -> eyre::Result<()> {
    let (store, reorg_depth, metrics) = (w.store, w.reorg_depth, w.metrics);
    let mut backoff = Backoff::new(Duration::from_millis(100), Duration::from_secs(30));
    let mut progress: Option<indicatif::ProgressBar> = None;
    let mut api_events = Vec::new();
    loop {
        let api_batch = async {
            match feeds.api.as_deref_mut() {
                Some(feed) => feed.recv_many(&mut api_events, 1_024).await,
                None => std::future::pending().await,
            }
        };
        let relay = async {
            match feeds.relayed.as_deref_mut() {
                Some(feed) => feed.recv().await,
                None => std::future::pending().await,
            }
        };
        // `LogFollower::next` changes nothing before it returns, so dropping it for an API event
        // loses nothing.
        let next = tokio::select! {
            next = follower.next() => next,
            received = api_batch => {
                if received == 0 {
                    feeds.api = None; // the API stopped
                } else {
                    let ingested = dispatcher.ingest_events(&api_events).await?;
                    w.started(HTTP_CONNECTOR, ingested).await?;
                    api_events.clear();
                }
                continue;
            }
            relayed = relay => {
                match relayed {
                    None => feeds.relayed = None, // the peer routes stopped
                    Some(relayed) => {
                        // Answered either way: the relaying keeper keeps the event until this
                        // keeper has recorded it, and asks again after an error.
                        let recorded = dispatcher
                            .ingest_relayed(&relayed.event, &relayed.triggers)
                            .await;
                        let answer = match recorded {
                            Ok((ingested, recorded)) => {
                                w.started(HTTP_CONNECTOR, ingested).await?;
                                Ok(recorded)
                            }
                            Err(e) => Err(e.to_string()),
                        };
                        let _ = relayed.done.send(answer);
                    }
                }
                continue;
            }
        };
        let step = match next {
            Ok(step) => step,
            Err(e) => {
                metrics.rpc_error();
                backoff.failed("reading the chain", &e).await;
                continue;
            }
        };
        backoff.succeeded();
        match step {
            Step::Blocks {
                from,
                to,
                to_hash,
                head,
                blocks,
            } => {
                if head.saturating_sub(to) > 0 && progress.is_none() && head - from > 1_000 {
                    let bar = indicatif::ProgressBar::new(head - from);
                    bar.set_message("backfilling");
                    progress = Some(bar);
                }
                let cursor = Cursor {
                    block: to,
                    block_hash: to_hash.to_string(),
                };
                let ingested = dispatcher.ingest(&blocks, cursor).await?;
                let (triggers_changed, cut_after) = (ingested.triggers_changed, ingested.cut_after);
                w.started(CONNECTOR, ingested).await?;
                if triggers_changed {
                    follower.set_addresses(dispatcher.addresses());
                }
                let to = match cut_after {
                    Some((number, hash)) => {
                        tracing::debug!(
                            after = number,
                            "a new trigger watches another contract: reading on with it"
                        );
                        follower.resume_after(number, hash);
                        number
                    }
                    None => to,
                };
                if let Some(bar) = &progress {
                    bar.inc(to - from + 1);
                    if to >= head {
                        bar.finish_and_clear();
                        progress = None;
                    }
                }
            }
            Step::Reorg { at } => {
                let from = at.saturating_sub(reorg_depth);
                let mut retracted = 0;
                for (number, hash) in store.event_blocks(&dispatcher.stream, from).await? {
                    let canonical = follower.canonical_hash(number).await?;
                    if canonical.map(|h| h.to_string()) != Some(hash.clone()) {
                        for key in store.retract_block(&dispatcher.stream, &hash).await? {
                            dispatcher.budgets_mut().release(key);
                            retracted += 1;
                        }
                    }
                }
                tracing::warn!(at, rescan_from = from, retracted, "reorg: block replaced");
                follower.rewind(from);
            }
        }
    }
}
