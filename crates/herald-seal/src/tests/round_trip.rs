//! Round trips: what is sealed opens to the same secrets, for every recipient and the owner.

use alloy_primitives::Address;

use super::fixtures::{
    WEBHOOK_SECRET, address, context, keepers, pairs, recipients, seal, secrets,
};
use crate::{EncryptionKey, Envelope, Recipient, Secrets};

#[test]
fn round_trip_one_recipient() {
    let keepers = keepers(1);
    let envelope = seal(&keepers);
    let parsed = Envelope::from_bytes(&envelope.to_bytes()).expect("parses");
    assert_eq!(parsed, envelope);
    let opened = parsed
        .open(&context(), keepers[0].0, &keepers[0].1)
        .expect("opens");
    assert_eq!(pairs(&opened), pairs(&secrets()));
    assert_eq!(opened.get("webhook_secret"), Some(WEBHOOK_SECRET));
    assert_eq!(parsed.recipients().collect::<Vec<_>>(), vec![keepers[0].0]);
    assert!(parsed.is_for(keepers[0].0));
    assert!(!parsed.is_for(address(77)));
}

#[test]
fn round_trip_twenty_recipients() {
    let keepers = keepers(20);
    let envelope = Envelope::from_base64(&seal(&keepers).to_base64()).expect("parses");
    let order: Vec<Address> = keepers.iter().map(|(a, _)| *a).collect();
    assert_eq!(envelope.recipients().collect::<Vec<_>>(), order);
    for (address, key) in &keepers {
        let opened = envelope.open(&context(), *address, key).expect("opens");
        assert_eq!(pairs(&opened), pairs(&secrets()));
    }
}

#[test]
fn owner_opens_with_key_derived_from_its_eth_key() {
    let eth_key = [0x42u8; 32];
    let keepers = keepers(3);
    let mut all = recipients(&keepers);
    all.push(Recipient {
        address: context().owner,
        key: EncryptionKey::for_owner(&eth_key).public_key(),
    });
    let envelope = Envelope::seal(&secrets(), &context(), &all).expect("seals");
    // Later, with nothing but the Ethereum key:
    let opened = envelope
        .open(
            &context(),
            context().owner,
            &EncryptionKey::for_owner(&eth_key),
        )
        .expect("owner opens");
    assert_eq!(pairs(&opened), pairs(&secrets()));
}

#[test]
fn envelope_sizes() {
    // Two 40-byte secrets.
    let mut two = Secrets::new();
    two.insert("webhook_secret", "w".repeat(40)).expect("valid");
    two.insert("api_token", "t".repeat(40)).expect("valid");
    // Plaintext: 1 + (3 + 14 + 40) + (3 + 9 + 40) = 110; body = 110 + 16 tag = 126.
    let all = keepers(100);
    for n in [1usize, 5, 20, 100] {
        let envelope = Envelope::seal(&two, &context(), &recipients(&all[..n])).expect("seals");
        let len = envelope.to_bytes().len();
        assert_eq!(len, envelope.encoded_len());
        assert_eq!(len, 7 + 100 * n + 126, "{n} recipients");
    }
    let hundred = Envelope::seal(&secrets(), &context(), &recipients(&all)).expect("seals");
    assert!(hundred.to_bytes().len() < 12_000);
}
