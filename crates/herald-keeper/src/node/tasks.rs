//! The node's long-lived tasks, supervised.
//!
//! Every task here is meant to run until the node stops. One that ends early, by returning or by
//! panicking, is a fault: the node stops with an error that names it instead of going on half
//! alive (a dead settler while ingestion goes on leaves work piling up unpaid, and nothing says
//! so). Stopping is safe because crash safety comes from the order of writes (see `node`): the
//! process supervisor restarts the keeper, which resumes where its store says.

use std::{any::Any, collections::HashMap, future::Future};

use tokio::task::{Id, JoinError, JoinSet};

/// The tasks, by name.
#[derive(Default)]
pub(super) struct Tasks {
    set: JoinSet<()>,
    names: HashMap<Id, &'static str>,
}

impl Tasks {
    /// Runs `task` as `name` until the node stops.
    pub(super) fn spawn(
        &mut self,
        name: &'static str,
        task: impl Future<Output = ()> + Send + 'static,
    ) {
        let id = self.set.spawn(task).id();
        self.names.insert(id, name);
    }

    /// Waits until some task ends, and says which and how. Never resolves while none runs.
    pub(super) async fn first_to_stop(&mut self) -> eyre::Report {
        match self.set.join_next_with_id().await {
            Some(Ok((id, ()))) => eyre::eyre!("the {} task stopped", self.name(id)),
            Some(Err(e)) => {
                let name = self.name(e.id());
                eyre::eyre!("the {name} task {}", how_it_failed(e))
            }
            None => std::future::pending().await,
        }
    }

    /// Stops every task and waits until each has, so that none outlives the node.
    pub(super) async fn stop(mut self) {
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
