//! `herald devnet --once`: the README's demo runs to completion on a real anvil, with real keepers
//! and a real receiver, and reports exactly what the contract paid.

use assert_cmd::Command;

#[test]
fn devnet_once_delivers_and_settles_every_matching_transfer_and_pays_exact_shares() {
    let output = Command::cargo_bin("herald")
        .expect("binary")
        .args([
            "--json",
            "devnet",
            "--once",
            "--port",
            "0",
            "--api-port",
            "0",
        ])
        .timeout(std::time::Duration::from_secs(120))
        .output()
        .expect("runs");
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        output.status.success(),
        "exit {:?}: {stderr}",
        output.status
    );
    let summary: serde_json::Value =
        serde_json::from_slice(&output.stdout).expect("one JSON summary on stdout");

    // Seed 000 wants Amount > 10: of the transfers 11, 5, 1000, 10 and 42, three match.
    assert_eq!(summary["ok"], true);
    assert_eq!(summary["expected"], 3);
    assert_eq!(summary["delivered"], 3);
    assert_eq!(summary["settled"], 3);
    assert_eq!(summary["rejected"], 0);

    // Each execution: connector developer 0.003, operator 0.002, service developer 0.004, runner
    // 0.001, protocol 5% of those 0.01 = 0.0005; total 0.0105 token.
    let milli = 1_000_000_000_000_000u128; // 0.001 token
    assert_eq!(summary["fees"], (3 * 105 * milli / 10).to_string());
    let claimable = |role: &str| -> u128 {
        let payouts = summary["payouts"].as_array().expect("payouts");
        let party = payouts
            .iter()
            .find(|p| p["role"].as_str().is_some_and(|r| r.starts_with(role)))
            .unwrap_or_else(|| panic!("no {role} in {payouts:?}"));
        party["claimable"]
            .as_str()
            .and_then(|c| c.parse().ok())
            .expect("a decimal amount")
    };
    assert_eq!(claimable("connector developer"), 3 * 3 * milli);
    assert_eq!(claimable("service developer"), 3 * 4 * milli);
    // Three keepers: the trigger's assigned one observed and ran all three (operator 0.002 and
    // runner 0.001 each); the others co-signed and were paid nothing.
    let keepers: Vec<u128> = (1..=3)
        .map(|i| claimable(&format!("keeper {i} ")))
        .collect();
    assert_eq!(
        keepers.iter().sum::<u128>(),
        3 * (2 + 1) * milli,
        "{keepers:?}"
    );
    assert_eq!(keepers.iter().filter(|c| **c > 0).count(), 1, "{keepers:?}");
    assert_eq!(claimable("protocol treasury"), 3 * milli / 2);
    assert_eq!(
        summary["budget_left"],
        (1_000 * milli - 3 * 105 * milli / 10).to_string()
    );
}
