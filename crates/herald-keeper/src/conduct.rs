//! How a keeper departs from the protocol, if it does.
//!
//! A node runs [`Honest`] unless the code that embeds it passes another [`Conduct`] to
//! [`node::run_with`](crate::node::run_with): nothing in a keeper's configuration, command line
//! or environment chooses one, so the `herald` binary can only be honest. The integration tests'
//! harness implements faulty conducts (lying about a fee or a result, equivocating, delivering
//! elsewhere, censoring) to show that the network refuses, slashes or routes around them. Each
//! hook sits where an operator who rewrote the node could lie anyway; none gives a faulty keeper a
//! power an honest one lacks.

use alloy::primitives::Bytes;
use herald_chain::receipt::Receipt;
use herald_store::ExecutionKey;

use crate::{derive::ServiceRequest, network::protocol::Attestable};

/// The points at which a keeper may misbehave. Every method's default is the honest behaviour.
pub trait Conduct: Send + Sync + std::fmt::Debug + 'static {
    /// Whether the keeper puts `key`'s execution up for settlement.
    fn settles(&self, _key: &ExecutionKey) -> bool {
        true
    }

    /// The receipt and result the keeper signs for an execution, changed in place.
    fn signs(&self, _receipt: &mut Receipt, _result: &mut Bytes) {}

    /// The request the runner sends in place of the stored one.
    fn delivers(&self, request: ServiceRequest) -> ServiceRequest {
        request
    }

    /// A second batch the keeper asks every peer to co-sign right after asking for `batch`.
    fn also_asks(&self, _batch: &[Attestable]) -> Option<Vec<Attestable>> {
        None
    }
}

/// The protocol as written.
#[derive(Clone, Copy, Debug, Default)]
pub struct Honest;

impl Conduct for Honest {}
