//! Co-signing: a keeper checks another keeper's receipts on its own before signing their batch.
//!
//! For each receipt the co-signer establishes, without trusting the performer:
//! - the event is real: a chain log is read again from the co-signer's own node by transaction
//!   hash and log index, and its id recomputed; an HTTP event must carry its connector keeper's
//!   signature;
//! - the trigger matches it, in the co-signer's own trigger set;
//! - the result commits to the very request the trigger sends for that event, and `success`
//!   agrees with the HTTP status in it;
//! - the runner fee is within the service type's cap in the registry;
//! - the performer is the assigned keeper, or the next in the ranking after the takeover timeout.
//!
//! Before any of that it keeps the performer's signed batch, so a second, different receipt for
//! the same (trigger, event, runner) is caught and reported on chain (`reportEquivocation`).

use std::{
    collections::HashMap,
    sync::{Arc, Mutex, RwLock},
    time::Duration,
};

use alloy::{
    primitives::{Address, B256, Bytes, U256, keccak256},
    providers::{DynProvider, Provider},
    rpc::types::TransactionReceipt,
    signers::local::PrivateKeySigner,
};
use herald_chain::{
    bindings::Herald,
    receipt::{Receipt, batch_digest, domain, receipt_hash, sign_digest},
};
use herald_connectors::evm::{EventAbi, LogContext};
use herald_core::{Event, EventId};
use herald_store::{Conflict, ExecutionKey, PeerBatch, PeerReceipt, Store};

use super::{
    peers::Peers,
    protocol::{
        ATTEST, AttestRequest, AttestResponse, Attestable, Domain, EventSource, Refusal,
        http_event_digest, message_digest, signed_by,
    },
};
use crate::{
    dispatch::{chain_event, request},
    price::PriceList,
    triggers::{Match, TriggerSet},
};

/// How far a message's time may be from the receiver's clock, milliseconds.
pub const MAX_CLOCK_SKEW_MS: u64 = 60_000;

/// Checks and co-signs other keepers' receipts.
pub struct Attestor {
    signer: PrivateKeySigner,
    domain: Domain,
    provider: DynProvider,
    triggers: Arc<RwLock<TriggerSet>>,
    peers: Arc<RwLock<Peers>>,
    store: Store,
    takeover_timeout: Duration,
    /// The newest request time seen from each sender: older or equal ones are replays.
    seen: Mutex<HashMap<Address, u64>>,
}

/// What a request's checks read from the node and the registry, read once per request: a batch
/// of receipts typically shares a few transactions (a `mintBatch` emits a thousand logs) and one
/// price list.
#[derive(Default)]
struct Lookups {
    prices: HashMap<(u32, u32), PriceList>,
    transactions: HashMap<B256, Option<Arc<TransactionReceipt>>>,
    block_times: HashMap<B256, u64>,
}

/// What one receipt's check found.
enum Verdict {
    Valid,
    /// Wrong: never signed.
    Invalid(String),
    /// Not checkable yet (this keeper is behind): ask again later.
    NotYet(String),
}

impl Attestor {
    /// A co-signer signing as `signer`.
    #[allow(clippy::too_many_arguments)]
    pub fn new(
        signer: PrivateKeySigner,
        domain: Domain,
        provider: DynProvider,
        triggers: Arc<RwLock<TriggerSet>>,
        peers: Arc<RwLock<Peers>>,
        store: Store,
        takeover_timeout: Duration,
    ) -> Self {
        Self {
            signer,
            domain,
            provider,
            triggers,
            peers,
            store,
            takeover_timeout,
            seen: Mutex::default(),
        }
    }

    /// This keeper's address.
    pub fn address(&self) -> Address {
        self.signer.address()
    }

    /// Checks a request and every receipt in it; signs the batch only if all of them hold.
    pub async fn attest(&self, req: AttestRequest) -> Result<AttestResponse, Refusal> {
        let refuse = |error: String| Refusal {
            error,
            receipts: Vec::new(),
            retry: false,
        };
        let receipts: Vec<Receipt> = req
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
        self.check_envelope(&req, digest).map_err(refuse)?;

        // Keep the signed batch first: a conflict with an earlier one is an equivocation,
        // whatever else is wrong with this request.
        let conflicts = self
            .store
            .record_peer_batch(
                &req.from.to_string(),
                &PeerBatch {
                    digest: digest.to_string(),
                    receipts: serde_json::to_string(
                        &req.receipts.iter().map(|a| &a.receipt).collect::<Vec<_>>(),
                    )
                    .unwrap_or_default(),
                    signature: req.batch_signature.to_string(),
                },
                &receipts
                    .iter()
                    .enumerate()
                    .map(|(i, r)| PeerReceipt {
                        key: ExecutionKey {
                            trigger_id: r.triggerId,
                            event_id: EventId::from_bytes(r.eventId),
                        },
                        runner: r.runner.to_string(),
                        receipt_hash: receipt_hash(r).to_string(),
                        index: i as u32,
                    })
                    .collect::<Vec<_>>(),
            )
            .await
            .map_err(|e| Refusal {
                error: format!("this keeper's store: {e}"),
                receipts: Vec::new(),
                retry: true,
            })?;
        if !conflicts.is_empty() {
            for conflict in conflicts {
                self.report(req.from, conflict, &receipts, &req.batch_signature)
                    .await;
            }
            return Err(refuse(format!(
                "{} signed a different receipt for the same execution before: equivocation reported",
                req.from
            )));
        }

        let mut lookups = Lookups::default();
        let mut refused = Vec::new();
        let mut all_retryable = true;
        for (i, item) in req.receipts.iter().enumerate() {
            match self.check(req.from, item, &mut lookups).await {
                Verdict::Valid => {}
                Verdict::Invalid(reason) => {
                    all_retryable = false;
                    refused.push((i, reason));
                }
                Verdict::NotYet(reason) => refused.push((i, reason)),
            }
        }
        if !refused.is_empty() {
            return Err(Refusal {
                error: format!("{} of {} receipts refused", refused.len(), receipts.len()),
                retry: all_retryable,
                receipts: refused,
            });
        }
        let (signer, signature) =
            sign_digest(&self.signer, &digest).map_err(|e| refuse(format!("signing: {e}")))?;
        if let Err(e) = self
            .store
            .mark_cosigned(&req.from.to_string(), &digest.to_string())
            .await
        {
            tracing::warn!(error = %e, "recording a co-signature");
        }
        tracing::debug!(from = %req.from, receipts = receipts.len(), %digest, "co-signed");
        Ok(AttestResponse { signer, signature })
    }

    /// The request is addressed here, recent, newer than the last from its sender, and signed
    /// (envelope and batch) by a registered keeper.
    fn check_envelope(&self, req: &AttestRequest, digest: B256) -> Result<(), String> {
        if req.to != self.address() {
            return Err(format!(
                "addressed to {}, not to {}",
                req.to,
                self.address()
            ));
        }
        check_fresh(req.issued_at)?;
        let envelope = message_digest(self.domain, ATTEST, req.to, req.issued_at, digest);
        if !signed_by(&envelope, &req.signature, req.from) {
            return Err(format!("the request is not signed by {}", req.from));
        }
        if !signed_by(&digest, &req.batch_signature, req.from) {
            return Err(format!("the batch is not signed by {}", req.from));
        }
        if self.peers.read().expect("peers").get(&req.from).is_none() {
            return Err(format!("{} is not a registered keeper", req.from));
        }
        let mut seen = self.seen.lock().expect("seen");
        let last = seen.entry(req.from).or_default();
        if req.issued_at <= *last {
            return Err(format!(
                "replayed request: issued at {} ms, not after {} ms",
                req.issued_at, *last
            ));
        }
        *last = req.issued_at;
        Ok(())
    }

    async fn check(&self, from: Address, item: &Attestable, lookups: &mut Lookups) -> Verdict {
        let r = &item.receipt;
        if r.runner != from || r.connector != from {
            return Verdict::Invalid(format!(
                "the performer {from} must report itself as connector and runner"
            ));
        }
        if keccak256(&item.result) != r.result_hash {
            return Verdict::Invalid("resultHash is not the hash of the result sent".into());
        }
        let key = ExecutionKey {
            trigger_id: r.trigger_id,
            event_id: EventId::from_bytes(r.event_id),
        };
        let (event, matched, event_time) = match &item.source {
            EventSource::Chain { tx_hash } => {
                match self.chain_event(key, *tx_hash, lookups).await {
                    Ok(found) => found,
                    Err(verdict) => return verdict,
                }
            }
            EventSource::Http { event, signature } => {
                match self.http_event(key, r.connector, event, signature) {
                    Ok(found) => found,
                    Err(verdict) => return verdict,
                }
            }
        };
        if let EventSource::Chain { .. } = item.source
            && let Some(reason) = self.assignment(from, key.trigger_id, event_time)
        {
            return Verdict::Invalid(reason);
        }
        // The result must commit to what the trigger sends for this event, then the status.
        let sent = serde_json::to_vec(&request(&event, &matched, key).body).unwrap_or_default();
        let Some(status) = item.result.strip_prefix(sent.as_slice()) else {
            return Verdict::Invalid(
                "the result does not commit to the request this trigger sends for this event"
                    .into(),
            );
        };
        let delivered = match status {
            [] => false,
            [hi, lo] => (200..300).contains(&u16::from_be_bytes([*hi, *lo])),
            _ => return Verdict::Invalid("the result's status is not 2 bytes".into()),
        };
        if r.success != delivered {
            return Verdict::Invalid(format!(
                "success = {} contradicts the HTTP status in the result",
                r.success
            ));
        }
        // Executed after the event. A chain event's time is its block's, so the bound is exact;
        // an API event's is the connector's wall clock, while receipts are clamped to the chain's
        // latest block time (settlement refuses a later one), which may trail it.
        let after = match item.source {
            EventSource::Chain { .. } => event_time,
            EventSource::Http { .. } => 0,
        };
        let now = now_secs();
        if r.executed_at > now + MAX_CLOCK_SKEW_MS / 1_000 || r.executed_at < after {
            return Verdict::Invalid(format!(
                "executedAt {} is outside [{event_time}, now]",
                r.executed_at
            ));
        }
        let trigger = &matched.trigger;
        let pair = (trigger.connector_type, trigger.service_type);
        if let std::collections::hash_map::Entry::Vacant(slot) = lookups.prices.entry(pair) {
            match PriceList::load(&self.provider, self.domain.herald, pair.0, pair.1).await {
                Ok(list) => {
                    slot.insert(list);
                }
                Err(e) => return Verdict::NotYet(format!("reading the registry's prices: {e}")),
            }
        }
        let cap = lookups.prices[&pair].max_runner_fee;
        if r.runner_fee > cap {
            return Verdict::Invalid(format!(
                "runnerFee {} is above the service type's cap {cap}",
                r.runner_fee
            ));
        }
        Verdict::Valid
    }

    /// The chain event a receipt names, read from this keeper's node: the event, the trigger's
    /// match, and the block time.
    async fn chain_event(
        &self,
        key: ExecutionKey,
        tx_hash: B256,
        lookups: &mut Lookups,
    ) -> Result<(Event, Match, u64), Verdict> {
        let position = key.event_id.position();
        let (block, log_index) = (position >> 24, position & 0xff_ffff);
        let tx = match lookups.transactions.get(&tx_hash) {
            Some(known) => known.clone(),
            None => {
                let found = self
                    .provider
                    .get_transaction_receipt(tx_hash)
                    .await
                    .map_err(|e| Verdict::NotYet(format!("reading {tx_hash}: {e}")))?
                    .map(Arc::new);
                lookups.transactions.insert(tx_hash, found.clone());
                found
            }
        };
        let Some(tx) = tx else {
            return Err(Verdict::Invalid(format!(
                "transaction {tx_hash} is not on this keeper's chain"
            )));
        };
        let Some(log) = tx
            .inner
            .logs()
            .iter()
            .find(|l| l.log_index == Some(log_index) && l.block_number == Some(block))
        else {
            return Err(Verdict::Invalid(format!(
                "transaction {tx_hash} has no log {log_index} in block {block}"
            )));
        };
        let block_hash = log.block_hash.unwrap_or_default();
        let block_time = match (log.block_timestamp, lookups.block_times.get(&block_hash)) {
            (Some(time), _) | (None, Some(&time)) => time,
            (None, None) => match self.provider.get_header_by_hash(block_hash).await {
                Ok(Some(header)) => {
                    lookups.block_times.insert(block_hash, header.timestamp);
                    header.timestamp
                }
                Ok(None) => return Err(Verdict::NotYet(format!("block {block_hash} unknown"))),
                Err(e) => return Err(Verdict::NotYet(format!("reading block {block}: {e}"))),
            },
        };
        let context = LogContext {
            chain_id: self.domain.chain_id,
            block_number: block,
            block_hash,
            block_time,
            transaction_hash: tx_hash,
            log_index,
            from: Some(tx.from),
            to: tx.to,
        };
        if EventAbi::event_id(&context) != key.event_id {
            return Err(Verdict::Invalid(
                "the event id is not the id of that log".into(),
            ));
        }
        let triggers = self.triggers.read().expect("triggers");
        let matches = triggers.matches(log, &context);
        let Some(matched) = matches.iter().find(|m| m.trigger.id == key.trigger_id) else {
            return Err(if triggers.get(key.trigger_id).is_none() {
                Verdict::NotYet(format!("trigger {} is not known here yet", key.trigger_id))
            } else {
                Verdict::Invalid(format!(
                    "trigger {} does not match that log",
                    key.trigger_id
                ))
            });
        };
        let event = chain_event(&context, log.address(), &matches[0]);
        Ok((event, matched.clone(), block_time))
    }

    /// An event posted to the connector keeper's API: it must carry that keeper's signature.
    fn http_event(
        &self,
        key: ExecutionKey,
        connector: Address,
        event: &serde_json::Value,
        signature: &Bytes,
    ) -> Result<(Event, Match, u64), Verdict> {
        if !signed_by(&http_event_digest(self.domain, event), signature, connector) {
            return Err(Verdict::Invalid(format!(
                "the event is not signed by its connector {connector}"
            )));
        }
        let event = Event::from_cloudevent(event)
            .map_err(|e| Verdict::Invalid(format!("the event is not a CloudEvent: {e}")))?;
        if event.id != key.event_id {
            return Err(Verdict::Invalid(
                "the event id is not the signed event's".into(),
            ));
        }
        let triggers = self.triggers.read().expect("triggers");
        let matched = triggers
            .matches_event(&event)
            .into_iter()
            .find(|m| m.trigger.id == key.trigger_id)
            .ok_or_else(|| {
                if triggers.get(key.trigger_id).is_none() {
                    Verdict::NotYet(format!("trigger {} is not known here yet", key.trigger_id))
                } else {
                    Verdict::Invalid(format!(
                        "trigger {} does not match that event",
                        key.trigger_id
                    ))
                }
            })?;
        let time = event.time.as_second().max(0) as u64;
        Ok((event, matched, time))
    }

    /// Why `performer` may not run `trigger_id`'s execution of an event at `event_time`, if so.
    fn assignment(&self, performer: Address, trigger_id: u64, event_time: u64) -> Option<String> {
        let ranking = self
            .peers
            .read()
            .expect("peers")
            .ranking(trigger_id, event_time);
        let Some(rank) = ranking.iter().position(|k| *k == performer) else {
            return Some(format!(
                "{performer} was not an active keeper at the event's time"
            ));
        };
        let due = takeover_due(event_time, rank, self.takeover_timeout);
        let now = now_ms();
        (now + MAX_TAKEOVER_SKEW_MS < due).then(|| {
            format!(
                "trigger {trigger_id} is assigned to {}; {performer} may take over only {} ms from now",
                ranking[0],
                due - now
            )
        })
    }

    /// Reports an equivocation on chain, once.
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
        let earlier: Vec<Receipt> = match serde_json::from_str::<Vec<super::protocol::WireReceipt>>(
            &conflict.earlier.receipts,
        ) {
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
        let herald = Herald::new(self.domain.herald, &self.provider);
        let call = herald.reportEquivocation(
            offender,
            earlier,
            U256::from(conflict.earlier_index),
            earlier_signature,
            batch.to_vec(),
            U256::from(conflict.index),
            signature.clone(),
        );
        match call.send().await {
            Ok(pending) => {
                let tx = *pending.tx_hash();
                let _ = self
                    .store
                    .set_equivocation_tx(&offender.to_string(), conflict.key, &tx.to_string())
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

pub(crate) fn now_ms() -> u64 {
    jiff::Timestamp::now().as_millisecond().max(0) as u64
}

fn now_secs() -> u64 {
    now_ms() / 1_000
}
