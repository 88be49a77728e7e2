//! The guides' examples run as written: every `herald …` line in their ```sh blocks is run, from
//! the repository root, against a running devnet demo, and must succeed — the users guide as the
//! demo's user, the developers guide as its connector developer (who has fees to claim).

use assert_cmd::Command;
use herald_devnet::{Demo, DemoOptions};

/// The `herald` command lines of a guide's ```sh blocks (continuations joined, comments dropped).
fn commands(guide: &str) -> Vec<Vec<String>> {
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
        if let Some(args) = command.trim().strip_prefix("herald ") {
            out.push(args.split_whitespace().map(String::from).collect());
        }
    }
    out
}

#[tokio::test(flavor = "multi_thread")]
async fn the_users_and_developers_guides_run_as_written() {
    let root = concat!(env!("CARGO_MANIFEST_DIR"), "/../..");
    let guide = |name: &str| {
        let text = std::fs::read_to_string(format!("{root}/docs/guides/{name}")).expect("guide");
        commands(&text)
    };
    // (guide, anvil account acting, the least number of examples expected)
    let runs = [("users.md", 9, 10), ("developers.md", 1, 4)];

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
    for (name, account, at_least) in runs {
        let commands = guide(name);
        assert!(
            commands.len() >= at_least,
            "{name}'s examples were found: {commands:?}"
        );
        let key = format!(
            "0x{}",
            alloy::hex::encode(demo.anvil.keys()[account].to_bytes())
        );
        for args in &commands {
            let out = Command::cargo_bin("herald")
                .expect("binary")
                .current_dir(root)
                .env("HERALD_RPC_URL", demo.anvil.endpoint())
                .env("HERALD_ADDRESS", demo.net.herald().to_string())
                .env("HERALD_PRIVATE_KEY", &key)
                .args(args)
                .output()
                .expect("runs");
            assert!(
                out.status.success(),
                "{name}: herald {}: {}{}",
                args.join(" "),
                String::from_utf8_lossy(&out.stdout),
                String::from_utf8_lossy(&out.stderr)
            );
        }
    }
    demo.stop().await.expect("stop");
}
