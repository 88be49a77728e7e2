//! Running pending executions with bounded concurrency, and writing their results in batches.

use std::{
    future::Future,
    sync::Arc,
    time::{Duration, Instant},
};

use herald_api::Metrics;
use herald_store::{Finished, PendingExecution, Store};
use tokio::{
    sync::{Notify, Semaphore, mpsc},
    task::JoinSet,
};

use crate::{backoff::Backoff, runner::Runner};

/// A pending execution and when it was handed to the runners.
pub(super) type Dispatched = (PendingExecution, Instant);

/// Runs pending executions with bounded concurrency until `stopping` resolves; then takes no
/// more and waits for those in flight, so that a stopping keeper records what it delivered rather
/// than deliver it again after a restart. (What it had not started is pending in the store and
/// resumed then.) The supervisor aborts whatever is still running after its grace period.
pub(super) async fn run_executions(
    runner: Runner,
    mut pending: mpsc::Receiver<Dispatched>,
    done: mpsc::Sender<Finished>,
    concurrency: usize,
    metrics: Arc<Metrics>,
    stopping: impl Future<Output = ()>,
) {
    let slots = Arc::new(Semaphore::new(concurrency));
    let mut in_flight = JoinSet::new();
    tokio::pin!(stopping);
    loop {
        let next = tokio::select! {
            biased;
            () = &mut stopping => break,
            next = pending.recv() => next,
        };
        let Some((execution, dispatched)) = next else {
            break;
        };
        let permit = tokio::select! {
            biased;
            () = &mut stopping => break,
            permit = slots.clone().acquire_owned() => match permit {
                Ok(permit) => permit,
                Err(_) => break,
            },
        };
        let (runner, done, metrics) = (runner.clone(), done.clone(), metrics.clone());
        in_flight.spawn(async move {
            let finished = runner.run(execution.key, &execution.request).await;
            metrics.latency(dispatched.elapsed());
            let _ = done.send(finished).await;
            drop(permit);
        });
        while in_flight.try_join_next().is_some() {}
    }
    if !in_flight.is_empty() {
        tracing::info!(
            executions = in_flight.len(),
            "finishing the executions in flight"
        );
    }
    while in_flight.join_next().await.is_some() {}
}

/// Writes results in batches: whatever has arrived since the last write, in one transaction.
/// Ends once every runner is gone, having written the last results.
pub(super) async fn finish_executions(
    store: Store,
    mut done: mpsc::Receiver<Finished>,
    settle: Arc<Notify>,
    metrics: Arc<Metrics>,
) {
    let mut batch = Vec::new();
    while done.recv_many(&mut batch, 1_024).await > 0 {
        let mut backoff = Backoff::new(Duration::from_millis(50), Duration::from_secs(5));
        while let Err(e) = store.finish(&batch).await {
            backoff.failed("recording results", &e).await;
        }
        for f in &batch {
            metrics.execution(f.status.as_str());
            tracing::debug!(execution = %f.key, status = f.status.as_str(), "execution finished");
        }
        batch.clear();
        settle.notify_one();
    }
}
