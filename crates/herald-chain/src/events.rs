//! Herald's own logs, decoded in one place with the types the contract's ABI gives them.
//!
//! Every part of the keeper that follows the registry — the trigger set, the peer view, budgets,
//! settlement — reads the same [`HeraldEvents`] value, decoded once per log, instead of matching
//! topics by hand. What a rejection's reason code means comes from the contract's own
//! `RejectReason` (`contracts/src/HeraldTypes.sol`, read by `sol!` at build time), so a reason
//! added to the contract is named here without anyone keeping a copy.

use alloy::{rpc::types::Log, sol_types::SolEventInterface};

pub use crate::bindings::{Herald::HeraldEvents, RejectReason};

/// The registry event `log` records, if it decodes as one of Herald's events. The caller checks
/// that the log was emitted by the Herald contract: anyone can emit a log with the same topics.
pub fn decode(log: &Log) -> Option<HeraldEvents> {
    HeraldEvents::decode_log(&log.inner)
        .ok()
        .map(|log| log.data)
}

/// The trigger an event is about, if it is about one: its state, budget or settlement position
/// may have changed.
pub fn trigger_of(event: &HeraldEvents) -> Option<u64> {
    use HeraldEvents as E;
    Some(match event {
        E::TriggerCreated(e) => e.id,
        E::TriggerFunded(e) => e.id,
        E::TriggerPaused(e) => e.id,
        E::TriggerResumed(e) => e.id,
        E::TriggerCancelled(e) => e.id,
        E::TriggerSecretsSet(e) => e.id,
        E::BudgetWithdrawalRequested(e) => e.id,
        E::BudgetWithdrawn(e) => e.id,
        E::TriggerDisputed(e) => e.triggerId,
        E::EventCursorRewound(e) => e.triggerId,
        E::ReceiptSettled(e) => e.triggerId,
        E::ReceiptRejected(e) => e.triggerId,
        E::KeeperSlashed(e) => e.triggerId,
        _ => return None,
    })
}

/// Whether an event changes what executions cost: a connector or service type's fees, or the
/// protocol's parameters.
pub fn changes_prices(event: &HeraldEvents) -> bool {
    matches!(
        event,
        HeraldEvents::ConnectorTypeSet(_)
            | HeraldEvents::ServiceTypeSet(_)
            | HeraldEvents::ParamsApplied(_)
    )
}

/// The name the contract gives a rejection's reason code (`StaleEvent`, `FeeAboveCap`, …), or
/// `Unknown(n)` for a code this build's contract does not define.
pub fn reject_reason(code: u8) -> String {
    match RejectReason::try_from(code) {
        Ok(reason) => format!("{reason:?}"),
        Err(_) => format!("Unknown({code})"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The names come from the contract: its first, a middle and its last reasons, and past them.
    #[test]
    fn reject_reasons_are_named_as_the_contract_names_them() {
        assert_eq!(reject_reason(0), "UnknownTrigger");
        assert_eq!(reject_reason(1), "StaleEvent");
        assert_eq!(reject_reason(8), "FeeAboveCap");
        assert_eq!(reject_reason(11), "EventTooOld");
        assert_eq!(reject_reason(200), "Unknown(200)");
    }
}
