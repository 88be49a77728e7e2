//! Collecting the quorum's signatures over a receipt batch.
//!
//! Settlement needs signatures from at least `quorum` distinct active keepers over the batch's
//! EIP-712 digest. A [`Cosigner`] turns a batch into that list, in the order `settle` requires: a
//! keeper alone signs by itself ([`LocalSigner`], enough for quorum 1); in a network it asks its
//! peers to check the receipts against the evidence and sign
//! ([`NetworkCosigner`](crate::network::client::NetworkCosigner)).

use std::future::Future;

use alloy::{
    primitives::{Address, B256, Bytes},
    signers::local::PrivateKeySigner,
};
use herald_chain::receipt::{order_signatures, sign_digest};

use crate::network::protocol::Attestable;

/// Why signatures could not be collected.
#[derive(Debug, thiserror::Error)]
pub enum CosignError {
    /// A local signing failure.
    #[error("signing: {0}")]
    Sign(#[from] alloy::signers::Error),
    /// The signatures collected do not reach the quorum (too few signers, or too little of the
    /// total bond among them).
    #[error(
        "{got} signatures collected (at least {needed} needed, holding the quorum's share of the bond)"
    )]
    Quorum {
        /// Signatures collected.
        got: usize,
        /// The fewest signers a batch needs.
        needed: usize,
    },
}

/// Collects signatures over a batch digest.
pub trait Cosigner: Send + Sync {
    /// Signatures over `digest` (the batch of `batch`'s receipts), ordered by signer, at least a
    /// quorum.
    fn cosign(
        &self,
        digest: B256,
        batch: &[Attestable],
    ) -> impl Future<Output = Result<Vec<Bytes>, CosignError>> + Send;
}

/// Signs with this keeper's key alone.
pub struct LocalSigner {
    signer: PrivateKeySigner,
}

impl LocalSigner {
    /// Signs as `signer`.
    pub fn new(signer: PrivateKeySigner) -> Self {
        Self { signer }
    }

    /// The signer's address.
    pub fn address(&self) -> Address {
        self.signer.address()
    }
}

impl Cosigner for LocalSigner {
    async fn cosign(&self, digest: B256, _batch: &[Attestable]) -> Result<Vec<Bytes>, CosignError> {
        Ok(order_signatures(vec![sign_digest(&self.signer, &digest)?]))
    }
}
