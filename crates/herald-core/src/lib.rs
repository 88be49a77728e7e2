//! Herald's domain types, shared by every other crate and free of I/O.
//!
//! - [`event`]: what happened — [`Event`], its time-ordered [`EventId`], its [`Ttl`], and the lossless
//!   mapping to and from CloudEvents 1.0 JSON.
//! - [`filter`]: the trigger filter language as data — field types, paths, operators, filter trees.

pub mod event;
pub mod filter;

pub use event::{CloudEventError, DropReason, DropTally, Event, EventId, LogPosition, Ttl};
pub use filter::{FieldType, Filter, Op, Path, PathError, Predicate, Segment};
