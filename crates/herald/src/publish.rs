//! `herald connector publish | service publish`: a developer registers a type and is paid per use.
//!
//! The manifest is parsed and checked first (errors carry file:line:col); its keccak256 goes on
//! chain so anyone can check that the manifest served at `--uri` is the one registered.

use std::path::PathBuf;

use alloy::primitives::{Address, aliases::U96, keccak256};
use clap::{Args, Subcommand};
use herald_spec::{ConnectorManifest, ServiceManifest};
use serde_json::json;

use crate::{Outcome, output::report, session::ChainArgs, session::narrow};

#[derive(Subcommand)]
pub(crate) enum ConnectorCommand {
    /// Register a connector type from its manifest.
    Publish {
        #[command(flatten)]
        args: PublishArgs,
        /// What the keeper operating the connector earns per execution, in tokens.
        #[arg(long)]
        operator_fee: String,
    },
}

#[derive(Subcommand)]
pub(crate) enum ServiceCommand {
    /// Register a service type from its manifest.
    Publish {
        #[command(flatten)]
        args: PublishArgs,
        /// The most a runner may charge per execution (e.g. for gas), in tokens.
        #[arg(long)]
        max_runner_fee: String,
    },
}

#[derive(Args)]
pub(crate) struct PublishArgs {
    #[command(flatten)]
    chain: ChainArgs,
    /// The manifest (YAML).
    manifest: PathBuf,
    /// Your fee per execution, in tokens.
    #[arg(long)]
    developer_fee: String,
    /// Where the fees go (default: you).
    #[arg(long)]
    payout: Option<Address>,
    /// Where the manifest can be fetched (default: file://<manifest>).
    #[arg(long)]
    uri: Option<String>,
}

pub(crate) async fn connector(
    command: ConnectorCommand,
    json_output: bool,
) -> Result<Outcome, String> {
    let ConnectorCommand::Publish { args, operator_fee } = command;
    let (text, file) = read(&args)?;
    let manifest = ConnectorManifest::parse(&file, &text).map_err(|e| e.to_string())?;
    let kind = Kind::Connector { operator_fee };
    publish(args, text, manifest.type_name, kind, json_output).await
}

pub(crate) async fn service(command: ServiceCommand, json_output: bool) -> Result<Outcome, String> {
    let ServiceCommand::Publish {
        args,
        max_runner_fee,
    } = command;
    let (text, file) = read(&args)?;
    let manifest = ServiceManifest::parse(&file, &text).map_err(|e| e.to_string())?;
    let kind = Kind::Service { max_runner_fee };
    publish(args, text, manifest.title, kind, json_output).await
}

/// Which registry, with the fee only that kind has.
enum Kind {
    Connector { operator_fee: String },
    Service { max_runner_fee: String },
}

fn read(args: &PublishArgs) -> Result<(String, String), String> {
    let file = args.manifest.display().to_string();
    let text = std::fs::read_to_string(&args.manifest).map_err(|e| format!("{file}: {e}"))?;
    Ok((text, file))
}

async fn publish(
    args: PublishArgs,
    text: String,
    name: String,
    kind: Kind,
    json_output: bool,
) -> Result<Outcome, String> {
    let s = args.chain.write().await?;
    let developer_fee: U96 = narrow(
        "--developer-fee",
        s.parse_amount("--developer-fee", &args.developer_fee)?,
    )?;
    let payout = args.payout.unwrap_or(s.account());
    let hash = keccak256(text.as_bytes());
    let uri = args
        .uri
        .unwrap_or_else(|| format!("file://{}", args.manifest.display()));
    let (kind, flag, extra_fee) = match &kind {
        Kind::Connector { operator_fee } => ("connector", "--operator-fee", operator_fee),
        Kind::Service { max_runner_fee } => ("service", "--max-runner-fee", max_runner_fee),
    };
    let extra_fee: U96 = narrow(flag, s.parse_amount(flag, extra_fee)?)?;
    let contract = s.contract();
    let receipt = if kind == "connector" {
        let call =
            contract.registerConnectorType(payout, developer_fee, extra_fee, hash, uri.clone());
        s.send("registerConnectorType", call).await?
    } else {
        let call =
            contract.registerServiceType(payout, developer_fee, extra_fee, hash, uri.clone());
        s.send("registerServiceType", call).await?
    };
    // Both registries' events index the new id first.
    let id = receipt
        .inner
        .logs()
        .iter()
        .find(|log| log.address() == s.herald)
        .and_then(|log| log.topics().get(1))
        .map(|topic| alloy::primitives::U256::from_be_bytes(topic.0).to::<u32>());
    let id = id.ok_or("the registration was mined without its event")?;
    report(
        json_output,
        json!({"kind": kind, "id": id, "name": name, "manifest_hash": hash, "uri": uri,
               "payout": payout, "tx": receipt.transaction_hash}),
        format!(
            "{kind} type #{id} `{name}` published (manifest {hash}); fees go to {payout:#x}  tx {}",
            receipt.transaction_hash
        ),
    )
}
