//! EVM contract logs.

mod decode;

pub use decode::{DecodeError, EventAbi, LogContext};
