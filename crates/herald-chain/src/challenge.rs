//! Fraud challenges: showing on chain that keepers signed a receipt for a log that never happened.
//!
//! `HeraldChallenges` (created by the Herald contract) takes a signed batch and the receipts in it
//! that name a log of its own chain. Anyone may then answer for each of them with the block's header
//! and a receipts-trie proof of the log ([`crate::log_proof`]); a receipt nobody could answer for by
//! the deadline is fraud, and every keeper that signed its batch loses its whole bond. The batch is
//! public: it is the calldata of the `settle` transaction that carried it, which is all an outsider
//! needs ([`settled_batch`]), and a defender reads it back from the challenge's own transaction
//! ([`challenged_batch`]).

use alloy::{
    primitives::{Address, B256, Bytes, U256},
    providers::Provider,
    sol_types::SolCall,
};

use crate::bindings::{Herald, HeraldChallenges};

/// A batch of receipts with the signatures it was settled with.
#[derive(Clone, Debug)]
pub struct SignedBatch {
    /// The receipts, in the signed order.
    pub receipts: Vec<Herald::ExecutionReceipt>,
    /// The signatures, ordered by signer.
    pub signatures: Vec<Bytes>,
}

/// The fraud-proof windows a deployment uses, in blocks of its chain.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Windows {
    /// Settlement refuses a receipt for a log of this chain older than this.
    pub max_event_age: u64,
    /// How long after that a receipt can still be challenged.
    pub challenge: u64,
    /// How long defenders have to answer a challenge.
    pub response: u64,
}

/// Why a challenge could not be prepared.
#[derive(Debug, thiserror::Error)]
pub enum ChallengeError {
    /// The node refused a call.
    #[error("rpc: {0}")]
    Rpc(String),
    /// No such transaction.
    #[error("transaction {0} is unknown to the node")]
    UnknownTransaction(B256),
    /// The transaction is not a direct call of the expected function on the expected contract.
    #[error("transaction {tx} is not a {function} call to {contract}")]
    NotACall {
        /// The transaction.
        tx: B256,
        /// The function expected.
        function: &'static str,
        /// The contract expected.
        contract: Address,
    },
}

/// The challenge contract of the Herald deployment at `herald`.
pub async fn challenges_of<P: Provider>(
    provider: &P,
    herald: Address,
) -> Result<Address, ChallengeError> {
    Herald::new(herald, provider)
        .challenges()
        .call()
        .await
        .map_err(|e| ChallengeError::Rpc(e.to_string()))
}

/// The windows of the challenge contract at `challenges`.
pub async fn windows<P: Provider>(
    provider: &P,
    challenges: Address,
) -> Result<Windows, ChallengeError> {
    let w = HeraldChallenges::new(challenges, provider)
        .fraudWindows()
        .call()
        .await
        .map_err(|e| ChallengeError::Rpc(e.to_string()))?;
    let blocks = |v: U256| v.saturating_to::<u64>();
    Ok(Windows {
        max_event_age: blocks(w.maxEventAge),
        challenge: blocks(w.challengeBlocks),
        response: blocks(w.responseBlocks),
    })
}

/// The batch the `settle` transaction `tx` carried to `herald`.
pub async fn settled_batch<P: Provider>(
    provider: &P,
    herald: Address,
    tx: B256,
) -> Result<SignedBatch, ChallengeError> {
    let input = call_input(provider, tx, herald, "settle").await?;
    let call = Herald::settleCall::abi_decode(&input).map_err(|_| ChallengeError::NotACall {
        tx,
        function: "settle",
        contract: herald,
    })?;
    Ok(SignedBatch {
        receipts: call.receipts,
        signatures: call.signatures,
    })
}

/// The batch and the challenged indexes the `challenge` transaction `tx` carried to `challenges`.
pub async fn challenged_batch<P: Provider>(
    provider: &P,
    challenges: Address,
    tx: B256,
) -> Result<(SignedBatch, Vec<U256>), ChallengeError> {
    let input = call_input(provider, tx, challenges, "challenge").await?;
    let call = HeraldChallenges::challengeCall::abi_decode(&input).map_err(|_| {
        ChallengeError::NotACall {
            tx,
            function: "challenge",
            contract: challenges,
        }
    })?;
    let batch = SignedBatch {
        receipts: call.receipts.into_iter().map(from_challenges).collect(),
        signatures: call.signatures,
    };
    Ok((batch, call.indexes))
}

/// The receipts as the challenge contract's binding types them (the same ABI tuple).
pub fn for_challenges(
    receipts: &[Herald::ExecutionReceipt],
) -> Vec<HeraldChallenges::ExecutionReceipt> {
    receipts
        .iter()
        .map(|r| HeraldChallenges::ExecutionReceipt {
            triggerId: r.triggerId,
            eventId: r.eventId,
            resultHash: r.resultHash,
            connector: r.connector,
            runner: r.runner,
            runnerFee: r.runnerFee,
            executedAt: r.executedAt,
            success: r.success,
        })
        .collect()
}

fn from_challenges(r: HeraldChallenges::ExecutionReceipt) -> Herald::ExecutionReceipt {
    Herald::ExecutionReceipt {
        triggerId: r.triggerId,
        eventId: r.eventId,
        resultHash: r.resultHash,
        connector: r.connector,
        runner: r.runner,
        runnerFee: r.runnerFee,
        executedAt: r.executedAt,
        success: r.success,
    }
}

/// The input of `tx`, which must be a direct call to `contract`.
async fn call_input<P: Provider>(
    provider: &P,
    tx: B256,
    contract: Address,
    function: &'static str,
) -> Result<Bytes, ChallengeError> {
    use alloy::consensus::Transaction as _;
    let found = provider
        .get_transaction_by_hash(tx)
        .await
        .map_err(|e| ChallengeError::Rpc(e.to_string()))?
        .ok_or(ChallengeError::UnknownTransaction(tx))?;
    if found.inner.to() != Some(contract) {
        return Err(ChallengeError::NotACall {
            tx,
            function,
            contract,
        });
    }
    Ok(found.inner.input().clone())
}
