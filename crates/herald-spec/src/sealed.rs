//! Writing a trigger's sealed secrets into its file, as `herald trigger create` publishes it.
//!
//! The envelope itself is `herald-seal`'s; here it is only text (base64) placed under the
//! trigger's `secrets` key, so that the file keepers read from `TriggerCreated` is the file the
//! owner wrote plus one line.

use crate::{
    TriggerSpec,
    error::{Position, Spanned, SpecError},
    template::{TemplatePart, parse_template},
    trigger::{MAX_TRIGGER_FILE_BYTES, parse_triggers},
    yaml::NodeKind,
};

/// The secrets a trigger's header values reference (`{{ secrets.name }}`), each with where it was
/// first written, in the order written: what its owner must seal for it to be delivered.
pub fn referenced_secrets(spec: &TriggerSpec) -> Vec<Spanned<String>> {
    let mut out: Vec<Spanned<String>> = Vec::new();
    let NodeKind::Map(inputs) = &spec.data.kind else {
        return out;
    };
    for (key, value) in inputs {
        let (Some("headers"), NodeKind::Map(headers)) = (key.as_text(), &value.kind) else {
            continue;
        };
        for (_, header) in headers {
            let NodeKind::Scalar { text, .. } = &header.kind else {
                continue;
            };
            for part in parse_template(text).unwrap_or_default() {
                if let TemplatePart::Secret(name) = part
                    && !out.iter().any(|s| s.value == name)
                {
                    out.push(Spanned {
                        value: name,
                        at: header.at,
                    });
                }
            }
        }
    }
    out
}

/// `text` (a file of one trigger, without `secrets`) with `secrets: <sealed>` added to the
/// trigger, indented as its other keys are. The result is parsed again, so what is returned is a
/// file whose trigger carries exactly `sealed`, or an error naming what stood in the way.
pub fn with_secrets(file: &str, text: &str, sealed: &str) -> Result<String, SpecError> {
    let specs = parse_triggers(file, text)?;
    let [spec] = specs.as_slice() else {
        return Err(SpecError::new(
            file,
            Position { line: 1, col: 1 },
            format!(
                "defines {} triggers; sealed secrets go into a file of one",
                specs.len()
            ),
        ));
    };
    if let Some(existing) = &spec.secrets {
        return Err(SpecError::new(
            file,
            existing.at,
            "the file already carries sealed secrets; remove them to seal new ones (or change a \
             created trigger's with `herald trigger secrets set`)",
        ));
    }
    // The trigger's keys are the lines below its name; the new key goes at their indentation.
    let key_col = text
        .lines()
        .skip(spec.name.at.line)
        .find(|line| !line.trim().is_empty() && !line.trim_start().starts_with('#'))
        .map(|line| line.len() - line.trim_start().len())
        .filter(|col| *col > 0)
        .unwrap_or(2);
    let mut out = text.to_string();
    if !out.ends_with('\n') {
        out.push('\n');
    }
    out.push_str(&format!("{}secrets: '{sealed}'\n", " ".repeat(key_col)));
    if out.len() > MAX_TRIGGER_FILE_BYTES {
        return Err(SpecError::new(
            file,
            Position { line: 1, col: 1 },
            format!(
                "with its sealed secrets ({} bytes) the file is {} bytes; at most \
                 {MAX_TRIGGER_FILE_BYTES} fit in a trigger (seal to fewer keepers)",
                sealed.len(),
                out.len()
            ),
        ));
    }
    let reparsed = parse_triggers(file, &out)?;
    match reparsed.as_slice() {
        [again] if again.secrets.as_ref().map(|s| s.value.as_str()) == Some(sealed) => Ok(out),
        _ => Err(SpecError::new(
            file,
            spec.name.at,
            "could not place `secrets` in this file (is the trigger written in flow style?); \
             write the trigger in block style",
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const FILE: &str = "t:\n  connector:\n    type: HTTP_EVENT\n  service:\n    service: webhook\n    data:\n      endpoint: https://x/\n";

    #[test]
    fn the_secrets_go_under_the_trigger_at_its_keys_indentation() {
        let out = with_secrets("t.yaml", FILE, "AAEC").expect("placed");
        assert_eq!(out, format!("{FILE}  secrets: 'AAEC'\n"));
        let wide = FILE
            .replace("\n  ", "\n    ")
            .replace("\n      ", "\n        ");
        let out = with_secrets("t.yaml", &wide, "AAEC").expect("placed");
        assert!(out.ends_with("\n    secrets: 'AAEC'\n"), "{out}");
    }

    #[test]
    fn the_secrets_a_file_references_are_listed_once_with_their_place() {
        let file = FILE.replace(
            "endpoint: https://x/\n",
            "endpoint: https://x/\n      headers:\n        a: '{{ secrets.token }}'\n        b: 'x {{ secrets.key }} {{ secrets.token }}'\n",
        );
        let spec = &parse_triggers("t.yaml", &file).expect("parses")[0];
        let names: Vec<(String, usize)> = referenced_secrets(spec)
            .into_iter()
            .map(|s| (s.value, s.at.line))
            .collect();
        assert_eq!(names, vec![("token".into(), 9), ("key".into(), 10)]);
    }

    #[test]
    fn a_file_that_already_has_secrets_or_holds_two_triggers_is_refused() {
        let sealed = with_secrets("t.yaml", FILE, "AAEC").expect("placed");
        let err = with_secrets("t.yaml", &sealed, "AAED").expect_err("refused");
        assert!(
            err.to_string()
                .starts_with("t.yaml:8:12: the file already carries"),
            "{err}"
        );
        let two = format!("{FILE}{}", FILE.replacen("t:", "u:", 1));
        assert!(with_secrets("t.yaml", &two, "AAEC").is_err());
    }

    #[test]
    fn an_envelope_too_large_for_a_trigger_is_refused_with_the_sizes() {
        let err =
            with_secrets("t.yaml", FILE, &"A".repeat(MAX_TRIGGER_FILE_BYTES)).expect_err("refused");
        assert!(err.to_string().contains("seal to fewer keepers"), "{err}");
    }
}
