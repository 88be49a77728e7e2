//! The network's parameters as `herald deploy` sets them, and the policy that keeps a public
//! deployment safe.
//!
//! The contract enforces structural bounds (a stake quorum above one half, delays at most 60 days, an
//! unbonding delay at least the withdrawal delay, …) and puts every later change behind a timelock
//! longer than the withdrawal delay. What it cannot know is whether a deployment is a devnet, where
//! one keeper and no delays are what a developer wants, or a public network, where the same
//! settings let anyone who registers a keeper settle fabricated receipts. So `herald deploy` refuses
//! parameters that are unsafe in public unless it is told `--devnet`: the audit's sybil attack cost
//! one wei under the old constructor defaults (quorum 1, minimum bond 0, no activation delay, no
//! slashing).

use std::fmt;

use alloy::primitives::U256;

/// One day, in seconds.
const DAY: u32 = 24 * 60 * 60;

/// The least share of the total bond a public network may settle with: two thirds, in basis points
/// (6,666: two of three equal bonds reach it).
pub const PUBLIC_MIN_QUORUM_BPS: u16 = 6_666;
/// The fewest distinct signers a public network may settle with.
pub const PUBLIC_MIN_SIGNERS: u8 = 3;

/// The longest a receipt for a log of the settlement chain stays open to a fraud challenge, in
/// blocks: settled at most 4,000 blocks after its log, challengeable 2,000 blocks more, answered
/// within 2,000 after that (`HeraldChallenges.fraudWindows` on a chain with EIP-2935 history).
pub const FRAUD_WINDOW_BLOCKS: u32 = 8_000;
/// The slowest block time `herald deploy` assumes when it turns [`FRAUD_WINDOW_BLOCKS`] into
/// seconds: Ethereum's 12 s (rollups are faster, so their windows are shorter).
pub const SLOWEST_BLOCK_SECS: u32 = 12;

/// Herald's parameters, as the constructor takes them (see `HeraldConfig.Params`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NetworkParams {
    /// The protocol's share, in basis points of the other shares.
    pub protocol_fee_bps: u16,
    /// The fewest distinct active keepers whose signatures settle a batch.
    pub min_signers: u8,
    /// The least share of the total bond, in basis points, those signers must hold.
    pub quorum_bps: u16,
    /// How long a trigger's budget withdrawal waits, seconds.
    pub withdrawal_delay: u32,
    /// How long a newly bonded keeper waits before it counts, seconds.
    pub activation_delay: u32,
    /// How long an unbonding keeper stays slashable, seconds.
    pub unbonding_delay: u32,
    /// The reporter's share of a slash, basis points.
    pub slash_bounty_bps: u16,
    /// The bond a keeper must hold to count.
    pub min_bond: U256,
    /// What a proven equivocation takes from the offender's bond.
    pub slash_amount: U256,
}

impl NetworkParams {
    /// Safe parameters for a public network whose token has `decimals` decimals: a two-thirds stake
    /// quorum of at least three keepers, a 1,000-token minimum bond slashed whole, a day's
    /// activation and withdrawal delays and two weeks' unbonding.
    pub fn public(decimals: u8) -> Self {
        let token = U256::from(10).pow(U256::from(decimals));
        Self {
            protocol_fee_bps: 500,
            min_signers: PUBLIC_MIN_SIGNERS,
            quorum_bps: PUBLIC_MIN_QUORUM_BPS,
            withdrawal_delay: DAY,
            activation_delay: DAY,
            unbonding_delay: 14 * DAY,
            slash_bounty_bps: 1_000,
            min_bond: U256::from(1_000) * token,
            slash_amount: U256::from(1_000) * token,
        }
    }

    /// Parameters for a local network of `keepers` keepers with equal bonds, `quorum` of which
    /// settle a batch: no delays, a minimum bond of one unit. Unsafe anywhere else.
    pub fn devnet(keepers: usize, quorum: u8) -> Self {
        let keepers = keepers.max(1) as u64;
        // The stake share `quorum` equal bonds hold, rounded down, and never below the contract's
        // floor of a bare majority.
        let share = (u64::from(quorum) * 10_000 / keepers).clamp(5_001, 10_000) as u16;
        Self {
            protocol_fee_bps: 500,
            min_signers: quorum.max(1),
            quorum_bps: share,
            withdrawal_delay: DAY,
            activation_delay: 0,
            unbonding_delay: 7 * DAY,
            slash_bounty_bps: 1_000,
            min_bond: U256::from(1),
            slash_amount: U256::from(10).pow(U256::from(18)),
        }
    }

    /// Every way these parameters are unsafe for a public network (empty when they are safe).
    pub fn public_risks(&self) -> Vec<Risk> {
        let mut risks = Vec::new();
        if self.min_signers < PUBLIC_MIN_SIGNERS {
            risks.push(Risk::FewSigners(self.min_signers));
        }
        if self.quorum_bps < PUBLIC_MIN_QUORUM_BPS {
            risks.push(Risk::SmallQuorum(self.quorum_bps));
        }
        if self.min_bond.is_zero() || self.min_bond == U256::from(1) {
            risks.push(Risk::NoBond);
        }
        if self.slash_amount < self.min_bond {
            risks.push(Risk::SmallSlash);
        }
        if self.activation_delay < DAY {
            risks.push(Risk::FastActivation(self.activation_delay));
        }
        let fraud_window = FRAUD_WINDOW_BLOCKS * SLOWEST_BLOCK_SECS;
        if self.unbonding_delay <= fraud_window {
            risks.push(Risk::UnbondingWithinFraudWindow {
                unbonding: self.unbonding_delay,
                window: fraud_window,
            });
        }
        if self.unbonding_delay <= self.withdrawal_delay {
            risks.push(Risk::FastUnbonding {
                unbonding: self.unbonding_delay,
                withdrawal: self.withdrawal_delay,
            });
        }
        risks
    }
}

/// One way a parameter set is unsafe for a public network.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Risk {
    /// Fewer distinct signers than [`PUBLIC_MIN_SIGNERS`].
    FewSigners(u8),
    /// A stake quorum below [`PUBLIC_MIN_QUORUM_BPS`].
    SmallQuorum(u16),
    /// A minimum bond of (almost) nothing: keepers cost nothing to register.
    NoBond,
    /// A slash smaller than the minimum bond.
    SmallSlash,
    /// Keepers count less than a day after bonding.
    FastActivation(u32),
    /// Keepers can take their bond back before a fraud challenge of their last receipt ends.
    UnbondingWithinFraudWindow {
        /// The unbonding delay, seconds.
        unbonding: u32,
        /// The fraud window, seconds at the slowest block time.
        window: u32,
    },
    /// Keepers can leave (and stop being slashable) no later than users can withdraw.
    FastUnbonding {
        /// The unbonding delay, seconds.
        unbonding: u32,
        /// The withdrawal delay, seconds.
        withdrawal: u32,
    },
}

impl fmt::Display for Risk {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::FewSigners(n) => write!(
                f,
                "min signers {n} is below {PUBLIC_MIN_SIGNERS}: that few keepers could settle alone"
            ),
            Self::SmallQuorum(bps) => write!(
                f,
                "stake quorum {bps} bps is below {PUBLIC_MIN_QUORUM_BPS} (two thirds of the bond)"
            ),
            Self::NoBond => write!(
                f,
                "the minimum bond is (almost) zero: keepers would cost nothing"
            ),
            Self::SmallSlash => write!(f, "the slash is smaller than the minimum bond"),
            Self::FastActivation(s) => {
                write!(
                    f,
                    "activation delay {s}s is under a day: stake could be rented for a block"
                )
            }
            Self::UnbondingWithinFraudWindow { unbonding, window } => write!(
                f,
                "unbonding delay {unbonding}s is not longer than the fraud window ({window}s: \
                 {FRAUD_WINDOW_BLOCKS} blocks of {SLOWEST_BLOCK_SECS}s): signers of a fabricated \
                 receipt could take their bond out before it is proven false"
            ),
            Self::FastUnbonding {
                unbonding,
                withdrawal,
            } => write!(
                f,
                "unbonding delay {unbonding}s is not longer than the withdrawal delay {withdrawal}s: \
                 keepers could leave before their work can be disputed"
            ),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn public_defaults_are_safe_and_devnet_ones_are_not() {
        assert_eq!(NetworkParams::public(18).public_risks(), vec![]);
        let devnet = NetworkParams::devnet(1, 1);
        let risks = devnet.public_risks();
        assert!(risks.contains(&Risk::FewSigners(1)), "{risks:?}");
        assert!(risks.contains(&Risk::NoBond), "{risks:?}");
        assert!(risks.contains(&Risk::FastActivation(0)), "{risks:?}");
    }

    #[test]
    fn an_unbonding_delay_inside_the_fraud_window_is_refused() {
        let short = NetworkParams {
            withdrawal_delay: DAY / 2,
            unbonding_delay: DAY,
            ..NetworkParams::public(18)
        };
        assert_eq!(
            short.public_risks(),
            vec![Risk::UnbondingWithinFraudWindow {
                unbonding: DAY,
                window: 96_000
            }]
        );
    }

    /// The audit's sybil setting: quorum 1, no bond, no delays, no slash — every risk named.
    #[test]
    fn the_old_constructor_defaults_are_refused_with_every_reason() {
        let old = NetworkParams {
            min_signers: 1,
            quorum_bps: 5_001,
            activation_delay: 0,
            unbonding_delay: 0,
            withdrawal_delay: 0,
            min_bond: U256::ZERO,
            slash_amount: U256::ZERO,
            ..NetworkParams::public(18)
        };
        let risks: Vec<String> = old.public_risks().iter().map(Risk::to_string).collect();
        assert_eq!(risks.len(), 6, "{risks:#?}");
        assert!(
            risks[0].starts_with("min signers 1 is below 3"),
            "{risks:#?}"
        );
    }

    #[test]
    fn devnet_quorums_are_the_share_of_equal_bonds() {
        assert_eq!(NetworkParams::devnet(3, 2).quorum_bps, 6_666);
        assert_eq!(NetworkParams::devnet(5, 3).quorum_bps, 6_000);
        assert_eq!(NetworkParams::devnet(1, 1).quorum_bps, 10_000);
        assert_eq!(NetworkParams::devnet(4, 1).quorum_bps, 5_001);
    }
}
