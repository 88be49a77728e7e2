//! The trigger parser and validator never panic, whatever the input: arbitrary text, and random
//! edits of a valid file (which get much deeper into the grammar than random bytes do).

use herald_spec::{ConnectorManifest, Manifests, ServiceManifest, parse_triggers};
use proptest::prelude::*;

const VALID: &str = r#"augur:
  connector:
    type: ETHEREUM_MAINNET_CONTRACT
  event-filters:
    - to:
        eq: 0xe94327d07fc17907b4db788e5adf2ed424addff6
    - any:
        - logs: {include: abc}
        - not: {arguments.Amount: {gt: 10, lte: '1000'}}
    - executedAt:
        gt: '2017-10-12T00:00:00.000Z'
    - event: {in: [Transfer, Approval], matches: '^T'}
  service:
    service: webhook
    data:
      endpoint: https://x/{{ event.arguments.Amount }}
      headers: {foo: bar}
  limits:
    max-fee-per-execution: "1000"
    expires-at: 2030-01-01T00:00:00Z
    max-executions: 3
    next-trigger: augur
"#;

fn exercise(text: &str) {
    if let Ok(specs) = parse_triggers("fuzz.yaml", text) {
        let manifests = Manifests::builtin();
        for spec in &specs {
            if let Ok(filter) = manifests.validate("fuzz.yaml", spec) {
                let _ = filter
                    .explain(&serde_json::json!({"to": "0x00", "arguments": {"Amount": "x"}}));
            }
        }
    }
    let _ = ConnectorManifest::parse("fuzz.yaml", text);
    let _ = ServiceManifest::parse("fuzz.yaml", text);
}

#[test]
fn the_unmutated_file_is_valid() {
    let specs = parse_triggers("valid.yaml", VALID).expect("parses");
    Manifests::builtin()
        .validate("valid.yaml", &specs[0])
        .expect("validates");
}

#[derive(Debug, Clone)]
enum Edit {
    Delete(usize, usize),
    Insert(usize, String),
    Replace(usize, char),
}

fn edit() -> impl Strategy<Value = Edit> {
    let token = prop_oneof![
        Just(":".to_string()),
        Just("- ".to_string()),
        Just("\n".to_string()),
        Just("  ".to_string()),
        Just("{".to_string()),
        Just("]".to_string()),
        Just("'".to_string()),
        Just("{{".to_string()),
        Just("&a ".to_string()),
        Just("*a".to_string()),
        Just("!t ".to_string()),
        Just("0x".to_string()),
        Just("1e999".to_string()),
        Just("eq".to_string()),
        Just("not".to_string()),
        Just(".0.".to_string()),
        "\\PC{1,4}",
    ];
    prop_oneof![
        (0..VALID.len(), 1usize..8).prop_map(|(at, n)| Edit::Delete(at, n)),
        (0..VALID.len(), token).prop_map(|(at, s)| Edit::Insert(at, s)),
        (0..VALID.len(), any::<char>()).prop_map(|(at, c)| Edit::Replace(at, c)),
    ]
}

fn apply(edits: &[Edit]) -> String {
    let mut chars: Vec<char> = VALID.chars().collect();
    for e in edits {
        match e {
            Edit::Delete(at, n) => {
                let at = (*at).min(chars.len());
                let end = (at + n).min(chars.len());
                chars.drain(at..end);
            }
            Edit::Insert(at, s) => {
                let at = (*at).min(chars.len());
                chars.splice(at..at, s.chars());
            }
            Edit::Replace(at, c) => {
                if *at < chars.len() {
                    chars[*at] = *c;
                }
            }
        }
    }
    chars.into_iter().collect()
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2000))]

    #[test]
    fn arbitrary_text_never_panics(text in "\\PC{0,300}") {
        exercise(&text);
    }

    #[test]
    fn edited_valid_files_never_panic(edits in prop::collection::vec(edit(), 1..6)) {
        exercise(&apply(&edits));
    }
}
