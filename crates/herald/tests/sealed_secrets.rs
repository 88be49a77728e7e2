//! Sealed secrets end to end, as a trigger owner lives them: the real `herald` CLI creates a
//! trigger whose receiver wants a bearer token, a real keeper delivers to a real receiver, the
//! owner rotates the webhook secret, and the official Standard Webhooks library verifies each
//! delivery with the secret the CLI printed for it; then the receiver refuses a delivery with a
//! 401 that echoes the headers it got. The credential reaches the receiver, and no secret — raw,
//! hex or base64 — is in Herald's logs on chain, the keeper's SQLite files, its trace-level log, or
//! what `herald executions` shows of the store.

use std::{
    io::Write,
    sync::{Arc, Mutex},
    time::Duration,
};

use alloy::{
    node_bindings::AnvilInstance,
    primitives::{Address, U256},
    providers::Provider,
    signers::local::PrivateKeySigner,
};
use assert_cmd::Command;
use base64::{Engine, engine::general_purpose::STANDARD};
use herald_chain::bindings::{Herald, HeraldTestToken};
use herald_devnet::{
    InProcessKeeper, KeeperSettings, Network, Receiver, depositor, provider_for, seed_trigger,
    spawn_anvil,
};
use herald_keeper::node::Identity;
use herald_store::{ExecutionFilter, ExecutionStatus, Store};
use serde_json::Value;
use standardwebhooks::Webhook;

const TOKEN: u128 = 1_000_000_000_000_000_000;
const USER: usize = 9;
const API_TOKEN: &str = "sk-live-5e8d1c0b9a7f6e4d";

/// `herald --json ARGS` as the user, with `env`, which must succeed.
fn herald(anvil: &AnvilInstance, net: &Network, env: &[(&str, &str)], args: &[&str]) -> Value {
    let user: PrivateKeySigner = anvil.keys()[USER].clone().into();
    let mut command = Command::cargo_bin("herald").expect("binary");
    command
        .env("HERALD_RPC_URL", anvil.endpoint())
        .env("HERALD_ADDRESS", net.herald().to_string())
        .env(
            "HERALD_PRIVATE_KEY",
            format!("0x{}", alloy::hex::encode(user.to_bytes())),
        )
        .arg("--json")
        .args(args);
    for (k, v) in env {
        command.env(k, v);
    }
    let out = command.output().expect("runs");
    assert!(
        out.status.success(),
        "herald {args:?} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).expect("JSON on stdout")
}

/// Everything the process logs, at trace level for Herald's crates and sqlx.
#[derive(Clone, Default)]
struct Captured(Arc<Mutex<Vec<u8>>>);

impl Write for Captured {
    fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
        self.0
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .extend_from_slice(bytes);
        Ok(bytes.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// Every form a secret could be written in.
fn forms(secret: &str) -> [String; 3] {
    [
        secret.to_string(),
        alloy::hex::encode(secret),
        STANDARD.encode(secret),
    ]
}

#[tokio::test(flavor = "multi_thread")]
async fn an_owners_sealed_secrets_reach_its_receiver_only_and_rotate() {
    let logged = Captured::default();
    let writer = logged.clone();
    tracing_subscriber::fmt()
        .with_env_filter(
            "herald_keeper=trace,herald_services=trace,herald_store=trace,herald_chain=trace,\
             herald_spec=trace,herald_seal=trace,sqlx=trace",
        )
        .with_writer(move || writer.clone())
        .with_ansi(false)
        .init();
    let anvil = spawn_anvil().expect("anvil");
    // Two keepers: the first runs; the second publishes a key nothing can be sealed to (a
    // low-order X25519 point), which must not stop anyone from sealing to the first.
    let net = Network::setup(&anvil, 2, 1).await.expect("network");
    let mut low_order = [0u8; 32];
    low_order[0] = 1;
    Herald::new(
        net.herald(),
        &provider_for(&anvil, 4).await.expect("provider"),
    )
    .setEncryptionKey(low_order.into())
    .send()
    .await
    .expect("send")
    .get_receipt()
    .await
    .expect("setEncryptionKey");
    depositor(&anvil, &net, USER, U256::from(10 * TOKEN))
        .await
        .expect("deposit");
    let receiver = Receiver::start().await.expect("receiver");
    let token = net.deployment.token.address;
    let dir = tempfile::tempdir().expect("dir");
    let db = dir.path().join("keeper.db");
    let config = KeeperSettings {
        start_block: net.admin.get_block_number().await.expect("head") + 1,
        ..KeeperSettings::default()
    }
    .keeper_config(&anvil, net.herald(), &db)
    .expect("config");
    let store_url = config.store.url.clone();
    let keeper = InProcessKeeper::start(config, Identity::derived(net.keepers[0].clone()));

    let file = dir.path().join("hook.yaml");
    std::fs::write(
        &file,
        seed_trigger(token, &receiver.url()).replace(
            "        foo: bar\n",
            "        foo: bar\n        authorization: 'Bearer {{ secrets.api_token }}'\n",
        ),
    )
    .expect("write");
    let created = herald(
        &anvil,
        &net,
        &[("HERALD_SECRET_API_TOKEN", API_TOKEN)],
        &[
            "trigger",
            "create",
            file.to_str().expect("utf-8"),
            "--budget",
            "1",
            "--secret",
            "api_token",
        ],
    );
    let first = created["webhook_secret"]
        .as_str()
        .expect("the webhook secret, printed once")
        .to_string();
    let shown = herald(&anvil, &net, &[], &["trigger", "secrets", "show", "1"]);
    let user = PrivateKeySigner::from(anvil.keys()[USER].clone()).address();
    let mut sealed_to: Vec<Address> =
        serde_json::from_value(shown["sealed_to"].clone()).expect("addresses");
    sealed_to.sort();
    let mut expected = vec![net.keepers[0].address(), user];
    expected.sort();
    assert_eq!(
        sealed_to, expected,
        "sealed to the keeper and the owner, not to the keeper whose key is unusable"
    );

    let mint = async |amount: u64| {
        HeraldTestToken::new(token, &net.admin)
            .mint(net.keepers[0].address(), U256::from(amount))
            .send()
            .await
            .expect("send")
            .get_receipt()
            .await
            .expect("mint");
    };
    mint(11).await;
    assert!(
        receiver.wait_for_accepted(1, Duration::from_secs(30)).await,
        "the first delivery"
    );
    let rotated = herald(&anvil, &net, &[], &["trigger", "secrets", "rotate", "1"]);
    let second = rotated["webhook_secret"]
        .as_str()
        .expect("the new webhook secret")
        .to_string();
    assert_ne!(first, second);
    mint(12).await;
    assert!(
        receiver.wait_for_accepted(2, Duration::from_secs(30)).await,
        "the delivery after the rotation"
    );

    let delivered = receiver.delivered();
    let verify = |secret: &str, at: usize| {
        Webhook::new(secret)
            .expect("a Standard Webhooks secret")
            .verify(&delivered[at].body, &delivered[at].headers)
            .is_ok()
    };
    assert!(
        verify(&first, 0),
        "the first delivery verifies with the first secret"
    );
    assert!(
        verify(&second, 1),
        "the second verifies with the rotated one"
    );
    assert!(!verify(&first, 1), "and not with the secret it replaced");
    for request in &delivered {
        assert_eq!(
            request.header("authorization"),
            Some(format!("Bearer {API_TOKEN}").as_str())
        );
    }

    // A receiver that refuses, echoing the headers it got: the keeper keeps the refusal, not
    // the credential.
    receiver.answer(401);
    mint(13).await;
    let store = Store::connect(&store_url)
        .await
        .expect("the keeper's store");
    let mut failed = None;
    for _ in 0..300 {
        let page = store
            .executions(&ExecutionFilter {
                status: Some(ExecutionStatus::Failed),
                limit: 10,
                ..ExecutionFilter::default()
            })
            .await
            .expect("executions");
        if let Some(row) = page.items.into_iter().next() {
            failed = Some(row.execution);
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let failed = failed.expect("the refused delivery is recorded as failed");
    let detail = failed.detail.clone().unwrap_or_default();
    assert!(
        detail.contains("HTTP 401") && detail.contains("authorization: Bearer [secret]"),
        "the echo is kept with the credential cut out: {detail}"
    );
    store.close().await;
    let listed = herald(
        &anvil,
        &net,
        &[],
        &["executions", "list", "--store", &store_url],
    );
    let shown = herald(
        &anvil,
        &net,
        &[],
        &[
            "executions",
            "show",
            &failed.key.to_string(),
            "--store",
            &store_url,
        ],
    );

    // What anyone can read on chain, and what the keeper keeps, hold no secret in any form.
    let logs = net
        .admin
        .get_logs(
            &alloy::rpc::types::Filter::new()
                .address(net.herald())
                .from_block(0),
        )
        .await
        .expect("logs");
    keeper.stop().await.expect("the keeper stops");
    let mut kept: Vec<u8> = logs.iter().flat_map(|l| l.data().data.to_vec()).collect();
    kept.extend(listed.to_string().into_bytes());
    kept.extend(shown.to_string().into_bytes());
    kept.extend(
        logged
            .0
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .iter(),
    );
    assert!(
        kept.windows(19).any(|w| w == b"herald_keeper::node"),
        "the keeper's trace log was captured"
    );
    for entry in std::fs::read_dir(dir.path()).expect("dir") {
        let path = entry.expect("entry").path();
        if path.to_string_lossy().contains("keeper.db") {
            kept.extend(std::fs::read(&path).expect("store file"));
        }
    }
    for secret in [first.as_str(), second.as_str(), API_TOKEN] {
        for form in forms(secret) {
            assert!(
                !kept.windows(form.len()).any(|w| w == form.as_bytes()),
                "a secret ({} bytes) is readable on chain, in the store, the log or the CLI",
                form.len()
            );
        }
    }
}
