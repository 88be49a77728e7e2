//! Fixtures shared by the tests and the benchmark.

use std::collections::BTreeMap;

use herald_core::FieldType;

/// The payload of a decoded ERC-20 `Transfer` log, as the EVM connector outputs it.
pub fn transfer_schema() -> FieldType {
    FieldType::Object(BTreeMap::from([
        ("address".into(), FieldType::Address),
        ("event".into(), FieldType::String),
        (
            "arguments".into(),
            FieldType::Object(BTreeMap::from([
                ("from".into(), FieldType::Address),
                ("to".into(), FieldType::Address),
                ("value".into(), FieldType::Uint256),
            ])),
        ),
    ]))
}
