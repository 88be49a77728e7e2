//! The sealed form of [`Secrets`]: one body, one key wrap per recipient.

use std::collections::HashSet;
use std::fmt;

use alloy_primitives::Address;
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as BASE64;
use chacha20poly1305::aead::{AeadInOut, KeyInit};
use chacha20poly1305::{ChaCha20Poly1305, Nonce, Tag};
use hpke::aead::AeadTag;
use hpke::inout::InOutBuf;
use hpke::{Deserializable, OpModeR, OpModeS, Serializable};
use sha2::{Digest, Sha256};
use zeroize::Zeroizing;

use crate::key::Kem;
use crate::{
    EncryptionKey, MAX_BODY_LEN, MAX_RECIPIENTS, MalformedSecrets, PublicKey, Secrets, VERSION,
};

/// HPKE's AEAD and KDF of the suite.
type WrapAead = hpke::aead::ChaCha20Poly1305;
type WrapKdf = hpke::kdf::HkdfSha256;

/// Domain-separation labels; the `v2` matches [`VERSION`].
const BODY_LABEL: &[u8] = b"herald/secrets/v2/body";
const WRAP_LABEL: &[u8] = b"herald/secrets/v2/wrap";

const ADDRESS_LEN: usize = 20;
const ENC_LEN: usize = 32;
const KEY_LEN: usize = 32;
const TAG_LEN: usize = 16;
const WRAPPED_LEN: usize = KEY_LEN + TAG_LEN;
const ENTRY_LEN: usize = ADDRESS_LEN + ENC_LEN + WRAPPED_LEN;
/// version (1) + recipient count (2).
const HEADER_LEN: usize = 3;
/// The longest well-formed envelope; anything longer is refused before it is parsed.
const MAX_ENVELOPE_LEN: usize = HEADER_LEN + MAX_RECIPIENTS * ENTRY_LEN + 4 + MAX_BODY_LEN;

/// Who an envelope is for: a keeper's (or the owner's) address and its published X25519 key.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug)]
pub struct Recipient {
    /// The address that may open (and, for a keeper, perform).
    pub address: Address,
    /// The key the envelope is sealed to.
    pub key: PublicKey,
}

/// What an envelope is bound to, so that a sealed envelope copied into another deployment's or
/// another trigger — of another owner or of the same one — opens nowhere.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug)]
pub struct Context {
    /// The chain the Herald contract is on.
    pub chain_id: u64,
    /// The Herald contract's address.
    pub herald: Address,
    /// The trigger owner's address.
    pub owner: Address,
    /// The trigger's id. An owner that is a contract (a factory, a multisig several users share)
    /// owns triggers whose callers do not trust each other; without the id any of them could copy
    /// another's envelope into a trigger of its own with an endpoint it reads.
    pub trigger: u64,
}

impl Context {
    /// Bytes of [`Self::encode_into`].
    const ENCODED_LEN: usize = 8 + ADDRESS_LEN + ADDRESS_LEN + 8;

    /// chain id (8, big-endian) ‖ Herald (20) ‖ owner (20) ‖ trigger id (8, big-endian):
    /// fixed-length, so unambiguous.
    fn encode_into(&self, out: &mut Vec<u8>) {
        out.extend_from_slice(&self.chain_id.to_be_bytes());
        out.extend_from_slice(self.herald.as_slice());
        out.extend_from_slice(self.owner.as_slice());
        out.extend_from_slice(&self.trigger.to_be_bytes());
    }
}

/// One recipient's slot: its address in the clear, and the content key sealed to it.
#[derive(Clone, PartialEq, Eq)]
struct Wrap {
    address: Address,
    /// HPKE's encapsulated key (an ephemeral X25519 public key).
    enc: [u8; ENC_LEN],
    /// The content key encrypted by the HPKE context ‖ its tag.
    wrapped: [u8; WRAPPED_LEN],
}

/// A trigger's [`Secrets`], sealed to the recipients that may open it. Public: it goes on chain.
///
/// See the [crate docs](crate) for the construction and the binary format.
#[derive(Clone, PartialEq, Eq)]
pub struct Envelope {
    wraps: Vec<Wrap>,
    /// ChaCha20Poly1305 ciphertext ‖ tag of the encoded secrets.
    body: Vec<u8>,
}

impl Envelope {
    /// Seals `secrets` under `context` to each of `recipients`, in the order given.
    ///
    /// The owner lists itself (with [`EncryptionKey::for_owner`]'s public key) to be able to
    /// re-open the envelope later.
    pub fn seal(
        secrets: &Secrets,
        context: &Context,
        recipients: &[Recipient],
    ) -> Result<Self, SealError> {
        Self::seal_plaintext(secrets.encode(), context, recipients)
    }

    /// [`seal`](Self::seal) for an already encoded plaintext; split out so tests can seal
    /// plaintexts `Secrets::encode` would never produce.
    pub(crate) fn seal_plaintext(
        mut body: Zeroizing<Vec<u8>>,
        context: &Context,
        recipients: &[Recipient],
    ) -> Result<Self, SealError> {
        if recipients.is_empty() {
            return Err(SealError::NoRecipients);
        }
        if recipients.len() > MAX_RECIPIENTS {
            return Err(SealError::TooManyRecipients {
                count: recipients.len(),
            });
        }
        let mut seen = HashSet::with_capacity(recipients.len());
        if let Some(duplicate) = recipients.iter().find(|r| !seen.insert(r.address)) {
            return Err(SealError::DuplicateRecipient {
                address: duplicate.address,
            });
        }

        if body.len() + TAG_LEN > MAX_BODY_LEN {
            return Err(SealError::TooLarge {
                len: body.len() + TAG_LEN,
            });
        }

        let mut content_key = Zeroizing::new([0u8; KEY_LEN]);
        getrandom::fill(content_key.as_mut()).map_err(|_| SealError::Randomness)?;

        // Encapsulate first: the body's associated data covers every encapsulated key, and each
        // wrap's associated data covers the body, so the wraps are sealed last.
        let mut senders = Vec::with_capacity(recipients.len());
        let mut wraps = Vec::with_capacity(recipients.len());
        for recipient in recipients {
            let (enc, sender) = hpke::setup_sender::<WrapAead, WrapKdf, Kem>(
                &OpModeS::Base,
                &recipient.key.to_hpke(),
                &wrap_info(context, recipient.address),
            )
            // The only way encapsulation fails is a low-order key (all-zero shared secret).
            .map_err(|_| SealError::InvalidRecipientKey {
                address: recipient.address,
            })?;
            let mut enc_bytes = [0u8; ENC_LEN];
            enc_bytes.copy_from_slice(&enc.to_bytes());
            senders.push(sender);
            wraps.push(Wrap {
                address: recipient.address,
                enc: enc_bytes,
                wrapped: [0u8; WRAPPED_LEN],
            });
        }

        let cipher = ChaCha20Poly1305::new_from_slice(content_key.as_ref())
            .map_err(|_| SealError::Encryption)?;
        let tag = cipher
            .encrypt_inout_detached(
                &body_nonce(),
                &body_aad(context, &wraps),
                body.as_mut_slice().into(),
            )
            .map_err(|_| SealError::Encryption)?;
        // `body` now holds ciphertext, so it may leave the zeroizing buffer.
        let mut body: Vec<u8> = body.to_vec();
        body.extend_from_slice(&tag);

        let body_hash = Sha256::digest(&body);
        for (wrap, sender) in wraps.iter_mut().zip(&mut senders) {
            let mut buffer = Zeroizing::new(*content_key);
            let tag = sender
                .seal_inout_detached(InOutBuf::from(buffer.as_mut_slice()), &body_hash)
                .map_err(|_| SealError::Encryption)?;
            wrap.wrapped[..KEY_LEN].copy_from_slice(buffer.as_ref());
            wrap.wrapped[KEY_LEN..].copy_from_slice(&tag.to_bytes());
        }

        Ok(Self { wraps, body })
    }

    /// Opens the envelope as `me`, with `me`'s key, under `context`.
    pub fn open(
        &self,
        context: &Context,
        me: Address,
        key: &EncryptionKey,
    ) -> Result<Secrets, OpenError> {
        let wrap = self
            .wraps
            .iter()
            .find(|wrap| wrap.address == me)
            .ok_or(OpenError::NotARecipient { address: me })?;

        // Every failure from here to the body's tag is one `Rejected`: saying which check failed
        // would tell a prober whether it guessed the context, the key or the layout right.
        let enc = <Kem as hpke::Kem>::EncappedKey::from_bytes(&wrap.enc)
            .map_err(|_| OpenError::Rejected)?;
        let mut receiver = hpke::setup_receiver::<WrapAead, WrapKdf, Kem>(
            &OpModeR::Base,
            &key.to_hpke(),
            &enc,
            &wrap_info(context, me),
        )
        .map_err(|_| OpenError::Rejected)?;
        let mut content_key = Zeroizing::new([0u8; KEY_LEN]);
        content_key.copy_from_slice(&wrap.wrapped[..KEY_LEN]);
        let wrap_tag = AeadTag::<WrapAead>::from_bytes(&wrap.wrapped[KEY_LEN..])
            .map_err(|_| OpenError::Rejected)?;
        receiver
            .open_inout_detached(
                InOutBuf::from(content_key.as_mut_slice()),
                &Sha256::digest(&self.body),
                &wrap_tag,
            )
            .map_err(|_| OpenError::Rejected)?;

        // `from_bytes` guarantees the body holds at least a tag.
        let (ciphertext, tag) = self.body.split_at(self.body.len() - TAG_LEN);
        let tag = Tag::try_from(tag).map_err(|_| OpenError::Rejected)?;
        let mut plaintext = Zeroizing::new(ciphertext.to_vec());
        ChaCha20Poly1305::new_from_slice(content_key.as_ref())
            .map_err(|_| OpenError::Rejected)?
            .decrypt_inout_detached(
                &body_nonce(),
                &body_aad(context, &self.wraps),
                plaintext.as_mut_slice().into(),
                &tag,
            )
            .map_err(|_| OpenError::Rejected)?;

        Secrets::decode(&plaintext).map_err(OpenError::Malformed)
    }

    /// The addresses the envelope is sealed to, in order: who may perform. In the clear.
    pub fn recipients(&self) -> impl Iterator<Item = Address> + '_ {
        self.wraps.iter().map(|wrap| wrap.address)
    }

    /// Whether `address` is one of the recipients.
    pub fn is_for(&self, address: Address) -> bool {
        self.wraps.iter().any(|wrap| wrap.address == address)
    }

    /// The binary form (see the [crate docs](crate)).
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(self.encoded_len());
        out.push(VERSION);
        // `seal` and `from_bytes` keep both lengths within their (small) limits.
        out.extend_from_slice(&(self.wraps.len() as u16).to_be_bytes());
        for wrap in &self.wraps {
            out.extend_from_slice(wrap.address.as_slice());
            out.extend_from_slice(&wrap.enc);
            out.extend_from_slice(&wrap.wrapped);
        }
        out.extend_from_slice(&(self.body.len() as u32).to_be_bytes());
        out.extend_from_slice(&self.body);
        out
    }

    /// The length of [`to_bytes`](Self::to_bytes)' output.
    pub fn encoded_len(&self) -> usize {
        HEADER_LEN + self.wraps.len() * ENTRY_LEN + 4 + self.body.len()
    }

    /// Parses the binary form. Bounded (at most one envelope's worth of work and memory) and never
    /// panics; anything [`to_bytes`](Self::to_bytes) would not have written is refused.
    pub fn from_bytes(bytes: &[u8]) -> Result<Self, FormatError> {
        if bytes.len() > MAX_ENVELOPE_LEN {
            return Err(FormatError::TooLong {
                len: bytes.len(),
                max: MAX_ENVELOPE_LEN,
            });
        }
        let mut reader = Reader { bytes, at: 0 };

        let version = reader.take::<1>("version")?[0];
        if version != VERSION {
            return Err(FormatError::UnknownVersion { version });
        }

        let count_offset = reader.at;
        let count = usize::from(u16::from_be_bytes(reader.take("recipient count")?));
        if count == 0 {
            return Err(FormatError::NoRecipients);
        }
        if count > MAX_RECIPIENTS {
            return Err(FormatError::TooManyRecipients {
                count,
                offset: count_offset,
            });
        }

        let mut wraps = Vec::with_capacity(count);
        let mut seen = HashSet::with_capacity(count);
        for _ in 0..count {
            let offset = reader.at;
            let address = Address::from(reader.take::<ADDRESS_LEN>("recipient address")?);
            if !seen.insert(address) {
                return Err(FormatError::DuplicateRecipient { address, offset });
            }
            let enc = reader.take::<ENC_LEN>("encapsulated key")?;
            let wrapped = reader.take::<WRAPPED_LEN>("wrapped key")?;
            wraps.push(Wrap {
                address,
                enc,
                wrapped,
            });
        }

        let len_offset = reader.at;
        let body_len = u32::from_be_bytes(reader.take("body length")?);
        let body_len = usize::try_from(body_len).unwrap_or(usize::MAX);
        if body_len > MAX_BODY_LEN {
            return Err(FormatError::BodyTooLong {
                len: body_len,
                offset: len_offset,
            });
        }
        if body_len < TAG_LEN {
            return Err(FormatError::BodyTooShort {
                len: body_len,
                offset: len_offset,
            });
        }
        let body = reader.take_slice(body_len, "body")?.to_vec();

        if reader.at != bytes.len() {
            return Err(FormatError::TrailingBytes {
                offset: reader.at,
                count: bytes.len() - reader.at,
            });
        }
        Ok(Self { wraps, body })
    }

    /// The binary form in standard, padded base64, for YAML configs.
    pub fn to_base64(&self) -> String {
        BASE64.encode(self.to_bytes())
    }

    /// Parses [`to_base64`](Self::to_base64)'s output, ignoring surrounding whitespace.
    pub fn from_base64(text: &str) -> Result<Self, FormatError> {
        let text = text.trim();
        // Bound the work before decoding: base64 carries 3 bytes per 4 characters.
        let max = MAX_ENVELOPE_LEN.div_ceil(3) * 4;
        if text.len() > max {
            return Err(FormatError::TooLong {
                len: text.len(),
                max,
            });
        }
        let bytes = BASE64.decode(text).map_err(|_| FormatError::NotBase64)?;
        Self::from_bytes(&bytes)
    }
}

impl fmt::Debug for Envelope {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Envelope")
            .field("version", &VERSION)
            .field("recipients", &self.recipients().collect::<Vec<_>>())
            .field("body_len", &self.body.len())
            .finish()
    }
}

/// A fixed all-zero nonce. Safe because the content key is fresh random per envelope and
/// encrypts exactly one message: nonce reuse needs two messages under one key. A random nonce
/// would only spend 12 bytes of the on-chain budget for nothing.
fn body_nonce() -> Nonce {
    Nonce::default()
}

/// The body's associated data: label ‖ context ‖ count ‖ per recipient: address ‖ enc.
fn body_aad(context: &Context, wraps: &[Wrap]) -> Vec<u8> {
    let mut aad =
        Vec::with_capacity(BODY_LABEL.len() + Context::ENCODED_LEN + 2 + wraps.len() * 52);
    aad.extend_from_slice(BODY_LABEL);
    context.encode_into(&mut aad);
    aad.extend_from_slice(&(wraps.len() as u16).to_be_bytes());
    for wrap in wraps {
        aad.extend_from_slice(wrap.address.as_slice());
        aad.extend_from_slice(&wrap.enc);
    }
    aad
}

/// A wrap's HPKE `info`: label ‖ context ‖ recipient address.
fn wrap_info(context: &Context, address: Address) -> Vec<u8> {
    let mut info = Vec::with_capacity(WRAP_LABEL.len() + Context::ENCODED_LEN + ADDRESS_LEN);
    info.extend_from_slice(WRAP_LABEL);
    context.encode_into(&mut info);
    info.extend_from_slice(address.as_slice());
    info
}

/// A cursor that turns running out of input into [`FormatError::Truncated`].
struct Reader<'a> {
    bytes: &'a [u8],
    at: usize,
}

impl<'a> Reader<'a> {
    fn take_slice(&mut self, len: usize, field: &'static str) -> Result<&'a [u8], FormatError> {
        let piece = self
            .at
            .checked_add(len)
            .and_then(|end| self.bytes.get(self.at..end))
            .ok_or(FormatError::Truncated {
                field,
                offset: self.at,
                needed: len,
                available: self.bytes.len().saturating_sub(self.at),
            })?;
        self.at += len;
        Ok(piece)
    }

    fn take<const N: usize>(&mut self, field: &'static str) -> Result<[u8; N], FormatError> {
        let mut out = [0u8; N];
        out.copy_from_slice(self.take_slice(N, field)?);
        Ok(out)
    }
}

/// Why [`Envelope::seal`] refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SealError {
    /// No recipients: nobody could ever open it.
    #[error("an envelope needs at least one recipient")]
    NoRecipients,
    /// More than 256 recipients.
    #[error("{count} recipients, at most 256 allowed")]
    TooManyRecipients {
        /// How many were given.
        count: usize,
    },
    /// The same address twice.
    #[error("recipient {address} given twice")]
    DuplicateRecipient {
        /// The repeated address.
        address: Address,
    },
    /// The recipient's public key is a low-order point, which would make its wrap readable by
    /// anyone.
    #[error("recipient {address} has an invalid X25519 public key")]
    InvalidRecipientKey {
        /// The recipient with the bad key.
        address: Address,
    },
    /// The encoded secrets exceed the body limit.
    #[error("secrets encrypt to {len} bytes, at most 16384 allowed")]
    TooLarge {
        /// The body ciphertext's length, tag included.
        len: usize,
    },
    /// The operating system's RNG failed.
    #[error("the operating system RNG failed")]
    Randomness,
    /// The AEAD refused to encrypt (unreachable with the bounded inputs above).
    #[error("encryption failed")]
    Encryption,
}

/// Why [`Envelope::open`] failed. Never contains key or plaintext bytes.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum OpenError {
    /// `me` is not among the recipients.
    #[error("{address} is not a recipient of this envelope")]
    NotARecipient {
        /// The address that tried.
        address: Address,
    },
    /// An authentication check failed: wrong context, wrong key, or a tampered envelope. One
    /// variant on purpose, so a failure says nothing about which.
    #[error("envelope rejected: wrong context or key, or tampered")]
    Rejected,
    /// The body authenticated but did not decode: the sealer wrote something malformed.
    #[error("envelope opened but its secrets are malformed: {0}")]
    Malformed(MalformedSecrets),
}

/// Why [`Envelope::from_bytes`] or [`Envelope::from_base64`] refused. Offsets are into the
/// binary form.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum FormatError {
    /// Longer than any well-formed envelope.
    #[error("envelope is {len} bytes long, at most {max} allowed")]
    TooLong {
        /// The input's length (bytes, or base64 characters).
        len: usize,
        /// The limit.
        max: usize,
    },
    /// The input ends inside a field.
    #[error("envelope truncated: {field} at byte {offset} needs {needed} bytes, {available} left")]
    Truncated {
        /// The field being read.
        field: &'static str,
        /// Where the field starts.
        offset: usize,
        /// The field's length.
        needed: usize,
        /// How many bytes were left.
        available: usize,
    },
    /// A version this crate does not know.
    #[error("unknown envelope version {version} at byte 0, expected {VERSION}")]
    UnknownVersion {
        /// The version byte found.
        version: u8,
    },
    /// A recipient count of zero.
    #[error("envelope has no recipients (count at byte 1)")]
    NoRecipients,
    /// A recipient count above 256.
    #[error("envelope claims {count} recipients at byte {offset}, at most 256 allowed")]
    TooManyRecipients {
        /// The count found.
        count: usize,
        /// Where the count is.
        offset: usize,
    },
    /// The same address twice.
    #[error("recipient {address} repeated at byte {offset}")]
    DuplicateRecipient {
        /// The repeated address.
        address: Address,
        /// Where its second occurrence starts.
        offset: usize,
    },
    /// A body length above 16384.
    #[error("body length {len} at byte {offset} exceeds 16384")]
    BodyTooLong {
        /// The length found.
        len: usize,
        /// Where the length is.
        offset: usize,
    },
    /// A body too short to hold even its 16-byte tag.
    #[error("body length {len} at byte {offset} is below the 16-byte tag")]
    BodyTooShort {
        /// The length found.
        len: usize,
        /// Where the length is.
        offset: usize,
    },
    /// Bytes after the body.
    #[error("{count} unexpected bytes after the body, at byte {offset}")]
    TrailingBytes {
        /// Where they start.
        offset: usize,
        /// How many there are.
        count: usize,
    },
    /// Text that is not standard padded base64.
    #[error("envelope text is not valid base64")]
    NotBase64,
}
