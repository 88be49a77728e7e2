//! Connector and service manifests: what a connector outputs, what a service takes.

use std::collections::BTreeMap;

use alloy_primitives::{B256, keccak256};
use herald_core::FieldType;

use crate::{
    error::{Position, SpecError, suggestion},
    yaml::{self, Node, NodeKind},
};

/// Whether a type is offered to every keeper of the network.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Propagation {
    /// Every keeper may run it.
    All,
    /// Only its publisher runs it.
    None,
}

/// A connector type: a source of events and the shape of what it emits.
#[derive(Clone, Debug, PartialEq)]
pub struct ConnectorManifest {
    /// The type name triggers refer to, e.g. `ETHEREUM_MAINNET_CONTRACT`.
    pub type_name: String,
    /// Who may run it.
    pub propagation: Propagation,
    /// Whether only its creator (and those given access) may use it.
    pub private: bool,
    /// The event payload's fields (an object type).
    pub outputs: FieldType,
    /// keccak256 of the manifest's text: what a connector type registered for it carries on chain.
    pub manifest_hash: B256,
}

/// One input of a service.
#[derive(Clone, Debug, PartialEq)]
pub struct Input {
    /// Its type.
    pub ty: FieldType,
    /// Whether a trigger must give it (a `?` after the type makes it optional).
    pub required: bool,
}

/// A service type: an action and the data it takes.
#[derive(Clone, Debug, PartialEq)]
pub struct ServiceManifest {
    /// Human title, also the name triggers use (case-insensitively), e.g. `Webhook`.
    pub title: String,
    /// Who may run it.
    pub propagation: Propagation,
    /// Whether only its creator (and those given access) may use it.
    pub private: bool,
    /// Its inputs by name.
    pub inputs: BTreeMap<String, Input>,
    /// The code that performs it (a file name or a built-in's name).
    pub handler: String,
    /// keccak256 of the manifest's text: what a service type registered for it carries on chain.
    pub manifest_hash: B256,
}

impl ConnectorManifest {
    /// Parses a connector manifest. `file` names the source in errors.
    pub fn parse(file: &str, text: &str) -> Result<Self, SpecError> {
        let root = yaml::parse(file, text)?;
        let fields = Fields::of(
            file,
            &root,
            &["type", "propagation", "private", "outputs", "run"],
            "connector manifest",
        )?;
        let outputs_node = fields.required("outputs")?;
        let outputs = field_type(file, outputs_node, false)?.0;
        if !matches!(outputs, FieldType::Object(_)) {
            return Err(SpecError::new(
                file,
                outputs_node.at,
                "`outputs` must map field names to types",
            ));
        }
        Ok(Self {
            type_name: text_of(file, fields.required("type")?)?,
            propagation: propagation(file, fields.get("propagation"))?,
            private: boolean(file, fields.get("private"), false)?,
            outputs,
            manifest_hash: keccak256(text.as_bytes()),
        })
    }
}

impl ServiceManifest {
    /// Parses a service manifest. `file` names the source in errors.
    pub fn parse(file: &str, text: &str) -> Result<Self, SpecError> {
        let root = yaml::parse(file, text)?;
        let fields = Fields::of(
            file,
            &root,
            &["title", "propagation", "private", "inputs", "handler"],
            "service manifest",
        )?;
        let inputs_node = fields.required("inputs")?;
        let NodeKind::Map(entries) = &inputs_node.kind else {
            return Err(SpecError::new(
                file,
                inputs_node.at,
                "`inputs` must map input names to types",
            ));
        };
        let mut inputs = BTreeMap::new();
        for (key, value) in entries {
            let (ty, required) = field_type(file, value, true)?;
            inputs.insert(
                key.as_text().unwrap_or_default().to_string(),
                Input { ty, required },
            );
        }
        Ok(Self {
            title: text_of(file, fields.required("title")?)?,
            propagation: propagation(file, fields.get("propagation"))?,
            private: boolean(file, fields.get("private"), false)?,
            inputs,
            handler: text_of(file, fields.required("handler")?)?,
            manifest_hash: keccak256(text.as_bytes()),
        })
    }

    /// The service's inputs as an object type (for checking template references).
    pub fn input_type(&self) -> FieldType {
        FieldType::Object(
            self.inputs
                .iter()
                .map(|(k, v)| (k.clone(), v.ty.clone()))
                .collect(),
        )
    }
}

/// A mapping's fields, checked against the names allowed there.
pub(crate) struct Fields<'n> {
    file: &'n str,
    at: Position,
    what: &'static str,
    entries: Vec<(&'n str, &'n Node)>,
}

impl<'n> Fields<'n> {
    pub(crate) fn of(
        file: &'n str,
        node: &'n Node,
        allowed: &[&str],
        what: &'static str,
    ) -> Result<Self, SpecError> {
        let NodeKind::Map(entries) = &node.kind else {
            return Err(SpecError::new(
                file,
                node.at,
                format!("a {what} must be a mapping, found {}", node.describe()),
            ));
        };
        let mut out = Vec::new();
        for (key, value) in entries {
            let name = key.as_text().unwrap_or_default();
            if !allowed.contains(&name) {
                return Err(SpecError::new(
                    file,
                    key.at,
                    format!(
                        "unknown key `{name}` in a {what} (expected one of: {}){}",
                        allowed.join(", "),
                        suggestion(name, allowed.iter().copied())
                    ),
                ));
            }
            out.push((name, value));
        }
        Ok(Self {
            file,
            at: node.at,
            what,
            entries: out,
        })
    }

    pub(crate) fn get(&self, name: &str) -> Option<&'n Node> {
        self.entries
            .iter()
            .find(|(k, _)| *k == name)
            .map(|(_, v)| *v)
    }

    pub(crate) fn required(&self, name: &str) -> Result<&'n Node, SpecError> {
        self.get(name).ok_or_else(|| {
            SpecError::new(
                self.file,
                self.at,
                format!("a {} needs `{name}`", self.what),
            )
        })
    }
}

pub(crate) fn text_of(file: &str, node: &Node) -> Result<String, SpecError> {
    node.as_text().map(str::to_string).ok_or_else(|| {
        SpecError::new(
            file,
            node.at,
            format!("expected text, found {}", node.describe()),
        )
    })
}

fn boolean(file: &str, node: Option<&Node>, default: bool) -> Result<bool, SpecError> {
    match node.map(|n| (n, n.as_text())) {
        None => Ok(default),
        Some((_, Some("true"))) => Ok(true),
        Some((_, Some("false"))) => Ok(false),
        Some((n, _)) => Err(SpecError::new(file, n.at, "expected true or false")),
    }
}

fn propagation(file: &str, node: Option<&Node>) -> Result<Propagation, SpecError> {
    match node.map(|n| (n, n.as_text())) {
        None | Some((_, Some("all"))) => Ok(Propagation::All),
        Some((_, Some("none"))) => Ok(Propagation::None),
        Some((n, _)) => Err(SpecError::new(
            file,
            n.at,
            "`propagation` is `all` or `none`",
        )),
    }
}

const TYPE_NAMES: &[&str] = &[
    "string", "bool", "int", "uint256", "int256", "address", "bytes", "bytes32", "datetime", "json",
];

/// A type written in a manifest: a name (`String`, `uint256`, `JSON`…, optionally ending in `?` where
/// `optional` is allowed), a one-item list (`- String`), or a mapping of field names to types.
fn field_type(file: &str, node: &Node, optional: bool) -> Result<(FieldType, bool), SpecError> {
    match &node.kind {
        NodeKind::Scalar { text, .. } => {
            let (name, required) = match text.strip_suffix('?') {
                Some(name) if optional => (name, false),
                _ => (text.as_str(), true),
            };
            let ty = FieldType::scalar(name).ok_or_else(|| {
                SpecError::new(
                    file,
                    node.at,
                    format!(
                        "unknown type `{name}` (expected one of: {}, a one-item list, or a mapping){}",
                        TYPE_NAMES.join(", "),
                        suggestion(name, TYPE_NAMES.iter().copied())
                    ),
                )
            })?;
            Ok((ty, required))
        }
        NodeKind::Seq(items) => match items.as_slice() {
            [item] => Ok((
                FieldType::List(Box::new(field_type(file, item, false)?.0)),
                true,
            )),
            _ => Err(SpecError::new(
                file,
                node.at,
                "a list type has exactly one item: the element type",
            )),
        },
        NodeKind::Map(entries) => {
            let mut fields = BTreeMap::new();
            for (key, value) in entries {
                fields.insert(
                    key.as_text().unwrap_or_default().to_string(),
                    field_type(file, value, false)?.0,
                );
            }
            Ok((FieldType::Object(fields), true))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Seed 000's connector example, unchanged.
    pub(crate) const SEED_CONNECTOR: &str = r#"type: ETHEREUM_MAINNET_CONTRACT
propagation: all
private: false
outputs:
    from: String
    to: String
    transactionId: String
    fees: Int
    logs:
        - String
    executedAt: Datetime
    arguments: JSON
run:
    version: '2'
    services:
        app:
            image: https://repository.etherstellar.com/ethereum-mainnet-contract
"#;

    #[test]
    fn parses_the_seed_connector() {
        let m = ConnectorManifest::parse("connector.yaml", SEED_CONNECTOR).expect("valid");
        assert_eq!(m.type_name, "ETHEREUM_MAINNET_CONTRACT");
        assert_eq!(m.propagation, Propagation::All);
        let FieldType::Object(fields) = &m.outputs else {
            panic!("object")
        };
        assert_eq!(fields["logs"], FieldType::List(Box::new(FieldType::String)));
        assert_eq!(fields["executedAt"], FieldType::Datetime);
        assert_eq!(fields["arguments"], FieldType::Json);
    }

    #[test]
    fn parses_a_service_with_optional_inputs() {
        let m = ServiceManifest::parse(
            "webhook.yaml",
            "title: Webhook\ninputs:\n  endpoint: String\n  headers: JSON?\n  arguments: JSON?\nhandler: webhook\n",
        )
        .expect("valid");
        assert!(m.inputs["endpoint"].required);
        assert!(!m.inputs["headers"].required);
        assert_eq!(m.handler, "webhook");
    }

    #[test]
    fn manifest_errors_name_the_place() {
        let err = ConnectorManifest::parse("c.yaml", "type: X\noutputs:\n  amount: Float\n")
            .expect_err("bad type");
        assert_eq!(
            err.to_string(),
            "c.yaml:3:11: unknown type `Float` (expected one of: string, bool, int, uint256, int256, address, \
             bytes, bytes32, datetime, json, a one-item list, or a mapping)"
        );
        let err =
            ConnectorManifest::parse("c.yaml", "type: X\noutput:\n  a: Int\n").expect_err("typo");
        assert!(
            err.to_string()
                .starts_with("c.yaml:2:1: unknown key `output`"),
            "{err}"
        );
        assert!(
            err.to_string().ends_with("did you mean `outputs`?"),
            "{err}"
        );
        let err =
            ServiceManifest::parse("s.yaml", "title: W\ninputs: {}\n").expect_err("no handler");
        assert_eq!(
            err.to_string(),
            "s.yaml:1:1: a service manifest needs `handler`"
        );
        let err =
            ConnectorManifest::parse("c.yaml", "type: X\nprivate: maybe\noutputs: {a: Int}\n")
                .expect_err("bool");
        assert_eq!(err.to_string(), "c.yaml:2:10: expected true or false");
    }
}
