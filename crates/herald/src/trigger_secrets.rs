//! A trigger's sealed secrets: what `herald trigger create` seals, and `herald trigger secrets
//! set | rotate | reseal | show` for a created trigger.
//!
//! Secret values never come from the command line (where shell history and `ps` would keep
//! them): `--secret NAME` reads `$HERALD_SECRET_<NAME>` (upper case, `-` as `_`). The webhook
//! signing secret is generated here, printed once, and known after that only to the owner and
//! the keepers it is sealed to. The owner is always one of the recipients, with a key derived from
//! its account key, so `set`, `rotate` and `reseal` can re-open what it sealed before.

use alloy::{
    primitives::{Address, U256},
    providers::Provider,
    rpc::types::Filter,
    sol_types::SolEvent,
};
use clap::{Args, Subcommand};
use herald_chain::bindings::Herald;
use herald_keeper::{network::Peers, secrets::WEBHOOK_SECRET};
use herald_seal::{Context, EncryptionKey, Envelope, PublicKey, Recipient, Secrets};
use herald_services::WebhookSecret;
use serde_json::json;

use crate::{
    Outcome,
    deploy::signer_from_env,
    output::report,
    session::{ChainArgs, Session},
};

/// `trigger secrets …`.
#[derive(Subcommand)]
pub(crate) enum SecretsCommand {
    /// Set (add or replace) named secrets of a trigger, keeping the others, and reseal to the
    /// keepers active now.
    Set(SetArgs),
    /// Replace the trigger's webhook signing secret with a new one (printed once).
    Rotate(SealArgs),
    /// Seal the trigger's secrets, unchanged, to the keepers active now (after keepers joined or
    /// left).
    Reseal(SealArgs),
    /// Who a trigger's secrets are sealed to (the names and values stay sealed).
    Show(IdArgs),
}

/// `trigger secrets set`.
#[derive(Args)]
pub(crate) struct SetArgs {
    #[command(flatten)]
    target: SealArgs,
    /// A secret to set; its value is read from `$HERALD_SECRET_<NAME>`. Repeatable.
    #[arg(long = "secret", value_name = "NAME", required = true)]
    secrets: Vec<String>,
}

/// A trigger, by id.
#[derive(Args)]
pub(crate) struct IdArgs {
    #[command(flatten)]
    chain: ChainArgs,
    /// The trigger's id.
    id: u64,
}

/// A trigger whose secrets are sealed anew, and to whom.
#[derive(Args)]
pub(crate) struct SealArgs {
    #[command(flatten)]
    trigger: IdArgs,
    /// Seal to this keeper only (repeatable; default: every active keeper with a published key).
    #[arg(long = "keeper", value_name = "ADDRESS")]
    keepers: Vec<Address>,
}

pub(crate) async fn run(command: SecretsCommand, json_output: bool) -> Result<Outcome, String> {
    match command {
        SecretsCommand::Show(args) => show(args, json_output).await,
        SecretsCommand::Set(args) => {
            let given = from_env(&args.secrets)?;
            update(args.target, json_output, |secrets| {
                for (name, value) in given.iter() {
                    replace(secrets, name, value)?;
                }
                Ok(None)
            })
            .await
        }
        SecretsCommand::Rotate(args) => {
            update(args, json_output, |secrets| {
                with_new_webhook_secret(secrets).map(Some)
            })
            .await
        }
        SecretsCommand::Reseal(args) => update(args, json_output, |_| Ok(None)).await,
    }
}

/// The secrets named by `names`, each read from its `$HERALD_SECRET_<NAME>`.
pub(crate) fn from_env(names: &[String]) -> Result<Secrets, String> {
    let mut secrets = Secrets::new();
    for name in names {
        if !herald_spec::is_secret_name(name) {
            return Err(format!(
                "--secret {name:?}: a secret's name is 1 to {} of a-z, 0-9, `_` and `-`",
                herald_spec::MAX_SECRET_NAME
            ));
        }
        if name == WEBHOOK_SECRET {
            return Err(format!(
                "--secret {WEBHOOK_SECRET}: the webhook secret is generated (`herald trigger \
                 secrets rotate` replaces it)"
            ));
        }
        let var = env_var(name);
        let value =
            std::env::var(&var).map_err(|_| format!("--secret {name}: set its value in ${var}"))?;
        secrets
            .insert(name, value)
            .map_err(|e| format!("--secret {name}: {e}"))?;
    }
    Ok(secrets)
}

/// The variable `--secret name` reads.
pub(crate) fn env_var(name: &str) -> String {
    format!(
        "HERALD_SECRET_{}",
        name.to_ascii_uppercase().replace('-', "_")
    )
}

/// `secrets` with `name` set to `value`, replacing an earlier value.
fn replace(secrets: &mut Secrets, name: &str, value: &str) -> Result<(), String> {
    let mut next = Secrets::new();
    for (n, v) in secrets.iter().filter(|(n, _)| *n != name) {
        next.insert(n, v).map_err(|e| e.to_string())?;
    }
    next.insert(name, value).map_err(|e| e.to_string())?;
    *secrets = next;
    Ok(())
}

/// A new webhook secret added to `secrets`: what `trigger create` seals.
pub(crate) fn with_new_webhook_secret(secrets: &mut Secrets) -> Result<WebhookSecret, String> {
    let webhook = WebhookSecret::generate();
    replace(secrets, WEBHOOK_SECRET, &webhook.to_string())?;
    Ok(webhook)
}

/// The keepers active now that have published a usable encryption key, with their keys. A key
/// HPKE refuses (a low-order point: anyone can publish one) is passed over with a warning, so that
/// one keeper cannot stop every owner from sealing.
async fn keeper_recipients(s: &Session, context: &Context) -> Result<Vec<Recipient>, String> {
    let head = s
        .provider
        .get_block_number()
        .await
        .map_err(|e| e.to_string())?;
    let now = s
        .provider
        .get_block_by_number(head.into())
        .await
        .map_err(|e| e.to_string())?
        .map_or(0, |b| b.header.timestamp);
    let peers = Peers::load(&s.provider, s.herald, 0, head)
        .await
        .map_err(|e| format!("reading the registry's keepers: {e:#}"))?;
    let mut out = Vec::new();
    for keeper in peers.active_at(now) {
        let key = s
            .contract()
            .encryptionKey(keeper.address)
            .call()
            .await
            .map_err(|e| e.to_string())?;
        if key.is_zero() {
            continue;
        }
        let recipient = Recipient {
            address: keeper.address,
            key: PublicKey(key.0),
        };
        if Envelope::seal(&Secrets::new(), context, &[recipient]).is_err() {
            eprintln!(
                "warning: keeper {:#x} published an encryption key nothing can be sealed to; \
                 it is left out",
                keeper.address
            );
            continue;
        }
        out.push(recipient);
    }
    Ok(out)
}

/// The owner's own key, derived from the account key in `HERALD_PRIVATE_KEY`.
fn owner_key() -> Result<EncryptionKey, String> {
    let [owner, _] = owner_keys()?;
    Ok(owner)
}

async fn context(s: &Session, owner: Address, trigger: u64) -> Result<Context, String> {
    Ok(Context {
        chain_id: s.provider.get_chain_id().await.map_err(|e| e.to_string())?,
        herald: s.herald,
        owner,
        trigger,
    })
}

/// `secrets` sealed for `trigger` to the keepers active now (only those in `chosen`, when it is
/// not empty) and to the caller, the trigger's owner.
pub(crate) async fn seal(
    s: &Session,
    trigger: u64,
    secrets: &Secrets,
    chosen: &[Address],
) -> Result<Envelope, String> {
    let owner = s.account();
    let context = context(s, owner, trigger).await?;
    let mut recipients = keeper_recipients(s, &context).await?;
    if let Some(missing) = chosen
        .iter()
        .find(|k| !recipients.iter().any(|r| r.address == **k))
    {
        return Err(format!(
            "--keeper {missing:#x} is not an active keeper with a published encryption key"
        ));
    }
    if !chosen.is_empty() {
        recipients.retain(|r| chosen.contains(&r.address));
    }
    if recipients.is_empty() {
        return Err(
            "no active keeper has published an encryption key, so none could deliver this \
             trigger's secrets (a keeper publishes its key when it starts)"
                .into(),
        );
    }
    // An owner that is also a keeper keeps its keeper key in its one slot (it performs with it)
    // and re-opens with that key too ([`owner_keys`]).
    if !recipients.iter().any(|r| r.address == owner) {
        recipients.push(Recipient {
            address: owner,
            key: owner_key()?.public_key(),
        });
    }
    Envelope::seal(secrets, &context, &recipients).map_err(|e| e.to_string())
}

/// The keys the owner may have sealed to itself with: as an owner, or as a keeper.
fn owner_keys() -> Result<[EncryptionKey; 2], String> {
    let key = signer_from_env()?.to_bytes().0;
    Ok([
        EncryptionKey::for_owner(&key),
        EncryptionKey::for_keeper(&key),
    ])
}

/// Trigger `id`'s latest envelope: its last `TriggerSecretsSet`, else its configuration's
/// `secrets`, else none.
async fn current(s: &Session, id: u64) -> Result<Option<Envelope>, String> {
    let filter = Filter::new()
        .address(s.herald)
        .from_block(0)
        .event_signature(Herald::TriggerSecretsSet::SIGNATURE_HASH)
        .topic1(U256::from(id));
    let logs = s
        .provider
        .get_logs(&filter)
        .await
        .map_err(|e| e.to_string())?;
    if let Some(latest) = logs
        .iter()
        .filter_map(|l| l.log_decode::<Herald::TriggerSecretsSet>().ok())
        .next_back()
    {
        return Envelope::from_bytes(&latest.inner.data.envelope)
            .map(Some)
            .map_err(|e| format!("trigger #{id}'s latest sealed secrets: {e}"));
    }
    let created = crate::trigger_read::config_of(s, id).await?;
    let file = format!("trigger #{id}");
    let specs = herald_spec::parse_triggers(&file, &created).map_err(|e| e.to_string())?;
    specs
        .first()
        .and_then(|spec| spec.secrets.as_ref())
        .map(|text| Envelope::from_base64(&text.value).map_err(|e| format!("{file}: {e}")))
        .transpose()
}

async fn update(
    args: SealArgs,
    json_output: bool,
    change: impl FnOnce(&mut Secrets) -> Result<Option<WebhookSecret>, String>,
) -> Result<Outcome, String> {
    let SealArgs {
        trigger: args,
        keepers,
    } = args;
    let s = args.chain.write().await?;
    let owner = s.account();
    let trigger = s
        .contract()
        .trigger(args.id)
        .call()
        .await
        .map_err(|e| format!("trigger #{}: {e}", args.id))?;
    if trigger.owner != owner {
        return Err(format!(
            "trigger #{} is owned by {:#x}, not {owner:#x}",
            args.id, trigger.owner
        ));
    }
    let mut secrets = match current(&s, args.id).await? {
        Some(envelope) => {
            let context = context(&s, owner, args.id).await?;
            let keys = owner_keys()?;
            let mut opened = Err(String::new());
            for key in &keys {
                opened = envelope
                    .open(&context, owner, key)
                    .map_err(|e| format!("trigger #{}'s sealed secrets: {e}", args.id));
                if opened.is_ok() {
                    break;
                }
            }
            opened?
        }
        None => Secrets::new(),
    };
    let rotated = change(&mut secrets)?;
    let envelope = seal(&s, args.id, &secrets, &keepers).await?;
    let receipt = s
        .send(
            "setTriggerSecrets",
            s.contract()
                .setTriggerSecrets(args.id, envelope.to_bytes().into()),
        )
        .await?;
    let sealed_to: Vec<Address> = envelope.recipients().filter(|a| *a != owner).collect();
    let names: Vec<&str> = secrets.names().collect();
    report(
        json_output,
        json!({"id": args.id, "sealed_to": sealed_to, "names": names,
               "webhook_secret": rotated.as_ref().map(ToString::to_string),
               "tx": receipt.transaction_hash}),
        format!(
            "trigger #{} secrets [{}] sealed to {} keeper(s)  tx {}{}",
            args.id,
            names.join(", "),
            sealed_to.len(),
            receipt.transaction_hash,
            rotated.map_or_else(String::new, |w| format!(
                "\nnew webhook secret (shown once; verify deliveries with it): {w}"
            ))
        ),
    )
}

async fn show(args: IdArgs, json_output: bool) -> Result<Outcome, String> {
    let s = args.chain.read().await?;
    let Some(envelope) = current(&s, args.id).await? else {
        return report(
            json_output,
            json!({"id": args.id, "sealed_to": [], "names": null}),
            format!(
                "trigger #{} has no sealed secrets (its webhooks are unsigned)",
                args.id
            ),
        );
    };
    let sealed_to: Vec<Address> = envelope.recipients().collect();
    report(
        json_output,
        json!({"id": args.id, "sealed_to": sealed_to}),
        format!(
            "trigger #{} secrets are sealed to {}",
            args.id,
            sealed_to
                .iter()
                .map(|a| format!("{a:#x}"))
                .collect::<Vec<_>>()
                .join(", ")
        ),
    )
}
