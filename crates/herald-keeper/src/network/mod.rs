//! The keeper network: several keepers serving one Herald deployment without trusting each other.
//!
//! - [`peers`]: who the keepers are (from the registry's events) and who performs what
//!   (rendezvous ranking per trigger);
//! - [`protocol`]: the messages keepers exchange and how each is signed;
//! - [`attest`]: the co-signer's checks;
//! - [`client`]: the performer asking for a quorum of co-signatures;
//! - [`takeover`]: running what a silent peer left;
//! - [`relay`]: handing an API event to a keeper a sealed subscription names, when it was posted
//!   to one it does not;
//! - [`health`]: heartbeats, peer status and the offline alert;
//! - [`routes`]: the HTTP side of all that.
//!
//! See docs/architecture.md, "Keeper network", for the protocol and its guarantees.

pub mod attest;
pub mod client;
pub mod health;
pub mod peers;
pub mod protocol;
pub mod relay;
pub mod routes;
pub mod takeover;

use std::{
    sync::{Arc, RwLock},
    time::Duration,
};

use alloy::primitives::Address;

pub use peers::Peers;

use crate::triggers::TriggerSet;

/// How the dispatcher decides, for each execution, whether this keeper performs it.
#[derive(Clone, Debug)]
pub struct Assignment {
    /// This keeper.
    pub me: Address,
    /// The registry's keepers.
    pub peers: Arc<RwLock<Peers>>,
    /// How long each keeper in a ranking waits for the one before it.
    pub takeover_timeout: Duration,
    /// Who is at work: a takeover waits while a keeper ranked before this one is.
    pub health: Arc<health::Health>,
    /// The triggers, for whom each one's secrets are sealed to (only they may perform it).
    pub triggers: Arc<RwLock<TriggerSet>>,
}

/// This keeper's part in one execution.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Role {
    /// It performs it now.
    Perform,
    /// Another keeper does; this one takes over at that time (unix ms) unless it is settled by
    /// then, or never (`None`: this keeper is not active).
    Standby(Option<u64>),
}

/// How many takeover timeouts a performer busy settling other triggers is given before its
/// silence on one trigger counts against it.
const LENIENT_TIMEOUTS: u32 = 3;

impl Assignment {
    /// The ranking for `trigger_id` at `time`, among the keepers the envelope in force for an
    /// event in `block` names (`None`: the latest) (see [`Peers::ranking`]); and whether the
    /// trigger was sealed then.
    fn ranking(&self, trigger_id: u64, time: u64, block: Option<u64>) -> (Vec<Address>, bool) {
        // Read before the peers, and released: the two locks are never held together.
        let sealed_to = self
            .triggers
            .read()
            .expect("triggers")
            .sealed_to(trigger_id, block);
        let ranking =
            self.peers
                .read()
                .expect("peers")
                .ranking(trigger_id, time, sealed_to.as_deref());
        (ranking, sealed_to.is_some())
    }

    /// Whether a keeper ranked before this one for `trigger_id` is at work (online and settling),
    /// so a due takeover should wait.
    ///
    /// `overdue` is how long the takeover has been due: for the first few takeover timeouts a
    /// performer busy settling other triggers counts as at work on this one too.
    pub fn performer_at_work(&self, trigger_id: u64, overdue: Duration) -> bool {
        let lenient = overdue < self.takeover_timeout * LENIENT_TIMEOUTS;
        let now = attest::now_ms() / 1_000;
        let (ranking, _) = self.ranking(trigger_id, now, None);
        ranking.iter().take_while(|k| **k != self.me).any(|k| {
            self.health
                .at_work(*k, trigger_id, self.takeover_timeout, lenient)
        })
    }

    /// How long after an event this keeper, ranked as it is now for `trigger_id`, waits before
    /// taking its execution over (rank × the takeover timeout; one timeout if unranked).
    pub fn takeover_delay(&self, trigger_id: u64) -> Duration {
        let now = attest::now_ms() / 1_000;
        let (ranking, _) = self.ranking(trigger_id, now, None);
        let rank = ranking
            .iter()
            .position(|k| *k == self.me)
            .unwrap_or(1)
            .max(1);
        self.takeover_timeout * rank as u32
    }

    /// Whether `trigger_id`'s latest envelope is sealed to keepers other than this one: an API
    /// event posted here for it is relayed to one of them (see [`relay`]).
    pub fn sealed_elsewhere(&self, trigger_id: u64) -> bool {
        self.triggers
            .read()
            .expect("triggers")
            .sealed_without(trigger_id, self.me)
    }

    /// The active keepers other than this one that `trigger_id`'s latest envelope is sealed to,
    /// best first, with the endpoints they registered.
    pub fn recipients(&self, trigger_id: u64) -> Vec<(Address, String)> {
        let now = attest::now_ms() / 1_000;
        let (ranking, _) = self.ranking(trigger_id, now, None);
        let peers = self.peers.read().expect("peers");
        ranking
            .into_iter()
            .filter(|k| *k != self.me)
            .filter_map(|k| {
                let endpoint = peers.get(&k)?.endpoint.clone();
                (!endpoint.is_empty()).then_some((k, endpoint))
            })
            .collect()
    }

    /// This keeper's role in `trigger_id`'s execution of an API event posted to it: it performs
    /// it, unless the trigger is sealed to other keepers, when it stands by with the execution
    /// due now, which the takeover task relays to them (see [`relay`]).
    pub fn posted_role(&self, trigger_id: u64) -> Role {
        if self.sealed_elsewhere(trigger_id) {
            Role::Standby(Some(attest::now_ms()))
        } else {
            Role::Perform
        }
    }

    /// This keeper's role in `trigger_id`'s execution of an API event at `event_time` (unix
    /// seconds) another keeper relayed to every recipient of the trigger's latest envelope: its
    /// rank among them, as for a chain event (a recipient that is not active never takes over).
    pub fn relayed_role(&self, trigger_id: u64, event_time: u64) -> Role {
        let (ranking, _) = self.ranking(trigger_id, event_time, None);
        self.ranked_role(&ranking, event_time)
    }

    /// This keeper's role in `trigger_id`'s execution of an event at `event_time` (unix seconds)
    /// in `block`.
    pub fn role(&self, trigger_id: u64, event_time: u64, block: u64) -> Role {
        let (ranking, sealed) = self.ranking(trigger_id, event_time, Some(block));
        if ranking.is_empty() {
            // No active keeper at all (a registry still being set up): whoever sees it runs it,
            // unless the trigger is sealed, when only a keeper it is sealed to can.
            return if sealed {
                Role::Standby(None)
            } else {
                Role::Perform
            };
        }
        self.ranked_role(&ranking, event_time)
    }

    /// This keeper's role at its place in `ranking` for an event at `event_time`: the first
    /// performs, the one at rank r takes over r takeover timeouts after the event, and one not
    /// ranked (not active) never does.
    fn ranked_role(&self, ranking: &[Address], event_time: u64) -> Role {
        match ranking.iter().position(|k| *k == self.me) {
            Some(0) => Role::Perform,
            Some(rank) => Role::Standby(Some(attest::takeover_due(
                event_time,
                rank,
                self.takeover_timeout,
            ))),
            None => Role::Standby(None),
        }
    }
}
