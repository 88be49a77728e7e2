//! Receipts into `settle` transactions: batched by size and age, co-signed, submitted, and tracked
//! until the settlement events are seen.
//!
//! Exactly-once payment rests on the contract (a trigger's event positions must increase), so the
//! settler can afford to be simple and safe: it submits a trigger's executions in position order and
//! never one whose earlier sibling is unfinished (the store's `settleable` query), records the
//! transaction before waiting for it, and after a restart looks each recorded transaction up — mined
//! ones are applied, unknown ones are submitted again. A duplicate that slips through is refused by
//! the contract as stale and cannot undo a recorded settlement.
//!
//! A receipt never changes once signed: co-signers would hold two signed receipts for one
//! execution, an equivocation that costs this keeper its bond. Every receipt is recorded in the
//! store ([`Store::claim_receipts`]) before the batch is signed and sent, and a later attempt
//! rebuilds it with the recorded `executedAt`, even when the node's latest block time has moved
//! backwards since (a reorg, another RPC node behind a load balancer): the receipt then waits
//! until the chain's time reaches it, since the contract refuses a receipt executed after its
//! block.
//!
//! A receipt of a log of this chain is signed only once the log's block is `settle_confirmations`
//! deep and, with `chain.sign_at = "finalized"`, at or below the node's finalized block: a signed
//! receipt can be challenged, and a log a reorg removed cannot be proven (see [`crate::finality`]).

use std::{collections::HashMap, sync::Arc, time::Duration};

use alloy::{
    primitives::{Address, Bytes, U256, aliases::U96},
    providers::{DynProvider, Provider},
    rpc::types::TransactionReceipt,
};
use herald_chain::{
    bindings::Herald,
    events::{self, HeraldEvents},
    receipt::{Receipt, batch_digest, domain, receipt_hash},
};
use herald_core::EventId;
use herald_store::{ExecutionKey, Settleable, Settlement, SignedReceipt, Store};
use tokio::sync::Notify;

use crate::{
    backoff::Backoff,
    conduct::{Conduct, Honest},
    config::SignAt,
    cosign::Cosigner,
    finality::finalized_block,
    network::protocol::{
        Attestable, EventSource, MAX_ATTEST_BODY, MAX_RECEIPTS_PER_REQUEST, WireReceipt,
    },
};

/// How receipts are batched and submitted.
#[derive(Clone, Debug)]
pub struct SettlerConfig {
    /// Most receipts per transaction.
    pub batch_size: u32,
    /// Longest a finished execution waits for a fuller batch.
    pub batch_age: Duration,
    /// Blocks an event must be buried under before its receipt is submitted.
    pub settle_confirmations: u64,
    /// Whether a receipt of a chain log also waits for its block to be final.
    pub sign_at: SignAt,
    /// How long to wait for a transaction to be mined before looking again.
    pub confirm_timeout: Duration,
}

/// Submits receipts for settlement.
pub struct Settler<C> {
    store: Store,
    provider: DynProvider,
    herald: Address,
    chain_id: u64,
    keeper: Address,
    cosigner: C,
    config: SettlerConfig,
    wake: Arc<Notify>,
    metrics: Arc<herald_api::Metrics>,
    conduct: Arc<dyn Conduct>,
}

impl<C: Cosigner> Settler<C> {
    /// A settler for `herald`, reporting `keeper` as connector and runner. A `batch_size` above
    /// [`MAX_RECEIPTS_PER_REQUEST`] is lowered to it: co-signers refuse a larger request.
    #[allow(clippy::too_many_arguments)]
    pub fn new(
        store: Store,
        provider: DynProvider,
        herald: Address,
        chain_id: u64,
        keeper: Address,
        cosigner: C,
        mut config: SettlerConfig,
        wake: Arc<Notify>,
    ) -> Self {
        if config.batch_size as usize > MAX_RECEIPTS_PER_REQUEST {
            tracing::warn!(
                batch_size = config.batch_size,
                max = MAX_RECEIPTS_PER_REQUEST,
                "settlement.batch_size is above what co-signers accept per request; lowered"
            );
            config.batch_size = MAX_RECEIPTS_PER_REQUEST as u32;
        }
        Self {
            store,
            provider,
            herald,
            chain_id,
            keeper,
            cosigner,
            config,
            wake,
            metrics: Arc::default(),
            conduct: Arc::new(Honest),
        }
    }

    /// Settles as `conduct` decides (see [`Conduct`]).
    pub fn with_conduct(mut self, conduct: Arc<dyn Conduct>) -> Self {
        self.conduct = conduct;
        self
    }

    /// Records settlement gas, receipts and node errors in `metrics`.
    pub fn with_metrics(mut self, metrics: Arc<herald_api::Metrics>) -> Self {
        self.metrics = metrics;
        self
    }

    /// Settles until the task is dropped. Errors are logged and retried with backoff.
    ///
    /// A batch goes out when it is full, or when its first receipt has waited `batch_age`: under
    /// load every transaction carries `batch_size` receipts (settlement gas per receipt falls with
    /// the batch, see the contract's gas table), and when quiet no receipt waits longer than that.
    pub async fn run(self) {
        if let Err(e) = self.reconcile().await {
            tracing::warn!(error = %e, "reconciling submitted receipts");
        }
        let mut backoff = Backoff::new(Duration::from_millis(200), Duration::from_secs(30));
        let mut filling_since: Option<tokio::time::Instant> = None;
        loop {
            let ready = match self.ready().await {
                Ok(ready) => ready,
                Err(e) => {
                    backoff.failed("reading settleable receipts", &e).await;
                    continue;
                }
            };
            if ready.is_empty() {
                filling_since = None;
                let _ = tokio::time::timeout(self.config.batch_age, self.wake.notified()).await;
                continue;
            }
            let since = *filling_since.get_or_insert_with(tokio::time::Instant::now);
            let due = since + self.config.batch_age;
            if ready.len() < self.config.batch_size as usize && tokio::time::Instant::now() < due {
                // A partial batch: wait for more receipts, but not past its age.
                let _ = tokio::time::timeout_at(due, self.wake.notified()).await;
                continue;
            }
            filling_since = None;
            match self.submit(&ready).await {
                Ok(()) => backoff.succeeded(),
                Err(e) => {
                    self.metrics.rpc_error();
                    backoff.failed("settlement failed", &e).await;
                }
            }
        }
    }

    /// Receipts that may be signed and settled now (of logs in blocks up to
    /// [`signable_up_to`](Self::signable_up_to); API events are stored at block 0), in each
    /// trigger's event order, at most a batch.
    pub async fn ready(&self) -> eyre::Result<Vec<Settleable>> {
        let Some(max_block) = self.signable_up_to().await? else {
            return Ok(Vec::new());
        };
        Ok(self
            .store
            .settleable(max_block, self.config.batch_size)
            .await?)
    }

    /// The highest block whose logs this keeper may sign receipts of now: `settle_confirmations`
    /// below the head and, with `sign_at = "finalized"`, at or below the node's finalized block.
    /// `None` while no block is deep enough. A node that serves no finalized block is an error:
    /// nothing is signed, and the run loop logs why and retries.
    pub async fn signable_up_to(&self) -> eyre::Result<Option<u64>> {
        let head = self.provider.get_block_number().await?;
        let Some(deep) = head.checked_sub(self.config.settle_confirmations) else {
            return Ok(None);
        };
        if self.config.sign_at == SignAt::Depth {
            return Ok(Some(deep));
        }
        let finalized = finalized_block(&self.provider).await.map_err(|why| {
            eyre::eyre!(
                "not signing receipts of chain logs: {why}; `chain.sign_at = \"finalized\"` signs \
                 only final blocks (\"depth\" is for a chain without finality)"
            )
        })?;
        Ok(Some(deep.min(finalized)))
    }

    /// Co-signs and submits one batch, records the transaction before waiting for it, and applies
    /// what it did to each receipt once mined.
    pub async fn submit(&self, ready: &[Settleable]) -> eyre::Result<()> {
        let chosen: Vec<Settleable>;
        let ready = if ready.iter().all(|s| self.conduct.settles(&s.key)) {
            ready
        } else {
            chosen = ready
                .iter()
                .filter(|s| self.conduct.settles(&s.key))
                .cloned()
                .collect();
            if chosen.is_empty() {
                return Ok(());
            }
            chosen.as_slice()
        };
        // A receipt may not claim a time after the block that settles it; the node's latest block
        // time is the best bound known before sending.
        let latest_time = self
            .provider
            .get_block_by_number(alloy::eips::BlockNumberOrTag::Latest)
            .await?
            .map_or(u64::MAX, |b| b.header.timestamp);
        let keys: Vec<ExecutionKey> = ready.iter().map(|s| s.key).collect();
        let signed: HashMap<ExecutionKey, u64> = self
            .store
            .signed_receipts(&self.keeper.to_string(), &keys)
            .await?
            .into_iter()
            .map(|r| (r.key, r.executed_at))
            .collect();
        let planned = plan(ready, &signed, latest_time, self.keeper)?;
        if planned.is_empty() {
            eyre::bail!(
                "every receipt waits for the chain's time (latest block at {latest_time}) to reach \
                 the executedAt it was signed with"
            );
        }
        let mut sent = Vec::with_capacity(planned.len());
        let mut receipts = Vec::with_capacity(planned.len());
        let mut batch = Vec::with_capacity(planned.len());
        // Co-signers read at most MAX_ATTEST_BODY bytes: leave room for the envelope and the
        // connector signatures the network cosigner adds to API events.
        let mut room = MAX_ATTEST_BODY.saturating_sub(4_096);
        let mut unprovable = Vec::new();
        for (s, receipt) in planned {
            let source = match evidence(&s.event) {
                Ok(source) => source,
                Err(e) => {
                    unprovable.push((s.key, format!("the stored event: {e}")));
                    continue;
                }
            };
            let mut receipt = receipt;
            let mut result = s.result.clone();
            self.conduct.signs(&mut receipt, &mut result);
            let item = Attestable {
                receipt: WireReceipt::from(&receipt),
                result,
                source,
            };
            let size = serde_json::to_vec(&item).map_or(usize::MAX, |b| b.len() + 256);
            if size > room && !batch.is_empty() {
                // The rest waits for the next batch: a prefix keeps each trigger's order.
                break;
            }
            room = room.saturating_sub(size);
            batch.push(item);
            receipts.push(receipt);
            sent.push(s.key);
        }
        // Leaving one out is safe: a trigger's later receipts may settle past a position never
        // settled. Keeping it would stall the trigger, and every batch it lands in, for good.
        self.store.quarantine(&unprovable).await?;
        if receipts.is_empty() {
            return Ok(());
        }
        let digest = batch_digest(&domain(self.chain_id, self.herald), &receipts);
        // Recorded before anything is signed or sent: later attempts rebuild exactly these.
        let claims: Vec<SignedReceipt> = receipts
            .iter()
            .zip(&sent)
            .map(|(r, key)| SignedReceipt {
                key: *key,
                runner: r.runner.to_string(),
                receipt_hash: receipt_hash(r).to_string(),
                executed_at: r.executedAt,
            })
            .collect();
        let already = self
            .store
            .claim_receipts(&digest.to_string(), &claims)
            .await?;
        if !already.is_empty() {
            let reasons: Vec<String> = already.iter().map(ToString::to_string).collect();
            eyre::bail!(
                "refusing to sign a second receipt for an execution: {}",
                reasons.join("; ")
            );
        }
        let signatures = self.cosigner.cosign(digest, &batch).await?;
        let herald = Herald::new(self.herald, &self.provider);
        let pending = herald.settle(receipts, signatures).send().await?;
        let tx = *pending.tx_hash();
        self.store
            .set_settlement(
                &sent
                    .iter()
                    .map(|k| (*k, Settlement::Submitted { tx }))
                    .collect::<Vec<_>>(),
            )
            .await?;
        tracing::info!(%tx, receipts = sent.len(), "settle submitted");
        let receipt = pending
            .with_timeout(Some(self.config.confirm_timeout))
            .get_receipt()
            .await?;
        self.apply(&receipt, &sent).await
    }

    /// Records what a mined `settle` did to each receipt it carried.
    async fn apply(&self, receipt: &TransactionReceipt, keys: &[ExecutionKey]) -> eyre::Result<()> {
        let updates = settlement_updates(receipt, self.herald);
        if !receipt.status() {
            // Reverted as a whole (e.g. a signer lost its stake): submit again later.
            tracing::warn!(tx = %receipt.transaction_hash, "settle reverted");
            let reset: Vec<_> = keys.iter().map(|k| (*k, Settlement::None)).collect();
            self.store.set_settlement(&reset).await?;
            return Ok(());
        }
        let (settled, rejected) = updates.iter().fold((0, 0), |(s, r), (_, u)| match u {
            Settlement::Settled { .. } => (s + 1, r),
            _ => (s, r + 1),
        });
        tracing::info!(tx = %receipt.transaction_hash, settled, rejected, "settle mined");
        self.metrics
            .settled(receipt.gas_used, (settled + rejected) as u64);
        self.store.set_settlement(&updates).await?;
        Ok(())
    }

    /// After a restart: looks up every recorded transaction. Mined ones are applied; unknown ones
    /// (dropped, or never sent) are made eligible again.
    pub async fn reconcile(&self) -> eyre::Result<()> {
        for (tx, keys) in self.store.submitted().await? {
            match self.provider.get_transaction_receipt(tx).await? {
                Some(receipt) => self.apply(&receipt, &keys).await?,
                None => {
                    let reset: Vec<_> = keys.iter().map(|k| (*k, Settlement::None)).collect();
                    self.store.set_settlement(&reset).await?;
                }
            }
        }
        Ok(())
    }
}

/// The receipts to send now for `ready` (in its order, by trigger then position), each with the
/// finished execution it reports. A receipt signed before (`signed`: its recorded `executedAt`)
/// is rebuilt with that time, whatever the chain's time is now; one never signed takes its
/// execution's time, pulled back to `latest_time` (settlement refuses a receipt executed after
/// its block). A signed receipt later than `latest_time` waits, and its trigger's later receipts
/// with it (they must settle after it).
fn plan<'a>(
    ready: &'a [Settleable],
    signed: &HashMap<ExecutionKey, u64>,
    latest_time: u64,
    keeper: Address,
) -> eyre::Result<Vec<(&'a Settleable, Receipt)>> {
    let mut planned = Vec::with_capacity(ready.len());
    let mut waiting: Option<u64> = None;
    for s in ready {
        if waiting == Some(s.key.trigger_id) {
            continue;
        }
        let executed_at = match signed.get(&s.key) {
            Some(&frozen) if frozen > latest_time => {
                tracing::info!(
                    execution = %s.key,
                    executed_at = frozen,
                    latest_time,
                    "waiting for the chain's time to reach the executedAt this receipt was signed with"
                );
                waiting = Some(s.key.trigger_id);
                continue;
            }
            Some(&frozen) => frozen,
            None => s.executed_at.min(latest_time),
        };
        let receipt = Receipt {
            triggerId: s.key.trigger_id,
            eventId: *s.key.event_id.as_bytes(),
            resultHash: s.result_hash,
            connector: keeper,
            runner: keeper,
            runnerFee: U96::from(s.runner_fee.min(U256::from(U96::MAX))),
            executedAt: executed_at,
            success: s.success,
        };
        planned.push((s, receipt));
    }
    Ok(planned)
}

/// What lets a co-signer check an execution's event: the transaction of a chain log (it reads the
/// log itself), or the event posted to this keeper's API (which this keeper signs as connector).
fn evidence(event: &serde_json::Value) -> eyre::Result<EventSource> {
    let subject = event.get("subject").and_then(serde_json::Value::as_str);
    Ok(
        match (
            event.get("type").and_then(serde_json::Value::as_str),
            subject,
        ) {
            (Some("evm.log"), Some(tx)) => EventSource::Chain {
                tx_hash: tx.parse()?,
            },
            _ => EventSource::Http {
                event: event.clone(),
                signature: Bytes::new(),
            },
        },
    )
}

/// The settlement outcome of each receipt, from a transaction's `ReceiptSettled` and
/// `ReceiptRejected` logs emitted by `herald`.
pub fn settlement_updates(
    receipt: &TransactionReceipt,
    herald: Address,
) -> Vec<(ExecutionKey, Settlement)> {
    receipt
        .inner
        .logs()
        .iter()
        .filter(|log| log.address() == herald)
        .filter_map(events::decode)
        .filter_map(|event| settlement_update(&event))
        .collect()
}

/// The outcome a settlement event records, if it is one.
pub fn settlement_update(event: &HeraldEvents) -> Option<(ExecutionKey, Settlement)> {
    let key = |trigger_id, event_id| ExecutionKey {
        trigger_id,
        event_id: EventId::from_bytes(event_id),
    };
    match event {
        HeraldEvents::ReceiptSettled(e) => Some((
            key(e.triggerId, e.eventId),
            Settlement::Settled { fee: e.fee },
        )),
        HeraldEvents::ReceiptRejected(e) => Some((
            key(e.triggerId, e.eventId),
            Settlement::Rejected {
                reason: events::reject_reason(e.reason),
            },
        )),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use alloy::primitives::B256;

    use super::*;

    fn finished(trigger_id: u64, position: u64, executed_at: u64) -> Settleable {
        Settleable {
            key: ExecutionKey {
                trigger_id,
                event_id: EventId::from_bytes(B256::left_padding_from(&position.to_be_bytes())),
            },
            success: true,
            result_hash: B256::repeat_byte(7),
            executed_at,
            runner_fee: U256::from(5),
            result: Bytes::new(),
            event: serde_json::json!({}),
        }
    }

    /// The node's latest block time moves backwards between two attempts (a reorg, another RPC
    /// node): the second attempt must send the receipt it signed the first time, or wait, never
    /// a receipt with an earlier `executedAt` (two signed receipts for one execution).
    #[test]
    fn a_signed_receipt_keeps_its_execution_time_when_the_chain_time_goes_backwards() {
        let keeper = Address::repeat_byte(0x11);
        let ready = [
            finished(1, 1, 1_005),
            finished(1, 2, 1_006),
            finished(2, 3, 900),
        ];
        let first = plan(&ready, &HashMap::new(), 1_000, keeper).expect("plan");
        let times: Vec<u64> = first.iter().map(|(_, r)| r.executedAt).collect();
        assert_eq!(
            times,
            [1_000, 1_000, 900],
            "clamped to the latest block time"
        );

        // What the first attempt recorded before sending (only trigger 1's first receipt).
        let signed = HashMap::from([(ready[0].key, first[0].1.executedAt)]);
        let behind = plan(&ready, &signed, 990, keeper).expect("plan");
        assert!(
            behind.iter().all(|(s, _)| s.key.trigger_id != 1),
            "trigger 1 waits for the chain to reach its signed time: {:?}",
            behind
                .iter()
                .map(|(s, r)| (s.key, r.executedAt))
                .collect::<Vec<_>>()
        );
        assert_eq!(
            behind.iter().map(|(s, _)| s.key).collect::<Vec<_>>(),
            [ready[2].key],
            "other triggers go on"
        );

        let caught_up = plan(&ready, &signed, 1_001, keeper).expect("plan");
        assert_eq!(
            caught_up[0].1.executedAt, 1_000,
            "the signed time, not 1,001"
        );
        assert_eq!(
            receipt_hash(&caught_up[0].1),
            receipt_hash(&first[0].1),
            "the very receipt signed the first time"
        );
        assert_eq!(
            caught_up[1].1.executedAt, 1_001,
            "an unsigned one takes the new bound"
        );
    }
}
