//! `herald api-key create | list | revoke`: keys for a keeper's REST API, in its store.

use clap::Subcommand;
use herald_store::{KeyScope, Store};
use serde_json::json;

use crate::{Outcome, activity::StoreArgs, output::report};

#[derive(Subcommand)]
pub(crate) enum ApiKeyCommand {
    /// Make a key; its secret is printed once and only its SHA-256 is stored.
    Create {
        #[command(flatten)]
        store: StoreArgs,
        /// A name for people.
        #[arg(long)]
        name: String,
        /// read (GET only) or write.
        #[arg(long, default_value = "read")]
        scope: String,
        /// Requests allowed per minute.
        #[arg(long, default_value_t = 600)]
        rate: u32,
    },
    /// List keys (never their secrets).
    List {
        #[command(flatten)]
        store: StoreArgs,
    },
    /// Revoke a key by id.
    Revoke {
        #[command(flatten)]
        store: StoreArgs,
        /// The key's id (the 8 hex digits after `hk_`).
        id: String,
    },
}

pub(crate) async fn run(command: ApiKeyCommand, json_output: bool) -> Result<Outcome, String> {
    let open = |store: &StoreArgs| {
        let url = store.url().to_string();
        async move { Store::connect(&url).await.map_err(|e| e.to_string()) }
    };
    match command {
        ApiKeyCommand::Create {
            store,
            name,
            scope,
            rate,
        } => {
            let scope: KeyScope = scope.parse().map_err(|e| format!("--scope: {e}"))?;
            if rate == 0 {
                return Err("--rate: at least 1 request per minute".into());
            }
            let store = open(&store).await?;
            let issued = herald_api::auth::issue(&name, scope, rate);
            if !store
                .insert_api_key(&issued.key, &issued.hash)
                .await
                .map_err(|e| e.to_string())?
            {
                return Err("a key with that id exists; run the command again".into());
            }
            report(
                json_output,
                json!({"id": issued.key.id, "name": name, "scope": scope.as_str(), "rate_per_minute": rate,
                       "secret": issued.secret}),
                format!(
                    "key {} ({}, {rate}/min): {}\nthe secret is shown once; only its hash is stored",
                    issued.key.id,
                    scope.as_str(),
                    issued.secret
                ),
            )
        }
        ApiKeyCommand::List { store } => {
            let keys = open(&store)
                .await?
                .api_keys()
                .await
                .map_err(|e| e.to_string())?;
            if json_output {
                let rows: Vec<_> = keys
                    .iter()
                    .map(|k| {
                        json!({"id": k.id, "name": k.name, "scope": k.scope.as_str(),
                                    "rate_per_minute": k.rate_per_minute, "revoked": k.revoked})
                    })
                    .collect();
                println!("{}", serde_json::Value::Array(rows));
            } else {
                for k in &keys {
                    println!(
                        "{}  {:<5} {:>6}/min  {}{}",
                        k.id,
                        k.scope.as_str(),
                        k.rate_per_minute,
                        k.name,
                        if k.revoked { "  (revoked)" } else { "" }
                    );
                }
            }
            Ok(Outcome::Yes)
        }
        ApiKeyCommand::Revoke { store, id } => {
            let revoked = open(&store)
                .await?
                .revoke_api_key(&id)
                .await
                .map_err(|e| e.to_string())?;
            if !revoked {
                return Err(format!("no API key {id:?} in this store"));
            }
            report(
                json_output,
                json!({"revoked": id}),
                format!("key {id} revoked"),
            )
        }
    }
}
