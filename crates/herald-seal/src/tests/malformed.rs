//! Malformed input: garbage never panics, and format and plaintext errors say what and where.

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as BASE64;
use zeroize::Zeroizing;

use super::fixtures::{context, keepers, recipients, seal, secrets, slot};
use crate::{
    Envelope, FormatError, MAX_BODY_LEN, MalformedSecrets, OpenError, Secrets, SecretsError,
};

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
