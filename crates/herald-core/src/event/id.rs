//! The event id and the chain log position it encodes in its top 64 bits.

use std::{fmt, str::FromStr};

use alloy_primitives::{B256, keccak256};
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use uuid::Uuid;

use super::CloudEventError;

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
