//! A local Herald network for demos, benchmarks and integration tests.
//!
//! Everything here talks to a real anvil started from the project's own toolchain: the contracts
//! are deployed from `abi/`, the connector and service types charge real fees, keepers are bonded
//! and active, users hold deposited tokens, and webhooks land on a real HTTP server. `herald
//! devnet`, `herald bench` and `anvil-tests/` build on it, so the demo, the figures in the README
//! and the tests exercise the same set-up.
//!
//! Errors are `eyre` reports: every caller is a command or a test that prints them and stops.

mod anvil;
mod demo;
mod keeper;
mod network;
mod receiver;
mod scenario;

pub use anvil::{anvil_path, spawn_anvil, spawn_anvil_finalizing, spawn_anvil_on};
pub use demo::{Demo, DemoOptions, Payout, Progress, SAMPLE_AMOUNTS, free_addr};
pub use keeper::{InProcessKeeper, KeeperSettings, NetworkSettings};
pub use network::{
    BOND, CONNECTOR_DEV_FEE, HTTP_CONNECTOR_TYPE, MAX_RUNNER_FEE, Network, OPERATOR_FEE,
    SERVICE_DEV_FEE, create_trigger, depositor, fund, http_terms, provider_for, signer, terms,
};
pub use receiver::{Received, Receiver};
pub use scenario::{order_subscription, price, sealed_config, sealed_envelope, seed_trigger};
