//! EVM contract logs.

mod decode;
mod follow;
mod heads;

pub use decode::{DecodeError, EventAbi, LogContext, log_hash, raw_payload};
pub use follow::{BlockLogs, FollowConfig, FollowError, LogFollower, Step};
pub use heads::HeadSource;
