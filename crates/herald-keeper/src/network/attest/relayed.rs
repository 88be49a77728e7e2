//! The addressee's checks of a relayed API event (`POST /v1/peer/event`): exactly what it would
//! check to co-sign a receipt of it — the emitter's signature, the event's age, each
//! subscription's match and emitters — and that its own key is among each subscription's
//! envelope's recipients. The relaying keeper vouches for nothing.

use alloy::primitives::Address;
use herald_core::Event;

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
        // One signature check for the event, then a match per trigger.
        let emitter = self.emitter_of(&event, &body.signature).map_err(|reason| {
            Rejection::Refused(Refusal {
                error: format!("{from} relayed an event this keeper does not sign for: {reason}"),
                receipts: Vec::new(),
                retry: false,
            })
        })?;
        let me = self.address();
        let mut accepted = Vec::new();
        let mut refused = Vec::new();
        let mut retry = false;
        for (index, &trigger_id) in body.triggers.iter().enumerate() {
            if accepted.contains(&trigger_id) {
                continue;
            }
            let verdict = match self.http_match(trigger_id, &event, emitter) {
                Ok(_) => self.relayed_to_me(trigger_id, me),
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

    /// Whether `me` may perform `trigger_id`'s relayed event: its latest envelope names it. When
    /// the two keepers disagree on the envelope, one of them has not read the latest yet: "not
    /// yet", and the relaying keeper asks again until the event is too old.
    fn relayed_to_me(&self, trigger_id: u64, me: Address) -> Verdict {
        match self
            .triggers
            .read()
            .expect("triggers")
            .sealed_to(trigger_id, None)
        {
            Some(recipients) if recipients.contains(&me) => Verdict::Valid,
            Some(_) => Verdict::NotYet(format!(
                "{me} is not one of the keepers trigger {trigger_id}'s secrets are sealed to"
            )),
            None => Verdict::NotYet(format!(
                "trigger {trigger_id} is not sealed here: the keeper it was posted to performs it"
            )),
        }
    }
}
