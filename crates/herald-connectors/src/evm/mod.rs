//! EVM contract logs.

mod decode;
mod follow;
mod heads;

pub use decode::{
    DecodeError, EventAbi, LogContext, MAX_PROVABLE_RECEIPT_BYTES, log_hash, raw_payload,
    receipt_size_bound,
};
pub use follow::{BlockLogs, FollowConfig, FollowError, LogFollower, Step};
pub use heads::HeadSource;
