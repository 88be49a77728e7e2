//! `herald bench latency`: from a mined transaction to its webhook arriving.
//!
//! One event at a time, so each measurement is the pipeline's latency and not a queue's: the clock
//! starts just before `eth_sendRawTransaction` (anvil mines it inside that call, so mining is
//! counted against Herald) and stops when the receiver reads the request. In between: the new-head
//! notification over WebSocket, the log read, decoding, matching, the budget check, the durable
//! write of event, execution and cursor, and the signed POST.

use std::time::{Duration, Instant};

use alloy::{primitives::U256, sol_types::SolCall};
use clap::Args;
use herald_chain::bindings::HeraldTestToken;
use herald_devnet::KeeperSettings;

use super::rig::Rig;

#[derive(Args)]
pub(crate) struct LatencyArgs {
    /// Events measured (after a warm-up of 20).
    #[arg(long, default_value_t = 1_000)]
    events: usize,
    /// Keepers (several form a network; the trigger's performer delivers).
    #[arg(long, default_value_t = 1)]
    keepers: usize,
}

const WARM_UP: usize = 20;

pub(crate) async fn run(args: LatencyArgs, json: bool) -> eyre::Result<()> {
    let rig = Rig::start(
        KeeperSettings {
            batch_size: 100,
            batch_age_ms: 500,
            ..KeeperSettings::default()
        },
        args.keepers,
    )
    .await?;
    let mut emitter = rig.emitter().await?;
    let to = emitter.address();
    let mint = |amount: usize| -> alloy::primitives::Bytes {
        HeraldTestToken::mintCall {
            to,
            amount: U256::from(11 + amount),
        }
        .abi_encode()
        .into()
    };
    let gas = emitter.estimate(mint(0)).await?;
    let total = WARM_UP + args.events;
    let mut signed = Vec::with_capacity(total);
    for i in 0..total {
        signed.push(emitter.sign(mint(i), gas).await?);
    }

    let mut samples = Vec::with_capacity(args.events);
    for (i, raw) in signed.iter().enumerate() {
        let start = Instant::now();
        emitter.send(raw).await?;
        // The first event also waits for the keeper to finish starting.
        let wait = if i == 0 { 60 } else { 10 };
        if !rig
            .receiver
            .wait_for_accepted(i + 1, Duration::from_secs(wait))
            .await
        {
            eyre::bail!(
                "event {i} was not delivered within {wait} s{}",
                if rig.keeper.has_stopped() {
                    " (the keeper stopped; RUST_LOG=info shows why)"
                } else {
                    ""
                }
            );
        }
        if i >= WARM_UP {
            let arrived = rig.receiver.last_arrival();
            samples.push(arrived.map_or(Duration::ZERO, |at| at.saturating_duration_since(start)));
        }
    }
    rig.stop().await?;

    samples.sort();
    let pick = |q: f64| samples[((samples.len() - 1) as f64 * q).round() as usize];
    let (p50, p99, max) = (pick(0.50), pick(0.99), pick(1.0));
    if json {
        println!(
            "{}",
            serde_json::json!({
                "events": samples.len(),
                "p50_ms": p50.as_secs_f64() * 1e3,
                "p99_ms": p99.as_secs_f64() * 1e3,
                "max_ms": max.as_secs_f64() * 1e3,
            })
        );
    } else {
        println!(
            "latency: p50={:.2}ms p99={:.2}ms max={:.2}ms (events={}, ws, 0 confirmations)",
            p50.as_secs_f64() * 1e3,
            p99.as_secs_f64() * 1e3,
            max.as_secs_f64() * 1e3,
            samples.len()
        );
    }
    Ok(())
}
