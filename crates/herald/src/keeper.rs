//! `herald keeper …`: run a keeper node, and manage its registration.

use std::path::PathBuf;

use clap::{Args, Subcommand};
use herald_keeper::{KeeperConfig, node};

use crate::Outcome;

#[derive(Subcommand)]
pub(crate) enum KeeperCommand {
    /// Follow the chain, run matching triggers' services and settle their receipts.
    Run(ConfigArgs),
    /// Register as a keeper with a bond (approving Herald first if needed).
    Register {
        #[command(flatten)]
        chain: crate::session::ChainArgs,
        /// The bond, in tokens.
        #[arg(long)]
        bond: String,
        /// Where other keepers reach this one for attestation (http:// or https://).
        #[arg(long)]
        endpoint: String,
        /// The cold key the bond and rewards belong to: alone it withdraws the bond, and the
        /// keeper's rewards can be claimed only to it. Default: this (hot) key itself, which a
        /// thief of the node's key could then empty.
        #[arg(long, value_name = "ADDRESS")]
        bond_owner: Option<alloy::primitives::Address>,
    },
    /// Add to your bond.
    Bond {
        #[command(flatten)]
        chain: crate::session::ChainArgs,
        /// Tokens to add.
        amount: String,
    },
    /// Start unbonding (you stop being active at once); with --withdraw, take the bond back after
    /// the unbonding delay.
    Unbond {
        #[command(flatten)]
        chain: crate::session::ChainArgs,
        /// Withdraw the bond (after the delay) instead of starting to unbond.
        #[arg(long)]
        withdraw: bool,
        /// The keeper to unbond, when HERALD_PRIVATE_KEY is its bond owner's cold key (default:
        /// the account of HERALD_PRIVATE_KEY).
        #[arg(long, value_name = "ADDRESS")]
        keeper: Option<alloy::primitives::Address>,
    },
    /// A keeper's bond, state, endpoint and rewards.
    Status {
        #[command(flatten)]
        chain: crate::session::ChainArgs,
        /// The keeper (default: the account of HERALD_PRIVATE_KEY).
        address: Option<alloy::primitives::Address>,
    },
}

#[derive(Args)]
pub(crate) struct ConfigArgs {
    /// The keeper's configuration; every key can be overridden by HERALD_<SECTION>__<KEY>.
    #[arg(long, default_value = "keeper.toml")]
    config: PathBuf,
}

pub(crate) fn run(command: KeeperCommand, json_output: bool) -> Result<Outcome, String> {
    use crate::{keeper_chain, on_runtime};
    let load = |args: &ConfigArgs| KeeperConfig::load(&args.config).map_err(|e| e.to_string());
    match command {
        KeeperCommand::Register {
            chain,
            bond,
            endpoint,
            bond_owner,
        } => on_runtime(keeper_chain::register(
            chain,
            bond,
            endpoint,
            bond_owner,
            json_output,
        )),
        KeeperCommand::Bond { chain, amount } => {
            on_runtime(keeper_chain::bond(chain, amount, json_output))
        }
        KeeperCommand::Unbond {
            chain,
            withdraw,
            keeper,
        } => on_runtime(keeper_chain::unbond(chain, withdraw, keeper, json_output)),
        KeeperCommand::Status { chain, address } => {
            on_runtime(keeper_chain::status(chain, address, json_output))
        }
        KeeperCommand::Run(args) => {
            let config = load(&args)?;
            init_tracing();
            on_runtime(async {
                node::run(config, shutdown_signal())
                    .await
                    .map_err(|e| format!("{e:#}"))?;
                Ok(Outcome::Yes)
            })
        }
    }
}

/// Logs to stderr; `RUST_LOG` chooses what (default: info for Herald, warnings for the rest).
fn init_tracing() {
    use tracing_subscriber::EnvFilter;
    let filter = EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| EnvFilter::new("warn,herald=info,herald_keeper=info"));
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .try_init();
}

/// Resolves on Ctrl-C or SIGTERM.
pub(crate) async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut signal) => {
                signal.recv().await;
            }
            Err(_) => std::future::pending().await,
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => {},
        () = term => {},
    }
}
