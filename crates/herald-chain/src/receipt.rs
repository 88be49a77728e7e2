//! Execution receipts and the EIP-712 batch digest keepers sign.
//!
//! The digest is computed locally — a keeper signs without asking a node — and is exactly what
//! `Herald.batchDigest` computes on chain (an anvil test checks the two agree).

use alloy::{
    primitives::{Address, B256, Bytes},
    signers::{SignerSync, local::PrivateKeySigner},
    sol_types::{Eip712Domain, SolStruct, eip712_domain},
};

use crate::bindings::Herald;

mod typed {
    use alloy::sol;

    // The EIP-712 types, named and ordered exactly as in contracts/src/HeraldTypes.sol and
    // HeraldSettlement.BATCH_TYPEHASH.
    sol! {
        #[derive(Debug, PartialEq, Eq)]
        struct ExecutionReceipt {
            uint64 triggerId;
            bytes32 eventId;
            bytes32 resultHash;
            address connector;
            address runner;
            uint96 runnerFee;
            uint64 executedAt;
            bool success;
        }

        struct ReceiptBatch {
            ExecutionReceipt[] receipts;
        }
    }
}

/// A receipt as the contract takes it.
pub type Receipt = Herald::ExecutionReceipt;

/// The EIP-712 domain of a Herald deployment.
pub fn domain(chain_id: u64, herald: Address) -> Eip712Domain {
    eip712_domain! {
        name: "Herald",
        version: "1",
        chain_id: chain_id,
        verifying_contract: herald,
    }
}

/// The digest every co-signer signs for a batch.
pub fn batch_digest(domain: &Eip712Domain, receipts: &[Receipt]) -> B256 {
    let batch = typed::ReceiptBatch {
        receipts: receipts.iter().map(typed_receipt).collect(),
    };
    batch.eip712_signing_hash(domain)
}

/// The EIP-712 struct hash of one receipt (`Herald.hashReceipt`): two receipts differ exactly when
/// their hashes do.
pub fn receipt_hash(r: &Receipt) -> B256 {
    typed_receipt(r).eip712_hash_struct()
}

fn typed_receipt(r: &Receipt) -> typed::ExecutionReceipt {
    typed::ExecutionReceipt {
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

/// The signer of a 65-byte signature over `digest`.
pub fn recover_signer(digest: &B256, signature: &[u8]) -> Option<Address> {
    alloy::primitives::Signature::try_from(signature)
        .ok()?
        .recover_address_from_prehash(digest)
        .ok()
}

/// One keeper's signature over a digest: 65 bytes, `r ‖ s ‖ v` with v = 27 or 28.
pub fn sign_digest(
    signer: &PrivateKeySigner,
    digest: &B256,
) -> Result<(Address, Bytes), alloy::signers::Error> {
    let signature = signer.sign_hash_sync(digest)?;
    Ok((signer.address(), Bytes::from(signature.as_bytes().to_vec())))
}

/// Signatures in the order `settle` requires: by signer address, ascending, without duplicates.
pub fn order_signatures(mut signed: Vec<(Address, Bytes)>) -> Vec<Bytes> {
    signed.sort_by_key(|(signer, _)| *signer);
    signed.dedup_by_key(|(signer, _)| *signer);
    signed.into_iter().map(|(_, sig)| sig).collect()
}
