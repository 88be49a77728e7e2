//! The co-signer's checks of one receipt against its evidence: the event is real, the trigger
//! matches it, the result commits to the request the trigger sends, the fee is within the cap,
//! and the performer is the one assigned (or a due takeover).

use std::{collections::HashMap, sync::Arc};

use alloy::{
    primitives::{Address, B256, Bytes, keccak256},
    providers::Provider,
    rpc::types::TransactionReceipt,
};
use herald_connectors::evm::{EventAbi, LogContext};
use herald_core::{Event, EventId};
use herald_store::ExecutionKey;

use super::{Attestor, MAX_CLOCK_SKEW_MS, MAX_TAKEOVER_SKEW_MS, now_ms, now_secs, takeover_due};
use crate::{
    config::SignAt,
    derive::{chain_event, request},
    finality::{finalized_block, not_final},
    network::protocol::{Attestable, EventSource},
    price::PriceList,
    triggers::Match,
};

/// What a request's checks read from the node and the registry, read once per request: a batch
/// of receipts typically shares a few transactions (a `mintBatch` emits a thousand logs), one
/// price list and one finalized block.
#[derive(Default)]
pub(super) struct Lookups {
    prices: HashMap<(u32, u32), PriceList>,
    transactions: HashMap<B256, Option<Arc<TransactionReceipt>>>,
    block_times: HashMap<B256, u64>,
    /// The node's finalized block, or why it has none (read at the first chain log).
    finalized: Option<Result<u64, String>>,
}

/// What one receipt's check found.
pub(super) enum Verdict {
    Valid,
    /// Wrong: never signed.
    Invalid(String),
    /// Not checkable yet (this keeper is behind, or the log's block is not final): ask again later.
    NotYet(String),
}

impl Attestor {
    /// Checks one receipt against its evidence and this keeper's own view of the chain, the
    /// triggers and the registry.
    pub(super) async fn check(
        &self,
        from: Address,
        item: &Attestable,
        lookups: &mut Lookups,
    ) -> Verdict {
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
                match self.http_event(key, event, signature) {
                    Ok(found) => found,
                    Err(verdict) => return verdict,
                }
            }
        };
        let refused = match item.source {
            EventSource::Chain { .. } => self.assignment(
                from,
                key.trigger_id,
                event_time,
                key.event_id.log_position().map(|p| p.block_number),
            ),
            // No ranking orders an API event (it is performed by the keeper it was posted to),
            // but a sealed trigger is performed by its envelope's recipients only: anyone else
            // could deliver it without the owner's credentials and signature and be paid.
            EventSource::Http { .. } => self.recipient(from, key.trigger_id),
        };
        if let Some(reason) = refused {
            return Verdict::Invalid(reason);
        }
        // Settlement remembers only the trigger's latest pause; every earlier one is judged here.
        if self
            .triggers
            .read()
            .expect("triggers")
            .paused_at(key.trigger_id, r.executed_at)
        {
            return Verdict::Invalid(format!(
                "executedAt {} falls inside a pause of trigger {}",
                r.executed_at, key.trigger_id
            ));
        }
        // The result must commit to the whole request the trigger sends for this event (service,
        // endpoint, headers, body), then the status: a body delivered elsewhere is not this one.
        let sent = match request(&event, &matched, key) {
            Ok(request) => request,
            Err(too_large) => return Verdict::Invalid(too_large.to_string()),
        };
        let delivered = match sent.reported_status(key, &item.result) {
            Ok(status) => status.is_some_and(|s| (200..300).contains(&s)),
            Err(mismatch) => return Verdict::Invalid(mismatch.to_string()),
        };
        if r.success != delivered {
            return Verdict::Invalid(format!(
                "success = {} contradicts the HTTP status in the result",
                r.success
            ));
        }
        // Executed after the event. A chain event's time is its block's, so the bound is exact;
        // an API event's is its emitter's clock (checked within 60 s of this one), while receipts
        // are clamped to the chain's latest block time (settlement refuses a later one), which
        // may trail it by a block interval: that much slack, at most the clock skew.
        let after = match item.source {
            EventSource::Chain { .. } => event_time,
            EventSource::Http { .. } => event_time.saturating_sub(MAX_CLOCK_SKEW_MS / 1_000),
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
        let Some(at) = key
            .event_id
            .log_position()
            .filter(|at| at.chain_id == self.domain.chain_id)
        else {
            return Err(Verdict::Invalid(format!(
                "event id {} is not a log of chain {}",
                key.event_id, self.domain.chain_id
            )));
        };
        let block = at.block_number;
        self.final_here(block, lookups).await?;
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
        let receipt_bytes =
            herald_connectors::evm::receipt_size_bound(tx.inner.logs().iter().map(|l| l.data()));
        if receipt_bytes > herald_connectors::evm::MAX_PROVABLE_RECEIPT_BYTES {
            return Err(Verdict::Invalid(format!(
                "transaction {tx_hash}'s receipt (about {receipt_bytes} bytes) is too large to prove \
                 in a fraud challenge"
            )));
        }
        let in_place = tx.transaction_index == Some(at.tx_index) && tx.block_number == Some(block);
        let Some(log) = tx
            .inner
            .logs()
            .get(at.log_index_in_tx as usize)
            .filter(|_| in_place)
        else {
            return Err(Verdict::Invalid(format!(
                "transaction {tx_hash} is not transaction {} of block {block} with a log {}",
                at.tx_index, at.log_index_in_tx
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
            log_index: log.log_index.unwrap_or_default(),
            transaction_index: at.tx_index,
            log_index_in_tx: at.log_index_in_tx,
            from: Some(tx.from),
            to: tx.to,
        };
        if EventAbi::event_id(log.address(), log.data(), &context) != Some(key.event_id) {
            return Err(Verdict::Invalid(
                "the event id is not the id of that log".into(),
            ));
        }
        let triggers = self.triggers.read().expect("triggers");
        // Paused or not: the pause is judged at the execution time, in `check`.
        let matches = triggers.matches_in_any_state(log, &context);
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
        let Some(event) = chain_event(log, &context, &matches[0]) else {
            return Err(Verdict::Invalid("the log has no event id".into()));
        };
        Ok((event, matched.clone(), block_time))
    }

    /// "Not yet" for a log in `block` above this node's finalized block, with `sign_at =
    /// "finalized"`. Checked before the log is read: above it, the log may be on a branch this
    /// node does not follow yet or be removed by a reorg, so neither its presence nor its absence
    /// is settled, and a signature on it could cost this keeper its bond.
    async fn final_here(&self, block: u64, lookups: &mut Lookups) -> Result<(), Verdict> {
        if self.sign_at == SignAt::Depth {
            return Ok(());
        }
        if lookups.finalized.is_none() {
            lookups.finalized = Some(finalized_block(&self.provider).await);
        }
        let finalized = lookups.finalized.as_ref().expect("read above");
        not_final(block, finalized).map_or(Ok(()), |why| Err(Verdict::NotYet(why)))
    }

    /// An event posted to a keeper's API: made and signed by its emitter, which the trigger must
    /// name in its `emitters` (the keeper it was posted to vouches for nothing: it could invent
    /// any event it likes). The id must be a UUIDv7 within 60 s of the event's time, and the event
    /// no more than 60 s ahead of this keeper's clock nor older than it still signs for.
    fn http_event(
        &self,
        key: ExecutionKey,
        event: &serde_json::Value,
        signature: &Bytes,
    ) -> Result<(Event, Match, u64), Verdict> {
        let event = Event::from_cloudevent(event)
            .map_err(|e| Verdict::Invalid(format!("the event is not a CloudEvent: {e}")))?;
        if event.id != key.event_id {
            return Err(Verdict::Invalid(
                "the event id is not the signed event's".into(),
            ));
        }
        let emitter = self
            .emitter_of(&event, signature)
            .map_err(Verdict::Invalid)?;
        let matched = self.http_match(key.trigger_id, &event, emitter)?;
        let time = event.time.as_second().max(0) as u64;
        Ok((event, matched, time))
    }

    /// The emitter whose `signature` `event` carries, if it verifies under this deployment and
    /// the event's id and age are within what this keeper signs for; otherwise why not.
    pub(super) fn emitter_of(&self, event: &Event, signature: &Bytes) -> Result<Address, String> {
        use herald_api::signing::{COSIGN_MAX_AGE_MS, check_id, time_ms, verify_event};
        let domain = herald_chain::receipt::domain(self.domain.chain_id, self.domain.herald);
        let emitter = verify_event(&domain, event, signature)
            .map_err(|e| format!("API event {}: {e}", event.id))?;
        let id = event
            .id
            .as_uuid()
            .expect("verify_event checked it is a UUID");
        check_id(id, time_ms(event), now_ms(), COSIGN_MAX_AGE_MS)
            .map_err(|e| format!("API event {}: {e}", event.id))?;
        Ok(emitter)
    }

    /// `trigger_id`'s match of the API event `event` signed by `emitter`, paused or not.
    pub(super) fn http_match(
        &self,
        trigger_id: u64,
        event: &Event,
        emitter: Address,
    ) -> Result<Match, Verdict> {
        let triggers = self.triggers.read().expect("triggers");
        triggers
            .matches_event_in_any_state(event)
            .into_iter()
            .find(|m| m.trigger.id == trigger_id)
            .ok_or_else(|| match triggers.get(trigger_id) {
                None => Verdict::NotYet(format!("trigger {trigger_id} is not known here yet")),
                Some(t) if !t.emitters.contains(&emitter) => Verdict::Invalid(format!(
                    "trigger {trigger_id} does not accept events signed by {emitter} (its \
                     emitters: {:?})",
                    t.emitters
                )),
                Some(_) => {
                    Verdict::Invalid(format!("trigger {trigger_id} does not match that event"))
                }
            })
    }

    /// Why `performer` may not run `trigger_id`'s execution of an API event, if so: the trigger's
    /// latest envelope (no block orders an API event) is sealed to others.
    fn recipient(&self, performer: Address, trigger_id: u64) -> Option<String> {
        let triggers = self.triggers.read().expect("triggers");
        triggers.sealed_without(trigger_id, performer).then(|| {
            format!(
                "{performer} is not one of the keepers trigger {trigger_id}'s secrets are sealed to"
            )
        })
    }

    /// Why `performer` may not run `trigger_id`'s execution of an event at `event_time`, if so.
    fn assignment(
        &self,
        performer: Address,
        trigger_id: u64,
        event_time: u64,
        block: Option<u64>,
    ) -> Option<String> {
        let sealed_to = self
            .triggers
            .read()
            .expect("triggers")
            .sealed_to(trigger_id, block);
        let ranking =
            self.peers
                .read()
                .expect("peers")
                .ranking(trigger_id, event_time, sealed_to.as_deref());
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
}
