//! X25519 keys: the private [`EncryptionKey`] a keeper (or owner) opens with, and the
//! [`PublicKey`] it publishes on chain.

use std::fmt;
use std::str::FromStr;

use alloy_primitives::hex;
use hkdf::Hkdf;
use hpke::{Deserializable, Kem as _, Serializable};
use sha2::Sha256;
use zeroize::Zeroizing;

/// The HPKE KEM of the suite; named once so every use agrees.
pub(crate) type Kem = hpke::kem::X25519HkdfSha256;

/// HKDF `info` for [`EncryptionKey::for_owner`]. Versioned so a future derivation cannot collide.
const OWNER_INFO: &[u8] = b"herald/owner-encryption/v1";
/// HKDF `info` for [`EncryptionKey::for_keeper`].
const KEEPER_INFO: &[u8] = b"herald/keeper-encryption/v1";

/// A keeper's (or owner's) X25519 decryption key.
///
/// `Debug` never shows it, and it is zeroized on drop. It is deliberately not `Clone`: every copy
/// of a private key is one more place to leak it; share it behind an `Arc` instead.
pub struct EncryptionKey {
    bytes: Zeroizing<[u8; 32]>,
}

impl EncryptionKey {
    /// A fresh random key from the operating system's RNG.
    ///
    /// # Panics
    ///
    /// If the operating system cannot provide randomness, which leaves nothing safe to do.
    pub fn generate() -> Self {
        let mut bytes = Zeroizing::new([0u8; 32]);
        getrandom::fill(bytes.as_mut()).expect("the operating system RNG must be available");
        Self { bytes }
    }

    /// The key with these bytes. Every 32-byte string is a valid X25519 private key (it is clamped
    /// when used), so this cannot fail.
    pub fn from_bytes(bytes: [u8; 32]) -> Self {
        let mut bytes = bytes;
        let key = Self {
            bytes: Zeroizing::new(bytes),
        };
        // `bytes` was passed by value: wipe this stack copy too.
        zeroize::Zeroize::zeroize(&mut bytes);
        key
    }

    /// The key's bytes, for writing a key file. The copy is itself zeroized when dropped.
    pub fn to_bytes(&self) -> Zeroizing<[u8; 32]> {
        self.bytes.clone()
    }

    /// The key as 64 lowercase hex digits without `0x`, for writing a key file.
    pub fn to_hex(&self) -> Zeroizing<String> {
        Zeroizing::new(hex::encode(self.bytes.as_ref()))
    }

    /// Parses 64 hex digits, `0x`-prefixed or not, ignoring surrounding whitespace (key files
    /// usually end in a newline). The error never echoes the text.
    pub fn from_hex(text: &str) -> Result<Self, KeyError> {
        let mut bytes = Zeroizing::new([0u8; 32]);
        decode_hex32(text, &mut bytes)?;
        Ok(Self { bytes })
    }

    /// The owner's key, derived from its Ethereum private key bytes with HKDF-SHA256 (no salt,
    /// info `"herald/owner-encryption/v1"`), so the owner needs nothing new to re-open its own
    /// envelopes.
    ///
    /// HKDF with a dedicated `info` makes the X25519 key computationally independent of the
    /// secp256k1 signing use of the same bytes; no salt is needed because the input is already a
    /// uniformly random 256-bit key.
    pub fn for_owner(eth_private_key: &[u8; 32]) -> Self {
        Self::derive(OWNER_INFO, eth_private_key)
    }

    /// A keeper's key, derived from its Ethereum signing key bytes the same way as
    /// [`for_owner`](Self::for_owner) but with info `"herald/keeper-encryption/v1"`, so a keeper
    /// that keeps no separate encryption key still has a stable one. The distinct info keeps the
    /// two roles' keys apart even for one Ethereum key.
    pub fn for_keeper(eth_private_key: &[u8; 32]) -> Self {
        Self::derive(KEEPER_INFO, eth_private_key)
    }

    /// HKDF-SHA256 of `eth_private_key`, no salt, with `info`.
    fn derive(info: &[u8], eth_private_key: &[u8; 32]) -> Self {
        let mut bytes = Zeroizing::new([0u8; 32]);
        Hkdf::<Sha256>::new(None, eth_private_key)
            .expand(info, bytes.as_mut())
            .expect("32 bytes is far below HKDF-SHA256's 8160-byte output limit");
        Self { bytes }
    }

    /// The public key to publish on chain.
    pub fn public_key(&self) -> PublicKey {
        let public = Kem::sk_to_pk(&self.to_hpke());
        let mut out = [0u8; 32];
        out.copy_from_slice(&public.to_bytes());
        PublicKey(out)
    }

    /// The key in hpke's form (zeroized on drop by hpke).
    pub(crate) fn to_hpke(&self) -> <Kem as hpke::Kem>::PrivateKey {
        <Kem as hpke::Kem>::PrivateKey::from_bytes(self.bytes.as_ref())
            .expect("32 bytes is the X25519 private key length")
    }
}

impl fmt::Debug for EncryptionKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // The public half identifies the key in logs without revealing it.
        f.debug_struct("EncryptionKey")
            .field("public_key", &self.public_key())
            .finish_non_exhaustive()
    }
}

/// An X25519 public key as published on chain (`bytes32`). `Display` and `FromStr` use `0x`-hex.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug)]
pub struct PublicKey(pub [u8; 32]);

impl PublicKey {
    /// The key's 32 bytes.
    pub fn as_bytes(&self) -> &[u8; 32] {
        &self.0
    }

    /// The key in hpke's form. Any 32 bytes decode; low-order points are refused later, when
    /// HPKE's encapsulation finds an all-zero shared secret.
    pub(crate) fn to_hpke(self) -> <Kem as hpke::Kem>::PublicKey {
        <Kem as hpke::Kem>::PublicKey::from_bytes(&self.0)
            .expect("32 bytes is the X25519 public key length")
    }
}

impl From<[u8; 32]> for PublicKey {
    fn from(bytes: [u8; 32]) -> Self {
        Self(bytes)
    }
}

impl fmt::Display for PublicKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&hex::encode_prefixed(self.0))
    }
}

impl FromStr for PublicKey {
    type Err = KeyError;

    /// Parses 64 hex digits, `0x`-prefixed or not.
    fn from_str(text: &str) -> Result<Self, KeyError> {
        let mut bytes = [0u8; 32];
        decode_hex32(text, &mut bytes)?;
        Ok(Self(bytes))
    }
}

/// Decodes exactly 32 bytes of hex into `out`, without letting the hex crate's error (which names
/// the offending character) reach the caller.
fn decode_hex32(text: &str, out: &mut [u8; 32]) -> Result<(), KeyError> {
    let text = text.trim();
    let digits = text
        .strip_prefix("0x")
        .or_else(|| text.strip_prefix("0X"))
        .unwrap_or(text);
    if !digits.bytes().all(|b| b.is_ascii_hexdigit()) {
        return Err(KeyError::NotHex);
    }
    if digits.len() != 64 {
        return Err(KeyError::WrongLength {
            digits: digits.len(),
        });
    }
    hex::decode_to_slice(digits, out).map_err(|_| KeyError::NotHex)
}

/// Why a key's text did not parse. Never contains the text itself.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum KeyError {
    /// Something other than hex digits (after an optional `0x`).
    #[error("key is not hex (expected 64 hex digits, optionally 0x-prefixed)")]
    NotHex,
    /// Hex, but not 32 bytes of it.
    #[error("key has {digits} hex digits, expected 64")]
    WrongLength {
        /// How many hex digits were given.
        digits: usize,
    },
}
