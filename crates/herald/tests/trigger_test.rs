//! `herald trigger test` as a user runs it: real files, the real binary, exit codes and output.

use std::path::Path;

use assert_cmd::Command;

const SEED: &str = include_str!("../../../examples/seed-000-trigger.yaml");

fn write(dir: &Path, name: &str, text: &str) -> String {
    let path = dir.join(name);
    std::fs::write(&path, text).expect("write");
    path.display().to_string()
}

fn event(amount: &str) -> String {
    format!(
        r#"{{"specversion": "1.0", "id": "0190b2a4-6f2e-7c3a-8b1d-2e4f6a8c0e12", "source": "eip155:1", "type": "evm.log",
            "time": "2017-10-20T09:30:00Z",
            "data": {{"to": "0xE94327D07Fc17907b4DB788E5aDf2ed424adDff6", "executedAt": "2017-10-20T09:30:00Z",
                      "logs": ["134014335782478591349648913289461..."], "arguments": {{"Amount": "{amount}"}}}}}}"#
    )
}

fn herald() -> Command {
    Command::cargo_bin("herald").expect("the herald binary is built")
}

#[test]
fn a_matching_event_exits_zero() {
    let dir = tempfile::tempdir().expect("tempdir");
    let trigger = write(dir.path(), "seed.yaml", SEED);
    let ev = write(dir.path(), "event.json", &event("11"));
    let out = herald()
        .args(["trigger", "test", &trigger, "--event", &ev])
        .assert()
        .code(0);
    let stdout = String::from_utf8_lossy(&out.get_output().stdout).to_string();
    assert_eq!(
        stdout,
        "match: augur-transfer-after-12-oct-with-more-than-10-token\n"
    );
}

#[test]
fn a_non_matching_event_exits_one_and_names_the_predicate() {
    let dir = tempfile::tempdir().expect("tempdir");
    let trigger = write(dir.path(), "seed.yaml", SEED);
    let ev = write(dir.path(), "event.json", &event("10"));
    let out = herald()
        .args(["trigger", "test", &trigger, "--event", &ev])
        .assert()
        .code(1);
    let stdout = String::from_utf8_lossy(&out.get_output().stdout).to_string();
    assert_eq!(
        stdout,
        "no match: augur-transfer-after-12-oct-with-more-than-10-token: `arguments.Amount gt 10` failed: found \"10\"\n"
    );
    let out = herald()
        .args(["--json", "trigger", "test", &trigger, "--event", &ev])
        .assert()
        .code(1);
    let json: serde_json::Value = serde_json::from_slice(&out.get_output().stdout).expect("json");
    assert_eq!(json[0]["matches"], false);
    assert_eq!(
        json[0]["failed"],
        "`arguments.Amount gt 10` failed: found \"10\""
    );
}

#[test]
fn invalid_input_exits_two_with_the_position() {
    let dir = tempfile::tempdir().expect("tempdir");
    let bad = write(dir.path(), "bad.yaml", &SEED.replace("- to:", "- too:"));
    let ev = write(dir.path(), "event.json", &event("11"));
    let out = herald()
        .args(["trigger", "test", &bad, "--event", &ev])
        .assert()
        .code(2);
    let stderr = String::from_utf8_lossy(&out.get_output().stderr).to_string();
    assert!(
        stderr.starts_with(&format!(
            "error: {bad}:5:7: `too`: no field `too` here; did you mean `to`?"
        )),
        "{stderr}"
    );
    assert_eq!(stderr.lines().count(), 1, "one line: {stderr}");

    let broken = write(dir.path(), "broken.json", "{\"to\": ");
    let trigger = write(dir.path(), "seed.yaml", SEED);
    let out = herald()
        .args(["trigger", "test", &trigger, "--event", &broken])
        .assert()
        .code(2);
    let stderr = String::from_utf8_lossy(&out.get_output().stderr).to_string();
    assert_eq!(
        stderr,
        format!("error: {broken}:1:7: invalid JSON: EOF while parsing a value\n")
    );

    let latin1 = dir.path().join("latin1.yaml");
    std::fs::write(&latin1, b"caf\xe9: {}\n").expect("write");
    let out = herald()
        .args([
            "trigger",
            "test",
            &latin1.display().to_string(),
            "--event",
            &ev,
        ])
        .assert()
        .code(2);
    let stderr = String::from_utf8_lossy(&out.get_output().stderr).to_string();
    assert!(stderr.contains("valid UTF-8"), "{stderr}");

    let missing = dir.path().join("nope.yaml").display().to_string();
    herald()
        .args(["trigger", "test", &missing, "--event", &ev])
        .assert()
        .code(2);
}

#[test]
fn a_custom_connector_manifest_types_the_fields() {
    let dir = tempfile::tempdir().expect("tempdir");
    let manifest = write(
        dir.path(),
        "orders.yaml",
        "type: ORDERS\noutputs:\n  total: uint256\n  customer: {email: String}\n",
    );
    let trigger = write(
        dir.path(),
        "big-orders.yaml",
        "big-orders:\n  connector: {type: ORDERS}\n  event-filters:\n    - total: {gte: '1000'}\n    - customer.email: {suffix: '@example.com'}\n  service:\n    service: webhook\n    data: {endpoint: 'https://hooks.example.com/{{ event.customer.email }}'}\n",
    );
    let ev = write(
        dir.path(),
        "order.json",
        r#"{"total": 1500, "customer": {"email": "a@example.com"}}"#,
    );
    herald()
        .args([
            "trigger",
            "test",
            &trigger,
            "--event",
            &ev,
            "--connector",
            &manifest,
        ])
        .assert()
        .code(0);
    // Without the manifest the connector type is unknown: invalid input, not a silent "no match".
    herald()
        .args(["trigger", "test", &trigger, "--event", &ev])
        .assert()
        .code(2);
}

#[test]
fn schema_prints_the_committed_schema() {
    let out = herald().args(["trigger", "schema"]).assert().code(0);
    let committed = std::fs::read_to_string(
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../../schemas/trigger.schema.json"),
    )
    .expect("committed schema");
    assert_eq!(String::from_utf8_lossy(&out.get_output().stdout), committed);
}
