//! Sealing a trigger's secrets to the keepers that may perform it.
//!
//! Trigger configs are public on chain, but a trigger's secrets (its Standard Webhooks `whsec_`
//! signing secret, credential header values, later SMTP passwords) must be readable only by the
//! keepers the owner chose, and by the owner. Each keeper publishes an X25519 [`PublicKey`] on
//! chain; the owner's CLI [seals](Envelope::seal) the [`Secrets`] into an [`Envelope`]; a keeper
//! [opens](Envelope::open) it with its [`EncryptionKey`] at delivery time. The owner re-opens its
//! own envelopes with [`EncryptionKey::for_owner`], derived from the Ethereum key it already has,
//! by listing itself as a [`Recipient`]; a keeper that keeps no separate key file derives its key
//! from its signing key with [`EncryptionKey::for_keeper`].
//!
//! # Construction
//!
//! - One random 32-byte *content key* per envelope encrypts the encoded [`Secrets`] once, with
//!   ChaCha20Poly1305 (the *body*). Its associated data binds the version tag, the [`Context`]
//!   (chain id, Herald contract, trigger owner, trigger id) and the ordered list of recipient addresses and
//!   HPKE encapsulated keys, so no recipient can be added, removed, reordered or re-keyed without
//!   every recipient's open failing.
//! - The content key is sealed to each recipient with HPKE (RFC 9180) in base mode, suite
//!   DHKEM(X25519, HKDF-SHA256) / HKDF-SHA256 / ChaCha20Poly1305 (the *wrap*). The HPKE `info`
//!   binds the version tag, the [`Context`] and the recipient's address; the wrap's associated
//!   data is the SHA-256 of the body ciphertext, so a wrap cannot be moved to another body, another
//!   recipient's slot, another deployment or another trigger.
//! - Recipient addresses are in the clear: keepers must know who is eligible to perform without
//!   opening anything.
//!
//! # Binary format (version 2)
//!
//! All integers are big-endian.
//!
//! | field              | size        | notes                                              |
//! |--------------------|-------------|----------------------------------------------------|
//! | version            | 1           | `0x02`                                             |
//! | recipient count    | 2           | `1..=256`                                          |
//! | per recipient:     | 100 each    | addresses unique                                   |
//! | · address          | 20          |                                                    |
//! | · encapsulated key | 32          | HPKE `enc` (an ephemeral X25519 public key)        |
//! | · wrapped key      | 48          | content key (32) ‖ Poly1305 tag (16)               |
//! | body length        | 4           | `16..=16384`                                       |
//! | body               | body length | ChaCha20Poly1305 ciphertext ‖ tag of the plaintext |
//!
//! Nothing may follow the body. An envelope for `n` recipients is `7 + 100·n + body length`
//! bytes; [`Envelope::to_base64`] (standard alphabet, padded) adds a third.
//!
//! The body plaintext encodes the [`Secrets`]: entry count (1 byte, `0..=32`), then per entry in
//! strictly ascending name order: name length (1 byte) ‖ name ‖ value length (2 bytes) ‖ value.
//!
//! Associated data and HPKE `info` (`‖` is concatenation; `context` is chain id (8) ‖ Herald
//! address (20) ‖ owner address (20) ‖ trigger id (8)):
//!
//! - body AAD: `"herald/secrets/v2/body"` ‖ context ‖ recipient count (2) ‖ per recipient:
//!   address ‖ encapsulated key;
//! - wrap `info`: `"herald/secrets/v2/wrap"` ‖ context ‖ recipient address;
//! - wrap AAD: SHA-256(body).

mod envelope;
mod key;
mod secrets;

#[cfg(test)]
mod tests;

pub use envelope::{Context, Envelope, FormatError, OpenError, Recipient, SealError};
pub use key::{EncryptionKey, KeyError, PublicKey};
pub use secrets::{MalformedSecrets, Secrets, SecretsError};

/// The envelope format version this crate writes and reads. Version 1 bound no trigger id.
pub const VERSION: u8 = 2;
/// The most recipients one envelope may name.
pub const MAX_RECIPIENTS: usize = 256;
/// The largest body ciphertext (including its 16-byte tag) an envelope may carry.
pub const MAX_BODY_LEN: usize = 16 * 1024;
/// The most entries a [`Secrets`] may hold.
pub const MAX_SECRETS: usize = 32;
/// The longest secret name, in bytes.
pub const MAX_NAME_LEN: usize = 64;
/// The longest secret value, in bytes.
pub const MAX_VALUE_LEN: usize = 4096;
