//! How a command prints what it did: JSON for scripts (`--json`), text for people.

use crate::Outcome;

/// Prints `json` or `text`.
pub(crate) fn report(
    json_output: bool,
    json: serde_json::Value,
    text: String,
) -> Result<Outcome, String> {
    if json_output {
        println!("{json}");
    } else {
        println!("{text}");
    }
    Ok(Outcome::Yes)
}
