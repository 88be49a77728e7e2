//! Running a service for an execution: today, the webhook service.
//!
//! The request is built once, at ingestion, and stored with the execution; the runner sends exactly
//! that, so a retry after a crash carries the same `webhook-id` and the same body.
//!
//! Fee policy for failures: an execution whose webhook still fails after the last attempt (or whose
//! target is refused) is settled with `success = false`. The trigger pays the connector's developer,
//! the operator, the runner and the protocol's share of those — the event was observed and the
//! delivery attempted — but not the service's developer.

use std::{
    collections::{BTreeMap, BTreeSet},
    sync::Arc,
};

use alloy::primitives::{B256, U256, keccak256};
use herald_services::{Delivery, WebhookClient, WebhookRequest};
use herald_store::{ExecutionKey, ExecutionStatus, Finished};
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::{
    conduct::{Conduct, Honest},
    secrets::Unsealer,
};

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

/// Runs services and reports how each execution ended.
#[derive(Clone, Debug)]
pub struct Runner {
    client: WebhookClient,
    secrets: Unsealer,
    runner_fee: U256,
    conduct: Arc<dyn Conduct>,
}

impl Runner {
    /// A runner delivering with `client`, opening triggers' secrets with `secrets`, charging
    /// `runner_fee` per execution.
    pub fn new(client: WebhookClient, secrets: Unsealer, runner_fee: U256) -> Self {
        Self {
            client,
            secrets,
            runner_fee,
            conduct: Arc::new(Honest),
        }
    }

    /// Delivers as `conduct` decides (see [`Conduct`]).
    pub fn with_conduct(mut self, conduct: Arc<dyn Conduct>) -> Self {
        self.conduct = conduct;
        self
    }

    /// Runs one execution's stored request.
    pub async fn run(&self, key: ExecutionKey, request: &str) -> Finished {
        let finished = |status, attempts, result: &[u8], detail: Option<String>| Finished {
            key,
            status,
            attempts,
            result_hash: keccak256(result).to_string(),
            result: alloy::primitives::Bytes::copy_from_slice(result).to_string(),
            detail,
            executed_at: jiff::Timestamp::now().as_second().max(0) as u64,
            runner_fee: self.runner_fee.to_string(),
        };
        let request: ServiceRequest = match serde_json::from_str(request) {
            Ok(request) => request,
            Err(e) => {
                return finished(
                    ExecutionStatus::Failed,
                    0,
                    b"",
                    Some(format!("stored request unreadable: {e}")),
                );
            }
        };
        if request.service != "webhook" {
            return finished(
                ExecutionStatus::Failed,
                0,
                b"",
                Some(format!(
                    "service {:?} is not run by this keeper",
                    request.service
                )),
            );
        }
        let request = self.conduct.delivers(request);
        let id = key.to_string();
        // Opened for this delivery only; results commit to the references, never the values.
        let refused = |reason: String| {
            finished(
                ExecutionStatus::Failed,
                0,
                &request.result(key, None),
                Some(format!("refused: {reason}")),
            )
        };
        let block = key.event_id.log_position().map(|p| p.block_number);
        let secrets = match self.secrets.open(key.trigger_id, block) {
            Ok(secrets) => secrets,
            // Not performed, so not settled and not billed: a keeper the trigger is sealed to
            // (next in its ranking) takes it over, or the owner reseals.
            Err(e) => {
                let detail = Some(format!("not run: {e}"));
                return finished(ExecutionStatus::Skipped, 0, b"", detail);
            }
        };
        let mut headers = request.headers.clone();
        for name in &request.secret_headers {
            let Some(value) = headers.get_mut(name) else {
                continue;
            };
            match herald_spec::substitute_secrets(value, |n| secrets.get(n)) {
                Ok(substituted) => *value = substituted,
                Err(missing) => return refused(format!("header `{name}`: {missing}")),
            }
        }
        let delivery = self
            .client
            .deliver(&WebhookRequest {
                endpoint: &request.endpoint,
                headers: &headers,
                body: &request.body,
                id: &id,
                secret: secrets.webhook(),
            })
            .await;
        drop(headers);
        // A receiver's error body may echo the headers it got: keep nothing secret of it.
        let delivery = delivery.map(|d| match d {
            Delivery::Failed {
                attempts,
                last_status,
                detail,
            } => Delivery::Failed {
                attempts,
                last_status,
                detail: secrets.redact(&detail),
            },
            delivered => delivered,
        });
        let delivery = delivery.map_err(|e| secrets.redact(&e.to_string()));
        // The result the receipt commits to: what was sent and how the receiver answered.
        match delivery {
            Ok(Delivery::Delivered { status, attempts }) => finished(
                ExecutionStatus::Succeeded,
                attempts,
                &request.result(key, Some(status)),
                Some(format!("delivered: HTTP {status}")),
            ),
            Ok(Delivery::Failed {
                attempts,
                last_status,
                detail,
            }) => finished(
                ExecutionStatus::Failed,
                attempts,
                &request.result(key, Some(last_status.unwrap_or(0))),
                Some(match last_status {
                    Some(status) => {
                        format!("failed after {attempts} attempts: HTTP {status}: {detail}")
                    }
                    None => format!("failed after {attempts} attempts: {detail}"),
                }),
            ),
            Err(reason) => refused(reason),
        }
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
