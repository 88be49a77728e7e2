//! What each trigger can still pay, as the keeper sees it: the on-chain state (read once and again
//! whenever a log about the trigger is seen) less what the keeper has admitted and not yet seen
//! settled.
//!
//! Reservations make the check hold for a burst of events: ten events arriving before any settles
//! are admitted only while the budget covers all ten.
//!
//! A pending budget withdrawal counts as spent (security finding 12): its owner may complete it the
//! moment its delay ends, before a receipt for work admitted now has settled, and that work would
//! then go unpaid. So only the budget no withdrawal claims pays for new executions.

use std::collections::HashMap;

use alloy::{
    primitives::{Address, U256},
    providers::DynProvider,
};
use herald_chain::bindings::{Herald, HeraldRegistry};
use herald_store::ExecutionKey;

use crate::price::{PriceList, Quote, Refusal, admit};

struct Cached {
    /// The trigger and the amount of its pending budget withdrawal, as read from the chain.
    state: Option<(HeraldRegistry::Trigger, U256)>,
    reserved: HashMap<ExecutionKey, U256>,
}

/// Cached trigger budgets and price lists.
pub struct Budgets {
    provider: DynProvider,
    herald: Address,
    triggers: HashMap<u64, Cached>,
    prices: HashMap<(u32, u32), PriceList>,
}

impl Budgets {
    /// An empty cache reading from `herald`.
    pub fn new(provider: DynProvider, herald: Address) -> Self {
        Self {
            provider,
            herald,
            triggers: HashMap::new(),
            prices: HashMap::new(),
        }
    }

    /// The price list of a type pair (read once; types' fees change rarely and by admin event).
    pub async fn prices(
        &mut self,
        connector_type: u32,
        service_type: u32,
    ) -> Result<&PriceList, alloy::contract::Error> {
        if !self.prices.contains_key(&(connector_type, service_type)) {
            let list =
                PriceList::load(&self.provider, self.herald, connector_type, service_type).await?;
            self.prices.insert((connector_type, service_type), list);
        }
        Ok(&self.prices[&(connector_type, service_type)])
    }

    /// Forgets cached prices (after a type or fee change).
    pub fn forget_prices(&mut self) {
        self.prices.clear();
    }

    /// Checks an execution against the trigger's state less what is reserved, and reserves its
    /// price if admitted.
    pub async fn admit(
        &mut self,
        key: ExecutionKey,
        quote: &Quote,
        executed_at: u64,
    ) -> Result<Result<(), Refusal>, alloy::contract::Error> {
        let cached = self.triggers.entry(key.trigger_id).or_insert(Cached {
            state: None,
            reserved: HashMap::new(),
        });
        if cached.state.is_none() {
            let herald = Herald::new(self.herald, &self.provider);
            let state = herald.trigger(key.trigger_id).call().await?;
            let withdrawal = herald.budgetWithdrawals(key.trigger_id).call().await?;
            cached.state = Some((state, U256::from(withdrawal.amount)));
        }
        let (mut view, withdrawing) = cached.state.clone().expect("read above");
        let reserved: U256 = cached.reserved.values().copied().sum();
        let budget = U256::from(view.ledger.budget)
            .saturating_sub(withdrawing)
            .saturating_sub(reserved);
        view.ledger.budget = budget.saturating_to();
        view.ledger.executions = view
            .ledger
            .executions
            .saturating_add(cached.reserved.len() as u32);
        let verdict = admit(&view, quote, executed_at);
        if verdict.is_ok() {
            cached.reserved.insert(key, quote.total);
        }
        Ok(verdict)
    }

    /// Re-reads a trigger's state on next use (a log about it was seen).
    pub fn invalidate(&mut self, trigger_id: u64) {
        if let Some(cached) = self.triggers.get_mut(&trigger_id) {
            cached.state = None;
        }
    }

    /// Drops an execution's reservation (it settled, was rejected or was retracted) and re-reads
    /// the trigger's state on next use, so the two always move together.
    pub fn release(&mut self, key: ExecutionKey) {
        if let Some(cached) = self.triggers.get_mut(&key.trigger_id) {
            cached.reserved.remove(&key);
            cached.state = None;
        }
    }
}
