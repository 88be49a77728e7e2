//! The keeper node: follows a chain, matches its logs against the trigger set rebuilt from the
//! registry, runs the triggers' services, and settles signed receipts. See `node` for how the parts
//! fit and why a crash at any point loses nothing and pays nothing twice.

pub mod backoff;
pub mod budget;
pub mod conduct;
pub mod config;
pub mod cosign;
pub mod defend;
pub mod derive;
pub mod dispatch;
pub mod finality;
pub mod gas_watch;
pub mod network;
pub mod node;
pub mod price;
pub mod runner;
pub mod secrets;
pub mod settler;
pub mod triggers;

pub use config::{ConfigError, KeeperConfig};
pub use price::{PriceList, Quote, Refusal, admit};
pub use triggers::{FeeFloor, LoadReport, TriggerSet, TriggerSetError, load_triggers, source_key};
