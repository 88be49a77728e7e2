//! `herald executions list | show` (from a keeper's store) and `herald receipts list` (from chain).

use alloy::{primitives::U256, providers::Provider, rpc::types::Filter, sol_types::SolEvent};
use clap::{Args, Subcommand};
use herald_chain::bindings::Herald;
use herald_store::{ExecutionFilter, ExecutionKey, ExecutionRecord, ExecutionStatus, Store};
use serde_json::json;

use crate::{Outcome, session::ChainArgs};

#[derive(Args, Clone)]
pub(crate) struct StoreArgs {
    /// The keeper's store: sqlite://<file> or postgres://….
    #[arg(long, env = "DATABASE_URL", default_value = "sqlite://keeper.db")]
    store: String,
}

impl StoreArgs {
    /// The store's URL.
    pub(crate) fn url(&self) -> &str {
        &self.store
    }
}

#[derive(Subcommand)]
pub(crate) enum ExecutionsCommand {
    /// Executions, newest first.
    List {
        #[command(flatten)]
        store: StoreArgs,
        /// Only this trigger's.
        #[arg(long)]
        trigger: Option<u64>,
        /// Only those in this state: pending, succeeded, failed, skipped, retracted.
        #[arg(long)]
        status: Option<String>,
        /// Most rows.
        #[arg(long, default_value_t = 50)]
        limit: u32,
    },
    /// One execution with its log and result: `herald executions show <trigger>:<event id>`.
    Show {
        #[command(flatten)]
        store: StoreArgs,
        /// The execution key (also the webhook-id).
        key: String,
    },
}

#[derive(Subcommand)]
pub(crate) enum ReceiptsCommand {
    /// Receipts settled or rejected on chain, oldest first.
    List {
        #[command(flatten)]
        chain: ChainArgs,
        /// Only this trigger's.
        #[arg(long)]
        trigger: Option<u64>,
    },
}

pub(crate) async fn executions(
    command: ExecutionsCommand,
    json_output: bool,
) -> Result<Outcome, String> {
    match command {
        ExecutionsCommand::List {
            store,
            trigger,
            status,
            limit,
        } => {
            let status = status
                .map(|s| s.parse::<ExecutionStatus>())
                .transpose()
                .map_err(|e| format!("--status: {e}"))?;
            let store = open(&store).await?;
            let page = store
                .executions(&ExecutionFilter {
                    trigger_id: trigger,
                    status,
                    limit,
                    ..ExecutionFilter::default()
                })
                .await
                .map_err(|e| e.to_string())?;
            if json_output {
                println!(
                    "{}",
                    serde_json::Value::Array(page.items.iter().map(to_json).collect())
                );
            } else {
                println!(
                    "{:<80} {:<10} {:<10} detail",
                    "execution", "status", "settlement"
                );
                for r in &page.items {
                    println!(
                        "{:<80} {:<10} {:<10} {}",
                        r.execution.key.to_string(),
                        r.execution.status.as_str(),
                        r.settlement,
                        r.execution.detail.as_deref().unwrap_or("")
                    );
                }
            }
            Ok(Outcome::Yes)
        }
        ExecutionsCommand::Show { store, key } => {
            let parsed: ExecutionKey = key.parse()?;
            let store = open(&store).await?;
            let record = store
                .execution_record(parsed)
                .await
                .map_err(|e| e.to_string())?
                .ok_or_else(|| format!("no execution {key} in this store"))?;
            if json_output {
                println!("{}", to_json(&record));
            } else {
                println!("execution   {}", record.execution.key);
                println!(
                    "status      {} after {} attempt(s)",
                    record.execution.status.as_str(),
                    record.execution.attempts
                );
                println!(
                    "detail      {}",
                    record.execution.detail.as_deref().unwrap_or("-")
                );
                println!(
                    "result      {}",
                    record.execution.result_hash.as_deref().unwrap_or("-")
                );
                println!("fee quoted  {}", record.fee.as_deref().unwrap_or("-"));
                println!(
                    "settlement  {} {} {}",
                    record.settlement,
                    record.settle_detail.as_deref().unwrap_or(""),
                    record.settle_tx.as_deref().unwrap_or("")
                );
                println!("block       {}", record.block);
                if let Some(request) = &record.request {
                    println!("request     {request}");
                }
            }
            Ok(Outcome::Yes)
        }
    }
}

pub(crate) async fn receipts(
    command: ReceiptsCommand,
    json_output: bool,
) -> Result<Outcome, String> {
    let ReceiptsCommand::List { chain, trigger } = command;
    let s = chain.read().await?;
    let mut filter = Filter::new()
        .address(s.herald)
        .event_signature(vec![
            Herald::ReceiptSettled::SIGNATURE_HASH,
            Herald::ReceiptRejected::SIGNATURE_HASH,
        ])
        .from_block(0);
    if let Some(id) = trigger {
        filter = filter.topic1(U256::from(id));
    }
    let logs = s
        .provider
        .get_logs(&filter)
        .await
        .map_err(|e| e.to_string())?;
    let mut rows = Vec::new();
    for log in &logs {
        let block = log.block_number.unwrap_or_default();
        let tx = log.transaction_hash.unwrap_or_default();
        if let Ok(e) = log.log_decode::<Herald::ReceiptSettled>() {
            let e = e.inner.data;
            rows.push(
                json!({"trigger": e.triggerId, "event": e.eventId, "outcome": "settled",
                             "fee": e.fee.to_string(), "block": block, "tx": tx}),
            );
        } else if let Ok(e) = log.log_decode::<Herald::ReceiptRejected>() {
            let e = e.inner.data;
            rows.push(
                json!({"trigger": e.triggerId, "event": e.eventId, "outcome": "rejected",
                             "reason": e.reason, "block": block, "tx": tx}),
            );
        }
    }
    if json_output {
        println!("{}", serde_json::Value::Array(rows));
    } else {
        println!(
            "{:>7} {:<68} {:<9} {:>8}  fee / reason",
            "trigger", "event", "outcome", "block"
        );
        for r in &rows {
            let fee_or_reason = match r.get("fee").and_then(|f| f.as_str()) {
                Some(fee) => s.format(fee.parse().unwrap_or_default()),
                None => format!("reason code {}", r["reason"]),
            };
            println!(
                "{:>7} {:<68} {:<9} {:>8}  {fee_or_reason}",
                r["trigger"],
                r["event"].as_str().unwrap_or_default(),
                r["outcome"].as_str().unwrap_or_default(),
                r["block"],
            );
        }
    }
    Ok(Outcome::Yes)
}

async fn open(args: &StoreArgs) -> Result<Store, String> {
    Store::connect(&args.store).await.map_err(|e| e.to_string())
}

fn to_json(r: &ExecutionRecord) -> serde_json::Value {
    json!({
        "key": r.execution.key.to_string(),
        "trigger": r.execution.key.trigger_id,
        "event": r.execution.key.event_id.to_string(),
        "status": r.execution.status.as_str(),
        "attempts": r.execution.attempts,
        "detail": r.execution.detail,
        "result_hash": r.execution.result_hash,
        "fee": r.fee,
        "settlement": r.settlement,
        "settle_tx": r.settle_tx,
        "settle_detail": r.settle_detail,
        "block": r.block,
        "created_ms": r.created_ms,
        "updated_ms": r.updated_ms,
        "request": r.request.as_deref().and_then(|t| serde_json::from_str::<serde_json::Value>(t).ok()),
    })
}
