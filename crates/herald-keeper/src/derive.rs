//! What performer and co-signer derive alike from an event and a trigger: the event a chain log
//! becomes, the service request a match sends, and what an execution's result commits to. Both
//! sides call these same functions on the same inputs, so a receipt a co-signer checks is the one
//! the performer built; nothing here reads a clock, the store or the network.

use std::collections::{BTreeMap, BTreeSet};

use alloy::{
    primitives::{B256, keccak256},
    rpc::types::Log,
};
use herald_connectors::evm::LogContext;
use herald_core::Event;
use herald_store::ExecutionKey;
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use crate::triggers::Match;

/// A service call as stored with its execution.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ServiceRequest {
    /// The service's name (e.g. `webhook`).
    pub service: String,
    /// The endpoint, templates rendered.
    pub endpoint: String,
    /// Extra headers from the trigger. A value may hold `{{ secrets.name }}` references, kept as
    /// written: the runner substitutes them just before sending (see `secret_headers`).
    #[serde(default)]
    pub headers: BTreeMap<String, String>,
    /// The headers whose values reference the trigger's sealed secrets. Only these are
    /// substituted, and only the trigger's author can put a header here (the spec refuses secret
    /// references next to event templates), so event data can never send a secret anywhere.
    #[serde(default, skip_serializing_if = "BTreeSet::is_empty")]
    pub secret_headers: BTreeSet<String>,
    /// The JSON body.
    pub body: Value,
}

/// Tags the keccak256 preimages of a result's commitment start with, so that no hash made for
/// anything else in Herald (or for the other tag) can pass for one of these.
const REQUEST_TAG: &[u8] = b"herald/result/request/v1";
const HEADER_VALUE_TAG: &[u8] = b"herald/result/header-value/v1";

/// Why a result is not one of a given request.
#[derive(Debug, PartialEq, Eq, thiserror::Error)]
pub enum ResultMismatch {
    /// The commitment or the body differ. Which one cannot be told: the commitment is a hash.
    #[error(
        "the result does not commit to the request (endpoint, headers, body) this trigger sends \
         for this event"
    )]
    OtherRequest,
    /// What follows the request is neither nothing nor a 2-byte status.
    #[error("the result's status is not 2 bytes")]
    Status,
}

impl ServiceRequest {
    /// The bytes an execution's result starts with: everything this request is, so that a
    /// co-signer who derives the request itself can tell whether the performer sent exactly it.
    ///
    /// Layout (the receipt's `resultHash` is keccak256 of the whole result):
    ///
    /// ```text
    /// result     = commitment ‖ body ‖ status
    /// commitment = keccak256(REQUEST_TAG ‖ str(service) ‖ str(endpoint) ‖ u64(header count)
    ///                        ‖ for each header, by name (bytewise): str(name) ‖ value_hash)  32 bytes
    /// value_hash = keccak256(HEADER_VALUE_TAG ‖ u64(trigger id) ‖ event id (32 bytes) ‖ value)
    /// body       = the JSON body exactly as sent (serde_json, compact)
    /// status     = the last HTTP status, u16 big-endian (0: no answer); absent when the request
    ///              was refused before any attempt
    /// str(x)     = u64(byte length of x) ‖ x (UTF-8);  u64 = 8 bytes big-endian
    /// REQUEST_TAG = "herald/result/request/v1", HEADER_VALUE_TAG = "herald/result/header-value/v1"
    /// ```
    ///
    /// Service, endpoint and headers sit behind a fixed-width hash so the body and status stay
    /// readable. Header values are hashed again on their own, salted with the execution key, so
    /// the result never holds one in the clear (they may carry credentials): an auditor given the
    /// trigger's service, endpoint and header names plus each value's hash can recompute the
    /// commitment without seeing a value, and equal values hash differently in every execution.
    pub fn committed(&self, key: ExecutionKey) -> Vec<u8> {
        let body = serde_json::to_vec(&self.body).expect("a JSON value always serialises");
        [self.commitment(key).as_slice(), &body].concat()
    }

    /// The result of sending this request: [`committed`](Self::committed), then `status` (see
    /// there); `None` when the request was refused before any attempt.
    pub fn result(&self, key: ExecutionKey, status: Option<u16>) -> Vec<u8> {
        let mut result = self.committed(key);
        if let Some(status) = status {
            result.extend_from_slice(&status.to_be_bytes());
        }
        result
    }

    /// The status `result` reports for this request (`None`: refused before any attempt), if
    /// it is a result of this request at all.
    pub fn reported_status(
        &self,
        key: ExecutionKey,
        result: &[u8],
    ) -> Result<Option<u16>, ResultMismatch> {
        match result.strip_prefix(self.committed(key).as_slice()) {
            None => Err(ResultMismatch::OtherRequest),
            Some([]) => Ok(None),
            Some([hi, lo]) => Ok(Some(u16::from_be_bytes([*hi, *lo]))),
            Some(_) => Err(ResultMismatch::Status),
        }
    }

    /// The fixed-width part of [`committed`](Self::committed): service, endpoint and headers.
    fn commitment(&self, key: ExecutionKey) -> B256 {
        let mut preimage = REQUEST_TAG.to_vec();
        put_str(&mut preimage, &self.service);
        put_str(&mut preimage, &self.endpoint);
        preimage.extend_from_slice(&(self.headers.len() as u64).to_be_bytes());
        // A BTreeMap iterates by name, bytewise: performer and co-signer hash in one order.
        for (name, value) in &self.headers {
            put_str(&mut preimage, name);
            preimage.extend_from_slice(header_value_hash(key, value).as_slice());
        }
        keccak256(preimage)
    }
}

/// A header value as a result commits to it: salted with the execution key, which performer and
/// co-signer both know, so that one value gives a different hash in every execution.
pub fn header_value_hash(key: ExecutionKey, value: &str) -> B256 {
    keccak256(
        [
            HEADER_VALUE_TAG,
            &key.trigger_id.to_be_bytes(),
            key.event_id.as_bytes().as_slice(),
            value.as_bytes(),
        ]
        .concat(),
    )
}

/// Appends `text` length-prefixed, so that no two sequences of strings give one preimage.
fn put_str(preimage: &mut Vec<u8>, text: &str) {
    preimage.extend_from_slice(&(text.len() as u64).to_be_bytes());
    preimage.extend_from_slice(text.as_bytes());
}

/// The event a matched log becomes; `None` when the log's position does not fit an event id.
pub(crate) fn chain_event(log: &Log, context: &LogContext, first: &Match) -> Option<Event> {
    let address = log.address();
    let mut event = Event::new(
        "evm.log",
        format!("eip155:{}/{address:#x}", context.chain_id),
        (*first.payload).clone(),
    );
    event.id = herald_connectors::evm::EventAbi::event_id(address, log.data(), context)?;
    event.subject = Some(context.transaction_hash.to_string());
    if let Ok(time) = jiff::Timestamp::from_second(context.block_time as i64) {
        event.time = time;
    }
    Some(event)
}

/// The largest request a keeper stores and sends, as JSON: the event's payload and the rendered data.
/// A match whose request would be larger is skipped, with the reason, rather than run.
pub(crate) const MAX_REQUEST_BYTES: usize = 1024 * 1024;

/// Why a match's request is not built.
#[derive(Debug, thiserror::Error)]
pub(crate) enum RequestTooLarge {
    /// The trigger's templates render too much from this event.
    #[error("request not built: {0}")]
    Data(#[from] herald_spec::RenderTooLarge),
    /// The event and the data together exceed [`MAX_REQUEST_BYTES`].
    #[error("request not built: it is {size} bytes, above the keeper's {MAX_REQUEST_BYTES}")]
    Body {
        /// The request's size as JSON.
        size: usize,
    },
}

/// [`request`] as stored: JSON, within [`MAX_REQUEST_BYTES`].
pub(crate) fn checked_request(
    event: &Event,
    m: &Match,
    key: ExecutionKey,
) -> Result<String, RequestTooLarge> {
    let text =
        serde_json::to_string(&request(event, m, key)?).expect("a JSON value always serialises");
    if text.len() > MAX_REQUEST_BYTES {
        return Err(RequestTooLarge::Body { size: text.len() });
    }
    Ok(text)
}

/// The webhook a match sends: the event (as its trigger's source decoded it) and the trigger's
/// data, templates rendered within [`herald_spec::MAX_RENDERED_BYTES`]. `endpoint` and `headers`
/// configure the request and are not echoed in the body (headers may carry credentials); the
/// result still commits to them ([`ServiceRequest::committed`]). Performer and co-signer both
/// derive it here, so a co-signer never renders more than a performer could, and both know the
/// whole request a receipt must commit to.
pub(crate) fn request(
    event: &Event,
    m: &Match,
    key: ExecutionKey,
) -> Result<ServiceRequest, RequestTooLarge> {
    let data = herald_spec::render_data_within(
        &m.trigger.data,
        &m.payload,
        herald_spec::MAX_RENDERED_BYTES,
    )?;
    Ok(request_from(event, m, key, data))
}

fn request_from(event: &Event, m: &Match, key: ExecutionKey, data: Value) -> ServiceRequest {
    let endpoint = data
        .get("endpoint")
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_string();
    let headers = data
        .get("headers")
        .and_then(Value::as_object)
        .map(|h| {
            h.iter()
                .map(|(k, v)| {
                    let value = v.as_str().map_or_else(|| v.to_string(), str::to_string);
                    (k.clone(), value)
                })
                .collect()
        })
        .unwrap_or_default();
    let secret_headers = m
        .trigger
        .data
        .get("headers")
        .and_then(Value::as_object)
        .map(|h| {
            h.iter()
                .filter(|(_, v)| v.as_str().is_some_and(herald_spec::references_secret))
                .map(|(k, _)| k.clone())
                .collect()
        })
        .unwrap_or_default();
    let mut body_data = data;
    if let Some(object) = body_data.as_object_mut() {
        object.remove("endpoint");
        object.remove("headers");
    }
    let mut cloud = event.to_cloudevent();
    cloud["data"] = (*m.payload).clone();
    ServiceRequest {
        service: m.trigger.service.clone(),
        endpoint,
        headers,
        secret_headers,
        body: json!({
            "id": key.to_string(),
            "trigger": m.trigger.id,
            "event": cloud,
            "data": body_data,
        }),
    }
}

#[cfg(test)]
mod tests {
    use herald_core::EventId;
    use serde_json::json;

    use super::*;

    /// A credential, as a header value may carry one.
    const TOKEN: &str = "Bearer sk-live-5f1d2c3b4a";

    fn key() -> ExecutionKey {
        ExecutionKey {
            trigger_id: 7,
            event_id: EventId::from_bytes(B256::repeat_byte(0x11)),
        }
    }

    fn request() -> ServiceRequest {
        ServiceRequest {
            service: "webhook".into(),
            endpoint: "https://receiver.example/hook".into(),
            headers: BTreeMap::from([
                ("authorization".into(), TOKEN.into()),
                ("x-team".into(), "blue-team-42".into()),
            ]),
            secret_headers: BTreeSet::new(),
            body: json!({"id": "7:0x11", "data": {"amount": "42"}}),
        }
    }

    fn contains(haystack: &[u8], needle: &[u8]) -> bool {
        haystack.windows(needle.len()).any(|w| w == needle)
    }

    #[test]
    fn changing_any_part_of_the_request_changes_what_the_result_commits_to() {
        type Change = (&'static str, fn(&mut ServiceRequest));
        let changes: [Change; 6] = [
            ("the endpoint", |r| r.endpoint.push_str("?elsewhere")),
            ("a header name", |r| {
                let value = r.headers.remove("x-team").expect("x-team");
                r.headers.insert("x-teams".into(), value);
            }),
            ("a header value", |r| {
                r.headers
                    .insert("authorization".into(), "Bearer other".into());
            }),
            ("an added header", |r| {
                r.headers.insert("x-extra".into(), String::new());
            }),
            ("the body", |r| r.body["data"]["amount"] = json!("43")),
            // Length prefixes: moving bytes from one field to the next is a change too.
            ("the service/endpoint boundary", |r| {
                r.service = "webhookhttps:".into();
                r.endpoint = "//receiver.example/hook".into();
            }),
        ];
        let honest = request();
        for (what, change) in changes {
            let mut other = request();
            change(&mut other);
            assert_ne!(other.committed(key()), honest.committed(key()), "{what}");
            assert_eq!(
                honest.reported_status(key(), &other.result(key(), Some(200))),
                Err(ResultMismatch::OtherRequest),
                "a result for a request with another {what} passed for the trigger's"
            );
        }
    }

    #[test]
    fn a_result_never_holds_a_header_value_in_the_clear() {
        for status in [None, Some(0), Some(200), Some(503)] {
            let result = request().result(key(), status);
            for value in request().headers.values() {
                assert!(
                    !contains(&result, value.as_bytes()),
                    "{value} in {status:?}"
                );
            }
        }
        // Salted with the execution key: one value hashes differently in another execution.
        let other = ExecutionKey {
            trigger_id: 8,
            ..key()
        };
        assert_ne!(
            header_value_hash(key(), TOKEN),
            header_value_hash(other, TOKEN)
        );
    }

    #[test]
    fn the_result_is_the_documented_layout() {
        let r = request();
        let str_ = |s: &str| [&(s.len() as u64).to_be_bytes(), s.as_bytes()].concat();
        let value_hash = |value: &str| {
            keccak256(
                [
                    b"herald/result/header-value/v1".as_slice(),
                    &7u64.to_be_bytes(),
                    &[0x11; 32],
                    value.as_bytes(),
                ]
                .concat(),
            )
        };
        let commitment = keccak256(
            [
                b"herald/result/request/v1".as_slice(),
                &str_("webhook"),
                &str_("https://receiver.example/hook"),
                &2u64.to_be_bytes(),
                &str_("authorization"),
                value_hash(TOKEN).as_slice(),
                &str_("x-team"),
                value_hash("blue-team-42").as_slice(),
            ]
            .concat(),
        );
        let body = serde_json::to_vec(&r.body).expect("json");
        let expected = [commitment.as_slice(), &body, &204u16.to_be_bytes()].concat();
        assert_eq!(r.result(key(), Some(204)), expected);
    }

    #[test]
    fn the_status_is_read_back_and_anything_else_refused() {
        let r = request();
        for status in [None, Some(0), Some(200), Some(404)] {
            assert_eq!(
                r.reported_status(key(), &r.result(key(), status)),
                Ok(status)
            );
        }
        let mut long = r.result(key(), Some(200));
        long.push(0);
        assert_eq!(r.reported_status(key(), &long), Err(ResultMismatch::Status));
        // The layout before the commitment (body, then status) is another request's result.
        let body_then_status = [
            serde_json::to_vec(&r.body).expect("json").as_slice(),
            &200u16.to_be_bytes(),
        ]
        .concat();
        assert_eq!(
            r.reported_status(key(), &body_then_status),
            Err(ResultMismatch::OtherRequest)
        );
    }
}
