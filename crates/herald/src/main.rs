//! `herald`: the command line of the Herald event-to-action network.
//!
//! Exit codes are part of the interface: 0 success (for `trigger test`: every trigger matched),
//! 1 a negative answer (no match), 2 invalid input (a file that cannot be read or parsed, an
//! invalid trigger), with a one-line reason on stderr that names the file, line and column.

mod account;
mod activity;
mod api_key;
mod bench;
mod challenge;
mod deploy;
mod devnet;
mod event;
mod keeper;
mod keeper_chain;
mod output;
mod publish;
mod session;
mod trigger;
mod trigger_chain;
mod trigger_read;
mod trigger_secrets;

use std::process::ExitCode;

use clap::{Parser, Subcommand};

#[derive(Parser)]
#[command(
    name = "herald",
    version,
    about = "Herald: events in, actions out, settled on chain"
)]
struct Cli {
    /// Print machine-readable JSON instead of text.
    #[arg(long, global = true)]
    json: bool,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Deposit tokens into Herald (approving it first if needed).
    Deposit(account::DepositArgs),
    /// Take tokens out: from your balance now, or from a trigger's budget after a delay.
    #[command(subcommand)]
    Withdraw(account::WithdrawCommand),
    /// Show a wallet's tokens, deposited balance, trigger budgets and claimable rewards.
    Balance(account::BalanceArgs),
    /// Claim the rewards you earned as a developer, keeper or treasury.
    Claim(account::ClaimArgs),
    /// Publish connector types (developers are paid per use).
    #[command(subcommand)]
    Connector(publish::ConnectorCommand),
    /// Publish service types (developers are paid per use).
    #[command(subcommand)]
    Service(publish::ServiceCommand),
    /// A keeper's executions, with their logs and results (from its store).
    #[command(subcommand)]
    Executions(activity::ExecutionsCommand),
    /// Receipts settled or rejected on chain.
    #[command(subcommand)]
    Receipts(activity::ReceiptsCommand),
    /// Keys for a keeper's REST API.
    #[command(subcommand)]
    ApiKey(api_key::ApiKeyCommand),
    /// Measure the keeper end to end on a local anvil (prints one line of figures).
    #[command(subcommand)]
    Bench(bench::BenchCommand),
    /// Prove on chain that keepers signed a receipt for a log that never happened.
    #[command(subcommand)]
    Challenge(challenge::ChallengeCommand),
    /// Run a whole network on this machine: anvil, contracts, keepers and seed 000's demo.
    Devnet(devnet::DevnetArgs),
    /// Deploy the Herald contracts (and a test token where asked) and record them in deploy/.
    Deploy(deploy::DeployArgs),
    /// Define event types and emit signed events through a keeper's REST API.
    #[command(subcommand)]
    Event(event::EventCommand),
    /// Run a keeper node.
    #[command(subcommand)]
    Keeper(keeper::KeeperCommand),
    /// Work with trigger files.
    #[command(subcommand)]
    Trigger(trigger::TriggerCommand),
}

/// What a command concluded, mapped to the exit code.
pub(crate) enum Outcome {
    /// 0: done, or every trigger matched.
    Yes,
    /// 1: a trigger did not match.
    No,
}

/// Runs an async command to completion.
pub(crate) fn on_runtime(
    command: impl std::future::Future<Output = Result<Outcome, String>>,
) -> Result<Outcome, String> {
    tokio::runtime::Runtime::new()
        .map_err(|e| format!("starting the runtime: {e}"))?
        .block_on(command)
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Deposit(args) => on_runtime(account::deposit(args, cli.json)),
        Command::Withdraw(command) => on_runtime(account::withdraw(command, cli.json)),
        Command::Balance(args) => on_runtime(account::balance(args, cli.json)),
        Command::Claim(args) => on_runtime(account::claim(args, cli.json)),
        Command::Connector(command) => on_runtime(publish::connector(command, cli.json)),
        Command::Service(command) => on_runtime(publish::service(command, cli.json)),
        Command::Executions(command) => on_runtime(activity::executions(command, cli.json)),
        Command::Receipts(command) => on_runtime(activity::receipts(command, cli.json)),
        Command::ApiKey(command) => on_runtime(api_key::run(command, cli.json)),
        Command::Bench(command) => bench::run(command, cli.json),
        Command::Challenge(command) => challenge::run(command, cli.json),
        Command::Deploy(args) => deploy::run(args, cli.json),
        Command::Devnet(args) => devnet::run(args, cli.json),
        Command::Event(command) => on_runtime(event::run(command, cli.json)),
        Command::Keeper(command) => keeper::run(command, cli.json),
        Command::Trigger(command) => trigger::run(command, cli.json),
    };
    match result {
        Ok(Outcome::Yes) => ExitCode::SUCCESS,
        Ok(Outcome::No) => ExitCode::from(1),
        Err(reason) => {
            eprintln!("error: {reason}");
            ExitCode::from(2)
        }
    }
}
