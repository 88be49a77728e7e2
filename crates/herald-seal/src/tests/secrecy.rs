//! Secrecy: no secret or private key shows in any `Debug`, `Display` or error text.

use alloy_primitives::hex;
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as BASE64;

use super::fixtures::{API_TOKEN, WEBHOOK_SECRET, address, context, keepers, seal, secrets};
use crate::{
    EncryptionKey, FormatError, KeyError, MalformedSecrets, OpenError, SealError, Secrets,
    SecretsError,
};

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
