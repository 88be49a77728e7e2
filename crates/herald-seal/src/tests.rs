//! Unit tests: round trips, bindings, tampering, parsing limits and secret hygiene.

use alloy_primitives::{Address, hex};
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as BASE64;
use zeroize::Zeroizing;

use crate::{
    Context, EncryptionKey, Envelope, FormatError, KeyError, MAX_BODY_LEN, MalformedSecrets,
    OpenError, PublicKey, Recipient, SealError, Secrets, SecretsError,
};

const WEBHOOK_SECRET: &str = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";
const API_TOKEN: &str = "Bearer 4f0c2d9e-sk-live-7Qx1Zr8LmN3pVt6Yw";

/// A deterministic generator for test inputs (not for keys): splitmix64.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    fn bytes(&mut self, len: usize) -> Vec<u8> {
        (0..len).map(|_| self.next() as u8).collect()
    }
}

fn address(n: u64) -> Address {
    let mut bytes = [0u8; 20];
    bytes[..8].copy_from_slice(&n.to_be_bytes());
    bytes[19] = 0xAB;
    Address::from(bytes)
}

fn context() -> Context {
    Context {
        chain_id: 8453,
        herald: address(9_000),
        owner: address(9_001),
        trigger: 7,
    }
}

fn secrets() -> Secrets {
    let mut secrets = Secrets::new();
    secrets
        .insert("webhook_secret", WEBHOOK_SECRET)
        .expect("valid");
    secrets.insert("api-token", API_TOKEN).expect("valid");
    secrets
}

/// `n` keepers: their addresses, keys and recipient entries.
fn keepers(n: u64) -> Vec<(Address, EncryptionKey)> {
    (1..=n)
        .map(|i| (address(i), EncryptionKey::generate()))
        .collect()
}

fn recipients(keepers: &[(Address, EncryptionKey)]) -> Vec<Recipient> {
    keepers
        .iter()
        .map(|(address, key)| Recipient {
            address: *address,
            key: key.public_key(),
        })
        .collect()
}

fn pairs(secrets: &Secrets) -> Vec<(String, String)> {
    secrets
        .iter()
        .map(|(n, v)| (n.to_owned(), v.to_owned()))
        .collect()
}

fn seal(keepers: &[(Address, EncryptionKey)]) -> Envelope {
    Envelope::seal(&secrets(), &context(), &recipients(keepers)).expect("seals")
}

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
fn non_recipient_cannot_open() {
    let keepers = keepers(2);
    let envelope = seal(&keepers);
    let outsider = EncryptionKey::generate();
    assert_eq!(
        envelope.open(&context(), address(50), &outsider).err(),
        Some(OpenError::NotARecipient {
            address: address(50)
        })
    );
    // Claiming a recipient's address does not help without its key.
    assert_eq!(
        envelope.open(&context(), keepers[0].0, &outsider).err(),
        Some(OpenError::Rejected)
    );
    // Nor does another recipient's key.
    assert_eq!(
        envelope.open(&context(), keepers[0].0, &keepers[1].1).err(),
        Some(OpenError::Rejected)
    );
}

#[test]
fn other_context_opens_nowhere() {
    let keepers = keepers(1);
    let envelope = seal(&keepers);
    let (me, key) = (&keepers[0].0, &keepers[0].1);
    let base = context();
    for other in [
        Context {
            owner: address(9_002),
            ..base
        },
        Context {
            chain_id: 1,
            ..base
        },
        Context {
            herald: address(9_003),
            ..base
        },
        // Another trigger of the same owner: an owner contract several users share.
        Context { trigger: 8, ..base },
    ] {
        assert_eq!(
            envelope.open(&other, *me, key).err(),
            Some(OpenError::Rejected)
        );
    }
}

#[test]
fn every_single_byte_flip_is_caught() {
    let keepers = keepers(2);
    let original = pairs(&secrets());
    // One recipient: every flip must fail to parse or fail to open.
    let single = seal(&keepers[..1]).to_bytes();
    for position in 0..single.len() {
        for mask in [0x01u8, 0x80, 0xFF] {
            let mut bytes = single.clone();
            bytes[position] ^= mask;
            if let Ok(envelope) = Envelope::from_bytes(&bytes) {
                assert!(
                    envelope
                        .open(&context(), keepers[0].0, &keepers[0].1)
                        .is_err(),
                    "flip {mask:#04x} at byte {position} still opened"
                );
            }
        }
    }
    // Two recipients: a flip in the other's wrapped key cannot be noticed (it is the other's),
    // but no flip may yield different secrets, and every flip breaks someone.
    let double = seal(&keepers).to_bytes();
    for position in 0..double.len() {
        let mut bytes = double.clone();
        bytes[position] ^= 0x01;
        let Ok(envelope) = Envelope::from_bytes(&bytes) else {
            continue;
        };
        let mut someone_failed = false;
        for (address, key) in &keepers {
            match envelope.open(&context(), *address, key) {
                Ok(opened) => assert_eq!(pairs(&opened), original, "byte {position}"),
                Err(_) => someone_failed = true,
            }
        }
        assert!(someone_failed, "flip at byte {position} went unnoticed");
    }
}

/// Byte range of recipient `index`'s slot, after version (1) and count (2).
fn slot(index: usize) -> std::ops::Range<usize> {
    let start = 3 + index * 100;
    start..start + 100
}

#[test]
fn swapped_wraps_fail() {
    let keepers = keepers(2);
    let bytes = seal(&keepers).to_bytes();
    // Swap encapsulated key and wrapped key, keeping the addresses in place.
    let mut swapped = bytes.clone();
    let (a, b) = (slot(0), slot(1));
    swapped[a.start + 20..a.end].copy_from_slice(&bytes[b.start + 20..b.end]);
    swapped[b.start + 20..b.end].copy_from_slice(&bytes[a.start + 20..a.end]);
    let envelope = Envelope::from_bytes(&swapped).expect("still well-formed");
    for (address, key) in &keepers {
        assert_eq!(
            envelope.open(&context(), *address, key).err(),
            Some(OpenError::Rejected)
        );
    }
    // Swapping whole slots (reordering recipients) fails too: the body binds the order.
    let mut reordered = bytes.clone();
    reordered[a.clone()].copy_from_slice(&bytes[b.clone()]);
    reordered[b].copy_from_slice(&bytes[a]);
    let envelope = Envelope::from_bytes(&reordered).expect("still well-formed");
    for (address, key) in &keepers {
        assert_eq!(
            envelope.open(&context(), *address, key).err(),
            Some(OpenError::Rejected)
        );
    }
}

#[test]
fn removing_a_recipient_fails_for_the_rest() {
    let keepers = keepers(3);
    let bytes = seal(&keepers).to_bytes();
    let mut shorter = vec![bytes[0], 0, 2];
    shorter.extend_from_slice(&bytes[slot(0)]);
    shorter.extend_from_slice(&bytes[slot(2).start..]);
    let envelope = Envelope::from_bytes(&shorter).expect("still well-formed");
    assert!(!envelope.is_for(keepers[1].0));
    for i in [0, 2] {
        assert_eq!(
            envelope.open(&context(), keepers[i].0, &keepers[i].1).err(),
            Some(OpenError::Rejected)
        );
    }
}

#[test]
fn wrap_moved_to_another_envelope_fails() {
    let keepers = keepers(1);
    let first = seal(&keepers).to_bytes();
    let mut other_secrets = Secrets::new();
    other_secrets
        .insert("webhook_secret", "whsec_attacker_chosen_value_0000")
        .expect("valid");
    let second = Envelope::seal(&other_secrets, &context(), &recipients(&keepers))
        .expect("seals")
        .to_bytes();
    // First's slot (same recipient) on second's body, and the other way round.
    for (wrap_from, body_from) in [(&first, &second), (&second, &first)] {
        let mut spliced = body_from[..3].to_vec();
        spliced.extend_from_slice(&wrap_from[slot(0)]);
        spliced.extend_from_slice(&body_from[slot(0).end..]);
        let envelope = Envelope::from_bytes(&spliced).expect("still well-formed");
        assert_eq!(
            envelope.open(&context(), keepers[0].0, &keepers[0].1).err(),
            Some(OpenError::Rejected)
        );
    }
}

#[test]
fn garbage_and_truncations_never_panic() {
    let mut rng = Rng(7);
    for _ in 0..2_000 {
        let len = (rng.next() % 400) as usize;
        let mut bytes = rng.bytes(len);
        // Half the time, a plausible header so parsing gets further in.
        if rng.next() & 1 == 0 && len >= 3 {
            bytes[0] = 1;
            bytes[1] = 0;
            bytes[2] = (rng.next() % 4) as u8;
        }
        let _ = Envelope::from_bytes(&bytes);
        let _ = Envelope::from_base64(&BASE64.encode(&bytes));
        let _ = Envelope::from_base64(&String::from_utf8_lossy(&bytes));
        let _ = Secrets::decode(&bytes);
    }
    let keepers = keepers(2);
    let bytes = seal(&keepers).to_bytes();
    for len in 0..bytes.len() {
        assert!(
            matches!(
                Envelope::from_bytes(&bytes[..len]),
                Err(FormatError::Truncated { .. })
            ),
            "prefix of {len} bytes"
        );
    }
    let plaintext = secrets().encode();
    for len in 0..plaintext.len() {
        assert!(matches!(
            Secrets::decode(&plaintext[..len]),
            Err(MalformedSecrets::Truncated { .. })
        ));
    }
}

#[test]
fn format_errors_name_what_and_where() {
    let keepers = keepers(2);
    let bytes = seal(&keepers).to_bytes();
    let body_len_at = 3 + 200;

    let mut versioned = bytes.clone();
    versioned[0] = 1;
    assert_eq!(
        Envelope::from_bytes(&versioned),
        Err(FormatError::UnknownVersion { version: 1 })
    );

    let mut trailing = bytes.clone();
    trailing.extend_from_slice(&[0, 0, 0]);
    assert_eq!(
        Envelope::from_bytes(&trailing),
        Err(FormatError::TrailingBytes {
            offset: bytes.len(),
            count: 3
        })
    );

    assert_eq!(
        Envelope::from_bytes(&bytes[..10]),
        Err(FormatError::Truncated {
            field: "recipient address",
            offset: 3,
            needed: 20,
            available: 7
        })
    );
    assert!(matches!(
        Envelope::from_bytes(&[]),
        Err(FormatError::Truncated {
            field: "version",
            offset: 0,
            ..
        })
    ));

    assert_eq!(
        Envelope::from_bytes(&[crate::VERSION, 0, 0]),
        Err(FormatError::NoRecipients)
    );
    assert_eq!(
        Envelope::from_bytes(&[crate::VERSION, 1, 1]),
        Err(FormatError::TooManyRecipients {
            count: 257,
            offset: 1
        })
    );

    let mut duplicated = bytes.clone();
    duplicated[slot(1).start..slot(1).start + 20].copy_from_slice(&bytes[3..23]);
    assert_eq!(
        Envelope::from_bytes(&duplicated),
        Err(FormatError::DuplicateRecipient {
            address: keepers[0].0,
            offset: slot(1).start
        })
    );

    let mut long_body = bytes[..body_len_at].to_vec();
    long_body.extend_from_slice(&((MAX_BODY_LEN + 1) as u32).to_be_bytes());
    assert_eq!(
        Envelope::from_bytes(&long_body),
        Err(FormatError::BodyTooLong {
            len: MAX_BODY_LEN + 1,
            offset: body_len_at
        })
    );
    let mut short_body = bytes[..body_len_at].to_vec();
    short_body.extend_from_slice(&15u32.to_be_bytes());
    short_body.extend_from_slice(&[0; 15]);
    assert_eq!(
        Envelope::from_bytes(&short_body),
        Err(FormatError::BodyTooShort {
            len: 15,
            offset: body_len_at
        })
    );

    assert!(matches!(
        Envelope::from_bytes(&vec![1; 64 * 1024]),
        Err(FormatError::TooLong { .. })
    ));
    assert!(matches!(
        Envelope::from_base64(&"A".repeat(64 * 1024)),
        Err(FormatError::TooLong { .. })
    ));
    assert_eq!(
        Envelope::from_base64("not base64!"),
        Err(FormatError::NotBase64)
    );
    // Surrounding whitespace (YAML block scalars) is fine.
    let text = format!("  {}\n", BASE64.encode(&bytes));
    assert_eq!(
        Envelope::from_base64(&text).map(|e| e.to_bytes()),
        Ok(bytes)
    );
}

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

#[test]
fn malformed_plaintexts_are_refused() {
    // count ‖ (name len ‖ name ‖ value len ‖ value)*
    let cases: [(&[u8], MalformedSecrets); 6] = [
        (&[], MalformedSecrets::Truncated { offset: 0 }),
        (&[0, 9], MalformedSecrets::TrailingBytes { offset: 1 }),
        (
            &[2, 1, b'b', 0, 0, 1, b'a', 0, 0],
            MalformedSecrets::OutOfOrder { offset: 6 },
        ),
        (
            &[2, 1, b'a', 0, 0, 1, b'a', 0, 0],
            MalformedSecrets::OutOfOrder { offset: 6 },
        ),
        (
            &[1, 1, b'a', 0, 1, 0xFF],
            MalformedSecrets::NotUtf8 { offset: 5 },
        ),
        (&[33], MalformedSecrets::Invalid(SecretsError::TooMany)),
    ];
    for (bytes, expected) in cases {
        assert_eq!(Secrets::decode(bytes).err(), Some(expected), "{bytes:?}");
    }
    assert_eq!(
        Secrets::decode(&[1, 1, b'A', 0, 0]).err(),
        Some(MalformedSecrets::Invalid(SecretsError::NameCharacter {
            position: 0
        }))
    );
    // Through an envelope: authenticated, but not a valid encoding.
    let keepers = keepers(1);
    let envelope = Envelope::seal_plaintext(
        Zeroizing::new(vec![1, 1, b'a', 0, 1, 0xFF]),
        &context(),
        &recipients(&keepers),
    )
    .expect("seals");
    assert_eq!(
        envelope.open(&context(), keepers[0].0, &keepers[0].1).err(),
        Some(OpenError::Malformed(MalformedSecrets::NotUtf8 {
            offset: 5
        }))
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

/// Every form a leaked secret could take in text: raw, hex, base64.
fn forms(secret: &[u8]) -> Vec<String> {
    let mut forms = vec![
        hex::encode(secret),
        hex::encode_upper(secret),
        BASE64.encode(secret),
    ];
    if let Ok(text) = std::str::from_utf8(secret) {
        forms.push(text.to_owned());
    }
    forms
}

fn assert_no_leak(shown: &str, secrets: &[&[u8]]) {
    for secret in secrets {
        for form in forms(secret) {
            assert!(!shown.contains(&form), "{shown:?} leaks a secret");
        }
        // Raw bytes, even where they are not UTF-8.
        assert!(
            !shown.as_bytes().windows(secret.len()).any(|w| w == *secret),
            "{shown:?} leaks raw secret bytes"
        );
    }
}

#[test]
fn no_secret_in_debug_or_display() {
    let keepers = keepers(1);
    let key_bytes = keepers[0].1.to_bytes();
    let leaks: [&[u8]; 3] = [
        WEBHOOK_SECRET.as_bytes(),
        API_TOKEN.as_bytes(),
        key_bytes.as_ref(),
    ];
    let envelope = seal(&keepers);
    let opened = envelope
        .open(&context(), keepers[0].0, &keepers[0].1)
        .expect("opens");

    let mut shown = vec![
        format!("{:?}", secrets()),
        format!("{opened:?}"),
        format!("{:?}", keepers[0].1),
        format!("{envelope:?}"),
    ];
    assert!(shown[0].contains("webhook_secret"), "names are shown");

    // Errors, including ones produced from inputs that contain the secrets.
    let mut errors: Vec<Box<dyn std::error::Error>> = vec![
        Box::new(KeyError::NotHex),
        Box::new(KeyError::WrongLength { digits: 3 }),
        Box::new(SecretsError::NameLength { len: 0 }),
        Box::new(SecretsError::NameCharacter { position: 0 }),
        Box::new(SecretsError::ValueTooLong {
            name: "n".into(),
            len: 5000,
        }),
        Box::new(SecretsError::Duplicate { name: "n".into() }),
        Box::new(SecretsError::TooMany),
        Box::new(MalformedSecrets::Truncated { offset: 1 }),
        Box::new(MalformedSecrets::TrailingBytes { offset: 1 }),
        Box::new(MalformedSecrets::NotUtf8 { offset: 1 }),
        Box::new(MalformedSecrets::OutOfOrder { offset: 1 }),
        Box::new(MalformedSecrets::Invalid(SecretsError::TooMany)),
        Box::new(SealError::NoRecipients),
        Box::new(SealError::TooManyRecipients { count: 300 }),
        Box::new(SealError::DuplicateRecipient {
            address: address(1),
        }),
        Box::new(SealError::InvalidRecipientKey {
            address: address(1),
        }),
        Box::new(SealError::TooLarge { len: 20_000 }),
        Box::new(SealError::Randomness),
        Box::new(SealError::Encryption),
        Box::new(OpenError::NotARecipient {
            address: address(1),
        }),
        Box::new(OpenError::Rejected),
        Box::new(OpenError::Malformed(MalformedSecrets::Truncated {
            offset: 0,
        })),
        Box::new(FormatError::TooLong { len: 1, max: 1 }),
        Box::new(FormatError::Truncated {
            field: "body",
            offset: 1,
            needed: 2,
            available: 1,
        }),
        Box::new(FormatError::UnknownVersion { version: 9 }),
        Box::new(FormatError::NoRecipients),
        Box::new(FormatError::TooManyRecipients {
            count: 300,
            offset: 1,
        }),
        Box::new(FormatError::DuplicateRecipient {
            address: address(1),
            offset: 3,
        }),
        Box::new(FormatError::BodyTooLong { len: 1, offset: 1 }),
        Box::new(FormatError::BodyTooShort { len: 1, offset: 1 }),
        Box::new(FormatError::TrailingBytes {
            offset: 1,
            count: 1,
        }),
        Box::new(FormatError::NotBase64),
    ];
    let mut scratch = Secrets::new();
    for result in [
        scratch.insert(WEBHOOK_SECRET, "v"),
        scratch.insert("n", API_TOKEN.repeat(200)),
    ] {
        errors.push(Box::new(result.expect_err("refused")));
    }
    let key_hex = keepers[0].1.to_hex();
    for text in [format!("{}zz", &key_hex[..62]), format!("{}00", *key_hex)] {
        errors.push(Box::new(
            EncryptionKey::from_hex(&text).expect_err("refused"),
        ));
    }
    errors.push(Box::new(
        envelope
            .open(&context(), address(42), &keepers[0].1)
            .expect_err("refused"),
    ));
    for error in &errors {
        shown.push(error.to_string());
        shown.push(format!("{error:?}"));
    }
    for text in &shown {
        assert_no_leak(text, &leaks);
    }
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
