//! Inputs the tests share: secrets to seal, a context, keepers with keys, and the slot layout.

use alloy_primitives::Address;

use crate::{Context, EncryptionKey, Envelope, Recipient, Secrets};

pub(super) const WEBHOOK_SECRET: &str = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";
pub(super) const API_TOKEN: &str = "Bearer 4f0c2d9e-sk-live-7Qx1Zr8LmN3pVt6Yw";

pub(super) fn address(n: u64) -> Address {
    let mut bytes = [0u8; 20];
    bytes[..8].copy_from_slice(&n.to_be_bytes());
    bytes[19] = 0xAB;
    Address::from(bytes)
}

pub(super) fn context() -> Context {
    Context {
        chain_id: 8453,
        herald: address(9_000),
        owner: address(9_001),
        trigger: 7,
    }
}

pub(super) fn secrets() -> Secrets {
    let mut secrets = Secrets::new();
    secrets
        .insert("webhook_secret", WEBHOOK_SECRET)
        .expect("valid");
    secrets.insert("api-token", API_TOKEN).expect("valid");
    secrets
}

/// `n` keepers: their addresses, keys and recipient entries.
pub(super) fn keepers(n: u64) -> Vec<(Address, EncryptionKey)> {
    (1..=n)
        .map(|i| (address(i), EncryptionKey::generate()))
        .collect()
}

pub(super) fn recipients(keepers: &[(Address, EncryptionKey)]) -> Vec<Recipient> {
    keepers
        .iter()
        .map(|(address, key)| Recipient {
            address: *address,
            key: key.public_key(),
        })
        .collect()
}

pub(super) fn pairs(secrets: &Secrets) -> Vec<(String, String)> {
    secrets
        .iter()
        .map(|(n, v)| (n.to_owned(), v.to_owned()))
        .collect()
}

pub(super) fn seal(keepers: &[(Address, EncryptionKey)]) -> Envelope {
    Envelope::seal(&secrets(), &context(), &recipients(keepers)).expect("seals")
}

/// Byte range of recipient `index`'s slot, after version (1) and count (2).
pub(super) fn slot(index: usize) -> std::ops::Range<usize> {
    let start = 3 + index * 100;
    start..start + 100
}
