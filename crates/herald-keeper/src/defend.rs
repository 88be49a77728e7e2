//! Fraud challenges from the keeper's side: telling a genuine chain log from a fabricated one, and
//! answering every challenge of a genuine one before its deadline.
//!
//! A challenge names receipts for logs of the settlement chain; whoever shows the log with the
//! block's header and a receipts-trie proof defends it, and a receipt nobody defends costs every
//! signer of its batch its whole bond. So an honest keeper must never let a challenge of a true
//! receipt go unanswered, whoever signed it: [`defend`] watches `ChallengeOpened`, proves each
//! named log from its own node, answers, and, once every receipt of a challenge is defended,
//! resolves it (the challenger's deposit goes to the first defender). A receipt whose log does not
//! exist is left alone, with a warning: that is the fraud the challenge is for.

use std::time::Duration;

use alloy::{
    eips::BlockId,
    primitives::{Address, B256, keccak256},
    providers::{DynProvider, Provider},
    rpc::types::Filter,
    sol_types::SolEvent,
};
use herald_chain::{
    bindings::HeraldChallenges,
    challenge::{self, for_challenges},
    log_proof::{self, LogProof, LogProofError},
};
use herald_core::EventId;

/// What a keeper's node says of the log an event id names.
#[derive(Debug)]
pub enum Judgement {
    /// The log exists, and this proves it.
    Genuine(Box<LogProof>),
    /// No such log: the block, the transaction or the log is not there, or the log there is
    /// another (with another content or in another block).
    Fabricated(String),
    /// Not a log of this chain, or the node could not answer now.
    Undecided(String),
}

/// Judges the log `event_id` names against the node of chain `chain_id`.
pub async fn judge<P: Provider>(provider: &P, chain_id: u64, event_id: EventId) -> Judgement {
    let Some(at) = event_id.log_position().filter(|at| at.chain_id == chain_id) else {
        return Judgement::Undecided(format!("{event_id} is not a log of chain {chain_id}"));
    };
    let proof = log_proof::prove_log(
        provider,
        BlockId::number(at.block_number),
        at.tx_index,
        at.log_index_in_tx,
    )
    .await;
    match proof {
        Ok(proof) => {
            let id = EventId::from_log(at, proof.block_hash, keccak256(&proof.log_rlp));
            if id == Some(event_id) {
                Judgement::Genuine(Box::new(proof))
            } else {
                Judgement::Fabricated(format!(
                    "the log at block {} transaction {} log {} is another",
                    at.block_number, at.tx_index, at.log_index_in_tx
                ))
            }
        }
        Err(
            e @ (LogProofError::BlockNotFound { .. }
            | LogProofError::TxIndexOutOfRange { .. }
            | LogProofError::LogIndexOutOfRange { .. }),
        ) => Judgement::Fabricated(e.to_string()),
        Err(e) => Judgement::Undecided(e.to_string()),
    }
}

/// Answers every challenge of a genuine receipt opened against the deployment at `herald`, from
/// block `from` on, polling every `poll`. Runs until the task is dropped.
pub async fn defend(provider: DynProvider, herald: Address, from: u64, poll: Duration) {
    let (challenges, chain_id) = loop {
        match (
            challenge::challenges_of(&provider, herald).await,
            provider.get_chain_id().await,
        ) {
            (Ok(c), Ok(id)) => break (c, id),
            (Err(e), _) => tracing::warn!(error = %e, "finding the challenge contract"),
            (_, Err(e)) => tracing::warn!(error = %e, "reading the chain id"),
        }
        tokio::time::sleep(poll).await;
    };
    // A challenge older than the response window can no longer be answered: start no earlier than
    // that before the head (a restarted keeper does not rescan the chain's whole history).
    let response = loop {
        match challenge::windows(&provider, challenges).await {
            Ok(w) => break w.response,
            Err(e) => tracing::warn!(error = %e, "reading the fraud windows"),
        }
        tokio::time::sleep(poll).await;
    };
    let mut next = from;
    if let Ok(head) = provider.get_block_number().await {
        next = next.max(head.saturating_sub(response));
    }
    loop {
        tokio::time::sleep(poll).await;
        let latest = match provider.get_block_number().await {
            Ok(n) if n >= next => n,
            Ok(_) => continue,
            Err(e) => {
                tracing::warn!(error = %e, "reading the head for challenges");
                continue;
            }
        };
        let filter = Filter::new()
            .address(challenges)
            .event_signature(HeraldChallenges::ChallengeOpened::SIGNATURE_HASH)
            .from_block(next)
            .to_block(latest);
        let logs = match provider.get_logs(&filter).await {
            Ok(logs) => logs,
            Err(e) => {
                tracing::warn!(error = %e, "reading challenges");
                continue;
            }
        };
        let mut retry_from = None;
        for log in logs {
            let Ok(opened) = HeraldChallenges::ChallengeOpened::decode_log_data(log.data()) else {
                continue;
            };
            let tx = log.transaction_hash.unwrap_or_default();
            if !answer(&provider, challenges, chain_id, &opened, tx, latest).await {
                retry_from.get_or_insert(log.block_number.unwrap_or(next));
            }
        }
        // A challenge that could not be finished is read again next round, but none older than
        // the response window: it can no longer be answered.
        next = retry_from
            .unwrap_or(latest + 1)
            .max(latest.saturating_sub(response));
    }
}

/// `HeraldChallenges.EventState.Undefended`: named by the challenge and not yet proven.
const UNDEFENDED: u8 = 1;

/// Answers one challenge; false when it should be tried again (the node could not decide, a call
/// failed or an answer was not mined), true when it is done with (answered, past its deadline, or
/// naming a log that does not exist). Every answer is sent before any is awaited, so a challenge
/// naming many logs is answered within a few blocks, not one block per log.
async fn answer(
    provider: &DynProvider,
    challenges: Address,
    chain_id: u64,
    opened: &HeraldChallenges::ChallengeOpened,
    tx: B256,
    head: u64,
) -> bool {
    let contract = HeraldChallenges::new(challenges, provider);
    let id = opened.challengeId;
    if head > opened.respondBy {
        return true;
    }
    let mut all_genuine = true;
    let mut done = true;
    let mut sent = Vec::new();
    let mut seen = std::collections::HashSet::new();
    for event_id in opened.eventIds.iter().filter(|e| seen.insert(**e)) {
        // Answered already (by this keeper before a restart, or by another): nothing to send. An
        // error here is no answer: try again later.
        match contract.eventState(id, *event_id).call().await {
            Ok(state) if state != UNDEFENDED => continue,
            Ok(_) => {}
            Err(e) => {
                tracing::warn!(challenge = %id, error = %e, "reading a challenged event's state");
                done = false;
                continue;
            }
        }
        // A log proven already, for another challenge, is answered without a proof.
        let proven = match contract.provenBy(*event_id).call().await {
            Ok(prover) => !prover.is_zero(),
            Err(e) => {
                tracing::warn!(challenge = %id, error = %e, "reading whether a log is proven");
                done = false;
                continue;
            }
        };
        let proof = if proven {
            None
        } else {
            match judge(provider, chain_id, EventId::from_bytes(*event_id)).await {
                Judgement::Genuine(proof) => Some(proof),
                Judgement::Fabricated(why) => {
                    all_genuine = false;
                    tracing::warn!(challenge = %id, event = %event_id, %why,
                        "a challenged receipt names a log that does not exist: its signers will be slashed");
                    continue;
                }
                Judgement::Undecided(why) => {
                    tracing::warn!(challenge = %id, event = %event_id, %why,
                        "cannot judge a challenged receipt yet");
                    done = false;
                    continue;
                }
            }
        };
        let (header, receipt_proof) =
            proof.map_or_else(Default::default, |p| (p.header_rlp, p.receipt_proof));
        match contract
            .respond(id, *event_id, header, receipt_proof)
            .send()
            .await
        {
            Ok(pending) => sent.push((*event_id, pending)),
            Err(e) => {
                // Another keeper's answer may have landed in between; the next round reads the
                // state again.
                tracing::warn!(challenge = %id, event = %event_id, error = %e,
                    "answering a challenge");
                done = false;
            }
        }
    }
    for (event_id, pending) in sent {
        match mined(pending).await {
            Ok(hash) => tracing::info!(challenge = %id, event = %event_id, tx = %hash,
                "defended a challenged receipt"),
            Err(e) => {
                tracing::warn!(challenge = %id, event = %event_id, error = %e,
                    "an answer to a challenge failed");
                done = false;
            }
        }
    }
    if done && all_genuine {
        // Every receipt stood: resolving now closes the challenge (each answer was paid already).
        match challenge::challenged_batch(provider, challenges, tx).await {
            Ok((batch, _)) => {
                let call = contract.resolve(
                    id,
                    for_challenges(&batch.receipts),
                    batch.signatures.clone(),
                );
                // Another keeper may have resolved it first, which the call shows before any gas.
                if call.call().await.is_ok() {
                    match call.send().await {
                        Ok(pending) => {
                            if let Err(e) = mined(pending).await {
                                tracing::warn!(challenge = %id, error = %e,
                                    "resolving a defended challenge");
                            }
                        }
                        Err(e) => tracing::warn!(challenge = %id, error = %e,
                            "resolving a defended challenge"),
                    }
                }
            }
            Err(e) => tracing::warn!(challenge = %id, error = %e, "reading a challenge's batch"),
        }
    }
    done
}

/// Waits for a sent transaction to be mined and to succeed: its hash, or why not.
async fn mined(
    pending: alloy::providers::PendingTransactionBuilder<alloy::network::Ethereum>,
) -> Result<B256, String> {
    let receipt = pending
        .with_timeout(Some(Duration::from_secs(60)))
        .get_receipt()
        .await
        .map_err(|e| e.to_string())?;
    if !receipt.status() {
        return Err(format!("transaction {} reverted", receipt.transaction_hash));
    }
    Ok(receipt.transaction_hash)
}
