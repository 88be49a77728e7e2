//! Waiting for a keeper to get somewhere.

use std::time::Duration;

use crate::KeeperProcess;

/// Polls `check` every 100 ms for up to `secs`; panics with `what` and the keeper's log otherwise.
pub async fn eventually(
    secs: u64,
    keeper: &KeeperProcess,
    what: &str,
    mut check: impl AsyncFnMut() -> bool,
) {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(secs);
    while tokio::time::Instant::now() < deadline {
        if check().await {
            return;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!(
        "timed out waiting for {what}\nkeeper log:\n{}",
        keeper.logs()
    );
}
