//! Running a service for an execution: today, the webhook service.
//!
//! The request is built once, at ingestion, and stored with the execution; the runner sends exactly
//! that, so a retry after a crash carries the same `webhook-id` and the same body.
//!
//! Fee policy for failures: an execution whose webhook still fails after the last attempt (or whose
//! target is refused) is settled with `success = false`. The trigger pays the connector's developer,
//! the operator, the runner and the protocol's share of those — the event was observed and the
//! delivery attempted — but not the service's developer.

use std::sync::Arc;

use alloy::primitives::{U256, keccak256};
use herald_services::{Delivery, WebhookClient, WebhookRequest};
use herald_store::{ExecutionKey, ExecutionStatus, Finished};

use crate::{
    conduct::{Conduct, Honest},
    derive::ServiceRequest,
    secrets::Unsealer,
};

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
            result_hash: keccak256(result),
            result: alloy::primitives::Bytes::copy_from_slice(result),
            detail,
            executed_at: jiff::Timestamp::now().as_second().max(0) as u64,
            runner_fee: self.runner_fee,
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
