//! What the fraud proofs assume of the chain Herald is deployed on, checked before deploying.
//!
//! `Herald`'s constructor picks its fraud windows (docs/security.md, "Fraud proofs") by whether
//! there is code at EIP-2935's history address: with it, 8,000 blocks of block hashes are assumed
//! readable; without, 224 of `BLOCKHASH`'s 256. Both windows count `block.number`. A chain where the
//! code there is not the history contract, or where `block.number` is not this chain's block number
//! (Arbitrum answers its L1's), would leave honest receipts unprovable or fraud unchallengeable; and
//! keepers sign a log's receipt only once its block is final, which must come well before
//! settlement refuses the log as too old. `herald deploy` refuses such a chain for a public network.

use std::fmt;

use alloy::{
    eips::{
        BlockNumberOrTag,
        eip2935::{HISTORY_STORAGE_ADDRESS, HISTORY_STORAGE_CODE},
    },
    network::TransactionBuilder,
    primitives::{B256, Bytes, U256},
    providers::Provider,
    rpc::types::TransactionRequest,
};

/// Initcode that returns `block.number` as its 32-byte "runtime code": NUMBER, PUSH1 0, MSTORE,
/// PUSH1 32, PUSH1 0, RETURN. A creation `eth_call` runs it without deploying anything.
const BLOCK_NUMBER_PROBE: [u8; 9] = [0x43, 0x60, 0x00, 0x52, 0x60, 0x20, 0x60, 0x00, 0xf3];

/// Settlement's maximum event age with EIP-2935's history (`HISTORY_MAX_EVENT_AGE_BLOCKS` in
/// HeraldTypes.sol) and without it (`BLOCKHASH_MAX_EVENT_AGE_BLOCKS`).
pub const MAX_EVENT_AGE_WITH_HISTORY: u64 = 4_000;
/// See [`MAX_EVENT_AGE_WITH_HISTORY`].
pub const MAX_EVENT_AGE_WITHOUT_HISTORY: u64 = 96;

/// How far `block.number` in a call may be from the node's head (a call may run in the pending
/// block, and the head may move between the two reads).
const BLOCK_NUMBER_SLACK: u64 = 2;

/// One way the chain breaks the fraud proofs' assumptions.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ChainRisk {
    /// Code sits at EIP-2935's address, but it is not the history contract, or it does not answer
    /// the parent block's hash.
    UntrustedHistory(String),
    /// The node's finalized block trails its head by more than half the maximum event age (or the
    /// node serves none): receipts signed at finality could be too old to settle.
    SlowFinality {
        /// Blocks between the head and the finalized block (`None`: no finalized block).
        lag: Option<u64>,
        /// Settlement's maximum event age on this chain.
        max_event_age: u64,
    },
    /// `block.number` is not the chain's own block number.
    ForeignBlockNumber {
        /// What the EVM answered.
        evm: u64,
        /// The node's head.
        head: u64,
    },
}

impl fmt::Display for ChainRisk {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::UntrustedHistory(why) => write!(
                f,
                "the code at EIP-2935's history address {HISTORY_STORAGE_ADDRESS} {why}: Herald \
                 would assume 8,000 blocks of readable block hashes it may not have"
            ),
            Self::SlowFinality {
                lag: Some(lag),
                max_event_age,
            } => write!(
                f,
                "the finalized block trails the head by {lag} blocks, more than half of the \
                 {max_event_age} blocks after which settlement refuses a log: keepers sign only \
                 final logs, and their receipts could come too late"
            ),
            Self::SlowFinality {
                lag: None,
                max_event_age: _,
            } => write!(
                f,
                "the node serves no finalized block: keepers sign only final logs"
            ),
            Self::ForeignBlockNumber { evm, head } => write!(
                f,
                "block.number is {evm} while the chain's head is {head} (an L2 answering its L1's \
                 number?): the fraud windows count block.number"
            ),
        }
    }
}

/// Every way the chain behind `provider` breaks the fraud proofs' assumptions (empty when none).
pub async fn chain_risks<P: Provider>(provider: &P) -> Result<Vec<ChainRisk>, String> {
    let mut risks = Vec::new();
    let head = provider
        .get_block_number()
        .await
        .map_err(|e| format!("reading the head: {e}"))?;
    let probe = TransactionRequest::default().input(Bytes::from_static(&BLOCK_NUMBER_PROBE).into());
    let answer = provider
        .call(probe.into_create())
        .await
        .map_err(|e| format!("probing block.number: {e}"))?;
    let evm = U256::try_from_be_slice(&answer).map_or(u64::MAX, |n| n.saturating_to::<u64>());
    risks.extend(block_number_risk(evm, head));
    let history = provider
        .get_code_at(HISTORY_STORAGE_ADDRESS)
        .await
        .map_err(|e| format!("reading the history address: {e}"))?;
    if let Some(why) = history_problem(provider, &history, head).await? {
        risks.push(ChainRisk::UntrustedHistory(why));
    }
    let max_event_age = if history.is_empty() {
        MAX_EVENT_AGE_WITHOUT_HISTORY
    } else {
        MAX_EVENT_AGE_WITH_HISTORY
    };
    let finalized = provider
        .get_block_by_number(BlockNumberOrTag::Finalized)
        .await
        .ok()
        .flatten()
        .map(|b| b.header.number);
    risks.extend(finality_risk(
        finalized.map(|f| head.saturating_sub(f)),
        max_event_age,
    ));
    Ok(risks)
}

/// The risk when the EVM's `block.number` is not (within a block or two) the chain's head.
fn block_number_risk(evm: u64, head: u64) -> Option<ChainRisk> {
    (evm.abs_diff(head) > BLOCK_NUMBER_SLACK).then_some(ChainRisk::ForeignBlockNumber { evm, head })
}

/// The risk when finality trails the head by more than half of `max_event_age` (or never comes).
fn finality_risk(lag: Option<u64>, max_event_age: u64) -> Option<ChainRisk> {
    lag.is_none_or(|lag| lag > max_event_age / 2)
        .then_some(ChainRisk::SlowFinality { lag, max_event_age })
}

/// Why `code`, at the history address, cannot be trusted, if there is code and it cannot.
async fn history_problem<P: Provider>(
    provider: &P,
    code: &Bytes,
    head: u64,
) -> Result<Option<String>, String> {
    if code.is_empty() {
        return Ok(None); // Herald falls back to BLOCKHASH's window
    }
    if *code != HISTORY_STORAGE_CODE {
        return Ok(Some("is not EIP-2935's history contract".into()));
    }
    let Some(parent) = head.checked_sub(1) else {
        return Ok(None);
    };
    let expected = provider
        .get_block_by_number(BlockNumberOrTag::Number(parent))
        .await
        .map_err(|e| format!("reading block {parent}: {e}"))?
        .map(|b| b.header.hash);
    let query = TransactionRequest::default()
        .to(HISTORY_STORAGE_ADDRESS)
        .input(Bytes::from(U256::from(parent).to_be_bytes::<32>().to_vec()).into());
    let served = provider
        .call(query)
        .await
        .ok()
        .and_then(|b| B256::try_from(b.as_ref()).ok());
    Ok((served.is_none() || served != expected)
        .then(|| format!("does not serve block {parent}'s hash")))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_block_number_far_from_the_head_is_foreign() {
        assert_eq!(block_number_risk(100, 100), None);
        assert_eq!(block_number_risk(102, 100), None, "a pending block");
        let arbitrum = block_number_risk(21_000_000, 280_000_000).expect("a risk");
        assert!(
            arbitrum.to_string().contains("block.number is 21000000"),
            "{arbitrum}"
        );
    }

    #[test]
    fn finality_must_come_well_within_the_maximum_event_age() {
        assert_eq!(finality_risk(Some(64), MAX_EVENT_AGE_WITH_HISTORY), None);
        assert_eq!(finality_risk(Some(48), MAX_EVENT_AGE_WITHOUT_HISTORY), None);
        let slow = finality_risk(Some(64), MAX_EVENT_AGE_WITHOUT_HISTORY).expect("a risk");
        assert!(
            slow.to_string().contains("trails the head by 64 blocks"),
            "{slow}"
        );
        assert!(finality_risk(None, MAX_EVENT_AGE_WITH_HISTORY).is_some());
    }
}
