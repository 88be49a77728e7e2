//! `herald devnet`: a whole Herald network on this machine, running seed 000's example.
//!
//! Starts anvil from the project's toolchain, deploys the contracts, registers a priced connector
//! type and webhook service type, bonds and starts keepers, escrows a demo user's budget, creates
//! seed 000's trigger pointed at a built-in receiver, and mints sample transfers. Deliveries and
//! settlements are printed as they happen, then who was paid what. `--once` stops there and exits
//! 0 only if every matching transfer was delivered once and settled; otherwise the network keeps
//! running for you to use until Ctrl-C, which stops the keepers and anvil.

use std::{
    collections::HashSet,
    time::{Duration, Instant},
};

use alloy::primitives::U256;
use clap::Args;
use herald_devnet::{Demo, DemoOptions, Progress};

use crate::Outcome;

#[derive(Args)]
pub(crate) struct DevnetArgs {
    /// Run the scenario to completion, print the summary and exit (0: all delivered and settled).
    #[arg(long)]
    once: bool,
    /// The port anvil listens on (0: any free port).
    #[arg(long, default_value_t = 8545)]
    port: u16,
    /// Keepers to run; a majority of them must co-sign each settlement.
    #[arg(long, default_value_t = 3)]
    keepers: usize,
    /// The port the REST API is served on (0: any free port).
    #[arg(long, default_value_t = 8080)]
    api_port: u16,
    /// Longest to wait for the scenario, seconds.
    #[arg(long, default_value_t = 60)]
    timeout: u64,
}

pub(crate) fn run(args: DevnetArgs, json: bool) -> Result<Outcome, String> {
    let runtime = tokio::runtime::Runtime::new().map_err(|e| e.to_string())?;
    runtime
        .block_on(devnet(args, json))
        .map_err(|e| format!("{e:#}"))
}

async fn devnet(args: DevnetArgs, json: bool) -> eyre::Result<Outcome> {
    let say = |line: String| {
        if !json {
            println!("{line}");
        }
    };
    let demo = Demo::start(&DemoOptions {
        port: args.port,
        keepers: args.keepers,
        api_port: args.api_port,
    })
    .await?;
    say(format!("anvil     {} (chain 31337)", demo.anvil.endpoint()));
    say(format!("Herald    {:#x}", demo.net.herald()));
    say(format!(
        "token     {:#x} (HeraldTestToken, watched)",
        demo.token
    ));
    say(format!("receiver  {}", demo.receiver.url()));
    say(format!(
        "api       {} (docs {0}/docs; key {})",
        demo.api_url, demo.api_key
    ));
    for keeper in &demo.keepers {
        say(format!("keeper    {:#x}", keeper.address));
    }
    say(format!(
        "trigger   #{} seed 000: Transfer on the token, Amount > 10, webhook with foo: bar; budget {} HTT",
        demo.trigger,
        tokens(demo.budget())
    ));

    let expected = demo.emit_samples().await?;
    say(format!(
        "emitted   transfers of {:?}: {expected} match",
        herald_devnet::SAMPLE_AMOUNTS
    ));

    let deadline = Instant::now() + Duration::from_secs(args.timeout);
    let mut shown = Shown::default();
    let progress = loop {
        let progress = demo.progress().await?;
        shown.print(&progress, json);
        let done = progress.settled.len() + progress.rejected.len() >= expected
            && progress.delivered.len() >= expected;
        if done || Instant::now() >= deadline {
            break progress;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    };

    let (payouts, budget) = demo.payouts().await?;
    let ids: HashSet<&String> = progress.delivered.iter().map(|(id, _)| id).collect();
    let ok = progress.delivered.len() == expected
        && ids.len() == expected
        && progress.settled.len() == expected
        && progress.rejected.is_empty();
    let fees: U256 = progress.settled.iter().map(|(_, fee)| *fee).sum();
    if json {
        println!(
            "{}",
            serde_json::json!({
                "ok": ok,
                "api": demo.api_url,
                "api_key": demo.api_key,
                "expected": expected,
                "delivered": progress.delivered.len(),
                "settled": progress.settled.len(),
                "rejected": progress.rejected.len(),
                "fees": fees.to_string(),
                "budget_left": budget.to_string(),
                "payouts": payouts.iter().map(|p| serde_json::json!({
                    "role": p.role, "address": p.address, "claimable": p.claimable.to_string(),
                })).collect::<Vec<_>>(),
            })
        );
    } else {
        println!();
        println!("{:<42} {:<44} {:>14}", "party", "address", "claimable HTT");
        for p in &payouts {
            println!(
                "{:<42} {:<44} {:>14}",
                p.role,
                format!("{:#x}", p.address),
                tokens(p.claimable)
            );
        }
        println!(
            "{:<42} {:<44} {:>14}",
            "demo user paid (trigger budget debited)",
            format!("{:#x}", demo.user),
            tokens(fees)
        );
        println!();
        println!(
            "{}: {} of {expected} matching transfers delivered, {} settled, {} rejected; budget left {} HTT",
            if ok { "ok" } else { "INCOMPLETE" },
            progress.delivered.len(),
            progress.settled.len(),
            progress.rejected.len(),
            tokens(budget)
        );
    }

    if !args.once {
        say(format!(
            "\nthe devnet keeps running (Ctrl-C stops it). To act as the demo user from another shell:\n\
             export HERALD_RPC_URL={} HERALD_ADDRESS={:#x}\n\
             export HERALD_PRIVATE_KEY=0x{}   # anvil's public development key #9\n\
             herald balance; herald trigger list; herald deposit 10",
            demo.anvil.endpoint(),
            demo.net.herald(),
            alloy::hex::encode(demo.anvil.keys()[9].to_bytes()),
        ));
        let shutdown = crate::keeper::shutdown_signal();
        tokio::pin!(shutdown);
        loop {
            tokio::select! {
                () = &mut shutdown => break,
                () = tokio::time::sleep(Duration::from_millis(500)) => {
                    shown.print(&demo.progress().await?, json);
                }
            }
        }
        say("stopping the keepers and anvil".to_string());
    }
    demo.stop().await?;
    Ok(if ok || !args.once {
        Outcome::Yes
    } else {
        Outcome::No
    })
}

/// What has been printed already, so live output shows each thing once.
#[derive(Default)]
struct Shown {
    delivered: usize,
    settled: usize,
    rejected: usize,
}

impl Shown {
    fn print(&mut self, progress: &Progress, json: bool) {
        if json {
            return;
        }
        for (id, amount) in progress.delivered.iter().skip(self.delivered) {
            println!("delivered webhook {id} (Amount {amount})");
        }
        for (event, fee) in progress.settled.iter().skip(self.settled) {
            println!("settled   event {event}: fee {} HTT", tokens(*fee));
        }
        for (event, reason) in progress.rejected.iter().skip(self.rejected) {
            println!("REJECTED  event {event}: reason code {reason}");
        }
        self.delivered = progress.delivered.len();
        self.settled = progress.settled.len();
        self.rejected = progress.rejected.len();
    }
}

/// An amount of the devnet's 18-decimal token.
fn tokens(amount: U256) -> String {
    crate::session::tokens(amount, 18)
}
