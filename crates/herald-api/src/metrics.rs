//! Prometheus metrics the keeper records and `GET /metrics` serves.

use std::{sync::Mutex, time::Duration};

use prometheus_client::{
    encoding::{EncodeLabelSet, text::encode},
    metrics::{counter::Counter, family::Family, histogram::Histogram},
    registry::Registry,
};

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct ConnectorLabel {
    connector: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct StatusLabel {
    status: String,
}

/// The keeper's counters and histograms.
pub struct Metrics {
    registry: Mutex<Registry>,
    events_in: Family<ConnectorLabel, Counter>,
    matches: Counter,
    executions: Family<StatusLabel, Counter>,
    latency: Histogram,
    settlement_gas: Counter,
    settled_receipts: Counter,
    rpc_errors: Counter,
}

impl Default for Metrics {
    fn default() -> Self {
        let mut registry = Registry::with_prefix("herald");
        let events_in = Family::<ConnectorLabel, Counter>::default();
        registry.register("events", "Events received, by connector", events_in.clone());
        let matches = Counter::default();
        registry.register("matches", "Trigger matches", matches.clone());
        let executions = Family::<StatusLabel, Counter>::default();
        registry.register(
            "executions",
            "Executions by how they ended (or were skipped)",
            executions.clone(),
        );
        // 1 ms to ~16 s.
        let latency = Histogram::new([
            0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 16.0,
        ]);
        registry.register(
            "execution_latency_seconds",
            "From the event's ingestion to its execution's result",
            latency.clone(),
        );
        let settlement_gas = Counter::default();
        registry.register(
            "settlement_gas",
            "Gas used by settle transactions",
            settlement_gas.clone(),
        );
        let settled_receipts = Counter::default();
        registry.register(
            "settled_receipts",
            "Receipts carried by mined settle transactions",
            settled_receipts.clone(),
        );
        let rpc_errors = Counter::default();
        registry.register(
            "rpc_errors",
            "Failed calls to the chain's node",
            rpc_errors.clone(),
        );
        Self {
            registry: Mutex::new(registry),
            events_in,
            matches,
            executions,
            latency,
            settlement_gas,
            settled_receipts,
            rpc_errors,
        }
    }
}

impl std::fmt::Debug for Metrics {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Metrics")
    }
}

impl Metrics {
    /// `n` events arrived from `connector`.
    pub fn events_in(&self, connector: &str, n: u64) {
        self.events_in
            .get_or_create(&ConnectorLabel {
                connector: connector.to_string(),
            })
            .inc_by(n);
    }

    /// `n` trigger matches.
    pub fn matched(&self, n: u64) {
        self.matches.inc_by(n);
    }

    /// An execution ended as `status` (`succeeded`, `failed`, `skipped`, …).
    pub fn execution(&self, status: &str) {
        self.executions
            .get_or_create(&StatusLabel {
                status: status.to_string(),
            })
            .inc();
    }

    /// An execution took `elapsed` from ingestion to result.
    pub fn latency(&self, elapsed: Duration) {
        self.latency.observe(elapsed.as_secs_f64());
    }

    /// A settle transaction was mined.
    pub fn settled(&self, gas_used: u64, receipts: u64) {
        self.settlement_gas.inc_by(gas_used);
        self.settled_receipts.inc_by(receipts);
    }

    /// A call to the node failed.
    pub fn rpc_error(&self) {
        self.rpc_errors.inc();
    }

    /// The Prometheus text exposition.
    pub fn render(&self) -> String {
        let mut out = String::new();
        let registry = self
            .registry
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if encode(&mut out, &registry).is_err() {
            out.clear();
        }
        out
    }
}
