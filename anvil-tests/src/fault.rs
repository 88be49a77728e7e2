//! Deliberately faulty keepers, for the network's tests only: this module exists only with the
//! `byzantine` feature, which only the integration tests' keeper binary turns on, and a mode is
//! chosen by `HERALD_BYZANTINE`.

use alloy::primitives::{Address, B256, Bytes, aliases::U96, keccak256};
use herald_chain::receipt::Receipt;

use super::{client::NetworkCosigner, protocol::Attestable};
use crate::runner::ServiceRequest;

/// How a byzantine keeper misbehaves.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Fault {
    /// It does not.
    #[default]
    None,
    /// Reports a runner fee far above the service type's cap.
    WrongFee,
    /// Reports a result other than the request the trigger sends.
    WrongResult,
    /// Signs a second, different receipt for executions it already asked co-signatures for.
    Equivocate,
    /// Delivers every webhook to an endpoint other than its trigger's, and reports what it sent.
    DeliverElsewhere,
    /// Runs every execution but never settles those of chain logs in odd blocks: it holds chosen
    /// events back while settling the rest.
    Censor,
}

impl Fault {
    /// The mode `HERALD_BYZANTINE` names (`wrong-fee`, `wrong-result`, `equivocate`,
    /// `deliver-elsewhere`, `censor`).
    pub fn from_env() -> Self {
        match std::env::var("HERALD_BYZANTINE").as_deref() {
            Ok("wrong-fee") => Self::WrongFee,
            Ok("wrong-result") => Self::WrongResult,
            Ok("equivocate") => Self::Equivocate,
            Ok("deliver-elsewhere") => Self::DeliverElsewhere,
            Ok("censor") => Self::Censor,
            _ => Self::None,
        }
    }

    /// The executions a keeper puts up for settlement: a censor leaves out those of logs in odd
    /// blocks.
    pub fn settles(self, key: &herald_store::ExecutionKey) -> bool {
        self != Self::Censor
            || key
                .event_id
                .log_position()
                .is_none_or(|at| at.block_number % 2 == 0)
    }

    /// Tampers with a receipt and its result before the batch is signed.
    pub fn tamper(self, receipt: &mut Receipt, result: &mut Bytes) {
        match self {
            Self::WrongFee => receipt.runnerFee = U96::from(10u128.pow(27)),
            Self::WrongResult => {
                *result =
                    Bytes::from([b"{\"forged\":true}".as_slice(), &200u16.to_be_bytes()].concat());
                receipt.resultHash = keccak256(result);
                receipt.success = true;
            }
            Self::None | Self::Equivocate | Self::DeliverElsewhere | Self::Censor => {}
        }
    }

    /// The request a runner sends instead of the stored one. A keeper delivering elsewhere adds
    /// a query to the endpoint: another endpoint on the same receiver, which still answers 2xx,
    /// as a performer's own server would.
    pub fn redirect(self, mut request: ServiceRequest) -> ServiceRequest {
        if self == Self::DeliverElsewhere {
            let separator = if request.endpoint.contains('?') {
                '&'
            } else {
                '?'
            };
            request.endpoint = format!("{}{separator}delivered-elsewhere", request.endpoint);
        }
        request
    }

    /// After asking for co-signatures on a batch: an equivocating keeper also sends a second batch
    /// whose first receipt reports another result for the same execution.
    pub(super) async fn after_asking(
        self,
        cosigner: &NetworkCosigner,
        batch: &[Attestable],
        peers: &[(Address, String)],
    ) {
        if self != Self::Equivocate || batch.is_empty() {
            return;
        }
        let mut forged = batch.to_vec();
        forged[0].receipt.result_hash = B256::repeat_byte(0xee);
        tracing::warn!("byzantine test mode: equivocating");
        cosigner.send_to_all(&forged, peers).await;
    }
}
