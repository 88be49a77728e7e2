//! The dispatcher: from a range of chain logs to stored executions.
//!
//! Logs are handled in chain order. Herald's own logs update the trigger set (so a trigger created
//! in block N fires from block N + 1, even within one range: when it watches a contract the range
//! was read without, the range ends at block N and the follower reads on with the new filter),
//! invalidate cached budgets, and record
//! settlement outcomes. Every other log is matched; each match is priced and checked against the
//! trigger's budget, and recorded as a pending execution (with the exact request it will send) or
//! as skipped (with the reason). All of it — events, executions and the cursor — is written in one
//! transaction before any service runs.

use std::{
    collections::HashMap,
    sync::{Arc, RwLock},
};

use alloy::{
    primitives::{Address, B256, U256},
    rpc::types::Log,
};
use herald_connectors::evm::{BlockLogs, LogContext};
use herald_core::Event;
use herald_store::{
    Cursor, ExecutionKey, ExecutionStatus, IngestEvent, NewExecution, PendingExecution, Settlement,
    Store,
};

use herald_chain::events;

use crate::{
    budget::Budgets,
    derive::{chain_event, checked_request},
    network::{Assignment, Role},
    settler::settlement_update,
    triggers::{LoadReport, Match, TriggerSet},
};

/// Whether a log filter for `now` reads a contract the one for `before` did not (`None` reads
/// every contract).
fn widens(before: &Option<Vec<Address>>, now: &Option<Vec<Address>>) -> bool {
    match (before, now) {
        (None, _) => false,
        (Some(_), None) => true,
        (Some(before), Some(now)) => now.iter().any(|a| !before.contains(a)),
    }
}

/// The store stream of events emitted through the API.
pub const HTTP_STREAM: &str = "http";

/// The store stream of API events other keepers relayed to this one. Apart from the API's own, so
/// a restart's redispatch of the API's events (which performs every subscription that matches)
/// never takes in a relayed event: it was relayed for some subscriptions only.
pub use herald_store::RELAYED_STREAM;

/// Turns logs, and events emitted through the API, into executions.
pub struct Dispatcher {
    /// The stream's name in the store, e.g. `eip155:31337`.
    pub stream: String,
    herald: Address,
    set: Arc<RwLock<TriggerSet>>,
    budgets: Budgets,
    store: Store,
    runner_fee: U256,
    assignment: Option<Assignment>,
}

/// What one ingested range produced.
#[derive(Debug, Default)]
pub struct Ingested {
    /// Executions to run now.
    pub started: Vec<PendingExecution>,
    /// Executions skipped (not run), with the reason.
    pub skipped: Vec<(ExecutionKey, String)>,
    /// Whether the trigger set changed (the follower's address filter may need updating).
    pub triggers_changed: bool,
    /// The block (number, hash) the range was cut after, when a trigger created there watches a
    /// contract the range was read without: the follower reads on from the next block with the
    /// new address filter, or that contract's events up to the range's end would be lost.
    pub cut_after: Option<(u64, B256)>,
    /// Logs read (the connector's events in).
    pub logs: u64,
}

impl Dispatcher {
    /// A dispatcher over `set`, writing to `store`. It performs every execution itself unless
    /// given an [`Assignment`](Self::with_assignment).
    pub fn new(
        stream: String,
        herald: Address,
        set: Arc<RwLock<TriggerSet>>,
        budgets: Budgets,
        store: Store,
        runner_fee: U256,
    ) -> Self {
        Self {
            stream,
            herald,
            set,
            budgets,
            store,
            runner_fee,
            assignment: None,
        }
    }

    /// Performs only what `assignment` gives this keeper, and stands by for the rest.
    pub fn with_assignment(mut self, assignment: Assignment) -> Self {
        self.assignment = Some(assignment);
        self
    }

    /// The contracts whose logs the trigger set needs (`None`: every contract's).
    pub fn addresses(&self) -> Option<Vec<Address>> {
        self.set.read().expect("triggers").addresses(self.herald)
    }

    /// Budgets, for releasing reservations of retracted executions.
    pub fn budgets_mut(&mut self) -> &mut Budgets {
        &mut self.budgets
    }

    /// Matches, prices and records a range of blocks, and moves the cursor to `cursor`.
    pub async fn ingest(&mut self, blocks: &[BlockLogs], cursor: Cursor) -> eyre::Result<Ingested> {
        let mut events: Vec<(Event, (u64, String))> = Vec::new();
        let mut executions = Vec::new();
        let mut settlements = Vec::new();
        let mut out = Ingested::default();
        let now = jiff::Timestamp::now().as_second().max(0) as u64;
        let mut cursor = cursor;
        let read_for = self.addresses();
        for block in blocks {
            out.logs += block.logs.len() as u64;
            let mut changed = false;
            for (log, context) in &block.logs {
                if log.address() == self.herald {
                    changed |= self.herald_log(log, context, &mut settlements);
                    continue;
                }
                let matches = self.set.read().expect("triggers").matches(log, context);
                let Some(first) = matches.first() else {
                    continue;
                };
                // The follower drops logs an id cannot place, so this always holds.
                let Some(event) = chain_event(log, context, first) else {
                    continue;
                };
                for m in &matches {
                    let role = self.role(m.trigger.id, context.block_time, context.block_number);
                    executions.push(
                        self.decide(&event, m, context.block_number, now, role)
                            .await?,
                    );
                }
                events.push((
                    event,
                    (context.block_number, context.block_hash.to_string()),
                ));
            }
            out.triggers_changed |= changed;
            if changed && block.number < cursor.block && widens(&read_for, &self.addresses()) {
                cursor = Cursor {
                    block: block.number,
                    block_hash: block.hash.to_string(),
                };
                out.cut_after = Some((block.number, block.hash));
                break;
            }
        }
        let ingest: Vec<IngestEvent<'_>> = events
            .iter()
            .map(|(event, block)| IngestEvent {
                event,
                block: Some(block.clone()),
            })
            .collect();
        let stream = self.stream.clone();
        let out = self
            .record(&stream, &ingest, executions, Some(&cursor), out)
            .await?;
        if !settlements.is_empty() {
            self.store.set_settlement(&settlements).await?;
        }
        Ok(out)
    }

    /// Matches, prices and records events emitted through the API (on the HTTP connector), and
    /// moves the `http` stream's cursor past them.
    pub async fn ingest_events(&mut self, events: &[Event]) -> eyre::Result<Ingested> {
        let now = jiff::Timestamp::now().as_second().max(0) as u64;
        let mut executions = Vec::new();
        let mut matched = Vec::new();
        for event in events {
            let matches = self.set.read().expect("triggers").matches_event(event);
            if matches.is_empty() {
                continue;
            }
            for m in &matches {
                // An event posted here is seen by no other keeper: this one performs it, unless
                // the subscription is sealed to others, when it relays it to them.
                let role = self
                    .assignment
                    .as_ref()
                    .map_or(Role::Perform, |a| a.posted_role(m.trigger.id));
                executions.push(self.decide(event, m, 0, now, role).await?);
            }
            matched.push(IngestEvent { event, block: None });
        }
        let cursor = events
            .iter()
            .map(|e| e.id.position())
            .max()
            .map(|position| Cursor {
                block: position,
                block_hash: String::new(),
            });
        let out = Ingested {
            logs: events.len() as u64,
            ..Ingested::default()
        };
        self.record(HTTP_STREAM, &matched, executions, cursor.as_ref(), out)
            .await
    }

    /// Matches, prices and records an API event another keeper relayed for `triggers` (checked by
    /// the peer route: sealed to this keeper, and matching); returns what to run and the triggers
    /// recorded (pending or standby, now or before). The relaying keeper offers it to every
    /// recipient, so each takes the role its rank among them gives ([`Assignment::relayed_role`]):
    /// the first performs, the others take over if it does not settle. An execution already
    /// stored is not priced again (a relay sent again holds no second reservation of the budget).
    /// No cursor moves: a relayed event is not part of this keeper's API stream.
    pub async fn ingest_relayed(
        &mut self,
        event: &Event,
        triggers: &[u64],
    ) -> eyre::Result<(Ingested, Vec<u64>)> {
        let now = jiff::Timestamp::now().as_second().max(0) as u64;
        let event_time = event.time.as_second().max(0) as u64;
        let matches: Vec<Match> = self
            .set
            .read()
            .expect("triggers")
            .matches_event(event)
            .into_iter()
            .filter(|m| triggers.contains(&m.trigger.id))
            .collect();
        let mut executions = Vec::new();
        let mut recorded = Vec::new();
        for m in &matches {
            let key = ExecutionKey {
                trigger_id: m.trigger.id,
                event_id: event.id,
            };
            if let Some(stored) = self.store.execution(key).await? {
                if stored.status != ExecutionStatus::Skipped {
                    recorded.push(key.trigger_id);
                }
                continue;
            }
            let role = self.assignment.as_ref().map_or(Role::Perform, |a| {
                a.relayed_role(key.trigger_id, event_time)
            });
            let execution = self.decide(event, m, 0, now, role).await?;
            if execution.status != ExecutionStatus::Skipped {
                recorded.push(key.trigger_id);
            }
            executions.push(execution);
        }
        let events = if executions.is_empty() {
            Vec::new()
        } else {
            vec![IngestEvent { event, block: None }]
        };
        // Not counted as an event in: the keeper it was posted to counted it.
        let out = self
            .record(
                RELAYED_STREAM,
                &events,
                executions,
                None,
                Ingested::default(),
            )
            .await?;
        Ok((out, recorded))
    }

    /// Writes events, executions and the cursor in one transaction; fills in what to run now and
    /// what was skipped.
    async fn record(
        &self,
        stream: &str,
        events: &[IngestEvent<'_>],
        executions: Vec<NewExecution>,
        cursor: Option<&Cursor>,
        mut out: Ingested,
    ) -> eyre::Result<Ingested> {
        let started = self
            .store
            .ingest(stream, events, &executions, cursor)
            .await?;
        let mut requests: HashMap<ExecutionKey, String> = executions
            .iter()
            .filter_map(|e| Some((e.key, e.request.clone()?)))
            .collect();
        out.started = started
            .into_iter()
            .filter_map(|key| {
                Some(PendingExecution {
                    key,
                    request: requests.remove(&key)?,
                })
            })
            .collect();
        out.skipped = executions
            .into_iter()
            .filter(|e| e.status == ExecutionStatus::Skipped)
            .map(|e| (e.key, e.detail.unwrap_or_default()))
            .collect();
        Ok(out)
    }

    /// This keeper's role in a trigger's execution of a chain event at `event_time`.
    fn role(&self, trigger_id: u64, event_time: u64, block: u64) -> Role {
        self.assignment
            .as_ref()
            .map_or(Role::Perform, |a| a.role(trigger_id, event_time, block))
    }

    /// Prices one match and checks its budget: a pending execution with its request (or a standby
    /// one, when another keeper performs it), or a skipped one with the reason.
    async fn decide(
        &mut self,
        event: &Event,
        m: &Match,
        block: u64,
        now: u64,
        role: Role,
    ) -> eyre::Result<NewExecution> {
        let trigger = &m.trigger;
        let key = ExecutionKey {
            trigger_id: trigger.id,
            event_id: event.id,
        };
        let quote = self
            .budgets
            .prices(trigger.connector_type, trigger.service_type)
            .await?
            .quote(self.runner_fee, true);
        let verdict = self.budgets.admit(key, &quote, now).await?;
        let base = NewExecution {
            key,
            block,
            status: ExecutionStatus::Pending,
            request: None,
            fee: Some(quote.total.to_string()),
            detail: None,
            takeover_at: None,
        };
        let verdict = verdict
            .map_err(|refusal| refusal.to_string())
            .and_then(|()| {
                checked_request(event, m, key).map_err(|too_large| too_large.to_string())
            });
        Ok(match verdict {
            Ok(request) => NewExecution {
                request: Some(request),
                ..match role {
                    Role::Perform => base,
                    Role::Standby(takeover_at) => NewExecution {
                        status: ExecutionStatus::Standby,
                        takeover_at,
                        ..base
                    },
                }
            },
            Err(refusal) => NewExecution {
                status: ExecutionStatus::Skipped,
                detail: Some(format!("not run: {refusal}")),
                ..base
            },
        })
    }

    /// Applies one of Herald's logs; returns whether the trigger set changed.
    fn herald_log(
        &mut self,
        log: &Log,
        context: &LogContext,
        settlements: &mut Vec<(ExecutionKey, Settlement)>,
    ) -> bool {
        let Some(event) = events::decode(log) else {
            return false;
        };
        let sender = context.from;
        let mut report = LoadReport::default();
        let block = log.block_number.unwrap_or_default();
        let changed = self.set.write().expect("triggers").apply(
            &event,
            block,
            context.block_time,
            &mut report,
        );
        if let Some(assignment) = &self.assignment
            && assignment.peers.write().expect("peers").apply(&event)
        {
            tracing::info!("the registry's keepers changed");
        }
        for (id, reason) in &report.invalid {
            tracing::warn!(trigger = id, %reason, "trigger configuration refused");
        }
        for id in &report.loaded {
            tracing::info!(trigger = id, "trigger loaded");
        }
        if let Some(update) = settlement_update(&event) {
            if let (Some(assignment), Some(sender), Settlement::Settled { .. }) =
                (&self.assignment, sender, &update.1)
            {
                assignment.health.settled_by(sender, update.0.trigger_id);
            }
            self.budgets.release(update.0);
            settlements.push(update);
        } else if let Some(trigger) = events::trigger_of(&event) {
            // Its state, budget or position may have changed.
            self.budgets.invalidate(trigger);
        }
        if events::changes_prices(&event) {
            self.budgets.forget_prices();
        }
        changed
    }
}
