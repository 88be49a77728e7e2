//! The co-signer's ordering rule (security finding 7): settling a position makes every lower
//! unpaid execution of the same trigger stale, so a receipt is held back while an earlier execution
//! of its trigger is unpaid, unsigned by this keeper and missing from the batch.

use std::collections::{BTreeMap, HashMap, HashSet};

use herald_core::EventId;

use super::Attestor;
use crate::network::protocol::Attestable;

impl Attestor {
    /// The receipts that would void an earlier execution of their trigger: settling a position
    /// makes every lower unpaid one of the same trigger stale, so a keeper could void another's
    /// work by settling past it (security finding 7). Each such receipt, by index, with the reason:
    /// "not yet", since the earlier one settles, is rejected, or is taken over in time.
    pub(super) async fn earlier_unpaid(&self, receipts: &[Attestable]) -> HashMap<usize, String> {
        let mut by_trigger: BTreeMap<u64, Vec<(usize, u64)>> = BTreeMap::new();
        for (i, item) in receipts.iter().enumerate() {
            let position = EventId::from_bytes(item.receipt.event_id).position();
            by_trigger
                .entry(item.receipt.trigger_id)
                .or_default()
                .push((i, position));
        }
        let mut out = HashMap::new();
        for (trigger_id, items) in by_trigger {
            let highest = items.iter().map(|(_, p)| *p).max().unwrap_or_default();
            let unpaid = match self
                .store
                .unpaid_positions_below(trigger_id, highest, items.len() as u32 + 1)
                .await
            {
                Ok(unpaid) => unpaid,
                Err(e) => {
                    for (i, _) in &items {
                        out.insert(*i, format!("reading this keeper's executions: {e}"));
                    }
                    continue;
                }
            };
            out.extend(held_back(trigger_id, &items, &unpaid));
        }
        out
    }
}

/// Which of one trigger's receipts in a batch (index, position) an unpaid earlier execution holds
/// back: the first unpaid position missing from the batch holds back every receipt above it, since
/// settling any of them would make it stale.
fn held_back(trigger_id: u64, items: &[(usize, u64)], unpaid: &[u64]) -> HashMap<usize, String> {
    let in_batch: HashSet<u64> = items.iter().map(|(_, p)| *p).collect();
    let Some(missing) = unpaid.iter().copied().find(|p| !in_batch.contains(p)) else {
        return HashMap::new();
    };
    items
        .iter()
        .filter(|(_, p)| *p > missing)
        .map(|(i, position)| {
            (
                *i,
                format!(
                    "an earlier event of trigger #{trigger_id} (position {missing}) is unpaid; \
                     position {position} would make it stale"
                ),
            )
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::held_back;

    /// Security finding 7: settling a later event of a trigger makes its earlier unpaid ones
    /// stale, so a co-signer holds back a receipt above an unpaid execution missing from the batch.
    #[test]
    fn an_unpaid_earlier_execution_holds_back_the_receipts_above_it() {
        // Receipts at positions 20 and 30 (indexes 0 and 1); 10 is unpaid and not in the batch.
        let held = held_back(1, &[(0, 20), (1, 30)], &[10, 20]);
        assert_eq!(held.len(), 2);
        assert!(held[&0].contains("position 10) is unpaid"), "{held:?}");
        // The batch carries the earlier one itself: nothing is held back.
        assert!(held_back(1, &[(0, 10), (1, 20)], &[10]).is_empty());
        // An unpaid execution between the batch's receipts holds back only those above it.
        let held = held_back(1, &[(0, 10), (1, 30)], &[10, 20]);
        assert_eq!(held.keys().copied().collect::<Vec<_>>(), vec![1]);
        assert!(held_back(1, &[(0, 10)], &[]).is_empty());
    }
}
