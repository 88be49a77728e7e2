//! The addressee's checks of a relayed API event (`POST /v1/peer/event`): exactly what it would
//! check to co-sign a receipt of it — the emitter's signature, the event's age, each
//! subscription's match and emitters — and that its own key is among each subscription's
//! envelope's recipients. The relaying keeper vouches for nothing.

use alloy::primitives::Address;
use herald_core::Event;
use herald_store::ExecutionKey;

use super::{Attestor, Rejection, evidence::Verdict};
use crate::network::protocol::{MAX_TRIGGERS_PER_RELAY, PeerHeaders, RELAY, Refusal, RelayBody};

impl Attestor {
    /// An admitted relay request's body, checked: signed by its sender, a relayed event, and
    /// the subscriptions of it this keeper may perform. No replay counter: recording an
    /// execution is idempotent, so a relayed event sent twice is performed once.
    pub fn read_relayed(
        &self,
        peer: &PeerHeaders,
        body: &[u8],
    ) -> Result<(Event, Vec<u64>), Rejection> {
        if !peer.signs_as(self.domain, RELAY, body) {
            return Err(Rejection::Unauthenticated(format!(
                "the request is not signed by {}",
                peer.from
            )));
        }
        let relay: RelayBody = serde_json::from_slice(body)
            .map_err(|e| Rejection::BadRequest(format!("the body is not a relayed event: {e}")))?;
        self.check_relayed(peer.from, &relay)
    }

    /// The event and the subscriptions of `body` this keeper may perform; refused (for good, or
    /// for now when this keeper has not read a subscription yet) when there are none.
    fn check_relayed(
        &self,
        from: Address,
        body: &RelayBody,
    ) -> Result<(Event, Vec<u64>), Rejection> {
        if body.triggers.len() > MAX_TRIGGERS_PER_RELAY {
            return Err(Rejection::TooLarge(format!(
                "{} triggers: at most {MAX_TRIGGERS_PER_RELAY} per relayed event",
                body.triggers.len()
            )));
        }
        let event = Event::from_cloudevent(&body.event)
            .map_err(|e| Rejection::BadRequest(format!("the event is not a CloudEvent: {e}")))?;
        let mut accepted = Vec::new();
        let mut refused = Vec::new();
        let mut retry = false;
        for (index, &trigger_id) in body.triggers.iter().enumerate() {
            if accepted.contains(&trigger_id) {
                continue;
            }
            let key = ExecutionKey {
                trigger_id,
                event_id: event.id,
            };
            // The two keepers disagree on the envelope when one of them has not read the latest
            // yet: "not yet", and the relaying keeper asks again until the event is too old.
            let verdict = match self.http_event(key, &body.event, &body.signature) {
                Ok(_) => match self.recipient(self.address(), trigger_id) {
                    None if self.is_sealed(trigger_id) => Verdict::Valid,
                    None => Verdict::NotYet(format!(
                        "trigger {trigger_id} is not sealed here: the keeper it was posted to \
                         performs it"
                    )),
                    Some(not_mine) => Verdict::NotYet(not_mine),
                },
                Err(verdict) => verdict,
            };
            match verdict {
                Verdict::Valid => accepted.push(trigger_id),
                Verdict::Invalid(reason) => refused.push((index, reason)),
                Verdict::NotYet(reason) => {
                    retry = true;
                    refused.push((index, reason));
                }
            }
        }
        if accepted.is_empty() {
            return Err(Rejection::Refused(Refusal {
                error: format!(
                    "{} relayed event {} for none of the triggers this keeper may perform",
                    from, event.id
                ),
                receipts: refused,
                retry,
            }));
        }
        for (index, reason) in &refused {
            tracing::info!(%from, event = %event.id, trigger = body.triggers[*index], %reason,
                "a relayed trigger refused");
        }
        Ok((event, accepted))
    }

    /// Whether `trigger_id` has sealed secrets (its latest envelope names its recipients).
    fn is_sealed(&self, trigger_id: u64) -> bool {
        self.triggers
            .read()
            .expect("triggers")
            .sealed_to(trigger_id, None)
            .is_some()
    }
}
