//! Deploying Herald and recording where it lives.
//!
//! A deployment is written to `<dir>/<chain-id>.json` and reused by later runs as long as code is
//! still at the recorded address (a restarted devnet has lost it; a live chain has not).

use std::path::{Path, PathBuf};

use alloy::{
    primitives::{Address, B256},
    providers::Provider,
};
use serde::{Deserialize, Serialize};

use crate::{
    bindings::{Herald, HeraldConfig, HeraldTestToken},
    chain_check::{ChainRisk, chain_risks},
    params::{NetworkParams, Risk},
};

/// Which settlement token to use.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum TokenChoice {
    /// An existing ERC-20.
    Existing(Address),
    /// Deploy `HeraldTestToken` (open minting; for devnets and tests only).
    TestToken,
}

/// What to deploy and where to record it.
#[derive(Clone, Debug)]
pub struct DeployOptions {
    /// The settlement token.
    pub token: TokenChoice,
    /// Holds the admin and parameter roles.
    pub admin: Address,
    /// Receives the protocol's share.
    pub treasury: Address,
    /// Folder of deployment records (`deploy/` in the repository).
    pub dir: PathBuf,
    /// Deploy again even when a usable record exists.
    pub fresh: bool,
    /// The network's parameters (later changes go through the contract's timelock).
    pub params: NetworkParams,
    /// Accept parameters that are unsafe on a public network (a devnet or a test).
    pub devnet: bool,
}

/// One deployed contract.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Deployed {
    /// Its address.
    pub address: Address,
    /// The creating transaction (`None` for a token that was already there).
    pub tx_hash: Option<B256>,
    /// The block that included it.
    pub block: Option<u64>,
}

/// The record of a Herald deployment on one chain.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Deployment {
    /// The chain's id.
    pub chain_id: u64,
    /// The Herald contract.
    pub herald: Deployed,
    /// The settlement token.
    pub token: Deployed,
    /// Whether the token is `HeraldTestToken`.
    pub test_token: bool,
}

/// Why a deployment failed.
#[derive(Debug, thiserror::Error)]
pub enum DeployError {
    /// The node refused a call or a transaction.
    #[error("rpc: {0}")]
    Rpc(String),
    /// A transaction was mined but did not create the contract.
    #[error("deploying {0} did not create a contract")]
    NoContract(&'static str),
    /// The parameters are unsafe for a public network and `devnet` was not set.
    #[error(
        "unsafe parameters for a public network: {}; pass --devnet for a local network",
        .0.iter().map(Risk::to_string).collect::<Vec<_>>().join("; ")
    )]
    Unsafe(Vec<Risk>),
    /// The chain breaks what the fraud proofs assume and `devnet` was not set.
    #[error(
        "this chain breaks what Herald's fraud proofs assume: {}; pass --devnet for a local network",
        .0.iter().map(ChainRisk::to_string).collect::<Vec<_>>().join("; ")
    )]
    UnsafeChain(Vec<ChainRisk>),
    /// A parameter does not fit the contract's field.
    #[error("{0} does not fit the contract's parameter")]
    TooLarge(&'static str),
    /// The record could not be read or written.
    #[error("{path}: {reason}")]
    Record {
        /// The record's path.
        path: PathBuf,
        /// What went wrong.
        reason: String,
    },
}

/// The path of a chain's record in `dir`.
pub fn record_path(dir: &Path, chain_id: u64) -> PathBuf {
    dir.join(format!("{chain_id}.json"))
}

/// Reads a chain's record, if there is one.
pub fn load(dir: &Path, chain_id: u64) -> Result<Option<Deployment>, DeployError> {
    let path = record_path(dir, chain_id);
    match std::fs::read_to_string(&path) {
        Ok(text) => serde_json::from_str(&text)
            .map(Some)
            .map_err(|e| DeployError::Record {
                path,
                reason: format!("not a deployment record: {e}"),
            }),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(DeployError::Record {
            path,
            reason: e.to_string(),
        }),
    }
}

/// Deploys Herald (and a test token if asked), or reuses the chain's record when its contract is
/// still there. Returns the deployment and whether it was reused.
pub async fn deploy<P: Provider>(
    provider: &P,
    options: &DeployOptions,
) -> Result<(Deployment, bool), DeployError> {
    let rpc = |e: alloy::transports::TransportError| DeployError::Rpc(e.to_string());
    let risks = options.params.public_risks();
    if !options.devnet && !risks.is_empty() {
        return Err(DeployError::Unsafe(risks));
    }
    if !options.devnet {
        let risks = chain_risks(provider).await.map_err(DeployError::Rpc)?;
        if !risks.is_empty() {
            return Err(DeployError::UnsafeChain(risks));
        }
    }
    let (params, slash_amount) = contract_params(&options.params)?;
    let chain_id = provider.get_chain_id().await.map_err(rpc)?;
    if !options.fresh
        && let Some(existing) = load(&options.dir, chain_id)?
    {
        let code = provider
            .get_code_at(existing.herald.address)
            .await
            .map_err(rpc)?;
        if !code.is_empty() {
            return Ok((existing, true));
        }
    }

    let (token, test_token) = match options.token {
        TokenChoice::Existing(address) => (
            Deployed {
                address,
                tx_hash: None,
                block: None,
            },
            false,
        ),
        TokenChoice::TestToken => (
            mined(HeraldTestToken::deploy_builder(provider), "HeraldTestToken").await?,
            true,
        ),
    };
    let herald = mined(
        Herald::deploy_builder(
            provider,
            token.address,
            options.admin,
            options.treasury,
            params,
            slash_amount,
        ),
        "Herald",
    )
    .await?;
    let deployment = Deployment {
        chain_id,
        herald,
        token,
        test_token,
    };
    save(&options.dir, &deployment)?;
    Ok((deployment, false))
}

/// The constructor's parameters, and its initial slash amount.
fn contract_params(
    p: &NetworkParams,
) -> Result<(HeraldConfig::Params, alloy::primitives::aliases::U96), DeployError> {
    use alloy::primitives::{aliases::U96, ruint::UintTryFrom};
    Ok((
        HeraldConfig::Params {
            protocolFeeBps: p.protocol_fee_bps,
            minSigners: p.min_signers,
            quorumBps: p.quorum_bps,
            withdrawalDelay: p.withdrawal_delay,
            activationDelay: p.activation_delay,
            unbondingDelay: p.unbonding_delay,
            slashBountyBps: p.slash_bounty_bps,
            minBond: U96::uint_try_from(p.min_bond)
                .map_err(|_| DeployError::TooLarge("min bond"))?,
        },
        U96::uint_try_from(p.slash_amount).map_err(|_| DeployError::TooLarge("slash amount"))?,
    ))
}

/// Sends a contract creation and waits for its receipt.
async fn mined<P: Provider>(
    builder: alloy::contract::RawCallBuilder<P>,
    name: &'static str,
) -> Result<Deployed, DeployError> {
    let receipt = builder
        .send()
        .await
        .map_err(|e| DeployError::Rpc(format!("deploying {name}: {e}")))?
        .get_receipt()
        .await
        .map_err(|e| DeployError::Rpc(format!("deploying {name}: {e}")))?;
    let address = receipt
        .contract_address
        .ok_or(DeployError::NoContract(name))?;
    Ok(Deployed {
        address,
        tx_hash: Some(receipt.transaction_hash),
        block: receipt.block_number,
    })
}

/// Writes a chain's record atomically (write to a temporary file, then rename).
pub fn save(dir: &Path, deployment: &Deployment) -> Result<(), DeployError> {
    let path = record_path(dir, deployment.chain_id);
    let io = |e: std::io::Error| DeployError::Record {
        path: path.clone(),
        reason: e.to_string(),
    };
    std::fs::create_dir_all(dir).map_err(io)?;
    let text =
        serde_json::to_string_pretty(deployment).expect("a deployment always serialises") + "\n";
    let tmp = path.with_extension("json.tmp");
    std::fs::write(&tmp, text).map_err(io)?;
    std::fs::rename(&tmp, &path).map_err(io)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn records_round_trip_and_bad_records_name_the_file() {
        let dir = tempfile::tempdir().expect("tempdir");
        assert_eq!(load(dir.path(), 31337).expect("no record yet"), None);
        let deployment = Deployment {
            chain_id: 31337,
            herald: Deployed {
                address: Address::repeat_byte(1),
                tx_hash: Some(B256::repeat_byte(2)),
                block: Some(3),
            },
            token: Deployed {
                address: Address::repeat_byte(4),
                tx_hash: None,
                block: None,
            },
            test_token: false,
        };
        save(dir.path(), &deployment).expect("save");
        assert_eq!(load(dir.path(), 31337).expect("load"), Some(deployment));

        std::fs::write(record_path(dir.path(), 5), "{").expect("write");
        let err = load(dir.path(), 5).expect_err("corrupt").to_string();
        assert!(err.contains("5.json: not a deployment record"), "{err}");
    }
}
