//! The trigger filter language, as data: field types, paths, operators and the filter tree.
//!
//! This is what a trigger file's `event-filters` become once parsed; `herald-match` compiles it
//! against the connector's declared outputs into typed predicates and matches events with it.

use std::{collections::BTreeMap, fmt, str::FromStr};

use serde_json::Value;

/// The type of a field a connector outputs or a service takes.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum FieldType {
    /// UTF-8 text.
    String,
    /// `true` or `false`.
    Bool,
    /// A signed integer that fits in 64 bits.
    Int,
    /// An unsigned 256-bit integer (exact; decimal or 0x-hex in JSON strings).
    Uint256,
    /// A signed 256-bit integer (exact).
    Int256,
    /// A 20-byte address, compared case-insensitively.
    Address,
    /// Arbitrary bytes, 0x-hex.
    Bytes,
    /// Exactly 32 bytes, 0x-hex.
    Bytes32,
    /// A point in time: RFC 3339 text or unix seconds.
    Datetime,
    /// Any JSON; comparisons are typed by the value found at run time.
    Json,
    /// A list of one element type.
    List(Box<FieldType>),
    /// Named fields.
    Object(BTreeMap<String, FieldType>),
}

impl FieldType {
    /// The type's name as a manifest writes it.
    pub fn name(&self) -> String {
        match self {
            Self::String => "string".into(),
            Self::Bool => "bool".into(),
            Self::Int => "int".into(),
            Self::Uint256 => "uint256".into(),
            Self::Int256 => "int256".into(),
            Self::Address => "address".into(),
            Self::Bytes => "bytes".into(),
            Self::Bytes32 => "bytes32".into(),
            Self::Datetime => "datetime".into(),
            Self::Json => "json".into(),
            Self::List(item) => format!("list of {}", item.name()),
            Self::Object(_) => "object".into(),
        }
    }

    /// The scalar type names, case-insensitively (`String`, `Int`, `Datetime`, `JSON` in seed 000).
    pub fn scalar(name: &str) -> Option<Self> {
        Some(match name.to_ascii_lowercase().as_str() {
            "string" | "str" => Self::String,
            "bool" | "boolean" => Self::Bool,
            "int" | "integer" | "int64" => Self::Int,
            "uint256" | "uint" => Self::Uint256,
            "int256" => Self::Int256,
            "address" => Self::Address,
            "bytes" => Self::Bytes,
            "bytes32" => Self::Bytes32,
            "datetime" | "timestamp" => Self::Datetime,
            "json" | "any" => Self::Json,
            _ => return None,
        })
    }

    /// The type of the field at `path` below this one, or where the path leaves the type.
    pub fn resolve(&self, path: &Path) -> Result<&FieldType, PathError> {
        let mut current = self;
        for (depth, segment) in path.segments().iter().enumerate() {
            current = match (current, segment) {
                (Self::Json, _) => return Ok(&Self::Json),
                (Self::Object(fields), Segment::Field(name)) => {
                    fields.get(name).ok_or_else(|| PathError {
                        depth,
                        known: fields.keys().cloned().collect(),
                    })?
                }
                (Self::List(item), Segment::Index(_)) => item,
                _ => {
                    return Err(PathError {
                        depth,
                        known: Vec::new(),
                    });
                }
            };
        }
        Ok(current)
    }
}

/// Where a path stops matching a type: the segment at `depth` does not exist; `known` lists the
/// field names that do (for "did you mean" suggestions).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PathError {
    /// Index of the first segment that does not resolve.
    pub depth: usize,
    /// Field names available at that point.
    pub known: Vec<String>,
}

/// One step of a path: a field name or a list index.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Segment {
    /// An object field.
    Field(String),
    /// A list element.
    Index(usize),
}

/// A dotted path into an event payload, e.g. `arguments.Amount` or `topics.1`.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Path(Vec<Segment>);

impl Path {
    /// The path's steps.
    pub fn segments(&self) -> &[Segment] {
        &self.0
    }

    /// The value at this path in a payload, if there is one.
    pub fn lookup<'v>(&self, payload: &'v Value) -> Option<&'v Value> {
        self.0
            .iter()
            .try_fold(payload, |value, segment| match segment {
                Segment::Field(name) => value.get(name),
                Segment::Index(i) => value.get(*i),
            })
    }
}

impl FromStr for Path {
    type Err = String;

    /// Splits on dots; an all-digit segment is a list index. Empty segments are refused.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        if s.is_empty() {
            return Err("a path cannot be empty".into());
        }
        s.split('.')
            .map(|part| {
                if part.is_empty() {
                    Err(format!("path {s:?} has an empty segment"))
                } else if part.bytes().all(|b| b.is_ascii_digit()) {
                    part.parse()
                        .map(Segment::Index)
                        .map_err(|_| format!("index {part:?} in {s:?} is too large"))
                } else {
                    Ok(Segment::Field(part.to_string()))
                }
            })
            .collect::<Result<_, _>>()
            .map(Path)
    }
}

impl fmt::Display for Path {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, segment) in self.0.iter().enumerate() {
            if i > 0 {
                f.write_str(".")?;
            }
            match segment {
                Segment::Field(name) => f.write_str(name)?,
                Segment::Index(index) => write!(f, "{index}")?,
            }
        }
        Ok(())
    }
}

/// A comparison operator.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Op {
    /// Equal.
    Eq,
    /// Not equal (true when the field is missing).
    Neq,
    /// Greater than.
    Gt,
    /// Greater than or equal.
    Gte,
    /// Less than.
    Lt,
    /// Less than or equal.
    Lte,
    /// Equal to one of a list.
    In,
    /// Equal to none of a list (true when the field is missing).
    Nin,
    /// A list field contains the value.
    Include,
    /// The field is present (`exists: true`) or absent (`exists: false`).
    Exists,
    /// Text or hex starts with.
    Prefix,
    /// Text or hex ends with.
    Suffix,
    /// Text matches a regular expression (linear time).
    Matches,
}

impl Op {
    /// Every operator, in the order documentation lists them.
    pub const ALL: [Op; 13] = [
        Op::Eq,
        Op::Neq,
        Op::Gt,
        Op::Gte,
        Op::Lt,
        Op::Lte,
        Op::In,
        Op::Nin,
        Op::Include,
        Op::Exists,
        Op::Prefix,
        Op::Suffix,
        Op::Matches,
    ];

    /// The operator's name in trigger files.
    pub const fn name(&self) -> &'static str {
        match self {
            Op::Eq => "eq",
            Op::Neq => "neq",
            Op::Gt => "gt",
            Op::Gte => "gte",
            Op::Lt => "lt",
            Op::Lte => "lte",
            Op::In => "in",
            Op::Nin => "nin",
            Op::Include => "include",
            Op::Exists => "exists",
            Op::Prefix => "prefix",
            Op::Suffix => "suffix",
            Op::Matches => "matches",
        }
    }

    /// The operator with this name.
    pub fn from_name(name: &str) -> Option<Op> {
        Op::ALL.into_iter().find(|op| op.name() == name)
    }
}

/// One test on one field: `path: {op: value}`.
#[derive(Clone, Debug, PartialEq)]
pub struct Predicate {
    /// Which field.
    pub path: Path,
    /// How to compare.
    pub op: Op,
    /// What to compare with, as written (numbers may be strings, to stay exact).
    pub value: Value,
}

/// A filter: predicates combined with `all`, `any` and `not`. A trigger's `event-filters` list is an
/// implicit `all`.
#[derive(Clone, Debug, PartialEq)]
pub enum Filter {
    /// Every sub-filter holds (true when empty).
    All(Vec<Filter>),
    /// At least one sub-filter holds (false when empty).
    Any(Vec<Filter>),
    /// The sub-filter does not hold.
    Not(Box<Filter>),
    /// A single test.
    Predicate(Predicate),
}

impl Filter {
    /// Shorthand for a predicate leaf.
    pub fn predicate(path: &str, op: Op, value: Value) -> Result<Self, String> {
        Ok(Self::Predicate(Predicate {
            path: path.parse()?,
            op,
            value,
        }))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn transfer_type() -> FieldType {
        FieldType::Object(BTreeMap::from([
            ("to".into(), FieldType::Address),
            ("logs".into(), FieldType::List(Box::new(FieldType::String))),
            ("arguments".into(), FieldType::Json),
        ]))
    }

    #[test]
    fn paths_parse_fields_and_indexes() {
        let path: Path = "arguments.Amount".parse().expect("valid");
        assert_eq!(
            path.segments(),
            &[
                Segment::Field("arguments".into()),
                Segment::Field("Amount".into())
            ]
        );
        let path: Path = "logs.1".parse().expect("valid");
        assert_eq!(path.segments()[1], Segment::Index(1));
        assert_eq!(path.to_string(), "logs.1");
        assert!("a..b".parse::<Path>().is_err());
        assert!("".parse::<Path>().is_err());
    }

    #[test]
    fn resolve_follows_objects_lists_and_json() {
        let t = transfer_type();
        assert_eq!(
            t.resolve(&"to".parse().expect("p")),
            Ok(&FieldType::Address)
        );
        assert_eq!(
            t.resolve(&"logs.0".parse().expect("p")),
            Ok(&FieldType::String)
        );
        assert_eq!(
            t.resolve(&"arguments.Amount.deep".parse().expect("p")),
            Ok(&FieldType::Json)
        );
        let err = t.resolve(&"too".parse().expect("p")).expect_err("unknown");
        assert_eq!(err.depth, 0);
        assert_eq!(err.known, vec!["arguments", "logs", "to"]);
        assert!(
            t.resolve(&"to.x".parse().expect("p")).is_err(),
            "an address has no fields"
        );
    }

    #[test]
    fn type_and_operator_names_round_trip() {
        for name in [
            "String", "Int", "Datetime", "JSON", "uint256", "address", "bytes32",
        ] {
            assert!(FieldType::scalar(name).is_some(), "{name}");
        }
        assert_eq!(FieldType::scalar("float"), None);
        for op in Op::ALL {
            assert_eq!(Op::from_name(op.name()), Some(op));
        }
        assert_eq!(Op::from_name("greater"), None);
    }
}
