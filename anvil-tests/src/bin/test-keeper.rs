//! The keeper node as the integration tests run it: `herald keeper run` without the rest of the
//! CLI, so the tests can find it through `CARGO_BIN_EXE_test-keeper`, kill it and restart it; and,
//! when `HERALD_TEST_FAULT` names a fault, a faulty keeper (see `herald_anvil_tests::fault`).

use std::{path::PathBuf, sync::Arc};

use herald_anvil_tests::fault::{FAULT_VAR, Fault};
use herald_keeper::{
    conduct::{Conduct, Honest},
    node::Identity,
};

fn main() -> std::process::ExitCode {
    let Some(config) = std::env::args().nth(1).map(PathBuf::from) else {
        eprintln!("usage: test-keeper <keeper.toml>");
        return std::process::ExitCode::from(2);
    };
    let config = match herald_keeper::KeeperConfig::load(&config) {
        Ok(config) => config,
        Err(e) => {
            eprintln!("error: {e}");
            return std::process::ExitCode::from(2);
        }
    };
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("warn,herald_keeper=info"));
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .init();
    let conduct: Arc<dyn Conduct> = match std::env::var(FAULT_VAR) {
        Ok(name) => match Fault::named(&name) {
            Some(fault) => Arc::new(fault),
            None => {
                eprintln!("error: {FAULT_VAR}={name:?} names no fault");
                return std::process::ExitCode::from(2);
            }
        },
        Err(_) => Arc::new(Honest),
    };
    let identity = match Identity::load(&config) {
        Ok(identity) => identity,
        Err(e) => {
            eprintln!("error: {e:#}");
            return std::process::ExitCode::from(2);
        }
    };
    let runtime = tokio::runtime::Runtime::new().expect("runtime");
    match runtime.block_on(herald_keeper::node::run_with(
        config,
        identity,
        conduct,
        async {
            let _ = tokio::signal::ctrl_c().await;
        },
    )) {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e:#}");
            std::process::ExitCode::FAILURE
        }
    }
}
