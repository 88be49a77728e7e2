//! What every on-chain command starts from: the node, the Herald deployment, and (for commands that
//! send transactions) the caller's key.

use std::path::PathBuf;

use alloy::{
    network::EthereumWallet,
    primitives::{Address, U256, utils::format_units},
    providers::{DynProvider, Provider, ProviderBuilder},
};
use clap::Args;
use herald_chain::bindings::{Herald, HeraldTestToken};

use crate::deploy::signer_from_env;

/// Where the chain and the deployment are.
#[derive(Args, Clone, Debug)]
pub(crate) struct ChainArgs {
    /// The chain's JSON-RPC endpoint.
    #[arg(long, env = "HERALD_RPC_URL", default_value = "http://127.0.0.1:8545")]
    rpc_url: String,
    /// The Herald contract (default: the record in --deploy-dir for the node's chain id).
    #[arg(long, env = "HERALD_ADDRESS")]
    herald: Option<Address>,
    /// Where deployment records live.
    #[arg(long, default_value = "deploy")]
    deploy_dir: PathBuf,
}

/// A connection to a Herald deployment.
pub(crate) struct Session {
    /// The node.
    pub provider: DynProvider,
    /// The Herald contract.
    pub herald: Address,
    /// The settlement token.
    pub token: Address,
    /// The token's decimals.
    pub decimals: u8,
    /// The caller, when a key was given.
    pub account: Option<Address>,
}

impl ChainArgs {
    /// A read-only session.
    pub async fn read(&self) -> Result<Session, String> {
        let provider = ProviderBuilder::new()
            .connect(&self.rpc_url)
            .await
            .map_err(|e| format!("--rpc-url {}: {e}", self.rpc_url))?
            .erased();
        self.session(provider, None).await
    }

    /// A session that signs as the key in `HERALD_PRIVATE_KEY`.
    pub async fn write(&self) -> Result<Session, String> {
        let signer = signer_from_env()?;
        let account = signer.address();
        let provider = ProviderBuilder::new()
            .wallet(EthereumWallet::from(signer))
            .connect(&self.rpc_url)
            .await
            .map_err(|e| format!("--rpc-url {}: {e}", self.rpc_url))?
            .erased();
        self.session(provider, Some(account)).await
    }

    async fn session(
        &self,
        provider: DynProvider,
        account: Option<Address>,
    ) -> Result<Session, String> {
        let chain_id = provider
            .get_chain_id()
            .await
            .map_err(|e| format!("--rpc-url {}: {e}", self.rpc_url))?;
        let herald =
            match self.herald {
                Some(address) => address,
                None => herald_chain::deploy::load(&self.deploy_dir, chain_id)
                    .map_err(|e| e.to_string())?
                    .ok_or_else(|| {
                        format!(
                            "no Herald address: pass --herald (or HERALD_ADDRESS), or deploy first \
                         ({} not found)",
                            herald_chain::deploy::record_path(&self.deploy_dir, chain_id).display()
                        )
                    })?
                    .herald
                    .address,
            };
        let code = provider
            .get_code_at(herald)
            .await
            .map_err(|e| format!("--rpc-url {}: {e}", self.rpc_url))?;
        if code.is_empty() {
            return Err(format!(
                "no contract at {herald:#x} on chain {chain_id} (wrong --herald or --rpc-url?)"
            ));
        }
        let token = Herald::new(herald, &provider)
            .token()
            .call()
            .await
            .map_err(|e| format!("{herald:#x} does not answer as Herald: {e}"))?;
        let decimals = HeraldTestToken::new(token, &provider)
            .decimals()
            .call()
            .await
            .unwrap_or(18);
        Ok(Session {
            provider,
            herald,
            token,
            decimals,
            account,
        })
    }
}

impl Session {
    /// The Herald contract.
    pub fn contract(&self) -> Herald::HeraldInstance<&DynProvider> {
        Herald::new(self.herald, &self.provider)
    }

    /// The chain's id.
    pub async fn chain_id(&self) -> Result<u64, String> {
        self.provider
            .get_chain_id()
            .await
            .map_err(|e| format!("reading the chain id: {e}"))
    }

    /// The signing account (write sessions only).
    pub fn account(&self) -> Address {
        self.account.unwrap_or_default()
    }

    /// `amount` in the token's smallest unit, from decimal text (`1.5`).
    pub fn parse_amount(&self, what: &str, text: &str) -> Result<U256, String> {
        alloy::primitives::utils::parse_units(text, self.decimals)
            .map(Into::into)
            .map_err(|_| {
                format!(
                    "{what}: expected a token amount like 1.5 (up to {} decimals), found {text:?}",
                    self.decimals
                )
            })
    }

    /// An amount in tokens, without trailing zeros.
    pub fn format(&self, amount: U256) -> String {
        tokens(amount, self.decimals)
    }

    /// Lets Herald take `amount` of the caller's tokens (approving only if the allowance is short),
    /// after checking the caller holds them.
    pub async fn allow_herald(&self, amount: U256) -> Result<(), String> {
        self.allow(self.herald, amount).await
    }

    /// Lets `spender` take `amount` of the caller's tokens, as [`Session::allow_herald`].
    pub async fn allow(&self, spender: Address, amount: U256) -> Result<(), String> {
        let token = HeraldTestToken::new(self.token, &self.provider);
        let held = token
            .balanceOf(self.account())
            .call()
            .await
            .map_err(|e| e.to_string())?;
        if held < amount {
            return Err(format!(
                "insufficient token balance: {:#x} holds {} and needs {}",
                self.account(),
                self.format(held),
                self.format(amount)
            ));
        }
        let allowance = token
            .allowance(self.account(), spender)
            .call()
            .await
            .map_err(|e| e.to_string())?;
        if allowance < amount {
            self.send("approve", token.approve(spender, amount)).await?;
        }
        Ok(())
    }

    /// Sends a call and waits for it to be mined, naming `what` and the contract's error if it
    /// reverts.
    pub async fn send<C>(
        &self,
        what: &str,
        call: C,
    ) -> Result<alloy::rpc::types::TransactionReceipt, String>
    where
        C: SendableCall,
    {
        // Drawn on stderr only when it is a terminal: scripts and --json output see nothing.
        let spinner = indicatif::ProgressBar::new_spinner()
            .with_message(format!("{what}: waiting for the transaction to be mined"));
        spinner.enable_steady_tick(std::time::Duration::from_millis(120));
        let result = call
            .send_and_wait()
            .await
            .map_err(|e| format!("{what}: {}", describe(&e)));
        spinner.finish_and_clear();
        result
    }
}

/// A contract call that can be sent and waited for.
pub(crate) trait SendableCall {
    /// Sends and waits for the receipt; a revert is an error.
    fn send_and_wait(
        self,
    ) -> impl std::future::Future<
        Output = Result<alloy::rpc::types::TransactionReceipt, alloy::contract::Error>,
    >;
}

impl<P, D> SendableCall for alloy::contract::CallBuilder<P, D>
where
    P: Provider,
    D: alloy::contract::CallDecoder,
{
    async fn send_and_wait(
        self,
    ) -> Result<alloy::rpc::types::TransactionReceipt, alloy::contract::Error> {
        let receipt = self.send().await?.get_receipt().await?;
        if !receipt.status() {
            return Err(alloy::contract::Error::TransportError(
                alloy::transports::TransportErrorKind::custom_str("the transaction reverted"),
            ));
        }
        Ok(receipt)
    }
}

/// A contract error in words: the custom error's name and arguments when Herald's or its
/// challenge contract's ABI knows it.
pub(crate) fn describe(error: &alloy::contract::Error) -> String {
    if let Some(decoded) = error.as_decoded_interface_error::<Herald::HeraldErrors>() {
        return format!("reverted with {decoded:?}");
    }
    if let Some(decoded) = error.as_decoded_interface_error::<
        herald_chain::bindings::HeraldChallenges::HeraldChallengesErrors,
    >() {
        return format!("reverted with {decoded:?}");
    }
    let text = error.to_string();
    text.lines().next().unwrap_or(&text).to_string()
}

/// `value` narrowed to a contract's smaller integer type, or an error naming `what`.
pub(crate) fn narrow<const BITS: usize, const LIMBS: usize>(
    what: &str,
    value: U256,
) -> Result<alloy::primitives::Uint<BITS, LIMBS>, String> {
    use alloy::primitives::ruint::UintTryFrom;
    alloy::primitives::Uint::<BITS, LIMBS>::uint_try_from(value)
        .map_err(|_| format!("{what}: {value} does not fit in {BITS} bits"))
}

/// An amount with `decimals` decimals, without trailing zeros (`0.0105`).
pub(crate) fn tokens(amount: U256, decimals: u8) -> String {
    let text = format_units(amount, decimals).unwrap_or_else(|_| amount.to_string());
    match text.split_once('.') {
        Some((whole, fraction)) if fraction.trim_end_matches('0').is_empty() => whole.to_string(),
        Some((whole, fraction)) => format!("{whole}.{}", fraction.trim_end_matches('0')),
        None => text,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_drop_trailing_zeros_but_keep_whole_numbers() {
        let wei = |s: &str| U256::from_str_radix(s, 10).expect("decimal");
        assert_eq!(tokens(wei("10500000000000000"), 18), "0.0105");
        assert_eq!(tokens(wei("2000000000000000000"), 18), "2");
        assert_eq!(tokens(U256::ZERO, 18), "0");
        assert_eq!(tokens(wei("1"), 18), "0.000000000000000001");
    }
}
