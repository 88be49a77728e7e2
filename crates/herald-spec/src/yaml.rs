//! A YAML tree with positions, built from saphyr-parser's event stream.
//!
//! Only what trigger files and manifests need: one document of mappings, sequences and scalars.
//! Anchors, aliases and tags are refused with a clear error rather than half-supported.
//!
//! Everything here may come from a stranger: a trigger's configuration is whatever bytes someone
//! passed to `createTrigger`, and every keeper parses it. So the input is bounded before it is read
//! ([`MAX_YAML_BYTES`]) and the tree's nesting while it is built ([`MAX_DEPTH`]): the builder, the
//! conversion to JSON and even dropping the tree recurse once per level, and an unbounded block
//! sequence (`- - - - … x`, two bytes a level) would overflow a thread's stack and abort the process
//! — on every keeper, and again on each restart, since keepers rebuild their triggers from the chain.

use saphyr_parser::{Event, Parser, ScalarStyle, Span};
use serde_json::{Number, Value};

use crate::error::{Position, SpecError};

/// The largest YAML text parsed, in bytes. Trigger files have a smaller limit of their own
/// ([`crate::trigger::MAX_TRIGGER_FILE_BYTES`]); this one bounds any YAML Herald reads.
pub const MAX_YAML_BYTES: usize = 256 * 1024;

/// The deepest nesting of lists and mappings accepted. A trigger file needs about eight levels
/// (trigger, service, data, a nested object, …); filters nest `all`/`any`/`not` a few more.
pub const MAX_DEPTH: usize = 32;

/// A YAML node and where it starts.
#[derive(Clone, Debug, PartialEq)]
pub struct Node {
    /// Where the node starts.
    pub at: Position,
    /// What it is.
    pub kind: NodeKind,
}

/// The three YAML node kinds.
#[derive(Clone, Debug, PartialEq)]
pub enum NodeKind {
    /// A scalar's text as written, and whether it was quoted (quoted text is always a string).
    Scalar {
        /// The text, unescaped.
        text: String,
        /// Whether it was plain (unquoted, not a block).
        plain: bool,
    },
    /// A sequence.
    Seq(Vec<Node>),
    /// A mapping, in file order; keys are scalars and unique.
    Map(Vec<(Node, Node)>),
}

impl Node {
    /// The scalar's text, if this is a scalar.
    pub fn as_text(&self) -> Option<&str> {
        match &self.kind {
            NodeKind::Scalar { text, .. } => Some(text),
            _ => None,
        }
    }

    /// A word for the node's kind, for messages.
    pub fn describe(&self) -> &'static str {
        match &self.kind {
            NodeKind::Scalar { .. } => "a scalar",
            NodeKind::Seq(_) => "a list",
            NodeKind::Map(_) => "a mapping",
        }
    }

    /// The node as JSON. Plain scalars are resolved as YAML 1.2 core does, except that integers too
    /// large for 64 bits and `0x…` hex stay text, so no digit of a uint256 or an address is lost.
    pub fn to_json(&self) -> Value {
        match &self.kind {
            NodeKind::Scalar { text, plain: false } => Value::String(text.clone()),
            NodeKind::Scalar { text, plain: true } => resolve_plain(text),
            NodeKind::Seq(items) => Value::Array(items.iter().map(Node::to_json).collect()),
            NodeKind::Map(entries) => Value::Object(
                entries
                    .iter()
                    .map(|(k, v)| (k.as_text().unwrap_or_default().to_string(), v.to_json()))
                    .collect(),
            ),
        }
    }
}

fn resolve_plain(text: &str) -> Value {
    match text {
        "" | "~" | "null" | "Null" | "NULL" => return Value::Null,
        "true" | "True" | "TRUE" => return Value::Bool(true),
        "false" | "False" | "FALSE" => return Value::Bool(false),
        _ => {}
    }
    let digits = text.strip_prefix(['-', '+']).unwrap_or(text);
    if !digits.is_empty() && digits.bytes().all(|b| b.is_ascii_digit()) {
        if let Ok(n) = text.parse::<i64>() {
            return Value::Number(n.into());
        }
        if let Ok(n) = text.parse::<u64>() {
            return Value::Number(n.into());
        }
        return Value::String(text.to_string());
    }
    if looks_like_float(text)
        && let Some(n) = text.parse::<f64>().ok().and_then(Number::from_f64)
    {
        return Value::Number(n);
    }
    Value::String(text.to_string())
}

fn looks_like_float(text: &str) -> bool {
    let body = text.strip_prefix(['-', '+']).unwrap_or(text);
    body.contains(['.', 'e', 'E'])
        && body
            .bytes()
            .all(|b| b.is_ascii_digit() || matches!(b, b'.' | b'e' | b'E' | b'-' | b'+'))
        && body
            .bytes()
            .next()
            .is_some_and(|b| b.is_ascii_digit() || b == b'.')
}

/// Parses one YAML document. An empty file is an empty mapping. Texts over [`MAX_YAML_BYTES`] and
/// nesting deeper than [`MAX_DEPTH`] are refused.
pub fn parse(file: &str, text: &str) -> Result<Node, SpecError> {
    if text.len() > MAX_YAML_BYTES {
        return Err(SpecError::new(
            file,
            Position { line: 1, col: 1 },
            format!(
                "the YAML is {} bytes; at most {MAX_YAML_BYTES} are read",
                text.len()
            ),
        ));
    }
    let mut events = Vec::new();
    for result in Parser::new_from_str(text) {
        let (event, span) = result.map_err(|e| {
            let m = e.marker();
            SpecError::new(
                file,
                Position {
                    line: m.line(),
                    col: m.col() + 1,
                },
                format!("invalid YAML: {}", e.info()),
            )
        })?;
        events.push((event, span));
    }
    let mut builder = Builder {
        file,
        events: events.into_iter(),
        documents: 0,
        depth: 0,
    };
    builder.document()
}

struct Builder<'f, 'i> {
    file: &'f str,
    events: std::vec::IntoIter<(Event<'i>, Span)>,
    documents: usize,
    /// Lists and mappings open around the node being built.
    depth: usize,
}

fn position(span: &Span) -> Position {
    Position {
        line: span.start.line(),
        col: span.start.col() + 1,
    }
}

impl<'i> Builder<'_, 'i> {
    fn document(&mut self) -> Result<Node, SpecError> {
        let mut root = None;
        while let Some((event, span)) = self.events.next() {
            match event {
                Event::StreamStart | Event::DocumentEnd | Event::Nothing => {}
                Event::StreamEnd => break,
                Event::DocumentStart(_) => {
                    self.documents += 1;
                    if self.documents > 1 {
                        return Err(self.error(
                            &span,
                            "a file holds one YAML document; remove the extra `---`",
                        ));
                    }
                }
                other => {
                    if root.is_some() {
                        return Err(self.error(&span, "a file holds one YAML document"));
                    }
                    root = Some(self.node(other, span)?);
                }
            }
        }
        Ok(root.unwrap_or(Node {
            at: Position { line: 1, col: 1 },
            kind: NodeKind::Map(Vec::new()),
        }))
    }

    fn node(&mut self, event: Event<'i>, span: Span) -> Result<Node, SpecError> {
        let at = position(&span);
        match event {
            Event::Scalar(text, style, anchor, tag) => {
                self.refuse_extras(&span, anchor, tag.is_some())?;
                Ok(Node {
                    at,
                    kind: NodeKind::Scalar {
                        text: text.into_owned(),
                        plain: style == ScalarStyle::Plain,
                    },
                })
            }
            Event::SequenceStart(anchor, tag) => {
                self.refuse_extras(&span, anchor, tag.is_some())?;
                self.open(&span)?;
                let mut items = Vec::new();
                loop {
                    let (event, span) = self.next(&span)?;
                    if matches!(event, Event::SequenceEnd) {
                        break;
                    }
                    items.push(self.node(event, span)?);
                }
                self.depth -= 1;
                Ok(Node {
                    at,
                    kind: NodeKind::Seq(items),
                })
            }
            Event::MappingStart(anchor, tag) => {
                self.refuse_extras(&span, anchor, tag.is_some())?;
                self.open(&span)?;
                let mut entries: Vec<(Node, Node)> = Vec::new();
                loop {
                    let (event, key_span) = self.next(&span)?;
                    if matches!(event, Event::MappingEnd) {
                        break;
                    }
                    let key = self.node(event, key_span)?;
                    let Some(name) = key.as_text() else {
                        return Err(self.error(&key_span, "mapping keys must be plain text"));
                    };
                    if entries.iter().any(|(k, _)| k.as_text() == Some(name)) {
                        return Err(self.error(&key_span, format!("duplicate key `{name}`")));
                    }
                    let (event, value_span) = self.next(&span)?;
                    let value = self.node(event, value_span)?;
                    entries.push((key, value));
                }
                self.depth -= 1;
                Ok(Node {
                    at,
                    kind: NodeKind::Map(entries),
                })
            }
            Event::Alias(_) => Err(self.error(
                &span,
                "YAML aliases (`*name`) are not supported; write the value out",
            )),
            _ => Err(self.error(&span, "unexpected YAML structure")),
        }
    }

    /// Enters a list or mapping, refusing one nested deeper than [`MAX_DEPTH`].
    fn open(&mut self, span: &Span) -> Result<(), SpecError> {
        if self.depth == MAX_DEPTH {
            return Err(self.error(
                span,
                format!("lists and mappings nest at most {MAX_DEPTH} deep here"),
            ));
        }
        self.depth += 1;
        Ok(())
    }

    fn next(&mut self, opened: &Span) -> Result<(Event<'i>, Span), SpecError> {
        self.events
            .next()
            .ok_or_else(|| self.error(opened, "this node is never closed"))
    }

    fn refuse_extras(&self, span: &Span, anchor: usize, tagged: bool) -> Result<(), SpecError> {
        if anchor != 0 {
            return Err(self.error(
                span,
                "YAML anchors (`&name`) are not supported; write the value out",
            ));
        }
        if tagged {
            return Err(self.error(span, "YAML tags (`!tag`) are not supported"));
        }
        Ok(())
    }

    fn error(&self, span: &Span, message: impl Into<String>) -> SpecError {
        SpecError::new(self.file, position(span), message)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use serde_json::json;

    #[test]
    fn keeps_positions_and_raw_text() {
        let node = parse(
            "t.yaml",
            "a:\n  to:\n    eq: 0xe94327d07fc17907b4db788e5adf2ed424addff6\n  n: 10\n",
        )
        .expect("valid");
        let NodeKind::Map(top) = &node.kind else {
            panic!("mapping")
        };
        let NodeKind::Map(inner) = &top[0].1.kind else {
            panic!("mapping")
        };
        assert_eq!(inner[0].0.at, Position { line: 2, col: 3 });
        assert_eq!(
            node.to_json(),
            json!({"a": {"to": {"eq": "0xe94327d07fc17907b4db788e5adf2ed424addff6"}, "n": 10}})
        );
    }

    #[test]
    fn resolves_plain_scalars_without_losing_digits() {
        let node = parse("t", "[10, -3, 1.5, true, ~, '10', 115792089237316195423570985008687907853269984665640564039457584007913129639935, 0x10, 2017-10-12]").expect("ok");
        assert_eq!(
            node.to_json(),
            json!([
                10,
                -3,
                1.5,
                true,
                null,
                "10",
                "115792089237316195423570985008687907853269984665640564039457584007913129639935",
                "0x10",
                "2017-10-12"
            ])
        );
    }

    #[test]
    fn errors_point_at_the_problem() {
        let err = parse("t.yaml", "a: 1\na: 2\n").expect_err("duplicate");
        assert_eq!(err.to_string(), "t.yaml:2:1: duplicate key `a`");
        let err = parse("t.yaml", "a: &x 1\nb: *x\n").expect_err("anchor");
        assert!(
            err.to_string().starts_with("t.yaml:1:4: YAML anchors"),
            "{err}"
        );
        let err = parse("t.yaml", "a: [1, 2\n").expect_err("unclosed");
        assert!(err.to_string().starts_with("t.yaml:"), "{err}");
        assert!(err.message.starts_with("invalid YAML"), "{err}");
        let err = parse("t.yaml", "a: 1\n---\nb: 2\n").expect_err("two documents");
        assert!(err.message.contains("one YAML document"), "{err}");
    }

    /// Security finding 1: a few kilobytes of block-style nesting aborted every keeper (stack
    /// overflow, which no handler can catch). Now it is an error at the level that goes too deep.
    #[test]
    fn refuses_deep_nesting_instead_of_overflowing_the_stack() {
        for text in [
            format!("{}x\n", "- ".repeat(4_000)),
            format!("{}{}x\n", deep_block_map(100), " ".repeat(100)),
            format!("{}x{}", "[".repeat(4_000), "]".repeat(4_000)),
        ] {
            let err = parse("deep.yaml", &text).expect_err("too deep");
            assert!(err.to_string().starts_with("deep.yaml:"), "{err}");
        }
        let err = parse("deep.yaml", &format!("{}x\n", "- ".repeat(4_000))).expect_err("deep");
        assert_eq!(
            err.to_string(),
            format!(
                "deep.yaml:1:{}: lists and mappings nest at most {MAX_DEPTH} deep here",
                2 * MAX_DEPTH + 1
            )
        );
        let ok = format!("{}x\n", "- ".repeat(MAX_DEPTH));
        assert!(parse("ok.yaml", &ok).is_ok(), "{MAX_DEPTH} levels are fine");
    }

    fn deep_block_map(levels: usize) -> String {
        (0..levels)
            .map(|i| format!("{}k:\n", " ".repeat(i)))
            .collect()
    }

    #[test]
    fn refuses_oversized_text_before_reading_it() {
        let text = format!("a: \"{}\"\n", "x".repeat(MAX_YAML_BYTES));
        let err = parse("big.yaml", &text).expect_err("too big");
        assert!(
            err.to_string().starts_with("big.yaml:1:1: the YAML is"),
            "{err}"
        );
    }

    proptest! {
        #[test]
        fn never_panics_on_arbitrary_text(text in "\\PC{0,200}") {
            let _ = parse("fuzz", &text);
        }

        #[test]
        fn never_panics_on_yaml_like_text(text in "[a-z:\\-\\[\\]{}&*!|>'\" \n0-9#,.]{0,120}") {
            if let Ok(node) = parse("fuzz", &text) {
                let _ = node.to_json();
            }
        }
    }
}
