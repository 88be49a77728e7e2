//! A trigger's service data checked against what it feeds: each value against the service's input
//! type, each template against the connector's outputs, with the position of the offending value.

use herald_core::{FieldType, Path};
use serde_json::Value;

use crate::{
    error::{SpecError, suggestion},
    manifest::ServiceManifest,
    template::{TemplatePart, parse_template},
    yaml::{Node, NodeKind},
};

pub(crate) fn check_data(
    file: &str,
    data: &Node,
    service: &ServiceManifest,
    outputs: &FieldType,
) -> Result<(), SpecError> {
    let NodeKind::Map(entries) = &data.kind else {
        return Err(SpecError::new(
            file,
            data.at,
            format!(
                "`data` maps the service's inputs to values, found {}",
                data.describe()
            ),
        ));
    };
    for (key, value) in entries {
        let name = key.as_text().unwrap_or_default();
        let Some(input) = service.inputs.get(name) else {
            return Err(SpecError::new(
                file,
                key.at,
                format!(
                    "`{}` takes no input `{name}` (its inputs: {}){}",
                    service.title,
                    service
                        .inputs
                        .keys()
                        .cloned()
                        .collect::<Vec<_>>()
                        .join(", "),
                    suggestion(name, service.inputs.keys().map(String::as_str))
                ),
            ));
        };
        match (&value.kind, name) {
            // A header value is the one place a secret may go: it is sent to the trigger's own
            // endpoint and committed to only as a salted hash of the reference.
            (NodeKind::Map(headers), "headers") => {
                for (_, header) in headers {
                    let secrets = matches!(header.kind, NodeKind::Scalar { .. });
                    check_value(file, header, &FieldType::Json, name, outputs, secrets)?;
                }
            }
            _ => check_value(file, value, &input.ty, name, outputs, false)?,
        }
    }
    check_secret_destination(file, entries)?;
    for (name, input) in &service.inputs {
        if input.required && !entries.iter().any(|(k, _)| k.as_text() == Some(name)) {
            return Err(SpecError::new(
                file,
                data.at,
                format!(
                    "`{}` needs the input `{name}` ({})",
                    service.title,
                    input.ty.name()
                ),
            ));
        }
    }
    Ok(())
}

/// Checks a data value against an input type, and every template in it against the event's fields.
/// `secrets`: whether the value may reference the trigger's secrets (a header value only).
fn check_value(
    file: &str,
    node: &Node,
    ty: &FieldType,
    name: &str,
    outputs: &FieldType,
    secrets: bool,
) -> Result<(), SpecError> {
    match (&node.kind, ty) {
        (NodeKind::Scalar { text, plain }, _) => {
            let parts = parse_template(text).map_err(|e| SpecError::new(file, node.at, e))?;
            check_secret_references(file, node, &parts, secrets)?;
            for part in &parts {
                if let TemplatePart::Event(path) = part {
                    outputs.resolve(path).map_err(|e| {
                        let known: Vec<&str> = e.known.iter().map(String::as_str).collect();
                        SpecError::new(
                            file,
                            node.at,
                            format!(
                                "template variable `event.{path}` is not an output of the connector{}",
                                suggestion(&segment_name(path, e.depth), known)
                            ),
                        )
                    })?;
                }
            }
            let templated = parts.iter().any(|p| matches!(p, TemplatePart::Event(_)));
            if templated || matches!(ty, FieldType::Json) {
                return Ok(());
            }
            let value = if *plain {
                node.to_json()
            } else {
                Value::String(text.clone())
            };
            let fits = match ty {
                FieldType::String
                | FieldType::Datetime
                | FieldType::Address
                | FieldType::Bytes
                | FieldType::Bytes32 => value.is_string(),
                FieldType::Bool => value.is_boolean(),
                FieldType::Int => value.is_i64() || value.is_u64(),
                FieldType::Uint256 | FieldType::Int256 => value.is_number() || value.is_string(),
                _ => false,
            };
            if fits {
                Ok(())
            } else {
                Err(SpecError::new(
                    file,
                    node.at,
                    format!("input `{name}` expects {}, found {value}", ty.name()),
                ))
            }
        }
        (_, FieldType::Json) => walk_templates(file, node, outputs),
        (NodeKind::Seq(items), FieldType::List(item)) => items
            .iter()
            .try_for_each(|i| check_value(file, i, item, name, outputs, false)),
        (NodeKind::Map(entries), FieldType::Object(fields)) => {
            for (key, value) in entries {
                let field = key.as_text().unwrap_or_default();
                let Some(ty) = fields.get(field) else {
                    return Err(SpecError::new(
                        file,
                        key.at,
                        format!(
                            "input `{name}` has no field `{field}`{}",
                            suggestion(field, fields.keys().map(String::as_str))
                        ),
                    ));
                };
                check_value(file, value, ty, field, outputs, false)?;
            }
            Ok(())
        }
        _ => Err(SpecError::new(
            file,
            node.at,
            format!(
                "input `{name}` expects {}, found {}",
                ty.name(),
                node.describe()
            ),
        )),
    }
}

fn walk_templates(file: &str, node: &Node, outputs: &FieldType) -> Result<(), SpecError> {
    match &node.kind {
        NodeKind::Scalar { .. } => check_value(file, node, &FieldType::Json, "", outputs, false),
        NodeKind::Seq(items) => items
            .iter()
            .try_for_each(|i| walk_templates(file, i, outputs)),
        NodeKind::Map(entries) => entries
            .iter()
            .try_for_each(|(_, v)| walk_templates(file, v, outputs)),
    }
}

/// A request that carries a secret goes where its author wrote, whatever the event says: with any
/// header referencing a secret, the endpoint may hold no `{{ event.… }}` (a templated path or query
/// can move the host: `https://hooks.example{{ event.p }}` with `p = "@evil.example"`).
fn check_secret_destination(file: &str, entries: &[(Node, Node)]) -> Result<(), SpecError> {
    let texts = |node: &Node| match &node.kind {
        NodeKind::Map(items) => items
            .iter()
            .filter_map(|(_, v)| match &v.kind {
                NodeKind::Scalar { text, .. } => Some(text.clone()),
                _ => None,
            })
            .collect(),
        _ => Vec::new(),
    };
    let input = |name: &str| entries.iter().find(|(k, _)| k.as_text() == Some(name));
    let sealed = input("headers").is_some_and(|(_, headers)| {
        texts(headers)
            .iter()
            .any(|t| crate::template::references_secret(t))
    });
    let Some((_, endpoint)) = input("endpoint") else {
        return Ok(());
    };
    let NodeKind::Scalar { text, .. } = &endpoint.kind else {
        return Ok(());
    };
    let templated = parse_template(text)
        .is_ok_and(|parts| parts.iter().any(|p| matches!(p, TemplatePart::Event(_))));
    if sealed && templated {
        return Err(SpecError::new(
            file,
            endpoint.at,
            "a trigger whose headers carry secrets needs an endpoint without `{{ event.… }}`: event \
             data must never decide where a secret is sent",
        ));
    }
    Ok(())
}

/// Secrets go only into header values, and only into values the trigger's author wrote whole: the
/// endpoint and body are committed to in the clear, and a value that also holds an event field
/// would let whoever emits the event decide what the secret is sent with.
fn check_secret_references(
    file: &str,
    node: &Node,
    parts: &[TemplatePart],
    allowed: bool,
) -> Result<(), SpecError> {
    if !parts.iter().any(|p| matches!(p, TemplatePart::Secret(_))) {
        return Ok(());
    }
    if !allowed {
        return Err(SpecError::new(
            file,
            node.at,
            "`{{ secrets.… }}` may appear only in a header value: the endpoint and the body are \
             committed to in the clear",
        ));
    }
    if parts.iter().any(|p| matches!(p, TemplatePart::Event(_))) {
        return Err(SpecError::new(
            file,
            node.at,
            "a header value that holds a secret cannot also hold `{{ event.… }}`: event data must \
             never shape what a secret is sent with",
        ));
    }
    Ok(())
}

/// The field name at `depth` of `path` (empty for a list index or a path too short).
fn segment_name(path: &Path, depth: usize) -> String {
    match path.segments().get(depth) {
        Some(herald_core::Segment::Field(name)) => name.clone(),
        _ => String::new(),
    }
}
