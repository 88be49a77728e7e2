//! What an event's emitter and an event type's owner sign (audit finding 3).
//!
//! An API event is made by its **emitter**, not by the keeper it is posted to: the emitter picks
//! the id (a UUIDv7) and the time, and signs them with the type and the payload's hash under
//! Herald's EIP-712 domain (the deployment's chain id and Herald address):
//!
//! ```text
//! HttpEvent(bytes16 id, string eventType, uint64 time, bytes32 payloadHash)
//! ```
//!
//! `time` is unix milliseconds; `payloadHash` is keccak256 of the payload's canonical JSON
//! ([`canonical_json`]). The keeper stores the event exactly as [`signed_event`] builds it from
//! those fields, the signer and the signature, so every attribute a trigger can filter on or a
//! webhook can carry is either signed or derived from what is: co-signers rebuild it and refuse
//! any other. An id must be a UUIDv7 whose embedded time is within [`ID_WINDOW_MS`] of the event's
//! time ([`check_id`]), so the id — which orders settlement on chain — cannot be chosen apart from
//! the time.
//!
//! An event type is owned by the key that first defined it: every change to it (define, update,
//! delete) is signed by its owner over the exact request body,
//!
//! ```text
//! EventTypeChange(string name, string action, bytes32 bodyHash, uint64 signedAt)
//! ```
//!
//! with `signedAt` (unix milliseconds) recent and later than the type's last change, so a captured
//! change cannot be replayed (say, to restore an emitter the owner removed).

use alloy::{
    primitives::{Address, B256, Bytes, FixedBytes, keccak256},
    signers::{SignerSync, local::PrivateKeySigner},
    sol,
    sol_types::{Eip712Domain, SolStruct},
};
use herald_core::{Event, EventId};
use jiff::Timestamp;
use serde_json::Value;
use uuid::Uuid;

sol! {
    /// The EIP-712 struct an emitter signs for one event.
    struct HttpEvent {
        bytes16 id;
        string eventType;
        uint64 time;
        bytes32 payloadHash;
    }

    /// The EIP-712 struct an event type's owner signs for one change to it.
    struct EventTypeChange {
        string name;
        string action;
        bytes32 bodyHash;
        uint64 signedAt;
    }
}

/// Header carrying the event's id (a UUIDv7, chosen by the emitter).
pub const EVENT_ID_HEADER: &str = "herald-event-id";
/// Header carrying the event's time, unix milliseconds (chosen by the emitter).
pub const EVENT_TIME_HEADER: &str = "herald-event-time";
/// Header carrying the emitter's signature over [`event_digest`], 0x hex.
pub const EMITTER_SIGNATURE_HEADER: &str = "herald-emitter-signature";
/// Header carrying when an event type's owner signed a change, unix milliseconds.
pub const SIGNED_AT_HEADER: &str = "herald-signed-at";
/// Header carrying the owner's signature over [`change_digest`], 0x hex.
pub const OWNER_SIGNATURE_HEADER: &str = "herald-owner-signature";

/// The CloudEvents extension attribute the emitter's signature is stored in.
pub const SIGNATURE_EXTENSION: &str = "heraldsignature";

/// How far apart an event id's embedded time and the event's time may be, and how far the
/// event's time may be from the clock of the keeper it is posted to (milliseconds).
pub const ID_WINDOW_MS: u64 = 60_000;

/// How old an API event a co-signer still signs for (milliseconds). Longer than the intake window
/// ([`ID_WINDOW_MS`]): a co-signer sees the event only once it has run and been batched, and a
/// batch is retried while peers are down or hold it back; past this, the receipt is refused for
/// good (the performer is not paid, the owner pays nothing). Long enough for that, short enough
/// that a captured signed event cannot be run, much later, by a subscription created since.
pub const COSIGN_MAX_AGE_MS: u64 = 5 * 60_000;

/// The `action` of a change that defines an event type.
pub const DEFINE: &str = "define";
/// The `action` of a change that replaces an event type's description, schema and emitters.
pub const UPDATE: &str = "update";
/// The `action` of a change that deletes an event type.
pub const DELETE: &str = "delete";

/// The canonical JSON of a payload, whose keccak256 the emitter signs: serde_json's compact form
/// of the parsed value — object keys sorted bytewise, no whitespace, strings escaped only where
/// JSON requires it, numbers as serde_json prints them (integers exactly). An emitter in another
/// language signs the same bytes by sorting keys and printing without spaces.
pub fn canonical_json(payload: &Value) -> Vec<u8> {
    serde_json::to_vec(payload).expect("a JSON value always serializes")
}

/// The EIP-712 digest an emitter signs for an event.
pub fn event_digest(
    domain: &Eip712Domain,
    id: Uuid,
    kind: &str,
    time_ms: u64,
    payload: &Value,
) -> B256 {
    HttpEvent {
        id: FixedBytes(*id.as_bytes()),
        eventType: kind.to_string(),
        time: time_ms,
        payloadHash: keccak256(canonical_json(payload)),
    }
    .eip712_signing_hash(domain)
}

/// The EIP-712 digest an owner signs for a change to an event type; `body` is the exact request
/// body (empty for a delete).
pub fn change_digest(
    domain: &Eip712Domain,
    name: &str,
    action: &str,
    body: &[u8],
    signed_at_ms: u64,
) -> B256 {
    EventTypeChange {
        name: name.to_string(),
        action: action.to_string(),
        bodyHash: keccak256(body),
        signedAt: signed_at_ms,
    }
    .eip712_signing_hash(domain)
}

/// Signs a digest: 65 bytes, `r ‖ s ‖ v`.
pub fn sign(signer: &PrivateKeySigner, digest: &B256) -> Result<Bytes, alloy::signers::Error> {
    Ok(Bytes::from(
        signer.sign_hash_sync(digest)?.as_bytes().to_vec(),
    ))
}

/// The signer of `digest`, if `signature` is a well-formed signature at all.
pub fn recover(digest: &B256, signature: &[u8]) -> Option<Address> {
    herald_chain::receipt::recover_signer(digest, signature)
}

/// What an emitter sends with an event: the id and time it chose and its signature, as the
/// `herald-event-*` headers of `POST /v1/events/{name}`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Emission {
    /// The event's id, a fresh UUIDv7.
    pub id: Uuid,
    /// The event's time, unix milliseconds.
    pub time_ms: u64,
    /// The emitter's signature over [`event_digest`].
    pub signature: Bytes,
}

impl Emission {
    /// `signer` emits an event of type `kind` with `payload` now, for the deployment `domain`.
    pub fn sign(
        signer: &PrivateKeySigner,
        domain: &Eip712Domain,
        kind: &str,
        payload: &Value,
    ) -> Result<Self, alloy::signers::Error> {
        let id = Uuid::now_v7();
        let time_ms = v7_time_ms(id).expect("now_v7 is a UUIDv7");
        let signature = sign(signer, &event_digest(domain, id, kind, time_ms, payload))?;
        Ok(Self {
            id,
            time_ms,
            signature,
        })
    }

    /// The request headers that carry it.
    pub fn headers(&self) -> [(&'static str, String); 3] {
        [
            (EVENT_ID_HEADER, self.id.to_string()),
            (EVENT_TIME_HEADER, self.time_ms.to_string()),
            (EMITTER_SIGNATURE_HEADER, self.signature.to_string()),
        ]
    }
}

/// What an owner sends with a change to an event type: `herald-signed-at` and
/// `herald-owner-signature`, signed now over the exact `body`.
pub fn change_headers(
    owner: &PrivateKeySigner,
    domain: &Eip712Domain,
    name: &str,
    action: &str,
    body: &[u8],
) -> Result<[(&'static str, String); 2], alloy::signers::Error> {
    let signed_at = jiff::Timestamp::now().as_millisecond().max(0) as u64;
    let signature = sign(owner, &change_digest(domain, name, action, body, signed_at))?;
    Ok([
        (SIGNED_AT_HEADER, signed_at.to_string()),
        (OWNER_SIGNATURE_HEADER, signature.to_string()),
    ])
}

/// Why an event's id and time are refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum WindowError {
    /// The id is not a UUIDv7.
    #[error("the event id {0} is not a UUIDv7")]
    NotV7(String),
    /// The id's embedded time is too far from the event's time.
    #[error(
        "the event id's time ({id_ms} ms) is {apart_ms} ms from the event's time ({time_ms} ms); \
         at most {ID_WINDOW_MS} ms apart"
    )]
    IdApart {
        /// The id's embedded time, unix ms.
        id_ms: u64,
        /// The event's time, unix ms.
        time_ms: u64,
        /// How far apart.
        apart_ms: u64,
    },
    /// The event (its id or its time) is too far ahead of the checker's clock.
    #[error(
        "the event is dated {time_ms} ms, {ahead_ms} ms ahead of this keeper's clock; at most {ID_WINDOW_MS} ms"
    )]
    Ahead {
        /// The event's time, unix ms.
        time_ms: u64,
        /// How far ahead.
        ahead_ms: u64,
    },
    /// The event (its id or its time) is older than the checker accepts.
    #[error(
        "the event is dated {time_ms} ms, {age_ms} ms ago by this keeper's clock; at most {max_age_ms} ms are accepted"
    )]
    TooOld {
        /// The event's time, unix ms.
        time_ms: u64,
        /// Its age.
        age_ms: u64,
        /// The most accepted.
        max_age_ms: u64,
    },
}

/// The millisecond timestamp a UUIDv7 embeds, or why `id` is not one.
pub fn v7_time_ms(id: Uuid) -> Result<u64, WindowError> {
    if id.get_version_num() != 7 || id.get_variant() != uuid::Variant::RFC4122 {
        return Err(WindowError::NotV7(id.to_string()));
    }
    let b = id.as_bytes();
    Ok(b[..6]
        .iter()
        .fold(0u64, |ms, byte| ms << 8 | u64::from(*byte)))
}

/// Checks an event's id and time: the id is a UUIDv7 within [`ID_WINDOW_MS`] of the time, and
/// both the id's time and the event's are at most [`ID_WINDOW_MS`] ahead of `now_ms` and at most
/// `max_age_ms` behind it.
pub fn check_id(id: Uuid, time_ms: u64, now_ms: u64, max_age_ms: u64) -> Result<(), WindowError> {
    let id_ms = v7_time_ms(id)?;
    let apart_ms = id_ms.abs_diff(time_ms);
    if apart_ms > ID_WINDOW_MS {
        return Err(WindowError::IdApart {
            id_ms,
            time_ms,
            apart_ms,
        });
    }
    for ms in [id_ms, time_ms] {
        if ms > now_ms + ID_WINDOW_MS {
            return Err(WindowError::Ahead {
                time_ms: ms,
                ahead_ms: ms - now_ms,
            });
        }
        let age_ms = now_ms.saturating_sub(ms);
        if age_ms > max_age_ms {
            return Err(WindowError::TooOld {
                time_ms: ms,
                age_ms,
                max_age_ms,
            });
        }
    }
    Ok(())
}

/// The `source` of an event signed by `emitter`: its CAIP-10 account id on the deployment's chain.
pub fn emitter_source(chain_id: u64, emitter: Address) -> String {
    format!("eip155:{chain_id}:{emitter}")
}

/// The emitter an API event names in its `source`; `None` for an event not built by
/// [`signed_event`]. Trust it only for an event whose signature was checked (the API checks before
/// storing; a co-signer checks with [`verify_event`]).
pub fn emitter_of(event: &Event) -> Option<Address> {
    let mut parts = event.source.splitn(3, ':');
    match (parts.next(), parts.next(), parts.next()) {
        (Some("eip155"), Some(_chain), Some(address)) => address.parse().ok(),
        _ => None,
    }
}

/// The event exactly as stored and as co-signers rebuild it: every attribute is signed by the
/// emitter or derived from what is.
pub fn signed_event(
    chain_id: u64,
    emitter: Address,
    id: Uuid,
    kind: &str,
    time_ms: u64,
    payload: Value,
    signature: &Bytes,
) -> Event {
    let mut event = Event::new(kind, emitter_source(chain_id, emitter), payload);
    event.id = EventId::from_uuid(id);
    event.time = Timestamp::from_millisecond(time_ms as i64).unwrap_or(Timestamp::UNIX_EPOCH);
    event
        .extensions
        .insert(SIGNATURE_EXTENSION.into(), signature.to_string().into());
    event
}

/// The emitter's signature an event carries in [`SIGNATURE_EXTENSION`].
pub fn signature_of(event: &Event) -> Option<Bytes> {
    event
        .extensions
        .get(SIGNATURE_EXTENSION)?
        .as_str()?
        .parse()
        .ok()
}

/// An event's time in unix milliseconds (0 before 1970).
pub fn time_ms(event: &Event) -> u64 {
    event.time.as_millisecond().max(0) as u64
}

/// Why an event is not what its emitter signed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum EventSignatureError {
    /// The id is not a UUID.
    #[error("the event id {0} is not a UUID")]
    NotUuid(String),
    /// The signature is not a signature.
    #[error("the emitter signature is not a 65-byte secp256k1 signature")]
    Malformed,
    /// The event is not the one its signer signed (an attribute was changed or added).
    #[error("the event is not exactly the event {0} signed")]
    Altered(Address),
}

/// The emitter of `event`, given the signature carried with it: recovers the signer of its
/// [`event_digest`] and checks the event is exactly [`signed_event`] of it.
pub fn verify_event(
    domain: &Eip712Domain,
    event: &Event,
    signature: &Bytes,
) -> Result<Address, EventSignatureError> {
    let id = event
        .id
        .as_uuid()
        .ok_or_else(|| EventSignatureError::NotUuid(event.id.to_string()))?;
    let time = time_ms(event);
    let digest = event_digest(domain, id, &event.kind, time, &event.data);
    let emitter = recover(&digest, signature).ok_or(EventSignatureError::Malformed)?;
    let chain_id = domain.chain_id.map_or(0, |c| c.to::<u64>());
    let rebuilt = signed_event(
        chain_id,
        emitter,
        id,
        &event.kind,
        time,
        event.data.clone(),
        signature,
    );
    if &rebuilt != event {
        return Err(EventSignatureError::Altered(emitter));
    }
    Ok(emitter)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    const MINUTE: u64 = 60_000;

    fn domain() -> Eip712Domain {
        herald_chain::receipt::domain(31337, Address::repeat_byte(9))
    }

    /// A UUIDv7 embedding `ms`.
    fn v7_at(ms: u64) -> Uuid {
        let ts = uuid::Timestamp::from_unix(
            uuid::NoContext,
            ms / 1_000,
            (ms % 1_000) as u32 * 1_000_000,
        );
        Uuid::new_v7(ts)
    }

    fn signed(signer: &PrivateKeySigner, id: Uuid, time: u64, payload: Value) -> Event {
        let digest = event_digest(&domain(), id, "order.created", time, &payload);
        let signature = sign(signer, &digest).expect("sign");
        signed_event(
            31337,
            signer.address(),
            id,
            "order.created",
            time,
            payload,
            &signature,
        )
    }

    #[test]
    fn the_type_strings_are_the_documented_ones() {
        assert_eq!(
            HttpEvent::eip712_encode_type(),
            "HttpEvent(bytes16 id,string eventType,uint64 time,bytes32 payloadHash)"
        );
        assert_eq!(
            EventTypeChange::eip712_encode_type(),
            "EventTypeChange(string name,string action,bytes32 bodyHash,uint64 signedAt)"
        );
    }

    #[test]
    fn the_canonical_payload_sorts_keys_and_drops_whitespace() {
        let payload: Value =
            serde_json::from_str(r#"{ "b": 1, "a": {"d": [1, 2], "c": "é"} }"#).expect("json");
        assert_eq!(
            String::from_utf8(canonical_json(&payload)).expect("utf-8"),
            r#"{"a":{"c":"é","d":[1,2]},"b":1}"#
        );
    }

    #[test]
    fn a_signed_event_verifies_as_its_emitter_and_any_change_is_refused() {
        let emitter = PrivateKeySigner::random();
        let now = 1_700_000_000_000;
        let event = signed(
            &emitter,
            v7_at(now),
            now,
            json!({"order": "A-1", "amount": 500}),
        );
        let signature = signature_of(&event).expect("carried");
        assert_eq!(
            verify_event(&domain(), &event, &signature),
            Ok(emitter.address())
        );
        assert_eq!(emitter_of(&event), Some(emitter.address()));

        let mut more = event.clone();
        more.data = json!({"order": "A-1", "amount": 5000});
        assert_ne!(
            verify_event(&domain(), &more, &signature),
            Ok(emitter.address())
        );
        let mut renamed = event.clone();
        renamed.kind = "order.cancelled".into();
        assert_ne!(
            verify_event(&domain(), &renamed, &signature),
            Ok(emitter.address())
        );
        let mut claimed = event.clone();
        claimed.source = emitter_source(31337, Address::repeat_byte(1));
        assert_eq!(
            verify_event(&domain(), &claimed, &signature),
            Err(EventSignatureError::Altered(emitter.address())),
            "the source must name the signer"
        );
        let mut extended = event.clone();
        extended.subject = Some("extra".into());
        assert!(verify_event(&domain(), &extended, &signature).is_err());
        let other_deployment = herald_chain::receipt::domain(1, Address::repeat_byte(9));
        assert!(verify_event(&other_deployment, &event, &signature).is_err());
    }

    #[test]
    fn an_id_ten_minutes_old_or_ahead_is_refused_and_one_inside_the_window_accepted() {
        let now = 1_700_000_000_000;
        let max_age = 5 * MINUTE;
        assert_eq!(
            check_id(v7_at(now - 30_000), now - 30_000, now, max_age),
            Ok(())
        );
        assert_eq!(check_id(v7_at(now + 30_000), now, now, max_age), Ok(()));
        assert!(matches!(
            check_id(v7_at(now - 10 * MINUTE), now - 10 * MINUTE, now, max_age),
            Err(WindowError::TooOld { .. })
        ));
        assert!(matches!(
            check_id(v7_at(now + 10 * MINUTE), now + 10 * MINUTE, now, max_age),
            Err(WindowError::Ahead { .. })
        ));
        assert!(matches!(
            check_id(v7_at(now - 10 * MINUTE), now, now, max_age),
            Err(WindowError::IdApart { .. })
        ));
        assert!(matches!(
            check_id(v7_at(now + 10 * MINUTE), now, now, max_age),
            Err(WindowError::IdApart { .. })
        ));
        assert!(matches!(
            check_id(Uuid::new_v4(), now, now, max_age),
            Err(WindowError::NotV7(_))
        ));
        assert_eq!(v7_time_ms(v7_at(now)), Ok(now));
    }

    #[test]
    fn a_change_signature_covers_the_name_the_action_the_body_and_the_time() {
        let owner = PrivateKeySigner::random();
        let body = br#"{"name":"order.created","emitters":[]}"#;
        let digest = change_digest(&domain(), "order.created", DEFINE, body, 1_000);
        let signature = sign(&owner, &digest).expect("sign");
        assert_eq!(recover(&digest, &signature), Some(owner.address()));
        for other in [
            change_digest(&domain(), "order.cancelled", DEFINE, body, 1_000),
            change_digest(&domain(), "order.created", UPDATE, body, 1_000),
            change_digest(&domain(), "order.created", DEFINE, b"{}", 1_000),
            change_digest(&domain(), "order.created", DEFINE, body, 1_001),
        ] {
            assert_ne!(recover(&other, &signature), Some(owner.address()));
        }
    }
}
