//! Every setting's default, for serde's `default = "…"`.

use std::time::Duration;

pub fn yes() -> bool {
    true
}
pub fn takeover_timeout() -> Duration {
    Duration::from_millis(30_000)
}
pub fn attest_timeout() -> Duration {
    Duration::from_millis(5_000)
}
pub fn heartbeat_interval() -> Duration {
    Duration::from_millis(5_000)
}
pub fn offline_after() -> Duration {
    Duration::from_millis(20_000)
}
pub fn low_gas_balance() -> String {
    "0.01".into()
}
pub fn alert_after() -> Duration {
    Duration::from_millis(600_000)
}
pub fn settle_confirmations() -> u64 {
    2
}
pub fn max_range() -> u64 {
    2_000
}
pub fn poll_interval() -> Duration {
    Duration::from_millis(1_000)
}
pub fn reorg_depth() -> u64 {
    64
}
pub fn key_env() -> String {
    "HERALD_PRIVATE_KEY".into()
}
pub fn password_env() -> String {
    "HERALD_KEYSTORE_PASSWORD".into()
}
pub fn encryption_key_env() -> String {
    "HERALD_ENCRYPTION_KEY".into()
}
pub fn store_url() -> String {
    "sqlite://keeper.db".into()
}
pub fn timeout() -> Duration {
    Duration::from_millis(10_000)
}
pub fn max_attempts() -> u32 {
    6
}
pub fn base_delay() -> Duration {
    Duration::from_millis(500)
}
pub fn max_delay() -> Duration {
    Duration::from_millis(60_000)
}
pub fn concurrency() -> usize {
    256
}
pub fn batch_size() -> u32 {
    100
}
pub fn batch_age() -> Duration {
    Duration::from_millis(1_000)
}
pub fn runner_fee() -> String {
    "0".into()
}
pub fn confirm_timeout() -> Duration {
    Duration::from_millis(60_000)
}
