//! `herald trigger create | list | show | pause | resume | cancel`: triggers on chain.
//!
//! `create` validates the file exactly as keepers will (the same parser, manifests and ABI check)
//! before any transaction, so a file keepers would refuse never costs gas; errors name the file's
//! line and column.

use std::path::PathBuf;

use alloy::primitives::{
    Address, U256,
    aliases::{U24, U40, U96},
};
use clap::Args;
use herald_chain::bindings::Herald;
use herald_spec::{Manifests, parse_triggers};
use serde_json::json;

use crate::{
    Outcome,
    output::report,
    session::{ChainArgs, narrow},
    trigger_read::{OnChain, owned_trigger, trigger, triggers_of},
};

/// `trigger create`.
#[derive(Args)]
pub(crate) struct CreateArgs {
    #[command(flatten)]
    chain: ChainArgs,
    /// The trigger file (YAML, one trigger).
    file: PathBuf,
    /// Tokens to give the trigger's budget from your deposited balance.
    #[arg(long)]
    budget: String,
    /// The on-chain connector type id (default: the first registered for the file's connector).
    #[arg(long)]
    connector_type: Option<u32>,
    /// The on-chain service type id (default: the first registered for the file's service).
    #[arg(long)]
    service_type: Option<u32>,
    /// Cap per execution in tokens, when the file's limits do not set `max-fee-per-execution`.
    #[arg(long, default_value = "0.1")]
    max_fee: String,
    /// A secret the file's headers reference as `{{ secrets.NAME }}`; its value is read from
    /// `$HERALD_SECRET_<NAME>`. Repeatable. Sealed, with a generated webhook signing secret, to
    /// the keepers active now.
    #[arg(long = "secret", value_name = "NAME")]
    secrets: Vec<String>,
    /// Seal to this keeper only (repeatable; default: every active keeper with a published key).
    #[arg(long = "keeper", value_name = "ADDRESS", conflicts_with = "unsigned")]
    keepers: Vec<Address>,
    /// Register without sealed secrets: deliveries carry no `webhook-signature`.
    #[arg(long, conflicts_with = "secrets")]
    unsigned: bool,
}

/// `trigger list`.
#[derive(Args)]
pub(crate) struct ListArgs {
    #[command(flatten)]
    chain: ChainArgs,
    /// Only this owner's triggers.
    #[arg(long)]
    owner: Option<Address>,
}

/// `trigger show|pause|resume|cancel ID`.
#[derive(Args)]
pub(crate) struct IdArgs {
    #[command(flatten)]
    chain: ChainArgs,
    /// The trigger's id.
    id: u64,
}

pub(crate) async fn create(args: CreateArgs, json_output: bool) -> Result<Outcome, String> {
    let file = args.file.display().to_string();
    let text = std::fs::read_to_string(&args.file).map_err(|e| format!("{file}: {e}"))?;
    let specs = parse_triggers(&file, &text).map_err(|e| e.to_string())?;
    let [spec] = specs.as_slice() else {
        return Err(format!(
            "{file}: defines {} triggers; `trigger create` registers one per file",
            specs.len()
        ));
    };
    let manifests = Manifests::builtin();
    manifests.validate(&file, spec).map_err(|e| e.to_string())?;
    if let Some(abi) = &spec.source.abi {
        herald_connectors::evm::EventAbi::parse(&abi.value)
            .map_err(|e| format!("{file}:{}:{}: connector.abi: {e}", abi.at.line, abi.at.col))?;
    }
    if let Some(contract) = &spec.source.contract {
        contract.value.parse::<Address>().map_err(|e| {
            format!(
                "{file}:{}:{}: connector.contract: {e}",
                contract.at.line, contract.at.col
            )
        })?;
    }

    let mut secrets = crate::trigger_secrets::from_env(&args.secrets)?;
    for referenced in herald_spec::referenced_secrets(spec) {
        if secrets.get(&referenced.value).is_none() {
            return Err(format!(
                "{file}:{}: a header references `{{{{ secrets.{} }}}}`: give --secret {} (its value in ${})",
                referenced.at,
                referenced.value,
                referenced.value,
                crate::trigger_secrets::env_var(&referenced.value)
            ));
        }
    }

    let s = args.chain.write().await?;
    let budget = s.parse_amount("--budget", &args.budget)?;
    let max_fee = match &spec.limits.max_fee_per_execution {
        Some(wei) => wei
            .parse::<U256>()
            .map_err(|_| format!("{file}: max-fee-per-execution: {wei:?} is not an amount"))?,
        None => s.parse_amount("--max-fee", &args.max_fee)?,
    };
    let deposited = s
        .contract()
        .balanceOf(s.account())
        .call()
        .await
        .map_err(|e| e.to_string())?;
    if deposited < budget {
        return Err(format!(
            "insufficient balance: the budget needs {} and {:#x} has {} deposited (herald deposit)",
            s.format(budget),
            s.account(),
            s.format(deposited)
        ));
    }
    let (connector_type, service_type) = match (args.connector_type, args.service_type) {
        (Some(c), Some(s)) => (c, s),
        (given_connector, given_service) => {
            // Keepers serve a trigger only on types registered for the manifests it uses.
            let connector_hash = manifests
                .connector(&spec.connector.value)
                .map(|m| m.manifest_hash)
                .unwrap_or_default();
            let service_hash = manifests
                .service(&spec.service.value)
                .map(|m| m.manifest_hash)
                .unwrap_or_default();
            let contract = s.contract();
            let (c, t) = herald_chain::state::registered_types(
                contract.provider(),
                *contract.address(),
                connector_hash,
                service_hash,
            )
            .await
            .map_err(|e| e.to_string())?;
            let missing = |flag: &str, name: &str, hash| {
                format!(
                    "no type is registered for `{name}` (manifest {hash}); publish one or give {flag}"
                )
            };
            (
                given_connector.or(c).ok_or_else(|| {
                    missing("--connector-type", &spec.connector.value, connector_hash)
                })?,
                given_service
                    .or(t)
                    .ok_or_else(|| missing("--service-type", &spec.service.value, service_hash))?,
            )
        }
    };
    let terms = Herald::TriggerTerms {
        connectorType: U24::from(connector_type),
        serviceType: U24::from(service_type),
        maxFeePerExecution: narrow::<80, 2>("max fee per execution", max_fee)?,
        expiresAt: U40::from(
            spec.limits
                .expires_at
                .map_or(0, |t| t.as_second().max(0) as u64),
        ),
        maxExecutions: spec.limits.max_executions.unwrap_or(0),
    };
    let budget96: U96 = narrow("--budget", budget)?;
    // An envelope is bound to its trigger's id, which the contract assigns in order: seal for
    // the next one (`predicted`), and reseal below if another creation took it first.
    let (text, sealed) = if args.unsigned {
        (text, None)
    } else {
        let predicted = s
            .contract()
            .triggerCount()
            .call()
            .await
            .map_err(|e| e.to_string())?
            + 1;
        let webhook = crate::trigger_secrets::with_new_webhook_secret(&mut secrets)?;
        let envelope = crate::trigger_secrets::seal(&s, predicted, &secrets, &args.keepers).await?;
        let text = herald_spec::with_secrets(&file, &text, &envelope.to_base64())
            .map_err(|e| e.to_string())?;
        (text, Some((webhook, predicted)))
    };
    let receipt = s
        .send(
            "createTrigger",
            s.contract()
                .createTrigger(terms, budget96, text.clone().into_bytes().into()),
        )
        .await?;
    let id = receipt
        .decoded_log::<Herald::TriggerCreated>()
        .map(|l| l.data.id)
        .ok_or("createTrigger mined without a TriggerCreated event")?;
    if let Some((_, predicted)) = &sealed
        && id != *predicted
    {
        // The file's envelope names another trigger and opens for no keeper: events from the
        // next block on get one that does.
        let envelope = crate::trigger_secrets::seal(&s, id, &secrets, &args.keepers).await?;
        s.send(
            "setTriggerSecrets",
            s.contract()
                .setTriggerSecrets(id, envelope.to_bytes().into()),
        )
        .await?;
        eprintln!(
            "note: trigger #{id} was created while another took #{predicted}; its secrets were \
             resealed for #{id}, so events before that transaction are skipped unperformed"
        );
    }
    let webhook_secret = sealed.map(|(webhook, _)| webhook);
    report(
        json_output,
        json!({"id": id, "name": spec.name.value, "budget": budget.to_string(),
               "max_fee_per_execution": max_fee.to_string(), "tx": receipt.transaction_hash,
               "webhook_secret": webhook_secret.as_ref().map(ToString::to_string)}),
        format!(
            "trigger #{id} `{}` created with a budget of {} (at most {} per execution)  tx {}{}",
            spec.name.value,
            s.format(budget),
            s.format(max_fee),
            receipt.transaction_hash,
            webhook_secret.map_or_else(
                || "\nunsigned: deliveries carry no webhook-signature".to_string(),
                |w| format!("\nwebhook secret (shown once; verify deliveries with it): {w}")
            )
        ),
    )
}

pub(crate) async fn list(args: ListArgs, json_output: bool) -> Result<Outcome, String> {
    let s = args.chain.read().await?;
    let triggers = triggers_of(&s, args.owner).await?;
    if json_output {
        println!(
            "{}",
            serde_json::Value::Array(triggers.iter().map(to_json).collect())
        );
        return Ok(Outcome::Yes);
    }
    println!(
        "{:>4}  {:<10} {:<44} {:>12} {:>10}",
        "id", "status", "owner", "budget", "executions"
    );
    for t in &triggers {
        println!(
            "{:>4}  {:<10} {:<44} {:>12} {:>10}",
            t.id,
            t.status,
            format!("{:#x}", t.owner),
            s.format(t.budget),
            t.executions
        );
    }
    Ok(Outcome::Yes)
}

pub(crate) async fn show(args: IdArgs, json_output: bool) -> Result<Outcome, String> {
    let s = args.chain.read().await?;
    let t = trigger(&s, args.id).await?;
    if json_output {
        println!("{}", to_json(&t));
        return Ok(Outcome::Yes);
    }
    println!("trigger     #{} ({})", t.id, t.status);
    println!("owner       {:#x}", t.owner);
    println!("budget      {}", s.format(t.budget));
    let limit = if t.max_executions == 0 {
        "no limit".to_string()
    } else {
        format!("of {}", t.max_executions)
    };
    println!("executions  {} ({limit})", t.executions);
    println!("max fee     {} per execution", s.format(t.max_fee));
    if t.expires_at != 0 {
        println!("expires     {} (unix time)", t.expires_at);
    }
    println!("config:\n{}", t.config.trim_end());
    Ok(Outcome::Yes)
}

/// `pause`, `resume` or `cancel`.
pub(crate) async fn set_state(
    args: IdArgs,
    action: &str,
    json_output: bool,
) -> Result<Outcome, String> {
    let s = args.chain.write().await?;
    let id = args.id;
    owned_trigger(&s, id).await?;
    let contract = s.contract();
    let receipt = match action {
        "pause" => s.send("pauseTrigger", contract.pauseTrigger(id)).await?,
        "resume" => s.send("resumeTrigger", contract.resumeTrigger(id)).await?,
        _ => s.send("cancelTrigger", contract.cancelTrigger(id)).await?,
    };
    let t = trigger(&s, id).await?;
    report(
        json_output,
        json!({"id": id, "status": t.status, "tx": receipt.transaction_hash}),
        format!(
            "trigger #{id} is {}  tx {}",
            t.status, receipt.transaction_hash
        ),
    )
}

#[derive(Args)]
pub(crate) struct RewindArgs {
    #[command(flatten)]
    chain: ChainArgs,
    /// The trigger's id.
    id: u64,
    /// Put the cursor at this position (top 64 bits of an event id) instead of the highest one a
    /// genuine receipt settled at.
    #[arg(long)]
    to: Option<u64>,
    /// An event you know to be fabricated though no challenge proved it (an event of another
    /// chain): its receipts count as fabricated. Repeatable.
    #[arg(long = "fabricated")]
    fabricated: Vec<alloy::primitives::B256>,
    /// Rewind below genuine settled receipts, which can then be submitted and paid again.
    #[arg(long)]
    allow_replay: bool,
}

/// `rewind`: only while the trigger is disputed or paused, and only backwards. By default the
/// cursor goes to the highest genuine settled position and the execution count drops by the
/// fabricated receipts that settled, so nothing genuine can be paid twice.
pub(crate) async fn rewind(args: RewindArgs, json_output: bool) -> Result<Outcome, String> {
    let s = args.chain.write().await?;
    let id = args.id;
    let t = owned_trigger(&s, id).await?;
    if t.status == "active" {
        return Err(format!(
            "trigger #{id} is active: only a disputed or paused trigger can be rewound (pause it \
             first)"
        ));
    }
    let plan = herald_chain::rewind::rewind_plan(&s.provider, s.herald, id, &args.fabricated)
        .await
        .map_err(|e| e.to_string())?;
    let key = args.to.unwrap_or_else(|| plan.safe_key());
    let replayable = plan.replayable(key);
    if replayable > 0 && !args.allow_replay {
        return Err(format!(
            "--to {key}: {replayable} genuine receipts settled above it could be paid again; \
             the highest genuine position is {} (pass --allow-replay to go lower anyway)",
            plan.safe_key()
        ));
    }
    let executions = t.executions.saturating_sub(plan.fabricated);
    let receipt = s
        .send(
            "rewindEventCursor",
            s.contract().rewindEventCursor(id, key, executions),
        )
        .await?;
    report(
        json_output,
        json!({"id": id, "cursor": key, "executions": executions,
               "fabricated": plan.fabricated, "replayable": replayable,
               "tx": receipt.transaction_hash}),
        format!(
            "trigger #{id}: events after position {key} can settle again; {} fabricated receipts \
             no longer count ({executions} executions)  tx {}",
            plan.fabricated, receipt.transaction_hash
        ),
    )
}

fn to_json(t: &OnChain) -> serde_json::Value {
    json!({
        "id": t.id,
        "owner": t.owner,
        "status": t.status,
        "budget": t.budget.to_string(),
        "executions": t.executions,
        "max_executions": t.max_executions,
        "max_fee_per_execution": t.max_fee.to_string(),
        "expires_at": t.expires_at,
        "config": t.config,
    })
}
