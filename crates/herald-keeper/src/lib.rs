//! The keeper node. Today: the trigger set rebuilt from the registry's events, and the price and
//! budget check the dispatcher makes before running a service.

pub mod price;
pub mod triggers;

pub use price::{PriceList, Quote, Refusal, admit};

pub use triggers::{LoadReport, TriggerSetError, load_triggers};
