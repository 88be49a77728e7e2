//! The manifests a trigger file is checked against, by name.

use std::collections::BTreeMap;

use herald_match::CompiledFilter;

use crate::{ConnectorManifest, ServiceManifest, SpecError, TriggerSpec, error::suggestion};

/// The built-in connector of events emitted through a keeper's REST API
/// (`manifests/http-event.yaml`); a trigger on it is a subscription.
pub const HTTP_EVENT_CONNECTOR: &str = "HTTP_EVENT";

/// Known connector and service types.
#[derive(Clone, Debug, Default)]
pub struct Manifests {
    connectors: BTreeMap<String, ConnectorManifest>,
    /// Keyed by lower-cased title: triggers write `service: webhook` for `title: Webhook`.
    services: BTreeMap<String, ServiceManifest>,
}

impl Manifests {
    /// The manifests Herald ships: the EVM contract-log connector, the HTTP event connector and
    /// the webhook service.
    pub fn builtin() -> Self {
        let mut m = Self::default();
        let [evm, http, webhook] = BUILTIN_MANIFESTS;
        for (file, text) in [evm, http] {
            let connector = ConnectorManifest::parse(file, text)
                .expect("the built-in connector manifests are valid (tested)");
            m.add_connector(connector);
        }
        let service = ServiceManifest::parse(webhook.0, webhook.1)
            .expect("the built-in service manifest is valid (tested)");
        m.add_service(service);
        m
    }

    /// Adds or replaces a connector type.
    pub fn add_connector(&mut self, manifest: ConnectorManifest) {
        self.connectors.insert(manifest.type_name.clone(), manifest);
    }

    /// Adds or replaces a service type.
    pub fn add_service(&mut self, manifest: ServiceManifest) {
        self.services
            .insert(manifest.title.to_lowercase(), manifest);
    }

    /// Validates a trigger against the manifests it names and compiles its filter.
    pub fn validate(&self, file: &str, spec: &TriggerSpec) -> Result<CompiledFilter, SpecError> {
        let connector = self.connectors.get(&spec.connector.value).ok_or_else(|| {
            SpecError::new(
                file,
                spec.connector.at,
                format!(
                    "unknown connector type `{}` (known: {}){}",
                    spec.connector.value,
                    self.connectors
                        .keys()
                        .cloned()
                        .collect::<Vec<_>>()
                        .join(", "),
                    suggestion(
                        &spec.connector.value,
                        self.connectors.keys().map(String::as_str)
                    )
                ),
            )
        })?;
        let service = self
            .services
            .get(&spec.service.value.to_lowercase())
            .ok_or_else(|| {
                SpecError::new(
                    file,
                    spec.service.at,
                    format!(
                        "unknown service `{}` (known: {}){}",
                        spec.service.value,
                        self.services.keys().cloned().collect::<Vec<_>>().join(", "),
                        suggestion(
                            &spec.service.value.to_lowercase(),
                            self.services.keys().map(String::as_str)
                        )
                    ),
                )
            })?;
        spec.validate(file, connector, service)
    }

    /// The connector type of that name.
    pub fn connector(&self, type_name: &str) -> Option<&ConnectorManifest> {
        self.connectors.get(type_name)
    }

    /// The service type of that name (as a trigger writes it: case does not matter).
    pub fn service(&self, name: &str) -> Option<&ServiceManifest> {
        self.services.get(&name.to_lowercase())
    }
}

/// The text of each manifest Herald ships, by file name: what a deployment registers its built-in
/// types with (the on-chain manifest hash is keccak256 of this text).
pub const BUILTIN_MANIFESTS: [(&str, &str); 3] = [
    (
        "ethereum-mainnet-contract.yaml",
        include_str!("../manifests/ethereum-mainnet-contract.yaml"),
    ),
    (
        "http-event.yaml",
        include_str!("../manifests/http-event.yaml"),
    ),
    ("webhook.yaml", include_str!("../manifests/webhook.yaml")),
];
