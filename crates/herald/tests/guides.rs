//! The guides' examples run as written: every `herald …` line in their ```sh blocks is run against
//! a running devnet demo, and must succeed — the users guide as the demo's user, the developers
//! guide as its connector developer (who has fees to claim), both from the repository root; the
//! operators guide as a new operator with tokens, from a directory holding the guide's own
//! `keeper.toml` (pointed at the devnet), where `keeper run` keeps running in the background while
//! the lines after it run, and the unbonding delay passes before the bond is withdrawn.

use std::path::Path;

use alloy::{
    primitives::{Address, U256},
    providers::ext::AnvilApi,
};
use assert_cmd::Command;
use herald_chain::bindings::HeraldTestToken;
use herald_devnet::{Demo, DemoOptions};

/// One `herald` line of a guide: the `NAME=value` assignments before it, and its arguments.
#[derive(Debug)]
struct Line {
    env: Vec<(String, String)>,
    args: Vec<String>,
}

/// The `herald` command lines of a guide's ```sh blocks (continuations joined, comments dropped),
/// with any `NAME=value` environment assignments written before `herald`.
fn commands(guide: &str) -> Vec<Line> {
    let mut out = Vec::new();
    let mut in_sh = false;
    let mut pending = String::new();
    for line in guide.lines() {
        if line.starts_with("```") {
            in_sh = line.trim() == "```sh";
            continue;
        }
        if !in_sh {
            continue;
        }
        let line = line.split(" #").next().unwrap_or_default().trim_end();
        if let Some(head) = line.strip_suffix('\\') {
            pending.push_str(head);
            continue;
        }
        pending.push_str(line);
        let command = std::mem::take(&mut pending);
        let mut words = command.split_whitespace().peekable();
        let mut env = Vec::new();
        while let Some((name, value)) = words.peek().and_then(|w| w.split_once('=')) {
            if !name.chars().all(|c| c.is_ascii_uppercase() || c == '_') {
                break;
            }
            env.push((name.to_string(), value.to_string()));
            words.next();
        }
        if words.next() == Some("herald") {
            out.push(Line {
                env,
                // A shell would take the quotes off a quoted word (the guides quote JSON whole).
                args: words.map(|w| w.trim_matches('\'').to_string()).collect(),
            });
        }
    }
    out
}

/// The guide's ```toml block (the keeper.toml it shows), pointed at the devnet: its chain, its
/// deployment, and a free port for the API.
fn keeper_toml(guide: &str, demo: &Demo, listen: std::net::SocketAddr) -> String {
    let block = guide
        .split("```toml\n")
        .nth(1)
        .and_then(|rest| rest.split("```").next())
        .expect("the operators guide shows a keeper.toml");
    block
        .lines()
        .map(|line| {
            let key = line.split('=').next().unwrap_or_default().trim();
            match key {
                "rpc_url" => format!("rpc_url = \"{}\"", demo.anvil.endpoint()),
                "ws_url" => format!("ws_url = \"{}\"", demo.anvil.ws_endpoint()),
                "herald" => format!("herald = \"{}\"", demo.net.herald()),
                "listen" => format!("listen = \"{listen}\""),
                "endpoint" => format!("endpoint = \"http://{listen}\""),
                // The devnet's peers and receivers are on loopback, which a public keeper refuses.
                "allow_private_targets" => "allow_private_targets = true".to_string(),
                _ => line.to_string(),
            }
        })
        .collect::<Vec<_>>()
        .join("\n")
}

/// Processes a guide left running (`herald keeper run`), killed when dropped, so a failing
/// assertion leaves none behind.
#[derive(Default)]
struct Background(Vec<std::process::Child>);

impl Drop for Background {
    fn drop(&mut self) {
        for child in &mut self.0 {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

/// Runs one guide's examples as anvil account `account`, from `dir`; a keeper it runs serves its
/// API at `keeper_api`.
async fn run_guide(
    name: &str,
    commands: &[Line],
    demo: &Demo,
    account: usize,
    dir: &Path,
    keeper_api: Option<std::net::SocketAddr>,
    background: &mut Background,
) {
    let key = format!(
        "0x{}",
        alloy::hex::encode(demo.anvil.keys()[account].to_bytes())
    );
    let env = [
        ("HERALD_RPC_URL", demo.anvil.endpoint()),
        ("HERALD_ADDRESS", demo.net.herald().to_string()),
        ("HERALD_PRIVATE_KEY", key),
        ("HERALD_API_URL", demo.api_url.clone()),
        ("HERALD_API_KEY", demo.api_key.clone()),
    ];
    for Line { env: extra, args } in commands {
        let line = format!("herald {}", args.join(" "));
        if args.starts_with(&["keeper".into(), "run".into()]) {
            // Runs until stopped: start it, wait for its API, go on with the next lines.
            let mut command = std::process::Command::new(env!("CARGO_BIN_EXE_herald"));
            command
                .current_dir(dir)
                .args(args)
                .stdout(std::process::Stdio::null())
                .stderr(std::process::Stdio::null());
            for (k, v) in &env {
                command.env(k, v);
            }
            background
                .0
                .push(command.spawn().expect("the keeper starts"));
            let listen = keeper_api.expect("a guide that runs a keeper names its API address");
            let mut up = false;
            for _ in 0..300 {
                if reqwest::get(format!("http://{listen}/health"))
                    .await
                    .is_ok_and(|r| r.status().is_success())
                {
                    up = true;
                    break;
                }
                tokio::time::sleep(std::time::Duration::from_millis(100)).await;
            }
            assert!(up, "{name}: {line}: the keeper never served /health");
            continue;
        }
        if args.starts_with(&["keeper".into(), "unbond".into(), "--withdraw".into()]) {
            // "after the delay": let the devnet's clock pass it.
            let delay = herald_chain::bindings::Herald::new(demo.net.herald(), demo.provider())
                .params()
                .call()
                .await
                .expect("params")
                .unbondingDelay;
            demo.provider()
                .anvil_increase_time(u64::from(delay) + 1)
                .await
                .expect("increase time");
            demo.provider()
                .anvil_mine(Some(1), None)
                .await
                .expect("mine");
        }
        let mut command = Command::cargo_bin("herald").expect("binary");
        command.current_dir(dir).args(args);
        for (k, v) in &env {
            command.env(k, v);
        }
        for (k, v) in extra {
            command.env(k, v);
        }
        let out = command.output().expect("runs");
        assert!(
            out.status.success(),
            "{name}: {line}: {}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn the_guides_run_as_written() {
    let root = Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/../.."));
    let guide =
        |name: &str| std::fs::read_to_string(root.join("docs/guides").join(name)).expect("guide");
    let demo = Demo::start(&DemoOptions {
        port: 0,
        keepers: 1,
        api_port: 0,
    })
    .await
    .expect("demo");
    demo.settle_samples(std::time::Duration::from_secs(60))
        .await
        .expect("the demo settles");

    // Operators start with tokens for the bond, and a directory with the guide's keeper.toml.
    const OPERATOR: usize = 8;
    let operator: Address = demo.anvil.addresses()[OPERATOR];
    HeraldTestToken::new(demo.net.deployment.token.address, demo.provider())
        .mint(
            operator,
            U256::from(20u64) * U256::from(10u64).pow(U256::from(18)),
        )
        .send()
        .await
        .expect("mint")
        .get_receipt()
        .await
        .expect("minted");
    let operator_dir = tempfile::tempdir().expect("tempdir");
    let listen = herald_devnet::free_addr(0).expect("a free port");
    std::fs::write(
        operator_dir.path().join("keeper.toml"),
        keeper_toml(&guide("operators.md"), &demo, listen),
    )
    .expect("write keeper.toml");

    // (guide, anvil account acting, directory, its keeper's API, the least number of examples)
    let runs = [
        ("users.md", 9, root, None, 10),
        ("developers.md", 1, root, None, 4),
        (
            "operators.md",
            OPERATOR,
            operator_dir.path(),
            Some(listen),
            9,
        ),
    ];
    let mut background = Background::default();
    for (name, account, dir, keeper_api, at_least) in runs {
        let commands = commands(&guide(name));
        assert!(
            commands.len() >= at_least,
            "{name}'s examples were found: {commands:?}"
        );
        run_guide(
            name,
            &commands,
            &demo,
            account,
            dir,
            keeper_api,
            &mut background,
        )
        .await;
    }
    // The operator's keeper ran all along and answers for itself.
    let peers: serde_json::Value = reqwest::get(format!("http://{listen}/v1/peers"))
        .await
        .expect("the operator's keeper answers")
        .json()
        .await
        .expect("json");
    assert_eq!(
        peers["keeper"]
            .as_str()
            .and_then(|a| a.parse::<Address>().ok()),
        Some(operator),
        "{peers}"
    );
    drop(background);
    demo.stop().await.expect("stop");
}
