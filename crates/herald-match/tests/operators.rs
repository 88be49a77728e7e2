//! Every operator on every type it applies to, with the edges: uint256 max, negative int256,
//! mixed-case addresses, missing paths, empty lists, and the errors for what does not apply.

use std::collections::BTreeMap;

use herald_core::{FieldType, Filter, Op};
use herald_match::compile;
use serde_json::{Value, json};

fn schema() -> FieldType {
    use FieldType::*;
    Object(BTreeMap::from([
        ("name".into(), String),
        ("flag".into(), Bool),
        ("count".into(), Int),
        ("amount".into(), Uint256),
        ("delta".into(), Int256),
        ("to".into(), Address),
        ("data".into(), Bytes),
        ("topic".into(), Bytes32),
        ("executedAt".into(), Datetime),
        ("arguments".into(), Json),
        ("logs".into(), List(Box::new(String))),
        ("holders".into(), List(Box::new(Address))),
        (
            "nested".into(),
            Object(BTreeMap::from([("inner".into(), Uint256)])),
        ),
    ]))
}

const MAX: &str = "115792089237316195423570985008687907853269984665640564039457584007913129639935";
const ALICE: &str = "0xe94327d07fc17907b4db788e5adf2ed424addff6";

fn event() -> Value {
    json!({
        "name": "Transfer",
        "flag": true,
        "count": 7,
        "amount": MAX,
        "delta": "-57896044618658097711785492504343953926634992332820282019728792003956564819968",
        "to": "0xE94327D07Fc17907b4DB788E5aDf2ed424adDff6",
        "data": "0xDEADbeef",
        "topic": "0xddf252ad1be2c89b69c2b068fc378daa952ba7f163c4a11628f55a4df523b3ef",
        "executedAt": "2017-10-20T12:00:00Z",
        "arguments": {"Amount": "1000000000000000000000", "memo": "hello world"},
        "logs": ["a", "b"],
        "holders": [ALICE],
        "nested": {"inner": 5},
        "empty": []
    })
}

fn check(path: &str, op: Op, value: Value) -> bool {
    let filter = Filter::predicate(path, op, value).expect("path");
    compile(&filter, &schema())
        .expect("compiles")
        .matches(&event())
}

fn error(path: &str, op: Op, value: Value) -> String {
    let filter = Filter::predicate(path, op, value).expect("path");
    compile(&filter, &schema())
        .expect_err("must not compile")
        .to_string()
}

#[test]
fn strings() {
    assert!(check("name", Op::Eq, json!("Transfer")));
    assert!(
        !check("name", Op::Eq, json!("transfer")),
        "text is case-sensitive"
    );
    assert!(check("name", Op::Neq, json!("Approval")));
    assert!(check("name", Op::In, json!(["Approval", "Transfer"])));
    assert!(check("name", Op::Nin, json!(["Approval"])));
    assert!(check("name", Op::Prefix, json!("Trans")));
    assert!(check("name", Op::Suffix, json!("fer")));
    assert!(check("name", Op::Matches, json!("^T[a-z]+r$")));
    assert!(!check("name", Op::Matches, json!("^Approval$")));
}

#[test]
fn booleans() {
    assert!(check("flag", Op::Eq, json!(true)));
    assert!(check("flag", Op::Neq, json!(false)));
    assert!(error("flag", Op::Gt, json!(true)).contains("`gt` does not apply to a bool field"));
}

#[test]
fn integers_are_exact_at_the_edges() {
    assert!(check("count", Op::Gt, json!(6)));
    assert!(check("count", Op::Lte, json!("7")));
    assert!(check("amount", Op::Eq, json!(MAX)));
    assert!(check(
        "amount",
        Op::Gt,
        json!("115792089237316195423570985008687907853269984665640564039457584007913129639934")
    ));
    assert!(check("amount", Op::Gte, json!(MAX)));
    assert!(!check("amount", Op::Lt, json!(MAX)));
    assert!(check("delta", Op::Lt, json!(0)));
    assert!(check("delta", Op::Lt, json!("-1")));
    assert!(check("nested.inner", Op::In, json!([1, 5, 9])));
    assert!(error("amount", Op::Gt, json!(-1)).contains("never negative"));
    assert!(error("count", Op::Eq, json!("ten")).contains("expected an integer"));
    assert!(error("count", Op::Gt, json!(MAX)).contains("64-bit"));
}

#[test]
fn addresses_ignore_case() {
    assert!(check("to", Op::Eq, json!(ALICE)));
    assert!(check(
        "to",
        Op::Eq,
        json!("0xE94327D07FC17907B4DB788E5ADF2ED424ADDFF6")
    ));
    assert!(check("to", Op::In, json!([ALICE])));
    assert!(!check("to", Op::Neq, json!(ALICE)));
    assert!(check(
        "holders",
        Op::Include,
        json!("0xE94327d07fc17907b4db788e5adf2ed424addff6")
    ));
    assert!(error("to", Op::Gt, json!(ALICE)).contains("`gt` does not apply to an address field"));
    assert!(error("to", Op::Eq, json!("0x1234")).contains("20-byte address"));
}

#[test]
fn hex_is_normalised() {
    assert!(check("data", Op::Eq, json!("0xdeadBEEF")));
    assert!(check("data", Op::Prefix, json!("0xDEAD")));
    assert!(check("data", Op::Suffix, json!("0xbeef")));
    assert!(check(
        "topic",
        Op::Eq,
        json!("0xDDF252AD1BE2C89B69C2B068FC378DAA952BA7F163C4A11628F55A4DF523B3EF")
    ));
    assert!(error("topic", Op::Eq, json!("0xddf2")).contains("64 hex digits"));
}

#[test]
fn datetimes_compare_with_datetimes_and_unix_seconds() {
    assert!(check(
        "executedAt",
        Op::Gt,
        json!("2017-10-12T00:00:00.000Z")
    ));
    assert!(check("executedAt", Op::Gt, json!(1_507_766_400)));
    assert!(check(
        "executedAt",
        Op::Lt,
        json!("2017-10-21T00:00:00+02:00")
    ));
    assert!(error("executedAt", Op::Gt, json!("last week")).contains("RFC 3339"));
}

#[test]
fn json_fields_take_their_kind_from_the_literal() {
    assert!(check("arguments.Amount", Op::Gt, json!(10)));
    assert!(check(
        "arguments.Amount",
        Op::Eq,
        json!("1000000000000000000000")
    ));
    assert!(check("arguments.memo", Op::Matches, json!("world$")));
    assert!(!check("arguments.missing", Op::Gt, json!(10)));
}

#[test]
fn lists_include_and_index() {
    assert!(check("logs", Op::Include, json!("b")));
    assert!(!check("logs", Op::Include, json!("c")));
    assert!(check("logs.1", Op::Eq, json!("b")));
    assert!(
        !check("logs.5", Op::Eq, json!("b")),
        "an index past the end is missing"
    );
    assert!(error("logs", Op::Eq, json!("a")).contains("does not apply to a list of string field"));
    assert!(error("name", Op::Include, json!("a")).contains("include only on list fields"));
}

#[test]
fn missing_fields_and_exists() {
    assert!(check("name", Op::Exists, json!(true)));
    let mut no_name = event();
    no_name.as_object_mut().expect("object").remove("name");
    let compiled =
        |op, v| compile(&Filter::predicate("name", op, v).expect("p"), &schema()).expect("ok");
    assert!(compiled(Op::Exists, json!(false)).matches(&no_name));
    assert!(!compiled(Op::Eq, json!("Transfer")).matches(&no_name));
    assert!(
        compiled(Op::Neq, json!("Transfer")).matches(&no_name),
        "neq holds when the field is absent"
    );
    assert!(compiled(Op::Nin, json!(["Transfer"])).matches(&no_name));
    assert!(error("name", Op::Exists, json!("yes")).contains("true or false"));
}

#[test]
fn empty_lists() {
    assert!(!check("name", Op::In, json!([])));
    assert!(check("name", Op::Nin, json!([])));
    let filter = Filter::All(vec![]);
    assert!(
        compile(&filter, &schema()).expect("ok").matches(&event()),
        "an empty all holds"
    );
    let filter = Filter::Any(vec![]);
    assert!(
        !compile(&filter, &schema()).expect("ok").matches(&event()),
        "an empty any does not"
    );
}

#[test]
fn combinators() {
    let p = |path: &str, op, v| Filter::predicate(path, op, v).expect("p");
    let filter = Filter::All(vec![
        p("name", Op::Eq, json!("Transfer")),
        Filter::Any(vec![
            p("count", Op::Gt, json!(100)),
            p("flag", Op::Eq, json!(true)),
        ]),
        Filter::Not(Box::new(p(
            "to",
            Op::Eq,
            json!("0x0000000000000000000000000000000000000000"),
        ))),
    ]);
    assert!(compile(&filter, &schema()).expect("ok").matches(&event()));
}

#[test]
fn unknown_fields_suggest_the_closest_name() {
    let err = error("too", Op::Eq, json!(ALICE));
    assert!(
        err.starts_with("`too`: no field `too` here; did you mean `to`?"),
        "{err}"
    );
    let err = error("executedat", Op::Gt, json!(1));
    assert!(err.contains("did you mean `executedAt`?"), "{err}");
    let err = error("nested.iner", Op::Eq, json!(1));
    assert!(err.contains("did you mean `inner`?"), "{err}");
    let err = error("zzz", Op::Eq, json!(1));
    assert!(!err.contains("did you mean"), "{err}");
}

#[test]
fn invalid_regexes_and_non_text_input_are_errors_not_panics() {
    assert!(error("name", Op::Matches, json!("(unclosed")).contains("invalid regular expression"));
    assert!(error("count", Op::Matches, json!("1")).contains("matches only on text fields"));
    // Invalid UTF-8 cannot reach a serde_json string; a non-string where text is expected never matches.
    let compiled = compile(
        &Filter::predicate("name", Op::Eq, json!("x")).expect("p"),
        &schema(),
    )
    .expect("ok");
    assert!(!compiled.matches(&json!({"name": 5})));
    assert!(!compiled.matches(&json!(null)));
    assert!(!compiled.matches(&json!("not an object")));
}

#[test]
fn explain_names_the_first_failing_predicate() {
    let p = |path: &str, op, v| Filter::predicate(path, op, v).expect("p");
    let filter = Filter::All(vec![
        p("name", Op::Eq, json!("Transfer")),
        p("count", Op::Gt, json!(100)),
        p("missing.field", Op::Eq, json!(1)),
    ]);
    let compiled = compile(&filter, &FieldType::Json).expect("ok");
    assert_eq!(
        compiled.explain(&event()).as_deref(),
        Some("`count gt 100` failed: found 7")
    );
    let compiled = compile(
        &Filter::All(vec![p("missing.field", Op::Eq, json!(1))]),
        &FieldType::Json,
    )
    .expect("ok");
    assert_eq!(
        compiled.explain(&event()).as_deref(),
        Some("`missing.field eq 1` failed: the field is missing")
    );
    let compiled = compile(
        &Filter::Not(Box::new(p("name", Op::Eq, json!("Transfer")))),
        &schema(),
    )
    .expect("ok");
    assert_eq!(
        compiled.explain(&event()).as_deref(),
        Some("`not` failed: its filter held (`name eq \"Transfer\"`)")
    );
    let compiled = compile(&p("name", Op::Eq, json!("Transfer")), &schema()).expect("ok");
    assert_eq!(compiled.explain(&event()), None);
}
