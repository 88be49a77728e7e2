//! The reference matcher: evaluates every trigger for every event.

use std::collections::BTreeMap;

use serde_json::Value;

use crate::{CompiledFilter, TriggerId};

/// Evaluates every trigger; slow on purpose, and the definition of a correct answer.
#[derive(Default)]
pub struct NaiveMatcher {
    /// By id, so results come out in ascending id order.
    triggers: BTreeMap<TriggerId, (String, CompiledFilter, bool)>,
}

impl NaiveMatcher {
    /// An empty matcher.
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds a trigger, or replaces the one with the same id.
    pub fn insert(&mut self, id: TriggerId, connector: &str, filter: &CompiledFilter) {
        self.triggers
            .insert(id, (connector.to_string(), filter.clone(), false));
    }

    /// Removes a trigger.
    pub fn remove(&mut self, id: TriggerId) -> bool {
        self.triggers.remove(&id).is_some()
    }

    /// Pauses or resumes a trigger.
    pub fn set_paused(&mut self, id: TriggerId, paused: bool) -> bool {
        self.triggers.get_mut(&id).map(|t| t.2 = paused).is_some()
    }

    /// The active triggers of `connector` that `data` satisfies, in ascending id order.
    pub fn matches(&self, connector: &str, data: &Value) -> Vec<TriggerId> {
        self.triggers
            .iter()
            .filter(|(_, (c, filter, paused))| !paused && c == connector && filter.matches(data))
            .map(|(id, _)| *id)
            .collect()
    }
}
