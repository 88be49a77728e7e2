//! Keys: owner and keeper derivation, and the byte, hex and text forms of private and public keys.

use crate::{EncryptionKey, KeyError, PublicKey};

#[test]
fn owner_key_derivation_is_deterministic_and_domain_separated() {
    let a = EncryptionKey::for_owner(&[1u8; 32]);
    assert_eq!(
        a.public_key(),
        EncryptionKey::for_owner(&[1u8; 32]).public_key()
    );
    assert_ne!(
        a.public_key(),
        EncryptionKey::for_owner(&[2u8; 32]).public_key()
    );
    // Not the Ethereum key used as is, and not the same key in the keeper role.
    assert_ne!(*a.to_bytes(), [1u8; 32]);
    let keeper = EncryptionKey::for_keeper(&[1u8; 32]);
    assert_ne!(keeper.public_key(), a.public_key());
    assert_eq!(
        keeper.public_key(),
        EncryptionKey::for_keeper(&[1u8; 32]).public_key()
    );
}

#[test]
fn keys_round_trip_through_bytes_and_hex() {
    let key = EncryptionKey::generate();
    let again = EncryptionKey::from_bytes(*key.to_bytes());
    assert_eq!(again.public_key(), key.public_key());
    let hex_text = key.to_hex();
    for text in [
        hex_text.to_string(),
        format!("0x{}\n", *hex_text),
        hex_text.to_uppercase(),
    ] {
        assert_eq!(
            EncryptionKey::from_hex(&text).expect("parses").public_key(),
            key.public_key()
        );
    }
    assert_eq!(
        EncryptionKey::from_hex("0x1234").err(),
        Some(KeyError::WrongLength { digits: 4 })
    );
    assert_eq!(
        EncryptionKey::from_hex(&"g".repeat(64)).err(),
        Some(KeyError::NotHex)
    );
    let public = key.public_key();
    let shown = public.to_string();
    assert!(shown.starts_with("0x") && shown.len() == 66);
    assert_eq!(shown.parse::<PublicKey>(), Ok(public));
    assert_eq!(
        shown[2..].parse::<PublicKey>(),
        Ok(public),
        "0x is optional"
    );
    assert_eq!("0xzz".parse::<PublicKey>(), Err(KeyError::NotHex));
}
