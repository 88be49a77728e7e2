//! Each trigger's sealed secrets as the registry last published them: the `secrets` field of its
//! configuration, then every `TriggerSecretsSet` in log order, the latest winning.
//!
//! Who an envelope is sealed to is in the clear, so every keeper knows, without opening anything,
//! which keepers may perform a trigger: assignment and takeover rank only those
//! ([`SealState::sealed_to`]).

use std::sync::Arc;

use alloy::primitives::Address;
use herald_seal::Envelope;

/// A trigger's latest published envelope.
#[derive(Clone, Debug)]
pub enum SealState {
    /// An envelope that parses.
    Sealed(Arc<Envelope>),
    /// Bytes that do not: the trigger is not performed until its owner publishes an envelope
    /// (delivering without the secrets it names would be a delivery it did not ask for).
    Unreadable(String),
}

impl SealState {
    /// The state of the envelope `bytes`.
    pub fn of_bytes(bytes: &[u8]) -> Self {
        match Envelope::from_bytes(bytes) {
            Ok(envelope) => Self::Sealed(Arc::new(envelope)),
            Err(e) => Self::Unreadable(e.to_string()),
        }
    }

    /// The state of a configuration's `secrets` field (base64).
    pub fn of_base64(text: &str) -> Self {
        match Envelope::from_base64(text.trim()) {
            Ok(envelope) => Self::Sealed(Arc::new(envelope)),
            Err(e) => Self::Unreadable(e.to_string()),
        }
    }

    /// The addresses it is sealed to (none for an unreadable one: nobody can perform it).
    pub fn sealed_to(&self) -> Vec<Address> {
        match self {
            Self::Sealed(envelope) => envelope.recipients().collect(),
            Self::Unreadable(_) => Vec::new(),
        }
    }
}
