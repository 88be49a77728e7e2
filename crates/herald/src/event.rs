//! `herald event define | emit`: an event type and its events on a keeper's REST API, signed by
//! the key in `HERALD_PRIVATE_KEY` exactly as `herald_api::signing` specifies, so that no one
//! needs to hand-assemble the EIP-712 headers.

use alloy::{primitives::Address, providers::Provider};
use clap::{Args, Subcommand};
use herald_api::signing::{self, Emission};
use serde_json::{Value, json};

use crate::{Outcome, deploy::signer_from_env, output::report, session::ChainArgs};

/// `event …`.
#[derive(Subcommand)]
pub(crate) enum EventCommand {
    /// Define an event type you own: only you and the emitters you list may emit it.
    Define(DefineArgs),
    /// Emit an event of a type you own or are an emitter of.
    Emit(EmitArgs),
}

/// Where the keeper's API is and the key that may write to it.
#[derive(Args)]
pub(crate) struct ApiArgs {
    #[command(flatten)]
    chain: ChainArgs,
    /// The keeper's REST API.
    #[arg(long, env = "HERALD_API_URL", default_value = "http://127.0.0.1:8080")]
    api: String,
    /// A write key for it (`herald api-key create --scope write`).
    #[arg(long, env = "HERALD_API_KEY", hide_env_values = true)]
    api_key: String,
}

/// `event define`.
#[derive(Args)]
pub(crate) struct DefineArgs {
    #[command(flatten)]
    api: ApiArgs,
    /// The event type's name, e.g. `order.created`.
    name: String,
    /// Another key that may emit it. Repeatable.
    #[arg(long = "emitter")]
    emitters: Vec<Address>,
}

/// `event emit`.
#[derive(Args)]
pub(crate) struct EmitArgs {
    #[command(flatten)]
    api: ApiArgs,
    /// The event type's name.
    name: String,
    /// The payload, JSON.
    #[arg(long)]
    data: String,
}

pub(crate) async fn run(command: EventCommand, json_output: bool) -> Result<Outcome, String> {
    let signer = signer_from_env()?;
    match command {
        EventCommand::Define(args) => {
            let body = json!({"name": args.name, "emitters": args.emitters});
            let bytes = serde_json::to_vec(&body).expect("a JSON value always serializes");
            let domain = domain(&args.api).await?;
            let headers =
                signing::change_headers(&signer, &domain, &args.name, signing::DEFINE, &bytes)
                    .map_err(|e| format!("signing: {e}"))?;
            let answer = post(&args.api, "/v1/event-types", bytes, &headers).await?;
            report(
                json_output,
                answer,
                format!(
                    "event type `{}` defined, owned by {:#x}",
                    args.name,
                    signer.address()
                ),
            )
        }
        EventCommand::Emit(args) => {
            let payload: Value =
                serde_json::from_str(&args.data).map_err(|e| format!("--data is not JSON: {e}"))?;
            let domain = domain(&args.api).await?;
            let emission = Emission::sign(&signer, &domain, &args.name, &payload)
                .map_err(|e| format!("signing: {e}"))?;
            let bytes = signing::canonical_json(&payload);
            let path = format!("/v1/events/{}", args.name);
            let answer = post(&args.api, &path, bytes, &emission.headers()).await?;
            report(
                json_output,
                answer,
                format!(
                    "event {} of type `{}` emitted by {:#x}",
                    emission.id,
                    args.name,
                    signer.address()
                ),
            )
        }
    }
}

/// The EIP-712 domain events are signed under: the deployment's.
async fn domain(api: &ApiArgs) -> Result<alloy::sol_types::Eip712Domain, String> {
    let s = api.chain.read().await?;
    let chain_id = s.provider.get_chain_id().await.map_err(|e| e.to_string())?;
    Ok(herald_chain::receipt::domain(chain_id, s.herald))
}

/// POSTs `body` with `headers`; the API's answer, or its error.
async fn post(
    api: &ApiArgs,
    path: &str,
    body: Vec<u8>,
    headers: &[(&'static str, String)],
) -> Result<Value, String> {
    let url = format!("{}{path}", api.api.trim_end_matches('/'));
    let mut request = reqwest::Client::new()
        .post(&url)
        .bearer_auth(&api.api_key)
        .header("content-type", "application/json")
        .body(body);
    for (name, value) in headers {
        request = request.header(*name, value);
    }
    let response = request.send().await.map_err(|e| format!("{url}: {e}"))?;
    let status = response.status();
    let answer: Value = response.json().await.unwrap_or(Value::Null);
    if !status.is_success() {
        return Err(format!("{url}: HTTP {status}: {answer}"));
    }
    Ok(answer)
}
