//! Co-signing: a keeper checks another keeper's receipts on its own before signing their batch.
//!
//! A request is admitted in steps, each cheaper than what it guards:
//! 1. its headers, before the body is read: the protocol version, an addressee that is this
//!    keeper, a recent time, and a sender that is an *active* keeper (refused with 400, 401 or 403);
//! 2. a free slot among [`MAX_CONCURRENT_ATTESTS`] (429 when full), then at most
//!    [`MAX_ATTEST_BODY`](super::protocol::MAX_ATTEST_BODY) bytes of body (413);
//! 3. the sender's signature over the body's hash, and a time newer than the sender's last (a
//!    replay), before the body is parsed (401);
//! 4. at most [`MAX_RECEIPTS_PER_REQUEST`] receipts, and the sender's signature over the batch.
//!
//! Then, for each receipt ([`evidence`]), without trusting the performer:
//! - the event is real and final: a chain log's block must be at or below the co-signer's node's
//!   finalized block (else "not yet", with `chain.sign_at = "finalized"`), the log is read again
//!   from that node by transaction hash and log index, and its id recomputed; an HTTP event must
//!   carry its connector keeper's signature;
//! - the trigger matches it, in the co-signer's own trigger set;
//! - the result commits to the very request the trigger sends for that event, and `success`
//!   agrees with the HTTP status in it;
//! - the runner fee is within the service type's cap in the registry;
//! - the performer is the assigned keeper, or the next in the ranking after the takeover timeout.
//!
//! **Equivocation.** Before checking, the batch is compared with the batches the same performer
//! sent before and this keeper kept: a second, different receipt for the same (trigger, event,
//! runner) is reported on chain (`reportEquivocation`). A batch is kept only once it checked out.
//!
//! **Never two signatures for one execution.** Before signing, every receipt is claimed in the
//! store ([`Store::claim_receipts`]): one receipt per (trigger, event, runner), ever, decided by a
//! primary key, so however requests race (two conflicting batches at once, several processes on
//! one database) this keeper signs at most one of them and cannot be slashed for it.

mod evidence;
mod order;
mod relayed;

use std::{
    collections::HashMap,
    sync::{Arc, Mutex, RwLock},
    time::Duration,
};

use alloy::{
    primitives::{Address, Bytes, U256},
    providers::DynProvider,
    signers::local::PrivateKeySigner,
};
use axum::http::HeaderMap;
use herald_chain::{
    bindings::Herald,
    receipt::{Receipt, batch_digest, domain, receipt_hash, sign_digest},
};
use herald_core::EventId;
use herald_store::{Conflict, ExecutionKey, PeerBatch, PeerReceipt, SignedReceipt, Store};
use tokio::sync::{OwnedSemaphorePermit, Semaphore};

use self::evidence::{Lookups, Verdict};
use super::{
    peers::Peers,
    protocol::{
        ATTEST, AttestBody, AttestResponse, Domain, HeaderError, MAX_RECEIPTS_PER_REQUEST,
        PeerHeaders, Refusal, WireReceipt, signed_by,
    },
};
use crate::{config::SignAt, triggers::TriggerSet};

/// How far a message's time may be from the receiver's clock, milliseconds.
pub const MAX_CLOCK_SKEW_MS: u64 = 60_000;

/// Most co-signing requests checked at once; more are answered 429 (the performer asks again with
/// its next attempt). Each holds at most [`MAX_ATTEST_BODY`](super::protocol::MAX_ATTEST_BODY)
/// bytes and its look-ups.
pub const MAX_CONCURRENT_ATTESTS: usize = 8;

/// Most relayed events read, checked and recorded at once; more are answered 429 (the relaying
/// keeper offers them again later).
pub const MAX_CONCURRENT_RELAYS: usize = 4;

/// Why a co-signing request was not signed, and the HTTP status that says so.
#[derive(Debug, thiserror::Error)]
pub enum Rejection {
    /// The request is malformed: an unknown protocol version, a body that is not a request (400).
    #[error("{0}")]
    BadRequest(String),
    /// The sender is unknown, or the request is not its, not for this keeper, stale, or a
    /// replay (401).
    #[error("{0}")]
    Unauthenticated(String),
    /// The sender is a registered keeper but not an active one (403).
    #[error("{0}")]
    Forbidden(String),
    /// The body or the batch is over its cap (413).
    #[error("{0}")]
    TooLarge(String),
    /// Every slot is taken (429).
    #[error("{0}")]
    Busy(String),
    /// Read and checked, and refused: for good (422) or for now (503), receipt by receipt.
    #[error("{}", .0.error)]
    Refused(Refusal),
}

impl Rejection {
    /// The HTTP status.
    pub fn status(&self) -> u16 {
        match self {
            Self::BadRequest(_) => 400,
            Self::Unauthenticated(_) => 401,
            Self::Forbidden(_) => 403,
            Self::TooLarge(_) => 413,
            Self::Busy(_) => 429,
            Self::Refused(r) if r.retry => 503,
            Self::Refused(_) => 422,
        }
    }

    /// The answer's body.
    pub fn into_refusal(self) -> Refusal {
        let retry = matches!(self, Self::Busy(_));
        match self {
            Self::Refused(refusal) => refusal,
            other => Refusal {
                error: other.to_string(),
                receipts: Vec::new(),
                retry,
            },
        }
    }
}

/// A refusal of the whole request, for good.
fn refuse(error: String) -> Rejection {
    Rejection::Refused(Refusal {
        error,
        receipts: Vec::new(),
        retry: false,
    })
}

/// A failure of this keeper's own store: ask again later.
fn store_failed(e: herald_store::StoreError) -> Rejection {
    Rejection::Refused(Refusal {
        error: format!("this keeper's store: {e}"),
        receipts: Vec::new(),
        retry: true,
    })
}

/// Checks and co-signs other keepers' receipts.
pub struct Attestor {
    signer: PrivateKeySigner,
    domain: Domain,
    provider: DynProvider,
    triggers: Arc<RwLock<TriggerSet>>,
    peers: Arc<RwLock<Peers>>,
    store: Store,
    takeover_timeout: Duration,
    /// Whether a chain log must be final on this keeper's node before its receipt is co-signed.
    sign_at: SignAt,
    /// The newest request time seen from each sender: older or equal ones are replays.
    seen: Mutex<HashMap<Address, u64>>,
    /// One permit per request being read or checked.
    slots: Arc<Semaphore>,
    /// One permit per relayed event being read, checked or recorded: apart from co-signing, so
    /// relays (which wait on the main loop) never keep a co-signing request out.
    relay_slots: Arc<Semaphore>,
}

impl Attestor {
    /// A co-signer signing as `signer`, receipts of chain logs as `sign_at` says.
    #[allow(clippy::too_many_arguments)]
    pub fn new(
        signer: PrivateKeySigner,
        domain: Domain,
        provider: DynProvider,
        triggers: Arc<RwLock<TriggerSet>>,
        peers: Arc<RwLock<Peers>>,
        store: Store,
        takeover_timeout: Duration,
        sign_at: SignAt,
    ) -> Self {
        Self {
            signer,
            domain,
            provider,
            triggers,
            peers,
            store,
            takeover_timeout,
            sign_at,
            seen: Mutex::default(),
            slots: Arc::new(Semaphore::new(MAX_CONCURRENT_ATTESTS)),
            relay_slots: Arc::new(Semaphore::new(MAX_CONCURRENT_RELAYS)),
        }
    }

    /// This keeper's address.
    pub fn address(&self) -> Address {
        self.signer.address()
    }

    /// Checks a request's headers, before its body is read: the protocol version, the addressee,
    /// the time, and that the sender is an active keeper. Cheap, and all a stranger gets.
    pub fn admit(&self, headers: &HeaderMap) -> Result<PeerHeaders, Rejection> {
        let peer = PeerHeaders::parse(headers).map_err(|e| match e {
            HeaderError::NoVersion | HeaderError::Version { .. } => {
                Rejection::BadRequest(e.to_string())
            }
            _ => Rejection::Unauthenticated(e.to_string()),
        })?;
        if peer.to != self.address() {
            return Err(Rejection::Unauthenticated(format!(
                "addressed to {}, not to {}",
                peer.to,
                self.address()
            )));
        }
        check_fresh(peer.issued_at).map_err(Rejection::Unauthenticated)?;
        let peers = self.peers.read().expect("peers");
        match peers.get(&peer.from) {
            None => Err(Rejection::Unauthenticated(format!(
                "{} is not a registered keeper",
                peer.from
            ))),
            Some(keeper) if !peers.is_active(keeper, now_secs()) => {
                Err(Rejection::Forbidden(format!(
                    "{} is registered but not an active keeper (not yet active, unbonding, or \
                     bonded below the minimum)",
                    peer.from
                )))
            }
            Some(_) => Ok(peer),
        }
    }

    /// A slot to read and check one request in, if one is free.
    pub fn slot(&self) -> Result<OwnedSemaphorePermit, Rejection> {
        self.slots.clone().try_acquire_owned().map_err(|_| {
            Rejection::Busy(format!(
                "{MAX_CONCURRENT_ATTESTS} co-signing requests are being checked; ask again later"
            ))
        })
    }

    /// A slot to read, check and record one relayed event in, if one is free.
    pub fn relay_slot(&self) -> Result<OwnedSemaphorePermit, Rejection> {
        self.relay_slots.clone().try_acquire_owned().map_err(|_| {
            Rejection::Busy(format!(
                "{MAX_CONCURRENT_RELAYS} relayed events are being recorded; ask again later"
            ))
        })
    }

    /// Checks an admitted request's body and every receipt in it; signs the batch only if all of
    /// them hold, and only after recording what it signs.
    pub async fn attest(
        &self,
        peer: &PeerHeaders,
        body: &[u8],
    ) -> Result<AttestResponse, Rejection> {
        if !peer.signs_as(self.domain, ATTEST, body) {
            return Err(Rejection::Unauthenticated(format!(
                "the request is not signed by {}",
                peer.from
            )));
        }
        self.check_replay(peer)?;
        let request: AttestBody = serde_json::from_slice(body).map_err(|e| {
            Rejection::BadRequest(format!("the body is not a co-signing request: {e}"))
        })?;
        if request.receipts.len() > MAX_RECEIPTS_PER_REQUEST {
            return Err(Rejection::TooLarge(format!(
                "{} receipts: at most {MAX_RECEIPTS_PER_REQUEST} per request",
                request.receipts.len()
            )));
        }
        let receipts: Vec<Receipt> = request
            .receipts
            .iter()
            .enumerate()
            .map(|(i, a)| {
                a.receipt
                    .to_receipt()
                    .ok_or_else(|| refuse(format!("receipts[{i}].runnerFee does not fit uint96")))
            })
            .collect::<Result<_, _>>()?;
        if receipts.is_empty() {
            return Err(refuse("the batch is empty".into()));
        }
        let digest = batch_digest(&domain(self.domain.chain_id, self.domain.herald), &receipts);
        if !signed_by(&digest, &request.batch_signature, peer.from) {
            return Err(refuse(format!("the batch is not signed by {}", peer.from)));
        }
        let from = peer.from.to_string();
        let kept: Vec<PeerReceipt> = receipts
            .iter()
            .enumerate()
            .map(|(i, r)| PeerReceipt {
                key: key_of(r),
                runner: r.runner.to_string(),
                receipt_hash: receipt_hash(r).to_string(),
                index: i as u32,
            })
            .collect();

        // A different receipt for an execution in a batch kept before is an equivocation,
        // whatever else is wrong with this request.
        let conflicts = self
            .store
            .peer_conflicts(&from, &kept)
            .await
            .map_err(store_failed)?;
        self.refuse_equivocation(peer.from, conflicts, &receipts, &request.batch_signature)
            .await?;

        self.check_all(peer.from, &request, receipts.len()).await?;

        // Keep the batch only now that it checked out: keeping whatever a registered keeper
        // sends, before checking it, let anyone with a key fill this keeper's store. Does that
        // lose equivocation evidence? A proof is two batches the offender signed with different
        // receipts for one (trigger, event, runner). Two batches that both check out are always
        // caught: the second meets the first, kept, above or in `record_peer_batch` (or, if
        // they race, the claim below refuses one and then finds the other kept). A refused batch
        // is compared with what was kept before it, so it is caught when it comes second; when
        // it comes first it is not kept, and a valid batch after it goes unreported. That pair
        // costs nothing: no honest keeper signed the refused batch, so it can never reach a
        // quorum, and the honest keeper signs only the valid one. Requests from inactive
        // keepers are refused unread for the same reason: `settle` reverts on an inactive
        // signer, so their batches cannot settle.
        let batch = PeerBatch {
            digest: digest.to_string(),
            receipts: serde_json::to_string(
                &request
                    .receipts
                    .iter()
                    .map(|a| &a.receipt)
                    .collect::<Vec<_>>(),
            )
            .unwrap_or_default(),
            signature: request.batch_signature.to_string(),
        };
        let conflicts = self
            .store
            .record_peer_batch(&from, &batch, &kept)
            .await
            .map_err(store_failed)?;
        self.refuse_equivocation(peer.from, conflicts, &receipts, &request.batch_signature)
            .await?;

        // Record what is about to be signed; a different receipt recorded for one of these
        // executions (a concurrent request won) means this batch is never signed.
        let claims: Vec<SignedReceipt> = receipts
            .iter()
            .zip(&kept)
            .map(|(r, k)| SignedReceipt {
                key: k.key,
                runner: k.runner.clone(),
                receipt_hash: k.receipt_hash.clone(),
                executed_at: r.executedAt,
            })
            .collect();
        let already = self
            .store
            .claim_receipts(&batch.digest, &claims)
            .await
            .map_err(store_failed)?;
        if !already.is_empty() {
            // The request that won kept its batch before claiming: it is the evidence.
            if let Ok(conflicts) = self.store.peer_conflicts(&from, &kept).await {
                let _ = self
                    .refuse_equivocation(peer.from, conflicts, &receipts, &request.batch_signature)
                    .await;
            }
            return Err(Rejection::Refused(Refusal {
                error: format!(
                    "{} of {} receipts differ from receipts this keeper already signed for the \
                     same executions",
                    already.len(),
                    receipts.len()
                ),
                receipts: already.iter().map(|a| (a.index, a.to_string())).collect(),
                retry: false,
            }));
        }

        let (signer, signature) =
            sign_digest(&self.signer, &digest).map_err(|e| refuse(format!("signing: {e}")))?;
        if let Err(e) = self.store.mark_cosigned(&from, &batch.digest).await {
            tracing::warn!(error = %e, "recording a co-signature");
        }
        tracing::debug!(from = %peer.from, receipts = receipts.len(), %digest, "co-signed");
        Ok(AttestResponse { signer, signature })
    }

    /// A signed request must be newer than the last one from its sender.
    fn check_replay(&self, peer: &PeerHeaders) -> Result<(), Rejection> {
        let mut seen = self.seen.lock().expect("seen");
        let last = seen.entry(peer.from).or_default();
        if peer.issued_at <= *last {
            return Err(Rejection::Unauthenticated(format!(
                "replayed request: issued at {} ms, not after {} ms",
                peer.issued_at, *last
            )));
        }
        *last = peer.issued_at;
        Ok(())
    }

    /// Checks every receipt on its own; refuses with the reasons of those that fail.
    async fn check_all(
        &self,
        from: Address,
        request: &AttestBody,
        count: usize,
    ) -> Result<(), Rejection> {
        let mut lookups = Lookups::default();
        let mut refused = Vec::new();
        let mut all_retryable = true;
        let out_of_order = self.earlier_unpaid(&request.receipts).await;
        for (i, item) in request.receipts.iter().enumerate() {
            if let Some(reason) = out_of_order.get(&i) {
                refused.push((i, reason.clone()));
                continue;
            }
            match self.check(from, item, &mut lookups).await {
                Verdict::Valid => {}
                Verdict::Invalid(reason) => {
                    all_retryable = false;
                    refused.push((i, reason));
                }
                Verdict::NotYet(reason) => refused.push((i, reason)),
            }
        }
        if refused.is_empty() {
            return Ok(());
        }
        Err(Rejection::Refused(Refusal {
            error: format!("{} of {count} receipts refused", refused.len()),
            retry: all_retryable,
            receipts: refused,
        }))
    }

    /// Reports each conflict on chain and refuses the request, if there is any.
    async fn refuse_equivocation(
        &self,
        offender: Address,
        conflicts: Vec<Conflict>,
        batch: &[Receipt],
        signature: &Bytes,
    ) -> Result<(), Rejection> {
        if conflicts.is_empty() {
            return Ok(());
        }
        for conflict in conflicts {
            self.report(offender, conflict, batch, signature).await;
        }
        Err(refuse(format!(
            "{offender} signed a different receipt for the same execution before: equivocation reported"
        )))
    }

    /// Records an equivocation and reports it on chain, once, without waiting for the chain.
    async fn report(
        &self,
        offender: Address,
        conflict: Conflict,
        batch: &[Receipt],
        signature: &Bytes,
    ) {
        let first = match self
            .store
            .record_equivocation(
                &offender.to_string(),
                conflict.key,
                &format!("batches {} and this one", conflict.earlier.digest),
            )
            .await
        {
            Ok(first) => first,
            Err(e) => {
                tracing::warn!(error = %e, "recording an equivocation");
                return;
            }
        };
        if !first {
            return;
        }
        let earlier: Vec<Receipt> =
            match serde_json::from_str::<Vec<WireReceipt>>(&conflict.earlier.receipts) {
                Ok(wire) => wire.iter().filter_map(|w| w.to_receipt()).collect(),
                Err(e) => {
                    tracing::warn!(error = %e, "an earlier batch is unreadable");
                    return;
                }
            };
        let earlier_signature: Bytes = conflict.earlier.signature.parse().unwrap_or_default();
        tracing::warn!(
            %offender,
            execution = %conflict.key,
            "equivocation: two different signed receipts for one execution; reporting"
        );
        let (herald, store) = (self.domain.herald, self.store.clone());
        let provider = self.provider.clone();
        let (earlier_index, index) = (conflict.earlier_index, conflict.index);
        let (batch, signature, key) = (batch.to_vec(), signature.clone(), conflict.key);
        // The report is sent and awaited on a task of its own: the peer whose request revealed the
        // equivocation gets its refusal now, not after a block (or never, if the chain stalls).
        tokio::spawn(async move {
            let herald = Herald::new(herald, &provider);
            let call = herald.reportEquivocation(
                offender,
                earlier,
                U256::from(earlier_index),
                earlier_signature,
                batch,
                U256::from(index),
                signature,
            );
            match call.send().await {
                Ok(pending) => {
                    let tx = *pending.tx_hash();
                    let _ = store
                        .set_equivocation_tx(&offender.to_string(), key, &tx.to_string())
                        .await;
                    match pending.get_receipt().await {
                        Ok(receipt) if receipt.status() => {
                            tracing::warn!(%offender, %tx, "equivocation proven on chain: bond slashed");
                        }
                        Ok(_) => tracing::warn!(%offender, %tx, "equivocation report reverted"),
                        Err(e) => tracing::warn!(%offender, error = %e, "equivocation report"),
                    }
                }
                Err(e) => tracing::warn!(%offender, error = %e, "sending the equivocation report"),
            }
        });
    }
}

/// Slack allowed on a takeover's time, for clocks that disagree, milliseconds.
pub const MAX_TAKEOVER_SKEW_MS: u64 = 2_000;

/// When the keeper at `rank` in a trigger's ranking takes over an execution of an event at
/// `event_time` (unix seconds): rank × timeout after the event. Unix milliseconds.
pub fn takeover_due(event_time: u64, rank: usize, timeout: Duration) -> u64 {
    event_time * 1_000 + rank as u64 * timeout.as_millis() as u64
}

/// Refuses a message time too far from this keeper's clock.
pub fn check_fresh(issued_at: u64) -> Result<(), String> {
    let now = now_ms();
    if issued_at + MAX_CLOCK_SKEW_MS < now || issued_at > now + MAX_CLOCK_SKEW_MS {
        return Err(format!(
            "issued at {issued_at} ms, more than {MAX_CLOCK_SKEW_MS} ms from this keeper's clock ({now} ms)"
        ));
    }
    Ok(())
}

/// The execution a receipt reports.
fn key_of(r: &Receipt) -> ExecutionKey {
    ExecutionKey {
        trigger_id: r.triggerId,
        event_id: EventId::from_bytes(r.eventId),
    }
}

pub(crate) fn now_ms() -> u64 {
    jiff::Timestamp::now().as_millisecond().max(0) as u64
}

fn now_secs() -> u64 {
    now_ms() / 1_000
}
