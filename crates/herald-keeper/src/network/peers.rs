//! Who the other keepers are, rebuilt from the registry's events, and who performs what.
//!
//! Every keeper applies the same logs in the same order, so every keeper holds the same view of
//! the registry at a given block and computes the same performer for an execution without asking
//! anyone: the active keepers ranked by rendezvous hashing of the trigger id.
//!
//! Why the trigger id and not the event id: settlement pays one trigger's events only in strictly
//! increasing position (the contract's replay cursor). With one performer per trigger, a trigger's
//! receipts are produced, batched and settled in order by one keeper; with one per event, a burst on
//! one trigger would settle one receipt per transaction, each waiting for the keeper holding the
//! one before it. Load still spreads across keepers, trigger by trigger, and a takeover (the next
//! keeper in the same ranking) is decided per event.

use std::collections::BTreeMap;

use alloy::{
    primitives::{Address, U256, keccak256},
    providers::Provider,
    rpc::types::Filter,
    sol_types::SolEvent,
};
use herald_chain::{
    bindings::Herald,
    events::{self, HeraldEvents},
};

/// One registered keeper, as the registry's events describe it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Keeper {
    /// Its signing address.
    pub address: Address,
    /// The URL other keepers reach it at.
    pub endpoint: String,
    /// Its bond.
    pub bond: U256,
    /// When it starts counting as active, unix seconds.
    pub active_from: u64,
    /// Whether it asked to unbond (it no longer counts as active).
    pub unbonding: bool,
}

/// The registry's keepers.
#[derive(Clone, Debug, Default)]
pub struct Peers {
    keepers: BTreeMap<Address, Keeper>,
    min_bond: U256,
    quorum: Quorum,
}

/// What `settle` needs of a batch's signers: at least `min_signers` distinct active keepers holding
/// at least `quorum_bps` / 10,000 of the total bond (the contract's `_checkQuorum`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Quorum {
    /// The fewest distinct signers.
    pub min_signers: usize,
    /// The least share of the total bond, in basis points.
    pub quorum_bps: u16,
}

impl Quorum {
    fn of(params: &herald_chain::bindings::HeraldConfig::Params) -> Self {
        Self {
            min_signers: usize::from(params.minSigners),
            quorum_bps: params.quorumBps,
        }
    }
}

/// The registry's keeper events, as a log filter.
pub fn keeper_filter(herald: Address) -> Filter {
    Filter::new().address(herald).event_signature(vec![
        Herald::KeeperRegistered::SIGNATURE_HASH,
        Herald::KeeperBondAdded::SIGNATURE_HASH,
        Herald::KeeperEndpointSet::SIGNATURE_HASH,
        Herald::KeeperUnbondRequested::SIGNATURE_HASH,
        Herald::KeeperBondWithdrawn::SIGNATURE_HASH,
        Herald::KeeperSlashed::SIGNATURE_HASH,
        Herald::KeeperSlashedForFraud::SIGNATURE_HASH,
        Herald::ParamsApplied::SIGNATURE_HASH,
    ])
}

impl Peers {
    /// Reads every keeper event of `herald` from `from_block` to `to_block`, the minimum bond and
    /// the quorum.
    pub async fn load<P: Provider>(
        provider: &P,
        herald: Address,
        from_block: u64,
        to_block: u64,
    ) -> eyre::Result<Self> {
        let params = Herald::new(herald, provider).params().call().await?;
        let mut peers = Self {
            min_bond: U256::from(params.minBond),
            quorum: Quorum::of(&params),
            ..Self::default()
        };
        let logs = provider
            .get_logs(
                &keeper_filter(herald)
                    .from_block(from_block)
                    .to_block(to_block),
            )
            .await?;
        for event in logs.iter().filter_map(events::decode) {
            peers.apply(&event);
        }
        Ok(peers)
    }

    /// Applies one of Herald's events; returns whether it changed a keeper or a parameter.
    pub fn apply(&mut self, event: &HeraldEvents) -> bool {
        match event {
            HeraldEvents::KeeperRegistered(e) => {
                self.keepers.insert(
                    e.keeper,
                    Keeper {
                        address: e.keeper,
                        endpoint: e.endpoint.clone(),
                        bond: U256::from(e.bond),
                        active_from: e.activeFrom.to::<u64>(),
                        unbonding: false,
                    },
                );
            }
            HeraldEvents::KeeperBondAdded(e) => {
                if let Some(k) = self.keepers.get_mut(&e.keeper) {
                    k.bond = U256::from(e.bond);
                    // A top-up from below the minimum waits out the activation delay again.
                    k.active_from = e.activeFrom.to::<u64>();
                }
            }
            HeraldEvents::KeeperEndpointSet(e) => {
                if let Some(k) = self.keepers.get_mut(&e.keeper) {
                    k.endpoint = e.endpoint.clone();
                }
            }
            HeraldEvents::KeeperUnbondRequested(e) => {
                if let Some(k) = self.keepers.get_mut(&e.keeper) {
                    k.unbonding = true;
                }
            }
            HeraldEvents::KeeperBondWithdrawn(e) => {
                self.keepers.remove(&e.keeper);
            }
            HeraldEvents::KeeperSlashed(Herald::KeeperSlashed { keeper, amount, .. })
            | HeraldEvents::KeeperSlashedForFraud(Herald::KeeperSlashedForFraud {
                keeper,
                amount,
                ..
            }) => {
                if let Some(k) = self.keepers.get_mut(keeper) {
                    k.bond = k.bond.saturating_sub(U256::from(*amount));
                }
            }
            HeraldEvents::ParamsApplied(e) => {
                self.min_bond = U256::from(e.params.minBond);
                self.quorum = Quorum::of(&e.params);
            }
            _ => return false,
        }
        true
    }

    /// What a batch's signers need to settle it.
    pub fn quorum(&self) -> Quorum {
        self.quorum
    }

    /// The contract's `totalBond`: the bonds of registered keepers that are not unbonding.
    pub fn total_bond(&self) -> U256 {
        self.keepers
            .values()
            .filter(|k| !k.unbonding)
            .map(|k| k.bond)
            .sum()
    }

    /// Whether signatures from `signers` settle a batch at `time`, as the contract will judge them:
    /// enough distinct active signers, holding enough of the total bond. Inactive signers count
    /// nothing.
    pub fn reached(&self, signers: &[Address], time: u64) -> bool {
        let mut counted = std::collections::BTreeSet::new();
        let mut bond = U256::ZERO;
        for signer in signers {
            if let Some(k) = self.keepers.get(signer)
                && self.is_active(k, time)
                && counted.insert(*signer)
            {
                bond += k.bond;
            }
        }
        counted.len() >= self.quorum.min_signers
            && bond * U256::from(10_000) >= self.total_bond() * U256::from(self.quorum.quorum_bps)
    }

    /// A registered keeper.
    pub fn get(&self, address: &Address) -> Option<&Keeper> {
        self.keepers.get(address)
    }

    /// Every registered keeper.
    pub fn all(&self) -> impl Iterator<Item = &Keeper> {
        self.keepers.values()
    }

    /// Whether `keeper` may sign, observe and run at `time` (unix seconds): the contract's
    /// `isActiveKeeper`, from the events.
    pub fn is_active(&self, keeper: &Keeper, time: u64) -> bool {
        keeper.active_from != 0
            && time >= keeper.active_from
            && !keeper.unbonding
            && keeper.bond >= self.min_bond
            && !keeper.bond.is_zero()
    }

    /// The keepers active at `time`, by address.
    pub fn active_at(&self, time: u64) -> Vec<&Keeper> {
        self.keepers
            .values()
            .filter(|k| self.is_active(k, time))
            .collect()
    }

    /// Who performs executions of `trigger_id` for an event at `time`: the keepers active then,
    /// best first, among those its secrets are sealed to when it has any (`sealed_to`: only they
    /// can deliver it). The first performs; each next one takes over when the one before has not
    /// settled the execution within the takeover timeout.
    pub fn ranking(
        &self,
        trigger_id: u64,
        time: u64,
        sealed_to: Option<&[Address]>,
    ) -> Vec<Address> {
        rank(
            trigger_id,
            self.active_at(time)
                .into_iter()
                .map(|k| k.address)
                .filter(|k| sealed_to.is_none_or(|eligible| eligible.contains(k))),
        )
    }
}

/// Rendezvous (highest random weight) ordering of `keepers` for `trigger_id`: each keeper's weight
/// is keccak256(trigger id ‖ address). Adding or removing a keeper only moves the triggers that
/// keeper wins or held.
pub fn rank(trigger_id: u64, keepers: impl IntoIterator<Item = Address>) -> Vec<Address> {
    let mut weighted: Vec<_> = keepers
        .into_iter()
        .map(|k| {
            let mut preimage = [0u8; 28];
            preimage[..8].copy_from_slice(&trigger_id.to_be_bytes());
            preimage[8..].copy_from_slice(k.as_slice());
            (keccak256(preimage), k)
        })
        .collect();
    weighted.sort_by_key(|(weight, _)| std::cmp::Reverse(*weight));
    weighted.into_iter().map(|(_, k)| k).collect()
}

#[cfg(test)]
mod tests {
    use alloy::primitives::{
        B256,
        aliases::{U40, U96},
    };

    use super::*;

    fn registered(keeper: Address) -> HeraldEvents {
        HeraldEvents::KeeperRegistered(Herald::KeeperRegistered {
            keeper,
            owner: keeper,
            bond: U96::from(100),
            activeFrom: U40::from(1),
            endpoint: String::new(),
        })
    }

    /// A fraud proof forfeits the whole bond: the view must drop the keeper's bond with it, or it
    /// goes on counting the keeper's signatures toward quorum and handing it triggers to perform.
    #[test]
    fn a_keeper_slashed_for_fraud_loses_its_bond_and_its_triggers() {
        let (honest, fraud) = (Address::repeat_byte(1), Address::repeat_byte(2));
        let mut peers = Peers {
            min_bond: U256::from(100),
            ..Peers::default()
        };
        assert!(peers.apply(&registered(honest)));
        assert!(peers.apply(&registered(fraud)));
        assert_eq!(peers.total_bond(), U256::from(200));
        assert!(peers.apply(&HeraldEvents::KeeperSlashedForFraud(
            Herald::KeeperSlashedForFraud {
                keeper: fraud,
                challengeId: B256::repeat_byte(9),
                amount: U96::from(100),
            }
        )));
        assert_eq!(peers.total_bond(), U256::from(100));
        assert!(
            (0..50).all(|trigger| peers.ranking(trigger, 1, None) == [honest]),
            "only the honest keeper performs"
        );
    }

    fn keepers(n: u8) -> Vec<Address> {
        (1..=n).map(Address::repeat_byte).collect()
    }

    #[test]
    fn every_order_of_the_same_keepers_ranks_the_same() {
        let mut shuffled = keepers(5);
        shuffled.reverse();
        for trigger in 0..50 {
            assert_eq!(rank(trigger, keepers(5)), rank(trigger, shuffled.clone()));
        }
    }

    #[test]
    fn triggers_spread_over_keepers() {
        let mut wins = BTreeMap::<Address, u32>::new();
        for trigger in 0..1_000 {
            *wins.entry(rank(trigger, keepers(5))[0]).or_default() += 1;
        }
        assert_eq!(wins.len(), 5);
        assert!(wins.values().all(|&w| (120..=280).contains(&w)), "{wins:?}");
    }

    #[test]
    fn removing_a_keeper_moves_only_its_triggers() {
        let all = keepers(5);
        let gone = all[2];
        for trigger in 0..200 {
            let before = rank(trigger, all.clone());
            let after = rank(trigger, all.iter().copied().filter(|k| *k != gone));
            let expected: Vec<_> = before.into_iter().filter(|k| *k != gone).collect();
            assert_eq!(after, expected, "the survivors keep their relative order");
        }
    }

    #[test]
    fn a_sealed_trigger_is_ranked_over_the_keepers_it_is_sealed_to_only() {
        let all = keepers(5);
        let peers = Peers {
            keepers: all
                .iter()
                .map(|&address| {
                    let keeper = Keeper {
                        address,
                        endpoint: String::new(),
                        bond: U256::from(1),
                        active_from: 1,
                        unbonding: false,
                    };
                    (address, keeper)
                })
                .collect(),
            ..Peers::default()
        };
        // The owner (not a keeper) is a recipient too; it never ranks.
        let sealed_to = [all[1], all[3], Address::repeat_byte(0xee)];
        for trigger in 0..50 {
            let ranking = peers.ranking(trigger, 10, Some(&sealed_to));
            let mut ranked = ranking.clone();
            ranked.sort();
            assert_eq!(ranked, vec![all[1], all[3]]);
            let unsealed = peers.ranking(trigger, 10, None);
            assert_eq!(unsealed.len(), 5);
            let order: Vec<_> = unsealed
                .into_iter()
                .filter(|k| sealed_to.contains(k))
                .collect();
            assert_eq!(ranking, order, "the eligible keep their relative order");
        }
        assert!(peers.ranking(7, 10, Some(&[])).is_empty());
    }
}
