//! Events: "something happened", with an id that is also a logical clock.
//!
//! An [`Event`] maps one to one onto a CloudEvents 1.0 event: `id`, `source`, `type`, `subject`,
//! `time`, `datacontenttype`, `dataschema` and `data` are the CloudEvents attributes of the same
//! name, and the [`Ttl`] travels as the extension attributes `heraldmaxhops`, `heraldhops` and
//! `heraldexpires`. Other extension attributes are kept as they are, so the conversion is lossless.

use std::{collections::BTreeMap, fmt, str::FromStr};

use alloy_primitives::{B256, keccak256};
use jiff::Timestamp;
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use serde_json::{Map, Value};
use uuid::Uuid;

/// A unique, time-ordered event id: 32 bytes whose top 64 bits are the event's position in its
/// source, so that ids of one source sort in the order the events happened.
///
/// - A chain log (see [`LogPosition`]): the position is block number << 28 | transaction index
///   << 14 | index of the log in its transaction; then the chain id (64 bits); then the low 128
///   bits of keccak256(block hash ‖ keccak256(the log's consensus RLP)). Every part is what a
///   contract on that chain can check against a block hash and the block's receipts trie, which is
///   how a receipt for a log that never happened is proven false on chain (`HeraldChallenges`).
///   Two logs never share an id, and a reorged log (another block hash) gets a new one.
/// - Anything else: a UUIDv7 (48-bit millisecond timestamp, then a counter) in the top 16 bytes
///   and zeros after it; a chain log's commitment is never zero, which tells the two apart.
///
/// The settlement contract relies on the position: it pays each trigger's events in increasing
/// position, which is how it refuses a second payment for the same event without storing every id.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct EventId(B256);

/// Where a chain log sits, as its [`EventId`] records it. Ordering by (block, transaction, log in
/// transaction) is the chain's own log order.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct LogPosition {
    /// The chain's EIP-155 id.
    pub chain_id: u64,
    /// The block's number; below 2^36.
    pub block_number: u64,
    /// The transaction's index in its block; below 2^14.
    pub tx_index: u64,
    /// The log's index among its transaction's logs (not the block-wide log index); below 2^14.
    pub log_index_in_tx: u64,
}

impl LogPosition {
    /// Bits of the position given to the block number.
    pub const BLOCK_BITS: u32 = 36;
    /// Bits given to the transaction's index in the block.
    pub const TX_BITS: u32 = 14;
    /// Bits given to the log's index in its transaction.
    pub const LOG_BITS: u32 = 14;

    /// The 64-bit position, or `None` when a part does not fit its bits (a block past 2^36, a
    /// block of more than 16,384 transactions or a transaction of more than 16,384 logs): such a
    /// log cannot be given an id the settlement contract orders correctly, so it is not an event.
    pub fn position(&self) -> Option<u64> {
        let fits = |value: u64, bits: u32| value < 1 << bits;
        (fits(self.block_number, Self::BLOCK_BITS)
            && fits(self.tx_index, Self::TX_BITS)
            && fits(self.log_index_in_tx, Self::LOG_BITS))
        .then_some(
            self.block_number << (Self::TX_BITS + Self::LOG_BITS)
                | self.tx_index << Self::LOG_BITS
                | self.log_index_in_tx,
        )
    }
}

impl EventId {
    /// The id of a chain log at `at` in the block `block_hash`, whose consensus RLP hashes to
    /// `log_hash`; `None` when the position does not fit (see [`LogPosition::position`]).
    pub fn from_log(at: LogPosition, block_hash: B256, log_hash: B256) -> Option<Self> {
        let position = at.position()?;
        let mut preimage = [0u8; 64];
        preimage[..32].copy_from_slice(block_hash.as_slice());
        preimage[32..].copy_from_slice(log_hash.as_slice());
        let commitment = keccak256(preimage);
        let mut bytes = [0u8; 32];
        bytes[..8].copy_from_slice(&position.to_be_bytes());
        bytes[8..16].copy_from_slice(&at.chain_id.to_be_bytes());
        bytes[16..].copy_from_slice(&commitment[16..]);
        // A zero commitment would read as a UUID id; keccak256 gives one with probability 2^-128.
        (bytes[16..] != [0u8; 16]).then(|| Self(B256::from(bytes)))
    }

    /// Where the chain log this id names sits; `None` for an off-chain (UUID) id.
    pub fn log_position(&self) -> Option<LogPosition> {
        if self.as_uuid().is_some() {
            return None;
        }
        let position = self.position();
        let mut chain = [0u8; 8];
        chain.copy_from_slice(&self.0[8..16]);
        let mask = |bits: u32| (1u64 << bits) - 1;
        Some(LogPosition {
            chain_id: u64::from_be_bytes(chain),
            block_number: position >> (LogPosition::TX_BITS + LogPosition::LOG_BITS),
            tx_index: (position >> LogPosition::LOG_BITS) & mask(LogPosition::TX_BITS),
            log_index_in_tx: position & mask(LogPosition::LOG_BITS),
        })
    }

    /// A fresh id for an off-chain event: a UUIDv7, monotonic within this process.
    pub fn new_v7() -> Self {
        Self::from_uuid(Uuid::now_v7())
    }

    /// The id carried by a UUID (any version; v7 keeps the ordering promise).
    pub fn from_uuid(uuid: Uuid) -> Self {
        let mut bytes = [0u8; 32];
        bytes[..16].copy_from_slice(uuid.as_bytes());
        Self(B256::from(bytes))
    }

    /// The id as raw bytes.
    pub const fn from_bytes(bytes: B256) -> Self {
        Self(bytes)
    }

    /// The raw 32 bytes, as the receipt carries them.
    pub const fn as_bytes(&self) -> &B256 {
        &self.0
    }

    /// The position in its source (the top 64 bits).
    pub fn position(&self) -> u64 {
        let mut top = [0u8; 8];
        top.copy_from_slice(&self.0[..8]);
        u64::from_be_bytes(top)
    }

    /// The UUID, when this id was made from one (its low 16 bytes are zero).
    pub fn as_uuid(&self) -> Option<Uuid> {
        if self.0[16..].iter().any(|b| *b != 0) {
            return None;
        }
        let mut bytes = [0u8; 16];
        bytes.copy_from_slice(&self.0[..16]);
        Some(Uuid::from_bytes(bytes))
    }
}

/// UUID-made ids print as the UUID, chain ids as 0x-prefixed hex; [`FromStr`] reads both.
impl fmt::Display for EventId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.as_uuid() {
            Some(uuid) => write!(f, "{}", uuid.hyphenated()),
            None => write!(f, "{}", self.0),
        }
    }
}

impl fmt::Debug for EventId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "EventId({self})")
    }
}

impl FromStr for EventId {
    type Err = CloudEventError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        if let Ok(uuid) = Uuid::try_parse(s) {
            return Ok(Self::from_uuid(uuid));
        }
        if s.len() == 66
            && (s.starts_with("0x") || s.starts_with("0X"))
            && let Ok(bytes) = B256::from_str(s)
        {
            return Ok(Self(bytes));
        }
        Err(CloudEventError::InvalidId(s.to_string()))
    }
}

impl Serialize for EventId {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for EventId {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let s = String::deserialize(deserializer)?;
        s.parse().map_err(serde::de::Error::custom)
    }
}

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

    /// The CloudEvents 1.0 JSON form (structured mode).
    pub fn to_cloudevent(&self) -> Value {
        let mut map = Map::new();
        map.insert("specversion".into(), "1.0".into());
        map.insert("id".into(), self.id.to_string().into());
        map.insert("source".into(), self.source.clone().into());
        map.insert("type".into(), self.kind.clone().into());
        if let Some(subject) = &self.subject {
            map.insert("subject".into(), subject.clone().into());
        }
        map.insert("time".into(), self.time.to_string().into());
        if let Some(ct) = &self.content_type {
            map.insert("datacontenttype".into(), ct.clone().into());
        }
        if let Some(schema) = &self.data_schema {
            map.insert("dataschema".into(), schema.clone().into());
        }
        map.insert(EXT_MAX_HOPS.into(), self.ttl.max_hops.into());
        map.insert(EXT_HOPS.into(), self.ttl.hops.into());
        if let Some(expiry) = self.ttl.expires_at {
            map.insert(EXT_EXPIRES.into(), expiry.to_string().into());
        }
        for (name, value) in &self.extensions {
            map.insert(name.clone(), value.clone());
        }
        map.insert("data".into(), self.data.clone());
        Value::Object(map)
    }

    /// Reads a CloudEvents 1.0 JSON event (structured mode), naming the attribute that is wrong.
    pub fn from_cloudevent(value: &Value) -> Result<Self, CloudEventError> {
        let Value::Object(map) = value else {
            return Err(CloudEventError::NotAnObject);
        };
        match map.get("specversion") {
            Some(Value::String(v)) if v == "1.0" => {}
            Some(other) => return Err(CloudEventError::UnsupportedSpecVersion(other.to_string())),
            None => return Err(CloudEventError::Missing("specversion")),
        }
        let string = |name: &'static str| -> Result<Option<String>, CloudEventError> {
            match map.get(name) {
                None | Some(Value::Null) => Ok(None),
                Some(Value::String(s)) => Ok(Some(s.clone())),
                Some(_) => Err(CloudEventError::WrongType {
                    attribute: name,
                    expected: "a string",
                }),
            }
        };
        let required = |name: &'static str| string(name)?.ok_or(CloudEventError::Missing(name));
        let timestamp = |name: &'static str, text: String| {
            text.parse::<Timestamp>()
                .map_err(|e| CloudEventError::InvalidTime {
                    attribute: name,
                    reason: e.to_string(),
                })
        };
        let count = |name: &'static str, default: u32| -> Result<u32, CloudEventError> {
            match map.get(name) {
                None => Ok(default),
                Some(v) => v.as_u64().and_then(|n| u32::try_from(n).ok()).ok_or(
                    CloudEventError::WrongType {
                        attribute: name,
                        expected: "an integer from 0 to 2^32-1",
                    },
                ),
            }
        };
        if map.contains_key("data_base64") {
            return Err(CloudEventError::BinaryData);
        }

        let id = required("id")?.parse()?;
        let time = match string("time")? {
            Some(text) => timestamp("time", text)?,
            None => return Err(CloudEventError::Missing("time")),
        };
        let ttl = Ttl {
            max_hops: count(EXT_MAX_HOPS, Ttl::default().max_hops)?,
            hops: count(EXT_HOPS, 0)?,
            expires_at: string(EXT_EXPIRES)?
                .map(|t| timestamp(EXT_EXPIRES, t))
                .transpose()?,
        };
        let extensions = map
            .iter()
            .filter(|(name, _)| !KNOWN_ATTRIBUTES.contains(&name.as_str()))
            .map(|(name, value)| (name.clone(), value.clone()))
            .collect();
        Ok(Self {
            id,
            kind: required("type")?,
            source: required("source")?,
            subject: string("subject")?,
            time,
            content_type: string("datacontenttype")?,
            data_schema: string("dataschema")?,
            ttl,
            data: map.get("data").cloned().unwrap_or(Value::Null),
            extensions,
        })
    }
}

const EXT_MAX_HOPS: &str = "heraldmaxhops";
const EXT_HOPS: &str = "heraldhops";
const EXT_EXPIRES: &str = "heraldexpires";
const KNOWN_ATTRIBUTES: &[&str] = &[
    "specversion",
    "id",
    "source",
    "type",
    "subject",
    "time",
    "datacontenttype",
    "dataschema",
    "data",
    EXT_MAX_HOPS,
    EXT_HOPS,
    EXT_EXPIRES,
];

/// What is wrong with a CloudEvents document.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum CloudEventError {
    /// The document is not a JSON object.
    #[error("a CloudEvent must be a JSON object")]
    NotAnObject,
    /// Only CloudEvents 1.0 is understood.
    #[error("specversion {0} is not supported (expected \"1.0\")")]
    UnsupportedSpecVersion(String),
    /// A required attribute is absent.
    #[error("attribute `{0}` is required")]
    Missing(&'static str),
    /// An attribute has the wrong JSON type.
    #[error("attribute `{attribute}` must be {expected}")]
    WrongType {
        /// The attribute's name.
        attribute: &'static str,
        /// What it should have been.
        expected: &'static str,
    },
    /// A time attribute is not RFC 3339.
    #[error("attribute `{attribute}` is not an RFC 3339 time: {reason}")]
    InvalidTime {
        /// The attribute's name.
        attribute: &'static str,
        /// The parser's explanation.
        reason: String,
    },
    /// The id is neither a UUID nor 32 bytes of 0x-prefixed hex.
    #[error("event id {0:?} is neither a UUID nor 0x-prefixed 32-byte hex")]
    InvalidId(String),
    /// Herald events carry JSON data, not `data_base64`.
    #[error("`data_base64` is not supported: Herald events carry JSON `data`")]
    BinaryData,
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use serde_json::json;

    fn sample() -> Event {
        Event {
            id: EventId::from_uuid(
                Uuid::parse_str("0190b2a4-6f2e-7c3a-8b1d-2e4f6a8c0e12").expect("uuid"),
            ),
            kind: "order.created".into(),
            source: "/v1/events/orders".into(),
            subject: Some("order-42".into()),
            time: "2026-11-23T10:00:00.123456789Z".parse().expect("time"),
            content_type: Some("application/json".into()),
            data_schema: Some("https://example.com/order.json".into()),
            ttl: Ttl {
                max_hops: 3,
                hops: 1,
                expires_at: Some("2026-11-24T00:00:00Z".parse().expect("time")),
            },
            data: json!({"amount": "1000000000000000000000", "items": [1, 2]}),
            extensions: BTreeMap::from([("traceparent".to_string(), json!("00-abc-def-01"))]),
        }
    }

    #[test]
    fn cloudevent_round_trip_is_lossless() {
        let event = sample();
        let json = event.to_cloudevent();
        assert_eq!(json["specversion"], "1.0");
        assert_eq!(json["type"], "order.created");
        assert_eq!(json["id"], "0190b2a4-6f2e-7c3a-8b1d-2e4f6a8c0e12");
        assert_eq!(json["heraldhops"], 1);
        assert_eq!(json["traceparent"], "00-abc-def-01");
        assert_eq!(Event::from_cloudevent(&json).expect("parses"), event);
    }

    #[test]
    fn cloudevent_errors_name_the_attribute() {
        let mut json = sample().to_cloudevent();
        json.as_object_mut().expect("object").remove("source");
        assert_eq!(
            Event::from_cloudevent(&json),
            Err(CloudEventError::Missing("source"))
        );

        let mut json = sample().to_cloudevent();
        json["time"] = json!("yesterday");
        let err = Event::from_cloudevent(&json)
            .expect_err("bad time")
            .to_string();
        assert!(
            err.starts_with("attribute `time` is not an RFC 3339 time"),
            "{err}"
        );

        let mut json = sample().to_cloudevent();
        json["heraldhops"] = json!(-1);
        assert!(matches!(
            Event::from_cloudevent(&json),
            Err(CloudEventError::WrongType {
                attribute: "heraldhops",
                ..
            })
        ));

        let mut json = sample().to_cloudevent();
        json["specversion"] = json!("0.3");
        assert!(matches!(
            Event::from_cloudevent(&json),
            Err(CloudEventError::UnsupportedSpecVersion(_))
        ));
        assert_eq!(
            Event::from_cloudevent(&json!([1])),
            Err(CloudEventError::NotAnObject)
        );
    }

    fn at(block_number: u64, tx_index: u64, log_index_in_tx: u64) -> LogPosition {
        LogPosition {
            chain_id: 31337,
            block_number,
            tx_index,
            log_index_in_tx,
        }
    }

    #[test]
    fn chain_ids_carry_block_transaction_and_log_position() {
        let id = |at, block: u8| {
            EventId::from_log(at, B256::repeat_byte(block), B256::repeat_byte(7)).expect("fits")
        };
        let a = id(at(100, 2, 5), 1);
        let b = id(at(100, 2, 6), 1);
        let c = id(at(100, 3, 0), 1);
        let d = id(at(101, 0, 0), 3);
        assert_eq!(a.position(), (100 << 28) | (2 << 14) | 5);
        assert!(
            a < b && b < c && c < d,
            "ids of one chain sort in log order"
        );
        assert_eq!(a.log_position(), Some(at(100, 2, 5)));
        let reorged = id(at(100, 2, 5), 9);
        assert_ne!(a, reorged, "another block hash is another event");
        assert_eq!(a.position(), reorged.position());
        assert_eq!(a.as_uuid(), None);
        assert_eq!(a.to_string().parse::<EventId>().expect("parses"), a);
        assert_eq!(EventId::new_v7().log_position(), None);
    }

    #[test]
    fn chain_ids_refuse_positions_that_do_not_fit() {
        let hash = B256::repeat_byte(1);
        assert!(EventId::from_log(at(1 << 36, 0, 0), hash, hash).is_none());
        assert!(EventId::from_log(at(1, 1 << 14, 0), hash, hash).is_none());
        assert!(EventId::from_log(at(1, 0, 1 << 14), hash, hash).is_none());
        let last = at((1 << 36) - 1, (1 << 14) - 1, (1 << 14) - 1);
        let id = EventId::from_log(last, hash, hash).expect("the largest position fits");
        assert_eq!(id.position(), u64::MAX);
        assert_eq!(id.log_position(), Some(last));
    }

    #[test]
    fn v7_ids_are_time_ordered_and_round_trip() {
        let ids: Vec<EventId> = (0..1000).map(|_| EventId::new_v7()).collect();
        assert!(
            ids.windows(2).all(|w| w[0] < w[1]),
            "monotonic within a process"
        );
        assert!(ids.windows(2).all(|w| w[0].position() <= w[1].position()));
        let text = ids[0].to_string();
        assert_eq!(text.len(), 36);
        assert_eq!(text.parse::<EventId>().expect("parses"), ids[0]);
        assert!(matches!(
            "nope".parse::<EventId>(),
            Err(CloudEventError::InvalidId(_))
        ));
    }

    #[test]
    fn ttl_drops_expired_and_over_hopped_events() {
        let mut event = sample();
        let before: Timestamp = "2026-11-23T12:00:00Z".parse().expect("time");
        let after: Timestamp = "2026-11-25T00:00:00Z".parse().expect("time");
        assert_eq!(event.check_alive(after), Err(DropReason::Expired));
        let next = event.forwarded(before).expect("may hop");
        assert_eq!(next.ttl.hops, 2);
        event.ttl.hops = 3;
        assert_eq!(event.forwarded(before), Err(DropReason::TooManyHops));
        let mut tally = DropTally::default();
        tally.record(DropReason::Expired);
        tally.record(DropReason::TooManyHops);
        tally.record(DropReason::TooManyHops);
        assert_eq!(
            tally,
            DropTally {
                expired: 1,
                too_many_hops: 2
            }
        );
        assert_eq!(DropReason::TooManyHops.as_str(), "too_many_hops");
    }

    proptest! {
        #[test]
        fn any_event_round_trips(
            kind in "[a-z][a-z.]{0,20}",
            source in "/[a-z/]{0,20}",
            hops in 0u32..10,
            max_hops in 0u32..10,
            amount in any::<u128>(),
            subject in proptest::option::of("[a-z0-9-]{1,12}"),
        ) {
            let mut event = Event::new(kind, source, json!({"amount": amount.to_string(), "n": hops}));
            event.subject = subject;
            event.ttl = Ttl { max_hops, hops, expires_at: None };
            prop_assert_eq!(Event::from_cloudevent(&event.to_cloudevent()).expect("parses"), event);
        }
    }
}
