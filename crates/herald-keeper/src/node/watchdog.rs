//! The store watchdog: a keeper whose store is gone stops, rather than working on without it.
//!
//! The settler and the finisher meet a failing store as an error to retry (a database restarting,
//! a full disk being cleared): right for a moment, wrong for good. And a SQLite file removed under
//! the keeper fails no write at all. The watchdog tells these apart, and turns a store that is gone — its SQLite file removed or replaced, which no write ever reports
//! (see [`Store::check`]), or a database that has failed every check for [`OUTAGE_LIMIT`] — into a
//! failed task, which stops the node with the cause and a non-zero exit.

use std::time::Duration;

use herald_store::{Store, StoreError};
use tokio::time::Instant;

/// How often the store is checked.
pub(super) const CHECK_INTERVAL: Duration = Duration::from_secs(1);

/// How long the store may fail every check before the keeper gives up on it.
pub(super) const OUTAGE_LIMIT: Duration = Duration::from_secs(30);

/// Checks `store` every [`CHECK_INTERVAL`]; returns the error that makes it unusable.
pub(super) async fn watch(store: Store) -> eyre::Result<()> {
    let mut failing_since: Option<Instant> = None;
    loop {
        tokio::time::sleep(CHECK_INTERVAL).await;
        match store.check().await {
            Ok(()) => {
                if failing_since.take().is_some() {
                    tracing::info!("the store answers again");
                }
            }
            Err(e @ StoreError::Gone { .. }) => return Err(e.into()),
            Err(e) => {
                let since = *failing_since.get_or_insert_with(Instant::now);
                if since.elapsed() >= OUTAGE_LIMIT {
                    return Err(eyre::Report::new(e).wrap_err(format!(
                        "the store failed every check for {}s",
                        OUTAGE_LIMIT.as_secs()
                    )));
                }
                tracing::warn!(error = %e, "the store does not answer");
            }
        }
    }
}
