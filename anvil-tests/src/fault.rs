//! Deliberately faulty keepers, for the network's tests: each [`Fault`] is a
//! [`Conduct`](herald_keeper::conduct::Conduct) that the `test-keeper` binary runs the node with
//! when `HERALD_TEST_FAULT` names it. The `herald` binary has no such variable and no such code.

use alloy::primitives::{B256, Bytes, aliases::U96, keccak256};
use herald_chain::receipt::Receipt;
use herald_keeper::{conduct::Conduct, derive::ServiceRequest, network::protocol::Attestable};
use herald_store::ExecutionKey;

/// The variable that chooses a test keeper's fault.
pub const FAULT_VAR: &str = "HERALD_TEST_FAULT";

/// How a faulty keeper misbehaves.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Fault {
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
    /// Panics in the settler, the first time it has executions to settle: a bug, not a lie.
    PanicSettling,
}

impl Fault {
    /// The fault `name` names (`wrong-fee`, `wrong-result`, `equivocate`, `deliver-elsewhere`,
    /// `censor`, `panic-settling`).
    pub fn named(name: &str) -> Option<Self> {
        Some(match name {
            "wrong-fee" => Self::WrongFee,
            "wrong-result" => Self::WrongResult,
            "equivocate" => Self::Equivocate,
            "deliver-elsewhere" => Self::DeliverElsewhere,
            "censor" => Self::Censor,
            "panic-settling" => Self::PanicSettling,
            _ => return None,
        })
    }
}

impl Conduct for Fault {
    /// A censor leaves out the executions of logs in odd blocks.
    fn settles(&self, key: &ExecutionKey) -> bool {
        assert!(
            *self != Self::PanicSettling,
            "test fault: the settler panics"
        );
        *self != Self::Censor
            || key
                .event_id
                .log_position()
                .is_none_or(|at| at.block_number % 2 == 0)
    }

    fn signs(&self, receipt: &mut Receipt, result: &mut Bytes) {
        match self {
            Self::WrongFee => receipt.runnerFee = U96::from(10u128.pow(27)),
            Self::WrongResult => {
                *result =
                    Bytes::from([b"{\"forged\":true}".as_slice(), &200u16.to_be_bytes()].concat());
                receipt.resultHash = keccak256(&*result);
                receipt.success = true;
            }
            Self::Equivocate | Self::DeliverElsewhere | Self::Censor | Self::PanicSettling => {}
        }
    }

    /// A keeper delivering elsewhere adds a query to the endpoint: another endpoint on the same
    /// receiver, which still answers 2xx, as a performer's own server would.
    fn delivers(&self, mut request: ServiceRequest) -> ServiceRequest {
        if *self == Self::DeliverElsewhere {
            let separator = if request.endpoint.contains('?') {
                '&'
            } else {
                '?'
            };
            request.endpoint = format!("{}{separator}delivered-elsewhere", request.endpoint);
        }
        request
    }

    /// An equivocator also asks for a batch whose first receipt reports another result for the
    /// same execution.
    fn also_asks(&self, batch: &[Attestable]) -> Option<Vec<Attestable>> {
        if *self != Self::Equivocate || batch.is_empty() {
            return None;
        }
        let mut forged = batch.to_vec();
        forged[0].receipt.result_hash = B256::repeat_byte(0xee);
        tracing::warn!("test fault: equivocating");
        Some(forged)
    }
}
