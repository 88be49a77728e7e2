//! Whether a trigger's on-chain connector and service types fit it: registered for the very
//! manifests its file uses, and paying this keeper at least its floor.

use std::collections::HashMap;

use alloy::primitives::{B256, U256};

use super::{LoadReport, TriggerSet};

/// The least a keeper accepts to be paid, per execution, for the roles it plays: the connector
/// type's operator fee, and the service type's cap on the runner's fee. Zero accepts every type.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct FeeFloor {
    /// The least operator fee of a trigger's connector type.
    pub operator_fee: U256,
    /// The least runner-fee cap of a trigger's service type.
    pub runner_fee_cap: U256,
}

/// A connector or service type as the registry last described it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) struct RegisteredType {
    pub(super) manifest_hash: B256,
    /// The operator fee (connector types) or the runner-fee cap (service types).
    pub(super) keeper_fee: U256,
}

impl TriggerSet {
    /// Whether a trigger's on-chain types fit its file's manifests and this keeper's floor.
    pub(super) fn check_types(
        &self,
        connector: &str,
        service: &str,
        connector_type: u32,
        service_type: u32,
    ) -> Result<(), String> {
        let registered = |types: &HashMap<u32, RegisteredType>, kind: &str, id: u32| {
            types
                .get(&id)
                .copied()
                .ok_or_else(|| format!("{kind} type #{id} is not registered"))
        };
        let c = registered(&self.connector_types, "connector", connector_type)?;
        let s = registered(&self.service_types, "service", service_type)?;
        let connector_manifest = self
            .manifests
            .connector(connector)
            .ok_or_else(|| format!("unknown connector type `{connector}`"))?;
        let service_manifest = self
            .manifests
            .service(service)
            .ok_or_else(|| format!("unknown service `{service}`"))?;
        if c.manifest_hash != connector_manifest.manifest_hash {
            return Err(format!(
                "connector type #{connector_type} is registered for manifest {}, not `{connector}`'s {}",
                c.manifest_hash, connector_manifest.manifest_hash
            ));
        }
        if s.manifest_hash != service_manifest.manifest_hash {
            return Err(format!(
                "service type #{service_type} is registered for manifest {}, not `{service}`'s {}",
                s.manifest_hash, service_manifest.manifest_hash
            ));
        }
        if c.keeper_fee < self.floor.operator_fee {
            return Err(format!(
                "connector type #{connector_type} pays its operator {}, below this keeper's minimum {}",
                c.keeper_fee, self.floor.operator_fee
            ));
        }
        if s.keeper_fee < self.floor.runner_fee_cap {
            return Err(format!(
                "service type #{service_type} caps the runner's fee at {}, below this keeper's minimum {}",
                s.keeper_fee, self.floor.runner_fee_cap
            ));
        }
        Ok(())
    }

    /// Unloads the triggers a type update left unfit; returns whether any was.
    pub(super) fn recheck(&mut self, report: &mut LoadReport) -> bool {
        let unfit: Vec<(u64, String)> = self
            .triggers
            .values()
            .filter_map(|t| {
                self.check_types(&t.connector, &t.service, t.connector_type, t.service_type)
                    .err()
                    .map(|reason| (t.id, format!("trigger #{}: {reason}", t.id)))
            })
            .collect();
        let changed = !unfit.is_empty();
        for (id, reason) in unfit {
            self.unload(id);
            report.invalid.push((id, reason));
        }
        changed
    }
}
