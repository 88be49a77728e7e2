//! Decoding a log with the event ABI a trigger gives, into the payload triggers filter on.
//!
//! The ABI is either a human-readable signature (`event Transfer(address indexed from, address
//! indexed to, uint256 value)`, the `event` keyword optional) or a JSON ABI fragment. It is parsed
//! and resolved once; decoding a log is then pure.
//!
//! The payload, named as the built-in `ETHEREUM_MAINNET_CONTRACT` manifest (seed 000's connector)
//! declares: `address`, `event`, `arguments` (by parameter name; integers as exact decimal text,
//! addresses checksummed, bytes as 0x hex; indexed dynamic values are their topic hash), and the
//! log's context: `transactionId` (the transaction hash), `from`, `to`, `blockNumber`, `blockHash`,
//! `logIndex`, `executedAt` (the block's time, RFC 3339), `logs` (the topics, hex).

use alloy::{
    dyn_abi::{DecodedEvent, DynSolEvent, DynSolValue, Specifier},
    json_abi::Event,
    primitives::{Address, B256, Log, LogData, keccak256},
};
use herald_core::{EventId, LogPosition};
use jiff::Timestamp;
use serde_json::{Map, Value, json};

/// Why an ABI or a log could not be used.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DecodeError {
    /// The ABI text is neither a valid signature nor a JSON event fragment.
    #[error("event ABI {abi:?}: {reason}")]
    Abi {
        /// The ABI as given.
        abi: String,
        /// The parser's explanation.
        reason: String,
    },
    /// The log does not carry this event (another selector, or topics/data of the wrong shape).
    #[error("log does not match event {event}: {reason}")]
    Mismatch {
        /// The event's signature.
        event: String,
        /// What did not fit.
        reason: String,
    },
}

/// An event ABI, parsed and resolved once per trigger.
#[derive(Clone, Debug)]
pub struct EventAbi {
    event: Event,
    resolved: DynSolEvent,
}

/// Where a log came from: what the payload reports besides the decoded arguments.
#[derive(Clone, Debug, Default)]
pub struct LogContext {
    /// The chain's id (part of the event id).
    pub chain_id: u64,
    /// The block's number.
    pub block_number: u64,
    /// The block's hash.
    pub block_hash: B256,
    /// The block's time, unix seconds.
    pub block_time: u64,
    /// The transaction's hash.
    pub transaction_hash: B256,
    /// The log's index in the block (what `eth_getLogs` reports and the payload's `logIndex`).
    pub log_index: u64,
    /// The transaction's index in the block.
    pub transaction_index: u64,
    /// The log's index among its transaction's logs: with `transaction_index`, what the event id
    /// records, because it is what a contract can check against the block's receipts trie.
    pub log_index_in_tx: u64,
    /// The transaction's sender, if the connector fetched it.
    pub from: Option<Address>,
    /// The transaction's recipient, if any.
    pub to: Option<Address>,
}

impl EventAbi {
    /// Parses a human-readable signature or a JSON ABI fragment.
    pub fn parse(abi: &str) -> Result<Self, DecodeError> {
        let fail = |reason: String| DecodeError::Abi {
            abi: abi.to_string(),
            reason,
        };
        let trimmed = abi.trim();
        let event: Event = if trimmed.starts_with('{') {
            serde_json::from_str(trimmed).map_err(|e| fail(e.to_string()))?
        } else {
            let signature = if trimmed.starts_with("event ") {
                trimmed.to_string()
            } else {
                format!("event {trimmed}")
            };
            Event::parse(&signature).map_err(|e| fail(e.to_string()))?
        };
        let resolved = event.resolve().map_err(|e| fail(e.to_string()))?;
        Ok(Self { event, resolved })
    }

    /// topic0 of the event's logs.
    pub fn selector(&self) -> B256 {
        self.event.selector()
    }

    /// The event's name.
    pub fn name(&self) -> &str {
        &self.event.name
    }

    /// The id Herald gives the log `address` emitted with `log`, where `context` says; `None` when
    /// its position does not fit an id (see [`LogPosition::position`]), and then it is no event.
    pub fn event_id(address: Address, log: &LogData, context: &LogContext) -> Option<EventId> {
        let at = LogPosition {
            chain_id: context.chain_id,
            block_number: context.block_number,
            tx_index: context.transaction_index,
            log_index_in_tx: context.log_index_in_tx,
        };
        EventId::from_log(at, context.block_hash, log_hash(address, log))
    }

    /// Decodes a log emitted by `address` into the event payload.
    pub fn decode(
        &self,
        address: Address,
        log: &LogData,
        context: &LogContext,
    ) -> Result<Value, DecodeError> {
        let mismatch = |reason: String| DecodeError::Mismatch {
            event: self.event.signature(),
            reason,
        };
        if !self.event.anonymous && log.topics().first() != Some(&self.selector()) {
            return Err(mismatch("topic0 is another event's selector".into()));
        }
        let DecodedEvent { indexed, body, .. } = self
            .resolved
            .decode_log_parts(log.topics().iter().copied(), &log.data)
            .map_err(|e| mismatch(e.to_string()))?;
        let (mut indexed, mut body) = (indexed.into_iter(), body.into_iter());
        let mut arguments = Map::new();
        for (i, param) in self.event.inputs.iter().enumerate() {
            let value = if param.indexed {
                indexed.next()
            } else {
                body.next()
            };
            let name = if param.name.is_empty() {
                format!("arg{i}")
            } else {
                param.name.clone()
            };
            arguments.insert(name, value.as_ref().map(to_json).unwrap_or(Value::Null));
        }
        let mut payload = raw_payload(address, log, context);
        payload["event"] = Value::String(self.event.name.clone());
        payload["arguments"] = Value::Object(arguments);
        Ok(payload)
    }
}

/// keccak256 of a log's consensus RLP (`[address, [topics…], data]`, as the receipts trie holds
/// it): what a chain log's event id commits to.
pub fn log_hash(address: Address, log: &LogData) -> B256 {
    keccak256(alloy::rlp::encode(Log {
        address,
        data: log.clone(),
    }))
}

/// The largest transaction receipt, in bytes of its consensus encoding, whose logs a keeper treats
/// as events. A fraud challenge of a log of the settlement chain is answered with the whole receipt
/// in calldata; one much larger could not be (mempools refuse transactions over 128 KiB, and a
/// transaction's gas is capped), so an attacker could emit a matching log in a huge receipt, have
/// honest keepers sign it, and get them slashed. Such logs are not events: the follower drops them
/// and co-signers refuse them.
pub const MAX_PROVABLE_RECEIPT_BYTES: usize = 64 * 1024;

/// An upper bound on the consensus encoding of a receipt holding `logs`: status, gas, the 256-byte
/// bloom and list headers, then each log's address, topics and data with their headers.
pub fn receipt_size_bound<'a>(logs: impl IntoIterator<Item = &'a LogData>) -> usize {
    logs.into_iter().fold(512, |size, log| {
        size + 64 + 33 * log.topics().len() + log.data.len()
    })
}

/// A log's payload without decoding: what a trigger that gives no ABI filters on. `event` is null,
/// `arguments` empty, and `logs` lists the topics then the data's 32-byte words, hex.
pub fn raw_payload(address: Address, log: &LogData, context: &LogContext) -> Value {
    let executed_at = i64::try_from(context.block_time)
        .ok()
        .and_then(|s| Timestamp::from_second(s).ok())
        .map(|t| t.to_string());
    let words = log
        .topics()
        .iter()
        .map(|t| t.to_string())
        .chain(
            log.data
                .chunks(32)
                .map(|w| format!("0x{}", alloy::hex::encode(w))),
        )
        .collect::<Vec<_>>();
    json!({
        "address": address.to_checksum(None),
        "event": null,
        "arguments": {},
        "transactionId": context.transaction_hash.to_string(),
        "from": context.from.map(|a| a.to_checksum(None)),
        "to": context.to.map(|a| a.to_checksum(None)),
        "blockNumber": context.block_number.to_string(),
        "blockHash": context.block_hash.to_string(),
        "logIndex": context.log_index,
        "executedAt": executed_at,
        "logs": words,
    })
}

/// A decoded value as JSON that the matcher reads exactly.
fn to_json(value: &DynSolValue) -> Value {
    match value {
        DynSolValue::Bool(b) => Value::Bool(*b),
        DynSolValue::Int(i, _) => Value::String(i.to_string()),
        DynSolValue::Uint(u, _) => Value::String(u.to_string()),
        DynSolValue::Address(a) => Value::String(a.to_checksum(None)),
        DynSolValue::FixedBytes(word, size) => {
            Value::String(format!("0x{}", alloy::hex::encode(&word[..*size])))
        }
        DynSolValue::Bytes(bytes) => Value::String(format!("0x{}", alloy::hex::encode(bytes))),
        DynSolValue::String(s) => Value::String(s.clone()),
        DynSolValue::Function(f) => Value::String(f.to_string()),
        DynSolValue::Array(items) | DynSolValue::FixedArray(items) | DynSolValue::Tuple(items) => {
            Value::Array(items.iter().map(to_json).collect())
        }
        #[allow(unreachable_patterns)]
        other => Value::String(format!("{other:?}")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use alloy::primitives::{U256, address};

    const TRANSFER: &str =
        "event Transfer(address indexed from, address indexed to, uint256 value)";

    fn transfer_log(from: Address, to: Address, value: U256) -> LogData {
        let abi = EventAbi::parse(TRANSFER).expect("abi");
        LogData::new_unchecked(
            vec![abi.selector(), from.into_word(), to.into_word()],
            value.to_be_bytes::<32>().to_vec().into(),
        )
    }

    fn context() -> LogContext {
        LogContext {
            chain_id: 1,
            block_number: 4_400_000,
            block_hash: B256::repeat_byte(0xbb),
            block_time: 1_508_491_800,
            transaction_hash: B256::repeat_byte(0xcc),
            log_index: 3,
            transaction_index: 1,
            log_index_in_tx: 2,
            from: Some(address!("0x1111111111111111111111111111111111111111")),
            to: None,
        }
    }

    #[test]
    fn a_receipt_too_large_for_a_fraud_challenge_is_told_apart() {
        let transfer = transfer_log(Address::ZERO, Address::ZERO, U256::from(1));
        let busy = vec![transfer.clone(); 100];
        assert!(receipt_size_bound(&busy) < MAX_PROVABLE_RECEIPT_BYTES);
        // One log carrying 64 KiB of data, as an attacker's own contract can emit for 0.5M gas.
        let huge = LogData::new_unchecked(vec![], vec![0u8; MAX_PROVABLE_RECEIPT_BYTES].into());
        assert!(receipt_size_bound([&transfer, &huge]) > MAX_PROVABLE_RECEIPT_BYTES);
        // The bound is an upper bound of the log's own RLP, which the receipt holds whole.
        let encoded = alloy::rlp::encode(Log {
            address: Address::ZERO,
            data: huge.clone(),
        })
        .len();
        assert!(receipt_size_bound([&huge]) > encoded);
    }

    #[test]
    fn decodes_a_transfer_with_exact_values_and_context() {
        let token = address!("0x1985365e9f78359a9b6ad760e32412f4a445e862");
        let to = address!("0xe94327d07fc17907b4db788e5adf2ed424addff6");
        let max = U256::MAX;
        let payload = EventAbi::parse(TRANSFER)
            .expect("abi")
            .decode(token, &transfer_log(Address::ZERO, to, max), &context())
            .expect("decodes");
        assert_eq!(payload["event"], "Transfer");
        assert_eq!(
            payload["address"],
            "0x1985365e9f78359a9B6AD760e32412f4a445E862"
        );
        assert_eq!(payload["arguments"]["to"], to.to_checksum(None));
        assert_eq!(
            payload["arguments"]["value"],
            max.to_string(),
            "uint256 max, every digit"
        );
        assert_eq!(payload["blockNumber"], "4400000");
        assert_eq!(payload["logIndex"], 3);
        assert_eq!(payload["executedAt"], "2017-10-20T09:30:00Z");
        assert_eq!(
            payload["from"],
            "0x1111111111111111111111111111111111111111"
        );
        assert_eq!(payload["to"], Value::Null);
    }

    #[test]
    fn accepts_signatures_with_or_without_the_keyword_and_json_fragments() {
        let bare =
            EventAbi::parse("Transfer(address indexed from, address indexed to, uint256 value)")
                .expect("bare");
        let json = EventAbi::parse(
            r#"{"type":"event","name":"Transfer","anonymous":false,"inputs":[
                {"name":"from","type":"address","indexed":true},
                {"name":"to","type":"address","indexed":true},
                {"name":"value","type":"uint256","indexed":false}]}"#,
        )
        .expect("json fragment");
        assert_eq!(bare.selector(), json.selector());
        assert_eq!(
            bare.selector().to_string(),
            "0xddf252ad1be2c89b69c2b068fc378daa952ba7f163c4a11628f55a4df523b3ef",
            "the well-known Transfer topic"
        );
    }

    #[test]
    fn refuses_bad_abis_and_foreign_logs() {
        let err = EventAbi::parse("event Transfer(address indexed from,")
            .expect_err("truncated")
            .to_string();
        assert!(
            err.starts_with("event ABI \"event Transfer(address indexed from,\":"),
            "{err}"
        );
        let approval = EventAbi::parse(
            "event Approval(address indexed owner, address indexed spender, uint256 value)",
        )
        .expect("abi");
        let log = transfer_log(Address::ZERO, Address::ZERO, U256::from(1));
        let err = approval
            .decode(Address::ZERO, &log, &context())
            .expect_err("another event")
            .to_string();
        assert!(err.contains("topic0 is another event's selector"), "{err}");
        let short = LogData::new_unchecked(
            vec![EventAbi::parse(TRANSFER).expect("abi").selector()],
            Default::default(),
        );
        assert!(
            EventAbi::parse(TRANSFER)
                .expect("abi")
                .decode(Address::ZERO, &short, &context())
                .is_err()
        );
    }

    #[test]
    fn indexed_strings_are_their_topic_hash_and_unnamed_params_get_positions() {
        let abi = EventAbi::parse("event Note(string indexed tag, bytes, int8)").expect("abi");
        let mut data = DynSolValue::Tuple(vec![
            DynSolValue::Bytes(vec![0xde, 0xad]),
            DynSolValue::Int(alloy::primitives::I256::try_from(-5).expect("i256"), 8),
        ])
        .abi_encode_params();
        let log = LogData::new_unchecked(
            vec![abi.selector(), B256::repeat_byte(7)],
            std::mem::take(&mut data).into(),
        );
        let payload = abi
            .decode(Address::ZERO, &log, &context())
            .expect("decodes");
        assert_eq!(
            payload["arguments"]["tag"],
            format!("0x{}", "07".repeat(32))
        );
        assert_eq!(payload["arguments"]["arg1"], "0xdead");
        assert_eq!(payload["arguments"]["arg2"], "-5");
    }
}
