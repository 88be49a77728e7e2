//! Seed 000's trigger parses unchanged, validates against the built-in manifests, and means what it
//! says: Transfers to 0xe943… after 12 Oct 2017 with an Amount above 10.

use herald_spec::{Limits, Manifests, parse_triggers};
use serde_json::json;

const SEED: &str = include_str!("../../../examples/seed-000-trigger.yaml");

#[test]
fn the_seed_trigger_parses_and_means_what_it_says() {
    let specs = parse_triggers("seed.yaml", SEED).expect("parses unchanged");
    assert_eq!(specs.len(), 1);
    let spec = &specs[0];
    assert_eq!(
        spec.name.value,
        "augur-transfer-after-12-oct-with-more-than-10-token"
    );
    assert_eq!(spec.connector.value, "ETHEREUM_MAINNET_CONTRACT");
    assert_eq!(spec.service.value, "webhook");
    assert_eq!(spec.limits, Limits::default());
    assert_eq!(
        spec.data.to_json(),
        json!({"endpoint": "https://webhook.site/aer1i3h413iheqfuif", "headers": {"foo": "bar"}})
    );

    let filter = Manifests::builtin()
        .validate("seed.yaml", spec)
        .expect("valid against the built-ins");
    let matching = json!({
        "to": "0xE94327D07Fc17907b4DB788E5aDf2ed424adDff6",
        "logs": ["0xddf252ad", "134014335782478591349648913289461..."],
        "executedAt": "2017-10-20T09:30:00Z",
        "arguments": {"Amount": "11000000000000000000"},
    });
    assert!(filter.matches(&matching));
    let with = |path: &str, value| {
        let mut e = matching.clone();
        let mut target = &mut e;
        let parts: Vec<&str> = path.split('.').collect();
        for p in &parts[..parts.len() - 1] {
            target = &mut target[*p];
        }
        target[parts[parts.len() - 1]] = value;
        e
    };
    assert!(
        !filter.matches(&with(
            "to",
            json!("0x0000000000000000000000000000000000000001")
        )),
        "another recipient"
    );
    assert!(
        !filter.matches(&with("executedAt", json!("2017-10-11T23:59:59Z"))),
        "before 12 October"
    );
    assert!(
        !filter.matches(&with("arguments.Amount", json!(10))),
        "not more than 10"
    );
    assert!(
        !filter.matches(&with("logs", json!(["0xddf252ad"]))),
        "the log is not included"
    );
}
