//! The reference matcher: evaluates every trigger for every event.

use serde_json::Value;

use crate::{CompiledFilter, TriggerId};

/// Evaluates every trigger; slow on purpose, and the definition of a correct answer.
#[derive(Default)]
pub struct NaiveMatcher {
    triggers: Vec<(TriggerId, String, CompiledFilter, bool)>,
}

impl NaiveMatcher {
    /// An empty matcher.
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds a trigger, or replaces the one with the same id.
    pub fn insert(&mut self, id: TriggerId, connector: &str, filter: &CompiledFilter) {
        self.remove(id);
        self.triggers
            .push((id, connector.to_string(), filter.clone(), false));
    }

    /// Removes a trigger.
    pub fn remove(&mut self, id: TriggerId) -> bool {
        let before = self.triggers.len();
        self.triggers.retain(|t| t.0 != id);
        before != self.triggers.len()
    }

    /// Pauses or resumes a trigger.
    pub fn set_paused(&mut self, id: TriggerId, paused: bool) -> bool {
        self.triggers
            .iter_mut()
            .find(|t| t.0 == id)
            .map(|t| t.3 = paused)
            .is_some()
    }

    /// The active triggers of `connector` that `data` satisfies, in ascending id order.
    pub fn matches(&self, connector: &str, data: &Value) -> Vec<TriggerId> {
        let mut out: Vec<TriggerId> = self
            .triggers
            .iter()
            .filter(|(_, c, filter, paused)| !paused && c == connector && filter.matches(data))
            .map(|t| t.0)
            .collect();
        out.sort_unstable();
        out
    }
}
