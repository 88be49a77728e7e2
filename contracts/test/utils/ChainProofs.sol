// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

import {RLP} from "@openzeppelin/contracts/utils/RLP.sol";

/// @dev Builds what a keeper hands `HeraldChallenges.respond`: consensus encodings of logs, receipts,
/// receipts-trie nodes and a Prague block header, with OpenZeppelin's RLP encoder. Only the trie's
/// node shapes (hex-prefix paths, hash-or-inline references) are spelled out here; the tests assemble
/// the tries node by node, as a client's `eth_getProof`-style proof would list them.
library ChainProofs {
    struct Log {
        address emitter;
        bytes32[] topics;
        bytes data;
    }

    /// @dev keccak256(rlp([])): every post-merge header's ommers hash.
    bytes32 internal constant EMPTY_OMMERS =
        0x1dcc4de8dec75d7aab85b567b6ccd41ad312451b948a7413f0a142fd40d49347;
    /// @dev sha256(""): the EIP-7685 requests hash of a block without requests.
    bytes32 internal constant EMPTY_REQUESTS =
        0xe3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855;

    /// @dev The log's RLP item [address, [topics], data], as it sits in its receipt.
    function encodeLog(Log memory log) internal pure returns (bytes memory) {
        bytes[] memory topics = new bytes[](log.topics.length);
        for (uint256 i; i < topics.length; ++i) {
            topics[i] = RLP.encode(log.topics[i]);
        }
        bytes[] memory item = new bytes[](3);
        item[0] = RLP.encode(log.emitter);
        item[1] = RLP.encode(topics);
        item[2] = RLP.encode(log.data);
        return RLP.encode(item);
    }

    /// @dev A successful receipt holding `logRlps`: EIP-2718 typed (`txType` then the list), or legacy
    /// (the bare list) for `txType` 0.
    function encodeReceipt(uint8 txType, uint256 cumulativeGas, bytes[] memory logRlps)
        internal
        pure
        returns (bytes memory)
    {
        bytes[] memory fields = new bytes[](4);
        fields[0] = RLP.encode(uint256(1));
        fields[1] = RLP.encode(cumulativeGas);
        fields[2] = RLP.encode(new bytes(256));
        fields[3] = RLP.encode(logRlps);
        bytes memory list = RLP.encode(fields);
        return txType == 0 ? list : bytes.concat(bytes1(txType), list);
    }

    /// @dev A leaf node: the rest of its key `nibbles` (hex-prefix encoded) and its value.
    function leaf(bytes memory nibbles, bytes memory value) internal pure returns (bytes memory) {
        bytes[] memory item = new bytes[](2);
        item[0] = RLP.encode(hexPrefix(nibbles));
        item[1] = RLP.encode(value);
        return RLP.encode(item);
    }

    /// @dev A branch node over 16 child references (empty for none) and no value.
    function branch(bytes[16] memory children) internal pure returns (bytes memory) {
        bytes[] memory item = new bytes[](17);
        for (uint256 i; i < 16; ++i) {
            item[i] = children[i].length == 0 ? RLP.encode(new bytes(0)) : children[i];
        }
        item[16] = RLP.encode(new bytes(0));
        return RLP.encode(item);
    }

    /// @dev How a parent refers to `node`: by hash when its encoding is 32 bytes or more, inline below.
    function ref(bytes memory node) internal pure returns (bytes memory) {
        return node.length >= 32 ? RLP.encode(keccak256(node)) : node;
    }

    /// @dev The trie key of transaction `txIndex`, as nibbles: rlp(txIndex), split.
    function keyNibbles(uint256 txIndex) internal pure returns (bytes memory nibbles) {
        bytes memory key = RLP.encode(txIndex);
        nibbles = new bytes(key.length * 2);
        for (uint256 i; i < key.length; ++i) {
            nibbles[2 * i] = bytes1(uint8(key[i]) >> 4);
            nibbles[2 * i + 1] = bytes1(uint8(key[i]) & 0x0f);
        }
    }

    /// @dev The nibbles from `start` on.
    function tail(bytes memory nibbles, uint256 start) internal pure returns (bytes memory rest) {
        rest = new bytes(nibbles.length - start);
        for (uint256 i; i < rest.length; ++i) {
            rest[i] = nibbles[start + i];
        }
    }

    /// @dev A Prague-shaped header (21 fields, through `requestsHash`) of block `number`.
    function header(uint256 number, bytes32 receiptsRoot) internal pure returns (bytes memory) {
        bytes[] memory f = new bytes[](21);
        f[0] = RLP.encode(keccak256(abi.encode("parent", number)));
        f[1] = RLP.encode(EMPTY_OMMERS);
        f[2] = RLP.encode(address(0x95222290DD7278Aa3Ddd389Cc1E1d165CC4BAfe5));
        f[3] = RLP.encode(keccak256(abi.encode("state", number)));
        f[4] = RLP.encode(keccak256(abi.encode("transactions", number)));
        f[5] = RLP.encode(receiptsRoot);
        f[6] = RLP.encode(new bytes(256));
        f[7] = RLP.encode(uint256(0));
        f[8] = RLP.encode(number);
        f[9] = RLP.encode(uint256(36_000_000));
        f[10] = RLP.encode(uint256(12_345_678));
        f[11] = RLP.encode(uint256(1_700_000_000 + 12 * number));
        f[12] = RLP.encode(bytes("beaverbuild.org"));
        f[13] = RLP.encode(keccak256(abi.encode("randao", number)));
        f[14] = RLP.encode(abi.encodePacked(bytes8(0)));
        f[15] = RLP.encode(uint256(3_141_592_653));
        f[16] = RLP.encode(keccak256(abi.encode("withdrawals", number)));
        f[17] = RLP.encode(uint256(393_216));
        f[18] = RLP.encode(uint256(0));
        f[19] = RLP.encode(keccak256(abi.encode("beacon", number)));
        f[20] = RLP.encode(EMPTY_REQUESTS);
        return RLP.encode(f);
    }

    /// @dev Hex-prefix encoding of a leaf's path (flag 2, plus 1 when the length is odd).
    function hexPrefix(bytes memory nibbles) internal pure returns (bytes memory out) {
        uint256 n = nibbles.length;
        bool odd = n % 2 == 1;
        out = new bytes(n / 2 + 1);
        uint256 first = odd ? 1 : 0;
        out[0] = bytes1(uint8(((2 + first) << 4) | (odd ? uint8(nibbles[0]) : 0)));
        for (uint256 i = first; i < n; i += 2) {
            out[(i - first) / 2 + 1] = bytes1((uint8(nibbles[i]) << 4) | uint8(nibbles[i + 1]));
        }
    }
}
