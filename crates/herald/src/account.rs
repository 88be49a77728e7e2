//! `herald deposit | withdraw | balance | claim`: a user's money in Herald.

use alloy::primitives::{Address, U256, aliases::U96};
use clap::{Args, Subcommand};
use herald_chain::bindings::HeraldTestToken;
use serde_json::json;

use crate::{
    Outcome,
    output::report,
    session::{ChainArgs, Session, narrow},
};

#[derive(Args)]
pub(crate) struct DepositArgs {
    #[command(flatten)]
    chain: ChainArgs,
    /// Tokens to deposit (e.g. 1.5); approves Herald first if needed.
    amount: String,
}

#[derive(Subcommand)]
pub(crate) enum WithdrawCommand {
    /// Take tokens out of your unallocated balance (immediate).
    Balance {
        #[command(flatten)]
        chain: ChainArgs,
        /// Tokens to withdraw.
        amount: String,
        /// Where to send them (default: you).
        #[arg(long)]
        to: Option<Address>,
    },
    /// Ask for budget back from a trigger; it keeps paying for executions until completed.
    Request {
        #[command(flatten)]
        chain: ChainArgs,
        /// The trigger's id.
        trigger: u64,
        /// Tokens to take back.
        amount: String,
    },
    /// Move a requested budget withdrawal, after its delay, back to your balance.
    Complete {
        #[command(flatten)]
        chain: ChainArgs,
        /// The trigger's id.
        trigger: u64,
    },
}

#[derive(Args)]
pub(crate) struct BalanceArgs {
    #[command(flatten)]
    chain: ChainArgs,
    /// Whose balance (default: the account of HERALD_PRIVATE_KEY).
    address: Option<Address>,
}

#[derive(Args)]
pub(crate) struct ClaimArgs {
    #[command(flatten)]
    chain: ChainArgs,
    /// Where to send the rewards (default: you).
    #[arg(long)]
    to: Option<Address>,
}

pub(crate) async fn deposit(args: DepositArgs, json_output: bool) -> Result<Outcome, String> {
    let s = args.chain.write().await?;
    let amount = s.parse_amount("amount", &args.amount)?;
    s.allow_herald(amount).await?;
    let receipt = s.send("deposit", s.contract().deposit(amount)).await?;
    let balance = unallocated(&s, s.account()).await?;
    report(
        json_output,
        json!({"deposited": amount.to_string(), "balance": balance.to_string(),
               "tx": receipt.transaction_hash}),
        format!(
            "deposited {} (balance {})  tx {}",
            s.format(amount),
            s.format(balance),
            receipt.transaction_hash
        ),
    )
}

pub(crate) async fn withdraw(
    command: WithdrawCommand,
    json_output: bool,
) -> Result<Outcome, String> {
    match command {
        WithdrawCommand::Balance { chain, amount, to } => {
            let s = chain.write().await?;
            let amount = s.parse_amount("amount", &amount)?;
            let balance = unallocated(&s, s.account()).await?;
            if balance < amount {
                return Err(format!(
                    "insufficient balance: {} deposited and unallocated, {} requested",
                    s.format(balance),
                    s.format(amount)
                ));
            }
            let to = to.unwrap_or(s.account());
            let receipt = s
                .send("withdraw", s.contract().withdraw(amount, to))
                .await?;
            report(
                json_output,
                json!({"withdrawn": amount.to_string(), "to": to, "tx": receipt.transaction_hash}),
                format!(
                    "withdrew {} to {to:#x}  tx {}",
                    s.format(amount),
                    receipt.transaction_hash
                ),
            )
        }
        WithdrawCommand::Request {
            chain,
            trigger,
            amount,
        } => {
            let s = chain.write().await?;
            let amount = s.parse_amount("amount", &amount)?;
            crate::trigger_read::owned_trigger(&s, trigger).await?;
            let amount96: U96 = narrow("amount", amount)?;
            let receipt = s
                .send(
                    &format!("requestWithdrawal for trigger #{trigger}"),
                    s.contract().requestWithdrawal(trigger, amount96),
                )
                .await?;
            let unlocks = receipt
                .decoded_log::<herald_chain::bindings::Herald::BudgetWithdrawalRequested>()
                .map(|l| l.data.unlocksAt.to::<u64>())
                .unwrap_or_default();
            report(
                json_output,
                json!({"trigger": trigger, "requested": amount.to_string(), "unlocks_at": unlocks,
                       "tx": receipt.transaction_hash}),
                format!(
                    "requested {} from trigger #{trigger}; complete it after {} (unix time)  tx {}",
                    s.format(amount),
                    unlocks,
                    receipt.transaction_hash
                ),
            )
        }
        WithdrawCommand::Complete { chain, trigger } => {
            let s = chain.write().await?;
            crate::trigger_read::owned_trigger(&s, trigger).await?;
            let receipt = s
                .send(
                    &format!("completeWithdrawal for trigger #{trigger}"),
                    s.contract().completeWithdrawal(trigger),
                )
                .await?;
            let amount = receipt
                .decoded_log::<herald_chain::bindings::Herald::BudgetWithdrawn>()
                .map(|l| U256::from(l.data.amount))
                .unwrap_or_default();
            report(
                json_output,
                json!({"trigger": trigger, "withdrawn": amount.to_string(),
                       "tx": receipt.transaction_hash}),
                format!(
                    "moved {} from trigger #{trigger} back to your balance  tx {}",
                    s.format(amount),
                    receipt.transaction_hash
                ),
            )
        }
    }
}

pub(crate) async fn balance(args: BalanceArgs, json_output: bool) -> Result<Outcome, String> {
    let (s, who) = match args.address {
        Some(address) => (args.chain.read().await?, address),
        None => {
            let s = args.chain.write().await?;
            let who = s.account();
            (s, who)
        }
    };
    let token = HeraldTestToken::new(s.token, &s.provider);
    let wallet = token
        .balanceOf(who)
        .call()
        .await
        .map_err(|e| e.to_string())?;
    let deposited = unallocated(&s, who).await?;
    let claimable = s
        .contract()
        .claimable(who)
        .call()
        .await
        .map_err(|e| e.to_string())?;
    let triggers = crate::trigger_read::triggers_of(&s, Some(who)).await?;
    let budgets: U256 = triggers.iter().map(|t| t.budget).sum();
    if json_output {
        println!(
            "{}",
            json!({
                "address": who,
                "wallet": wallet.to_string(),
                "unallocated": deposited.to_string(),
                "trigger_budgets": budgets.to_string(),
                "claimable": claimable.to_string(),
                "triggers": triggers.iter().map(|t| json!({"id": t.id, "budget": t.budget.to_string()})).collect::<Vec<_>>(),
            })
        );
    } else {
        println!("address          {who:#x}");
        println!("wallet           {}", s.format(wallet));
        println!(
            "deposited        {} (unallocated, withdrawable now)",
            s.format(deposited)
        );
        println!(
            "trigger budgets  {} across {} trigger(s)",
            s.format(budgets),
            triggers.len()
        );
        println!(
            "claimable        {} (rewards; `herald claim`)",
            s.format(claimable)
        );
    }
    Ok(Outcome::Yes)
}

pub(crate) async fn claim(args: ClaimArgs, json_output: bool) -> Result<Outcome, String> {
    let s = args.chain.write().await?;
    let claimable = s
        .contract()
        .claimable(s.account())
        .call()
        .await
        .map_err(|e| e.to_string())?;
    if claimable.is_zero() {
        return Err(format!(
            "nothing to claim: {:#x} has no rewards",
            s.account()
        ));
    }
    // A keeper's rewards go to its bond's owner only (a stolen node key cannot take them).
    let bond_owner = s
        .contract()
        .keeper(s.account())
        .call()
        .await
        .map_err(|e| e.to_string())?
        .owner;
    let to = match (args.to, bond_owner) {
        (Some(to), owner) if !owner.is_zero() && owner != s.account() && to != owner => {
            return Err(format!(
                "--to {to:#x}: {:#x} is a keeper whose rewards go to its bond owner {owner:#x} only",
                s.account()
            ));
        }
        (Some(to), _) => to,
        (None, owner) if !owner.is_zero() => owner,
        (None, _) => s.account(),
    };
    let receipt = s.send("claim", s.contract().claim(to)).await?;
    report(
        json_output,
        json!({"claimed": claimable.to_string(), "to": to, "tx": receipt.transaction_hash}),
        format!(
            "claimed {} to {to:#x}  tx {}",
            s.format(claimable),
            receipt.transaction_hash
        ),
    )
}

async fn unallocated(s: &Session, who: Address) -> Result<U256, String> {
    s.contract()
        .balanceOf(who)
        .call()
        .await
        .map_err(|e| e.to_string())
}
