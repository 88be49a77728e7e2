//! The node's long-lived tasks, supervised.
//!
//! Every task here is meant to run until the node stops. One that ends early, by returning, by
//! failing or by panicking, is a fault: the node stops with an error that names it and its cause instead of going on half
//! alive (a dead settler while ingestion goes on leaves work piling up unpaid, and nothing says
//! so). Stopping is safe because crash safety comes from the order of writes (see `node`): the
//! process supervisor restarts the keeper, which resumes where its store says.
//!
//! Most tasks are simply aborted when the node stops. A task that holds connections open for
//! others (the REST API) is told first and given [`GRACE`] to close them, or its clients would go
//! on talking to a node that is gone.

use std::{
    any::Any,
    collections::{HashMap, HashSet},
    future::Future,
    time::Duration,
};

use tokio::{
    sync::watch,
    task::{Id, JoinError, JoinSet},
};

/// How long a graceful task is given to finish once the node stops.
pub(super) const GRACE: Duration = Duration::from_secs(5);

/// The tasks, by name.
pub(super) struct Tasks {
    set: JoinSet<eyre::Result<()>>,
    names: HashMap<Id, &'static str>,
    graceful: HashSet<Id>,
    stopping: watch::Sender<bool>,
}

impl Default for Tasks {
    fn default() -> Self {
        Self {
            set: JoinSet::new(),
            names: HashMap::new(),
            graceful: HashSet::new(),
            stopping: watch::channel(false).0,
        }
    }
}

impl Tasks {
    /// Runs `task` as `name` until the node stops; `task` gets a future that resolves when the
    /// node begins to stop, and [`GRACE`] to end after it.
    pub(super) fn spawn_graceful<F>(
        &mut self,
        name: &'static str,
        task: impl FnOnce(std::pin::Pin<Box<dyn Future<Output = ()> + Send>>) -> F,
    ) where
        F: Future<Output = ()> + Send + 'static,
    {
        let mut stopping = self.stopping.subscribe();
        let signal = Box::pin(async move {
            let _ = stopping.wait_for(|stopping| *stopping).await;
        });
        let task = task(signal);
        let id = self
            .set
            .spawn(async move {
                task.await;
                Ok(())
            })
            .id();
        self.names.insert(id, name);
        self.graceful.insert(id);
    }

    /// Runs `task` as `name` until the node stops.
    pub(super) fn spawn(
        &mut self,
        name: &'static str,
        task: impl Future<Output = ()> + Send + 'static,
    ) {
        self.spawn_fallible(name, async move {
            task.await;
            Ok(())
        });
    }

    /// Runs `task` as `name` until the node stops, or until it fails: its error stops the node.
    pub(super) fn spawn_fallible(
        &mut self,
        name: &'static str,
        task: impl Future<Output = eyre::Result<()>> + Send + 'static,
    ) {
        let id = self.set.spawn(task).id();
        self.names.insert(id, name);
    }

    /// Waits until some task ends, and says which and how. Never resolves while none runs.
    pub(super) async fn first_to_stop(&mut self) -> eyre::Report {
        match self.set.join_next_with_id().await {
            Some(Ok((id, Ok(())))) => eyre::eyre!("the {} task stopped", self.name(id)),
            Some(Ok((id, Err(e)))) => e.wrap_err(format!("the {} task failed", self.name(id))),
            Some(Err(e)) => {
                let name = self.name(e.id());
                eyre::eyre!("the {name} task {}", how_it_failed(e))
            }
            None => std::future::pending().await,
        }
    }

    /// Stops every task and waits until each has, so that none outlives the node: graceful tasks
    /// are told and waited for (at most [`GRACE`]), the rest aborted.
    pub(super) async fn stop(mut self) {
        self.stopping.send_replace(true);
        let deadline = tokio::time::Instant::now() + GRACE;
        while !self.graceful.is_empty() {
            match tokio::time::timeout_at(deadline, self.set.join_next_with_id()).await {
                Ok(Some(Ok((id, _)))) => {
                    self.graceful.remove(&id);
                }
                Ok(Some(Err(e))) => {
                    self.graceful.remove(&e.id());
                    let name = self.name(e.id());
                    tracing::error!(
                        task = name,
                        "the {name} task {} while stopping",
                        how_it_failed(e)
                    );
                }
                Ok(None) | Err(_) => break,
            }
        }
        self.set.abort_all();
        while let Some(joined) = self.set.join_next_with_id().await {
            if let Err(e) = joined
                && !e.is_cancelled()
            {
                let name = self.name(e.id());
                tracing::error!(
                    task = name,
                    "the {name} task {} while stopping",
                    how_it_failed(e)
                );
            }
        }
    }

    fn name(&self, id: Id) -> &'static str {
        self.names.get(&id).copied().unwrap_or("unnamed")
    }
}

fn how_it_failed(e: JoinError) -> String {
    if e.is_cancelled() {
        return "was cancelled".into();
    }
    format!("panicked: {}", panic_message(e.into_panic()))
}

fn panic_message(payload: Box<dyn Any + Send>) -> String {
    match payload.downcast::<String>() {
        Ok(message) => *message,
        Err(payload) => payload
            .downcast_ref::<&str>()
            .map_or_else(|| "(no message)".into(), |m| (*m).to_string()),
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;

    #[tokio::test]
    async fn a_panicking_task_is_named_with_its_message() {
        let mut tasks = Tasks::default();
        tasks.spawn("steady", std::future::pending());
        tasks.spawn("settler", async { panic!("store gone") });
        let report = tasks.first_to_stop().await.to_string();
        assert_eq!(report, "the settler task panicked: store gone");
        tasks.stop().await;
    }

    #[tokio::test]
    async fn a_task_that_returns_is_a_fault_too() {
        let mut tasks = Tasks::default();
        tasks.spawn("steady", std::future::pending());
        tasks.spawn("finisher", async {});
        assert_eq!(
            tasks.first_to_stop().await.to_string(),
            "the finisher task stopped"
        );
    }

    #[tokio::test]
    async fn a_task_that_fails_stops_the_node_with_its_cause() {
        let mut tasks = Tasks::default();
        tasks.spawn("steady", std::future::pending());
        tasks.spawn_fallible("store watchdog", async {
            eyre::bail!("the file was removed")
        });
        assert_eq!(
            format!("{:#}", tasks.first_to_stop().await),
            "the store watchdog task failed: the file was removed"
        );
    }

    #[tokio::test]
    async fn a_graceful_task_is_told_and_finishes_before_the_rest_are_aborted() {
        let mut tasks = Tasks::default();
        let (tx, rx) = tokio::sync::oneshot::channel::<&'static str>();
        tasks.spawn("steady", std::future::pending());
        tasks.spawn_graceful("api", |stopping| async move {
            stopping.await;
            tokio::time::sleep(Duration::from_millis(20)).await; // closing its connections
            let _ = tx.send("closed");
        });
        tasks.stop().await;
        assert_eq!(rx.await, Ok("closed"), "it ran to its end, not aborted");
    }

    #[tokio::test]
    async fn stop_waits_for_every_task_and_none_is_reported_while_all_run() {
        let mut tasks = Tasks::default();
        let (tx, rx) = tokio::sync::oneshot::channel::<()>();
        tasks.spawn("holder", async move {
            let _tx = tx;
            std::future::pending::<()>().await;
        });
        assert!(
            tokio::time::timeout(Duration::from_millis(50), tasks.first_to_stop())
                .await
                .is_err(),
            "no task ended"
        );
        tasks.stop().await;
        // Aborted and joined: its sender is dropped.
        assert!(rx.await.is_err());
    }
}
