//! Who the keeper is: its signing key, its encryption key and the wallet that pays its gas, loaded
//! without ever being logged.

use herald_seal::EncryptionKey;

use super::*;

/// Who the keeper is: its signing key, the key trigger owners seal secrets to, and the wallet that
/// pays its gas. None is ever logged or put in an error. (The bond belongs to a third, cold key
/// the node never holds: `herald keeper register --bond-owner`.)
pub struct Identity {
    /// Signs receipts and peer messages; the keeper's address on chain.
    pub signer: PrivateKeySigner,
    /// Opens the secrets of triggers sealed to this keeper.
    pub encryption: EncryptionKey,
    /// Pays for `settle` and fraud-challenge answers; `None`: the signing key pays.
    pub gas: Option<PrivateKeySigner>,
}

impl std::fmt::Debug for Identity {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Identity")
            .field("address", &self.signer.address())
            .field("gas_wallet", &self.gas_wallet())
            .finish_non_exhaustive()
    }
}

impl Identity {
    /// The identity `config` points at: the keystore or key variable, and the encryption key
    /// variable (or, unset, the encryption key derived from the signing key).
    pub fn load(config: &KeeperConfig) -> eyre::Result<Self> {
        let signer = load_signer(config)?;
        let encryption = load_encryption_key(config, &signer)?;
        let gas = match &config.keeper.gas_key_env {
            Some(name) => Some(load_key(name)?),
            None => None,
        };
        Ok(Self {
            signer,
            encryption,
            gas,
        })
    }

    /// `signer`, with the encryption key derived from it, paying its own gas.
    pub fn derived(signer: PrivateKeySigner) -> Self {
        let encryption = EncryptionKey::for_keeper(&signer.to_bytes().0);
        Self {
            signer,
            encryption,
            gas: None,
        }
    }

    /// This identity with `gas` paying for its transactions.
    pub fn with_gas_wallet(self, gas: PrivateKeySigner) -> Self {
        Self {
            gas: Some(gas),
            ..self
        }
    }

    /// The address that pays the keeper's gas.
    pub fn gas_wallet(&self) -> Address {
        self.gas.as_ref().unwrap_or(&self.signer).address()
    }
}

/// A hex private key from the environment variable `name`, never logged.
fn load_key(name: &str) -> eyre::Result<PrivateKeySigner> {
    std::env::var(name)
        .wrap_err_with(|| {
            format!("keeper.gas_key_env is set: the gas wallet's key is read from ${name}")
        })?
        .trim()
        .parse::<PrivateKeySigner>()
        .map_err(|_| eyre::eyre!("${name} is not a hex private key"))
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

/// The key trigger owners seal secrets to: from `keeper.encryption_key_env` when it is set, else
/// derived from the signing key (one key less to keep, and still this keeper's own).
pub fn load_encryption_key(
    config: &KeeperConfig,
    signer: &PrivateKeySigner,
) -> eyre::Result<EncryptionKey> {
    let name = &config.keeper.encryption_key_env;
    match std::env::var(name) {
        Ok(text) => EncryptionKey::from_hex(text.trim())
            .map_err(|_| eyre::eyre!("${name} is not a 32-byte hex X25519 key")),
        Err(_) => Ok(EncryptionKey::for_keeper(&signer.to_bytes().0)),
    }
}
