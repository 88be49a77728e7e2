//! EVM contract logs.

mod decode;
mod follow;

pub use decode::{DecodeError, EventAbi, LogContext, raw_payload};
pub use follow::{BlockLogs, FollowConfig, FollowError, LogFollower, Step};
