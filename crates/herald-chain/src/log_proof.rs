//! Proving, from a JSON-RPC node, that a chain log exists in a canonical block.
//!
//! When a receipt is challenged on chain, a keeper answers with a [`LogProof`]. The contract checks
//! `keccak256(header_rlp) == blockhash(block_number)`, takes the header's `receiptsRoot` (field
//! 5), walks `receipt_proof` with OpenZeppelin's `TrieProof` for the key `rlp(tx_index)`, gets the
//! EIP-2718 receipt encoding (`type || rlp([status, cumulativeGasUsed, logsBloom, logs])`, no type
//! byte for legacy receipts) and reads `logs[log_index_in_tx]`, which must equal `log_rlp`.
//!
//! [`prove_log`] never hands out a proof that cannot verify: it re-encodes the header and refuses
//! if its hash is not the block hash the node reported, rebuilds the receipts trie and refuses if
//! its root is not the header's `receiptsRoot`, and checks the proof with alloy-trie's verifier
//! before returning it.
//!
//! The proof is shaped as `eth_getProof` returns one: the nodes on the path from the root to the
//! leaf, each as its full RLP, *without* the nodes that are shorter than 32 bytes — those are
//! embedded in their parent rather than referenced by hash, and a verifier reads them from there
//! (OpenZeppelin's `TrieProof` and `alloy_trie::proof::verify_proof` both do; the latter rejects
//! a proof that repeats them). In a receipts trie every node is at least 32 bytes (a receipt
//! carries a 256-byte bloom), so the list is exactly the path; the rule matters for the generic
//! trie code only.

use alloy::{
    consensus::ReceiptEnvelope,
    eips::{BlockId, BlockNumberOrTag, eip2718::Encodable2718},
    primitives::{B256, Bytes, Log, keccak256},
    providers::Provider,
    rpc::types::TransactionReceipt,
    transports::TransportError,
    trie::{
        HashBuilder, Nibbles,
        proof::{ProofRetainer, ProofVerificationError, verify_proof},
        root::adjust_index_for_rlp,
    },
};
use serde::{Deserialize, Serialize};

/// What a challenge response needs to show one log exists in a canonical block.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct LogProof {
    /// The block's number (what `blockhash` is called with).
    pub block_number: u64,
    /// The block's hash; `keccak256(header_rlp) == block_hash`.
    pub block_hash: B256,
    /// The block header's consensus RLP.
    pub header_rlp: Bytes,
    /// The transaction's index in the block (the receipts-trie key is `rlp(tx_index)`).
    pub tx_index: u64,
    /// The log's index among its transaction's logs.
    pub log_index_in_tx: u64,
    /// The receipts-trie nodes from the root to the leaf for the key `rlp(tx_index)`, in order,
    /// each as its full RLP; nodes under 32 bytes are embedded in their parent, not listed (the
    /// shape `eth_getProof` returns).
    pub receipt_proof: Vec<Bytes>,
    /// The consensus RLP of the log, `[address, [topics...], data]`.
    pub log_rlp: Bytes,
}

impl LogProof {
    /// The receipts-trie key the proof is for, `rlp(tx_index)`.
    pub fn receipt_key(&self) -> Bytes {
        receipt_trie_key(self.tx_index)
    }
}

/// Why a log could not be proven.
#[derive(Debug, thiserror::Error)]
pub enum LogProofError {
    /// The node failed to answer a call.
    #[error("{call} for block {block} failed: {source}")]
    Rpc {
        /// The JSON-RPC method.
        call: &'static str,
        /// The block asked about.
        block: BlockId,
        /// The transport's error.
        #[source]
        source: TransportError,
    },
    /// The node does not know the block.
    #[error("block {block} not found")]
    BlockNotFound {
        /// The block asked for.
        block: BlockId,
    },
    /// The node answered with another block than the one asked for.
    #[error("asked for block {requested}, the node returned block {number} ({hash})")]
    WrongBlock {
        /// The block asked for.
        requested: BlockId,
        /// The returned block's number.
        number: u64,
        /// The returned block's hash.
        hash: B256,
    },
    /// The header, as encoded here, does not hash to the block hash the node reported (a node
    /// that lies, or a header format this code encodes wrongly).
    #[error(
        "header hash mismatch for block {block_number}: the node reports {reported}, the header's \
         RLP hashes to {computed}"
    )]
    HeaderHashMismatch {
        /// The block.
        block_number: u64,
        /// The hash the node reported.
        reported: B256,
        /// `keccak256` of the re-encoded header.
        computed: B256,
    },
    /// The node has no receipts for the block.
    #[error("no receipts for block {block_number} ({block_hash})")]
    ReceiptsNotFound {
        /// The block.
        block_number: u64,
        /// The block's hash.
        block_hash: B256,
    },
    /// A receipt the node returned does not belong where it was listed.
    #[error(
        "receipt {position} of block {block_number} is not that block's receipt {position}: {reason}"
    )]
    MisplacedReceipt {
        /// The block.
        block_number: u64,
        /// The receipt's position in the node's answer.
        position: u64,
        /// What is wrong with it.
        reason: String,
    },
    /// The block has no transaction at `tx_index`.
    #[error(
        "tx index out of range: block {block_number} has {tx_count} transactions, not {tx_index}"
    )]
    TxIndexOutOfRange {
        /// The block.
        block_number: u64,
        /// The index asked for.
        tx_index: u64,
        /// How many transactions the block has.
        tx_count: u64,
    },
    /// The transaction has no log at `log_index_in_tx`.
    #[error(
        "log index out of range: transaction {tx_index} of block {block_number} has {log_count} \
         logs, not {log_index_in_tx}"
    )]
    LogIndexOutOfRange {
        /// The block.
        block_number: u64,
        /// The transaction's index.
        tx_index: u64,
        /// The log index asked for.
        log_index_in_tx: u64,
        /// How many logs the transaction has.
        log_count: u64,
    },
    /// The receipts the node returned do not build the trie the header commits to.
    #[error(
        "receipts root mismatch for block {block_number}: the header has {header_root}, the \
         node's receipts build {computed}"
    )]
    ReceiptsRootMismatch {
        /// The block.
        block_number: u64,
        /// The header's `receiptsRoot`.
        header_root: B256,
        /// The root of the trie of the node's receipts.
        computed: B256,
    },
    /// The proof built here does not verify (a bug here, never the node's fault).
    #[error(
        "the receipt proof for transaction {tx_index} of block {block_number} does not verify: {source}"
    )]
    ProofDoesNotVerify {
        /// The block.
        block_number: u64,
        /// The transaction's index.
        tx_index: u64,
        /// The verifier's complaint.
        #[source]
        source: ProofVerificationError,
    },
}

/// Proves that log `log_index_in_tx` of transaction `tx_index` exists in `block`.
///
/// Fetches the header and the block's receipts (by the header's hash, so both come from the same
/// block even when `block` is a tag such as `latest`), checks the header hash and the receipts
/// root, and returns the proof. Note that on chain `blockhash` only reaches the 256 most recent
/// blocks.
pub async fn prove_log<P: Provider>(
    provider: &P,
    block: BlockId,
    tx_index: u64,
    log_index_in_tx: u64,
) -> Result<LogProof, LogProofError> {
    let rpc_block = provider
        .get_block(block)
        .await
        .map_err(|source| LogProofError::Rpc {
            call: block_call(block),
            block,
            source,
        })?
        .ok_or(LogProofError::BlockNotFound { block })?;
    let header = rpc_block.header;
    let block_number = header.inner.number;
    let block_hash = header.hash;
    let asked_for_another = match block {
        BlockId::Hash(hash) => hash.block_hash != block_hash,
        BlockId::Number(BlockNumberOrTag::Number(number)) => number != block_number,
        BlockId::Number(_) => false,
    };
    if asked_for_another {
        return Err(LogProofError::WrongBlock {
            requested: block,
            number: block_number,
            hash: block_hash,
        });
    }

    let header_rlp = Bytes::from(alloy::rlp::encode(&header.inner));
    let computed = keccak256(&header_rlp);
    if computed != block_hash {
        return Err(LogProofError::HeaderHashMismatch {
            block_number,
            reported: block_hash,
            computed,
        });
    }

    let by_hash = BlockId::hash(block_hash);
    let receipts = provider
        .get_block_receipts(by_hash)
        .await
        .map_err(|source| LogProofError::Rpc {
            call: "eth_getBlockReceipts",
            block: by_hash,
            source,
        })?
        .ok_or(LogProofError::ReceiptsNotFound {
            block_number,
            block_hash,
        })?;
    let mut envelopes = Vec::with_capacity(receipts.len());
    for (position, receipt) in receipts.into_iter().enumerate() {
        let misplaced = |reason: String| LogProofError::MisplacedReceipt {
            block_number,
            position: position as u64,
            reason,
        };
        if let Some(hash) = receipt.block_hash.filter(|h| *h != block_hash) {
            return Err(misplaced(format!("it is from block {hash}")));
        }
        if let Some(index) = receipt.transaction_index.filter(|i| *i != position as u64) {
            return Err(misplaced(format!("it says it is transaction {index}")));
        }
        envelopes.push(receipt.inner.into_primitives_receipt());
    }

    let tx_count = envelopes.len() as u64;
    let index = usize::try_from(tx_index)
        .ok()
        .filter(|i| *i < envelopes.len())
        .ok_or(LogProofError::TxIndexOutOfRange {
            block_number,
            tx_index,
            tx_count,
        })?;

    let encoded: Vec<Vec<u8>> = envelopes.iter().map(Encodable2718::encoded_2718).collect();
    let (root, receipt_proof) = ordered_trie_proof(&encoded, index);
    if root != header.inner.receipts_root {
        return Err(LogProofError::ReceiptsRootMismatch {
            block_number,
            header_root: header.inner.receipts_root,
            computed: root,
        });
    }

    let receipt: &ReceiptEnvelope = &envelopes[index];
    let logs = receipt.logs();
    let log = usize::try_from(log_index_in_tx)
        .ok()
        .and_then(|i| logs.get(i))
        .ok_or(LogProofError::LogIndexOutOfRange {
            block_number,
            tx_index,
            log_index_in_tx,
            log_count: logs.len() as u64,
        })?;

    verify_proof(
        root,
        Nibbles::unpack(receipt_trie_key(tx_index)),
        Some(encoded[index].clone()),
        &receipt_proof,
    )
    .map_err(|source| LogProofError::ProofDoesNotVerify {
        block_number,
        tx_index,
        source,
    })?;

    Ok(LogProof {
        block_number,
        block_hash,
        header_rlp,
        tx_index,
        log_index_in_tx,
        receipt_proof,
        log_rlp: alloy::rlp::encode(log).into(),
    })
}

/// Where a log sits inside its transaction, from the block's receipts: `(tx index, index within
/// the tx's logs)` of the log with block-wide index `global_log_index` (its `logIndex`).
///
/// `receipts` must be all of the block's receipts in block order, as `eth_getBlockReceipts`
/// returns them. `None` if the block has fewer logs, or if the receipts contradict that order (a
/// receipt whose `transactionIndex` is not its position, or a log whose `logIndex` is not its
/// block-wide position).
pub fn locate_log(receipts: &[TransactionReceipt], global_log_index: u64) -> Option<(u64, u64)> {
    let mut first = 0u64;
    for (position, receipt) in receipts.iter().enumerate() {
        let position = position as u64;
        if receipt.transaction_index.is_some_and(|i| i != position) {
            return None;
        }
        let logs = receipt.logs();
        let count = logs.len() as u64;
        if global_log_index < first + count {
            let in_tx = global_log_index - first;
            let log = &logs[in_tx as usize];
            if log.log_index.is_some_and(|i| i != global_log_index) {
                return None;
            }
            return Some((position, in_tx));
        }
        first += count;
    }
    None
}

/// `keccak256` of a log's consensus RLP `[address, [topics...], data]` (what a chain-log event id
/// commits to).
pub fn log_hash(log: &Log) -> B256 {
    keccak256(alloy::rlp::encode(log))
}

/// The receipts-trie (and transactions-trie) key of transaction `tx_index`: `rlp(tx_index)`.
pub fn receipt_trie_key(tx_index: u64) -> Bytes {
    alloy::rlp::encode(tx_index).into()
}

/// The name of the call `Provider::get_block` makes for `block`.
fn block_call(block: BlockId) -> &'static str {
    match block {
        BlockId::Hash(_) => "eth_getBlockByHash",
        BlockId::Number(_) => "eth_getBlockByNumber",
    }
}

/// The root of the trie keyed by `rlp(index)` over the already encoded `items` (as alloy's
/// `ordered_trie_root_encoded` builds it), and the proof for `target`'s key.
fn ordered_trie_proof<T: AsRef<[u8]>>(items: &[T], target: usize) -> (B256, Vec<Bytes>) {
    let (root, path) = ordered_trie_path(items, target);
    (root, without_embedded(path))
}

/// The root, and every node on the path to `target`'s key, root first, each with its path.
fn ordered_trie_path<T: AsRef<[u8]>>(items: &[T], target: usize) -> (B256, Vec<(Nibbles, Bytes)>) {
    let key = |index: usize| Nibbles::unpack(alloy::rlp::encode_fixed_size(&index));
    let target_key = key(target);
    let mut builder =
        HashBuilder::default().with_proof_retainer(ProofRetainer::new(vec![target_key]));
    // Keys in byte order: rlp(1)..rlp(0x7f) are 0x01..0x7f, rlp(0) is 0x80, then 0x81.. for the
    // rest — the order `adjust_index_for_rlp` walks the items in.
    for i in 0..items.len() {
        let index = adjust_index_for_rlp(i, items.len());
        builder.add_leaf(key(index), items[index].as_ref());
    }
    let root = builder.root();
    let mut path = builder.take_proof_nodes().matching_nodes(&target_key);
    path.sort_by_key(|(path, _)| path.len());
    (root, path)
}

/// Drops the nodes a verifier finds embedded in their parent: every node but the root whose RLP
/// is shorter than 32 bytes (the yellow paper's rule for when a child is referenced by hash).
fn without_embedded(path: Vec<(Nibbles, Bytes)>) -> Vec<Bytes> {
    path.into_iter()
        .filter(|(path, node)| path.is_empty() || node.len() >= 32)
        .map(|(_, node)| node)
        .collect()
}

#[cfg(test)]
mod tests;
