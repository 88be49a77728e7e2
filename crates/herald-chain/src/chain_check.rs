//! What the fraud proofs assume of the chain Herald is deployed on, checked before deploying.
//!
//! `Herald`'s constructor picks its fraud windows (docs/security.md, "Fraud proofs") by whether
//! there is code at EIP-2935's history address: with it, 8,000 blocks of block hashes are assumed
//! readable; without, 224 of `BLOCKHASH`'s 256. Both windows count `block.number`. A chain where the
//! code there is not the history contract, or where `block.number` is not this chain's block number
//! (Arbitrum answers its L1's), would leave honest receipts unprovable or fraud unchallengeable, so
//! `herald deploy` refuses it for a public network.

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

/// How far `block.number` in a call may be from the node's head (a call may run in the pending
/// block, and the head may move between the two reads).
const BLOCK_NUMBER_SLACK: u64 = 2;

/// One way the chain breaks the fraud proofs' assumptions.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ChainRisk {
    /// Code sits at EIP-2935's address, but it is not the history contract, or it does not answer
    /// the parent block's hash.
    UntrustedHistory(String),
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
    if let Some(why) = history_problem(provider, head).await? {
        risks.push(ChainRisk::UntrustedHistory(why));
    }
    Ok(risks)
}

/// The risk when the EVM's `block.number` is not (within a block or two) the chain's head.
fn block_number_risk(evm: u64, head: u64) -> Option<ChainRisk> {
    (evm.abs_diff(head) > BLOCK_NUMBER_SLACK).then_some(ChainRisk::ForeignBlockNumber { evm, head })
}

/// Why the code at the history address cannot be trusted, if there is code and it cannot.
async fn history_problem<P: Provider>(provider: &P, head: u64) -> Result<Option<String>, String> {
    let code = provider
        .get_code_at(HISTORY_STORAGE_ADDRESS)
        .await
        .map_err(|e| format!("reading the history address: {e}"))?;
    if code.is_empty() {
        return Ok(None); // Herald falls back to BLOCKHASH's window
    }
    if code != HISTORY_STORAGE_CODE {
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
}
