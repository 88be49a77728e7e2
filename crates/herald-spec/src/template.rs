//! `{{ event.path }}` templates in a trigger's service data: parsed when the file is read, rendered
//! from each matched event's payload when its request is built.
//!
//! `{{ secrets.name }}` names one of the trigger's sealed secrets. Rendering leaves it as written:
//! the request is stored and committed to with the reference, never the value, and only the runner
//! that delivers substitutes it ([`substitute_secrets`]), just before sending. The spec allows it
//! only in header values written by the trigger's author, so event data can never place one.
//!
//! Both ends are bounded, because neither the trigger's author nor the event's emitter is trusted:
//! a file holds at most [`MAX_TEMPLATE_REFS`] templates, and rendering stops at
//! [`MAX_RENDERED_BYTES`] (or the caller's limit), so a small file cannot make a large event render a
//! huge request.

use herald_core::Path;
use serde_json::Value;

use crate::{
    error::SpecError,
    yaml::{Node, NodeKind},
};

/// The most `{{ event.… }}` references one trigger's data may hold. Each copies an event field into
/// the request, so without a bound a small file could render a huge request from a large event.
pub const MAX_TEMPLATE_REFS: usize = 64;

/// The largest rendered service data, in bytes (JSON). An event whose fields would render more is
/// not run: see [`render_data_within`].
pub const MAX_RENDERED_BYTES: usize = 256 * 1024;

/// A piece of a data string: literal text or a reference to an event field.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum TemplatePart {
    /// Text as written.
    Text(String),
    /// `{{ event.<path> }}`.
    Event(Path),
    /// `{{ secrets.<name> }}`: one of the trigger's sealed secrets.
    Secret(String),
}

/// The longest secret name (`{{ secrets.<name> }}`): lowercase letters, digits, `_` and `-`.
pub const MAX_SECRET_NAME: usize = 64;

/// Whether `name` may name a secret: 1 to [`MAX_SECRET_NAME`] of `[a-z0-9_-]`.
pub fn is_secret_name(name: &str) -> bool {
    (1..=MAX_SECRET_NAME).contains(&name.len())
        && name
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_' || b == b'-')
}

/// How a secret reference is written in a rendered request: always in this one form, so that
/// performer and co-signers, who both render it, commit to the same bytes.
fn secret_reference(name: &str) -> String {
    format!("{{{{ secrets.{name} }}}}")
}

/// `text` (a header value as stored) with every `{{ secrets.name }}` replaced by the value `lookup`
/// gives; `Err` names the first secret `lookup` does not have. Text that holds an event template
/// is refused: a stored value with secrets was written by the trigger's author alone.
pub fn substitute_secrets<'a>(
    text: &str,
    lookup: impl Fn(&str) -> Option<&'a str>,
) -> Result<String, SecretMissing> {
    let parts = parse_template(text).map_err(|_| SecretMissing(String::new()))?;
    let mut out = String::with_capacity(text.len());
    for part in parts {
        match part {
            TemplatePart::Text(text) => out.push_str(&text),
            TemplatePart::Secret(name) => {
                out.push_str(lookup(&name).ok_or(SecretMissing(name))?);
            }
            TemplatePart::Event(_) => return Err(SecretMissing(String::new())),
        }
    }
    Ok(out)
}

/// A header names a secret the trigger's sealed secrets do not hold (the name; empty when the
/// value was not a secret template at all).
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("the trigger's sealed secrets hold no `{0}`")]
pub struct SecretMissing(pub String);

/// Whether `text` references a secret.
pub fn references_secret(text: &str) -> bool {
    parse_template(text).is_ok_and(|parts| {
        parts
            .iter()
            .any(|part| matches!(part, TemplatePart::Secret(_)))
    })
}

/// Counts the templates in a data tree, refusing the one past [`MAX_TEMPLATE_REFS`].
pub(crate) fn count_templates(file: &str, node: &Node, seen: &mut usize) -> Result<(), SpecError> {
    match &node.kind {
        NodeKind::Scalar { text, .. } => {
            *seen += text.matches("{{").count();
            if *seen > MAX_TEMPLATE_REFS {
                return Err(SpecError::new(
                    file,
                    node.at,
                    format!(
                        "a trigger's data holds at most {MAX_TEMPLATE_REFS} `{{{{ event.… }}}}` templates"
                    ),
                ));
            }
            Ok(())
        }
        NodeKind::Seq(items) => items
            .iter()
            .try_for_each(|i| count_templates(file, i, seen)),
        NodeKind::Map(entries) => entries
            .iter()
            .try_for_each(|(_, v)| count_templates(file, v, seen)),
    }
}

/// Splits a data string into text, `{{ event.path }}` and `{{ secrets.name }}` references.
pub fn parse_template(text: &str) -> Result<Vec<TemplatePart>, String> {
    let mut parts = Vec::new();
    let mut rest = text;
    while let Some(open) = rest.find("{{") {
        if open > 0 {
            parts.push(TemplatePart::Text(rest[..open].to_string()));
        }
        let after = &rest[open + 2..];
        let close = after
            .find("}}")
            .ok_or_else(|| format!("`{{{{` without `}}}}` in {text:?}"))?;
        let expr = after[..close].trim();
        if let Some(name) = expr.strip_prefix("secrets.") {
            if !is_secret_name(name) {
                return Err(format!(
                    "a secret's name is 1 to {MAX_SECRET_NAME} of a-z, 0-9, `_` and `-`, found `{name}`"
                ));
            }
            parts.push(TemplatePart::Secret(name.to_string()));
            rest = &after[close + 2..];
            continue;
        }
        let path = expr.strip_prefix("event.").ok_or_else(|| {
            format!(
                "templates reference event fields as `{{{{ event.path }}}}` or secrets as \
                 `{{{{ secrets.name }}}}`, found `{expr}`"
            )
        })?;
        parts.push(TemplatePart::Event(path.parse()?));
        rest = &after[close + 2..];
    }
    if !rest.is_empty() {
        parts.push(TemplatePart::Text(rest.to_string()));
    }
    Ok(parts)
}

/// The service's data with every `{{ event.path }}` replaced from the event's payload. A string
/// that is a single template takes the field's JSON value (a number stays a number); inside
/// other text a field is written as text. A field the event lacks renders as `null` (or empty text).
/// Unbounded: for data from triggers on events from strangers, use [`render_data_within`].
pub fn render_data(data: &Value, payload: &Value) -> Value {
    let mut unlimited = usize::MAX;
    render(data, payload, &mut unlimited).unwrap_or(Value::Null)
}

/// Rendered data would exceed its size limit.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
#[error("the trigger's data renders to more than {limit} bytes for this event")]
pub struct RenderTooLarge {
    /// The limit that was exceeded.
    pub limit: usize,
}

/// [`render_data`], stopping as soon as the result would exceed `limit` bytes of JSON (roughly:
/// strings and keys count their length, other values their JSON text), so a large event cannot make
/// a keeper build a huge request before it finds out.
pub fn render_data_within(
    data: &Value,
    payload: &Value,
    limit: usize,
) -> Result<Value, RenderTooLarge> {
    let mut budget = limit;
    render(data, payload, &mut budget).map_err(|_| RenderTooLarge { limit })
}

struct OverBudget;

fn charge(budget: &mut usize, bytes: usize) -> Result<(), OverBudget> {
    *budget = budget.checked_sub(bytes).ok_or(OverBudget)?;
    Ok(())
}

/// Charges a value's JSON size to the budget, stopping at the first byte over it.
fn charge_value(budget: &mut usize, value: &Value) -> Result<(), OverBudget> {
    match value {
        Value::String(s) => charge(budget, s.len() + 2),
        Value::Array(items) => {
            charge(budget, items.len() + 1)?;
            items.iter().try_for_each(|v| charge_value(budget, v))
        }
        Value::Object(map) => {
            charge(budget, map.len() * 2 + 1)?;
            map.iter().try_for_each(|(k, v)| {
                charge(budget, k.len() + 2)?;
                charge_value(budget, v)
            })
        }
        other => charge(budget, other.to_string().len()),
    }
}

fn render(data: &Value, payload: &Value, budget: &mut usize) -> Result<Value, OverBudget> {
    Ok(match data {
        Value::String(text) => {
            let Ok(parts) = parse_template(text) else {
                charge(budget, text.len() + 2)?;
                return Ok(data.clone());
            };
            match parts.as_slice() {
                [TemplatePart::Event(path)] => {
                    let value = path.lookup(payload).unwrap_or(&Value::Null);
                    charge_value(budget, value)?;
                    value.clone()
                }
                _ => {
                    let mut out = String::new();
                    for part in &parts {
                        match part {
                            TemplatePart::Text(text) => {
                                charge(budget, text.len())?;
                                out.push_str(text);
                            }
                            TemplatePart::Secret(name) => {
                                let reference = secret_reference(name);
                                charge(budget, reference.len())?;
                                out.push_str(&reference);
                            }
                            TemplatePart::Event(path) => match path.lookup(payload) {
                                Some(Value::String(s)) => {
                                    charge(budget, s.len())?;
                                    out.push_str(s);
                                }
                                Some(Value::Null) | None => {}
                                Some(other) => {
                                    // Checked before it is written out, so it is never built whole.
                                    charge_value(budget, other)?;
                                    out.push_str(&other.to_string());
                                }
                            },
                        }
                    }
                    charge(budget, 2)?;
                    Value::String(out)
                }
            }
        }
        Value::Array(items) => {
            charge(budget, items.len() + 1)?;
            Value::Array(
                items
                    .iter()
                    .map(|v| render(v, payload, budget))
                    .collect::<Result<_, _>>()?,
            )
        }
        Value::Object(map) => {
            charge(budget, map.len() * 2 + 1)?;
            Value::Object(
                map.iter()
                    .map(|(k, v)| {
                        charge(budget, k.len() + 2)?;
                        Ok((k.clone(), render(v, payload, budget)?))
                    })
                    .collect::<Result<_, _>>()?,
            )
        }
        other => {
            charge(budget, other.to_string().len())?;
            other.clone()
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_secret_reference_is_rendered_as_written_and_substituted_only_by_the_runner() {
        let data =
            serde_json::json!({"headers": {"authorization": "Bearer {{secrets.api-token}}"}});
        let rendered = render_data(&data, &serde_json::json!({}));
        let stored = rendered["headers"]["authorization"]
            .as_str()
            .expect("a string");
        // One spelling, whatever the author's spacing: performer and co-signer commit to it.
        assert_eq!(stored, "Bearer {{ secrets.api-token }}");
        assert!(references_secret(stored));
        let value = substitute_secrets(stored, |name| (name == "api-token").then_some("sk-1"));
        assert_eq!(value.expect("substituted"), "Bearer sk-1");
        assert_eq!(
            substitute_secrets(stored, |_| None),
            Err(SecretMissing("api-token".into()))
        );
        // A value holding an event template was not written by the author alone.
        assert!(substitute_secrets("{{ secrets.a }}{{ event.x }}", |_| Some("v")).is_err());
        assert!(!references_secret("{{ event.x }} plain"));
    }

    #[test]
    fn data_templates_render_from_the_payload() {
        let payload = serde_json::json!({"arguments": {"to": "0xabc", "value": 12}});
        let data = serde_json::json!({
            "endpoint": "https://hooks.example/{{ event.arguments.to }}?v={{event.arguments.value}}",
            "amount": "{{ event.arguments.value }}",
            "missing": "{{ event.nope }}",
            "plain": ["text", 3],
        });
        assert_eq!(
            render_data(&data, &payload),
            serde_json::json!({
                "endpoint": "https://hooks.example/0xabc?v=12",
                "amount": 12,
                "missing": null,
                "plain": ["text", 3],
            })
        );
    }

    /// Security finding 6: a 210 KB configuration against a 10 KB log rendered a 100 MB request.
    /// Rendering now stops at its limit, having built no more than that.
    #[test]
    fn rendering_stops_at_its_limit() {
        let payload = serde_json::json!({"blob": "x".repeat(10_000), "n": 7});
        let data = serde_json::json!({
            "a": "{{ event.blob }}{{ event.blob }}",
            "b": ["{{ event.blob }}", "{{ event.n }}"],
        });
        assert_eq!(
            render_data_within(&data, &payload, 20_000),
            Err(RenderTooLarge { limit: 20_000 })
        );
        let rendered = render_data_within(&data, &payload, 40_000).expect("fits");
        assert_eq!(rendered, render_data(&data, &payload));
        assert_eq!(rendered["b"][1], 7);
        let whole = serde_json::json!({"all": "{{ event.blob }}"});
        assert!(render_data_within(&whole, &payload, 9_000).is_err());
    }

    #[test]
    fn a_file_holds_a_bounded_number_of_templates() {
        let many = (0..=MAX_TEMPLATE_REFS)
            .map(|i| format!("      k{i}: \"{{{{ event.arguments.Amount }}}}\"\n"))
            .collect::<String>();
        let text = format!(
            "t:\n  connector: {{type: ETHEREUM_MAINNET_CONTRACT}}\n  service:\n    service: webhook\n    data:\n{many}"
        );
        let err = crate::parse_triggers("many.yaml", &text).expect_err("too many templates");
        assert_eq!(
            err.to_string(),
            format!(
                "many.yaml:{}:12: a trigger's data holds at most {MAX_TEMPLATE_REFS} `{{{{ event.… }}}}` templates",
                6 + MAX_TEMPLATE_REFS
            )
        );
    }
}
