// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

import {HeraldChallenges} from "../../src/HeraldChallenges.sol";
import {ExecutionReceipt} from "../../src/HeraldTypes.sol";
import {HeraldConfig} from "../../src/modules/HeraldConfig.sol";
import {ChainProofs} from "./ChainProofs.sol";
import {HeraldFixture} from "./HeraldFixture.sol";
import {RLP} from "@openzeppelin/contracts/utils/RLP.sol";

/// @dev The Herald fixture at block `START`, with a trigger, a funded challenger, and blocks of this chain
/// to prove against: receipts with logs, their receipts trie, and a Prague header whose hash the chain
/// serves (`vm.setBlockhash`).
abstract contract ChallengeFixture is HeraldFixture {
    /// @dev A mined block: for each listed transaction its index, its receipts-trie proof and its logs.
    struct MinedBlock {
        uint256 number;
        bytes header;
        bytes32 hash;
        uint256[] txs;
        bytes[][] proofs;
        bytes[][] logs;
    }

    uint256 internal constant START = 10_000;
    uint96 internal constant MIN_BOND = 100e18;

    HeraldChallenges internal challenges;
    address internal challenger = makeAddr("challenger");
    address internal defender = makeAddr("defender");
    uint64 internal id;

    function setUp() public virtual override {
        vm.roll(START);
        super.setUp();
        challenges = herald.challenges();
        id = createTrigger(user, 10e18);
        vm.warp(block.timestamp + 1);
        token.mint(challenger, 1000e18);
        vm.prank(challenger);
        token.approve(address(challenges), type(uint256).max);
    }

    /// @dev The fixture's parameters with a minimum bond worth a challenge bond (a tenth of it).
    function initialParams() internal pure virtual override returns (HeraldConfig.Params memory p) {
        p = super.initialParams();
        p.minBond = MIN_BOND;
    }

    // ------------------------------------------------------------------ blocks

    /// @dev One typed transaction with two logs: the receipts trie is a single leaf (key 0x80).
    function mineSingleTxBlock(uint256 number) internal returns (MinedBlock memory b) {
        b = _alloc(number, 1);
        b.logs[0] = _logs(number, 2);
        bytes memory leafNode =
            ChainProofs.leaf(ChainProofs.keyNibbles(0), ChainProofs.encodeReceipt(2, 46_109, b.logs[0]));
        b.proofs[0] = _proof(leafNode);
        _seal(b, keccak256(leafNode));
    }

    /// @dev Three transactions (keys 0x80, 0x01, 0x02): two typed receipts and a legacy one, under a root
    /// branch whose slot 0 is a second branch. Transaction 1 has three logs, the others two and one.
    function mineThreeTxBlock(uint256 number) internal returns (MinedBlock memory b) {
        b = _alloc(number, 3);
        b.logs[0] = _logs(number, 2);
        b.logs[1] = _logs(number + 1, 3);
        b.logs[2] = _logs(number + 2, 1);
        bytes memory leaf0 = ChainProofs.leaf(
            ChainProofs.tail(ChainProofs.keyNibbles(0), 1), ChainProofs.encodeReceipt(2, 51_000, b.logs[0])
        );
        bytes memory leaf1 = ChainProofs.leaf(
            ChainProofs.tail(ChainProofs.keyNibbles(1), 2), ChainProofs.encodeReceipt(2, 140_000, b.logs[1])
        );
        bytes memory leaf2 = ChainProofs.leaf(
            ChainProofs.tail(ChainProofs.keyNibbles(2), 2), ChainProofs.encodeReceipt(0, 161_000, b.logs[2])
        );
        bytes[16] memory children;
        children[1] = ChainProofs.ref(leaf1);
        children[2] = ChainProofs.ref(leaf2);
        bytes memory sub = ChainProofs.branch(children);
        delete children;
        children[0] = ChainProofs.ref(sub);
        children[8] = ChainProofs.ref(leaf0);
        bytes memory root = ChainProofs.branch(children);
        b.txs[1] = 1;
        b.txs[2] = 2;
        b.proofs[0] = _proof(root, leaf0);
        b.proofs[1] = _proof(root, sub, leaf1);
        b.proofs[2] = _proof(root, sub, leaf2);
        _seal(b, keccak256(root));
    }

    /// @dev The shape of a busy block's proof: transaction 50 (key 0x32) under a root branch with nine
    /// children and a full 16-child branch, its receipt holding an ERC-20 Transfer and a swap log.
    function mineBusyBlock(uint256 number) internal returns (MinedBlock memory b) {
        b = _alloc(number, 1);
        b.txs[0] = 50;
        bytes[] memory logs = new bytes[](2);
        bytes32[] memory topics = new bytes32[](3);
        topics[0] = keccak256("Transfer(address,address,uint256)");
        topics[1] = bytes32(uint256(uint160(makeAddr("from"))));
        topics[2] = bytes32(uint256(uint160(makeAddr("pool"))));
        logs[0] = ChainProofs.encodeLog(
            ChainProofs.Log({emitter: makeAddr("usdc"), topics: topics, data: abi.encode(uint256(2500e6))})
        );
        topics[0] = keccak256("Swap(address,address,int256,int256,uint160,uint128,int24)");
        topics[1] = bytes32(uint256(uint160(makeAddr("router"))));
        logs[1] = ChainProofs.encodeLog(
            ChainProofs.Log({
                emitter: makeAddr("pool"),
                topics: topics,
                data: abi.encode(
                    int256(-1e18), int256(2500e6), uint160(1 << 96), uint128(1e21), int24(-197_000)
                )
            })
        );
        b.logs[0] = logs;
        bytes memory leafNode = ChainProofs.leaf(
            ChainProofs.tail(ChainProofs.keyNibbles(50), 2), ChainProofs.encodeReceipt(2, 7_654_321, logs)
        );
        bytes[16] memory children;
        for (uint256 i; i < 16; ++i) {
            children[i] = RLP.encode(keccak256(abi.encode("sibling", i)));
        }
        children[2] = ChainProofs.ref(leafNode);
        bytes memory mid = ChainProofs.branch(children);
        delete children;
        for (uint256 i; i < 9; ++i) {
            children[i] = RLP.encode(keccak256(abi.encode("root child", i)));
        }
        children[3] = ChainProofs.ref(mid);
        bytes memory root = ChainProofs.branch(children);
        b.proofs[0] = _proof(root, mid, leafNode);
        _seal(b, keccak256(root));
    }

    /// @dev The id of log `logIndexInTx` of listed transaction `k`.
    function logId(MinedBlock memory b, uint256 k, uint256 logIndexInTx) internal view returns (bytes32) {
        bytes32 digest = keccak256(abi.encodePacked(b.hash, keccak256(b.logs[k][logIndexInTx])));
        return localLogId(b.number, b.txs[k], logIndexInTx, uint128(uint256(digest)));
    }

    /// @dev A receipt for a log of this chain, observed and run by keepers 0 and 1.
    function logReceipt(bytes32 eventId) internal view returns (ExecutionReceipt memory r) {
        r = receipt(id, 0);
        r.eventId = eventId;
    }

    /// @dev A log of this chain at (`blockNumber`, `txIndex`, 0) that no block holds.
    function fakeLogId(uint256 blockNumber, uint256 txIndex) internal view returns (bytes32) {
        return localLogId(blockNumber, txIndex, 0, uint128(uint256(keccak256(abi.encode("fake", txIndex)))));
    }

    // ------------------------------------------------------------------ challenges

    function challengeAs(
        address who,
        ExecutionReceipt[] memory rs,
        bytes[] memory sigs,
        uint256[] memory challenged
    ) internal returns (bytes32) {
        vm.prank(who);
        return challenges.challenge(rs, sigs, challenged);
    }

    function challenge(ExecutionReceipt[] memory rs, bytes[] memory sigs, uint256[] memory challenged)
        internal
        returns (bytes32)
    {
        return challengeAs(challenger, rs, sigs, challenged);
    }

    function indexes(uint256 count) internal pure returns (uint256[] memory all) {
        all = new uint256[](count);
        for (uint256 i; i < count; ++i) {
            all[i] = i;
        }
    }

    function answer(bytes32 challengeId, MinedBlock memory b, uint256 k, uint256 logIndexInTx) internal {
        vm.prank(defender);
        challenges.respond(challengeId, logId(b, k, logIndexInTx), b.header, b.proofs[k]);
    }

    /// @dev `count` fresh keepers bonding `bond` each, and their keys.
    function sybils(uint256 count, uint96 bond)
        internal
        returns (address[] memory accounts, uint256[] memory keys)
    {
        accounts = new address[](count);
        keys = new uint256[](count);
        for (uint256 i; i < count; ++i) {
            (accounts[i], keys[i]) = makeAddrAndKey(string.concat("sybil", vm.toString(i)));
            registerKeeper(accounts[i], bond);
        }
    }

    // ------------------------------------------------------------------ internals

    function _alloc(uint256 number, uint256 txs) private pure returns (MinedBlock memory b) {
        b.number = number;
        b.txs = new uint256[](txs);
        b.proofs = new bytes[][](txs);
        b.logs = new bytes[][](txs);
    }

    function _seal(MinedBlock memory b, bytes32 receiptsRoot) private {
        b.header = ChainProofs.header(b.number, receiptsRoot);
        b.hash = keccak256(b.header);
        vm.setBlockhash(b.number, b.hash);
    }

    /// @dev `count` Transfer-shaped logs, distinct per `seed`.
    function _logs(uint256 seed, uint256 count) private pure returns (bytes[] memory logs) {
        logs = new bytes[](count);
        bytes32[] memory topics = new bytes32[](3);
        topics[0] = keccak256("Transfer(address,address,uint256)");
        for (uint256 i; i < count; ++i) {
            topics[1] = bytes32(seed);
            topics[2] = bytes32(i);
            logs[i] = ChainProofs.encodeLog(
                ChainProofs.Log({
                    emitter: address(uint160(0xC0FFEE + i)), topics: topics, data: abi.encode(seed * 1e6 + i)
                })
            );
        }
    }

    function _proof(bytes memory a) private pure returns (bytes[] memory p) {
        p = new bytes[](1);
        p[0] = a;
    }

    function _proof(bytes memory a, bytes memory b) private pure returns (bytes[] memory p) {
        p = new bytes[](2);
        (p[0], p[1]) = (a, b);
    }

    function _proof(bytes memory a, bytes memory b, bytes memory c) private pure returns (bytes[] memory p) {
        p = new bytes[](3);
        (p[0], p[1], p[2]) = (a, b, c);
    }
}
