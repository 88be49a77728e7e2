//! Every setting's default, for serde's `default = "…"`.

pub fn yes() -> bool {
    true
}
pub fn takeover_timeout_ms() -> u64 {
    30_000
}
pub fn attest_timeout_ms() -> u64 {
    5_000
}
pub fn heartbeat_interval_ms() -> u64 {
    5_000
}
pub fn offline_after_ms() -> u64 {
    20_000
}
pub fn low_gas_balance() -> String {
    "0.01".into()
}
pub fn alert_after_ms() -> u64 {
    600_000
}
pub fn settle_confirmations() -> u64 {
    2
}
pub fn max_range() -> u64 {
    2_000
}
pub fn poll_interval_ms() -> u64 {
    1_000
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
pub fn timeout_ms() -> u64 {
    10_000
}
pub fn max_attempts() -> u32 {
    6
}
pub fn base_delay_ms() -> u64 {
    500
}
pub fn max_delay_ms() -> u64 {
    60_000
}
pub fn concurrency() -> usize {
    256
}
pub fn batch_size() -> u32 {
    100
}
pub fn batch_age_ms() -> u64 {
    1_000
}
pub fn runner_fee() -> String {
    "0".into()
}
pub fn confirm_timeout_ms() -> u64 {
    60_000
}
