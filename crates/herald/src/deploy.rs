//! `herald deploy`: deploy Herald (and a test token where asked) and record it in `deploy/`.

use std::path::PathBuf;

use alloy::{
    network::EthereumWallet,
    primitives::Address,
    providers::{Provider, ProviderBuilder},
    signers::local::PrivateKeySigner,
};
use clap::Args;
use herald_chain::{DeployOptions, TokenChoice, deploy::deploy, params::NetworkParams};
use serde_json::json;

use crate::Outcome;

/// The environment variable holding the deployer's private key; it is read, never printed.
pub(crate) const KEY_VAR: &str = "HERALD_PRIVATE_KEY";

#[derive(Args)]
pub(crate) struct DeployArgs {
    /// The chain's JSON-RPC endpoint (http://, https://, ws:// or wss://).
    #[arg(long, env = "HERALD_RPC_URL")]
    rpc_url: String,
    /// Use this existing ERC-20 as the settlement token.
    #[arg(
        long,
        conflicts_with = "test_token",
        required_unless_present = "test_token"
    )]
    token: Option<Address>,
    /// Deploy HeraldTestToken (open minting; devnets and tests only) as the settlement token.
    #[arg(long)]
    test_token: bool,
    /// The admin (fees, quorum, delays); defaults to the deployer.
    #[arg(long)]
    admin: Option<Address>,
    /// The address that accrues the protocol's share; defaults to the deployer.
    #[arg(long)]
    treasury: Option<Address>,
    /// Where deployment records live.
    #[arg(long, default_value = "deploy")]
    deploy_dir: PathBuf,
    /// Deploy again even when deploy/<chain-id>.json points at a live contract.
    #[arg(long)]
    fresh: bool,
    /// A local network: one keeper may settle, no bond or delays are required. Without it,
    /// parameters unsafe on a public network are refused.
    #[arg(long)]
    devnet: bool,
    /// Fewest distinct keepers whose signatures settle a batch (public default 3).
    #[arg(long)]
    min_signers: Option<u8>,
    /// Least share of the total bond those signers must hold, basis points (public default 6666).
    #[arg(long)]
    quorum_bps: Option<u16>,
    /// The bond a keeper must hold, in the token's smallest unit (public default 1,000 tokens).
    #[arg(long)]
    min_bond: Option<alloy::primitives::U256>,
}

pub(crate) fn run(args: DeployArgs, json_output: bool) -> Result<Outcome, String> {
    let signer = signer_from_env()?;
    let deployer = signer.address();
    let options = DeployOptions {
        token: match args.token {
            Some(address) => TokenChoice::Existing(address),
            None => TokenChoice::TestToken,
        },
        admin: args.admin.unwrap_or(deployer),
        treasury: args.treasury.unwrap_or(deployer),
        dir: args.deploy_dir.clone(),
        fresh: args.fresh,
        params: NetworkParams::devnet(1, 1),
        devnet: args.devnet,
    };
    let runtime =
        tokio::runtime::Runtime::new().map_err(|e| format!("starting the runtime: {e}"))?;
    let (deployment, reused) = runtime.block_on(async {
        let provider = ProviderBuilder::new()
            .wallet(EthereumWallet::from(signer))
            .connect(&args.rpc_url)
            .await
            .map_err(|e| format!("--rpc-url {}: {e}", args.rpc_url))?;
        provider
            .get_chain_id()
            .await
            .map_err(|e| format!("--rpc-url {}: {e}", args.rpc_url))?;
        let mut options = options;
        options.params = if args.devnet {
            NetworkParams::devnet(1, 1)
        } else {
            let decimals = match args.token {
                Some(token) => herald_chain::bindings::HeraldTestToken::new(token, &provider)
                    .decimals()
                    .call()
                    .await
                    .map_err(|e| format!("--token {token:#x}: reading decimals(): {e}"))?,
                None => 18,
            };
            NetworkParams::public(decimals)
        };
        if let Some(n) = args.min_signers {
            options.params.min_signers = n;
        }
        if let Some(bps) = args.quorum_bps {
            options.params.quorum_bps = bps;
        }
        if let Some(bond) = args.min_bond {
            options.params.min_bond = bond;
            options.params.slash_amount = options.params.slash_amount.max(bond);
        }
        deploy(&provider, &options).await.map_err(|e| e.to_string())
    })?;

    let record = herald_chain::deploy::record_path(&args.deploy_dir, deployment.chain_id);
    if json_output {
        let mut value = serde_json::to_value(&deployment).map_err(|e| e.to_string())?;
        value["reused"] = json!(reused);
        value["record"] = json!(record.display().to_string());
        println!("{value}");
    } else {
        let how = if reused { "reused" } else { "deployed" };
        println!("chain    {}", deployment.chain_id);
        println!("Herald   {} ({how})", deployment.herald.address);
        let token_kind = if deployment.test_token {
            "HeraldTestToken"
        } else {
            "existing ERC-20"
        };
        println!("token    {} ({token_kind})", deployment.token.address);
        println!("record   {}", record.display());
    }
    Ok(Outcome::Yes)
}

/// The deployer's key from the environment, with an error that never echoes the value.
pub(crate) fn signer_from_env() -> Result<PrivateKeySigner, String> {
    let key = std::env::var(KEY_VAR)
        .map_err(|_| format!("{KEY_VAR} is not set: export the deployer's private key"))?;
    key.trim()
        .parse::<PrivateKeySigner>()
        .map_err(|_| format!("{KEY_VAR} is not a 32-byte hex private key"))
}
