//! Who the keeper is: its signing key and its webhook seed, loaded without ever being logged.

use super::*;

/// Who the keeper is: its signing key and the seed its per-trigger webhook secrets derive from.
/// Neither is ever logged or put in an error.
#[derive(Clone)]
pub struct Identity {
    /// Signs receipts and `settle` transactions.
    pub signer: PrivateKeySigner,
    /// Per-trigger `whsec_` secrets derive from it.
    pub webhook_seed: Vec<u8>,
}

impl std::fmt::Debug for Identity {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Identity")
            .field("address", &self.signer.address())
            .finish_non_exhaustive()
    }
}

impl Identity {
    /// The identity `config` points at: the keystore or key variable, and the seed variable.
    pub fn load(config: &KeeperConfig) -> eyre::Result<Self> {
        Ok(Self {
            signer: load_signer(config)?,
            webhook_seed: load_webhook_seed(config)?,
        })
    }
}

/// The keeper's signing key, from the keystore file if configured, else from the environment
/// variable. The key itself is never logged or put in an error.
pub fn load_signer(config: &KeeperConfig) -> eyre::Result<PrivateKeySigner> {
    let identity = &config.keeper;
    if let Some(path) = &identity.keystore {
        let password = std::env::var(&identity.keystore_password_env).wrap_err_with(|| {
            format!(
                "keeper.keystore is set: the password is read from ${}",
                identity.keystore_password_env
            )
        })?;
        return PrivateKeySigner::decrypt_keystore(path, password)
            .map_err(|e| eyre::eyre!("keeper.keystore {}: {e}", path.display()));
    }
    let key = std::env::var(&identity.key_env).wrap_err_with(|| {
        format!(
            "the keeper's private key is read from ${} (or set keeper.keystore)",
            identity.key_env
        )
    })?;
    key.trim()
        .parse::<PrivateKeySigner>()
        .map_err(|_| eyre::eyre!("${} is not a hex private key", identity.key_env))
}

/// The seed per-trigger webhook secrets derive from.
pub fn load_webhook_seed(config: &KeeperConfig) -> eyre::Result<Vec<u8>> {
    let name = &config.keeper.webhook_seed_env;
    let seed = std::env::var(name).wrap_err_with(|| {
        format!(
            "webhook secrets derive from a seed read from ${name}; set it to a long random string"
        )
    })?;
    if seed.len() < 16 {
        eyre::bail!("${name} is too short to be a secret (at least 16 characters)");
    }
    Ok(seed.into_bytes())
}
