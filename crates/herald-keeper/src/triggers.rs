//! The trigger set, rebuilt from the registry's events alone — no central database — and kept
//! current by applying the same events as the keeper follows the chain.
//!
//! `TriggerCreated` carries the trigger's full configuration (a trigger file); it is parsed,
//! validated against the known manifests and compiled into the matcher. `TriggerPaused`,
//! `TriggerResumed` and `TriggerCancelled` are applied in log order, and every pause is kept
//! ([`PauseHistory`]): the dispatcher runs only triggers not paused now, co-signers judge a
//! receipt's execution time against all of a trigger's pauses. A configuration that does not
//! parse or validate is reported, not fatal: anyone can create a trigger, and one user's bad file
//! must not stop a keeper serving everyone else.
//!
//! A trigger is served only if the connector and service types its terms name on chain were
//! registered for the very manifests its file uses (their manifest hashes), and pay this keeper at
//! least its configured minimums ([`FeeFloor`]); the registry's `ConnectorTypeSet` and
//! `ServiceTypeSet` events are applied in the same log order, and a type update that breaks either
//! rule unloads the triggers on it.
//!
//! Matching is per *source*: a chain trigger names a contract (or any) and an event ABI (or none,
//! for raw logs), and a log is decoded once per source that can apply to it, then matched against
//! that source's triggers only. The matcher's connector key is the source key.

use std::{collections::HashMap, sync::Arc};

use alloy::{
    primitives::{Address, B256, U256},
    providers::Provider,
    rpc::types::{Filter, Log},
    sol_types::SolEvent,
};
use herald_chain::{
    bindings::Herald,
    events::{self, HeraldEvents},
};
use herald_connectors::evm::{EventAbi, LogContext, raw_payload};
use herald_core::Event;
use herald_match::{Matcher, TriggerId};
use herald_spec::{Manifests, TriggerSpec, parse_triggers};
use serde_json::Value;

mod pauses;
mod sealed;
mod types;
pub use pauses::PauseHistory;
pub use sealed::{SealHistory, SealState};
pub use types::FeeFloor;
use types::RegisteredType;

/// A trigger the keeper can run.
#[derive(Clone, Debug)]
pub struct ActiveTrigger {
    /// Its on-chain id.
    pub id: u64,
    /// Who pays.
    pub owner: Address,
    /// The registered connector type.
    pub connector_type: u32,
    /// The registered service type.
    pub service_type: u32,
    /// The block that created it: it fires for events after this block only.
    pub created_block: u64,
    /// That block's time, unix seconds: an API event fires it only if made at or after this
    /// time, so an owner never pays for an event older than its subscription.
    pub created_time: u64,
    /// The connector's name in the trigger file (e.g. `ETHEREUM_MAINNET_CONTRACT`).
    pub connector: String,
    /// The service's name in the trigger file (e.g. `webhook`).
    pub service: String,
    /// The service's data, templates not yet rendered.
    pub data: Value,
    /// Its source's key (the matcher's connector key).
    pub source: String,
    /// The keys whose signed events it accepts (an HTTP_EVENT subscription's `emitters`; empty
    /// for a chain trigger).
    pub emitters: Vec<Address>,
}

/// Logs from one contract (or any), decoded with one ABI (or none).
#[derive(Clone, Debug)]
struct Source {
    contract: Option<Address>,
    abi: Option<EventAbi>,
    triggers: usize,
}

/// What loading or applying found.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct LoadReport {
    /// Triggers compiled into the matcher (including those later paused).
    pub loaded: Vec<u64>,
    /// Triggers whose configuration was refused, with the reason (file position included).
    pub invalid: Vec<(u64, String)>,
    /// Triggers cancelled (removed from the matcher).
    pub cancelled: Vec<u64>,
    /// The last block read; watching continues from the next one.
    pub to_block: u64,
}

/// Why the trigger set could not be read at all.
#[derive(Debug, thiserror::Error)]
pub enum TriggerSetError {
    /// The node refused a call.
    #[error("rpc: {0}")]
    Rpc(String),
}

/// The triggers a keeper serves, compiled for matching.
pub struct TriggerSet {
    manifests: Manifests,
    matcher: Matcher,
    triggers: HashMap<u64, Arc<ActiveTrigger>>,
    pauses: HashMap<u64, PauseHistory>,
    sealed: HashMap<u64, SealHistory>,
    sources: HashMap<String, Source>,
    connector_types: HashMap<u32, RegisteredType>,
    service_types: HashMap<u32, RegisteredType>,
    floor: FeeFloor,
}

impl std::fmt::Debug for TriggerSet {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TriggerSet")
            .field("triggers", &self.triggers.len())
            .field("sources", &self.sources.len())
            .finish_non_exhaustive()
    }
}

/// One match: a trigger and the payload its source decoded.
#[derive(Clone, Debug)]
pub struct Match {
    /// The trigger.
    pub trigger: Arc<ActiveTrigger>,
    /// The event payload, as the trigger's source decoded it.
    pub payload: Arc<Value>,
}

impl TriggerSet {
    /// An empty set validating against `manifests`.
    pub fn new(manifests: Manifests) -> Self {
        Self {
            manifests,
            matcher: Matcher::new(),
            triggers: HashMap::new(),
            pauses: HashMap::new(),
            sealed: HashMap::new(),
            sources: HashMap::new(),
            connector_types: HashMap::new(),
            service_types: HashMap::new(),
            floor: FeeFloor::default(),
        }
    }

    /// The set, refusing triggers whose types pay this keeper less than `floor`.
    pub fn with_fee_floor(mut self, floor: FeeFloor) -> Self {
        self.floor = floor;
        self
    }

    /// The compiled matcher.
    pub fn matcher(&self) -> &Matcher {
        &self.matcher
    }

    /// A trigger, if it is loaded (paused ones included).
    pub fn get(&self, id: u64) -> Option<&Arc<ActiveTrigger>> {
        self.triggers.get(&id)
    }

    /// The contracts whose logs the set needs (with `herald`'s own), or `None` when a trigger
    /// watches every contract.
    pub fn addresses(&self, herald: Address) -> Option<Vec<Address>> {
        let mut addresses = vec![herald];
        for source in self.sources.values() {
            addresses.push(source.contract?);
        }
        addresses.sort();
        addresses.dedup();
        Some(addresses)
    }

    /// Applies one registry event, of a log in `block` at `block_time`; returns whether it
    /// changed the set.
    pub fn apply(
        &mut self,
        event: &HeraldEvents,
        block: u64,
        block_time: u64,
        report: &mut LoadReport,
    ) -> bool {
        match event {
            HeraldEvents::TriggerCreated(event) => {
                if self.triggers.contains_key(&event.id) {
                    return false; // seen at start-up, and again while following
                }
                match self.compile(event, block, block_time) {
                    Ok(trigger) => {
                        report.loaded.push(trigger.id);
                        self.triggers.insert(trigger.id, Arc::new(trigger));
                        true
                    }
                    Err(reason) => {
                        report.invalid.push((event.id, reason));
                        false
                    }
                }
            }
            HeraldEvents::TriggerPaused(e) => {
                self.pause_history(e.id).pause(e.at.to());
                self.triggers.contains_key(&e.id)
            }
            HeraldEvents::TriggerResumed(e) => {
                self.pause_history(e.id).resume(e.at.to());
                self.triggers.contains_key(&e.id)
            }
            HeraldEvents::TriggerCancelled(e) => {
                self.pause_history(e.id).cancel(e.at.to());
                self.unload(e.id);
                report.cancelled.push(e.id);
                true
            }
            HeraldEvents::TriggerSecretsSet(e) => {
                self.sealed
                    .entry(e.id)
                    .or_default()
                    .publish(block, SealState::of_bytes(&e.envelope));
                self.triggers.contains_key(&e.id)
            }
            HeraldEvents::ConnectorTypeSet(e) => {
                let registered = RegisteredType {
                    manifest_hash: e.manifestHash,
                    keeper_fee: U256::from(e.operatorFee),
                };
                self.connector_types.insert(e.id.to(), registered);
                self.recheck(report)
            }
            HeraldEvents::ServiceTypeSet(e) => {
                let registered = RegisteredType {
                    manifest_hash: e.manifestHash,
                    keeper_fee: U256::from(e.maxRunnerFee),
                };
                self.service_types.insert(e.id.to(), registered);
                self.recheck(report)
            }
            _ => false,
        }
    }

    fn pause_history(&mut self, id: u64) -> &mut PauseHistory {
        self.pauses.entry(id).or_default()
    }

    /// Trigger `id`'s sealed secrets in force for an event in `block` (`None`: an API event, the
    /// latest); `None` when its owner had sealed none.
    pub fn sealed(&self, id: u64, block: Option<u64>) -> Option<SealState> {
        self.sealed.get(&id)?.at(block).cloned()
    }

    /// The keepers that may perform trigger `id`'s execution of an event in `block`: those the
    /// envelope in force is sealed to, or `None` for a trigger with no sealed secrets then (any
    /// active keeper may).
    pub fn sealed_to(&self, id: u64, block: Option<u64>) -> Option<Vec<Address>> {
        self.sealed.get(&id)?.at(block).map(SealState::sealed_to)
    }

    /// Whether trigger `id`'s latest envelope (the one an API event, which no block orders, is
    /// judged by) is sealed to keepers `keeper` is not among.
    pub fn sealed_without(&self, id: u64, keeper: Address) -> bool {
        self.sealed_to(id, None)
            .is_some_and(|recipients| !recipients.contains(&keeper))
    }

    /// Whether trigger `id` is paused now.
    pub fn is_paused(&self, id: u64) -> bool {
        self.pauses.get(&id).is_some_and(PauseHistory::is_paused)
    }

    /// Whether an execution of trigger `id` at `time` (seconds) falls inside any of its pauses.
    pub fn paused_at(&self, id: u64, time: u64) -> bool {
        self.pauses.get(&id).is_some_and(|h| h.covers(time))
    }

    fn unload(&mut self, id: u64) {
        self.matcher.remove(TriggerId(id));
        self.sealed.remove(&id);
        if let Some(trigger) = self.triggers.remove(&id) {
            self.release(&trigger.source);
        }
    }

    /// The triggers not paused now that an event emitted through the API matches, with the
    /// payload their filters read (see [`http_payload`]).
    pub fn matches_event(&self, event: &Event) -> Vec<Match> {
        let mut out = self.matches_event_in_any_state(event);
        out.retain(|m| !self.is_paused(m.trigger.id));
        out
    }

    /// [`Self::matches_event`], paused triggers included. Only subscriptions whose `emitters`
    /// name the event's emitter match: the emitter an event's `source` names is trusted because
    /// the API checked its signature before storing it, and a co-signer checks it again
    /// ([`herald_api::signing::verify_event`]) before matching.
    pub fn matches_event_in_any_state(&self, event: &Event) -> Vec<Match> {
        let Some(emitter) = herald_api::signing::emitter_of(event) else {
            return Vec::new();
        };
        // A relayed or retried event reaches a keeper up to minutes after it was made: by then a
        // subscription created since may be loaded, and must not be charged for it.
        let made = u64::try_from(event.time.as_second()).unwrap_or(0);
        let payload = Arc::new(http_payload(event));
        let mut out: Vec<Match> = self
            .matcher
            .snapshot()
            .matches(HTTP_CONNECTOR, &payload)
            .into_iter()
            .filter_map(|TriggerId(id)| self.triggers.get(&id))
            .filter(|trigger| trigger.emitters.contains(&emitter))
            .filter(|trigger| made >= trigger.created_time)
            .map(|trigger| Match {
                trigger: trigger.clone(),
                payload: payload.clone(),
            })
            .collect();
        out.sort_by_key(|m| m.trigger.id);
        out
    }

    /// The triggers not paused now that a log matches, each with its payload: what the
    /// dispatcher runs.
    pub fn matches(&self, log: &Log, context: &LogContext) -> Vec<Match> {
        let mut out = self.matches_in_any_state(log, context);
        out.retain(|m| !self.is_paused(m.trigger.id));
        out
    }

    /// The triggers a log matches, paused or not (a co-signer judges the pause at the execution
    /// time with [`Self::paused_at`]), each with its payload. A trigger only fires for events in
    /// blocks after the one that created it.
    pub fn matches_in_any_state(&self, log: &Log, context: &LogContext) -> Vec<Match> {
        let snapshot = self.matcher.snapshot();
        let topic0 = log.topic0();
        let mut out = Vec::new();
        for (key, source) in &self.sources {
            if source.contract.is_some_and(|c| c != log.address()) {
                continue;
            }
            let payload = match &source.abi {
                Some(abi) => {
                    if topic0 != Some(&abi.selector()) {
                        continue;
                    }
                    match abi.decode(log.address(), log.data(), context) {
                        Ok(payload) => payload,
                        Err(_) => continue, // same selector, different indexing: not this event
                    }
                }
                None => raw_payload(log.address(), log.data(), context),
            };
            let payload = Arc::new(payload);
            for TriggerId(id) in snapshot.matches(key, &payload) {
                if let Some(trigger) = self.triggers.get(&id)
                    && trigger.created_block < context.block_number
                {
                    out.push(Match {
                        trigger: trigger.clone(),
                        payload: payload.clone(),
                    });
                }
            }
        }
        out.sort_by_key(|m| m.trigger.id);
        out
    }

    fn compile(
        &mut self,
        event: &Herald::TriggerCreated,
        block: u64,
        block_time: u64,
    ) -> Result<ActiveTrigger, String> {
        let id = event.id;
        let file = format!("trigger #{id}");
        let text = std::str::from_utf8(&event.config)
            .map_err(|e| format!("{file}: the configuration is not UTF-8 ({e})"))?;
        let specs = parse_triggers(&file, text).map_err(|e| e.to_string())?;
        let [spec] = specs.as_slice() else {
            return Err(format!(
                "{file}: the configuration defines {} triggers; one was expected",
                specs.len()
            ));
        };
        let filter = self
            .manifests
            .validate(&file, spec)
            .map_err(|e| e.to_string())?;
        let (connector_type, service_type) = (event.connectorType.to(), event.serviceType.to());
        self.check_types(
            &spec.connector.value,
            &spec.service.value,
            connector_type,
            service_type,
        )
        .map_err(|reason| format!("{file}: {reason}"))?;
        let key = if spec.connector.value == HTTP_CONNECTOR {
            // Not a chain source: matched by `matches_event`, and no reason to read any logs.
            HTTP_CONNECTOR.to_string()
        } else {
            self.chain_source(&file, spec)?
        };
        self.matcher.insert(TriggerId(id), &key, &filter);
        if let Some(secrets) = &spec.secrets {
            self.sealed
                .entry(id)
                .or_default()
                .publish(block, SealState::of_base64(&secrets.value));
        }
        Ok(ActiveTrigger {
            id,
            owner: event.owner,
            connector_type,
            service_type,
            created_block: block,
            created_time: block_time,
            connector: spec.connector.value.clone(),
            service: spec.service.value.clone(),
            data: spec.data.to_json(),
            source: key,
            emitters: emitters(&file, spec)?,
        })
    }

    /// Registers the chain source (contract and event ABI) `spec` reads; returns its key.
    fn chain_source(&mut self, file: &str, spec: &TriggerSpec) -> Result<String, String> {
        let contract =
            match &spec.source.contract {
                Some(contract) => Some(contract.value.parse::<Address>().map_err(|e| {
                    format!("{file}:{}: connector.contract: {e}", contract.at.line)
                })?),
                None => None,
            };
        let abi = match &spec.source.abi {
            Some(abi) => Some(
                EventAbi::parse(&abi.value)
                    .map_err(|e| format!("{file}:{}: connector.abi: {e}", abi.at.line))?,
            ),
            None => None,
        };
        let key = source_key(
            &spec.connector.value,
            contract,
            abi.as_ref().map(|a| a.selector()),
            spec.source.abi.as_ref().map(|a| a.value.as_str()),
        );
        self.sources
            .entry(key.clone())
            .or_insert(Source {
                contract,
                abi,
                triggers: 0,
            })
            .triggers += 1;
        Ok(key)
    }

    fn release(&mut self, key: &str) {
        if let Some(source) = self.sources.get_mut(key) {
            source.triggers -= 1;
            if source.triggers == 0 {
                self.sources.remove(key);
            }
        }
    }
}

/// The connector of events emitted through the REST API.
pub use herald_spec::HTTP_EVENT_CONNECTOR as HTTP_CONNECTOR;

/// A subscription's `emitters`, parsed (the parser checked each is an address).
fn emitters(file: &str, spec: &TriggerSpec) -> Result<Vec<Address>, String> {
    let Some(listed) = &spec.source.emitters else {
        return Ok(Vec::new());
    };
    listed
        .value
        .iter()
        .map(|e| {
            e.value
                .parse()
                .map_err(|err| format!("{file}:{}: connector.emitters: {err}", e.at))
        })
        .collect()
}

/// What an API event looks like to a trigger on [`HTTP_CONNECTOR`]: its type (the name it was
/// emitted under), id, source, time and payload.
pub fn http_payload(event: &Event) -> Value {
    serde_json::json!({
        "type": event.kind,
        "id": event.id.to_string(),
        "source": event.source,
        "time": event.time.to_string(),
        "data": event.data,
    })
}

/// The matcher key of a source: connector type, contract and ABI. Two triggers share a source, and
/// a decoding, exactly when they give the same three.
pub fn source_key(
    connector: &str,
    contract: Option<Address>,
    selector: Option<B256>,
    abi: Option<&str>,
) -> String {
    let contract = contract.map_or_else(|| "*".to_string(), |c| format!("{c:#x}"));
    match (selector, abi) {
        (Some(selector), Some(abi)) => {
            let digest = alloy::primitives::keccak256(abi.trim().as_bytes());
            format!("{connector}/{contract}/{selector:#x}/{digest:#x}")
        }
        _ => format!("{connector}/{contract}/raw"),
    }
}

/// The registry's trigger and type events, as a log filter.
pub fn registry_filter(herald: Address) -> Filter {
    Filter::new().address(herald).event_signature(vec![
        Herald::ConnectorTypeSet::SIGNATURE_HASH,
        Herald::ServiceTypeSet::SIGNATURE_HASH,
        Herald::TriggerCreated::SIGNATURE_HASH,
        Herald::TriggerPaused::SIGNATURE_HASH,
        Herald::TriggerResumed::SIGNATURE_HASH,
        Herald::TriggerCancelled::SIGNATURE_HASH,
        Herald::TriggerSecretsSet::SIGNATURE_HASH,
    ])
}

/// Reads the registry's trigger events from `from_block` to the chain's head into `set`.
pub async fn load_triggers<P: Provider>(
    provider: &P,
    herald: Address,
    from_block: u64,
    set: &mut TriggerSet,
) -> Result<LoadReport, TriggerSetError> {
    let rpc = |e: alloy::transports::TransportError| TriggerSetError::Rpc(e.to_string());
    let head = provider.get_block_number().await.map_err(rpc)?;
    let filter = registry_filter(herald)
        .from_block(from_block)
        .to_block(head);
    let logs = provider.get_logs(&filter).await.map_err(rpc)?;
    let mut report = LoadReport {
        to_block: head,
        ..LoadReport::default()
    };
    let mut times = std::collections::HashMap::new();
    for log in &logs {
        let block_time = match (log.topic0(), log.block_timestamp, log.block_hash) {
            (Some(&Herald::TriggerCreated::SIGNATURE_HASH), None, Some(hash)) => {
                match times.get(&hash) {
                    Some(time) => *time,
                    None => {
                        let time = provider
                            .get_header_by_hash(hash)
                            .await
                            .map_err(rpc)?
                            .ok_or_else(|| {
                                TriggerSetError::Rpc(format!(
                                    "block {hash} of a trigger's creation is unknown"
                                ))
                            })?
                            .timestamp;
                        times.insert(hash, time);
                        time
                    }
                }
            }
            (_, Some(time), _) => time,
            _ => 0,
        };
        if let Some(event) = events::decode(log) {
            set.apply(
                &event,
                log.block_number.unwrap_or_default(),
                block_time,
                &mut report,
            );
        }
    }
    Ok(report)
}
