//! Rewinding a trigger after fabricated receipts: which settled receipts were genuine, and how far
//! back its cursor may go without reopening any of them.
//!
//! `rewindEventCursor` lets a disputed or paused trigger's owner put its cursor and execution count
//! back. Any receipt settled above the new cursor can then be submitted and paid again, so the safe
//! cursor is the highest position a *genuine* receipt settled at: fabrications above it (a cursor
//! pushed to the end of time) are undone, and nothing genuine is reopened. Fabricated events are
//! those of challenges resolved as fraud whose logs nobody proved, and any the owner names (events
//! of other chains cannot be challenged).

use std::collections::HashSet;

use alloy::{
    primitives::{Address, B256, U256},
    providers::Provider,
    rpc::types::Filter,
    sol_types::SolEvent,
};

use crate::{
    bindings::{Herald, HeraldChallenges},
    challenge::{ChallengeError, challenges_of},
};

/// A trigger's settled receipts, told apart.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct RewindPlan {
    /// The position of each settled receipt of a genuine event.
    pub genuine: Vec<u64>,
    /// Settled receipts of fabricated events.
    pub fabricated: u32,
}

impl RewindPlan {
    /// The highest genuine settled position (0 if none): the lowest cursor that reopens no genuine
    /// receipt.
    pub fn safe_key(&self) -> u64 {
        self.genuine.iter().copied().max().unwrap_or(0)
    }

    /// Genuine settled receipts above `key`, which could be paid again after rewinding to it.
    pub fn replayable(&self, key: u64) -> usize {
        self.genuine.iter().filter(|p| **p > key).count()
    }
}

/// Reads trigger `trigger_id`'s settled receipts from the Herald at `herald` and classifies them;
/// `named` are events the owner knows to be fabricated besides those proven so.
pub async fn rewind_plan<P: Provider>(
    provider: &P,
    herald: Address,
    trigger_id: u64,
    named: &[B256],
) -> Result<RewindPlan, ChallengeError> {
    let mut fabricated: HashSet<B256> = named.iter().copied().collect();
    fabricated.extend(proven_fabrications(provider, herald).await?);
    let settled = Filter::new()
        .address(herald)
        .event_signature(Herald::ReceiptSettled::SIGNATURE_HASH)
        .topic1(U256::from(trigger_id))
        .from_block(0);
    let mut plan = RewindPlan::default();
    for log in rpc(provider.get_logs(&settled).await)? {
        let Ok(settled) = log.log_decode::<Herald::ReceiptSettled>() else {
            continue;
        };
        let event_id = settled.inner.data.eventId;
        if fabricated.contains(&event_id) {
            plan.fabricated += 1;
        } else {
            plan.genuine.push(position(event_id));
        }
    }
    Ok(plan)
}

/// Every event named by a challenge resolved as fraud that nobody proved.
async fn proven_fabrications<P: Provider>(
    provider: &P,
    herald: Address,
) -> Result<HashSet<B256>, ChallengeError> {
    let challenges = challenges_of(provider, herald).await?;
    let resolved = Filter::new()
        .address(challenges)
        .event_signature(HeraldChallenges::ChallengeResolved::SIGNATURE_HASH)
        .from_block(0);
    let frauds: Vec<B256> = rpc(provider.get_logs(&resolved).await)?
        .iter()
        .filter_map(|l| l.log_decode::<HeraldChallenges::ChallengeResolved>().ok())
        .filter(|r| r.inner.data.fraud)
        .map(|r| r.inner.data.challengeId)
        .collect();
    if frauds.is_empty() {
        return Ok(HashSet::new());
    }
    let opened = Filter::new()
        .address(challenges)
        .event_signature(HeraldChallenges::ChallengeOpened::SIGNATURE_HASH)
        .topic1(frauds)
        .from_block(0);
    let contract = HeraldChallenges::new(challenges, provider);
    let mut fabricated = HashSet::new();
    for log in rpc(provider.get_logs(&opened).await)? {
        let Ok(opened) = log.log_decode::<HeraldChallenges::ChallengeOpened>() else {
            continue;
        };
        for event_id in opened.inner.data.eventIds {
            if fabricated.contains(&event_id) {
                continue;
            }
            let prover = rpc(contract.provenBy(event_id).call().await)?;
            if prover.is_zero() {
                fabricated.insert(event_id);
            }
        }
    }
    Ok(fabricated)
}

/// An event id's position: its top 64 bits, what a trigger's cursor holds.
fn position(event_id: B256) -> u64 {
    u64::from_be_bytes(event_id[..8].try_into().expect("8 bytes"))
}

fn rpc<T, E: std::fmt::Display>(result: Result<T, E>) -> Result<T, ChallengeError> {
    result.map_err(|e| ChallengeError::Rpc(e.to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_safe_key_reopens_no_genuine_receipt() {
        let plan = RewindPlan {
            genuine: vec![10, 40, 20],
            fabricated: 2,
        };
        assert_eq!(plan.safe_key(), 40);
        assert_eq!(plan.replayable(40), 0);
        assert_eq!(plan.replayable(15), 2);
        assert_eq!(RewindPlan::default().safe_key(), 0);
    }

    #[test]
    fn a_position_is_the_top_64_bits() {
        let mut id = B256::ZERO;
        id[..8].copy_from_slice(&0x0102_0304_0506_0708_u64.to_be_bytes());
        id[8] = 0xff;
        assert_eq!(position(id), 0x0102_0304_0506_0708);
    }
}
