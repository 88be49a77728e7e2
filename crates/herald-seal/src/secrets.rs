//! Named secret values and their bounded encoding inside an envelope's body.

use std::collections::BTreeMap;
use std::fmt;

use zeroize::Zeroizing;

use crate::{MAX_NAME_LEN, MAX_SECRETS, MAX_VALUE_LEN};

/// Named secret values: what an [`Envelope`](crate::Envelope) carries.
///
/// Names are 1..=64 characters of `[a-z0-9_-]` and are not secret; values are UTF-8, each at most
/// 4096 bytes, and are zeroized on drop. At most 32 entries. `Debug` shows names only.
#[derive(Default)]
pub struct Secrets {
    // Ordered, so the encoding is canonical: the same secrets always encode to the same bytes.
    entries: BTreeMap<String, Zeroizing<String>>,
}

impl Secrets {
    /// No secrets.
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds a secret. A name given twice is refused rather than overwritten: in a config it is a
    /// mistake, not an update. On error the value is zeroized before it is dropped.
    pub fn insert(&mut self, name: &str, value: impl Into<String>) -> Result<(), SecretsError> {
        // Wrap first, so every early return below wipes the value.
        let value = Zeroizing::new(value.into());
        validate_name(name)?;
        if value.len() > MAX_VALUE_LEN {
            return Err(SecretsError::ValueTooLong {
                name: name.to_owned(),
                len: value.len(),
            });
        }
        if self.entries.contains_key(name) {
            return Err(SecretsError::Duplicate {
                name: name.to_owned(),
            });
        }
        if self.entries.len() >= MAX_SECRETS {
            return Err(SecretsError::TooMany);
        }
        self.entries.insert(name.to_owned(), value);
        Ok(())
    }

    /// The value named `name`.
    pub fn get(&self, name: &str) -> Option<&str> {
        self.entries.get(name).map(|value| value.as_str())
    }

    /// The names, in ascending order.
    pub fn names(&self) -> impl Iterator<Item = &str> + '_ {
        self.entries.keys().map(String::as_str)
    }

    /// `(name, value)` pairs, in ascending name order.
    pub fn iter(&self) -> impl Iterator<Item = (&str, &str)> + '_ {
        self.entries
            .iter()
            .map(|(name, value)| (name.as_str(), value.as_str()))
    }

    /// How many secrets there are.
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// Whether there are none.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// The body plaintext: count (1) then, per entry in ascending name order, name length (1) ‖
    /// name ‖ value length (2, big-endian) ‖ value. Zeroized on drop.
    pub(crate) fn encode(&self) -> Zeroizing<Vec<u8>> {
        let size = 1 + self
            .entries
            .iter()
            .map(|(name, value)| 3 + name.len() + value.len())
            .sum::<usize>();
        // Reserve the 16-byte AEAD tag too: the buffer is encrypted in place, and growing it
        // would leave a plaintext copy behind in freed memory.
        let mut out = Zeroizing::new(Vec::with_capacity(size + 16));
        // The limits enforced by `insert` make these casts lossless.
        out.push(self.entries.len() as u8);
        for (name, value) in &self.entries {
            out.push(name.len() as u8);
            out.extend_from_slice(name.as_bytes());
            out.extend_from_slice(&(value.len() as u16).to_be_bytes());
            out.extend_from_slice(value.as_bytes());
        }
        out
    }

    /// Decodes [`encode`](Self::encode)'s output, refusing anything it would not have produced.
    /// Every length is checked against what remains before it is used, so this never panics and
    /// never allocates more than its input.
    pub(crate) fn decode(bytes: &[u8]) -> Result<Self, MalformedSecrets> {
        let mut at = 0usize;
        let take = |at: &mut usize, len: usize| -> Result<&[u8], MalformedSecrets> {
            let start = *at;
            let piece = start
                .checked_add(len)
                .and_then(|end| bytes.get(start..end))
                .ok_or(MalformedSecrets::Truncated { offset: start })?;
            *at += len;
            Ok(piece)
        };
        let count = usize::from(take(&mut at, 1)?[0]);
        if count > MAX_SECRETS {
            return Err(MalformedSecrets::Invalid(SecretsError::TooMany));
        }
        let mut secrets = Secrets::new();
        for _ in 0..count {
            let name_len = usize::from(take(&mut at, 1)?[0]);
            let name_offset = at;
            let name = std::str::from_utf8(take(&mut at, name_len)?).map_err(|_| {
                MalformedSecrets::NotUtf8 {
                    offset: name_offset,
                }
            })?;
            // Strictly ascending, as `encode` writes them: one canonical encoding per `Secrets`.
            if secrets
                .entries
                .last_key_value()
                .is_some_and(|(last, _)| last.as_str() >= name)
            {
                return Err(MalformedSecrets::OutOfOrder {
                    offset: name_offset,
                });
            }
            let len_bytes = take(&mut at, 2)?;
            let value_len = usize::from(u16::from_be_bytes([len_bytes[0], len_bytes[1]]));
            let value_offset = at;
            let value = std::str::from_utf8(take(&mut at, value_len)?).map_err(|_| {
                MalformedSecrets::NotUtf8 {
                    offset: value_offset,
                }
            })?;
            secrets
                .insert(name, value)
                .map_err(MalformedSecrets::Invalid)?;
        }
        if at != bytes.len() {
            return Err(MalformedSecrets::TrailingBytes { offset: at });
        }
        Ok(secrets)
    }
}

impl fmt::Debug for Secrets {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Secrets")
            .field("names", &self.entries.keys().collect::<Vec<_>>())
            .finish()
    }
}

/// Checks a name is 1..=64 characters of `[a-z0-9_-]`.
fn validate_name(name: &str) -> Result<(), SecretsError> {
    if name.is_empty() || name.len() > MAX_NAME_LEN {
        return Err(SecretsError::NameLength { len: name.len() });
    }
    match name
        .bytes()
        .position(|b| !matches!(b, b'a'..=b'z' | b'0'..=b'9' | b'_' | b'-'))
    {
        Some(position) => Err(SecretsError::NameCharacter { position }),
        None => Ok(()),
    }
}

/// Why a secret was refused. Never contains a value; names appear only once they are valid.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SecretsError {
    /// The name is empty or longer than 64 bytes.
    #[error("secret name is {len} bytes long, expected 1..=64")]
    NameLength {
        /// The name's length in bytes.
        len: usize,
    },
    /// The name has a character outside `[a-z0-9_-]`. The name is not echoed, in case a value was
    /// pasted where a name belongs.
    #[error("secret name has a character other than a-z, 0-9, '_' or '-' at byte {position}")]
    NameCharacter {
        /// Byte offset of the first bad character.
        position: usize,
    },
    /// The value is longer than 4096 bytes.
    #[error("secret {name:?} is {len} bytes long, at most 4096 allowed")]
    ValueTooLong {
        /// The secret's name.
        name: String,
        /// The value's length in bytes.
        len: usize,
    },
    /// The name is already present.
    #[error("secret {name:?} given twice")]
    Duplicate {
        /// The repeated name.
        name: String,
    },
    /// There would be more than 32 secrets.
    #[error("more than 32 secrets")]
    TooMany,
}

/// Why an authenticated body plaintext did not decode into [`Secrets`]: the sealer wrote
/// something this crate would not have. Never contains plaintext bytes.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum MalformedSecrets {
    /// The plaintext ends inside a field.
    #[error("secrets end early at plaintext byte {offset}")]
    Truncated {
        /// Where the missing field starts.
        offset: usize,
    },
    /// Bytes follow the last entry.
    #[error("unexpected bytes after the last secret, at plaintext byte {offset}")]
    TrailingBytes {
        /// Where the extra bytes start.
        offset: usize,
    },
    /// A name or value is not UTF-8.
    #[error("secret name or value is not UTF-8, at plaintext byte {offset}")]
    NotUtf8 {
        /// Where the field starts.
        offset: usize,
    },
    /// Names are not in strictly ascending order (which also rules out duplicates).
    #[error("secret names out of order at plaintext byte {offset}")]
    OutOfOrder {
        /// Where the offending name starts.
        offset: usize,
    },
    /// A name, value or count breaks the [`Secrets`] limits.
    #[error("secrets break a limit: {0}")]
    Invalid(SecretsError),
}
