//! The index must answer exactly as the naive matcher does, whatever triggers, events and updates.

mod support;

use herald_core::{FieldType, Filter, Op};
use herald_match::{Matcher, NaiveMatcher, TriggerId, compile};
use proptest::prelude::*;
use serde_json::{Value, json};

fn schema() -> FieldType {
    support::transfer_schema()
}

fn address(i: u8) -> String {
    format!("0x{:040x}", i)
}

/// A small value space so that random triggers and events collide often.
fn predicate() -> impl Strategy<Value = Filter> {
    let addr = (0u8..4).prop_map(|i| json!(address(i)));
    prop_oneof![
        (
            prop_oneof![
                Just("address"),
                Just("arguments.from"),
                Just("arguments.to")
            ],
            addr.clone(),
            prop::bool::ANY
        )
            .prop_map(|(path, v, eq)| Filter::predicate(
                path,
                if eq { Op::Eq } else { Op::Neq },
                v
            )
            .expect("p")),
        (
            0u64..6,
            prop_oneof![Just(Op::Gt), Just(Op::Lte), Just(Op::Eq)]
        )
            .prop_map(|(n, op)| Filter::predicate(
                "arguments.value",
                op,
                json!(n.to_string())
            )
            .expect("p")),
        prop_oneof![Just("Transfer"), Just("Approval")].prop_map(|e| Filter::predicate(
            "event",
            Op::Eq,
            json!(e)
        )
        .expect("p")),
        prop::collection::vec(addr, 0..3).prop_map(|list| Filter::predicate(
            "arguments.to",
            Op::In,
            Value::Array(list)
        )
        .expect("p")),
    ]
}

fn filter() -> impl Strategy<Value = Filter> {
    predicate().prop_recursive(2, 8, 4, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..4).prop_map(Filter::All),
            prop::collection::vec(inner.clone(), 0..3).prop_map(Filter::Any),
            inner.prop_map(|f| Filter::Not(Box::new(f))),
        ]
    })
}

fn event() -> impl Strategy<Value = Value> {
    (
        0u8..4,
        0u8..4,
        0u8..4,
        0u64..6,
        prop::bool::ANY,
        prop::bool::ANY,
    )
        .prop_map(|(a, f, t, v, transfer, mixed)| {
            let to = if mixed {
                address(t).to_uppercase().replacen("0X", "0x", 1)
            } else {
                address(t)
            };
            json!({
                "address": address(a),
                "event": if transfer { "Transfer" } else { "Approval" },
                "arguments": {"from": address(f), "to": to, "value": v.to_string()}
            })
        })
}

#[derive(Debug, Clone)]
enum Change {
    Insert(u64, bool, Filter),
    Remove(u64),
    Pause(u64, bool),
}

fn change() -> impl Strategy<Value = Change> {
    prop_oneof![
        6 => (0u64..40, prop::bool::ANY, filter()).prop_map(|(id, c, f)| Change::Insert(id, c, f)),
        1 => (0u64..40).prop_map(Change::Remove),
        1 => (0u64..40, prop::bool::ANY).prop_map(|(id, p)| Change::Pause(id, p)),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn index_agrees_with_naive(changes in prop::collection::vec(change(), 1..80), events in prop::collection::vec(event(), 1..30)) {
        let schema = schema();
        let indexed = Matcher::new();
        let mut naive = NaiveMatcher::new();
        for change in &changes {
            match change {
                Change::Insert(id, second, filter) => {
                    let connector = if *second { "evm.log" } else { "http" };
                    let compiled = compile(filter, &schema).expect("generated filters are valid");
                    indexed.insert(TriggerId(*id), connector, &compiled);
                    naive.insert(TriggerId(*id), connector, &compiled);
                }
                Change::Remove(id) => prop_assert_eq!(indexed.remove(TriggerId(*id)), naive.remove(TriggerId(*id))),
                Change::Pause(id, paused) => {
                    prop_assert_eq!(indexed.set_paused(TriggerId(*id), *paused), naive.set_paused(TriggerId(*id), *paused));
                }
            }
        }
        let snapshot = indexed.snapshot();
        for event in &events {
            for connector in ["evm.log", "http", "unknown"] {
                prop_assert_eq!(snapshot.matches(connector, event), naive.matches(connector, event), "{} {}", connector, event);
            }
        }
    }
}

#[test]
fn a_snapshot_is_unaffected_by_later_updates() {
    let filter = compile(
        &Filter::predicate("event", Op::Eq, json!("Transfer")).expect("p"),
        &schema(),
    )
    .expect("ok");
    let matcher = Matcher::new();
    matcher.insert(TriggerId(1), "evm.log", &filter);
    let before = matcher.snapshot();
    matcher.insert(TriggerId(2), "evm.log", &filter);
    matcher.set_paused(TriggerId(1), true);
    let event = json!({"event": "Transfer"});
    assert_eq!(before.matches("evm.log", &event), vec![TriggerId(1)]);
    assert_eq!(
        matcher.snapshot().matches("evm.log", &event),
        vec![TriggerId(2)]
    );
    assert_eq!(matcher.snapshot().is_paused(TriggerId(1)), Some(true));
    assert!(matcher.remove(TriggerId(2)));
    assert!(!matcher.remove(TriggerId(2)));
    assert!(matcher.snapshot().matches("evm.log", &event).is_empty());
}
