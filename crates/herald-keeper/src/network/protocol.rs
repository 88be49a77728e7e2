//! What keepers send each other, and how each message is signed.
//!
//! Every request names its sender and its addressee and carries the sender's signature over a
//! domain-separated digest of (kind, chain id, Herald address, addressee, time, content). The
//! addressee checks the signer is an active keeper, that the message is addressed to it, and that
//! its time is recent and newer than the last one from the same sender: a captured request cannot
//! be sent to another keeper, nor sent again.
//!
//! A co-signing request (`POST /v1/peer/attest`, peer protocol version
//! [`PEER_PROTOCOL_VERSION`]) carries all of that in headers ([`PeerHeaders`]), and its signature
//! covers the hash of the exact body bytes: the co-signer refuses an unknown or inactive sender, a
//! stale time or another addressee before it reads the body, reads at most [`MAX_ATTEST_BODY`]
//! bytes, and checks the signature before it parses them. The body ([`AttestBody`]) holds at most
//! [`MAX_RECEIPTS_PER_REQUEST`] receipts with their evidence, and the sender's EIP-712 signature
//! over the batch digest itself: exactly what `settle` and `reportEquivocation` take, so two
//! conflicting batches signed by one keeper are a proof any co-signer can submit.

use alloy::{
    primitives::{Address, B256, Bytes, U256, aliases::U96, keccak256},
    signers::{SignerSync, local::PrivateKeySigner},
};
use axum::http::{HeaderMap, HeaderName, HeaderValue, header::CONTENT_TYPE};
use herald_chain::receipt::{Receipt, recover_signer};
use serde::{Deserialize, Serialize};
use serde_json::Value;

/// A receipt on the wire: the contract's `ExecutionReceipt`, field for field.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct WireReceipt {
    /// `triggerId`.
    pub trigger_id: u64,
    /// `eventId`.
    pub event_id: B256,
    /// `resultHash`.
    pub result_hash: B256,
    /// `connector`.
    pub connector: Address,
    /// `runner`.
    pub runner: Address,
    /// `runnerFee`, decimal.
    pub runner_fee: U256,
    /// `executedAt`.
    pub executed_at: u64,
    /// `success`.
    pub success: bool,
}

impl From<&Receipt> for WireReceipt {
    fn from(r: &Receipt) -> Self {
        Self {
            trigger_id: r.triggerId,
            event_id: r.eventId,
            result_hash: r.resultHash,
            connector: r.connector,
            runner: r.runner,
            runner_fee: U256::from(r.runnerFee),
            executed_at: r.executedAt,
            success: r.success,
        }
    }
}

impl WireReceipt {
    /// The contract's struct; `None` if the fee does not fit its `uint96`.
    pub fn to_receipt(&self) -> Option<Receipt> {
        Some(Receipt {
            triggerId: self.trigger_id,
            eventId: self.event_id,
            resultHash: self.result_hash,
            connector: self.connector,
            runner: self.runner,
            runnerFee: U96::try_from(u128::try_from(self.runner_fee).ok()?).ok()?,
            executedAt: self.executed_at,
            success: self.success,
        })
    }
}

/// Where an execution's event came from, so a co-signer can check it is real.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum EventSource {
    /// A chain log: the co-signer reads the transaction's receipt itself and finds the log at the
    /// index the event id's position names.
    Chain {
        /// The transaction that emitted the log.
        tx_hash: B256,
    },
    /// An event posted to a keeper's API, made and signed by its emitter: the co-signer recovers
    /// the emitter from the signature, rebuilds the event from what it signed and runs only the
    /// subscriptions that name it (see `herald_api::signing`). The keeper it was posted to vouches
    /// for nothing.
    Http {
        /// The event, CloudEvents JSON, exactly as stored.
        event: Value,
        /// The emitter's EIP-712 signature over `HttpEvent(id, eventType, time, payloadHash)`
        /// (`herald_api::signing::event_digest`); the stored event carries it in its
        /// `heraldsignature` attribute, and the performer's cosigner copies it here.
        signature: Bytes,
    },
}

/// One receipt for co-signing, with its evidence.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Attestable {
    /// The receipt.
    pub receipt: WireReceipt,
    /// The bytes `resultHash` commits to: the request sent, then the HTTP status (2 bytes,
    /// big-endian) when the target answered.
    pub result: Bytes,
    /// The event.
    pub source: EventSource,
}

/// The peer protocol's version, sent in [`VERSION_HEADER`] with every co-signing request. A
/// co-signer refuses any other version before reading the body, so a change of format or of what
/// is signed is explicit. Version 1 (no header) carried the sender, addressee, time and signature
/// in the JSON body; version 2 moved them to headers and signs the body's hash.
pub const PEER_PROTOCOL_VERSION: u32 = 2;
/// The peer protocol version of a request.
pub const VERSION_HEADER: &str = "herald-peer-version";
/// The sending keeper's address.
pub const FROM_HEADER: &str = "herald-peer-from";
/// The addressee's address.
pub const TO_HEADER: &str = "herald-peer-to";
/// When the request was made, unix milliseconds.
pub const ISSUED_AT_HEADER: &str = "herald-peer-issued-at";
/// The sender's signature over [`request_digest`], 0x hex.
pub const SIGNATURE_HEADER: &str = "herald-peer-signature";

/// Most receipts one co-signing request may carry: what one request can make a co-signer look up.
/// The settler never puts more in a batch.
pub const MAX_RECEIPTS_PER_REQUEST: usize = 1_000;
/// Largest co-signing request body, bytes: read (and hashed) only once the headers name an active
/// keeper, and parsed only once the signature over its hash holds. A full batch of chain events
/// takes a few kilobytes per receipt; the settler trims a batch whose evidence would not fit.
pub const MAX_ATTEST_BODY: usize = 4 * 1024 * 1024;

/// Who sends a co-signing request, to whom, when, and the sender's signature over the body: sent
/// as headers, so the co-signer can refuse a stranger before reading the body.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PeerHeaders {
    /// The performer asking.
    pub from: Address,
    /// The keeper asked.
    pub to: Address,
    /// When the request was made, unix milliseconds.
    pub issued_at: u64,
    /// The performer's signature over [`request_digest`] of the body.
    pub signature: Bytes,
}

/// Why a request's peer headers cannot be read.
#[derive(Debug, thiserror::Error)]
pub enum HeaderError {
    /// No version header: a peer speaking an older protocol.
    #[error(
        "no {VERSION_HEADER} header: this keeper speaks peer protocol version {PEER_PROTOCOL_VERSION}"
    )]
    NoVersion,
    /// Another version of the protocol.
    #[error(
        "{VERSION_HEADER} is {found:?}: this keeper speaks peer protocol version {PEER_PROTOCOL_VERSION}"
    )]
    Version {
        /// The version sent.
        found: String,
    },
    /// A header the request must carry is missing.
    #[error("no {0} header")]
    Missing(&'static str),
    /// A header is not what it must be.
    #[error("{name} is {found:?}: expected {expected}")]
    Invalid {
        /// The header.
        name: &'static str,
        /// What it must hold.
        expected: &'static str,
        /// What it holds (at most 100 characters of it).
        found: String,
    },
}

impl PeerHeaders {
    /// Reads the peer headers of a request; the version must be [`PEER_PROTOCOL_VERSION`].
    pub fn parse(headers: &HeaderMap) -> Result<Self, HeaderError> {
        match headers.get(VERSION_HEADER).map(|v| v.to_str()) {
            None => return Err(HeaderError::NoVersion),
            Some(Ok(v)) if v.trim() == PEER_PROTOCOL_VERSION.to_string() => {}
            Some(found) => {
                return Err(HeaderError::Version {
                    found: found.unwrap_or("(not text)").chars().take(100).collect(),
                });
            }
        }
        Ok(Self {
            from: header(headers, FROM_HEADER, "a 0x address")?,
            to: header(headers, TO_HEADER, "a 0x address")?,
            issued_at: header(headers, ISSUED_AT_HEADER, "unix milliseconds")?,
            signature: header(headers, SIGNATURE_HEADER, "a 0x hex signature")?,
        })
    }

    /// These headers, with the version and the body's content type, for a request.
    pub fn to_header_map(&self) -> HeaderMap {
        let mut map = HeaderMap::new();
        map.insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
        for (name, value) in [
            (VERSION_HEADER, PEER_PROTOCOL_VERSION.to_string()),
            (FROM_HEADER, self.from.to_string()),
            (TO_HEADER, self.to.to_string()),
            (ISSUED_AT_HEADER, self.issued_at.to_string()),
            (SIGNATURE_HEADER, self.signature.to_string()),
        ] {
            // Hex and decimal digits are always valid header values.
            if let Ok(value) = HeaderValue::from_str(&value) {
                map.insert(HeaderName::from_static(name), value);
            }
        }
        map
    }

    /// Whether the signature is the sender's over a request of `kind` with `body`, as addressed
    /// and dated.
    pub fn signs_as(&self, domain: Domain, kind: &str, body: &[u8]) -> bool {
        signed_by(
            &request_digest(domain, kind, self.to, self.issued_at, body),
            &self.signature,
            self.from,
        )
    }

    /// The headers of a request of `kind` with `body`, from `signer` to `to` at `issued_at`.
    pub fn signed(
        signer: &PrivateKeySigner,
        domain: Domain,
        kind: &str,
        to: Address,
        issued_at: u64,
        body: &[u8],
    ) -> Result<Self, alloy::signers::Error> {
        Ok(Self {
            from: signer.address(),
            to,
            issued_at,
            signature: sign(signer, &request_digest(domain, kind, to, issued_at, body))?,
        })
    }
}

/// One header, parsed.
fn header<T: std::str::FromStr>(
    headers: &HeaderMap,
    name: &'static str,
    expected: &'static str,
) -> Result<T, HeaderError> {
    let value = headers.get(name).ok_or(HeaderError::Missing(name))?;
    let text = value.to_str().unwrap_or_default().trim();
    text.parse().map_err(|_| HeaderError::Invalid {
        name,
        expected,
        found: text.chars().take(100).collect(),
    })
}

/// The body of `POST /v1/peer/attest`: "check these receipts and sign their batch".
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct AttestBody {
    /// The batch, in the order it will be settled, with evidence.
    pub receipts: Vec<Attestable>,
    /// The performer's signature over the batch's EIP-712 digest.
    pub batch_signature: Bytes,
}

/// A co-signing request as sent: its peer headers and the exact body bytes they sign.
#[derive(Clone, Debug)]
pub struct AttestRequest {
    /// Sender, addressee, time and the signature over the body.
    pub headers: PeerHeaders,
    /// The [`AttestBody`], JSON.
    pub body: Vec<u8>,
}

impl AttestRequest {
    /// `body`, from `signer` to `to` at `issued_at` (unix milliseconds), signed.
    pub fn new(
        signer: &PrivateKeySigner,
        domain: Domain,
        to: Address,
        issued_at: u64,
        body: &AttestBody,
    ) -> Result<Self, alloy::signers::Error> {
        let body = serde_json::to_vec(body).map_err(alloy::signers::Error::other)?;
        Ok(Self {
            headers: PeerHeaders::signed(signer, domain, ATTEST, to, issued_at, &body)?,
            body,
        })
    }
}

/// The co-signer's answer: its signature over the batch digest.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct AttestResponse {
    /// The co-signer.
    pub signer: Address,
    /// Its signature over the batch digest.
    pub signature: Bytes,
}

/// Why a co-signer refused, receipt by receipt.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Refusal {
    /// What was wrong with the request as a whole.
    pub error: String,
    /// The receipts refused: index in the batch and the reason.
    #[serde(default)]
    pub receipts: Vec<(usize, String)>,
    /// Whether asking again later may succeed (the co-signer has not seen the event or trigger yet).
    #[serde(default)]
    pub retry: bool,
}

/// `POST /v1/peer/heartbeat`: "I am alive, and this is what I did".
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Heartbeat {
    /// The sender.
    pub from: Address,
    /// The addressee.
    pub to: Address,
    /// When it was sent, unix milliseconds.
    pub issued_at: u64,
    /// Executions the sender ran to the end.
    pub executed: u64,
    /// Receipts of other keepers the sender co-signed.
    pub attested: u64,
    /// The sender's signature over [`message_digest`].
    pub signature: Bytes,
}

/// The deployment a message belongs to: a signature for one chain or contract is worthless on
/// another.
#[derive(Clone, Copy, Debug)]
pub struct Domain {
    /// The chain's id.
    pub chain_id: u64,
    /// The Herald contract.
    pub herald: Address,
}

/// The digest a keeper signs to send a message of `kind` to `to`. Prefixed with its own tag, so it
/// can never collide with an EIP-712 digest (which starts with 0x1901) or another kind of message.
pub fn message_digest(
    domain: Domain,
    kind: &str,
    to: Address,
    issued_at: u64,
    content: B256,
) -> B256 {
    let mut preimage = Vec::with_capacity(64 + kind.len() + 8 + 20 + 20 + 8 + 32);
    preimage.extend_from_slice(b"herald/peer/v1/");
    preimage.extend_from_slice(kind.as_bytes());
    preimage.extend_from_slice(&domain.chain_id.to_be_bytes());
    preimage.extend_from_slice(domain.herald.as_slice());
    preimage.extend_from_slice(to.as_slice());
    preimage.extend_from_slice(&issued_at.to_be_bytes());
    preimage.extend_from_slice(content.as_slice());
    keccak256(preimage)
}

/// The kind of a co-signing request: its content digest is the hash of its body.
pub const ATTEST: &str = "attest/v2";

/// The digest a keeper signs to send the request `body` of `kind` ([`ATTEST`], [`RELAY`]) to `to`
/// at `issued_at`: its content digest is the hash of the exact body bytes.
pub fn request_digest(
    domain: Domain,
    kind: &str,
    to: Address,
    issued_at: u64,
    body: &[u8],
) -> B256 {
    message_digest(domain, kind, to, issued_at, keccak256(body))
}

/// The kind of a relayed API event (`POST /v1/peer/event`): its content digest is the hash of its
/// body.
pub const RELAY: &str = "relay/v1";

/// Most triggers one relayed event may name: a relay is for the sealed subscriptions the keeper
/// the event was posted to cannot perform.
pub const MAX_TRIGGERS_PER_RELAY: usize = 64;

/// Largest relayed event body, bytes: an event's payload is at most the REST API's body limit
/// ([`herald_api::MAX_BODY`]); the CloudEvent around it, its signature and the triggers' ids add
/// a few kilobytes at most.
pub const MAX_RELAY_BODY: usize = 2 * herald_api::MAX_BODY;

/// The body of `POST /v1/peer/event`: "an emitter posted this event to me, but these sealed
/// subscriptions are sealed to you, not to me: perform them". The relaying keeper vouches for
/// nothing: the addressee checks the emitter's signature, the event's age, each subscription's
/// match and emitters, and that it is a recipient of each envelope, as a co-signer would.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct RelayBody {
    /// The event, CloudEvents JSON, exactly as stored.
    pub event: Value,
    /// The emitter's EIP-712 signature over it (see [`EventSource::Http`]).
    pub signature: Bytes,
    /// The subscriptions the addressee is asked to perform.
    pub triggers: Vec<u64>,
}

/// The addressee's answer to a relayed event: the subscriptions it recorded to perform.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct RelayAnswer {
    /// The addressee.
    pub keeper: Address,
    /// The subscriptions it will perform (recorded before it answered).
    pub accepted: Vec<u64>,
}
/// The content digest of a heartbeat: keccak256(executed ‖ attested).
pub const HEARTBEAT: &str = "heartbeat";

/// What a heartbeat's signature covers besides the envelope.
pub fn heartbeat_content(executed: u64, attested: u64) -> B256 {
    let mut preimage = [0u8; 16];
    preimage[..8].copy_from_slice(&executed.to_be_bytes());
    preimage[8..].copy_from_slice(&attested.to_be_bytes());
    keccak256(preimage)
}

/// Signs a digest: 65 bytes, `r ‖ s ‖ v`.
pub fn sign(signer: &PrivateKeySigner, digest: &B256) -> Result<Bytes, alloy::signers::Error> {
    Ok(Bytes::from(
        signer.sign_hash_sync(digest)?.as_bytes().to_vec(),
    ))
}

/// Whether `signature` over `digest` is `expected`'s.
pub fn signed_by(digest: &B256, signature: &[u8], expected: Address) -> bool {
    recover_signer(digest, signature) == Some(expected)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_message_signed_for_one_keeper_does_not_verify_for_another() {
        let signer = PrivateKeySigner::random();
        let domain = Domain {
            chain_id: 1,
            herald: Address::repeat_byte(9),
        };
        let (a, b) = (Address::repeat_byte(1), Address::repeat_byte(2));
        let content = B256::repeat_byte(7);
        let digest = message_digest(domain, ATTEST, a, 1_000, content);
        let signature = sign(&signer, &digest).expect("sign");
        assert!(signed_by(&digest, &signature, signer.address()));
        let other = message_digest(domain, ATTEST, b, 1_000, content);
        assert!(!signed_by(&other, &signature, signer.address()));
        let later = message_digest(domain, ATTEST, a, 1_001, content);
        assert!(!signed_by(&later, &signature, signer.address()));
        let heartbeat = message_digest(domain, HEARTBEAT, a, 1_000, content);
        assert!(!signed_by(&heartbeat, &signature, signer.address()));
        let relay = message_digest(domain, RELAY, a, 1_000, content);
        assert!(
            !signed_by(&relay, &signature, signer.address()),
            "a co-signing request is no relayed event"
        );
    }

    #[test]
    fn peer_headers_sign_the_exact_body_and_name_the_version() {
        let signer = PrivateKeySigner::random();
        let domain = Domain {
            chain_id: 1,
            herald: Address::repeat_byte(9),
        };
        let to = Address::repeat_byte(2);
        let body = AttestBody {
            receipts: Vec::new(),
            batch_signature: Bytes::from_static(b"batch"),
        };
        let request = AttestRequest::new(&signer, domain, to, 1_000, &body).expect("sign");
        let map = request.headers.to_header_map();
        assert_eq!(
            map.get(VERSION_HEADER).and_then(|v| v.to_str().ok()),
            Some("2")
        );
        let parsed = PeerHeaders::parse(&map).expect("parse");
        assert_eq!(parsed, request.headers);
        assert_eq!(parsed.from, signer.address());
        assert!(parsed.signs_as(domain, ATTEST, &request.body));
        let mut tampered = request.body.clone();
        tampered.push(b' ');
        assert!(
            !parsed.signs_as(domain, ATTEST, &tampered),
            "the signature covers every byte"
        );

        let mut old = map.clone();
        old.remove(VERSION_HEADER);
        assert!(matches!(
            PeerHeaders::parse(&old),
            Err(HeaderError::NoVersion)
        ));
        let mut future = map.clone();
        future.insert(VERSION_HEADER, HeaderValue::from_static("3"));
        assert!(matches!(
            PeerHeaders::parse(&future),
            Err(HeaderError::Version { .. })
        ));
        let mut unsigned = map;
        unsigned.remove(SIGNATURE_HEADER);
        assert_eq!(
            PeerHeaders::parse(&unsigned)
                .expect_err("no signature")
                .to_string(),
            format!("no {SIGNATURE_HEADER} header")
        );
    }

    #[test]
    fn receipts_survive_the_wire() {
        let receipt = Receipt {
            triggerId: 7,
            eventId: B256::repeat_byte(1),
            resultHash: B256::repeat_byte(2),
            connector: Address::repeat_byte(3),
            runner: Address::repeat_byte(4),
            runnerFee: U96::from(5),
            executedAt: 6,
            success: true,
        };
        let wire = WireReceipt::from(&receipt);
        let json = serde_json::to_string(&wire).expect("json");
        let back: WireReceipt = serde_json::from_str(&json).expect("parse");
        let round_trip = back.to_receipt().expect("fits");
        assert_eq!(
            herald_chain::receipt::receipt_hash(&round_trip),
            herald_chain::receipt::receipt_hash(&receipt)
        );
        let too_big = WireReceipt {
            runner_fee: U256::MAX,
            ..back
        };
        assert!(
            too_big.to_receipt().is_none(),
            "a fee above uint96 is refused"
        );
    }
}
