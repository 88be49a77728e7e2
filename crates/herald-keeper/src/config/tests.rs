//! The configuration's tests: defaults, overrides and the errors bad input gets.

use super::*;

const MINIMAL: &str = "[chain]\nrpc_url = \"ws://127.0.0.1:8545\"\nherald = \"0x5FbDB2315678afecb367f032d93F642f64180aa3\"\n";

fn parse(text: &str, env: &[(&str, &str)]) -> Result<KeeperConfig, ConfigError> {
    KeeperConfig::parse(
        "keeper.toml",
        text,
        env.iter().map(|(k, v)| (k.to_string(), v.to_string())),
    )
}

#[test]
fn a_minimal_file_takes_the_defaults() {
    let config = parse(MINIMAL, &[]).expect("valid");
    assert_eq!(config.store.url, "sqlite://keeper.db");
    assert_eq!(config.chain.settle_confirmations, 2);
    assert_eq!(config.chain.sign_at, SignAt::Finalized);
    assert!(!config.webhook.allow_private_targets);
}

#[test]
fn receipts_are_signed_at_finality_unless_the_depth_is_asked_for() {
    let at = |value: &str| {
        parse(&format!("{MINIMAL}sign_at = \"{value}\"\n"), &[]).map(|c| c.chain.sign_at)
    };
    assert_eq!(at("finalized").expect("valid"), SignAt::Finalized);
    assert_eq!(at("depth").expect("valid"), SignAt::Depth);
    assert_eq!(
        parse(MINIMAL, &[("HERALD_CHAIN__SIGN_AT", "depth")])
            .expect("valid")
            .chain
            .sign_at,
        SignAt::Depth
    );
    for value in [SignAt::Finalized, SignAt::Depth] {
        assert_eq!(
            at(value.as_str()).expect("valid"),
            value,
            "as_str round-trips"
        );
    }
    assert_eq!(
        at("safe").expect_err("invalid").to_string(),
        "keeper.toml: `chain.sign_at`: unknown variant `safe`, expected `finalized` or `depth`"
    );
}

#[test]
fn the_gas_alert_threshold_is_an_amount_of_ether() {
    let with = |value: &str| {
        parse(
            &format!("{MINIMAL}\n[network]\nlow_gas_balance = {value}\n"),
            &[],
        )
    };
    let config = parse(MINIMAL, &[]).expect("valid");
    assert_eq!(
        config.low_gas_balance(),
        U256::from(10u64.pow(16)),
        "0.01 by default"
    );
    let config = with("\"0.5\"").expect("valid");
    assert_eq!(config.low_gas_balance(), U256::from(5 * 10u64.pow(17)));
    assert_eq!(
        with("\"lots\"").expect_err("invalid").to_string(),
        "keeper.toml: `network.low_gas_balance`: expected an amount of ether such as \"0.05\", \
         found \"lots\""
    );
}

#[test]
fn durations_are_written_as_people_write_them() {
    let config = parse(
        &format!(
            "{MINIMAL}poll_interval = \"250ms\"\n\n[webhook]\ntimeout = \"2s\"\n\n\
             [network]\nalert_after = \"1h 30m\"\n"
        ),
        &[("HERALD_SETTLEMENT__BATCH_AGE", "3s")],
    )
    .expect("valid");
    assert_eq!(config.poll_interval(), Duration::from_millis(250));
    assert_eq!(config.webhook.timeout, Duration::from_secs(2));
    assert_eq!(config.network.alert_after, Duration::from_secs(5_400));
    assert_eq!(config.settlement.batch_age, Duration::from_secs(3));
    let defaults = parse(MINIMAL, &[]).expect("valid");
    assert_eq!(defaults.network.takeover_timeout, Duration::from_secs(30));
    assert_eq!(defaults.webhook.max_delay, Duration::from_secs(60));
    assert_eq!(
        parse(&format!("{MINIMAL}\n[webhook]\ntimeout = \"soon\"\n"), &[])
            .expect_err("invalid")
            .to_string(),
        "keeper.toml: `webhook.timeout`: invalid value: string \"soon\", expected a duration"
    );
}

/// A file written for an earlier keeper, with a duration in milliseconds, is refused with the
/// key to write instead and the same duration in its form, not read as a default.
#[test]
fn the_old_millisecond_keys_are_refused_naming_the_new_key() {
    assert_eq!(
        parse(
            &format!("{MINIMAL}\n[network]\ntakeover_timeout_ms = 45000\n"),
            &[]
        )
        .expect_err("retired")
        .to_string(),
        "keeper.toml: `network.takeover_timeout_ms`: durations are no longer written in \
         milliseconds: write `takeover_timeout = \"45s\"` (a duration such as \"500ms\", \"30s\" \
         or \"10m\")"
    );
    let message = parse(MINIMAL, &[("HERALD_WEBHOOK__TIMEOUT_MS", "2500")])
        .expect_err("retired")
        .to_string();
    assert!(
        message.contains("`webhook.timeout_ms`") && message.contains("`timeout = \"2s 500ms\"`"),
        "{message}"
    );
}

#[test]
fn the_environment_overrides_the_file() {
    let config = parse(
        MINIMAL,
        &[
            ("HERALD_CHAIN__CONFIRMATIONS", "3"),
            ("HERALD_WEBHOOK__ALLOW_PRIVATE_TARGETS", "true"),
            ("DATABASE_URL", "postgres://postgres@127.0.0.1/test"),
            ("HERALD_UNRELATED", "ignored"),
        ],
    )
    .expect("valid");
    assert_eq!(config.chain.confirmations, 3);
    assert!(config.webhook.allow_private_targets);
    assert_eq!(config.store.url, "postgres://postgres@127.0.0.1/test");
}

#[test]
fn errors_name_the_key() {
    let message =
        |text: &str, env: &[(&str, &str)]| parse(text, env).expect_err("invalid").to_string();
    assert_eq!(
        message(&format!("{MINIMAL}confirmations = \"two\"\n"), &[]),
        "keeper.toml: `chain.confirmations`: invalid type: string \"two\", expected u64"
    );
    assert_eq!(
        message(MINIMAL, &[("HERALD_WEBHOOK__MAX_ATTEMPS", "3")]),
        "keeper.toml: `webhook.max_attemps`: unknown field `max_attemps`, expected one of `timeout`, `max_attempts`, `base_delay`, `max_delay`, `allow_private_targets`, `concurrency`"
    );
    assert_eq!(
        message(
            "[chain]\nherald = \"0x5FbDB2315678afecb367f032d93F642f64180aa3\"\n",
            &[]
        ),
        "keeper.toml: `chain`: missing field `rpc_url`"
    );
    assert!(
        message(&MINIMAL.replace("ws://", "tcp://"), &[])
            .starts_with("keeper.toml: `chain.rpc_url`: expected ws://"),
    );
    assert!(message("[chain\n", &[]).contains("line 1"));
    assert!(
        message(&format!("{MINIMAL}ws_url = \"http://x\"\n"), &[])
            .starts_with("keeper.toml: `chain.ws_url`: expected ws://"),
    );
}

#[test]
fn heads_come_from_ws_url_else_from_a_websocket_rpc_url() {
    let config = parse(MINIMAL, &[]).expect("valid");
    assert_eq!(config.heads_url(), Some("ws://127.0.0.1:8545"));
    let http = MINIMAL.replace("ws://", "http://");
    assert_eq!(parse(&http, &[]).expect("valid").heads_url(), None);
    let both = format!("{http}ws_url = \"ws://127.0.0.1:8546\"\n");
    assert_eq!(
        parse(&both, &[]).expect("valid").heads_url(),
        Some("ws://127.0.0.1:8546")
    );
}
