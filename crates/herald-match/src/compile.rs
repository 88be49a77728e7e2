//! Compiling a [`Filter`] against the type of the events it will see.

use std::{cmp::Ordering, collections::HashSet, sync::Arc};

use herald_core::{FieldType, Filter, Op, Path, Predicate, Segment};
use regex::Regex;
use serde_json::Value;

use crate::value::{self, Kind, Scalar};

/// A filter with every literal parsed to its field's type and every operator checked against it.
#[derive(Clone, Debug)]
pub struct CompiledFilter {
    pub(crate) root: Node,
}

#[derive(Clone, Debug)]
pub(crate) enum Node {
    All(Vec<Node>),
    Any(Vec<Node>),
    Not(Box<Node>),
    Leaf(Leaf),
}

#[derive(Clone, Debug)]
pub(crate) struct Leaf {
    /// Shared between triggers with the same path (see [`Node::intern`]), to keep them cache-hot.
    pub(crate) path: Arc<[Segment]>,
    /// The predicate as written (`arguments.Amount gt 10`), for explanations.
    pub(crate) source: Arc<str>,
    pub(crate) test: Test,
}

#[derive(Clone, Debug)]
pub(crate) enum Test {
    Exists(bool),
    Cmp(Cmp, Scalar),
    In {
        set: Vec<Scalar>,
        kind: Kind,
        negate: bool,
    },
    Include(Scalar),
    Prefix(Box<str>, Kind),
    Suffix(Box<str>, Kind),
    Matches(Regex),
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Cmp {
    Eq,
    Neq,
    Gt,
    Gte,
    Lt,
    Lte,
}

/// Why a filter does not fit the events it is meant for.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("`{path}`: {problem}")]
pub struct CompileError {
    /// The field the problem is on.
    pub path: String,
    /// Which part of the predicate is wrong, so a caller with positions can point at it.
    pub site: Site,
    /// What is wrong and what was expected.
    pub problem: String,
}

/// The part of a predicate an error is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Site {
    /// The path names no field.
    Path,
    /// The operator does not apply to the field's type.
    Operator,
    /// The value does not parse as the field's type.
    Value,
}

impl CompiledFilter {
    /// Whether `data` (an event payload) satisfies the filter.
    pub fn matches(&self, data: &Value) -> bool {
        self.root.eval(data)
    }

    /// Why `data` does not satisfy the filter — the first failing predicate, in the order written,
    /// and the value it found — or `None` when it does.
    pub fn explain(&self, data: &Value) -> Option<String> {
        self.root.explain(data)
    }
}

/// Compiles `filter` for events whose payload has type `schema`.
pub fn compile(filter: &Filter, schema: &FieldType) -> Result<CompiledFilter, CompileError> {
    Ok(CompiledFilter {
        root: node(filter, schema)?,
    })
}

fn node(filter: &Filter, schema: &FieldType) -> Result<Node, CompileError> {
    Ok(match filter {
        Filter::All(items) => Node::All(
            items
                .iter()
                .map(|f| node(f, schema))
                .collect::<Result<_, _>>()?,
        ),
        Filter::Any(items) => Node::Any(
            items
                .iter()
                .map(|f| node(f, schema))
                .collect::<Result<_, _>>()?,
        ),
        Filter::Not(inner) => Node::Not(Box::new(node(inner, schema)?)),
        Filter::Predicate(p) => Node::Leaf(leaf(p, schema)?),
    })
}

fn leaf(p: &Predicate, schema: &FieldType) -> Result<Leaf, CompileError> {
    let at = |site: Site| {
        move |problem: String| CompileError {
            path: p.path.to_string(),
            site,
            problem,
        }
    };
    let fail = at(Site::Value);
    let field = schema
        .resolve(&p.path)
        .map_err(|e| at(Site::Path)(unknown_field(&p.path, e.depth, &e.known)))?;
    let not_for = |allowed: &str| {
        at(Site::Operator)(format!(
            "`{}` does not apply to {} field; use {allowed}",
            p.op.name(),
            a(&field.name())
        ))
    };
    let literal = |kind: Kind, value: &Value| {
        parse_literal(kind, value).ok_or_else(|| {
            fail(format!(
                "expected {} for {} field, found {value}",
                kind_name(kind),
                a(&field.name())
            ))
        })
    };

    let test = match p.op {
        Op::Exists => match p.value {
            Value::Bool(want) => Test::Exists(want),
            ref other => return Err(fail(format!("`exists` takes true or false, found {other}"))),
        },
        Op::Eq | Op::Neq | Op::Gt | Op::Gte | Op::Lt | Op::Lte => {
            let kind = scalar_kind(field, &p.value)
                .ok_or_else(|| not_for("exists, or a path to one of its elements"))?;
            let ordered = matches!(kind, Kind::Num | Kind::Time);
            let cmp = match p.op {
                Op::Eq => Cmp::Eq,
                Op::Neq => Cmp::Neq,
                Op::Gt => Cmp::Gt,
                Op::Gte => Cmp::Gte,
                Op::Lt => Cmp::Lt,
                _ => Cmp::Lte,
            };
            if !ordered && !matches!(cmp, Cmp::Eq | Cmp::Neq) {
                return Err(not_for("eq, neq, in, nin or exists"));
            }
            let scalar = literal(kind, &p.value)?;
            check_range(field, &scalar).map_err(fail)?;
            Test::Cmp(cmp, scalar)
        }
        Op::In | Op::Nin => {
            let Value::Array(items) = &p.value else {
                return Err(fail(format!(
                    "`{}` takes a list, found {}",
                    p.op.name(),
                    p.value
                )));
            };
            let first = items.first().unwrap_or(&Value::Null);
            let kind = scalar_kind(field, first).ok_or_else(|| not_for("exists"))?;
            let set = items
                .iter()
                .map(|v| literal(kind, v))
                .collect::<Result<Vec<_>, _>>()?;
            Test::In {
                set,
                kind,
                negate: p.op == Op::Nin,
            }
        }
        Op::Include => {
            let item_kind = match field {
                FieldType::List(item) => scalar_kind(item, &p.value),
                FieldType::Json => value::dynamic_kind(&p.value),
                _ => None,
            }
            .ok_or_else(|| not_for("include only on list fields"))?;
            Test::Include(literal(item_kind, &p.value)?)
        }
        Op::Prefix | Op::Suffix => {
            let kind = match scalar_kind(field, &p.value) {
                Some(Kind::Str) => Kind::Str,
                Some(Kind::Bytes | Kind::Address) if !matches!(field, FieldType::Json) => {
                    Kind::Bytes
                }
                _ => return Err(not_for("prefix and suffix only on text and hex fields")),
            };
            let text: Box<str> = match (&p.value, kind) {
                (Value::String(s), Kind::Str) => s.as_str().into(),
                (Value::String(s), _) => value::parse_hex(s)
                    .ok_or_else(|| fail(format!("expected 0x-prefixed hex, found {:?}", s)))?,
                (other, _) => return Err(fail(format!("expected text, found {other}"))),
            };
            if p.op == Op::Prefix {
                Test::Prefix(text, kind)
            } else {
                Test::Suffix(text, kind)
            }
        }
        Op::Matches => {
            if !matches!(field, FieldType::String | FieldType::Json) {
                return Err(not_for("matches only on text fields"));
            }
            let Value::String(pattern) = &p.value else {
                return Err(fail(format!(
                    "`matches` takes a regular expression, found {}",
                    p.value
                )));
            };
            // The regex crate guarantees linear-time matching: no catastrophic backtracking.
            Test::Matches(
                Regex::new(pattern)
                    .map_err(|e| fail(format!("invalid regular expression: {e}")))?,
            )
        }
    };
    Ok(Leaf {
        path: Arc::from(p.path.segments()),
        source: format!("{} {} {}", p.path, p.op.name(), p.value).into(),
        test,
    })
}

/// How a scalar field of this type is compared; for JSON fields the literal decides.
fn scalar_kind(field: &FieldType, literal: &Value) -> Option<Kind> {
    Some(match field {
        FieldType::String => Kind::Str,
        FieldType::Bool => Kind::Bool,
        FieldType::Int | FieldType::Uint256 | FieldType::Int256 => Kind::Num,
        FieldType::Address => Kind::Address,
        FieldType::Bytes | FieldType::Bytes32 => Kind::Bytes,
        FieldType::Datetime => Kind::Time,
        FieldType::Json => return value::dynamic_kind(literal),
        FieldType::List(_) | FieldType::Object(_) => return None,
    })
}

fn parse_literal(kind: Kind, v: &Value) -> Option<Scalar> {
    match (kind, v) {
        // YAML and JSON authors write addresses and hex unquoted or quoted; numbers may be strings to
        // stay exact beyond 2^53.
        (Kind::Str, Value::String(s)) => Some(Scalar::Str(s.as_str().into())),
        (Kind::Str, Value::Number(n)) => Some(Scalar::Str(n.to_string().into())),
        _ => value::read(v, kind),
    }
}

fn check_range(field: &FieldType, scalar: &Scalar) -> Result<(), String> {
    match (field, scalar) {
        (FieldType::Uint256, Scalar::Num(n)) if n.is_negative() => {
            Err("a uint256 field is never negative".to_string())
        }
        (FieldType::Int, Scalar::Num(n))
            if n.magnitude() > alloy_primitives::U256::from(u64::MAX) =>
        {
            Err("the value does not fit a 64-bit int field".to_string())
        }
        (FieldType::Int256, Scalar::Num(n))
            if n.magnitude().bit_len() > 255 + usize::from(n.is_negative()) =>
        {
            Err("the value does not fit an int256 field".to_string())
        }
        (FieldType::Bytes32, Scalar::Bytes(hex)) if hex.len() != 64 => Err(format!(
            "a bytes32 value has 64 hex digits, found {}",
            hex.len()
        )),
        _ => Ok(()),
    }
}

/// "a string", "an address", "an int".
fn a(name: &str) -> String {
    let article = if name.starts_with(['a', 'e', 'i', 'o', 'u']) {
        "an"
    } else {
        "a"
    };
    format!("{article} {name}")
}

fn kind_name(kind: Kind) -> &'static str {
    match kind {
        Kind::Bool => "true or false",
        Kind::Num => "an integer (a number, or a decimal or 0x-hex string)",
        Kind::Address => "a 0x-prefixed 20-byte address",
        Kind::Bytes => "0x-prefixed hex",
        Kind::Str => "text",
        Kind::Time => "an RFC 3339 time or unix seconds",
    }
}

fn unknown_field(path: &Path, depth: usize, known: &[String]) -> String {
    let missing = match &path.segments()[depth] {
        Segment::Field(name) => name.clone(),
        Segment::Index(i) => return format!("element {i} is not in a list"),
    };
    let suggestion = known
        .iter()
        .map(|k| {
            (
                strsim::jaro_winkler(&missing.to_lowercase(), &k.to_lowercase()),
                k,
            )
        })
        .filter(|(score, _)| *score > 0.8)
        .max_by(|a, b| a.0.partial_cmp(&b.0).unwrap_or(Ordering::Equal));
    let listing = if known.is_empty() {
        String::new()
    } else {
        format!(" (known: {})", known.join(", "))
    };
    match suggestion {
        Some((_, name)) => format!("no field `{missing}` here; did you mean `{name}`?{listing}"),
        None => format!("no field `{missing}` here{listing}"),
    }
}

impl Node {
    /// The same tree, with every path replaced by the equal one already in `paths` (added if new):
    /// a hundred thousand triggers on `arguments.value` then share one copy of the path.
    pub(crate) fn intern(&self, paths: &mut HashSet<Arc<[Segment]>>) -> Node {
        match self {
            Node::All(items) => Node::All(items.iter().map(|n| n.intern(paths)).collect()),
            Node::Any(items) => Node::Any(items.iter().map(|n| n.intern(paths)).collect()),
            Node::Not(inner) => Node::Not(Box::new(inner.intern(paths))),
            Node::Leaf(leaf) => {
                let path = match paths.get(&leaf.path) {
                    Some(shared) => shared.clone(),
                    None => {
                        paths.insert(leaf.path.clone());
                        leaf.path.clone()
                    }
                };
                Node::Leaf(Leaf {
                    path,
                    source: leaf.source.clone(),
                    test: leaf.test.clone(),
                })
            }
        }
    }

    fn explain(&self, data: &Value) -> Option<String> {
        match self {
            Node::All(items) => items.iter().find_map(|n| n.explain(data)),
            Node::Any(items) => {
                let reasons: Option<Vec<String>> = items.iter().map(|n| n.explain(data)).collect();
                reasons.map(|r| {
                    if r.is_empty() {
                        "an empty `any` never holds".to_string()
                    } else {
                        format!("none of the `any` alternatives held ({})", r.join("; "))
                    }
                })
            }
            Node::Not(inner) => match inner.explain(data) {
                Some(_) => None,
                None => Some(format!(
                    "`not` failed: its filter held ({})",
                    inner.describe()
                )),
            },
            Node::Leaf(leaf) => (!leaf.eval(data)).then(|| {
                let found = match lookup(data, &leaf.path) {
                    Some(v) => format!("found {v}"),
                    None => "the field is missing".to_string(),
                };
                format!("`{}` failed: {found}", leaf.source)
            }),
        }
    }

    fn describe(&self) -> String {
        match self {
            Node::All(items) => format!(
                "all of {}",
                items
                    .iter()
                    .map(Node::describe)
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
            Node::Any(items) => format!(
                "any of {}",
                items
                    .iter()
                    .map(Node::describe)
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
            Node::Not(inner) => format!("not {}", inner.describe()),
            Node::Leaf(leaf) => format!("`{}`", leaf.source),
        }
    }

    pub(crate) fn eval(&self, data: &Value) -> bool {
        match self {
            Node::All(items) => items.iter().all(|n| n.eval(data)),
            Node::Any(items) => items.iter().any(|n| n.eval(data)),
            Node::Not(inner) => !inner.eval(data),
            Node::Leaf(leaf) => leaf.eval(data),
        }
    }
}

impl Leaf {
    pub(crate) fn eval(&self, data: &Value) -> bool {
        let field = lookup(data, &self.path);
        match &self.test {
            Test::Exists(want) => field.is_some() == *want,
            Test::Cmp(cmp, rhs) => match field.and_then(|v| value::read(v, rhs.kind())) {
                None => *cmp == Cmp::Neq,
                Some(lhs) => match cmp {
                    Cmp::Eq => lhs == *rhs,
                    Cmp::Neq => lhs != *rhs,
                    Cmp::Gt => lhs.compare(rhs) == Some(Ordering::Greater),
                    Cmp::Gte => {
                        matches!(lhs.compare(rhs), Some(Ordering::Greater | Ordering::Equal))
                    }
                    Cmp::Lt => lhs.compare(rhs) == Some(Ordering::Less),
                    Cmp::Lte => matches!(lhs.compare(rhs), Some(Ordering::Less | Ordering::Equal)),
                },
            },
            Test::In { set, kind, negate } => {
                let found = field
                    .and_then(|v| value::read(v, *kind))
                    .is_some_and(|v| set.contains(&v));
                found != *negate
            }
            Test::Include(item) => field.and_then(Value::as_array).is_some_and(|list| {
                list.iter()
                    .any(|v| value::read(v, item.kind()).as_ref() == Some(item))
            }),
            Test::Prefix(text, kind) => {
                text_of(field, *kind).is_some_and(|s| s.starts_with(&**text))
            }
            Test::Suffix(text, kind) => text_of(field, *kind).is_some_and(|s| s.ends_with(&**text)),
            Test::Matches(re) => field
                .and_then(Value::as_str)
                .is_some_and(|s| re.is_match(s)),
        }
    }
}

fn text_of(field: Option<&Value>, kind: Kind) -> Option<Box<str>> {
    match value::read(field?, kind)? {
        Scalar::Str(s) | Scalar::Bytes(s) => Some(s),
        _ => None,
    }
}

/// The value at `path`; JSON `null` counts as absent.
pub(crate) fn lookup<'a>(data: &'a Value, path: &[Segment]) -> Option<&'a Value> {
    let mut current = data;
    for segment in path {
        current = match (current, segment) {
            (Value::Object(map), Segment::Field(name)) => map.get(name)?,
            (Value::Array(items), Segment::Index(i)) => items.get(*i)?,
            _ => return None,
        };
    }
    (!current.is_null()).then_some(current)
}
