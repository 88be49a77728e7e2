//! Relaying API events: an emitter posts an event to one keeper, and only the keepers a sealed
//! subscription's envelope names can perform it (only they can open its credentials and its
//! webhook secret). Every other keeper records such an execution as standby, due at once, and
//! relays the emitter-signed event to every active recipient (`POST /v1/peer/event`, signed as
//! every peer request is). Each recipient checks it as it would check a receipt of it, records
//! the execution in the role its rank among the recipients gives (the first performs, the next
//! take over), and only then answers. Until a recipient has answered, the standby row stays due
//! and is relayed again (after the takeover timeout), across restarts too; once one has, the row
//! is skipped here with where it went: this keeper never performs it, so it must not hold back
//! the trigger's later receipts while it waits for a settlement that is not its own.
//!
//! An event older than co-signers sign for ([`COSIGN_MAX_AGE_MS`]) can no longer settle: one no
//! recipient took by then, or every recipient refused for good, is skipped with the reasons.

use std::collections::HashSet;

use alloy::{primitives::Address, signers::local::PrivateKeySigner};
use herald_api::signing::{COSIGN_MAX_AGE_MS, signature_of, time_ms};
use herald_core::Event;
use herald_services::Outbound;
use herald_store::{ExecutionKey, Store, StoreError};
use tokio::sync::oneshot;

use super::{
    Assignment,
    attest::now_ms,
    client::read_json,
    protocol::{Domain, PeerHeaders, RELAY, Refusal, RelayAnswer, RelayBody},
};

/// A relayed event the peer route checked, for the main loop to record: the subscriptions of it
/// this keeper performs. `done` is answered once they are stored (or could not be).
#[derive(Debug)]
pub struct Relayed {
    /// The event, as its emitter signed it.
    pub event: Event,
    /// The subscriptions to perform.
    pub triggers: Vec<u64>,
    /// Told, once they are stored, which of them are recorded (pending or standby).
    pub done: oneshot::Sender<Result<Vec<u64>, String>>,
}

/// Most relays one round of the takeover task makes: each may wait on a slow recipient, and the
/// round also runs the chain events' takeovers. The rest stay due for the next round.
const MAX_RELAYS_PER_ROUND: usize = 32;

/// Why a recipient did not take a relayed event.
enum Refused {
    /// It could not be reached (it is not dialed again this round).
    Unreachable(String),
    /// It may take it later (busy, behind, stopping).
    ForNow(String),
    /// It never will (the event or the request is wrong for it).
    ForGood(String),
}

/// Hands API events to the keepers their sealed subscriptions name.
#[derive(Clone)]
pub struct Relayer {
    signer: PrivateKeySigner,
    domain: Domain,
    store: Store,
    assignment: Assignment,
    http: Outbound,
}

/// What became of one relay.
enum Outcome {
    /// Recipients recorded it.
    Taken(Vec<Address>),
    /// Every recipient refused it for good, with their reasons.
    Refused(Vec<String>),
    /// No recipient could be reached or took it for now, with the reasons.
    Later(Vec<String>),
}

impl Relayer {
    /// Relays as `signer`, through `http` (peers' endpoints are theirs to choose: it checks
    /// where it dials).
    pub fn new(
        signer: PrivateKeySigner,
        domain: Domain,
        store: Store,
        assignment: Assignment,
        http: Outbound,
    ) -> Self {
        Self {
            signer,
            domain,
            store,
            assignment,
            http,
        }
    }

    /// Relays the due standby executions of API events in `due` (each one's trigger is sealed to
    /// other keepers), at most [`MAX_RELAYS_PER_ROUND`], recording what became of each.
    pub async fn relay(&self, due: &[ExecutionKey]) -> Result<(), StoreError> {
        // Recipients that could not be reached this round are not dialed again in it: a
        // recipient that is down would otherwise cost every relay a connection timeout.
        let mut unreachable = HashSet::new();
        for key in due.iter().take(MAX_RELAYS_PER_ROUND) {
            let Some((event, _)) = self.store.event(&key.event_id).await? else {
                self.end(key, "not relayed: the event is not stored")
                    .await?;
                continue;
            };
            let expired = || now_ms().saturating_sub(time_ms(&event)) > COSIGN_MAX_AGE_MS;
            if expired() {
                let detail = format!(
                    "not relayed: older than the {} s co-signers sign for",
                    COSIGN_MAX_AGE_MS / 1_000
                );
                self.end(key, &detail).await?;
                continue;
            }
            let detail = match self.relay_one(key, &event, &mut unreachable).await {
                Outcome::Taken(to) => {
                    let to: Vec<String> = to.iter().map(ToString::to_string).collect();
                    tracing::info!(execution = %key, to = %to.join(", "), "API event relayed");
                    self.end(key, &format!(
                        "relayed to {}, which the subscription is sealed to: not performed here",
                        to.join(", ")
                    ))
                    .await?;
                    continue;
                }
                Outcome::Refused(reasons) => {
                    format!("not relayed: refused by {}", reasons.join("; "))
                }
                Outcome::Later(reasons) if expired() => format!(
                    "not relayed within {} s: {}",
                    COSIGN_MAX_AGE_MS / 1_000,
                    reasons.join("; ")
                ),
                Outcome::Later(reasons) => {
                    tracing::warn!(execution = %key, reasons = %reasons.join("; "),
                        "relaying an API event: trying again later");
                    let again = now_ms() + self.assignment.takeover_timeout.as_millis() as u64;
                    self.store.postpone_takeovers(&[(*key, again)]).await?;
                    continue;
                }
            };
            tracing::warn!(execution = %key, %detail, "API event not relayed");
            self.end(key, &detail).await?;
        }
        Ok(())
    }

    /// Ends a relay: skipped here, with `detail`, and never taken over.
    async fn end(&self, key: &ExecutionKey, detail: &str) -> Result<(), StoreError> {
        self.store.skip_standby(key, detail).await.map(drop)
    }

    /// Offers `key`'s event to every recipient but those in `unreachable` (each records it in the
    /// role its rank gives it); adds those it cannot reach to `unreachable`.
    async fn relay_one(
        &self,
        key: &ExecutionKey,
        event: &Event,
        unreachable: &mut HashSet<Address>,
    ) -> Outcome {
        let Some(signature) = signature_of(event) else {
            return Outcome::Refused(vec![
                "this keeper: the event carries no emitter signature".into(),
            ]);
        };
        let recipients = self.assignment.recipients(key.trigger_id);
        if recipients.is_empty() {
            return Outcome::Later(vec![format!(
                "no active keeper that trigger {}'s secrets are sealed to has an endpoint",
                key.trigger_id
            )]);
        }
        let body = RelayBody {
            event: event.to_cloudevent(),
            signature,
            triggers: vec![key.trigger_id],
        };
        let Ok(body) = serde_json::to_vec(&body) else {
            return Outcome::Refused(vec!["this keeper: the event does not serialize".into()]);
        };
        let (mut taken, mut refused, mut later) = (Vec::new(), Vec::new(), Vec::new());
        for (to, endpoint) in recipients {
            if unreachable.contains(&to) {
                later.push(format!("{to}: unreachable"));
                continue;
            }
            match self.offer(to, &endpoint, &body).await {
                Ok(answer) if answer.keeper == to && answer.accepted.contains(&key.trigger_id) => {
                    taken.push(to);
                }
                Ok(answer) => refused.push(format!(
                    "{to}: answered for {} and triggers {:?}",
                    answer.keeper, answer.accepted
                )),
                Err(Refused::Unreachable(reason)) => {
                    unreachable.insert(to);
                    later.push(reason);
                }
                Err(Refused::ForNow(reason)) => later.push(reason),
                Err(Refused::ForGood(reason)) => refused.push(reason),
            }
        }
        if !taken.is_empty() {
            Outcome::Taken(taken)
        } else if later.is_empty() {
            Outcome::Refused(refused)
        } else {
            later.extend(refused);
            Outcome::Later(later)
        }
    }

    /// Sends the relay request `body` to `to`; its answer, or why there is none.
    async fn offer(
        &self,
        to: Address,
        endpoint: &str,
        body: &[u8],
    ) -> Result<RelayAnswer, Refused> {
        let url = format!("{}/v1/peer/event", endpoint.trim_end_matches('/'));
        let headers = PeerHeaders::signed(&self.signer, self.domain, RELAY, to, now_ms(), body)
            .map_err(|e| Refused::ForNow(format!("signing for {to}: {e}")))?;
        let post = self
            .http
            .post(&url)
            .map_err(|e| Refused::ForGood(format!("{to} at {url}: {e}")))?
            .headers(headers.to_header_map())
            .body(body.to_vec());
        let response = self
            .http
            .send(post)
            .await
            .map_err(|e| Refused::Unreachable(format!("{to} at {url}: {e}")))?;
        let status = response.status();
        let answer = read_json::<serde_json::Value>(response).await;
        if status.is_success() {
            return answer
                .and_then(|a| serde_json::from_value(a).map_err(|e| e.to_string()))
                .map_err(|e| Refused::ForNow(format!("{to}: unreadable answer: {e}")));
        }
        let refusal = serde_json::from_value::<Refusal>(answer.unwrap_or_default());
        // Only a request the recipient read and judged wrong is refused for good; the rest
        // (busy, behind on the registry or the triggers, stopping) may pass later, and the
        // event's age bounds how long it is offered.
        let judged = matches!(status.as_u16(), 400 | 413 | 422);
        let retry = !judged || refusal.as_ref().is_ok_and(|r| r.retry);
        let error = match refusal {
            Ok(refusal) => format!("{to} ({status}): {}: {:?}", refusal.error, refusal.receipts),
            Err(_) => format!("{to} ({status}): an unreadable refusal"),
        };
        Err(if retry {
            Refused::ForNow(error)
        } else {
            Refused::ForGood(error)
        })
    }
}
