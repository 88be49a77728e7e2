//! Running a service for an execution: today, the webhook service.
//!
//! The request is built once, at ingestion, and stored with the execution; the runner sends exactly
//! that, so a retry after a crash carries the same `webhook-id` and the same body.
//!
//! Fee policy for failures: an execution whose webhook still fails after the last attempt (or whose
//! target is refused) is settled with `success = false`. The trigger pays the connector's developer,
//! the operator, the runner and the protocol's share of those — the event was observed and the
//! delivery attempted — but not the service's developer.

use std::collections::BTreeMap;

use alloy::primitives::{Address, U256, keccak256};
use herald_services::{Delivery, WebhookClient, WebhookRequest, WebhookSecret};
use herald_store::{ExecutionKey, ExecutionStatus, Finished};
use serde::{Deserialize, Serialize};
use serde_json::Value;

/// A service call as stored with its execution.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ServiceRequest {
    /// The service's name (e.g. `webhook`).
    pub service: String,
    /// The endpoint, templates rendered.
    pub endpoint: String,
    /// Extra headers from the trigger.
    #[serde(default)]
    pub headers: BTreeMap<String, String>,
    /// The JSON body.
    pub body: Value,
}

/// Runs services and reports how each execution ended.
#[derive(Clone, Debug)]
pub struct Runner {
    client: WebhookClient,
    secrets: SecretSource,
    runner_fee: U256,
}

/// Where per-trigger webhook secrets come from: derived from the keeper's seed, per deployment.
#[derive(Clone)]
pub struct SecretSource {
    seed: Vec<u8>,
    chain_id: u64,
    herald: Address,
}

impl std::fmt::Debug for SecretSource {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("SecretSource(***)")
    }
}

impl SecretSource {
    /// Secrets derived from `seed` for the deployment `herald` on `chain_id`.
    pub fn new(seed: Vec<u8>, chain_id: u64, herald: Address) -> Self {
        Self {
            seed,
            chain_id,
            herald,
        }
    }

    /// The `whsec_` secret a trigger's webhooks are signed with.
    pub fn for_trigger(&self, trigger_id: u64) -> WebhookSecret {
        let context = format!(
            "herald/webhook/v1/{}/{:#x}/{trigger_id}",
            self.chain_id, self.herald
        );
        WebhookSecret::derive(&self.seed, context.as_bytes())
    }
}

impl Runner {
    /// A runner delivering with `client`, charging `runner_fee` per execution.
    pub fn new(client: WebhookClient, secrets: SecretSource, runner_fee: U256) -> Self {
        Self {
            client,
            secrets,
            runner_fee,
        }
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
        let id = key.to_string();
        let secret = self.secrets.for_trigger(key.trigger_id);
        let delivery = self
            .client
            .deliver(&WebhookRequest {
                endpoint: &request.endpoint,
                headers: &request.headers,
                body: &request.body,
                id: &id,
                secret: &secret,
            })
            .await;
        // The result the receipt commits to: what was sent and how the receiver answered.
        let sent = serde_json::to_vec(&request.body).unwrap_or_default();
        match delivery {
            Ok(Delivery::Delivered { status, attempts }) => finished(
                ExecutionStatus::Succeeded,
                attempts,
                &[sent.as_slice(), &status.to_be_bytes()].concat(),
                Some(format!("delivered: HTTP {status}")),
            ),
            Ok(Delivery::Failed {
                attempts,
                last_status,
                detail,
            }) => finished(
                ExecutionStatus::Failed,
                attempts,
                &[sent.as_slice(), &last_status.unwrap_or(0).to_be_bytes()].concat(),
                Some(match last_status {
                    Some(status) => {
                        format!("failed after {attempts} attempts: HTTP {status}: {detail}")
                    }
                    None => format!("failed after {attempts} attempts: {detail}"),
                }),
            ),
            Err(refused) => finished(
                ExecutionStatus::Failed,
                0,
                &sent,
                Some(format!("refused: {refused}")),
            ),
        }
    }
}
