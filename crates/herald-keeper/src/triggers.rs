//! The trigger set, rebuilt from the registry's events alone — no central database.
//!
//! `TriggerCreated` carries the trigger's full configuration (a trigger file); it is parsed,
//! validated against the known manifests and compiled into the matcher. `TriggerPaused`,
//! `TriggerResumed` and `TriggerCancelled` are applied in log order. A configuration that does not
//! parse or validate is reported, not fatal: anyone can create a trigger, and one user's bad file
//! must not stop a keeper serving everyone else.

use alloy::{
    primitives::Address,
    providers::Provider,
    rpc::types::{Filter, Log},
    sol_types::SolEvent,
};
use herald_chain::bindings::Herald;
use herald_match::{Matcher, TriggerId};
use herald_spec::{Manifests, parse_triggers};

/// What loading found.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct LoadReport {
    /// Triggers compiled into the matcher (including those later paused).
    pub loaded: Vec<u64>,
    /// Triggers whose configuration was refused, with the reason (file position included).
    pub invalid: Vec<(u64, String)>,
    /// Triggers cancelled (removed from the matcher).
    pub cancelled: Vec<u64>,
    /// The last block read; watching continues from the next one.
    pub to_block: u64,
}

/// Why the trigger set could not be read at all.
#[derive(Debug, thiserror::Error)]
pub enum TriggerSetError {
    /// The node refused a call.
    #[error("rpc: {0}")]
    Rpc(String),
}

/// Reads the registry's trigger events from `from_block` to the chain's head into `matcher`.
pub async fn load_triggers<P: Provider>(
    provider: &P,
    herald: Address,
    from_block: u64,
    manifests: &Manifests,
    matcher: &Matcher,
) -> Result<LoadReport, TriggerSetError> {
    let rpc = |e: alloy::transports::TransportError| TriggerSetError::Rpc(e.to_string());
    let head = provider.get_block_number().await.map_err(rpc)?;
    let filter = Filter::new()
        .address(herald)
        .from_block(from_block)
        .to_block(head)
        .event_signature(vec![
            Herald::TriggerCreated::SIGNATURE_HASH,
            Herald::TriggerPaused::SIGNATURE_HASH,
            Herald::TriggerResumed::SIGNATURE_HASH,
            Herald::TriggerCancelled::SIGNATURE_HASH,
        ]);
    let logs = provider.get_logs(&filter).await.map_err(rpc)?;
    let mut report = LoadReport {
        to_block: head,
        ..LoadReport::default()
    };
    for log in &logs {
        apply(log, manifests, matcher, &mut report);
    }
    Ok(report)
}

fn apply(log: &Log, manifests: &Manifests, matcher: &Matcher, report: &mut LoadReport) {
    let Some(topic) = log.topic0() else { return };
    match *topic {
        Herald::TriggerCreated::SIGNATURE_HASH => {
            let Ok(created) = log.log_decode::<Herald::TriggerCreated>() else {
                return;
            };
            let event = created.inner.data;
            let id = event.id;
            match compile(id, &event.config, manifests) {
                Ok((connector, filter)) => {
                    matcher.insert(TriggerId(id), &connector, &filter);
                    report.loaded.push(id);
                }
                Err(reason) => report.invalid.push((id, reason)),
            }
        }
        Herald::TriggerPaused::SIGNATURE_HASH => {
            if let Ok(paused) = log.log_decode::<Herald::TriggerPaused>() {
                matcher.set_paused(TriggerId(paused.inner.data.id), true);
            }
        }
        Herald::TriggerResumed::SIGNATURE_HASH => {
            if let Ok(resumed) = log.log_decode::<Herald::TriggerResumed>() {
                matcher.set_paused(TriggerId(resumed.inner.data.id), false);
            }
        }
        Herald::TriggerCancelled::SIGNATURE_HASH => {
            if let Ok(cancelled) = log.log_decode::<Herald::TriggerCancelled>() {
                let id = cancelled.inner.data.id;
                matcher.remove(TriggerId(id));
                report.cancelled.push(id);
            }
        }
        _ => {}
    }
}

/// A trigger's on-chain configuration: one trigger file defining exactly one trigger.
fn compile(
    id: u64,
    config: &[u8],
    manifests: &Manifests,
) -> Result<(String, herald_match::CompiledFilter), String> {
    let file = format!("trigger #{id}");
    let text = std::str::from_utf8(config)
        .map_err(|e| format!("{file}: the configuration is not UTF-8 ({e})"))?;
    let specs = parse_triggers(&file, text).map_err(|e| e.to_string())?;
    let [spec] = specs.as_slice() else {
        return Err(format!(
            "{file}: the configuration defines {} triggers; one was expected",
            specs.len()
        ));
    };
    let filter = manifests.validate(&file, spec).map_err(|e| e.to_string())?;
    Ok((spec.connector.value.clone(), filter))
}
