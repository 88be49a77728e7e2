//! Connectors: the parts of a keeper that watch a source and turn what it emits into events.
//!
//! - [`evm`]: contract logs, decoded with the event ABI a trigger gives.

pub mod evm;
