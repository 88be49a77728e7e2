//! The keeper node. Today: the trigger set, rebuilt from the registry's events.

pub mod triggers;

pub use triggers::{LoadReport, TriggerSetError, load_triggers};
