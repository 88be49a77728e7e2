//! Events: "something happened", with an id that is also a logical clock.
//!
//! An [`Event`] maps one to one onto a CloudEvents 1.0 event: `id`, `source`, `type`, `subject`,
//! `time`, `datacontenttype`, `dataschema` and `data` are the CloudEvents attributes of the same
//! name, and the [`Ttl`] travels as the extension attributes `heraldmaxhops`, `heraldhops` and
//! `heraldexpires`. Other extension attributes are kept as they are, so the conversion is lossless.

mod cloudevent;
mod envelope;
mod id;

#[cfg(test)]
mod tests;

pub use cloudevent::CloudEventError;
pub use envelope::{DropReason, DropTally, Event, Ttl};
pub use id::{EventId, LogPosition};
