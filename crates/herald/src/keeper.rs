//! `herald keeper …`: run a keeper node, and show a trigger's webhook secret.

use std::path::PathBuf;

use clap::{Args, Subcommand};
use herald_keeper::{
    KeeperConfig,
    node::{self, load_webhook_seed},
    runner::SecretSource,
};

use crate::Outcome;

#[derive(Subcommand)]
pub(crate) enum KeeperCommand {
    /// Follow the chain, run matching triggers' services and settle their receipts.
    Run(ConfigArgs),
    /// Print the `whsec_` secret a trigger's webhooks are signed with (for its owner's receiver).
    WebhookSecret {
        #[command(flatten)]
        config: ConfigArgs,
        /// The trigger's id.
        #[arg(long)]
        trigger: u64,
        /// The chain's id (read from the node when omitted).
        #[arg(long)]
        chain_id: Option<u64>,
    },
}

#[derive(Args)]
pub(crate) struct ConfigArgs {
    /// The keeper's configuration; every key can be overridden by HERALD_<SECTION>__<KEY>.
    #[arg(long, default_value = "keeper.toml")]
    config: PathBuf,
}

pub(crate) fn run(command: KeeperCommand) -> Result<Outcome, String> {
    let load = |args: &ConfigArgs| KeeperConfig::load(&args.config).map_err(|e| e.to_string());
    let runtime = tokio::runtime::Runtime::new().map_err(|e| e.to_string())?;
    match command {
        KeeperCommand::Run(args) => {
            let config = load(&args)?;
            init_tracing();
            runtime
                .block_on(node::run(config, shutdown_signal()))
                .map_err(|e| format!("{e:#}"))?;
            Ok(Outcome::Yes)
        }
        KeeperCommand::WebhookSecret {
            config,
            trigger,
            chain_id,
        } => {
            let config = load(&config)?;
            let seed = load_webhook_seed(&config).map_err(|e| format!("{e:#}"))?;
            let chain_id = match chain_id {
                Some(id) => id,
                None => runtime.block_on(async {
                    use alloy::providers::{Provider, ProviderBuilder};
                    let provider = ProviderBuilder::new()
                        .connect(&config.chain.rpc_url)
                        .await
                        .map_err(|e| format!("chain.rpc_url {}: {e}", config.chain.rpc_url))?;
                    provider.get_chain_id().await.map_err(|e| e.to_string())
                })?,
            };
            let secrets = SecretSource::new(seed, chain_id, config.chain.herald);
            println!("{}", secrets.for_trigger(trigger));
            Ok(Outcome::Yes)
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
