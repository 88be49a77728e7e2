//! A trigger's sealed secrets, opened only by the keeper that delivers, only when it delivers.
//!
//! A trigger owner seals its secrets (the `webhook` signing secret, credential header values) to
//! the keepers it chose with `herald-seal`, and publishes the envelope in the trigger's config or
//! with `setTriggerSecrets`. The trigger set keeps each trigger's latest envelope; the runner asks
//! [`Unsealer::open`] for the secrets just before it sends, and drops them when it is done. Nothing
//! opened is stored, logged or put in a result: results commit to the `{{ secrets.name }}`
//! references as written, and [`Opened::redact`] cuts any value a receiver echoes back out of the
//! text the keeper keeps.

use std::sync::{Arc, RwLock};

use alloy::primitives::Address;
use alloy::providers::DynProvider;
use base64::{Engine, engine::general_purpose::STANDARD};
use eyre::WrapErr;
use herald_seal::{Context, EncryptionKey, PublicKey, Secrets};
use herald_services::WebhookSecret;

use crate::triggers::{SealState, TriggerSet};

/// The name of the secret a trigger's webhooks are signed with (`whsec_…`).
pub const WEBHOOK_SECRET: &str = "webhook";

/// Opens the envelopes of the triggers this keeper performs.
#[derive(Clone)]
pub struct Unsealer {
    me: Address,
    key: Arc<EncryptionKey>,
    chain_id: u64,
    herald: Address,
    triggers: Arc<RwLock<TriggerSet>>,
}

impl std::fmt::Debug for Unsealer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Unsealer")
            .field("me", &self.me)
            .finish_non_exhaustive()
    }
}

/// Why a trigger's secrets could not be had.
#[derive(Debug, PartialEq, Eq, thiserror::Error)]
pub enum UnsealError {
    /// The trigger is not (or no longer) loaded.
    #[error("trigger {0} is not loaded")]
    UnknownTrigger(u64),
    /// Its latest envelope is not one (the owner published bytes that do not parse).
    #[error("the trigger's sealed secrets are unreadable: {0}")]
    Unreadable(String),
    /// The owner did not seal to this keeper.
    #[error("the trigger's secrets are not sealed to this keeper ({0})")]
    NotARecipient(Address),
    /// The envelope does not open under this keeper's key for this trigger's owner and deployment.
    #[error("the trigger's sealed secrets do not open with this keeper's key: {0}")]
    DoesNotOpen(String),
    /// The `webhook` secret is not a `whsec_` secret.
    #[error("the trigger's `webhook` secret is not a `whsec_` secret")]
    BadWebhookSecret,
}

/// A trigger's secrets, open for one delivery.
#[derive(Debug, Default)]
pub struct Opened {
    secrets: Option<Secrets>,
    webhook: Option<WebhookSecret>,
}

impl Opened {
    /// The secret named `name`, if the trigger sealed one.
    pub fn get(&self, name: &str) -> Option<&str> {
        self.secrets.as_ref()?.get(name)
    }

    /// The secret the trigger's webhooks are signed with, if it has one.
    pub fn webhook(&self) -> Option<&WebhookSecret> {
        self.webhook.as_ref()
    }

    /// `text` with every secret value, and its hex and base64 forms, replaced by `[secret]`: for
    /// anything kept after a delivery (a receiver's error body may echo the headers it got).
    pub fn redact(&self, text: &str) -> String {
        let Some(secrets) = &self.secrets else {
            return text.to_string();
        };
        let mut out = text.to_string();
        for name in secrets.names() {
            let Some(value) = secrets.get(name) else {
                continue;
            };
            if value.is_empty() {
                continue;
            }
            let forms = [
                value.to_string(),
                alloy::hex::encode(value.as_bytes()),
                STANDARD.encode(value.as_bytes()),
            ];
            for form in forms {
                out = out.replace(&form, "[secret]");
                // The text may be an excerpt cut inside a secret: its start is as secret.
                if let Some(cut) = (4..form.len())
                    .rev()
                    .find(|n| out.ends_with(&form[..*n]) && form.is_char_boundary(*n))
                {
                    out.truncate(out.len() - cut);
                    out.push_str("[secret]");
                }
            }
        }
        out
    }
}

impl Unsealer {
    /// Opens envelopes sealed to `me` under `key`, for the deployment `herald` on `chain_id`, as
    /// the `triggers` set has them.
    pub fn new(
        me: Address,
        key: EncryptionKey,
        chain_id: u64,
        herald: Address,
        triggers: Arc<RwLock<TriggerSet>>,
    ) -> Self {
        Self {
            me,
            key: Arc::new(key),
            chain_id,
            herald,
            triggers,
        }
    }

    /// The secrets of `trigger_id` in force for an event in `block` (`None`: an API event),
    /// opened: empty when its owner had sealed none.
    pub fn open(&self, trigger_id: u64, block: Option<u64>) -> Result<Opened, UnsealError> {
        let (owner, state) = {
            let triggers = self.triggers.read().expect("triggers");
            let trigger = triggers
                .get(trigger_id)
                .ok_or(UnsealError::UnknownTrigger(trigger_id))?;
            (trigger.owner, triggers.sealed(trigger_id, block))
        };
        let envelope = match state {
            None => return Ok(Opened::default()),
            Some(SealState::Unreadable(reason)) => return Err(UnsealError::Unreadable(reason)),
            Some(SealState::Sealed(envelope)) => envelope,
        };
        if !envelope.is_for(self.me) {
            return Err(UnsealError::NotARecipient(self.me));
        }
        let context = Context {
            chain_id: self.chain_id,
            herald: self.herald,
            owner,
            trigger: trigger_id,
        };
        let secrets = envelope
            .open(&context, self.me, &self.key)
            .map_err(|e| UnsealError::DoesNotOpen(e.to_string()))?;
        let webhook = secrets
            .get(WEBHOOK_SECRET)
            .map(|text| {
                text.parse::<WebhookSecret>()
                    .map_err(|_| UnsealError::BadWebhookSecret)
            })
            .transpose()?;
        Ok(Opened {
            secrets: Some(secrets),
            webhook,
        })
    }
}

/// Makes sure the registry holds this keeper's encryption key, so owners can seal to it: sets it
/// when none is published, and refuses to replace a different one unless `replace`. A keeper not
/// registered yet is told how to register and goes on.
pub async fn publish_encryption_key(
    provider: &DynProvider,
    herald: Address,
    me: Address,
    key: PublicKey,
    replace: bool,
) -> eyre::Result<()> {
    let registry = herald_chain::bindings::Herald::new(herald, provider);
    let published = registry
        .encryptionKey(me)
        .call()
        .await
        .wrap_err("reading this keeper's encryption key from the registry")?;
    if published.0 == *key.as_bytes() {
        return Ok(());
    }
    if !published.is_zero() && !replace {
        // Owners sealed to the published key: replacing it silently would leave this keeper
        // ranked for triggers it can no longer open.
        eyre::bail!(
            "the registry holds another encryption key for {me} ({published}); owners sealed \
             their triggers to it. Restore that key ($HERALD_ENCRYPTION_KEY, or unset it to derive \
             it from the signing key), or set keeper.replace_encryption_key = true and ask owners \
             to `herald trigger secrets reseal`"
        );
    }
    if registry.keeper(me).call().await?.activeFrom.is_zero() {
        tracing::warn!(
            keeper = %me,
            "not a registered keeper: owners cannot seal secrets to it (run `herald keeper register`)"
        );
        return Ok(());
    }
    registry
        .setEncryptionKey(key.as_bytes().into())
        .from(me)
        .send()
        .await?
        .get_receipt()
        .await
        .wrap_err("publishing this keeper's encryption key in the registry")?;
    tracing::info!(encryption_key = %key, "encryption key published in the registry");
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_receivers_echo_of_a_secret_is_cut_in_every_form() {
        let token = "sk-live-0a1b2c3d4e";
        let mut secrets = Secrets::new();
        secrets.insert("api_token", token).expect("a secret");
        let opened = Opened {
            secrets: Some(secrets),
            webhook: None,
        };
        let echo = format!(
            "401: got authorization=Bearer {token} (hex {}, b64 {})",
            alloy::hex::encode(token),
            STANDARD.encode(token)
        );
        let kept = opened.redact(&echo);
        assert_eq!(
            kept,
            "401: got authorization=Bearer [secret] (hex [secret], b64 [secret])"
        );
        // An excerpt that ends inside the secret keeps none of it.
        assert_eq!(
            opened.redact("got Bearer sk-live-0a1"),
            "got Bearer [secret]"
        );
        assert_eq!(Opened::default().redact("plain"), "plain");
    }
}
