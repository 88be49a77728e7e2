//! Proofs of real anvil blocks, checked as the challenge contract checks them.

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
            .timeout(60_000)
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
        verify_proof(root, key, value, &proof).unwrap_or_else(|e| panic!("index {target}: {e}"));
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
