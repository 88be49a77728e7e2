//! `herald bench …`: the keeper's speed, measured end to end on a real anvil.
//!
//! Both benchmarks start their own anvil from the project's toolchain, deploy the contracts,
//! register priced types and a bonded keeper, fund a user whose seed-000 trigger watches a token,
//! and run the real keeper node in this process against a real webhook receiver on 127.0.0.1. They
//! print one line of figures; they assert nothing about speed (the figures go in the README).

mod latency;
mod rig;
mod throughput;

use clap::Subcommand;

use crate::Outcome;

#[derive(Subcommand)]
pub(crate) enum BenchCommand {
    /// Mined transaction → webhook received, one event at a time (ws, 0 confirmations).
    Latency(latency::LatencyArgs),
    /// Sustained matched executions per second: durable store, webhook delivery, settlement.
    Throughput(throughput::ThroughputArgs),
}

pub(crate) fn run(command: BenchCommand, json: bool) -> Result<Outcome, String> {
    if std::env::var_os("RUST_LOG").is_some() {
        let _ = tracing_subscriber::fmt()
            .with_env_filter(tracing_subscriber::EnvFilter::from_default_env())
            .with_writer(std::io::stderr)
            .try_init();
    }
    let runtime = tokio::runtime::Runtime::new().map_err(|e| e.to_string())?;
    let result = runtime.block_on(async {
        match command {
            BenchCommand::Latency(args) => latency::run(args, json).await,
            BenchCommand::Throughput(args) => throughput::run(args, json).await,
        }
    });
    result.map_err(|e| format!("{e:#}"))?;
    Ok(Outcome::Yes)
}
