// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

/// @notice One execution, as keepers sign it: "trigger `triggerId` ran for event `eventId` with result
/// `resultHash`; keeper `connector` observed the event and keeper `runner` executed the service".
/// @dev The top 64 bits of `eventId` are the event's position in its source (block number, transaction
/// and log index for a chain log, the timestamp and counter of a UUIDv7 otherwise; see `EventIds`).
/// Settlement requires the positions of one trigger's receipts to increase strictly, which is how each
/// (trigger, event) is paid at most once without a storage write per event. See docs/architecture.md,
/// "Replay protection".
struct ExecutionReceipt {
    uint64 triggerId;
    bytes32 eventId;
    bytes32 resultHash;
    address connector;
    address runner;
    uint96 runnerFee;
    uint64 executedAt;
    bool success;
}

/// @notice What a user asks for when creating a trigger. The full configuration (filters, service
/// data) travels as opaque bytes in the creation event; only what settlement enforces is stored.
struct TriggerTerms {
    uint24 connectorType;
    uint24 serviceType;
    /// @dev Most a single execution may cost, all five shares included.
    uint80 maxFeePerExecution;
    /// @dev Executions after this time are not paid; 0 means never.
    uint40 expiresAt;
    /// @dev 0 means unlimited; 1 makes a one-shot trigger.
    uint32 maxExecutions;
}

/// @notice Why a receipt in a batch was skipped rather than settled.
enum RejectReason {
    UnknownTrigger,
    StaleEvent,
    ExecutedInFuture,
    Expired,
    Paused,
    Exhausted,
    UnknownConnector,
    UnknownRunner,
    FeeAboveCap,
    InsufficientBudget,
    /// @dev A position that cannot exist yet: a log of this chain at or past the current block, or a UUID
    /// more than `UUID_CLOCK_SLACK` seconds ahead of the block time. Without it, one receipt at position
    /// 2^64 - 1 would make every later receipt of its trigger stale for ever.
    EventFromFuture,
    /// @dev A log of this chain more than the maximum event age old: it could no longer be challenged and
    /// proven within the block hashes the chain serves (see `HeraldChallenges`).
    EventTooOld
}

/// @dev How far ahead of the block time a UUIDv7's timestamp may be, in seconds: clocks drift.
uint256 constant UUID_CLOCK_SLACK = 60;

// Fraud windows, in blocks (see `HeraldChallenges`). A log of this chain settles only while at most
// `maxEventAge` blocks old, can be challenged until `maxEventAge + challengeBlocks` blocks old, and a
// challenge is answered within `responseBlocks`; so a defender always needs the hash of a block at most
// the sum of the three old. With EIP-2935 the chain serves 8,191 block hashes, and the sum is 8,000:

/// @dev With EIP-2935: most blocks a settled log of this chain may be old.
uint256 constant HISTORY_MAX_EVENT_AGE_BLOCKS = 4000;
/// @dev With EIP-2935: how much longer a settled log can still be challenged.
uint256 constant HISTORY_CHALLENGE_BLOCKS = 2000;
/// @dev With EIP-2935: how long a challenge stays open for answers.
uint256 constant HISTORY_RESPONSE_BLOCKS = 2000;

// Without EIP-2935 only the BLOCKHASH opcode's 256 blocks remain; 96 + 64 + 64 = 224 leaves a margin:

/// @dev Without EIP-2935: most blocks a settled log of this chain may be old.
uint256 constant BLOCKHASH_MAX_EVENT_AGE_BLOCKS = 96;
/// @dev Without EIP-2935: how much longer a settled log can still be challenged.
uint256 constant BLOCKHASH_CHALLENGE_BLOCKS = 64;
/// @dev Without EIP-2935: how long a challenge stays open for answers.
uint256 constant BLOCKHASH_RESPONSE_BLOCKS = 64;
