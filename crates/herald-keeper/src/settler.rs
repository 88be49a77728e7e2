//! Receipts into `settle` transactions: batched by size and age, co-signed, submitted, and tracked
//! until the settlement events are seen.
//!
//! Exactly-once payment rests on the contract (a trigger's event positions must increase), so the
//! settler can afford to be simple and safe: it submits a trigger's executions in position order and
//! never one whose earlier sibling is unfinished (the store's `settleable` query), records the
//! transaction before waiting for it, and after a restart looks each recorded transaction up — mined
//! ones are applied, unknown ones are submitted again. A duplicate that slips through is refused by
//! the contract as stale and cannot undo a recorded settlement.

use std::{str::FromStr, sync::Arc, time::Duration};

use alloy::{
    primitives::{Address, B256, Bytes, U256, aliases::U96},
    providers::{DynProvider, Provider},
    rpc::types::TransactionReceipt,
};
use herald_chain::{
    bindings::Herald,
    receipt::{Receipt, batch_digest, domain},
};
use herald_core::EventId;
use herald_store::{ExecutionKey, Settleable, Settlement, Store};
use tokio::sync::Notify;

use crate::{
    backoff::Backoff,
    cosign::Cosigner,
    network::protocol::{Attestable, EventSource, WireReceipt},
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
    #[cfg(feature = "byzantine")]
    fault: crate::network::fault::Fault,
}

impl<C: Cosigner> Settler<C> {
    /// A settler for `herald`, reporting `keeper` as connector and runner.
    #[allow(clippy::too_many_arguments)]
    pub fn new(
        store: Store,
        provider: DynProvider,
        herald: Address,
        chain_id: u64,
        keeper: Address,
        cosigner: C,
        config: SettlerConfig,
        wake: Arc<Notify>,
    ) -> Self {
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
            #[cfg(feature = "byzantine")]
            fault: crate::network::fault::Fault::from_env(),
        }
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

    /// Receipts that may be settled now (buried deep enough, in each trigger's event order), at
    /// most a batch.
    pub async fn ready(&self) -> eyre::Result<Vec<Settleable>> {
        let head = self.provider.get_block_number().await?;
        let Some(max_block) = head.checked_sub(self.config.settle_confirmations) else {
            return Ok(Vec::new());
        };
        Ok(self
            .store
            .settleable(max_block, self.config.batch_size)
            .await?)
    }

    /// Co-signs and submits one batch, records the transaction before waiting for it, and applies
    /// what it did to each receipt once mined.
    pub async fn submit(&self, ready: &[Settleable]) -> eyre::Result<()> {
        // A receipt may not claim a time after the block that settles it; the node's latest block
        // time is the best bound known before sending.
        let latest_time = self
            .provider
            .get_block_by_number(alloy::eips::BlockNumberOrTag::Latest)
            .await?
            .map_or(u64::MAX, |b| b.header.timestamp);
        if ready.iter().any(|s| s.executed_at > latest_time) {
            self.store.clamp_executed_at(latest_time).await?;
        }
        let mut receipts = Vec::with_capacity(ready.len());
        let mut batch = Vec::with_capacity(ready.len());
        for s in ready {
            #[allow(unused_mut)]
            let mut receipt = self.receipt(s, latest_time)?;
            #[allow(unused_mut)]
            let mut result = s.result.parse::<Bytes>().unwrap_or_default();
            #[cfg(feature = "byzantine")]
            self.fault.tamper(&mut receipt, &mut result);
            batch.push(Attestable {
                receipt: WireReceipt::from(&receipt),
                result,
                source: evidence(&s.event)?,
            });
            receipts.push(receipt);
        }
        let digest = batch_digest(&domain(self.chain_id, self.herald), &receipts);
        let signatures = self.cosigner.cosign(digest, &batch).await?;
        let herald = Herald::new(self.herald, &self.provider);
        let pending = herald.settle(receipts, signatures).send().await?;
        let tx = *pending.tx_hash();
        let keys: Vec<ExecutionKey> = ready.iter().map(|s| s.key).collect();
        self.store
            .set_settlement(
                &keys
                    .iter()
                    .map(|k| (*k, Settlement::Submitted { tx: tx.to_string() }))
                    .collect::<Vec<_>>(),
            )
            .await?;
        tracing::info!(%tx, receipts = keys.len(), "settle submitted");
        let receipt = pending
            .with_timeout(Some(self.config.confirm_timeout))
            .get_receipt()
            .await?;
        self.apply(&receipt, &keys).await
    }

    fn receipt(&self, s: &Settleable, latest_time: u64) -> eyre::Result<Receipt> {
        Ok(Receipt {
            triggerId: s.key.trigger_id,
            eventId: *s.key.event_id.as_bytes(),
            resultHash: B256::from_str(&s.result_hash)?,
            connector: self.keeper,
            runner: self.keeper,
            runnerFee: U96::from(U256::from_str(&s.runner_fee)?.min(U256::from(U96::MAX))),
            executedAt: s.executed_at.min(latest_time),
            success: s.success,
        })
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
            let hash = B256::from_str(&tx).unwrap_or_default();
            match self.provider.get_transaction_receipt(hash).await? {
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

/// What lets a co-signer check an execution's event: the transaction of a chain log (it reads the
/// log itself), or the event posted to this keeper's API (which this keeper signs as connector).
fn evidence(cloudevent: &str) -> eyre::Result<EventSource> {
    let event: serde_json::Value = serde_json::from_str(cloudevent)?;
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
                event,
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
        .filter_map(settlement_update)
        .collect()
}

/// The outcome one settlement log records, if it is one.
pub fn settlement_update(log: &alloy::rpc::types::Log) -> Option<(ExecutionKey, Settlement)> {
    use alloy::sol_types::SolEvent;
    match *log.topic0()? {
        Herald::ReceiptSettled::SIGNATURE_HASH => {
            let e = log.log_decode::<Herald::ReceiptSettled>().ok()?.inner.data;
            Some((
                ExecutionKey {
                    trigger_id: e.triggerId,
                    event_id: EventId::from_bytes(e.eventId),
                },
                Settlement::Settled {
                    fee: e.fee.to_string(),
                },
            ))
        }
        Herald::ReceiptRejected::SIGNATURE_HASH => {
            let e = log.log_decode::<Herald::ReceiptRejected>().ok()?.inner.data;
            Some((
                ExecutionKey {
                    trigger_id: e.triggerId,
                    event_id: EventId::from_bytes(e.eventId),
                },
                Settlement::Rejected {
                    reason: reject_reason(e.reason).to_string(),
                },
            ))
        }
        _ => None,
    }
}

/// `RejectReason`'s names, in the contract's order.
fn reject_reason(code: u8) -> &'static str {
    const NAMES: [&str; 10] = [
        "UnknownTrigger",
        "StaleEvent",
        "ExecutedInFuture",
        "Expired",
        "Paused",
        "Exhausted",
        "UnknownConnector",
        "UnknownRunner",
        "FeeAboveCap",
        "InsufficientBudget",
    ];
    NAMES.get(usize::from(code)).copied().unwrap_or("Unknown")
}
