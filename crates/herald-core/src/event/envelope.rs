//! The event itself and its time to live: how far and how long it may travel.

use std::collections::BTreeMap;

use jiff::Timestamp;
use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::EventId;

/// How far and how long an event may travel.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Ttl {
    /// Most hops the event may take.
    pub max_hops: u32,
    /// Hops taken so far.
    pub hops: u32,
    /// After this time the event is no longer valid.
    pub expires_at: Option<Timestamp>,
}

impl Default for Ttl {
    fn default() -> Self {
        Self {
            max_hops: 8,
            hops: 0,
            expires_at: None,
        }
    }
}

/// Why an event was dropped instead of processed.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum DropReason {
    /// Past its expiry time.
    Expired,
    /// Forwarding it would exceed its maximum number of hops.
    TooManyHops,
}

impl DropReason {
    /// A stable label, for metrics and logs.
    pub const fn as_str(&self) -> &'static str {
        match self {
            Self::Expired => "expired",
            Self::TooManyHops => "too_many_hops",
        }
    }
}

/// Counts of dropped events by reason.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct DropTally {
    /// Events dropped because they expired.
    pub expired: u64,
    /// Events dropped because they had taken too many hops.
    pub too_many_hops: u64,
}

impl DropTally {
    /// Counts one drop.
    pub fn record(&mut self, reason: DropReason) {
        match reason {
            DropReason::Expired => self.expired += 1,
            DropReason::TooManyHops => self.too_many_hops += 1,
        }
    }
}

/// Something that happened, as connectors produce it and the dispatcher matches it.
#[derive(Clone, Debug, PartialEq)]
pub struct Event {
    /// Unique and time-ordered.
    pub id: EventId,
    /// What happened, e.g. `evm.log` or a user-defined event name.
    pub kind: String,
    /// Where it happened, a URI-reference, e.g. `eip155:1/0xdac1…` or `/v1/events/orders`.
    pub source: String,
    /// What it is about, within the source.
    pub subject: Option<String>,
    /// When it happened.
    pub time: Timestamp,
    /// Media type of `data`; Herald events carry JSON.
    pub content_type: Option<String>,
    /// URI of the schema `data` follows.
    pub data_schema: Option<String>,
    /// How far and how long it may travel.
    pub ttl: Ttl,
    /// The payload triggers filter on.
    pub data: Value,
    /// CloudEvents extension attributes Herald does not interpret, kept for lossless round trips.
    pub extensions: BTreeMap<String, Value>,
}

impl Event {
    /// A new event with a fresh UUIDv7 id, the current time and the default TTL.
    pub fn new(kind: impl Into<String>, source: impl Into<String>, data: Value) -> Self {
        Self {
            id: EventId::new_v7(),
            kind: kind.into(),
            source: source.into(),
            subject: None,
            time: Timestamp::now(),
            content_type: Some("application/json".into()),
            data_schema: None,
            ttl: Ttl::default(),
            data,
            extensions: BTreeMap::new(),
        }
    }

    /// Whether the event may still be processed at `now`.
    pub fn check_alive(&self, now: Timestamp) -> Result<(), DropReason> {
        match self.ttl.expires_at {
            Some(expiry) if now > expiry => Err(DropReason::Expired),
            _ => Ok(()),
        }
    }

    /// The event as passed on one more hop, or why it may not be.
    pub fn forwarded(&self, now: Timestamp) -> Result<Self, DropReason> {
        self.check_alive(now)?;
        if self.ttl.hops >= self.ttl.max_hops {
            return Err(DropReason::TooManyHops);
        }
        let mut next = self.clone();
        next.ttl.hops += 1;
        Ok(next)
    }
}
