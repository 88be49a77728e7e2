// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

/// @notice One execution, as keepers sign it: "trigger `triggerId` ran for event `eventId` with result
/// `resultHash`; keeper `connector` observed the event and keeper `runner` executed the service".
/// @dev The top 64 bits of `eventId` are the event's position in its source (block number and log
/// index for a chain log, the timestamp and counter of a UUIDv7 otherwise). Settlement requires the
/// positions of one trigger's receipts to increase strictly, which is how each (trigger, event) is paid
/// at most once without a storage write per event. See docs/architecture.md, "Replay protection".
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
    InsufficientBudget
}
