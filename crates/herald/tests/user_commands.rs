//! The user's commands against a real anvil and the real contracts: deposit, balance, trigger
//! create/show/list/pause/resume/cancel, budget withdrawal, withdraw, claim — and their error paths,
//! each a one-line reason with a non-zero exit.

use alloy::{node_bindings::AnvilInstance, primitives::U256};
use assert_cmd::Command;
use herald_devnet::{Network, fund, provider_for, seed_trigger, signer, spawn_anvil};
use serde_json::Value;

const TOKEN: u128 = 1_000_000_000_000_000_000;
const USER: usize = 9;

struct Chain {
    anvil: AnvilInstance,
    net: Network,
    dir: tempfile::TempDir,
}

impl Chain {
    async fn new() -> Self {
        let anvil = spawn_anvil().expect("anvil");
        let net = Network::setup(&anvil, 1, 1).await.expect("network");
        let user = provider_for(&anvil, USER).await.expect("provider");
        fund(
            &user,
            &net.deployment,
            signer(&anvil, USER).address(),
            U256::from(5 * TOKEN),
        )
        .await
        .expect("fund");
        Self {
            anvil,
            net,
            dir: tempfile::tempdir().expect("tempdir"),
        }
    }

    /// `herald --json ARGS` as account `who`.
    fn herald(&self, who: usize, args: &[&str]) -> std::process::Output {
        Command::cargo_bin("herald")
            .expect("binary")
            .env("HERALD_RPC_URL", self.anvil.endpoint())
            .env("HERALD_ADDRESS", self.net.herald().to_string())
            .env(
                "HERALD_PRIVATE_KEY",
                format!(
                    "0x{}",
                    alloy::hex::encode(self.anvil.keys()[who].to_bytes())
                ),
            )
            .arg("--json")
            .args(args)
            .output()
            .expect("runs")
    }

    fn ok(&self, who: usize, args: &[&str]) -> Value {
        let out = self.herald(who, args);
        assert!(
            out.status.success(),
            "herald {args:?} failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        serde_json::from_slice(&out.stdout).expect("JSON on stdout")
    }

    /// Runs a command that must fail; returns its one-line reason.
    fn fails(&self, who: usize, args: &[&str]) -> String {
        let out = self.herald(who, args);
        assert_eq!(out.status.code(), Some(2), "herald {args:?} should fail");
        let stderr = String::from_utf8_lossy(&out.stderr).trim().to_string();
        assert_eq!(stderr.lines().count(), 1, "one line: {stderr}");
        stderr
    }

    fn file(&self, name: &str, text: &str) -> String {
        let path = self.dir.path().join(name);
        std::fs::write(&path, text).expect("write");
        path.display().to_string()
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn a_user_deposits_creates_and_manages_a_trigger_and_withdraws() {
    let chain = Chain::new().await;
    let wei = |tokens: f64| ((tokens * 1e6) as u128 * (TOKEN / 1_000_000)).to_string();

    let deposited = chain.ok(USER, &["deposit", "2"]);
    assert_eq!(deposited["balance"], wei(2.0));
    let balance = chain.ok(USER, &["balance"]);
    assert_eq!(balance["wallet"], wei(3.0));
    assert_eq!(balance["unallocated"], wei(2.0));

    let token = chain.net.deployment.token.address;
    let file = chain.file(
        "seed.yaml",
        &seed_trigger(token, "https://hooks.example.com/herald"),
    );
    let created = chain.ok(USER, &["trigger", "create", &file, "--budget", "1.5"]);
    assert_eq!(created["id"], 1);
    assert_eq!(
        created["name"],
        "augur-transfer-after-12-oct-with-more-than-10-token"
    );
    let shown = chain.ok(USER, &["trigger", "show", "1"]);
    assert_eq!(shown["status"], "active");
    assert_eq!(shown["budget"], wei(1.5));
    assert!(
        shown["config"]
            .as_str()
            .expect("config")
            .contains("arguments.Amount")
    );

    assert_eq!(
        chain.ok(USER, &["trigger", "pause", "1"])["status"],
        "paused"
    );
    assert_eq!(
        chain.ok(USER, &["trigger", "resume", "1"])["status"],
        "active"
    );
    let requested = chain.ok(USER, &["withdraw", "request", "1", "0.5"]);
    assert_eq!(requested["requested"], wei(0.5));
    assert_eq!(
        chain.ok(USER, &["trigger", "cancel", "1"])["status"],
        "cancelled"
    );

    let owner = signer(&chain.anvil, USER).address().to_string();
    let listed = chain.ok(USER, &["trigger", "list", "--owner", &owner]);
    assert_eq!(listed.as_array().expect("list").len(), 1);
    assert_eq!(listed[0]["status"], "cancelled");

    let withdrawn = chain.ok(USER, &["withdraw", "balance", "0.5"]);
    assert_eq!(withdrawn["withdrawn"], wei(0.5));
    let balance = chain.ok(USER, &["balance"]);
    assert_eq!(balance["wallet"], wei(3.5));
    assert_eq!(balance["unallocated"], "0");
    assert_eq!(balance["trigger_budgets"], wei(1.5));
}

#[tokio::test(flavor = "multi_thread")]
async fn wrong_input_gets_a_one_line_reason_naming_what_was_wrong() {
    let chain = Chain::new().await;
    let token = chain.net.deployment.token.address;
    chain.ok(USER, &["deposit", "1"]);

    assert_eq!(
        chain.fails(USER, &["trigger", "show", "9"]),
        "error: unknown trigger #9 (this deployment has 0)"
    );
    let reason = chain.fails(USER, &["deposit", "1000"]);
    assert!(reason.contains("insufficient token balance"), "{reason}");
    assert!(reason.contains("needs 1000"), "{reason}");
    let reason = chain.fails(USER, &["deposit", "1.2.3"]);
    assert!(
        reason.contains("amount: expected a token amount"),
        "{reason}"
    );

    let typo = chain.file(
        "typo.yaml",
        &seed_trigger(token, "https://hooks.example.com/h").replace("    - to:", "    - too:"),
    );
    let reason = chain.fails(USER, &["trigger", "create", &typo, "--budget", "0.5"]);
    assert!(
        reason.contains("typo.yaml:7:7"),
        "file:line:col in {reason}"
    );
    assert!(reason.contains("did you mean `to`"), "{reason}");

    let good = chain.file(
        "seed.yaml",
        &seed_trigger(token, "https://hooks.example.com/h"),
    );
    let reason = chain.fails(USER, &["trigger", "create", &good, "--budget", "2"]);
    assert!(
        reason.contains("insufficient balance: the budget needs 2"),
        "{reason}"
    );

    chain.ok(USER, &["trigger", "create", &good, "--budget", "0.5"]);
    let reason = chain.fails(5, &["trigger", "pause", "1"]);
    assert!(reason.contains("trigger #1 belongs to"), "{reason}");
    let reason = chain.fails(5, &["claim"]);
    assert!(reason.contains("nothing to claim"), "{reason}");

    let out = Command::cargo_bin("herald")
        .expect("binary")
        .env("HERALD_RPC_URL", chain.anvil.endpoint())
        .env("HERALD_ADDRESS", chain.net.herald().to_string())
        .env("HERALD_PRIVATE_KEY", "not-a-key-but-a-secret")
        .args(["deposit", "1"])
        .output()
        .expect("runs");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr.contains("HERALD_PRIVATE_KEY is not a 32-byte hex private key"));
    assert!(
        !stderr.contains("not-a-key-but-a-secret"),
        "the key is never echoed"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn developers_publish_types_and_keepers_manage_their_bond() {
    let chain = Chain::new().await;
    let manifests = concat!(env!("CARGO_MANIFEST_DIR"), "/../herald-spec/manifests");
    let connector = chain.ok(
        1,
        &[
            "connector",
            "publish",
            &format!("{manifests}/ethereum-mainnet-contract.yaml"),
            "--developer-fee",
            "0.001",
            "--operator-fee",
            "0.002",
        ],
    );
    assert_eq!(connector["id"], 3, "the network registered types 1 and 2");
    assert_eq!(connector["name"], "ETHEREUM_MAINNET_CONTRACT");
    let service = chain.ok(
        2,
        &[
            "service",
            "publish",
            &format!("{manifests}/webhook.yaml"),
            "--developer-fee",
            "0.004",
            "--max-runner-fee",
            "0.005",
        ],
    );
    assert_eq!(service["id"], 2);
    let bad = chain.file("bad-manifest.yaml", "title: x\ninputs: 3\n");
    let reason = chain.fails(
        2,
        &[
            "service",
            "publish",
            &bad,
            "--developer-fee",
            "0",
            "--max-runner-fee",
            "0",
        ],
    );
    assert!(reason.contains("bad-manifest.yaml:2:"), "{reason}");

    // Account 9 holds 5 tokens (see Chain::new).
    let endpoint = "http://127.0.0.1:9/attest";
    let registered = chain.ok(
        USER,
        &["keeper", "register", "--bond", "1", "--endpoint", endpoint],
    );
    assert_eq!(registered["bond"], TOKEN.to_string());
    let status = chain.ok(USER, &["keeper", "status"]);
    assert_eq!(status["state"], "active");
    assert_eq!(status["endpoint"], endpoint);
    let reason = chain.fails(
        USER,
        &["keeper", "register", "--bond", "1", "--endpoint", endpoint],
    );
    assert!(reason.contains("already registered"), "{reason}");
    let bonded = chain.ok(USER, &["keeper", "bond", "0.5"]);
    assert_eq!(bonded["bond"], (TOKEN * 3 / 2).to_string());
    chain.ok(USER, &["keeper", "unbond"]);
    assert_eq!(chain.ok(USER, &["keeper", "status"])["state"], "unbonding");
    let reason = chain.fails(
        7,
        &["keeper", "register", "--bond", "1", "--endpoint", "ftp://x"],
    );
    assert!(reason.contains("--endpoint: expected an http"), "{reason}");
    let reason = chain.fails(7, &["keeper", "status"]);
    assert!(reason.contains("is not a registered keeper"), "{reason}");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_keepers_executions_and_the_chains_receipts_are_listed() {
    let demo = herald_devnet::Demo::start(&herald_devnet::DemoOptions {
        port: 0,
        keepers: 1,
        api_port: 0,
    })
    .await
    .expect("demo");
    let expected = demo
        .settle_samples(std::time::Duration::from_secs(60))
        .await
        .expect("the demo settles");
    let store = demo.keepers[0].store_url.clone();
    let herald = |args: &[&str]| {
        Command::cargo_bin("herald")
            .expect("binary")
            .env("HERALD_RPC_URL", demo.anvil.endpoint())
            .env("HERALD_ADDRESS", demo.net.herald().to_string())
            .env("DATABASE_URL", &store)
            .arg("--json")
            .args(args)
            .output()
            .expect("runs")
    };
    let json = |args: &[&str]| -> Value {
        let out = herald(args);
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        serde_json::from_slice(&out.stdout).expect("json")
    };

    let receipts = json(&["receipts", "list", "--trigger", "1"]);
    let receipts = receipts.as_array().expect("array");
    assert_eq!(receipts.len(), expected);
    assert!(receipts.iter().all(|r| r["outcome"] == "settled"));

    // The keeper records a settlement once it has read the transaction's receipt, a moment after
    // the chain shows it.
    let all_settled = |list: &Value| {
        list.as_array()
            .is_some_and(|l| l.len() == expected && l.iter().all(|e| e["settlement"] == "settled"))
    };
    let mut executions = json(&["executions", "list"]);
    for _ in 0..100 {
        if all_settled(&executions) {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
        executions = json(&["executions", "list"]);
    }
    let executions = executions.as_array().expect("array");
    assert_eq!(executions.len(), expected);
    assert!(
        executions
            .iter()
            .all(|e| e["status"] == "succeeded" && e["settlement"] == "settled")
    );
    let key = executions[0]["key"].as_str().expect("key");
    let shown = json(&["executions", "show", key]);
    assert_eq!(shown["attempts"], 1);
    assert_eq!(shown["detail"], "delivered: HTTP 200");
    assert_eq!(shown["request"]["endpoint"], demo.receiver.url());
    assert_eq!(
        json(&["executions", "list", "--status", "failed"]),
        serde_json::json!([])
    );

    // `keeper status` reads the chain and asks the keeper at its registered endpoint for its
    // peers: here the network is this one keeper, online, with what it ran.
    let status = json(&["keeper", "status", &demo.keepers[0].address.to_string()]);
    let peers = status["peers"].as_array().expect("peers");
    assert_eq!(peers.len(), 1, "{status}");
    assert_eq!(peers[0]["self"], true);
    assert_eq!(peers[0]["online"], true);
    assert_eq!(peers[0]["executed"], expected as u64);
    assert!(
        status["endpoint"]
            .as_str()
            .is_some_and(|e| demo.api_url == e),
        "{status}"
    );

    // The keeper's REST API shows the same executions, and its metrics count them.
    let http = reqwest::Client::new();
    let page: Value = http
        .get(format!("{}/v1/executions?trigger=1", demo.api_url))
        .bearer_auth(&demo.api_key)
        .send()
        .await
        .expect("the keeper serves its API")
        .json()
        .await
        .expect("json");
    assert_eq!(page["items"].as_array().map(Vec::len), Some(expected));
    // The chain shows a settlement a moment before the settler has read its transaction receipt.
    let mut metrics = String::new();
    let mut gas = 0;
    for _ in 0..100 {
        metrics = http
            .get(format!("{}/metrics", demo.api_url))
            .send()
            .await
            .expect("metrics")
            .text()
            .await
            .expect("text");
        gas = metrics
            .lines()
            .find_map(|l| l.strip_prefix("herald_settlement_gas_total "))
            .and_then(|v| v.parse::<u64>().ok())
            .unwrap_or_default();
        if gas > 0 {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    assert!(gas > 50_000, "settlement gas is counted: {metrics}");
    let succeeded = format!("herald_executions_total{{status=\"succeeded\"}} {expected}");
    assert!(metrics.contains(&succeeded), "{metrics}");
    assert!(metrics.contains("herald_matches_total 3"), "{metrics}");

    let out = herald(&["executions", "list", "--status", "done"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("--status"));
    let out = herald(&["executions", "show", "1:nope"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("is not an execution key"));
    demo.stop().await.expect("stop");
}
