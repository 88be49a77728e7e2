//! `herald keeper register | bond | unbond | status`: a keeper's stake on chain.

use alloy::primitives::{Address, U256, aliases::U96};
use serde_json::json;

use crate::{
    Outcome,
    output::report,
    session::{ChainArgs, narrow},
};

pub(crate) async fn register(
    chain: ChainArgs,
    bond: String,
    endpoint: String,
    bond_owner: Option<Address>,
    json_output: bool,
) -> Result<Outcome, String> {
    if !(endpoint.starts_with("http://") || endpoint.starts_with("https://")) {
        return Err(format!(
            "--endpoint: expected an http:// or https:// URL, found {endpoint:?}"
        ));
    }
    let s = chain.write().await?;
    let amount = s.parse_amount("--bond", &bond)?;
    let current = s
        .contract()
        .keeper(s.account())
        .call()
        .await
        .map_err(|e| e.to_string())?;
    if current.activeFrom.to::<u64>() != 0 {
        return Err(format!(
            "{:#x} is already registered (bond {}); use `herald keeper bond` to add to it",
            s.account(),
            s.format(U256::from(current.bond))
        ));
    }
    s.allow_herald(amount).await?;
    let bond96: U96 = narrow("--bond", amount)?;
    let owner = bond_owner.unwrap_or(s.account());
    let receipt = s
        .send(
            "registerKeeper",
            s.contract().registerKeeper(bond96, endpoint.clone(), owner),
        )
        .await?;
    // Owners seal triggers' secrets to this key; the keeper publishes it again at start if its
    // configuration names another.
    let encryption = match std::env::var("HERALD_ENCRYPTION_KEY") {
        Ok(hex) => herald_seal::EncryptionKey::from_hex(&hex)
            .map_err(|_| "HERALD_ENCRYPTION_KEY is not a 32-byte hex X25519 key".to_string())?,
        Err(_) => {
            herald_seal::EncryptionKey::for_keeper(&crate::deploy::signer_from_env()?.to_bytes().0)
        }
    }
    .public_key();
    s.send(
        "setEncryptionKey",
        s.contract().setEncryptionKey(encryption.as_bytes().into()),
    )
    .await?;
    report(
        json_output,
        json!({"keeper": s.account(), "bond_owner": owner, "bond": amount.to_string(),
               "endpoint": endpoint, "encryption_key": encryption.to_string(),
               "tx": receipt.transaction_hash}),
        format!(
            "registered {:#x} with a bond of {} owned by {}, at {endpoint}, encryption key \
             {encryption}  tx {}",
            s.account(),
            s.format(amount),
            if owner == s.account() {
                "its own key (no --bond-owner)".to_string()
            } else {
                format!("{owner:#x}")
            },
            receipt.transaction_hash
        ),
    )
}

pub(crate) async fn bond(
    chain: ChainArgs,
    amount: String,
    json_output: bool,
) -> Result<Outcome, String> {
    let s = chain.write().await?;
    let amount = s.parse_amount("amount", &amount)?;
    s.allow_herald(amount).await?;
    let amount96: U96 = narrow("amount", amount)?;
    let receipt = s.send("addBond", s.contract().addBond(amount96)).await?;
    let bond = U256::from(
        s.contract()
            .keeper(s.account())
            .call()
            .await
            .map_err(|e| e.to_string())?
            .bond,
    );
    report(
        json_output,
        json!({"keeper": s.account(), "bond": bond.to_string(), "tx": receipt.transaction_hash}),
        format!(
            "bond is now {}  tx {}",
            s.format(bond),
            receipt.transaction_hash
        ),
    )
}

pub(crate) async fn unbond(
    chain: ChainArgs,
    withdraw: bool,
    keeper: Option<Address>,
    json_output: bool,
) -> Result<Outcome, String> {
    let s = chain.write().await?;
    let me = s.account();
    let keeper = keeper.unwrap_or(me);
    let before = s
        .contract()
        .keeper(keeper)
        .call()
        .await
        .map_err(|e| e.to_string())?;
    if before.activeFrom.to::<u64>() == 0 {
        return Err(format!("{keeper:#x} is not a registered keeper"));
    }
    // Said here rather than as a revert: only the owner's cold key withdraws.
    if withdraw && before.owner != me {
        return Err(format!(
            "the bond of {keeper:#x} belongs to {:#x}: run this with that key in \
             HERALD_PRIVATE_KEY (and --keeper {keeper:#x})",
            before.owner
        ));
    }
    let receipt = if withdraw {
        s.send("withdrawBond", s.contract().withdrawBond(keeper, me))
            .await?
    } else {
        s.send("requestUnbond", s.contract().requestUnbond(keeper))
            .await?
    };
    let k = s
        .contract()
        .keeper(keeper)
        .call()
        .await
        .map_err(|e| e.to_string())?;
    let unbonds_at = k.unbondsAt.to::<u64>();
    report(
        json_output,
        json!({"keeper": keeper, "withdrawn": withdraw, "unbonds_at": unbonds_at,
               "tx": receipt.transaction_hash}),
        if withdraw {
            format!(
                "bond of {keeper:#x} withdrawn to {me:#x}  tx {}",
                receipt.transaction_hash
            )
        } else {
            format!(
                "unbonding: inactive now, bond withdrawable after {unbonds_at} (unix time)  tx {}",
                receipt.transaction_hash
            )
        },
    )
}

pub(crate) async fn status(
    chain: ChainArgs,
    address: Option<Address>,
    json_output: bool,
) -> Result<Outcome, String> {
    let (s, who) = match address {
        Some(a) => (chain.read().await?, a),
        None => {
            let s = chain.write().await?;
            let who = s.account();
            (s, who)
        }
    };
    let contract = s.contract();
    let k = contract
        .keeper(who)
        .call()
        .await
        .map_err(|e| e.to_string())?;
    if k.activeFrom.to::<u64>() == 0 {
        return Err(format!("{who:#x} is not a registered keeper"));
    }
    let active = contract
        .isActiveKeeper(who)
        .call()
        .await
        .map_err(|e| e.to_string())?;
    let claimable = contract
        .claimable(who)
        .call()
        .await
        .map_err(|e| e.to_string())?;
    let bond = U256::from(k.bond);
    let state = herald_chain::state::keeper_state(active, k.unbondsAt.to());
    let peers = peers_seen_by(&k.endpoint).await;
    if json_output {
        let (peers, peers_error) = match peers {
            Ok(peers) => (serde_json::Value::Array(peers), None),
            Err(e) => (serde_json::Value::Null, Some(e)),
        };
        println!(
            "{}",
            json!({"keeper": who, "state": state, "bond": bond.to_string(),
                   "active_from": k.activeFrom.to::<u64>(), "unbonds_at": k.unbondsAt.to::<u64>(),
                   "endpoint": k.endpoint, "bond_owner": k.owner, "claimable": claimable.to_string(),
                   "peers": peers, "peers_error": peers_error})
        );
    } else {
        println!("keeper     {who:#x} ({state})");
        println!("bond       {} (owned by {:#x})", s.format(bond), k.owner);
        println!("endpoint   {}", k.endpoint);
        println!("claimable  {}", s.format(claimable));
        match peers {
            Ok(peers) => {
                println!("peers, as this keeper sees them:");
                println!(
                    "  {:<42}  {:<7}  {:<25}  {:>8}  {:>8}",
                    "keeper", "state", "last seen", "executed", "attested"
                );
                for p in peers {
                    let text = |field: &str| p[field].as_str().unwrap_or("-").to_string();
                    let state = match (p["online"].as_bool(), p["active"].as_bool()) {
                        (Some(true), _) => "online",
                        (_, Some(false)) => "inactive",
                        _ => "offline",
                    };
                    let me = if p["self"] == true { " (this)" } else { "" };
                    println!(
                        "  {:<42}  {:<7}  {:<25}  {:>8}  {:>8}{me}",
                        text("address"),
                        state,
                        text("last_seen"),
                        p["executed"],
                        p["attested"],
                    );
                }
            }
            Err(e) => println!("peers      {e}"),
        }
    }
    Ok(Outcome::Yes)
}

/// The peers a keeper reports at its endpoint's `GET /v1/peers`.
async fn peers_seen_by(endpoint: &str) -> Result<Vec<serde_json::Value>, String> {
    let url = format!("{}/v1/peers", endpoint.trim_end_matches('/'));
    let unreachable =
        |e: reqwest::Error| format!("not reachable at {url} ({e}): is the keeper running?");
    let body: serde_json::Value = reqwest::Client::builder()
        .timeout(std::time::Duration::from_secs(3))
        .build()
        .map_err(|e| e.to_string())?
        .get(&url)
        .send()
        .await
        .map_err(unreachable)?
        .error_for_status()
        .map_err(unreachable)?
        .json()
        .await
        .map_err(|e| format!("{url} answered something other than a peer list: {e}"))?;
    Ok(body["peers"].as_array().cloned().unwrap_or_default())
}
