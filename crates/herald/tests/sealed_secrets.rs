//! Sealed secrets end to end, as a trigger owner lives them: the real `herald` CLI creates a
//! trigger whose receiver wants a bearer token, a real keeper delivers to a real receiver, the
//! owner rotates the webhook secret, and the official Standard Webhooks library verifies each
//! delivery with the secret the CLI printed for it; then the receiver refuses a delivery with a
//! 401 that echoes the headers it got. The credential reaches the receiver, and no secret — raw,
//! hex or base64 — is in Herald's logs on chain, the keeper's store (the SQLite files, or a
//! `pg_dump` of its PostgreSQL database), its trace-level log, what the REST API answers or what
//! `herald executions` shows of the store.

use std::{
    io::Write,
    process::Command as Process,
    sync::{Arc, Mutex, OnceLock},
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
    InProcessKeeper, KeeperSettings, Network, Receiver, depositor, free_addr, provider_for,
    seed_trigger, spawn_anvil,
};
use herald_keeper::node::Identity;
use herald_store::{ExecutionFilter, ExecutionStatus, KeyScope, Store};
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

/// Everything this test process logs, at trace level for Herald's crates and sqlx: one subscriber
/// for the process, so every test's keeper is captured, whichever thread it runs on.
fn captured_log() -> &'static Captured {
    static LOG: OnceLock<Captured> = OnceLock::new();
    LOG.get_or_init(|| {
        let logged = Captured::default();
        let writer = logged.clone();
        tracing_subscriber::fmt()
            .with_env_filter(
                "herald_keeper=trace,herald_services=trace,herald_store=trace,herald_chain=trace,\
                 herald_spec=trace,herald_seal=trace,herald_api=trace,sqlx=trace",
            )
            .with_writer(move || writer.clone())
            .with_ansi(false)
            .init();
        logged
    })
}

/// Where the keeper stores.
#[derive(Clone, Copy, Debug)]
enum Backend {
    Sqlite,
    Postgres,
}

/// The local PostgreSQL's `test` database (or `HERALD_TEST_POSTGRES`), as CI starts it.
fn admin_postgres() -> String {
    std::env::var("HERALD_TEST_POSTGRES")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/test".to_string())
}

/// Runs `sql` on the admin database with `psql`.
fn psql(sql: &str) {
    let admin = admin_postgres();
    let out = Process::new("psql")
        .args([admin.as_str(), "-c", sql])
        .output()
        .unwrap_or_else(|e| panic!("psql is needed for the PostgreSQL store: {e}"));
    assert!(
        out.status.success(),
        "PostgreSQL at {admin}, {sql}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// A throwaway database's URL: (URL, name).
fn throwaway_postgres() -> (String, String) {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .expect("after 1970")
        .subsec_nanos();
    let name = format!("herald_sealed_{}_{nanos}", std::process::id());
    psql(&format!("CREATE DATABASE {name}"));
    let admin = admin_postgres();
    let base = admin
        .rsplit_once('/')
        .map_or(admin.as_str(), |(base, _)| base);
    (format!("{base}/{name}"), name)
}

/// `herald trigger create` as the user, of the seed trigger delivering to `receiver` with an
/// `authorization: Bearer {{ secrets.api_token }}` header, sealing `api_token`; written to `file`.
fn create_bearer_trigger(
    anvil: &AnvilInstance,
    net: &Network,
    file: &std::path::Path,
    receiver: &Receiver,
    api_token: &str,
) -> Value {
    std::fs::write(
        file,
        seed_trigger(net.deployment.token.address, &receiver.url()).replace(
            "        foo: bar\n",
            "        foo: bar\n        authorization: 'Bearer {{ secrets.api_token }}'\n",
        ),
    )
    .expect("write");
    herald(
        anvil,
        net,
        &[("HERALD_SECRET_API_TOKEN", api_token)],
        &[
            "trigger",
            "create",
            file.to_str().expect("utf-8"),
            "--budget",
            "1",
            "--secret",
            "api_token",
        ],
    )
}

/// The first execution with `status` the keeper records within 30 s.
async fn first_execution(
    store: &Store,
    status: ExecutionStatus,
) -> Option<herald_store::Execution> {
    for _ in 0..300 {
        let page = store
            .executions(&ExecutionFilter {
                status: Some(status),
                limit: 10,
                ..ExecutionFilter::default()
            })
            .await
            .expect("executions");
        if let Some(row) = page.items.into_iter().next() {
            return Some(row.execution);
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    None
}

#[tokio::test(flavor = "multi_thread")]
async fn an_owners_sealed_secrets_reach_its_receiver_only_and_rotate() {
    sealed_secrets_stay_sealed(Backend::Sqlite).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn an_owners_sealed_secrets_stay_out_of_a_postgres_store() {
    sealed_secrets_stay_sealed(Backend::Postgres).await;
}

async fn sealed_secrets_stay_sealed(backend: Backend) {
    let logged = captured_log();
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
    let api = free_addr(0).expect("a free port");
    let mut config = KeeperSettings {
        start_block: net.admin.get_block_number().await.expect("head") + 1,
        api_listen: Some(api),
        ..KeeperSettings::default()
    }
    .keeper_config(&anvil, net.herald(), &db)
    .expect("config");
    let database = match backend {
        Backend::Sqlite => None,
        Backend::Postgres => {
            let (url, name) = throwaway_postgres();
            config.store.url = url;
            Some(name)
        }
    };
    let store_url = config.store.url.clone();
    // A read key for the REST API, in the store the keeper opens.
    let read_key = herald_api::auth::issue("reader", KeyScope::Read, 6_000);
    let store = Store::connect(&store_url).await.expect("the store");
    store
        .insert_api_key(&read_key.key, &read_key.hash)
        .await
        .expect("insert key");
    store.close().await;
    let keeper = InProcessKeeper::start(config, Identity::derived(net.keepers[0].clone()));

    let created = create_bearer_trigger(
        &anvil,
        &net,
        &dir.path().join("hook.yaml"),
        &receiver,
        API_TOKEN,
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
    let failed = first_execution(&store, ExecutionStatus::Failed)
        .await
        .expect("the refused delivery is recorded as failed");
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

    // What the REST API answers of the executions and the trigger.
    let http = reqwest::Client::new();
    let mut answered = Vec::new();
    for path in [
        "/v1/executions".to_string(),
        format!("/v1/executions/{}", failed.key),
        "/v1/triggers/1".to_string(),
    ] {
        let response = http
            .get(format!("http://{api}{path}"))
            .bearer_auth(&read_key.secret)
            .send()
            .await
            .expect("the API answers");
        assert!(
            response.status().is_success(),
            "GET {path}: {}",
            response.status()
        );
        answered.extend(response.bytes().await.expect("body"));
    }
    assert!(
        answered.windows(15).any(|w| w == b"Bearer [secret]"),
        "the API shows the refusal, the credential cut out"
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
    kept.extend(answered);
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
    match backend {
        Backend::Sqlite => {
            for entry in std::fs::read_dir(dir.path()).expect("dir") {
                let path = entry.expect("entry").path();
                if path.to_string_lossy().contains("keeper.db") {
                    kept.extend(std::fs::read(&path).expect("store file"));
                }
            }
        }
        Backend::Postgres => {
            let dump = Process::new("pg_dump")
                .arg(&store_url)
                .output()
                .expect("pg_dump runs");
            assert!(
                dump.status.success(),
                "{}",
                String::from_utf8_lossy(&dump.stderr)
            );
            let dump = dump.stdout;
            assert!(
                dump.windows(10).any(|w| w == b"executions")
                    && dump.windows(8).any(|w| w == b"HTTP 401"),
                "the dump holds the executions, the refusal included"
            );
            kept.extend(dump);
        }
    }
    if let Some(name) = database {
        psql(&format!("DROP DATABASE {name} WITH (FORCE)"));
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

/// An envelope is bound to its trigger, not only to its owner: an owner contract several users
/// share (a factory, a multisig) owns triggers whose users do not trust each other, and the
/// envelope of one copied into another with an endpoint its user reads must open nowhere. Here
/// the owner copies trigger 1's envelope into trigger 2: trigger 1's receiver still gets its
/// credential, trigger 2's receiver gets nothing, and trigger 2's execution is skipped unperformed.
#[tokio::test(flavor = "multi_thread")]
async fn an_envelope_copied_into_another_trigger_opens_nowhere() {
    let anvil = spawn_anvil().expect("anvil");
    let net = Network::setup(&anvil, 1, 1).await.expect("network");
    depositor(&anvil, &net, USER, U256::from(10 * TOKEN))
        .await
        .expect("deposit");
    let (sealed_for, copied_to) = (
        Receiver::start().await.expect("receiver"),
        Receiver::start().await.expect("receiver"),
    );
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

    for (name, receiver, api_token) in [
        ("one.yaml", &sealed_for, API_TOKEN),
        ("two.yaml", &copied_to, "sk-live-of-trigger-two"),
    ] {
        create_bearer_trigger(&anvil, &net, &dir.path().join(name), receiver, api_token);
    }
    // Trigger 1's envelope, as anyone reads it from its creation.
    let created = net
        .admin
        .get_logs(&herald_chain::state::created_filter(
            net.herald(),
            Some(1),
            None,
        ))
        .await
        .expect("logs");
    let created = created[0]
        .log_decode::<Herald::TriggerCreated>()
        .expect("TriggerCreated");
    let config = String::from_utf8(created.inner.data.config.to_vec()).expect("utf-8");
    let specs = herald_spec::parse_triggers("trigger #1", &config).expect("trigger #1's config");
    let envelope = herald_seal::Envelope::from_base64(
        &specs[0].secrets.as_ref().expect("sealed secrets").value,
    )
    .expect("an envelope");
    Herald::new(
        net.herald(),
        &provider_for(&anvil, USER).await.expect("provider"),
    )
    .setTriggerSecrets(2, envelope.to_bytes().into())
    .send()
    .await
    .expect("send")
    .get_receipt()
    .await
    .expect("setTriggerSecrets");

    HeraldTestToken::new(token, &net.admin)
        .mint(net.keepers[0].address(), U256::from(11u64))
        .send()
        .await
        .expect("send")
        .get_receipt()
        .await
        .expect("mint");
    assert!(
        sealed_for
            .wait_for_accepted(1, Duration::from_secs(30))
            .await,
        "trigger 1 is delivered with its own envelope"
    );
    assert_eq!(
        sealed_for.delivered()[0].header("authorization"),
        Some(format!("Bearer {API_TOKEN}").as_str())
    );
    let store = Store::connect(&store_url)
        .await
        .expect("the keeper's store");
    let skipped = first_execution(&store, ExecutionStatus::Skipped)
        .await
        .expect("trigger 2's execution is skipped");
    assert_eq!(skipped.key.trigger_id, 2);
    assert!(
        skipped
            .detail
            .as_deref()
            .is_some_and(|d| d.contains("do not open")),
        "{:?}",
        skipped.detail
    );
    store.close().await;
    keeper.stop().await.expect("the keeper stops");
    assert!(
        copied_to.delivered().is_empty(),
        "the copied envelope opened: trigger 1's credential reached trigger 2's receiver"
    );
}
