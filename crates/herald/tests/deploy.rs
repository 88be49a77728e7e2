//! `herald deploy` against a real anvil: deploys, records, reuses, redeploys on --fresh, and refuses
//! a missing or malformed key without echoing it.

use alloy::{node_bindings::AnvilInstance, providers::ProviderBuilder};
use assert_cmd::Command;
use herald_chain::{Deployment, bindings::Herald};

/// The project's own anvil (tools/install puts it in .tools/; `HERALD_ANVIL` overrides).
fn anvil() -> AnvilInstance {
    herald_devnet::spawn_anvil().expect("anvil starts")
}

fn key(anvil: &AnvilInstance) -> String {
    format!("0x{}", alloy::hex::encode(anvil.keys()[0].to_bytes()))
}

fn deploy(
    anvil: &AnvilInstance,
    dir: &std::path::Path,
    extra: &[&str],
) -> assert_cmd::assert::Assert {
    let mut cmd = Command::cargo_bin("herald").expect("binary");
    cmd.env("HERALD_PRIVATE_KEY", key(anvil))
        .args([
            "--json",
            "deploy",
            "--rpc-url",
            &anvil.endpoint(),
            "--deploy-dir",
        ])
        .arg(dir)
        .args(extra);
    cmd.assert()
}

fn output(assert: &assert_cmd::assert::Assert) -> serde_json::Value {
    serde_json::from_slice(&assert.get_output().stdout).expect("json output")
}

#[tokio::test(flavor = "multi_thread")]
async fn deploys_records_and_reuses() {
    let anvil = anvil();
    let dir = tempfile::tempdir().expect("tempdir");

    let first = deploy(&anvil, dir.path(), &["--test-token"]).code(0);
    let first = output(&first);
    assert_eq!(first["reused"], false);
    let record: Deployment = serde_json::from_str(
        &std::fs::read_to_string(dir.path().join("31337.json")).expect("record written"),
    )
    .expect("record parses");
    assert!(record.test_token);
    assert!(record.herald.tx_hash.is_some() && record.herald.block.is_some());

    // The contract is live and wired to the recorded token.
    let provider = ProviderBuilder::new()
        .connect(&anvil.endpoint())
        .await
        .expect("provider");
    let herald = Herald::new(record.herald.address, &provider);
    assert_eq!(
        herald.token().call().await.expect("token()"),
        record.token.address
    );
    assert_eq!(
        herald.treasury().call().await.expect("treasury()"),
        anvil.addresses()[0]
    );

    let second = output(&deploy(&anvil, dir.path(), &["--test-token"]).code(0));
    assert_eq!(second["reused"], true);
    assert_eq!(second["herald"]["address"], first["herald"]["address"]);

    let fresh = output(&deploy(&anvil, dir.path(), &["--test-token", "--fresh"]).code(0));
    assert_eq!(fresh["reused"], false);
    assert_ne!(fresh["herald"]["address"], first["herald"]["address"]);

    // An existing token is used as given.
    let other = tempfile::tempdir().expect("tempdir");
    let token = record.token.address.to_string();
    let with_token = output(&deploy(&anvil, other.path(), &["--token", &token]).code(0));
    assert_eq!(with_token["test_token"], false);
    assert_eq!(
        with_token["token"]["address"]
            .as_str()
            .map(str::to_lowercase),
        Some(token.to_lowercase())
    );
}

/// `herald deploy` against a closed port, with `key` as HERALD_PRIVATE_KEY (or none); returns stderr.
fn failing_deploy(key: Option<&str>, dir: &std::path::Path) -> String {
    let mut cmd = Command::cargo_bin("herald").expect("binary");
    match key {
        Some(key) => cmd.env("HERALD_PRIVATE_KEY", key),
        None => cmd.env_remove("HERALD_PRIVATE_KEY"),
    };
    let out = cmd
        .args([
            "deploy",
            "--rpc-url",
            "http://127.0.0.1:9",
            "--test-token",
            "--deploy-dir",
        ])
        .arg(dir)
        .assert()
        .code(2);
    String::from_utf8_lossy(&out.get_output().stderr).to_string()
}

#[test]
fn refuses_missing_or_malformed_keys_without_echoing_them() {
    let dir = tempfile::tempdir().expect("tempdir");
    assert_eq!(
        failing_deploy(None, dir.path()),
        "error: HERALD_PRIVATE_KEY is not set: export the deployer's private key\n"
    );
    let secret = "0xnot-a-key-but-still-secret";
    let stderr = failing_deploy(Some(secret), dir.path());
    assert_eq!(
        stderr,
        "error: HERALD_PRIVATE_KEY is not a 32-byte hex private key\n"
    );
    assert!(!stderr.contains(secret));
}

#[test]
fn an_unreachable_node_is_a_clear_error() {
    let dir = tempfile::tempdir().expect("tempdir");
    // Anvil's well-known second development key: valid, and worthless.
    let stderr = failing_deploy(
        Some("0x59c6995e998f97a5a0044966f0945389dc9e86dae88c7a8412f4603b6b78690d"),
        dir.path(),
    );
    assert!(
        stderr.starts_with("error: --rpc-url http://127.0.0.1:9: "),
        "{stderr}"
    );
    assert!(!dir.path().join("31337.json").exists(), "nothing recorded");
}

/// Security finding 2: the old constructor defaults (quorum 1, no bond, no activation delay, no
/// slash) let three fresh keepers with dust bonds settle anything. A public deployment now gets a
/// two-thirds stake quorum of at least three keepers and a real bond; parameters that are unsafe in
/// public are refused, naming each risk, unless `--devnet` says this is a local network.
#[tokio::test(flavor = "multi_thread")]
async fn public_deployments_get_safe_parameters_and_unsafe_ones_are_refused() {
    let anvil = anvil();
    let dir = tempfile::tempdir().expect("tempdir");
    let public = output(&deploy(&anvil, dir.path(), &["--test-token"]).code(0));
    let provider = ProviderBuilder::new()
        .connect(&anvil.endpoint())
        .await
        .expect("provider");
    let address = public["herald"]["address"]
        .as_str()
        .and_then(|a| a.parse().ok())
        .expect("address");
    let params = Herald::new(address, &provider)
        .params()
        .call()
        .await
        .expect("params()");
    assert_eq!((params.minSigners, params.quorumBps), (3, 6_666));
    assert_eq!(params.minBond.to::<u128>(), 1_000 * 10u128.pow(18));
    assert!(params.activationDelay >= 86_400 && params.unbondingDelay > params.withdrawalDelay);

    let refused = deploy(
        &anvil,
        dir.path(),
        &[
            "--test-token",
            "--fresh",
            "--min-signers",
            "1",
            "--quorum-bps",
            "5001",
        ],
    )
    .code(2);
    let stderr = String::from_utf8_lossy(&refused.get_output().stderr).to_string();
    assert!(
        stderr
            .starts_with("error: unsafe parameters for a public network: min signers 1 is below 3"),
        "{stderr}"
    );
    assert!(stderr.contains("stake quorum 5001 bps"), "{stderr}");
    assert!(stderr.contains("pass --devnet"), "{stderr}");

    let devnet =
        output(&deploy(&anvil, dir.path(), &["--test-token", "--fresh", "--devnet"]).code(0));
    assert_eq!(devnet["reused"], false);
}

/// The fraud windows assume the code at EIP-2935's address is the history contract: with other
/// code there (a chain that put something else at that address), a public deployment is refused.
#[tokio::test(flavor = "multi_thread")]
async fn a_chain_whose_history_address_holds_other_code_is_refused() {
    use alloy::{eips::eip2935::HISTORY_STORAGE_ADDRESS, providers::ext::AnvilApi};
    let anvil = anvil();
    let dir = tempfile::tempdir().expect("tempdir");
    let provider = ProviderBuilder::new()
        .connect(&anvil.endpoint())
        .await
        .expect("provider");
    // Anvil serves the real history contract: nothing to refuse.
    assert!(
        herald_chain::chain_check::chain_risks(&provider)
            .await
            .expect("probe")
            .is_empty()
    );
    provider
        .anvil_set_code(HISTORY_STORAGE_ADDRESS, vec![0x60, 0x00].into())
        .await
        .expect("anvil_setCode");
    let refused = deploy(&anvil, dir.path(), &["--test-token"]).code(2);
    let stderr = String::from_utf8_lossy(&refused.get_output().stderr).to_string();
    assert!(
        stderr.contains("is not EIP-2935's history contract"),
        "{stderr}"
    );
    assert!(stderr.contains("pass --devnet"), "{stderr}");
    output(&deploy(&anvil, dir.path(), &["--test-token", "--devnet"]).code(0));
}

/// Keepers sign a log's receipt only once its block is final, and settlement refuses logs older
/// than its maximum event age: a chain finalizing 64 blocks behind its head has room for that
/// with EIP-2935's 4,000 blocks, not without them (96), and is refused then.
#[tokio::test(flavor = "multi_thread")]
async fn a_chain_whose_finality_outlasts_the_event_age_is_refused() {
    use alloy::{eips::eip2935::HISTORY_STORAGE_ADDRESS, providers::ext::AnvilApi};
    use herald_chain::chain_check::MAX_EVENT_AGE_WITH_HISTORY;
    let anvil = herald_devnet::spawn_anvil_finalizing(0, 32).expect("anvil starts");
    let dir = tempfile::tempdir().expect("tempdir");
    let provider = ProviderBuilder::new()
        .connect(&anvil.endpoint())
        .await
        .expect("provider");
    provider.anvil_mine(Some(100), None).await.expect("mine");
    let public = output(&deploy(&anvil, dir.path(), &["--test-token"]).code(0));
    let herald = public["herald"]["address"]
        .as_str()
        .and_then(|a| a.parse().ok())
        .expect("address");
    let challenges = herald_chain::challenge::challenges_of(&provider, herald)
        .await
        .expect("challenges");
    let windows = herald_chain::challenge::windows(&provider, challenges)
        .await
        .expect("windows");
    assert_eq!(
        windows.max_event_age, MAX_EVENT_AGE_WITH_HISTORY,
        "the check assumes the contract's window"
    );

    provider
        .anvil_set_code(HISTORY_STORAGE_ADDRESS, Default::default())
        .await
        .expect("anvil_setCode");
    let refused = deploy(&anvil, dir.path(), &["--test-token", "--fresh"]).code(2);
    let stderr = String::from_utf8_lossy(&refused.get_output().stderr).to_string();
    assert!(
        stderr.contains("trails the head by 64 blocks, more than half of the 96"),
        "{stderr}"
    );
}
