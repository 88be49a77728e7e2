//! Each trigger's sealed secrets as the registry published them over time: the `secrets` field of
//! its configuration, then every `TriggerSecretsSet` in log order ([`SealHistory`]).
//!
//! The envelope in force at an event decides who performs it and with which secrets: the last one
//! published in a block before the event's. Performer and co-signers so judge an execution alike
//! however late either looks, and a reseal or rotation applies to the events after it without
//! voiding work already done under the envelope before.
//!
//! Who an envelope is sealed to is in the clear, so every keeper knows, without opening anything,
//! which keepers may perform a trigger: assignment and takeover rank only those
//! ([`SealState::sealed_to`]).

use std::sync::Arc;

use alloy::primitives::Address;
use herald_seal::Envelope;

/// Envelopes kept per trigger; an owner that republishes without end costs a keeper a bounded
/// amount of memory, the oldest going first (their events settled long before).
const MAX_ENVELOPES: usize = 64;

/// One trigger's envelopes, oldest first, each with the block that published it.
#[derive(Clone, Debug, Default)]
pub struct SealHistory {
    published: Vec<(u64, SealState)>,
}

impl SealHistory {
    /// An envelope published in `block` (after every one before it in log order).
    pub fn publish(&mut self, block: u64, state: SealState) {
        if self.published.len() == MAX_ENVELOPES {
            self.published.remove(0);
        }
        self.published.push((block, state));
    }

    /// The envelope in force for an event in `block`: the last published in an earlier block.
    /// `None` for the block: the latest (an API event, which no block orders).
    pub fn at(&self, block: Option<u64>) -> Option<&SealState> {
        match block {
            None => self.published.last(),
            Some(block) => self.published.iter().rev().find(|(at, _)| *at < block),
        }
        .map(|(_, state)| state)
    }
}

/// A trigger's published envelope.
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
        match Envelope::from_base64(text) {
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_envelope_in_force_is_the_last_one_published_before_the_events_block() {
        let state = |reason: &str| SealState::Unreadable(reason.into());
        let mut history = SealHistory::default();
        history.publish(10, state("created"));
        history.publish(20, state("resealed"));
        let reason = |block| match history.at(block) {
            Some(SealState::Unreadable(r)) => Some(r.clone()),
            _ => None,
        };
        assert_eq!(reason(Some(10)), None, "not before the trigger existed");
        assert_eq!(reason(Some(11)).as_deref(), Some("created"));
        assert_eq!(
            reason(Some(20)).as_deref(),
            Some("created"),
            "a reseal applies after its block"
        );
        assert_eq!(reason(Some(21)).as_deref(), Some("resealed"));
        assert_eq!(reason(None).as_deref(), Some("resealed"));
        for block in 0..100 {
            history.publish(100 + block, state("spam"));
        }
        assert_eq!(history.published.len(), MAX_ENVELOPES);
    }
}
