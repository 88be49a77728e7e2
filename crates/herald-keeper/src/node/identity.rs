//! Who the keeper is: its signing key and its encryption key, loaded without ever being logged.

use herald_seal::EncryptionKey;

use super::*;

/// Who the keeper is: its signing key and the key trigger owners seal secrets to. Neither is ever
/// logged or put in an error.
pub struct Identity {
    /// Signs receipts and `settle` transactions.
    pub signer: PrivateKeySigner,
    /// Opens the secrets of triggers sealed to this keeper.
    pub encryption: EncryptionKey,
}

impl std::fmt::Debug for Identity {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Identity")
            .field("address", &self.signer.address())
            .finish_non_exhaustive()
    }
}

impl Identity {
    /// The identity `config` points at: the keystore or key variable, and the encryption key
    /// variable (or, unset, the encryption key derived from the signing key).
    pub fn load(config: &KeeperConfig) -> eyre::Result<Self> {
        let signer = load_signer(config)?;
        let encryption = load_encryption_key(config, &signer)?;
        Ok(Self { signer, encryption })
    }

    /// `signer`, with the encryption key derived from it.
    pub fn derived(signer: PrivateKeySigner) -> Self {
        let encryption = EncryptionKey::for_keeper(&signer.to_bytes().0);
        Self { signer, encryption }
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
