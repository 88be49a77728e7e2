//! Waiting before retrying a failed call to the node or the store.

use std::time::Duration;

/// Exponential backoff: each failure doubles the wait, up to a cap; a success resets it.
#[derive(Clone, Debug)]
pub struct Backoff {
    initial: Duration,
    max: Duration,
    next: Duration,
}

impl Backoff {
    /// Starts at `initial` and never waits longer than `max`.
    pub fn new(initial: Duration, max: Duration) -> Self {
        Self {
            initial,
            max,
            next: initial,
        }
    }

    /// After a failure: logs `what` failed with `error`, then waits.
    pub async fn failed(&mut self, what: &str, error: &(dyn std::fmt::Display + Sync)) {
        tracing::warn!(%error, retry_in = ?self.next, "{what}");
        tokio::time::sleep(self.next).await;
        self.next = (self.next * 2).min(self.max);
    }

    /// After a success: the next failure waits the initial delay again.
    pub fn succeeded(&mut self) {
        self.next = self.initial;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test(start_paused = true)]
    async fn doubles_up_to_the_cap_and_resets_on_success() {
        let mut backoff = Backoff::new(Duration::from_millis(100), Duration::from_millis(300));
        let mut waits = Vec::new();
        for _ in 0..4 {
            let start = tokio::time::Instant::now();
            backoff.failed("test", &"error").await;
            waits.push(start.elapsed().as_millis());
        }
        assert_eq!(waits, [100, 200, 300, 300]);
        backoff.succeeded();
        let start = tokio::time::Instant::now();
        backoff.failed("test", &"error").await;
        assert_eq!(start.elapsed().as_millis(), 100);
    }
}
