//! What an execution costs and whether its trigger can pay, computed exactly as `settle` will.
//!
//! The dispatcher prices an execution before running it and skips it (with a recorded reason) when
//! settlement would refuse it, so a keeper never does work it cannot be paid for. The arithmetic and
//! the order of checks mirror `HeraldSettlement`; an anvil test settles receipts and compares.

use alloy::{
    primitives::{Address, U256},
    providers::Provider,
};
use herald_chain::bindings::{Herald, HeraldRegistry};

/// The registry's prices for one (connector type, service type) pair, and the protocol fee.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PriceList {
    /// Paid to the connector type's developer on every execution.
    pub connector_developer_fee: U256,
    /// Paid to the keeper whose connector observed the event.
    pub operator_fee: U256,
    /// Paid to the service type's developer on successful executions.
    pub service_developer_fee: U256,
    /// Cap on the runner's reported fee.
    pub max_runner_fee: U256,
    /// The protocol's share, in basis points of the other shares.
    pub protocol_fee_bps: u16,
}

/// One execution's price, share by share.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Quote {
    /// To the connector type's developer.
    pub connector_developer: U256,
    /// To the connector operator.
    pub operator: U256,
    /// To the service type's developer (0 when the execution failed).
    pub service_developer: U256,
    /// To the runner, after the cap.
    pub runner: U256,
    /// To the protocol.
    pub protocol: U256,
    /// What the trigger pays.
    pub total: U256,
}

/// Why settlement would refuse an execution (the names of `RejectReason`).
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum Refusal {
    /// Executed after the trigger's expiry.
    #[error("Expired: the trigger has expired")]
    Expired,
    /// Executed inside a pause, or after cancellation.
    #[error("Paused: the trigger is paused or cancelled")]
    Paused,
    /// The execution limit is reached.
    #[error("Exhausted: the trigger's execution limit is reached")]
    Exhausted,
    /// The price is above the trigger's cap.
    #[error("FeeAboveCap: the price {fee} is above the trigger's cap {cap}")]
    FeeAboveCap {
        /// The price.
        fee: U256,
        /// The cap.
        cap: U256,
    },
    /// The trigger's budget cannot pay the price.
    #[error("InsufficientBudget: the price {fee} is more than the budget left, {budget}")]
    InsufficientBudget {
        /// The price.
        fee: U256,
        /// What is left.
        budget: U256,
    },
}

impl PriceList {
    /// Reads the prices of a type pair and the protocol fee from the registry.
    pub async fn load<P: Provider>(
        provider: &P,
        herald: Address,
        connector_type: u32,
        service_type: u32,
    ) -> Result<Self, alloy::contract::Error> {
        let herald = Herald::new(herald, provider);
        let connector = herald
            .connectorType(alloy::primitives::aliases::U24::from(connector_type))
            .call()
            .await?;
        let service = herald
            .serviceType(alloy::primitives::aliases::U24::from(service_type))
            .call()
            .await?;
        let params = herald.params().call().await?;
        Ok(Self {
            connector_developer_fee: U256::from(connector.fee),
            operator_fee: U256::from(connector.extraFee),
            service_developer_fee: U256::from(service.fee),
            max_runner_fee: U256::from(service.extraFee),
            protocol_fee_bps: params.protocolFeeBps,
        })
    }

    /// The price of one execution with the runner's reported fee.
    pub fn quote(&self, runner_fee: U256, success: bool) -> Quote {
        let service_developer = if success {
            self.service_developer_fee
        } else {
            U256::ZERO
        };
        let runner = runner_fee.min(self.max_runner_fee);
        let subtotal =
            self.connector_developer_fee + self.operator_fee + service_developer + runner;
        let protocol = subtotal * U256::from(self.protocol_fee_bps) / U256::from(10_000);
        Quote {
            connector_developer: self.connector_developer_fee,
            operator: self.operator_fee,
            service_developer,
            runner,
            protocol,
            total: subtotal + protocol,
        }
    }
}

/// Whether a trigger, in the state `Herald.trigger(id)` returns, will pay for an execution at
/// `executed_at` costing `quote` — checked in the contract's order.
pub fn admit(
    trigger: &HeraldRegistry::Trigger,
    quote: &Quote,
    executed_at: u64,
) -> Result<(), Refusal> {
    let rules = &trigger.rules;
    let ledger = &trigger.ledger;
    let expires_at = rules.expiresAt.to::<u64>();
    if expires_at != 0 && executed_at > expires_at {
        return Err(Refusal::Expired);
    }
    let paused_at = rules.pausedAt.to::<u64>();
    if paused_at != 0
        && executed_at >= paused_at
        && (rules.flags & 1 != 0 || executed_at < rules.resumedAt.to::<u64>())
    {
        return Err(Refusal::Paused);
    }
    if (ledger.maxExecutions != 0 && ledger.executions >= ledger.maxExecutions)
        || ledger.executions == u32::MAX
    {
        return Err(Refusal::Exhausted);
    }
    let cap = U256::from(rules.maxFeePerExecution);
    if quote.total > cap {
        return Err(Refusal::FeeAboveCap {
            fee: quote.total,
            cap,
        });
    }
    let budget = U256::from(ledger.budget);
    if quote.total > budget {
        return Err(Refusal::InsufficientBudget {
            fee: quote.total,
            budget,
        });
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn prices() -> PriceList {
        PriceList {
            connector_developer_fee: U256::from(300),
            operator_fee: U256::from(200),
            service_developer_fee: U256::from(400),
            max_runner_fee: U256::from(500),
            protocol_fee_bps: 500,
        }
    }

    #[test]
    fn quotes_split_into_five_shares_that_add_up() {
        let q = prices().quote(U256::from(100), true);
        assert_eq!(q.protocol, U256::from(50), "5% of 1,000");
        assert_eq!(q.total, U256::from(1_050));
        assert_eq!(
            q.connector_developer + q.operator + q.service_developer + q.runner + q.protocol,
            q.total
        );
    }

    #[test]
    fn failures_skip_the_service_developer_and_runner_fees_are_capped() {
        let q = prices().quote(U256::from(10_000), false);
        assert_eq!(q.service_developer, U256::ZERO);
        assert_eq!(q.runner, U256::from(500));
        assert_eq!(q.total, U256::from(1_050), "(300 + 200 + 0 + 500) × 1.05");
    }
}
