//! The exact messages users see for malformed trigger files, with file:line:col.

use herald_spec::{Manifests, parse_triggers};

fn error(text: &str) -> String {
    match parse_triggers("t.yaml", text) {
        Err(e) => e.to_string(),
        Ok(specs) => {
            let manifests = Manifests::builtin();
            specs
                .iter()
                .find_map(|s| manifests.validate("t.yaml", s).err())
                .map(|e| e.to_string())
                .unwrap_or_else(|| "no error".into())
        }
    }
}

fn trigger(filters: &str, data: &str) -> String {
    format!(
        "t:\n  connector:\n    type: ETHEREUM_MAINNET_CONTRACT\n  event-filters:\n{filters}  service:\n    service: webhook\n    data:\n{data}"
    )
}

const DATA: &str = "      endpoint: https://example.com/hook\n";

#[test]
fn golden() {
    let cases: Vec<(String, &str)> = vec![
        (
            trigger("    - too:\n        eq: 0xe94327d07fc17907b4db788e5adf2ed424addff6\n", DATA),
            "t.yaml:5:7: `too`: no field `too` here; did you mean `to`? (known: address, arguments, blockHash, blockNumber, event, executedAt, fees, from, logIndex, logs, to, transactionId)",
        ),
        (
            trigger("    - to:\n        gt: 0xe94327d07fc17907b4db788e5adf2ed424addff6\n", DATA),
            "t.yaml:6:9: `to`: `gt` does not apply to an address field; use eq, neq, in, nin or exists",
        ),
        (
            trigger("    - to:\n        eq: 0x1234\n", DATA),
            "t.yaml:6:13: `to`: expected a 0x-prefixed 20-byte address for an address field, found \"0x1234\"",
        ),
        (
            trigger("    - to:\n        equals: 0x1234\n", DATA),
            "t.yaml:6:9: unknown operator `equals` (expected one of: eq, neq, gt, gte, lt, lte, in, nin, include, exists, prefix, suffix, matches); did you mean `eq`?",
        ),
        (
            trigger("    - executedAt:\n        gt: yesterday\n", DATA),
            "t.yaml:6:13: `executedAt`: expected an RFC 3339 time or unix seconds for a datetime field, found \"yesterday\"",
        ),
        (
            trigger("    - to: 0xe94327d07fc17907b4db788e5adf2ed424addff6\n", DATA),
            "t.yaml:5:11: `to` needs an operator, e.g. `to: {eq: value}`; found a scalar",
        ),
        (
            trigger("    - event:\n        eq: Transfer\n", "      endpont: https://example.com/hook\n"),
            "t.yaml:10:7: `Webhook` takes no input `endpont` (its inputs: arguments, endpoint, headers); did you mean `endpoint`?",
        ),
        (
            trigger("    - event:\n        eq: Transfer\n", "      headers: {}\n"),
            "t.yaml:10:7: `Webhook` needs the input `endpoint` (string)",
        ),
        (
            trigger("    - event:\n        eq: Transfer\n", "      endpoint: https://x/{{ event.arguments.Amount }}\n      arguments: {amount: '{{ event.argumnts.Amount }}'}\n"),
            "t.yaml:11:27: template variable `event.argumnts.Amount` is not an output of the connector; did you mean `arguments`?",
        ),
        (
            trigger("    - event:\n        eq: Transfer\n", "      endpoint: https://x/{{ secrets.token }}\n"),
            "t.yaml:10:17: `{{ secrets.… }}` may appear only in a header value: the endpoint and the body are committed to in the clear",
        ),
        (
            trigger("    - event:\n        eq: Transfer\n", "      endpoint: https://x/\n      arguments: {key: '{{ secrets.token }}'}\n"),
            "t.yaml:11:24: `{{ secrets.… }}` may appear only in a header value: the endpoint and the body are committed to in the clear",
        ),
        (
            trigger("    - event:\n        eq: Transfer\n", "      endpoint: https://x/\n      headers: {authorization: 'Bearer {{ secrets.token }} {{ event.to }}'}\n"),
            "t.yaml:11:32: a header value that holds a secret cannot also hold `{{ event.… }}`: event data must never shape what a secret is sent with",
        ),
        (
            trigger("    - event:\n        eq: Transfer\n", "      endpoint: https://x/\n      headers: {authorization: 'Bearer {{ secrets.Token }}'}\n"),
            "t.yaml:11:32: a secret's name is 1 to 64 of a-z, 0-9, `_` and `-`, found `Token`",
        ),
        (
            trigger("    - event:\n        eq: Transfer\n", "      endpoint: https://x/\n      headers: {authorization: 'Bearer {{ secrets.token }}'}\n"),
            "no error",
        ),
        (
            trigger("    - event:\n        eq: Transfer\n", "      endpoint: 'https://hooks.example{{ event.arguments.path }}'\n      headers: {authorization: 'Bearer {{ secrets.token }}'}\n"),
            "t.yaml:10:17: a trigger whose headers carry secrets needs an endpoint without `{{ event.… }}`: event data must never decide where a secret is sent",
        ),
        (
            trigger("    - event:\n        eq: Transfer\n", "      endpoint: 42\n"),
            "t.yaml:10:17: input `endpoint` expects string, found 42",
        ),
        (
            "t:\n  connector:\n    type: ETHEREUM_MAINNET\n  service:\n    service: webhook\n    data:\n      endpoint: x\n".into(),
            "t.yaml:3:11: unknown connector type `ETHEREUM_MAINNET` (known: ETHEREUM_MAINNET_CONTRACT, HTTP_EVENT); did you mean `ETHEREUM_MAINNET_CONTRACT`?",
        ),
        (
            "t:\n  connectr:\n    type: X\n".into(),
            "t.yaml:2:3: unknown key `connectr` in a trigger (expected one of: connector, event-filters, service, limits, secrets); did you mean `connector`?",
        ),
        (
            "t:\n  connector:\n    type: X\n  service:\n    service: webhook\n  limits:\n    max-executions: 0\n".into(),
            "t.yaml:7:21: `max-executions` is a whole number from 1 to 4294967295",
        ),
        (
            "t:\n  connector:\n    type: X\n  service:\n    service: webhook\n  limits:\n    next-trigger: other\n".into(),
            "t.yaml:1:1: `next-trigger` names `other`, which this file does not define",
        ),
        (
            "t:\n  connector:\n    type: X\n  event-filters:\n    - a: {eq: 1}\n      b: {eq: 2}\n  service:\n    service: webhook\n".into(),
            "t.yaml:5:7: each filter has exactly one key: a path, `all`, `any` or `not`",
        ),
        ("t: [1, 2\n".into(), "t.yaml:2:1: invalid YAML: while parsing a flow sequence, expected ',' or ']'"),
        ("".into(), "t.yaml:1:1: the file defines no trigger"),
    ];
    let mut failures = Vec::new();
    for (input, expected) in &cases {
        let actual = error(input);
        if actual != *expected {
            failures.push(format!(
                "input:\n{input}\nexpected: {expected}\nactual:   {actual}\n"
            ));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}
