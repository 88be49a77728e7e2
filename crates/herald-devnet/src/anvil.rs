//! Finding and starting the project's own anvil.

use std::path::{Path, PathBuf};

use alloy::node_bindings::{Anvil, AnvilInstance};
use eyre::WrapErr;

/// How long anvil may take to say it is listening (see [`spawn_anvil_finalizing`]).
const ANVIL_STARTUP_TIMEOUT_MS: u64 = 60_000;

/// Where anvil is: `$HERALD_ANVIL`, else `.tools/node_modules/.bin/anvil` in this directory or an
/// ancestor (the repository's pinned toolchain, installed by `tools/install`), else the checkout
/// this binary was built from, else `anvil` on the `PATH`.
pub fn anvil_path() -> PathBuf {
    if let Some(path) = std::env::var_os("HERALD_ANVIL") {
        return PathBuf::from(path);
    }
    let in_toolchain = |dir: &Path| {
        dir.ancestors()
            .map(|d| d.join(".tools/node_modules/.bin/anvil"))
            .find(|p| p.is_file())
    };
    std::env::current_dir()
        .ok()
        .and_then(|dir| in_toolchain(&dir))
        .or_else(|| in_toolchain(Path::new(env!("CARGO_MANIFEST_DIR"))))
        .unwrap_or_else(|| PathBuf::from("anvil"))
}

/// Starts anvil (automining, 10 funded development accounts, chain id 31337) on a free port,
/// finalizing every block as it is mined (see [`spawn_anvil_finalizing`]).
pub fn spawn_anvil() -> eyre::Result<AnvilInstance> {
    spawn_anvil_on(0)
}

/// Starts anvil on `port` (0: a free one), finalizing every block as it is mined.
///
/// Keepers sign receipts only of logs in final blocks (`chain.sign_at = "finalized"`). An
/// automining anvil mines a block only for a transaction, so a finalized block any distance
/// behind the head would hold the last event's receipt until unrelated transactions come; with
/// finality at the head, the devnet and the tests run the keepers' real finality checks at no
/// cost (`settle_confirmations` still holds receipts back where a test asks for it).
pub fn spawn_anvil_on(port: u16) -> eyre::Result<AnvilInstance> {
    spawn_anvil_finalizing(port, 0)
}

/// Starts anvil on `port` (0: a free one) whose `finalized` block trails its head by
/// 2 × `slots_in_an_epoch` blocks, as anvil finalizes two epochs back (its default, 32 slots,
/// trails by 64).
///
/// Anvil is given a minute to start rather than alloy's ten seconds: when a test binary starts
/// several at once on a loaded two-core machine, a cold start of the binary has been seen to take
/// longer than ten seconds, and a slow start is not a failure worth reporting.
pub fn spawn_anvil_finalizing(port: u16, slots_in_an_epoch: u64) -> eyre::Result<AnvilInstance> {
    let path = anvil_path();
    Anvil::new()
        .path(&path)
        .port(port)
        .args(["--slots-in-an-epoch", &slots_in_an_epoch.to_string()])
        .timeout(ANVIL_STARTUP_TIMEOUT_MS)
        .try_spawn()
        .wrap_err_with(|| {
            let port = if port == 0 {
                String::new()
            } else {
                format!(" on port {port} (is another node using it? choose one with --port)")
            };
            format!(
                "starting anvil from {}{port} (run tools/install, or set HERALD_ANVIL)",
                path.display()
            )
        })
}
