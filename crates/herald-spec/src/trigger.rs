//! Trigger files: `name: {connector, event-filters, service, limits}`, as in seed 000.

use herald_core::{Filter, Op, Path, Predicate};
use herald_match::{CompiledFilter, Site, compile};

use crate::{
    data::check_data,
    error::{Position, Spanned, SpecError, suggestion},
    manifest::{ConnectorManifest, Fields, ServiceManifest, text_of},
    template::count_templates,
    yaml::{self, Node, NodeKind},
};

mod limits;

use limits::limits;
pub use limits::{Limits, NextTrigger};

/// One trigger, as written: what to watch, which events, what to run, and within which limits.
#[derive(Clone, Debug, PartialEq)]
pub struct TriggerSpec {
    /// The trigger's name (its key in the file).
    pub name: Spanned<String>,
    /// The connector type whose events it watches.
    pub connector: Spanned<String>,
    /// Where, within the connector, to look: for a chain connector, the contract and event ABI.
    pub source: Source,
    /// `event-filters`: an implicit `all` of the listed filters.
    pub filters: Vec<SpannedFilter>,
    /// The service type to run.
    pub service: Spanned<String>,
    /// The service's data; strings may hold `{{ event.path }}` templates.
    pub data: Node,
    /// Fees, time frame, recurrence and chaining.
    pub limits: Limits,
    /// `secrets`: the trigger's secrets sealed to the keepers that may perform it (a base64
    /// `herald-seal` envelope, as `herald trigger create` writes it). A later `TriggerSecretsSet`
    /// on chain replaces it.
    pub secrets: Option<Spanned<String>>,
}

/// A filter with the position of each predicate's parts.
#[derive(Clone, Debug, PartialEq)]
pub enum SpannedFilter {
    /// Every sub-filter holds.
    All(Vec<SpannedFilter>),
    /// At least one holds.
    Any(Vec<SpannedFilter>),
    /// It does not hold.
    Not(Box<SpannedFilter>),
    /// One predicate, with where its path, operator and value were written.
    Leaf {
        /// The predicate.
        predicate: Predicate,
        /// Position of the path key.
        path_at: Position,
        /// Position of the operator key.
        op_at: Position,
        /// Position of the value.
        value_at: Position,
    },
}

impl SpannedFilter {
    /// The filter without positions.
    pub fn to_filter(&self) -> Filter {
        match self {
            Self::All(items) => Filter::All(items.iter().map(Self::to_filter).collect()),
            Self::Any(items) => Filter::Any(items.iter().map(Self::to_filter).collect()),
            Self::Not(inner) => Filter::Not(Box::new(inner.to_filter())),
            Self::Leaf { predicate, .. } => Filter::Predicate(predicate.clone()),
        }
    }

    fn leaves<'a>(&'a self, out: &mut Vec<&'a SpannedFilter>) {
        match self {
            Self::All(items) | Self::Any(items) => items.iter().for_each(|f| f.leaves(out)),
            Self::Not(inner) => inner.leaves(out),
            leaf @ Self::Leaf { .. } => out.push(leaf),
        }
    }
}

/// A chain connector's options: which contract's logs, decoded with which event ABI. Both are kept
/// as written (with their positions); the connector parses the ABI and reports errors there.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Source {
    /// `connector.contract`: the emitting contract, 0x hex.
    pub contract: Option<Spanned<String>>,
    /// `connector.abi`: a human-readable event signature or a JSON ABI fragment.
    pub abi: Option<Spanned<String>>,
    /// `connector.emitters` (HTTP_EVENT subscriptions only, and required there): the 0x addresses
    /// whose signed events the subscription accepts; an event signed by any other key never runs
    /// it. Positioned at the list.
    pub emitters: Option<Spanned<Vec<Spanned<String>>>>,
}

const TRIGGER_KEYS: &[&str] = &["connector", "event-filters", "service", "limits", "secrets"];
/// The largest trigger file, in bytes: the most `createTrigger` accepts on chain
/// (`MAX_CONFIG_BYTES` in `HeraldRegistry`), since a trigger's configuration is its file.
pub const MAX_TRIGGER_FILE_BYTES: usize = 16_384;

/// Parses a trigger file (one or more named triggers). Checks shape and syntax; [`TriggerSpec::validate`]
/// checks it against the manifests. Files over [`MAX_TRIGGER_FILE_BYTES`] and data with more than
/// [`MAX_TEMPLATE_REFS`] templates are refused.
pub fn parse_triggers(file: &str, text: &str) -> Result<Vec<TriggerSpec>, SpecError> {
    if text.len() > MAX_TRIGGER_FILE_BYTES {
        return Err(SpecError::new(
            file,
            Position { line: 1, col: 1 },
            format!(
                "the trigger file is {} bytes; at most {MAX_TRIGGER_FILE_BYTES} fit in a trigger",
                text.len()
            ),
        ));
    }
    let root = yaml::parse(file, text)?;
    let NodeKind::Map(entries) = &root.kind else {
        return Err(SpecError::new(
            file,
            root.at,
            "a trigger file maps trigger names to triggers",
        ));
    };
    if entries.is_empty() {
        return Err(SpecError::new(file, root.at, "the file defines no trigger"));
    }
    let specs = entries
        .iter()
        .map(|(key, value)| trigger(file, key, value))
        .collect::<Result<Vec<_>, _>>()?;
    for spec in &specs {
        count_templates(file, &spec.data, &mut 0)?;
    }
    for spec in &specs {
        if let Some(NextTrigger::Name(next)) = &spec.limits.next_trigger
            && !specs.iter().any(|s| &s.name.value == next)
        {
            return Err(SpecError::new(
                file,
                spec.name.at,
                format!(
                    "`next-trigger` names `{next}`, which this file does not define{}",
                    suggestion(next, specs.iter().map(|s| s.name.value.as_str()))
                ),
            ));
        }
    }
    Ok(specs)
}

fn trigger(file: &str, key: &Node, node: &Node) -> Result<TriggerSpec, SpecError> {
    let name = Spanned {
        value: text_of(file, key)?,
        at: key.at,
    };
    let fields = Fields::of(file, node, TRIGGER_KEYS, "trigger")?;
    let connector_node = fields.required("connector")?;
    let connector_fields = Fields::of(
        file,
        connector_node,
        &["type", "contract", "abi", "emitters"],
        "connector",
    )?;
    let connector = connector_fields.required("type")?;
    let spanned_text = |key: &str| -> Result<Option<Spanned<String>>, SpecError> {
        connector_fields
            .get(key)
            .map(|node| {
                Ok(Spanned {
                    value: text_of(file, node)?,
                    at: node.at,
                })
            })
            .transpose()
    };
    let source = Source {
        contract: spanned_text("contract")?,
        abi: spanned_text("abi")?,
        emitters: connector_fields
            .get("emitters")
            .map(|node| emitters(file, node))
            .transpose()?,
    };
    if let Some(contract) = &source.contract
        && !is_address(&contract.value)
    {
        return Err(SpecError::new(
            file,
            contract.at,
            format!(
                "connector.contract must be a 0x-prefixed 20-byte hex address, found {:?}",
                contract.value
            ),
        ));
    }
    let service_node = fields.required("service")?;
    let service_fields = Fields::of(file, service_node, &["service", "data"], "service")?;
    let service = service_fields.required("service")?;
    let filters = match fields.get("event-filters") {
        None => Vec::new(),
        Some(node) => filter_list(file, node)?,
    };
    Ok(TriggerSpec {
        name,
        connector: Spanned {
            value: text_of(file, connector)?,
            at: connector.at,
        },
        source,
        filters,
        service: Spanned {
            value: text_of(file, service)?,
            at: service.at,
        },
        data: service_fields.get("data").cloned().unwrap_or(Node {
            at: service_node.at,
            kind: NodeKind::Map(Vec::new()),
        }),
        limits: match fields.get("limits") {
            None => Limits::default(),
            Some(node) => limits(file, node)?,
        },
        secrets: fields
            .get("secrets")
            .map(|node| {
                Ok::<_, SpecError>(Spanned {
                    value: text_of(file, node)?,
                    at: node.at,
                })
            })
            .transpose()?,
    })
}

/// `connector.emitters`: a non-empty list of 0x addresses.
fn emitters(file: &str, node: &Node) -> Result<Spanned<Vec<Spanned<String>>>, SpecError> {
    let NodeKind::Seq(items) = &node.kind else {
        return Err(SpecError::new(
            file,
            node.at,
            format!(
                "connector.emitters must be a list of 0x addresses, found {}",
                node.describe()
            ),
        ));
    };
    if items.is_empty() {
        return Err(SpecError::new(
            file,
            node.at,
            "connector.emitters names no key: list at least one 0x address whose signed events \
             this subscription accepts",
        ));
    }
    let mut addresses = Vec::with_capacity(items.len());
    for item in items {
        let text = text_of(file, item)?;
        if !is_address(&text) {
            return Err(SpecError::new(
                file,
                item.at,
                format!(
                    "connector.emitters: each emitter must be a 0x-prefixed 20-byte hex address, \
                     found {text:?}"
                ),
            ));
        }
        addresses.push(Spanned {
            value: text,
            at: item.at,
        });
    }
    Ok(Spanned {
        value: addresses,
        at: node.at,
    })
}

fn is_address(text: &str) -> bool {
    text.strip_prefix("0x")
        .or_else(|| text.strip_prefix("0X"))
        .is_some_and(|hex| hex.len() == 40 && hex.bytes().all(|b| b.is_ascii_hexdigit()))
}

fn filter_list(file: &str, node: &Node) -> Result<Vec<SpannedFilter>, SpecError> {
    let NodeKind::Seq(items) = &node.kind else {
        return Err(SpecError::new(
            file,
            node.at,
            format!(
                "expected a list of filters (`- path: {{op: value}}`), found {}",
                node.describe()
            ),
        ));
    };
    items.iter().map(|item| filter(file, item)).collect()
}

/// One filter: `{all: [...]}`, `{any: [...]}`, `{not: {...}}` or `{path: {op: value, ...}}`.
fn filter(file: &str, node: &Node) -> Result<SpannedFilter, SpecError> {
    let NodeKind::Map(entries) = &node.kind else {
        return Err(SpecError::new(
            file,
            node.at,
            format!("expected `path: {{op: value}}`, found {}", node.describe()),
        ));
    };
    let [(key, value)] = entries.as_slice() else {
        return Err(SpecError::new(
            file,
            node.at,
            "each filter has exactly one key: a path, `all`, `any` or `not`",
        ));
    };
    let head = key.as_text().unwrap_or_default();
    match head {
        "all" => Ok(SpannedFilter::All(filter_list(file, value)?)),
        "any" => Ok(SpannedFilter::Any(filter_list(file, value)?)),
        "not" => Ok(SpannedFilter::Not(Box::new(filter(file, value)?))),
        _ => {
            let path: Path = head
                .parse()
                .map_err(|e: String| SpecError::new(file, key.at, e))?;
            let NodeKind::Map(ops) = &value.kind else {
                return Err(SpecError::new(
                    file,
                    value.at,
                    format!(
                        "`{head}` needs an operator, e.g. `{head}: {{eq: value}}`; found {}",
                        value.describe()
                    ),
                ));
            };
            if ops.is_empty() {
                return Err(SpecError::new(
                    file,
                    value.at,
                    format!("`{head}` needs at least one operator"),
                ));
            }
            let mut leaves = Vec::new();
            for (op_key, op_value) in ops {
                let op_name = op_key.as_text().unwrap_or_default();
                let op = Op::from_name(op_name).ok_or_else(|| {
                    SpecError::new(
                        file,
                        op_key.at,
                        format!(
                            "unknown operator `{op_name}` (expected one of: {}){}",
                            Op::ALL.iter().map(Op::name).collect::<Vec<_>>().join(", "),
                            suggestion(op_name, Op::ALL.iter().map(Op::name))
                        ),
                    )
                })?;
                leaves.push(SpannedFilter::Leaf {
                    predicate: Predicate {
                        path: path.clone(),
                        op,
                        value: op_value.to_json(),
                    },
                    path_at: key.at,
                    op_at: op_key.at,
                    value_at: op_value.at,
                });
            }
            Ok(if leaves.len() == 1 {
                leaves.remove(0)
            } else {
                SpannedFilter::All(leaves)
            })
        }
    }
}

impl TriggerSpec {
    /// Checks the trigger against its connector's outputs and its service's inputs, and compiles its
    /// filters. `file` names the source in errors.
    pub fn validate(
        &self,
        file: &str,
        connector: &ConnectorManifest,
        service: &ServiceManifest,
    ) -> Result<CompiledFilter, SpecError> {
        self.check_emitters(file, connector)?;
        let mut leaves = Vec::new();
        for f in &self.filters {
            f.leaves(&mut leaves);
        }
        for leaf in leaves {
            let SpannedFilter::Leaf {
                predicate,
                path_at,
                op_at,
                value_at,
            } = leaf
            else {
                continue;
            };
            if let Err(e) = compile(&Filter::Predicate(predicate.clone()), &connector.outputs) {
                let at = match e.site {
                    Site::Path => *path_at,
                    Site::Operator => *op_at,
                    Site::Value => *value_at,
                };
                return Err(SpecError::new(file, at, e.to_string()));
            }
        }
        check_data(file, &self.data, service, &connector.outputs)?;
        let filter = Filter::All(self.filters.iter().map(SpannedFilter::to_filter).collect());
        compile(&filter, &connector.outputs)
            .map_err(|e| SpecError::new(file, self.name.at, e.to_string()))
    }
}

impl TriggerSpec {
    /// An HTTP_EVENT subscription must name its emitters (an API event is only as trustworthy as
    /// the key that signed it); no other connector takes them.
    fn check_emitters(&self, file: &str, connector: &ConnectorManifest) -> Result<(), SpecError> {
        let http = connector.type_name == crate::HTTP_EVENT_CONNECTOR;
        match (&self.source.emitters, http) {
            (None, true) => Err(SpecError::new(
                file,
                self.connector.at,
                format!(
                    "an {} subscription must name `emitters` under `connector`: the 0x addresses \
                     whose signed events it accepts, e.g. `emitters: ['0x…']`",
                    crate::HTTP_EVENT_CONNECTOR
                ),
            )),
            (Some(emitters), false) => Err(SpecError::new(
                file,
                emitters.at,
                format!(
                    "connector.emitters is for {} subscriptions; `{}` does not take it",
                    crate::HTTP_EVENT_CONNECTOR,
                    connector.type_name
                ),
            )),
            _ => Ok(()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Security finding 1: configurations come straight from `createTrigger`, so their size is
    /// bounded by the same number the contract enforces, before anything is parsed.
    #[test]
    fn refuses_a_file_larger_than_a_trigger_can_hold() {
        let text = format!("# {}\n", "x".repeat(MAX_TRIGGER_FILE_BYTES));
        let err = parse_triggers("big.yaml", &text).expect_err("too big");
        assert_eq!(
            err.to_string(),
            format!(
                "big.yaml:1:1: the trigger file is {} bytes; at most {MAX_TRIGGER_FILE_BYTES} fit in a trigger",
                text.len()
            )
        );
    }

    const SUBSCRIPTION: &str = "t:\n  connector:\n    type: HTTP_EVENT\n{emitters}  service:\n    service: webhook\n    data:\n      endpoint: https://example.com\n";

    fn subscription(emitters: &str) -> Result<CompiledFilter, SpecError> {
        let text = SUBSCRIPTION.replace("{emitters}", emitters);
        let specs = parse_triggers("sub.yaml", &text)?;
        crate::Manifests::builtin().validate("sub.yaml", &specs[0])
    }

    /// Security finding 3: a subscription accepts only the keys it names.
    #[test]
    fn a_subscription_must_name_its_emitters_as_addresses() {
        let emitter = "    emitters: ['0x00000000000000000000000000000000000000e1']\n";
        assert!(subscription(emitter).is_ok());
        assert_eq!(
            subscription("").expect_err("no emitters").to_string(),
            "sub.yaml:3:11: an HTTP_EVENT subscription must name `emitters` under `connector`: \
             the 0x addresses whose signed events it accepts, e.g. `emitters: ['0x…']`"
        );
        assert_eq!(
            subscription("    emitters: ['0x00000000000000000000000000000000000000e1', alice]\n")
                .expect_err("not an address")
                .to_string(),
            "sub.yaml:4:62: connector.emitters: each emitter must be a 0x-prefixed 20-byte hex \
             address, found \"alice\""
        );
        assert!(
            subscription("    emitters: []\n")
                .expect_err("empty")
                .to_string()
                .starts_with("sub.yaml:4:15: connector.emitters names no key")
        );
        let chain = "t:\n  connector:\n    type: ETHEREUM_MAINNET_CONTRACT\n    emitters: ['0x00000000000000000000000000000000000000e1']\n  service:\n    service: webhook\n    data:\n      endpoint: https://example.com\n";
        let specs = parse_triggers("chain.yaml", chain).expect("parses");
        assert!(
            crate::Manifests::builtin()
                .validate("chain.yaml", &specs[0])
                .expect_err("not for chain triggers")
                .to_string()
                .starts_with("chain.yaml:4:15: connector.emitters is for HTTP_EVENT subscriptions")
        );
    }

    #[test]
    fn refuses_deeply_nested_data_at_the_level_that_goes_too_deep() {
        let text = format!(
            "t:\n  connector: {{type: ETHEREUM_MAINNET_CONTRACT}}\n  service:\n    service: webhook\n    data:\n      endpoint:\n        {}x\n",
            "- ".repeat(4_000)
        );
        let err = parse_triggers("deep.yaml", &text).expect_err("too deep");
        assert!(err.message.contains("nest at most"), "{err}");
        assert!(err.to_string().starts_with("deep.yaml:7:"), "{err}");
    }
}
