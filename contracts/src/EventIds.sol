// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

// The layout of an `eventId` (see `EventIds`), at file level so that settlement's Yul can name it.

/// @dev Bits [192,256): the position settlement orders by; for a chain log, bits [192,206) are the log's
/// index in its transaction (14 bits).
uint256 constant EVENT_POSITION_SHIFT = 192;
/// @dev Bits [220,256): the block number of a chain log (36 bits).
uint256 constant EVENT_BLOCK_SHIFT = 220;
/// @dev Bits [206,220): the transaction's index in its block (14 bits).
uint256 constant EVENT_TX_SHIFT = 206;
/// @dev Bits [128,192): the source chain id of a chain log.
uint256 constant EVENT_CHAIN_SHIFT = 128;
/// @dev Bits [208,256): the millisecond timestamp of a UUIDv7.
uint256 constant EVENT_UUID_MS_SHIFT = 208;
/// @dev Bits [0,128): the block-and-log digest of a chain log; zero for a UUID.
uint256 constant EVENT_DIGEST_MASK = 0xffffffffffffffffffffffffffffffff;
/// @dev Mask of one 14-bit index (transaction or log).
uint256 constant EVENT_INDEX_MASK = 0x3fff;
/// @dev Exclusive bound of a chain log's block number.
uint256 constant EVENT_MAX_BLOCKS = 1 << 36;

/// @title EventIds
/// @notice The layout of an `eventId`, shared by settlement (which bounds positions) and the challenge
/// contract (which proves chain logs). An id is one of three kinds:
///
/// - a log of a chain: bits [192,256) are its position `blockNumber << 28 | txIndex << 14 | logIndexInTx`,
///   bits [128,192) the chain id, bits [0,128) the low 128 bits of
///   `keccak256(abi.encodePacked(blockHash, keccak256(logRlp)))`, where `logRlp` is the log's consensus
///   RLP item `[address, [topics], data]` exactly as it sits in its receipt's log list;
/// - an off-chain event: a UUIDv7 in the top 16 bytes (its 48-bit millisecond timestamp on top), the low
///   16 bytes zero;
/// - anything else is a log of another chain, which this chain cannot check.
/// @dev The low 128 bits bind a log id to one block hash and one log, so a real log has exactly one id
/// and an id names at most one real log: that is what lets `HeraldChallenges` prove or refute it. The
/// position stays the top 64 bits because settlement's replay cursor orders receipts by them.
library EventIds {
    /// @notice A position does not fit the layout (block number >= 2^36 or an index >= 2^14).
    error PositionOutOfRange(uint256 blockNumber, uint256 txIndex, uint256 logIndexInTx);

    /// @notice Whether `id` names a log of the chain this code runs on.
    function isLocalLog(bytes32 id) internal view returns (bool) {
        return uint256(id) & EVENT_DIGEST_MASK != 0 && sourceChain(id) == block.chainid;
    }

    function sourceChain(bytes32 id) internal pure returns (uint64) {
        return uint64(uint256(id) >> EVENT_CHAIN_SHIFT);
    }

    function blockNumber(bytes32 id) internal pure returns (uint256) {
        return uint256(id) >> EVENT_BLOCK_SHIFT;
    }

    function txIndex(bytes32 id) internal pure returns (uint256) {
        return (uint256(id) >> EVENT_TX_SHIFT) & EVENT_INDEX_MASK;
    }

    function logIndexInTx(bytes32 id) internal pure returns (uint256) {
        return (uint256(id) >> EVENT_POSITION_SHIFT) & EVENT_INDEX_MASK;
    }

    /// @notice The id of the log `logRlp` hashes to, at `logIndexInTx` in transaction `txIndex` of the
    /// block `blockHash` names, on this chain.
    function localLog(
        uint256 number,
        uint256 txIndex_,
        uint256 logIndexInTx_,
        bytes32 blockHash,
        bytes32 logHash
    ) internal view returns (bytes32) {
        if (number >= EVENT_MAX_BLOCKS || txIndex_ > EVENT_INDEX_MASK || logIndexInTx_ > EVENT_INDEX_MASK) {
            revert PositionOutOfRange(number, txIndex_, logIndexInTx_);
        }
        uint256 digest = uint256(keccak256(abi.encodePacked(blockHash, logHash))) & EVENT_DIGEST_MASK;
        return bytes32(
            (number << EVENT_BLOCK_SHIFT) | (txIndex_ << EVENT_TX_SHIFT)
                | (logIndexInTx_ << EVENT_POSITION_SHIFT)
                | (uint256(uint64(block.chainid)) << EVENT_CHAIN_SHIFT) | digest
        );
    }
}
