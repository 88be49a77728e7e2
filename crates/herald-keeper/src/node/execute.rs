//! Running pending executions with bounded concurrency, and writing their results in batches.

use std::{
    sync::Arc,
    time::{Duration, Instant},
};

use herald_api::Metrics;
use herald_store::{Finished, PendingExecution, Store};
use tokio::sync::{Notify, Semaphore, mpsc};

use crate::{backoff::Backoff, runner::Runner};

/// A pending execution and when it was handed to the runners.
pub(super) type Dispatched = (PendingExecution, Instant);

/// Runs pending executions with bounded concurrency.
pub(super) async fn run_executions(
    runner: Runner,
    mut pending: mpsc::UnboundedReceiver<Dispatched>,
    done: mpsc::UnboundedSender<Finished>,
    concurrency: usize,
    metrics: Arc<Metrics>,
) {
    let slots = Arc::new(Semaphore::new(concurrency));
    while let Some((execution, dispatched)) = pending.recv().await {
        let Ok(permit) = slots.clone().acquire_owned().await else {
            return;
        };
        let (runner, done, metrics) = (runner.clone(), done.clone(), metrics.clone());
        tokio::spawn(async move {
            let finished = runner.run(execution.key, &execution.request).await;
            metrics.latency(dispatched.elapsed());
            let _ = done.send(finished);
            drop(permit);
        });
    }
}

/// Writes results in batches: whatever has arrived since the last write, in one transaction.
pub(super) async fn finish_executions(
    store: Store,
    mut done: mpsc::UnboundedReceiver<Finished>,
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
