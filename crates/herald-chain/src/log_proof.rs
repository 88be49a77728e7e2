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
mod tests {
    use std::path::{Path, PathBuf};

    use alloy::{
        consensus::{Eip658Value, Receipt, ReceiptWithBloom, proofs::calculate_receipt_root},
        eips::eip2718::Decodable2718,
        network::{EthereumWallet, TransactionBuilder},
        node_bindings::{Anvil, AnvilInstance},
        primitives::{Address, LogData, TxHash, TxKind, U256},
        providers::{DynProvider, ProviderBuilder},
        rlp::Decodable,
        rpc::types::{AccessList, TransactionRequest},
        signers::local::PrivateKeySigner,
        trie::{nodes::TrieNode, root::ordered_trie_root_encoded},
    };

    use super::*;

    // ---- What the contract does, done independently of the code under test. ----

    /// Field 5 of the header RLP list (`receiptsRoot`), read the way the contract reads it.
    fn header_field_5(header_rlp: &[u8]) -> B256 {
        let mut buf = header_rlp;
        let list = alloy::rlp::Header::decode(&mut buf).expect("header is an RLP list");
        assert!(list.list, "header is an RLP list");
        for _ in 0..5 {
            let item = alloy::rlp::Header::decode(&mut buf).expect("header item");
            buf = &buf[item.payload_length..];
        }
        B256::decode(&mut buf).expect("receiptsRoot is 32 bytes")
    }

    /// The value at the end of the proof (the last node is the leaf).
    fn leaf_value(proof: &[Bytes]) -> Vec<u8> {
        let last = proof.last().expect("a non-empty proof");
        match TrieNode::decode(&mut &last[..]).expect("a trie node") {
            TrieNode::Leaf(leaf) => leaf.value,
            other => panic!("the last proof node is not a leaf: {other:?}"),
        }
    }

    /// Checks `proof` the way the challenge contract will, and returns the receipt it proves.
    fn check_proof(proof: &LogProof) -> ReceiptEnvelope {
        assert_eq!(keccak256(&proof.header_rlp), proof.block_hash);
        let header = alloy::consensus::Header::decode(&mut &proof.header_rlp[..]).expect("header");
        assert_eq!(header.number, proof.block_number);
        let receipts_root = header_field_5(&proof.header_rlp);
        assert_eq!(receipts_root, header.receipts_root);

        assert_eq!(
            keccak256(&proof.receipt_proof[0]),
            receipts_root,
            "the root node comes first"
        );
        assert_eq!(proof.receipt_key(), alloy::rlp::encode(proof.tx_index));
        let value = leaf_value(&proof.receipt_proof);
        verify_proof(
            receipts_root,
            Nibbles::unpack(proof.receipt_key()),
            Some(value.clone()),
            &proof.receipt_proof,
        )
        .expect("the proof verifies against receiptsRoot");

        let receipt = ReceiptEnvelope::decode_2718(&mut &value[..]).expect("an EIP-2718 receipt");
        let log = &receipt.logs()[proof.log_index_in_tx as usize];
        assert_eq!(alloy::rlp::encode(log), proof.log_rlp.to_vec());
        receipt
    }

    // ---- anvil ----

    /// The repository's anvil: `$HERALD_ANVIL`, else `.tools/node_modules/.bin/anvil` above this
    /// crate (installed by `tools/install`), else `anvil` on the `PATH`.
    fn anvil_path() -> PathBuf {
        if let Some(path) = std::env::var_os("HERALD_ANVIL") {
            return PathBuf::from(path);
        }
        Path::new(env!("CARGO_MANIFEST_DIR"))
            .ancestors()
            .map(|d| d.join(".tools/node_modules/.bin/anvil"))
            .find(|p| p.is_file())
            .unwrap_or_else(|| PathBuf::from("anvil"))
    }

    const SENDERS: usize = 4;

    struct Chain {
        _anvil: AnvilInstance,
        provider: DynProvider,
        senders: Vec<Address>,
        nonces: Vec<u64>,
    }

    impl Chain {
        /// Prague anvil that mines only when told to.
        async fn start() -> Self {
            let anvil = Anvil::new()
                .path(anvil_path())
                .args(["--hardfork", "prague", "--no-mining"])
                .try_spawn()
                .expect("start anvil (run tools/install, or set HERALD_ANVIL)");
            let signers: Vec<PrivateKeySigner> = anvil.keys()[..SENDERS]
                .iter()
                .map(|k| PrivateKeySigner::from_signing_key(k.clone().into()))
                .collect();
            let senders = signers.iter().map(|s| s.address()).collect();
            let mut wallet = EthereumWallet::from(signers[0].clone());
            for signer in &signers[1..] {
                wallet.register_signer(signer.clone());
            }
            let provider = ProviderBuilder::new()
                .wallet(wallet)
                .connect(&anvil.endpoint())
                .await
                .expect("connect to anvil")
                .erased();
            Self {
                _anvil: anvil,
                provider,
                senders,
                nonces: vec![0; SENDERS],
            }
        }

        /// Sends `tx` from sender `from` with every field set (nothing is estimated against the
        /// pending block); returns its hash.
        async fn send(&mut self, from: usize, tx: TransactionRequest) -> TxHash {
            let nonce = self.nonces[from];
            self.nonces[from] += 1;
            let tx = tx
                .with_from(self.senders[from])
                .with_nonce(nonce)
                .with_chain_id(31337)
                .with_gas_limit(200_000);
            *self
                .provider
                .send_transaction(tx)
                .await
                .expect("send a transaction")
                .tx_hash()
        }

        async fn mine(&self) -> u64 {
            let _: String = self
                .provider
                .raw_request("evm_mine".into(), ())
                .await
                .expect("evm_mine");
            self.provider
                .get_block_number()
                .await
                .expect("block number")
        }

        async fn receipts(&self, number: u64) -> Vec<TransactionReceipt> {
            self.provider
                .get_block_receipts(BlockId::number(number))
                .await
                .expect("eth_getBlockReceipts")
                .expect("the block's receipts")
        }
    }

    const GWEI: u128 = 1_000_000_000;

    fn eip1559(tip_gwei: u128) -> TransactionRequest {
        TransactionRequest::default()
            .with_max_fee_per_gas(50 * GWEI)
            .with_max_priority_fee_per_gas(tip_gwei * GWEI)
    }

    fn legacy() -> TransactionRequest {
        TransactionRequest::default().with_gas_price(50 * GWEI)
    }

    fn eip2930() -> TransactionRequest {
        legacy().with_access_list(AccessList::default())
    }

    /// Init code that emits `logs` logs (alternately LOG1 and LOG2, 32 bytes of data each, tagged
    /// with `tag`) and deploys no code.
    fn emitter(tag: u8, logs: u8) -> Bytes {
        // mstore(0, tag)
        let mut code = vec![0x60, tag, 0x60, 0x00, 0x52];
        for k in 0..logs {
            if k % 2 == 0 {
                // log1(0, 32, 0x10 + k)
                code.extend([0x60, 0x10 + k, 0x60, 0x20, 0x60, 0x00, 0xa1]);
            } else {
                // log2(0, 32, 0x10 + k, tag)
                code.extend([0x60, tag, 0x60, 0x10 + k, 0x60, 0x20, 0x60, 0x00, 0xa2]);
            }
        }
        code.push(0x00);
        code.into()
    }

    /// Init code that reverts.
    fn reverter() -> Bytes {
        vec![0x60, 0x00, 0x60, 0x00, 0xfd].into()
    }

    fn create(tx: TransactionRequest, code: Bytes) -> TransactionRequest {
        tx.with_kind(TxKind::Create).with_input(code)
    }

    fn transfer(tx: TransactionRequest, to: u8) -> TransactionRequest {
        tx.with_to(Address::repeat_byte(to))
            .with_value(U256::from(1000))
    }

    #[tokio::test]
    async fn proves_every_log_of_a_many_transaction_prague_block() {
        let mut chain = Chain::start().await;

        // One block: a log-emitting creation with the highest tip (so it is transaction 0, key
        // 0x80), then transfers, multi-log creations of every transaction type, and a revert.
        let mut hashes = vec![chain.send(0, create(eip1559(5), emitter(0xa0, 2))).await];
        for k in 0..18u8 {
            let from = usize::from(k) % SENDERS;
            let tx = match k % 6 {
                0 => transfer(eip1559(1), k + 1),
                1 => create(eip1559(1), emitter(k, 3)),
                2 => create(legacy(), emitter(k, 1)),
                3 => create(eip2930(), emitter(k, 2)),
                4 => transfer(legacy(), k + 1),
                _ => create(eip1559(1), reverter()),
            };
            hashes.push(chain.send(from, tx).await);
        }
        let number = chain.mine().await;

        let receipts = chain.receipts(number).await;
        assert_eq!(
            receipts.len(),
            hashes.len(),
            "all transactions are in one block"
        );
        assert!(receipts.iter().all(|r| r.block_number == Some(number)));
        assert!(!receipts[0].logs().is_empty(), "transaction 0 emits logs");
        assert!(receipts.iter().any(|r| r.logs().len() >= 2));
        assert!(
            receipts.iter().any(|r| !r.status()),
            "a reverted transaction is included"
        );
        for ty in [0u8, 1, 2] {
            assert!(
                receipts.iter().any(|r| r.transaction_type() as u8 == ty),
                "a receipt of type {ty}"
            );
        }

        let block = chain
            .provider
            .get_block(BlockId::number(number))
            .await
            .expect("eth_getBlockByNumber")
            .expect("the block");
        let block_hash = block.header.hash;
        let header = &block.header.inner;
        assert!(
            header.requests_hash.is_some()
                && header.parent_beacon_block_root.is_some()
                && header.withdrawals_root.is_some()
                && header.blob_gas_used.is_some()
                && header.excess_blob_gas.is_some(),
            "a prague header: {header:?}"
        );

        let mut proven = 0;
        for (tx_index, receipt) in receipts.iter().enumerate() {
            let tx_index = tx_index as u64;
            let logs = receipt.logs();
            for (in_tx, log) in logs.iter().enumerate() {
                let in_tx = in_tx as u64;
                let proof = prove_log(&chain.provider, BlockId::number(number), tx_index, in_tx)
                    .await
                    .expect("prove a log");
                assert_eq!((proof.block_number, proof.block_hash), (number, block_hash));
                assert_eq!((proof.tx_index, proof.log_index_in_tx), (tx_index, in_tx));
                let proven_receipt = check_proof(&proof);
                // The proven receipt is the node's receipt, and the log is the node's log.
                assert_eq!(
                    proven_receipt,
                    receipt.inner.clone().into_primitives_receipt()
                );
                assert_eq!(
                    Log::decode(&mut &proof.log_rlp[..]).expect("a log"),
                    log.inner
                );
                assert_eq!(log_hash(&log.inner), keccak256(&proof.log_rlp));
                // The root is a branch: a proof is more than one node.
                assert!(proof.receipt_proof.len() >= 2);
                let global = log.log_index.expect("logIndex");
                assert_eq!(locate_log(&receipts, global), Some((tx_index, in_tx)));
                proven += 1;
            }
            // Out of range within the transaction.
            let err = prove_log(
                &chain.provider,
                BlockId::number(number),
                tx_index,
                logs.len() as u64,
            )
            .await
            .expect_err("no such log");
            assert!(
                matches!(err, LogProofError::LogIndexOutOfRange { log_count, .. } if log_count == logs.len() as u64),
                "{err}"
            );
            assert!(err.to_string().contains("log index out of range"), "{err}");
        }
        let total: usize = receipts.iter().map(|r| r.logs().len()).sum();
        assert_eq!(proven, total);
        assert_eq!(locate_log(&receipts, total as u64), None);

        // By hash, the same proof.
        let multi = receipts
            .iter()
            .position(|r| r.logs().len() >= 2)
            .expect("a transaction with two logs") as u64;
        let by_number = prove_log(&chain.provider, BlockId::number(number), multi, 1)
            .await
            .expect("by number");
        let by_hash = prove_log(&chain.provider, BlockId::hash(block_hash), multi, 1)
            .await
            .expect("by hash");
        assert_eq!(by_number, by_hash);

        // Out of range in the block.
        let err = prove_log(
            &chain.provider,
            BlockId::number(number),
            receipts.len() as u64,
            0,
        )
        .await
        .expect_err("no such transaction");
        assert!(
            matches!(err, LogProofError::TxIndexOutOfRange { tx_count, .. } if tx_count == receipts.len() as u64),
            "{err}"
        );
        assert!(err.to_string().contains("tx index out of range"), "{err}");
        let err = prove_log(&chain.provider, BlockId::number(number + 5), 0, 0)
            .await
            .expect_err("no such block");
        assert!(matches!(err, LogProofError::BlockNotFound { .. }), "{err}");
    }

    #[tokio::test]
    async fn proves_the_log_of_a_single_transaction_block_and_refuses_an_empty_one() {
        let mut chain = Chain::start().await;
        chain.send(1, create(eip1559(1), emitter(7, 2))).await;
        let number = chain.mine().await;
        assert_eq!(chain.receipts(number).await.len(), 1);

        for in_tx in 0..2 {
            let proof = prove_log(&chain.provider, BlockId::number(number), 0, in_tx)
                .await
                .expect("prove a log");
            assert_eq!(proof.receipt_proof.len(), 1, "the root node is the leaf");
            check_proof(&proof);
        }

        // The genesis block: its header checks out, and it has no transactions.
        let err = prove_log(&chain.provider, BlockId::number(0), 0, 0)
            .await
            .expect_err("no transactions");
        assert!(
            matches!(
                err,
                LogProofError::TxIndexOutOfRange {
                    block_number: 0,
                    tx_count: 0,
                    ..
                }
            ),
            "{err}"
        );
        // An empty block mined on a prague chain.
        let empty = chain.mine().await;
        let err = prove_log(&chain.provider, BlockId::number(empty), 0, 0)
            .await
            .expect_err("no transactions");
        assert!(
            matches!(err, LogProofError::TxIndexOutOfRange { tx_count: 0, .. }),
            "{err}"
        );
    }

    // ---- the trie, without a node ----

    fn receipt(logs: usize) -> ReceiptEnvelope {
        let logs = (0..logs)
            .map(|i| Log {
                address: Address::repeat_byte(0x42),
                data: LogData::new_unchecked(
                    vec![B256::with_last_byte(i as u8)],
                    vec![i as u8; 40].into(),
                ),
            })
            .collect();
        let receipt = Receipt {
            status: Eip658Value::Eip658(true),
            cumulative_gas_used: 21_000,
            logs,
        };
        ReceiptEnvelope::Eip1559(ReceiptWithBloom::from(receipt))
    }

    #[test]
    fn a_single_receipt_trie_is_its_leaf() {
        let receipts = [receipt(2)];
        let encoded = [receipts[0].encoded_2718()];
        let (root, proof) = ordered_trie_proof(&encoded, 0);
        assert_eq!(root, calculate_receipt_root(&receipts));
        assert_eq!(proof.len(), 1);
        assert_eq!(keccak256(&proof[0]), root);
        assert_eq!(leaf_value(&proof), encoded[0]);
        verify_proof(
            root,
            Nibbles::unpack(receipt_trie_key(0)),
            Some(encoded[0].clone()),
            &proof,
        )
        .expect("verifies");
    }

    #[test]
    fn receipt_tries_prove_every_index_across_the_key_boundaries() {
        // 0x80 (index 0), 0x01..0x7f, then two-byte keys from 0x81 0x80 (index 128).
        let receipts: Vec<ReceiptEnvelope> = (0..140).map(|i| receipt(i % 3)).collect();
        let encoded: Vec<Vec<u8>> = receipts.iter().map(Encodable2718::encoded_2718).collect();
        for target in [0, 1, 2, 15, 16, 0x7f, 0x80, 0x81, 139] {
            let (root, proof) = ordered_trie_proof(&encoded, target);
            assert_eq!(root, calculate_receipt_root(&receipts));
            verify_proof(
                root,
                Nibbles::unpack(receipt_trie_key(target as u64)),
                Some(encoded[target].clone()),
                &proof,
            )
            .unwrap_or_else(|e| panic!("index {target}: {e}"));
            assert_eq!(leaf_value(&proof), encoded[target]);
        }
    }

    #[test]
    fn nodes_embedded_in_their_parent_are_left_out() {
        // One-byte values: the leaves (and some branches) are shorter than 32 bytes.
        let items: Vec<Vec<u8>> = (0..40u8).map(|i| vec![i]).collect();
        let mut saw_embedded = false;
        for target in 0..items.len() {
            let (root, path) = ordered_trie_path(&items, target);
            assert_eq!(root, ordered_trie_root_encoded(&items));
            let key = Nibbles::unpack(receipt_trie_key(target as u64));
            let value = Some(items[target].clone());
            if path.iter().skip(1).any(|(_, node)| node.len() < 32) {
                saw_embedded = true;
                // Listing an embedded node again is not what verifiers take.
                let raw: Vec<Bytes> = path.iter().map(|(_, node)| node.clone()).collect();
                assert!(verify_proof(root, key, value.clone(), &raw).is_err());
            }
            let proof = without_embedded(path);
            assert!(proof.iter().skip(1).all(|node| node.len() >= 32));
            verify_proof(root, key, value, &proof)
                .unwrap_or_else(|e| panic!("index {target}: {e}"));
        }
        assert!(saw_embedded);
    }

    #[test]
    fn locate_log_counts_logs_across_receipts() {
        let mut global = 0;
        let mut rpc = |index: u64, logs: usize| TransactionReceipt {
            inner: receipt(logs).map_logs(|inner| {
                global += 1;
                alloy::rpc::types::Log {
                    inner,
                    log_index: Some(global - 1),
                    ..Default::default()
                }
            }),
            transaction_hash: B256::ZERO,
            transaction_index: Some(index),
            block_hash: None,
            block_number: None,
            gas_used: 0,
            effective_gas_price: 0,
            blob_gas_used: None,
            blob_gas_price: None,
            from: Address::ZERO,
            to: None,
            contract_address: None,
        };
        let mut receipts = vec![rpc(0, 2), rpc(1, 0), rpc(2, 3), rpc(3, 1)];
        let expected = [(0, 0), (0, 1), (2, 0), (2, 1), (2, 2), (3, 0)];
        for (global, at) in expected.into_iter().enumerate() {
            assert_eq!(locate_log(&receipts, global as u64), Some(at));
        }
        assert_eq!(locate_log(&receipts, 6), None);
        assert_eq!(locate_log(&[], 0), None);

        // Receipts out of block order are refused rather than misread.
        receipts.swap(0, 1);
        assert_eq!(locate_log(&receipts, 0), None);
    }
}
