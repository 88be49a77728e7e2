//! The JSON Schema of trigger files, for editors (YAML language servers read JSON Schema).
//!
//! These types exist only to describe the file; the parser in [`crate::trigger`] reads the YAML
//! itself so that it can report positions. A test keeps `schemas/trigger.schema.json` equal to
//! what this module generates.

use std::collections::BTreeMap;

use schemars::{JsonSchema, schema_for};
use serde_json::Value;

/// A Herald trigger file: trigger names mapped to triggers.
#[derive(JsonSchema)]
#[schemars(title = "Herald trigger file")]
#[allow(dead_code)]
struct TriggerFile(BTreeMap<String, Trigger>);

/// One trigger: when its connector emits an event that passes its filters, run its service.
#[derive(JsonSchema)]
#[serde(rename_all = "kebab-case", deny_unknown_fields)]
#[allow(dead_code)]
struct Trigger {
    /// The connector type whose events the trigger watches.
    connector: Connector,
    /// Filters that must all hold: `- path: {op: value}`, or `all` / `any` / `not` groups.
    #[serde(default)]
    event_filters: Vec<FilterEntry>,
    /// The service to run and its data.
    service: Service,
    /// Fees, time frame, recurrence and chaining.
    limits: Option<Limits>,
}

#[derive(JsonSchema)]
#[serde(deny_unknown_fields)]
#[allow(dead_code)]
struct Connector {
    /// The connector type's name, e.g. ETHEREUM_MAINNET_CONTRACT.
    r#type: String,
    /// For chain connectors: the contract whose logs to watch (0x address). Omitted: every contract.
    contract: Option<String>,
    /// For chain connectors: the event to decode, as a human-readable signature
    /// (`Transfer(address indexed from, address indexed to, uint256 value)`) or a JSON ABI fragment.
    abi: Option<String>,
}

/// A filter: a path with operators, or a group.
#[derive(JsonSchema)]
#[serde(untagged)]
#[allow(dead_code)]
enum FilterEntry {
    /// Every listed filter holds.
    All {
        /// The filters.
        all: Vec<FilterEntry>,
    },
    /// At least one listed filter holds.
    Any {
        /// The filters.
        any: Vec<FilterEntry>,
    },
    /// The filter does not hold.
    Not {
        /// The filter.
        not: Box<FilterEntry>,
    },
    /// `dotted.path: {op: value}`; several operators on one path must all hold.
    Predicate(#[schemars(length(max = 1))] BTreeMap<String, Ops>),
}

/// Operators on one field.
#[derive(JsonSchema)]
#[serde(deny_unknown_fields)]
#[schemars(extend("minProperties" = 1))]
#[allow(dead_code)]
struct Ops {
    /// Equal (addresses case-insensitive, hex normalised, numbers exact).
    eq: Option<Value>,
    /// Not equal; holds when the field is missing.
    neq: Option<Value>,
    /// Greater than (numbers and times).
    gt: Option<Value>,
    /// Greater than or equal.
    gte: Option<Value>,
    /// Less than.
    lt: Option<Value>,
    /// Less than or equal.
    lte: Option<Value>,
    /// Equal to one of these.
    r#in: Option<Vec<Value>>,
    /// Equal to none of these.
    nin: Option<Vec<Value>>,
    /// A list field contains this value.
    include: Option<Value>,
    /// The field is present (true) or absent (false).
    exists: Option<bool>,
    /// Text or hex starts with.
    prefix: Option<String>,
    /// Text or hex ends with.
    suffix: Option<String>,
    /// Text matches this regular expression (linear time).
    matches: Option<String>,
}

#[derive(JsonSchema)]
#[serde(deny_unknown_fields)]
#[allow(dead_code)]
struct Service {
    /// The service's name, e.g. webhook.
    service: String,
    /// The service's inputs; strings may hold `{{ event.path }}` templates.
    data: Option<BTreeMap<String, Value>>,
}

#[derive(JsonSchema)]
#[serde(rename_all = "kebab-case", deny_unknown_fields)]
#[allow(dead_code)]
struct Limits {
    /// Most one execution may cost, in the token's smallest unit.
    #[schemars(regex(pattern = r"^[0-9]+$"))]
    max_fee_per_execution: Option<String>,
    /// RFC 3339 time before which events do not run the trigger.
    #[schemars(extend("format" = "date-time"))]
    active_from: Option<String>,
    /// RFC 3339 time after which events do not run the trigger.
    #[schemars(extend("format" = "date-time"))]
    expires_at: Option<String>,
    /// How many times the trigger may run; 1 makes it one-shot.
    #[schemars(range(min = 1))]
    max_executions: Option<u32>,
    /// false makes the trigger one-shot.
    recurring: Option<bool>,
    /// The trigger to run after this one: a name in this file or a registered trigger's id.
    next_trigger: Option<NextTrigger>,
}

#[derive(JsonSchema)]
#[serde(untagged)]
#[allow(dead_code)]
enum NextTrigger {
    Name(String),
    Id(u64),
}

/// The JSON Schema of trigger files, pretty-printed with a trailing newline.
pub fn trigger_file_schema() -> String {
    let schema = schema_for!(TriggerFile);
    serde_json::to_string_pretty(&schema).expect("a schema always serialises") + "\n"
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_committed_schema_is_current() {
        let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../../schemas/trigger.schema.json");
        let generated = trigger_file_schema();
        if std::env::var_os("HERALD_BLESS").is_some() {
            std::fs::write(&path, &generated).expect("write schema");
        }
        let committed = std::fs::read_to_string(&path).unwrap_or_default();
        assert!(
            committed == generated,
            "schemas/trigger.schema.json is stale; run `HERALD_BLESS=1 cargo test -p herald-spec` and commit it"
        );
    }

    #[test]
    fn the_schema_describes_the_seed_shapes() {
        let schema: Value = serde_json::from_str(&trigger_file_schema()).expect("json");
        let text = schema.to_string();
        for word in [
            "event-filters",
            "max-fee-per-execution",
            "next-trigger",
            "include",
            "exists",
            "matches",
        ] {
            assert!(text.contains(word), "{word} missing from the schema");
        }
    }
}
