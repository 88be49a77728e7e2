//! Following a chain's logs: backfill in bounded ranges, then live blocks as they arrive, with
//! confirmations and reorg detection.
//!
//! The follower only reads. It hands out blocks' logs in order and says when a block it handed out
//! is no longer canonical; the caller stores what it was given and checkpoints the cursor in the
//! same transaction, then asks for more. New heads come from a [`HeadSource`]: a WebSocket
//! subscription when the node offers one, polling otherwise (or when the subscription drops).
//!
//! Consistency within a range: the range's last header is read before and after its logs; if the
//! two differ, the chain moved under the read and the range is read again. Across ranges: before
//! each read, the last handed-out block's hash is compared with the node's; a difference is a
//! reorg, reported with the height it was seen at.

use std::{collections::HashMap, time::Duration};

use alloy::{
    eips::{BlockId, BlockNumberOrTag},
    primitives::{Address, B256},
    providers::{DynProvider, Provider},
    rpc::types::{Filter, Header, Log},
};

use super::{EventAbi, HeadSource, LogContext};

/// How the follower reads the chain.
#[derive(Clone, Debug)]
pub struct FollowConfig {
    /// Blocks a log must be buried under before it is handed out (0: as soon as it is mined).
    pub confirmations: u64,
    /// Most blocks read by one `eth_getLogs` (halved, down to one block, when the node refuses).
    pub max_range: u64,
    /// How often to look for a new head without a subscription (and the longest wait with one).
    pub poll_interval: Duration,
}

impl Default for FollowConfig {
    fn default() -> Self {
        Self {
            confirmations: 2,
            max_range: 2_000,
            poll_interval: Duration::from_secs(2),
        }
    }
}

/// Why reading the chain failed (the caller retries; nothing was handed out).
#[derive(Debug, thiserror::Error)]
pub enum FollowError {
    /// The node refused or did not answer.
    #[error("rpc {call}: {source}")]
    Rpc {
        /// The call.
        call: &'static str,
        /// The transport's error.
        source: alloy::transports::TransportError,
    },
    /// The node answered something inconsistent (e.g. a log without a block hash).
    #[error("the node's answer to {call} is unusable: {reason}")]
    Inconsistent {
        /// The call.
        call: &'static str,
        /// What was wrong.
        reason: String,
    },
}

/// One block's logs, in log order, each with its context.
#[derive(Clone, Debug)]
pub struct BlockLogs {
    /// The block's number.
    pub number: u64,
    /// The block's hash.
    pub hash: B256,
    /// The logs, each with where it came from.
    pub logs: Vec<(Log, LogContext)>,
}

/// What a block's receipt says of one transaction, for the logs it emitted.
struct Transaction {
    index: Option<u64>,
    /// The block-wide index of its first log: a log's index within the transaction is its
    /// block-wide index minus this one.
    first_log_index: Option<u64>,
    /// An upper bound on its receipt's consensus encoding.
    receipt_bytes: usize,
    from: Address,
    to: Option<Address>,
}

/// What the follower found.
#[derive(Clone, Debug)]
pub enum Step {
    /// Blocks `from..=to`, of which those with logs are listed; `to` and `to_hash` are the new cursor.
    Blocks {
        /// First block of the range.
        from: u64,
        /// Last block of the range.
        to: u64,
        /// Its hash.
        to_hash: B256,
        /// The chain's head when the range was read (for progress).
        head: u64,
        /// Blocks that had logs.
        blocks: Vec<BlockLogs>,
    },
    /// The block last handed out at this height is no longer canonical. The caller retracts what
    /// came from replaced blocks and calls [`LogFollower::rewind`].
    Reorg {
        /// The height whose hash changed (or vanished).
        at: u64,
    },
}

/// Reads a chain's logs in order.
pub struct LogFollower {
    provider: DynProvider,
    config: FollowConfig,
    chain_id: u64,
    addresses: Option<Vec<Address>>,
    next_block: u64,
    last: Option<(u64, B256)>,
    heads: HeadSource,
}

impl LogFollower {
    /// A follower reading from `next_block`, after `last` (the cursor: its number and hash), if
    /// any, learning of new blocks from `heads`.
    pub async fn new(
        provider: DynProvider,
        heads: HeadSource,
        config: FollowConfig,
        next_block: u64,
        last: Option<(u64, B256)>,
    ) -> Result<Self, FollowError> {
        let chain_id = provider
            .get_chain_id()
            .await
            .map_err(|source| FollowError::Rpc {
                call: "eth_chainId",
                source,
            })?;
        Ok(Self {
            provider,
            config,
            chain_id,
            addresses: Some(Vec::new()),
            next_block,
            last,
            heads,
        })
    }

    /// The chain's id.
    pub fn chain_id(&self) -> u64 {
        self.chain_id
    }

    /// Whether new heads arrive by subscription (otherwise by polling).
    pub fn subscribed(&self) -> bool {
        self.heads.is_subscribed()
    }

    /// The next block to read.
    pub fn next_block(&self) -> u64 {
        self.next_block
    }

    /// Which contracts' logs to read from now on; `None` reads every contract's.
    pub fn set_addresses(&mut self, addresses: Option<Vec<Address>>) {
        self.addresses = addresses;
    }

    /// Reads on after block `number` (with `hash`), handed out earlier but only partly used: the
    /// caller cut a range short, e.g. to read the rest with a wider address filter.
    pub fn resume_after(&mut self, number: u64, hash: B256) {
        self.next_block = number + 1;
        self.last = Some((number, hash));
    }

    /// After a reorg: read again from `next_block` (the caller picks a height below the fork).
    pub fn rewind(&mut self, next_block: u64) {
        self.next_block = next_block;
        self.last = None;
    }

    /// The canonical hash at a height, if the node has a block there.
    pub async fn canonical_hash(&self, number: u64) -> Result<Option<B256>, FollowError> {
        Ok(self.header(number).await?.map(|h| h.hash))
    }

    /// Waits for blocks and returns the next step.
    pub async fn next(&mut self) -> Result<Step, FollowError> {
        loop {
            if let Some((number, hash)) = self.last
                && self.canonical_hash(number).await? != Some(hash)
            {
                return Ok(Step::Reorg { at: number });
            }
            let head =
                self.provider
                    .get_block_number()
                    .await
                    .map_err(|source| FollowError::Rpc {
                        call: "eth_blockNumber",
                        source,
                    })?;
            let safe = head.saturating_sub(self.config.confirmations);
            if self.next_block > safe {
                self.wait_for_head().await;
                continue;
            }
            let from = self.next_block;
            let to = safe.min(from.saturating_add(self.config.max_range.max(1) - 1));
            let Some((to_hash, blocks)) = self.read_range(from, to).await? else {
                continue; // the chain moved while reading: read again
            };
            self.last = Some((to, to_hash));
            self.next_block = to + 1;
            return Ok(Step::Blocks {
                from,
                to,
                to_hash,
                head,
                blocks,
            });
        }
    }

    /// Waits until a head that makes `next_block` safe is announced, or the poll interval passes.
    async fn wait_for_head(&mut self) {
        let wanted = self.next_block.saturating_add(self.config.confirmations);
        self.heads.wait(wanted, self.config.poll_interval).await;
    }

    async fn header(&self, number: u64) -> Result<Option<Header>, FollowError> {
        // (`eth_getBlockByNumber` without transactions: some nodes, anvil among them, refuse the
        // header-only form.)
        self.provider
            .get_block_by_number(BlockNumberOrTag::Number(number))
            .await
            .map(|block| block.map(|b| b.header))
            .map_err(|source| FollowError::Rpc {
                call: "eth_getBlockByNumber",
                source,
            })
    }

    /// Reads `from..=to`; `None` if the chain moved under the read.
    async fn read_range(
        &self,
        from: u64,
        to: u64,
    ) -> Result<Option<(B256, Vec<BlockLogs>)>, FollowError> {
        let Some(before) = self.header(to).await? else {
            return Ok(None);
        };
        let logs = self.logs(from, to).await?;
        let blocks = self.with_context(logs).await?;
        let after = self.header(to).await?;
        if after.map(|h| h.hash) != Some(before.hash) {
            return Ok(None);
        }
        if blocks
            .iter()
            .any(|b| b.number == to && b.hash != before.hash)
        {
            return Ok(None);
        }
        Ok(Some((before.hash, blocks)))
    }

    /// `eth_getLogs` over `from..=to`, halving the range when the node refuses it (too many
    /// results, too wide a range); a single block that is refused is an error.
    async fn logs(&self, from: u64, to: u64) -> Result<Vec<Log>, FollowError> {
        let mut pending = vec![(from, to)];
        let mut out = Vec::new();
        while let Some((from, to)) = pending.pop() {
            let mut filter = Filter::new().from_block(from).to_block(to);
            if let Some(addresses) = &self.addresses {
                if addresses.is_empty() {
                    continue;
                }
                filter = filter.address(addresses.clone());
            }
            match self.provider.get_logs(&filter).await {
                Ok(logs) => out.extend(logs),
                Err(_) if from < to => {
                    let mid = from + (to - from) / 2;
                    // Popped last-in first-out: push the upper half first to keep block order.
                    pending.push((mid + 1, to));
                    pending.push((from, mid));
                }
                Err(source) => {
                    return Err(FollowError::Rpc {
                        call: "eth_getLogs",
                        source,
                    });
                }
            }
        }
        Ok(out)
    }

    /// Groups logs by block and adds what the payload and the event id need besides the log: the
    /// block's time, each transaction's sender and recipient, and where each log sits in its
    /// transaction (one `eth_getBlockReceipts` per block with logs). A log whose position does not
    /// fit an event id is dropped with a warning: no receipt for it could settle.
    #[allow(clippy::map_entry)] // each insertion needs awaits between the check and the insert
    async fn with_context(&self, logs: Vec<Log>) -> Result<Vec<BlockLogs>, FollowError> {
        let inconsistent = |reason: &str| FollowError::Inconsistent {
            call: "eth_getLogs",
            reason: reason.to_string(),
        };
        let mut blocks: Vec<BlockLogs> = Vec::new();
        let mut times: HashMap<B256, u64> = HashMap::new();
        let mut parties: HashMap<B256, HashMap<B256, Transaction>> = HashMap::new();
        for log in logs {
            if log.removed {
                continue;
            }
            let (Some(number), Some(hash), Some(tx), Some(index)) = (
                log.block_number,
                log.block_hash,
                log.transaction_hash,
                log.log_index,
            ) else {
                return Err(inconsistent(
                    "a log without its block, transaction or index",
                ));
            };
            if !times.contains_key(&hash) {
                let time = match log.block_timestamp {
                    Some(time) => time,
                    None => {
                        self.provider
                            .get_header_by_hash(hash)
                            .await
                            .map_err(|source| FollowError::Rpc {
                                call: "eth_getBlockByHash",
                                source,
                            })?
                            .ok_or_else(|| inconsistent("a log's block is unknown"))?
                            .timestamp
                    }
                };
                times.insert(hash, time);
                let receipts = self
                    .provider
                    .get_block_receipts(BlockId::hash(hash))
                    .await
                    .map_err(|source| FollowError::Rpc {
                        call: "eth_getBlockReceipts",
                        source,
                    })?
                    .unwrap_or_default();
                parties.insert(
                    hash,
                    receipts
                        .iter()
                        .map(|r| {
                            let transaction = Transaction {
                                index: r.transaction_index,
                                first_log_index: r.inner.logs().first().and_then(|l| l.log_index),
                                receipt_bytes: super::receipt_size_bound(
                                    r.inner.logs().iter().map(|l| l.data()),
                                ),
                                from: r.from,
                                to: r.to,
                            };
                            (r.transaction_hash, transaction)
                        })
                        .collect(),
                );
            }
            let Some(transaction) = parties.get(&hash).and_then(|p| p.get(&tx)) else {
                return Err(inconsistent(
                    "a log's transaction is not among its block's receipts",
                ));
            };
            let (Some(transaction_index), Some(log_index_in_tx)) = (
                transaction.index.or(log.transaction_index),
                transaction
                    .first_log_index
                    .and_then(|first| index.checked_sub(first)),
            ) else {
                return Err(inconsistent(
                    "a log's transaction index or place among its logs is unknown",
                ));
            };
            let context = LogContext {
                chain_id: self.chain_id,
                block_number: number,
                block_hash: hash,
                block_time: times[&hash],
                transaction_hash: tx,
                log_index: index,
                transaction_index,
                log_index_in_tx,
                from: Some(transaction.from),
                to: transaction.to,
            };
            if transaction.receipt_bytes > super::MAX_PROVABLE_RECEIPT_BYTES {
                tracing::warn!(
                    block = number,
                    transaction_index,
                    receipt_bytes = transaction.receipt_bytes,
                    "a log in a receipt too large to prove in a fraud challenge: not an event"
                );
                continue;
            }
            if EventAbi::event_id(log.address(), log.data(), &context).is_none() {
                tracing::warn!(
                    block = number,
                    transaction_index,
                    log_index_in_tx,
                    "a log beyond what an event id can place (2^36 blocks, 2^14 transactions or \
                     logs): not an event"
                );
                continue;
            }
            match blocks.last_mut() {
                Some(block) if block.hash == hash => block.logs.push((log, context)),
                _ => blocks.push(BlockLogs {
                    number,
                    hash,
                    logs: vec![(log, context)],
                }),
            }
        }
        blocks.sort_by_key(|b| b.number);
        Ok(blocks)
    }
}
