//! Limits: the recipient lists, secret names, values and counts that sealing refuses.

use super::fixtures::{address, context, keepers, recipients, secrets};
use crate::{Envelope, PublicKey, Recipient, SealError, Secrets, SecretsError};

#[test]
fn seal_refuses_bad_recipient_lists_and_oversize_secrets() {
    let keepers = keepers(2);
    let mut list = recipients(&keepers);
    assert_eq!(
        Envelope::seal(&secrets(), &context(), &[]).err(),
        Some(SealError::NoRecipients)
    );
    list.push(list[0]);
    assert_eq!(
        Envelope::seal(&secrets(), &context(), &list).err(),
        Some(SealError::DuplicateRecipient {
            address: keepers[0].0
        })
    );
    let many: Vec<Recipient> = (0..257)
        .map(|i| Recipient {
            address: address(i),
            key: keepers[0].1.public_key(),
        })
        .collect();
    assert_eq!(
        Envelope::seal(&secrets(), &context(), &many).err(),
        Some(SealError::TooManyRecipients { count: 257 })
    );
    // A low-order point (here the all-zero u-coordinate) would give a known shared secret.
    let weak = [Recipient {
        address: address(1),
        key: PublicKey([0; 32]),
    }];
    assert_eq!(
        Envelope::seal(&secrets(), &context(), &weak).err(),
        Some(SealError::InvalidRecipientKey {
            address: address(1)
        })
    );
    let mut big = Secrets::new();
    for i in 0..5 {
        big.insert(&format!("s{i}"), "x".repeat(4096))
            .expect("valid");
    }
    assert!(matches!(
        Envelope::seal(&big, &context(), &recipients(&keepers)),
        Err(SealError::TooLarge { .. })
    ));
}

#[test]
fn secrets_limits() {
    let mut secrets = Secrets::new();
    assert_eq!(
        secrets.insert("", "v"),
        Err(SecretsError::NameLength { len: 0 })
    );
    assert_eq!(
        secrets.insert(&"a".repeat(65), "v"),
        Err(SecretsError::NameLength { len: 65 })
    );
    secrets.insert(&"a".repeat(64), "v").expect("64 is allowed");
    assert_eq!(
        secrets.insert("Upper", "v"),
        Err(SecretsError::NameCharacter { position: 0 })
    );
    assert_eq!(
        secrets.insert("a.b", "v"),
        Err(SecretsError::NameCharacter { position: 1 })
    );
    secrets
        .insert("ok_name-0", "x".repeat(4096))
        .expect("4096 is allowed");
    assert_eq!(
        secrets.insert("long", "x".repeat(4097)),
        Err(SecretsError::ValueTooLong {
            name: "long".into(),
            len: 4097
        })
    );
    assert_eq!(
        secrets.insert("ok_name-0", "again"),
        Err(SecretsError::Duplicate {
            name: "ok_name-0".into()
        })
    );
    for i in secrets.len()..32 {
        secrets
            .insert(&format!("n{i}"), "v")
            .expect("under the cap");
    }
    assert_eq!(secrets.len(), 32);
    assert_eq!(secrets.insert("one-more", "v"), Err(SecretsError::TooMany));
    assert!(!secrets.is_empty());
    assert!(Secrets::new().is_empty());
    // The empty set still seals and opens.
    let keepers = keepers(1);
    let envelope =
        Envelope::seal(&Secrets::new(), &context(), &recipients(&keepers)).expect("seals");
    let opened = envelope
        .open(&context(), keepers[0].0, &keepers[0].1)
        .expect("opens");
    assert!(opened.is_empty());
}
