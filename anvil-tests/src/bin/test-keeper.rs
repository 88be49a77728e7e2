//! The keeper node as the integration tests run it: `herald keeper run` without the rest of the
//! CLI, so the tests can find it through `CARGO_BIN_EXE_test-keeper`, kill it and restart it.

use std::path::PathBuf;

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
    let runtime = tokio::runtime::Runtime::new().expect("runtime");
    match runtime.block_on(herald_keeper::node::run(config, async {
        let _ = tokio::signal::ctrl_c().await;
    })) {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e:#}");
            std::process::ExitCode::FAILURE
        }
    }
}
