//! `herald trigger …`: dry runs of trigger files and their JSON Schema.

use std::path::{Path, PathBuf};

use clap::Subcommand;
use herald_core::Event;
use herald_spec::{
    ConnectorManifest, Manifests, ServiceManifest, parse_triggers, schema::trigger_file_schema,
};
use serde_json::{Value, json};

use crate::Outcome;

#[derive(Subcommand)]
pub(crate) enum TriggerCommand {
    /// Check a trigger file against an event: prints whether each trigger matches and, if not, which
    /// predicate failed. Exits 0 when every trigger matches, 1 when one does not, 2 on invalid input.
    Test {
        /// The trigger file (YAML).
        file: PathBuf,
        /// The event: a CloudEvents JSON document, or the bare payload.
        #[arg(long)]
        event: PathBuf,
        /// A connector manifest to use in addition to the built-in ones.
        #[arg(long)]
        connector: Option<PathBuf>,
        /// A service manifest to use in addition to the built-in ones.
        #[arg(long)]
        service: Option<PathBuf>,
    },
    /// Print the JSON Schema of trigger files (also in schemas/trigger.schema.json).
    Schema,
    /// Validate a trigger file as keepers will, then register it with a budget.
    Create(crate::trigger_chain::CreateArgs),
    /// List triggers (all, or one owner's).
    List(crate::trigger_chain::ListArgs),
    /// Show a trigger's state and configuration.
    Show(crate::trigger_chain::IdArgs),
    /// Pause a trigger: executions inside the pause are not paid.
    Pause(crate::trigger_chain::IdArgs),
    /// Resume a paused trigger.
    Resume(crate::trigger_chain::IdArgs),
    /// Cancel a trigger for good (its budget comes back through `withdraw request`).
    Cancel(crate::trigger_chain::IdArgs),
    /// After a proven fraud on the trigger, put its event cursor back at the last genuine event.
    Rewind(crate::trigger_chain::RewindArgs),
    /// A trigger's sealed secrets: set, rotate the webhook secret, reseal, show.
    #[command(subcommand)]
    Secrets(crate::trigger_secrets::SecretsCommand),
}

pub(crate) fn run(command: TriggerCommand, json_output: bool) -> Result<Outcome, String> {
    use crate::{on_runtime, trigger_chain as chain};
    match command {
        TriggerCommand::Create(args) => on_runtime(chain::create(args, json_output)),
        TriggerCommand::List(args) => on_runtime(chain::list(args, json_output)),
        TriggerCommand::Show(args) => on_runtime(chain::show(args, json_output)),
        TriggerCommand::Pause(args) => on_runtime(chain::set_state(args, "pause", json_output)),
        TriggerCommand::Resume(args) => on_runtime(chain::set_state(args, "resume", json_output)),
        TriggerCommand::Cancel(args) => on_runtime(chain::set_state(args, "cancel", json_output)),
        TriggerCommand::Rewind(args) => on_runtime(chain::rewind(args, json_output)),
        TriggerCommand::Secrets(command) => {
            on_runtime(crate::trigger_secrets::run(command, json_output))
        }
        TriggerCommand::Schema => {
            print!("{}", trigger_file_schema());
            Ok(Outcome::Yes)
        }
        TriggerCommand::Test {
            file,
            event,
            connector,
            service,
        } => test(
            &file,
            &event,
            connector.as_deref(),
            service.as_deref(),
            json_output,
        ),
    }
}

fn test(
    file: &Path,
    event: &Path,
    connector: Option<&Path>,
    service: Option<&Path>,
    json_output: bool,
) -> Result<Outcome, String> {
    let mut manifests = Manifests::builtin();
    if let Some(path) = connector {
        manifests.add_connector(
            ConnectorManifest::parse(&display(path), &read(path)?).map_err(|e| e.to_string())?,
        );
    }
    if let Some(path) = service {
        manifests.add_service(
            ServiceManifest::parse(&display(path), &read(path)?).map_err(|e| e.to_string())?,
        );
    }
    let name = display(file);
    let specs = parse_triggers(&name, &read(file)?).map_err(|e| e.to_string())?;
    let payload = payload(event)?;

    let mut all_match = true;
    let mut results = Vec::new();
    for spec in &specs {
        let filter = manifests.validate(&name, spec).map_err(|e| e.to_string())?;
        let failure = filter.explain(&payload);
        all_match &= failure.is_none();
        if json_output {
            results.push(json!({"trigger": spec.name.value, "matches": failure.is_none(), "failed": failure}));
        } else {
            match failure {
                None => println!("match: {}", spec.name.value),
                Some(reason) => println!("no match: {}: {reason}", spec.name.value),
            }
        }
    }
    if json_output {
        println!("{}", Value::Array(results));
    }
    Ok(if all_match { Outcome::Yes } else { Outcome::No })
}

/// The event's payload: a CloudEvent's `data`, or the document itself when it is not a CloudEvent.
fn payload(path: &Path) -> Result<Value, String> {
    let text = read(path)?;
    let value: Value = serde_json::from_str(&text).map_err(|e| {
        // serde_json appends " at line L column C"; the position already leads the message.
        let message = e.to_string();
        let message = message
            .split(" at line ")
            .next()
            .unwrap_or(&message)
            .to_string();
        format!(
            "{}:{}:{}: invalid JSON: {message}",
            display(path),
            e.line(),
            e.column()
        )
    })?;
    if value.get("specversion").is_some() {
        let event =
            Event::from_cloudevent(&value).map_err(|e| format!("{}: {e}", display(path)))?;
        return Ok(event.data);
    }
    Ok(value)
}

fn read(path: &Path) -> Result<String, String> {
    std::fs::read_to_string(path).map_err(|e| format!("{}: {e}", display(path)))
}

fn display(path: &Path) -> String {
    path.display().to_string()
}
