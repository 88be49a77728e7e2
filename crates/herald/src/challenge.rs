//! `herald challenge`: proving on chain, from public chain data alone, that keepers signed a
//! receipt for a log that never happened — and collecting their bonds for it.

use alloy::{
    primitives::{B256, U256},
    rpc::types::TransactionReceipt,
    sol_types::SolEvent,
};
use clap::{Args, Subcommand};
use herald_chain::{
    bindings::HeraldChallenges,
    challenge::{self, for_challenges},
};
use herald_core::EventId;
use herald_keeper::defend::{Judgement, judge};
use serde_json::json;

use crate::{Outcome, output::report, session::ChainArgs};

#[derive(Subcommand)]
pub(crate) enum ChallengeCommand {
    /// Challenge the receipts of a settled batch that name logs which do not exist (found by
    /// checking each against the node), putting down the challenge deposit for each log.
    Open(OpenArgs),
    /// After the answer deadline: slash the signers of every receipt whose log nobody proved, mark
    /// its trigger disputed and return those logs' deposits; a log proven elsewhere pays its prover.
    Resolve(ResolveArgs),
}

#[derive(Args)]
pub(crate) struct OpenArgs {
    #[command(flatten)]
    chain: ChainArgs,
    /// The `settle` transaction that carried the batch.
    #[arg(long)]
    settle_tx: B256,
    /// Challenge these receipts (indexes in the batch) instead of the ones found fabricated.
    #[arg(long = "receipt")]
    receipts: Vec<usize>,
}

#[derive(Args)]
pub(crate) struct ResolveArgs {
    #[command(flatten)]
    chain: ChainArgs,
    /// The `challenge` transaction that opened it.
    #[arg(long)]
    challenge_tx: B256,
}

pub(crate) fn run(command: ChallengeCommand, json_output: bool) -> Result<Outcome, String> {
    match command {
        ChallengeCommand::Open(args) => crate::on_runtime(open(args, json_output)),
        ChallengeCommand::Resolve(args) => crate::on_runtime(resolve(args, json_output)),
    }
}

async fn open(args: OpenArgs, json_output: bool) -> Result<Outcome, String> {
    let s = args.chain.write().await?;
    let batch = challenge::settled_batch(&s.provider, s.herald, args.settle_tx)
        .await
        .map_err(|e| format!("--settle-tx: {e}"))?;
    let chain_id = s.chain_id().await?;
    let indexes = if args.receipts.is_empty() {
        let mut fabricated = Vec::new();
        for (i, r) in batch.receipts.iter().enumerate() {
            match judge(&s.provider, chain_id, EventId::from_bytes(r.eventId)).await {
                Judgement::Fabricated(why) => {
                    eprintln!("receipt {i} (trigger {}): {why}", r.triggerId);
                    fabricated.push(i);
                }
                Judgement::Genuine(_) | Judgement::Undecided(_) => {}
            }
        }
        fabricated
    } else {
        if let Some(i) = args.receipts.iter().find(|i| **i >= batch.receipts.len()) {
            return Err(format!(
                "--receipt {i}: the batch has {} receipts",
                batch.receipts.len()
            ));
        }
        args.receipts.clone()
    };
    if indexes.is_empty() {
        report(
            json_output,
            json!({"challenged": []}),
            "every receipt of that batch names a log that exists (or a log of another chain): \
             nothing to challenge"
                .into(),
        )?;
        return Ok(Outcome::No);
    }
    let challenges = challenge::challenges_of(&s.provider, s.herald)
        .await
        .map_err(|e| e.to_string())?;
    let contract = HeraldChallenges::new(challenges, &s.provider);
    for i in &indexes {
        let prover = contract
            .provenBy(batch.receipts[*i].eventId)
            .call()
            .await
            .map_err(|e| format!("reading whether receipt {i}'s log is proven: {e}"))?;
        if !prover.is_zero() {
            return Err(format!(
                "receipt {i}: its log is already proven (by {prover}); a proven log cannot be \
                 challenged"
            ));
        }
    }
    let per_log = contract
        .challengeBond()
        .call()
        .await
        .map_err(|e| format!("reading the challenge deposit: {e}"))?;
    // Receipts naming one log are challenged, answered and paid for together.
    let logs = indexes
        .iter()
        .map(|i| batch.receipts[*i].eventId)
        .collect::<std::collections::HashSet<_>>()
        .len();
    let deposit = per_log * U256::from(logs);
    s.allow(challenges, deposit).await?;
    let receipt = s
        .send(
            "challenge",
            contract.challenge(
                for_challenges(&batch.receipts),
                batch.signatures.clone(),
                indexes.iter().map(|i| U256::from(*i)).collect(),
            ),
        )
        .await?;
    let opened = opened_in(&receipt)
        .ok_or("the challenge transaction emitted no ChallengeOpened".to_string())?;
    report(
        json_output,
        json!({
            "challenge": opened.challengeId,
            "tx": receipt.transaction_hash,
            "challenged": indexes,
            "respondBy": opened.respondBy,
            "deposit": deposit,
        }),
        format!(
            "challenge {} opened for receipts {indexes:?} (deposit {})  tx {}\n\
             answers are due by block {}; then run: herald challenge resolve --challenge-tx {}",
            opened.challengeId,
            s.format(deposit),
            receipt.transaction_hash,
            opened.respondBy,
            receipt.transaction_hash
        ),
    )
}

async fn resolve(args: ResolveArgs, json_output: bool) -> Result<Outcome, String> {
    let s = args.chain.write().await?;
    let challenges = challenge::challenges_of(&s.provider, s.herald)
        .await
        .map_err(|e| e.to_string())?;
    let opened_receipt =
        alloy::providers::Provider::get_transaction_receipt(&s.provider, args.challenge_tx)
            .await
            .map_err(|e| e.to_string())?
            .ok_or_else(|| format!("--challenge-tx {}: not mined", args.challenge_tx))?;
    let opened = opened_in(&opened_receipt)
        .ok_or_else(|| format!("--challenge-tx {}: opened no challenge", args.challenge_tx))?;
    let (batch, _) = challenge::challenged_batch(&s.provider, challenges, args.challenge_tx)
        .await
        .map_err(|e| format!("--challenge-tx: {e}"))?;
    let contract = HeraldChallenges::new(challenges, &s.provider);
    let receipt = s
        .send(
            "resolve",
            contract.resolve(
                opened.challengeId,
                for_challenges(&batch.receipts),
                batch.signatures.clone(),
            ),
        )
        .await?;
    let resolved = receipt
        .inner
        .logs()
        .iter()
        .find_map(|l| HeraldChallenges::ChallengeResolved::decode_log_data(l.data()).ok())
        .ok_or("the resolve transaction emitted no ChallengeResolved".to_string())?;
    report(
        json_output,
        json!({
            "challenge": opened.challengeId,
            "fraud": resolved.fraud,
            "slashed": resolved.slashed,
            "tx": receipt.transaction_hash,
        }),
        if resolved.fraud {
            format!(
                "fraud: the signers lost {} in bonds (your bounty is claimable with `herald claim`); \
                 the owners of the disputed triggers may now `herald trigger rewind`  tx {}",
                s.format(resolved.slashed),
                receipt.transaction_hash
            )
        } else {
            format!(
                "every challenged log was proven: the deposits went to whoever proved them  tx {}",
                receipt.transaction_hash
            )
        },
    )
}

fn opened_in(receipt: &TransactionReceipt) -> Option<HeraldChallenges::ChallengeOpened> {
    receipt
        .inner
        .logs()
        .iter()
        .find_map(|l| HeraldChallenges::ChallengeOpened::decode_log_data(l.data()).ok())
}
