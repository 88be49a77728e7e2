//! Taking over: when the keepers ranked before this one have not settled an execution by its
//! takeover time, and none of them is visibly at work (online and settling receipts), this keeper
//! runs it, with the same execution key (so the same `webhook-id`: receivers deduplicate) and the
//! same stored request. The "at work" check keeps a burst that takes the performer longer than the
//! timeout to settle from being run twice.
//!
//! With `chain.sign_at = "finalized"` nobody can settle a log's execution before its block is
//! final (minutes on Ethereum, far past any takeover timeout), so the takeover clock starts at
//! finality: a due takeover of a log not final yet is put off by this keeper's delay again.

use std::{collections::HashMap, time::Duration};

use alloy::{primitives::Address, providers::DynProvider};
use herald_chain::bindings::Herald;
use herald_store::{PendingExecution, Store};
use tokio::sync::mpsc;

use super::{Assignment, attest::now_ms, relay::Relayer};
use crate::{config::SignAt, finality};

/// Looks for due takeovers every `every`, and hands each to the runners through `run`; due
/// standby executions of API events are relayed by `relayer` instead.
#[allow(clippy::too_many_arguments)]
pub async fn take_over(
    store: Store,
    provider: DynProvider,
    herald: Address,
    assignment: Assignment,
    relayer: Relayer,
    run: mpsc::Sender<PendingExecution>,
    every: Duration,
    sign_at: SignAt,
) {
    let herald = Herald::new(herald, provider);
    // When each due execution was first seen due: how long its takeover has been waiting.
    let mut first_due: HashMap<herald_store::ExecutionKey, tokio::time::Instant> = HashMap::new();
    let mut tick = tokio::time::interval(every);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tick.tick().await;
        let due = match store.due_takeovers(now_ms(), 256).await {
            Ok(due) => due,
            Err(e) => {
                tracing::warn!(error = %e, "reading due takeovers");
                continue;
            }
        };
        // An API event whose subscription is sealed to other keepers is theirs to perform: this
        // keeper relays it to them. (A recipient's standby API event, relayed to it, is taken
        // over like a chain event.)
        let (relays, due): (Vec<_>, Vec<_>) = due.into_iter().partition(|key| {
            key.event_id.log_position().is_none() && assignment.sealed_elsewhere(key.trigger_id)
        });
        if !relays.is_empty()
            && let Err(e) = relayer.relay(&relays).await
        {
            tracing::warn!(error = %e, "relaying API events");
        }
        if due.is_empty() {
            continue;
        }
        let due = match postpone_unfinal(&store, herald.provider(), &assignment, sign_at, due).await
        {
            Ok(due) => due,
            Err(e) => {
                tracing::warn!(error = %e, "putting off takeovers of logs not final yet");
                continue;
            }
        };
        // A receipt the chain already paid (this keeper has not read that far yet, or missed it)
        // is not run again: the trigger's settled position is at or past the event's.
        let mut settled_up_to: HashMap<u64, u64> = HashMap::new();
        let mut keys = Vec::new();
        let now = tokio::time::Instant::now();
        first_due.retain(|key, _| due.contains(key));
        for key in &due {
            first_due.entry(*key).or_insert(now);
        }
        let mut at_work: HashMap<u64, bool> = HashMap::new();
        for key in due {
            let overdue = now.duration_since(first_due[&key]);
            if *at_work
                .entry(key.trigger_id)
                .or_insert_with(|| assignment.performer_at_work(key.trigger_id, overdue))
            {
                continue;
            }
            let last = match settled_up_to.get(&key.trigger_id) {
                Some(last) => *last,
                None => match herald.trigger(key.trigger_id).call().await {
                    Ok(t) => {
                        settled_up_to.insert(key.trigger_id, t.ledger.lastEventKey);
                        t.ledger.lastEventKey
                    }
                    Err(e) => {
                        tracing::warn!(error = %e, "reading a trigger before a takeover");
                        continue;
                    }
                },
            };
            if key.event_id.position() > last {
                keys.push(key);
            }
        }
        match store.take_over(&keys).await {
            Ok(moved) => {
                for pending in moved {
                    tracing::info!(execution = %pending.key, "taking over from a silent peer");
                    if run.send(pending).await.is_err() {
                        return;
                    }
                }
            }
            Err(e) => tracing::warn!(error = %e, "taking over"),
        }
    }
}

/// The takeovers in `due` that may go ahead; those of logs not final yet are put off by this
/// keeper's takeover delay (and so looked at again only then).
async fn postpone_unfinal(
    store: &Store,
    provider: &DynProvider,
    assignment: &Assignment,
    sign_at: SignAt,
    due: Vec<herald_store::ExecutionKey>,
) -> Result<Vec<herald_store::ExecutionKey>, herald_store::StoreError> {
    if sign_at == SignAt::Depth {
        return Ok(due);
    }
    let finalized = finality::finalized_block(provider).await;
    let (waiting, ready): (Vec<_>, Vec<_>) = due.into_iter().partition(|key| {
        key.event_id
            .log_position()
            .is_some_and(|at| finality::not_final(at.block_number, &finalized).is_some())
    });
    if !waiting.is_empty() {
        let now = now_ms();
        let postponed: Vec<_> = waiting
            .iter()
            .map(|key| {
                let delay = assignment.takeover_delay(key.trigger_id).as_millis() as u64;
                (*key, now + delay)
            })
            .collect();
        store.postpone_takeovers(&postponed).await?;
    }
    Ok(ready)
}
