// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

import {EventIds} from "../src/EventIds.sol";
import {HeraldChallenges} from "../src/HeraldChallenges.sol";
import {
    BLOCKHASH_CHALLENGE_BLOCKS,
    BLOCKHASH_MAX_EVENT_AGE_BLOCKS,
    BLOCKHASH_RESPONSE_BLOCKS,
    ExecutionReceipt,
    HISTORY_CHALLENGE_BLOCKS,
    HISTORY_MAX_EVENT_AGE_BLOCKS,
    HISTORY_RESPONSE_BLOCKS,
    RejectReason
} from "../src/HeraldTypes.sol";
import {HeraldRegistry} from "../src/modules/HeraldRegistry.sol";
import {HeraldSettlement} from "../src/modules/HeraldSettlement.sol";
import {ChainProofs} from "./utils/ChainProofs.sol";
import {ChallengeFixture} from "./utils/ChallengeFixture.sol";
import {Blockhash} from "@openzeppelin/contracts/utils/Blockhash.sol";
import {ECDSA} from "@openzeppelin/contracts/utils/cryptography/ECDSA.sol";
import {TrieProof} from "@openzeppelin/contracts/utils/cryptography/TrieProof.sol";
import {console} from "forge-std/console.sol";

/// @notice Proving logs of this chain: genuine receipts are defended and pay the defender; wrong headers,
/// proofs and log indexes are refused.
contract ChallengeProofTest is ChallengeFixture {
    function test_provenEventId_followsTheLayout() public {
        MinedBlock memory b = mineSingleTxBlock(START - 3);
        bytes32 proven = challenges.provenEventId(b.header, 0, 1, b.proofs[0]);
        bytes32 digest = keccak256(abi.encodePacked(b.hash, keccak256(b.logs[0][1])));
        assertEq(uint256(proven) >> 220, START - 3, "block number");
        assertEq((uint256(proven) >> 206) & 0x3fff, 0, "transaction index");
        assertEq((uint256(proven) >> 192) & 0x3fff, 1, "log index in its transaction");
        assertEq(uint64(uint256(proven) >> 128), block.chainid, "chain id");
        assertEq(uint128(uint256(proven)), uint128(uint256(digest)), "block-and-log digest");
        assertTrue(EventIds.isLocalLog(proven));
        assertEq(EventIds.blockNumber(proven), START - 3);
        assertEq(EventIds.logIndexInTx(proven), 1);
    }

    /// A genuine log is proven by anyone, who takes its deposit at once.
    function test_respond_genuineLogIsDefendedAndTheBondGoesToTheDefender() public {
        MinedBlock memory b = mineSingleTxBlock(START - 3);
        ExecutionReceipt[] memory rs = single(logReceipt(logId(b, 0, 1)));
        assertEq(settle(rs), 1);
        uint256 bond = challenges.challengeBond();
        uint256 before = token.balanceOf(challenger);
        bytes32 cid = challenge(rs, quorumSignatures(rs, 3), indexes(1));
        assertEq(token.balanceOf(challenger), before - bond);

        vm.expectEmit(address(challenges));
        emit HeraldChallenges.ChallengeAnswered(cid, rs[0].eventId, defender);
        answer(cid, b, 0, 1);
        assertEq(
            uint8(challenges.eventState(cid, rs[0].eventId)), uint8(HeraldChallenges.EventState.Defended)
        );
        assertEq(challenges.provenBy(rs[0].eventId), defender);
        assertEq(token.balanceOf(defender), bond, "the deposit pays the defender");

        vm.expectEmit(address(challenges));
        emit HeraldChallenges.ChallengeResolved(cid, false, 0);
        challenges.resolve(cid, new ExecutionReceipt[](0), new bytes[](0));
        assertEq(token.balanceOf(defender), bond);
        assertEq(token.balanceOf(challenger), before - bond);
        assertEq(herald.keeper(keepers[0]).bond, BOND, "nobody is slashed");
    }

    /// A branch trie: keys 0x80 (transaction 0), 0x01 and 0x02, typed and legacy receipts.
    function test_respond_everyTransactionOfABranchTrie() public {
        MinedBlock memory b = mineThreeTxBlock(START - 7);
        ExecutionReceipt[] memory rs = new ExecutionReceipt[](3);
        rs[0] = logReceipt(logId(b, 0, 1));
        rs[1] = logReceipt(logId(b, 1, 2));
        rs[2] = logReceipt(logId(b, 2, 0));
        assertEq(settle(rs), 3);
        bytes32 cid = challenge(rs, quorumSignatures(rs, 3), indexes(3));
        answer(cid, b, 0, 1);
        answer(cid, b, 1, 2);
        vm.prank(makeAddr("late defender"));
        challenges.respond(cid, rs[2].eventId, b.header, b.proofs[2]);
        assertEq(challenges.challengeOf(cid).undefended, 0);
        challenges.resolve(cid, rs, new bytes[](0));
        assertEq(
            token.balanceOf(defender), 2 * challenges.challengeBond(), "each answer earns its log's deposit"
        );
        assertEq(token.balanceOf(makeAddr("late defender")), challenges.challengeBond());
    }

    function test_respond_refusesAWrongLogIndex() public {
        MinedBlock memory b = mineSingleTxBlock(START - 3);
        ExecutionReceipt[] memory rs = new ExecutionReceipt[](2);
        // The receipt holds two logs: index 2 does not exist.
        rs[0] = logReceipt(localLogId(b.number, 0, 2, 1));
        // Log 1's position with log 0's digest.
        bytes32 digest0 = keccak256(abi.encodePacked(b.hash, keccak256(b.logs[0][0])));
        rs[1] = logReceipt(localLogId(b.number, 0, 1, uint128(uint256(digest0))));
        bytes32 cid = challenge(rs, quorumSignatures(rs, 3), indexes(2));

        vm.expectRevert(abi.encodeWithSelector(HeraldChallenges.LogNotFound.selector, 0, 2));
        challenges.respond(cid, rs[0].eventId, b.header, b.proofs[0]);
        vm.expectRevert(
            abi.encodeWithSelector(HeraldChallenges.LogMismatch.selector, logId(b, 0, 1), rs[1].eventId)
        );
        challenges.respond(cid, rs[1].eventId, b.header, b.proofs[0]);
    }

    function test_respond_refusesAWrongHeader() public {
        MinedBlock memory b = mineSingleTxBlock(START - 3);
        ExecutionReceipt[] memory rs = single(logReceipt(logId(b, 0, 0)));
        bytes32 cid = challenge(rs, quorumSignatures(rs, 3), indexes(1));
        // The same receipts root in a header that is not the block's.
        bytes memory forged = ChainProofs.header(b.number, keccak256(b.proofs[0][0]));
        forged[forged.length - 1] ^= 0x01;
        vm.expectRevert(abi.encodeWithSelector(HeraldChallenges.UnknownBlockHeader.selector, b.number));
        challenges.respond(cid, rs[0].eventId, forged, b.proofs[0]);
        // A block the chain serves no hash for (the current one).
        bytes memory current = ChainProofs.header(block.number, keccak256(b.proofs[0][0]));
        vm.expectRevert(abi.encodeWithSelector(HeraldChallenges.UnknownBlockHeader.selector, block.number));
        challenges.respond(cid, rs[0].eventId, current, b.proofs[0]);
    }

    function test_respond_refusesAWrongProof() public {
        MinedBlock memory b = mineThreeTxBlock(START - 7);
        ExecutionReceipt[] memory rs = single(logReceipt(logId(b, 1, 0)));
        bytes32 cid = challenge(rs, quorumSignatures(rs, 3), indexes(1));
        // Transaction 0's proof for a log of transaction 1: the key leads elsewhere.
        vm.expectRevert(
            abi.encodeWithSelector(
                TrieProof.TrieProofTraversalError.selector, TrieProof.ProofError.INVALID_LARGE_NODE
            )
        );
        challenges.respond(cid, rs[0].eventId, b.header, b.proofs[0]);
        // A tampered leaf no longer hashes to its parent's reference.
        bytes[] memory tampered = new bytes[](3);
        (tampered[0], tampered[1], tampered[2]) =
        (b.proofs[1][0], b.proofs[1][1], bytes.concat(b.proofs[1][2]));
        tampered[2][tampered[2].length - 1] ^= 0x01;
        vm.expectRevert(
            abi.encodeWithSelector(
                TrieProof.TrieProofTraversalError.selector, TrieProof.ProofError.INVALID_LARGE_NODE
            )
        );
        challenges.respond(cid, rs[0].eventId, b.header, tampered);
        answer(cid, b, 1, 0);
    }

    /// Gas of the three calls, cold: challenge (one receipt, three signers), respond (a busy block's
    /// three-node proof under a Prague header), resolve (fraud, three signers).
    function test_gas_challengeRespondResolve() public {
        MinedBlock memory b = mineBusyBlock(START - 20);
        ExecutionReceipt[] memory rs = single(logReceipt(logId(b, 0, 1)));
        bytes[] memory sigs = quorumSignatures(rs, 3);
        assertEq(herald.settle(rs, sigs), 1);

        _cool();
        uint256 g = gasleft();
        bytes32 cid = challenge(rs, sigs, indexes(1));
        console.log("challenge gas (1 receipt, 3 signers):", g - gasleft());

        _cool();
        g = gasleft();
        answer(cid, b, 0, 1);
        console.log("respond gas (3-node proof, Prague header):", g - gasleft());

        ExecutionReceipt[] memory fake = single(logReceipt(fakeLogId(block.number - 1, 0)));
        bytes[] memory fakeSigs = quorumSignatures(fake, 3);
        bytes32 fraud = challenge(fake, fakeSigs, indexes(1));
        vm.roll(challenges.challengeOf(fraud).respondBy + 1);
        _cool();
        g = gasleft();
        challenges.resolve(fraud, fake, fakeSigs);
        console.log("resolve gas (fraud, 3 signers):", g - gasleft());
        assertEq(herald.keeper(keepers[0]).bond, 0);
    }

    function _cool() private {
        vm.cool(address(herald));
        vm.cool(address(challenges));
        vm.cool(address(token));
    }
}

/// @notice A bought quorum that signs logs that never happened loses every bond; the trigger gets its
/// executions back and its cursor rewound; the fabrication cannot be replayed.
contract FraudTest is ChallengeFixture {
    bytes32 internal constant SETTLED_TOPIC = keccak256("ReceiptSettled(uint64,bytes32,uint256)");

    /// The still-open finding: three fresh keepers holding 64% of the stake settled ten receipts for logs
    /// that never happened and walked away unpunished, the trigger's cursor pushed past its genuine events.
    function test_fraud_boughtQuorumLosesEveryBondAndTheTriggerRecovers() public {
        // Genuine history: one event settled by the honest keepers (no block is mined for it: settlement
        // does not look, and nobody challenges it).
        ExecutionReceipt memory genuine0 = logReceipt(fakeLogId(block.number - 10, 0));
        settle(single(genuine0));
        uint64 genuineKey = uint64(uint256(genuine0.eventId) >> 192);

        (address[] memory bought, uint256[] memory keys) = sybils(3, 3 * BOND);
        assertEq(herald.totalBond(), 14 * BOND);
        ExecutionReceipt[] memory fraud = new ExecutionReceipt[](10);
        for (uint256 i; i < 10; ++i) {
            fraud[i] = logReceipt(fakeLogId(block.number - 1, i + 1));
            (fraud[i].connector, fraud[i].runner, fraud[i].runnerFee) = (bought[0], bought[1], MAX_RUNNER_FEE);
        }
        bytes[] memory fraudSigs = signSorted(keys, herald.batchDigest(fraud));
        uint256 budget = herald.trigger(id).ledger.budget;
        assertEq(herald.settle(fraud, fraudSigs), 10, "the bought quorum carries the batch");
        budget -= 10 * expectedFee(MAX_RUNNER_FEE, true);
        assertEq(herald.trigger(id).ledger.budget, budget);

        // They leave (and stay slashable until they withdraw).
        for (uint256 i; i < 3; ++i) {
            vm.prank(bought[i]);
            herald.requestUnbond(bought[i]);
        }
        assertEq(herald.totalBond(), 5 * BOND);
        // A genuine event the fabrications jumped over is stale now.
        ExecutionReceipt memory genuine1 = logReceipt(fakeLogId(block.number - 5, 3));
        vm.expectEmit(address(herald));
        emit HeraldSettlement.ReceiptRejected(id, genuine1.eventId, RejectReason.StaleEvent);
        settle(single(genuine1));

        uint256 challengerTokens = token.balanceOf(challenger);
        bytes32 cid = challenge(fraud, fraudSigs, indexes(10));
        assertEq(token.balanceOf(challenger), challengerTokens - 10 * challenges.challengeBond(), "per log");
        // Nobody can answer: no header the chain serves commits to these logs.
        MinedBlock memory real = mineSingleTxBlock(block.number - 1);
        vm.expectRevert();
        challenges.respond(cid, fraud[0].eventId, real.header, real.proofs[0]);

        vm.roll(challenges.challengeOf(cid).respondBy + 1);
        uint256 rest = 9 * BOND;
        uint256 bounty = rest * 2000 / 10_000;
        uint256 treasuryBefore = herald.claimable(treasury);
        vm.expectEmit(address(herald));
        emit HeraldSettlement.TriggerDisputed(id);
        vm.expectEmit(address(challenges));
        emit HeraldChallenges.ChallengeResolved(cid, true, 9 * BOND);
        vm.prank(makeAddr("anyone"));
        challenges.resolve(cid, fraud, fraudSigs);

        for (uint256 i; i < 3; ++i) {
            assertEq(herald.keeper(bought[i]).bond, 0, "the whole bond, unbonding or not");
        }
        assertEq(herald.totalBond(), 5 * BOND);
        HeraldRegistry.Trigger memory t = herald.trigger(id);
        assertEq(t.ledger.budget, budget, "the bonds go to the bounty and the treasury, not to budgets");
        assertEq(t.ledger.executions, 11, "the offenders' receipts give nothing back by themselves");
        assertEq(t.rules.flags, 4, "DISPUTED");
        assertEq(token.balanceOf(challenger), challengerTokens, "the challenger's bond is back");
        assertEq(herald.claimable(challenger), bounty);
        assertEq(herald.claimable(treasury), treasuryBefore + rest - bounty);

        // The bought keepers leave with nothing.
        vm.warp(block.timestamp + 7 days);
        for (uint256 i; i < 3; ++i) {
            vm.prank(bought[i]);
            herald.withdrawBond(bought[i], bought[i]);
            assertEq(token.balanceOf(bought[i]), 0);
        }

        // Their signatures carry nothing now, so the owner can rewind safely.
        vm.expectRevert(abi.encodeWithSelector(HeraldSettlement.QuorumNotReached.selector, 0, 0, 5 * BOND));
        herald.settle(fraud, fraudSigs);
        vm.expectEmit(address(herald));
        emit HeraldRegistry.EventCursorRewound(id, genuineKey, 1);
        vm.prank(user);
        herald.rewindEventCursor(id, genuineKey, 1);
        assertEq(herald.trigger(id).rules.flags, 0);
        assertEq(herald.trigger(id).ledger.executions, 1, "the owner counts only the genuine execution");

        vm.recordLogs();
        assertEq(settle(single(genuine1)), 1, "the genuine event jumped over is paid");
        assertEq(vm.getRecordedLogs()[0].topics[0], SETTLED_TOPIC);
        vm.expectRevert(abi.encodeWithSelector(HeraldSettlement.QuorumNotReached.selector, 0, 0, 5 * BOND));
        herald.settle(fraud, fraudSigs);
    }

    /// Whoever challenges first, with however few of the signers, cannot shield the others: a fuller
    /// challenge of the same receipts is a different challenge.
    function test_fraud_aPartialChallengeCannotShieldTheOtherSigners() public {
        (address[] memory bought, uint256[] memory keys) = sybils(3, 3 * BOND);
        ExecutionReceipt[] memory fraud = single(logReceipt(fakeLogId(block.number - 1, 0)));
        bytes[] memory sigs = signSorted(keys, herald.batchDigest(fraud));
        assertEq(herald.settle(fraud, sigs), 1);

        // One of them challenges its own batch naming only its own signature...
        address self = ECDSA.recover(herald.batchDigest(fraud), sigs[0]);
        assertTrue(self == bought[0] || self == bought[1] || self == bought[2]);
        bytes[] memory one = new bytes[](1);
        one[0] = sigs[0];
        token.mint(self, 100e18);
        vm.startPrank(self);
        token.approve(address(challenges), type(uint256).max);
        bytes32 own = challenges.challenge(fraud, one, indexes(1));
        vm.stopPrank();
        // ...and the outsider's challenge naming all three is still accepted.
        bytes32 full = challenge(fraud, sigs, indexes(1));
        assertTrue(own != full);

        vm.roll(challenges.challengeOf(full).respondBy + 1);
        challenges.resolve(own, fraud, one);
        challenges.resolve(full, fraud, sigs);
        for (uint256 i; i < 3; ++i) {
            assertEq(herald.keeper(bought[i]).bond, 0);
        }
        assertEq(herald.totalBond(), 5 * BOND);
    }

    /// `resolve` punishes exactly the signers the challenge named, over the batch it named.
    function test_resolve_refusesADifferentBatchOrSignerSet() public {
        ExecutionReceipt[] memory fraud = single(logReceipt(fakeLogId(block.number - 1, 0)));
        bytes[] memory sigs = quorumSignatures(fraud, 3);
        bytes32 cid = challenge(fraud, sigs, indexes(1));
        vm.roll(challenges.challengeOf(cid).respondBy + 1);
        bytes[] memory fewer = quorumSignatures(fraud, 2);
        vm.expectRevert(HeraldChallenges.BatchMismatch.selector);
        challenges.resolve(cid, fraud, fewer);
        ExecutionReceipt[] memory other = single(logReceipt(fakeLogId(block.number - 2, 0)));
        bytes[] memory otherSigs = quorumSignatures(other, 3);
        vm.expectRevert(HeraldChallenges.BatchMismatch.selector);
        challenges.resolve(cid, other, otherSigs);
        challenges.resolve(cid, fraud, sigs);
        vm.expectRevert(abi.encodeWithSelector(HeraldChallenges.AlreadyResolved.selector, cid));
        challenges.resolve(cid, fraud, sigs);
    }

    /// Every trigger of a receipt naming an unproven log is marked DISPUTED, settled or not; unknown
    /// triggers are skipped; no budget is paid out of the bonds (the offenders could own the trigger).
    function test_fraud_marksEveryListedTriggerDisputed() public {
        (, uint256[] memory keys) = sybils(3, 3 * BOND);
        uint64 second = createTrigger(user, 1e18);
        bytes32 fake = fakeLogId(block.number - 1, 0);
        ExecutionReceipt[] memory fraud = new ExecutionReceipt[](3);
        fraud[0] = logReceipt(fake);
        fraud[1] = logReceipt(fake);
        fraud[1].triggerId = 99; // no such trigger
        fraud[2] = logReceipt(fake);
        fraud[2].triggerId = second;
        bytes[] memory sigs = signSorted(keys, herald.batchDigest(fraud));
        uint256 budget = herald.trigger(second).ledger.budget;
        bytes32 cid = challenge(fraud, sigs, indexes(1));
        vm.roll(challenges.challengeOf(cid).respondBy + 1);
        challenges.resolve(cid, fraud, sigs);
        assertEq(herald.trigger(second).ledger.budget, budget, "no budget from the bonds");
        assertEq(herald.trigger(second).rules.flags, 4);
        assertEq(herald.trigger(id).rules.flags, 4);
    }
}

/// @notice A log is proven once for every challenge, each challenged log costs a deposit that pays its
/// answer, and only keepers with a bond left are worth challenging.
contract ProvenOnceTest is ChallengeFixture {
    /// The finding: a proof counted for one challenge only. Two challenges named the same genuine log; the
    /// defender proved it for one, and the other turned to fraud and slashed the honest signers.
    function test_resolve_aLogProvenForAnotherChallengeIsNoFraud() public {
        MinedBlock memory b = mineThreeTxBlock(START - 3);
        ExecutionReceipt[] memory rs = new ExecutionReceipt[](2);
        rs[0] = logReceipt(logId(b, 0, 0));
        rs[1] = logReceipt(logId(b, 1, 0));
        bytes[] memory sigs = quorumSignatures(rs, 3);
        bytes32 first = challenge(rs, sigs, indexes(1));
        bytes32 both = challenge(rs, sigs, indexes(2));
        answer(first, b, 0, 0);
        answer(both, b, 1, 0);
        vm.roll(challenges.challengeOf(both).respondBy + 1);

        uint256 defenderTokens = token.balanceOf(defender);
        vm.expectEmit(address(challenges));
        emit HeraldChallenges.ChallengeAnswered(both, rs[0].eventId, defender);
        vm.expectEmit(address(challenges));
        emit HeraldChallenges.ChallengeResolved(both, false, 0);
        challenges.resolve(both, rs, sigs);
        for (uint256 i; i < 3; ++i) {
            assertEq(herald.keeper(keepers[i]).bond, BOND, "the honest signers keep their bonds");
        }
        assertEq(herald.trigger(id).rules.flags, 0, "not disputed");
        assertEq(
            token.balanceOf(defender), defenderTokens + challenges.challengeBond(), "the log's prover is paid"
        );
    }

    /// An open challenge of a proven log is answered without a proof; a new one is refused.
    function test_respond_aProvenLogNeedsNoProofAndCannotBeChallengedAgain() public {
        MinedBlock memory b = mineSingleTxBlock(START - 3);
        ExecutionReceipt[] memory rs = single(logReceipt(logId(b, 0, 1)));
        bytes32 first = challenge(rs, quorumSignatures(rs, 3), indexes(1));
        bytes32 second = challengeAs(_funded("second"), rs, quorumSignatures(rs, 2), indexes(1));
        answer(first, b, 0, 1);

        address helper = makeAddr("helper");
        vm.prank(helper);
        challenges.respond(second, rs[0].eventId, "", new bytes[](0));
        assertEq(token.balanceOf(helper), challenges.challengeBond(), "the answer earns the deposit");
        challenges.resolve(second, new ExecutionReceipt[](0), new bytes[](0));

        address third = _funded("third");
        bytes[] memory one = quorumSignatures(rs, 1);
        vm.expectRevert(
            abi.encodeWithSelector(HeraldChallenges.AlreadyProven.selector, rs[0].eventId, defender)
        );
        challengeAs(third, rs, one, indexes(1));
    }

    /// Each distinct challenged log costs a deposit (receipts sharing a log share it), and each answer
    /// takes one; a right challenger gets back those of the logs nobody proved.
    function test_challenge_depositsArePerLogAndPayEachAnswer() public {
        MinedBlock memory b = mineThreeTxBlock(START - 3);
        ExecutionReceipt[] memory rs = new ExecutionReceipt[](3);
        rs[0] = logReceipt(logId(b, 0, 0));
        rs[1] = logReceipt(logId(b, 0, 0));
        rs[1].triggerId = createTrigger(user, 1e18);
        rs[2] = logReceipt(fakeLogId(block.number - 1, 5));
        bytes[] memory sigs = quorumSignatures(rs, 3);
        uint256 bond = challenges.challengeBond();
        uint256 before = token.balanceOf(challenger);
        bytes32 cid = challenge(rs, sigs, indexes(3));
        assertEq(before - token.balanceOf(challenger), 2 * bond, "two distinct logs");
        assertEq(challenges.challengeOf(cid).bondPerEvent, bond);
        answer(cid, b, 0, 0);
        assertEq(token.balanceOf(defender), bond);
        vm.roll(challenges.challengeOf(cid).respondBy + 1);
        challenges.resolve(cid, rs, sigs);
        assertEq(token.balanceOf(challenger), before - bond, "the unproven log's deposit is back");
        assertEq(token.balanceOf(address(challenges)), 0);
    }

    /// The finding: each resolved fraud gave every listed trigger an execution back, settled or not, so a
    /// bought quorum could list a victim's trigger in receipts it never settled and lift its cap.
    function test_fraud_unsettledReceiptsGiveNoExecutionsBack() public {
        settle(single(logReceipt(fakeLogId(block.number - 5, 0))));
        assertEq(herald.trigger(id).ledger.executions, 1);
        (, uint256[] memory keys) = sybils(3, 3 * BOND);
        ExecutionReceipt[] memory fraud = new ExecutionReceipt[](5);
        for (uint256 i; i < 5; ++i) {
            fraud[i] = logReceipt(fakeLogId(block.number - 1, i + 1));
        }
        bytes[] memory sigs = signSorted(keys, herald.batchDigest(fraud));
        bytes32 cid = challenge(fraud, sigs, indexes(5));
        vm.roll(challenges.challengeOf(cid).respondBy + 1);
        challenges.resolve(cid, fraud, sigs);
        assertEq(herald.trigger(id).ledger.executions, 1, "nothing settled, nothing given back");
        assertEq(herald.trigger(id).rules.flags, 4, "DISPUTED: the owner decides");
    }

    /// The finding: a keeper whose whole bond was forfeited still counted as a signer worth challenging.
    function test_challenge_refusesABatchSignedOnlyByForfeitedKeepers() public {
        (, uint256[] memory keys) = sybils(3, 3 * BOND);
        ExecutionReceipt[] memory fraud = single(logReceipt(fakeLogId(block.number - 1, 0)));
        bytes[] memory sigs = signSorted(keys, herald.batchDigest(fraud));
        bytes32 cid = challenge(fraud, sigs, indexes(1));
        vm.roll(challenges.challengeOf(cid).respondBy + 1);
        challenges.resolve(cid, fraud, sigs);

        ExecutionReceipt[] memory again = single(logReceipt(fakeLogId(block.number - 1, 1)));
        bytes[] memory againSigs = signSorted(keys, herald.batchDigest(again));
        vm.expectRevert(HeraldChallenges.NoKeeperSigned.selector);
        challenge(again, againSigs, indexes(1));
    }

    function _funded(string memory name) private returns (address account) {
        account = makeAddr(name);
        token.mint(account, 100e18);
        vm.prank(account);
        token.approve(address(challenges), type(uint256).max);
    }
}

/// @notice Settlement bounds every position it can judge, so a quorum cannot brick a trigger's cursor,
/// and a settled log of this chain is always still challengeable.
contract PositionBoundsTest is ChallengeFixture {
    function test_bounds_aLocalLogAtTheLastPositionIsFromTheFuture() public {
        bytes32 brick = bytes32((type(uint256).max << 192) | (block.chainid << 128) | 1);
        assertEq(uint64(uint256(brick) >> 192), type(uint64).max);
        _expectRejected(logReceipt(brick), RejectReason.EventFromFuture);
        assertEq(herald.trigger(id).ledger.lastEventKey, 0, "the cursor did not move");
        assertEq(settle(single(logReceipt(fakeLogId(block.number - 1, 0)))), 1, "the trigger still settles");
    }

    function test_bounds_aUuidAtTheLastPositionIsFromTheFuture() public {
        bytes32 brick = bytes32(type(uint256).max << 128);
        _expectRejected(logReceipt(brick), RejectReason.EventFromFuture);
        assertEq(herald.trigger(id).ledger.lastEventKey, 0, "the cursor did not move");
    }

    function test_bounds_aLocalLogOlderThanTheMaximumAgeIsTooOld() public {
        _expectRejected(
            logReceipt(fakeLogId(block.number - BLOCKHASH_MAX_EVENT_AGE_BLOCKS - 1, 0)),
            RejectReason.EventTooOld
        );
        assertEq(settle(single(logReceipt(fakeLogId(block.number - BLOCKHASH_MAX_EVENT_AGE_BLOCKS, 0)))), 1);
    }

    function test_bounds_edges() public {
        _expectRejected(logReceipt(fakeLogId(block.number, 0)), RejectReason.EventFromFuture);
        assertEq(settle(single(logReceipt(fakeLogId(block.number - 1, 0)))), 1);
        uint256 limit = (block.timestamp + 60) * 1000;
        _expectRejected(logReceipt(uuidId(limit + 1, 0)), RejectReason.EventFromFuture);
        uint64 other = createTrigger(user, 1e18);
        ExecutionReceipt memory r = logReceipt(uuidId(limit, type(uint80).max));
        r.triggerId = other;
        assertEq(settle(single(r)), 1, "a UUID up to a minute ahead of the block time");
    }

    /// Documented limit: a log of another chain is bounded by nothing here but the quorum.
    function test_bounds_foreignChainPositionsAreLeftToTheQuorum() public {
        bytes32 foreign = bytes32((type(uint256).max << 192) | (uint256(block.chainid + 1) << 128) | 1);
        assertEq(settle(single(logReceipt(foreign))), 1);
        assertEq(herald.trigger(id).ledger.lastEventKey, type(uint64).max);
    }

    function _expectRejected(ExecutionReceipt memory r, RejectReason reason) private {
        uint256 budget = herald.trigger(r.triggerId).ledger.budget;
        vm.expectEmit(address(herald));
        emit HeraldSettlement.ReceiptRejected(r.triggerId, r.eventId, reason);
        assertEq(settle(single(r)), 0);
        assertEq(herald.trigger(r.triggerId).ledger.budget, budget);
    }
}

/// @notice What a challenge, an answer and a resolution refuse, and who may call Herald's hooks.
contract ChallengeRulesTest is ChallengeFixture {
    function test_challenge_refusesLogsOfOtherChainsAndOffChainEvents() public {
        ExecutionReceipt[] memory rs = single(receipt(id, 1)); // another chain
        bytes[] memory sigs = quorumSignatures(rs, 3);
        vm.expectRevert(abi.encodeWithSelector(HeraldChallenges.NotALocalLog.selector, rs[0].eventId));
        challenge(rs, sigs, indexes(1));
        rs = single(logReceipt(uuidId(block.timestamp * 1000, 7)));
        sigs = quorumSignatures(rs, 3);
        vm.expectRevert(abi.encodeWithSelector(HeraldChallenges.NotALocalLog.selector, rs[0].eventId));
        challenge(rs, sigs, indexes(1));
    }

    function test_challenge_refusesAReceiptPastTheWindow() public {
        uint256 n = block.number - 1;
        ExecutionReceipt[] memory rs = single(logReceipt(fakeLogId(n, 0)));
        bytes[] memory sigs = quorumSignatures(rs, 3);
        uint256 lastBlock = n + BLOCKHASH_MAX_EVENT_AGE_BLOCKS + BLOCKHASH_CHALLENGE_BLOCKS;
        vm.roll(lastBlock + 1);
        vm.expectRevert(
            abi.encodeWithSelector(HeraldChallenges.ChallengeWindowClosed.selector, rs[0].eventId, lastBlock)
        );
        challenge(rs, sigs, indexes(1));
        vm.roll(lastBlock);
        challenge(rs, sigs, indexes(1));
    }

    function test_challenge_refusesADuplicate() public {
        ExecutionReceipt[] memory rs = single(logReceipt(fakeLogId(block.number - 1, 0)));
        bytes[] memory sigs = quorumSignatures(rs, 3);
        bytes32 cid = challenge(rs, sigs, indexes(1));
        assertEq(cid, keccak256(abi.encode(herald.batchDigest(rs), indexes(1), _addresses(3))));
        vm.expectRevert(abi.encodeWithSelector(HeraldChallenges.DuplicateChallenge.selector, cid));
        challengeAs(makeAddr("another"), rs, sigs, indexes(1));
    }

    function test_challenge_refusesMalformedInput() public {
        ExecutionReceipt[] memory rs = new ExecutionReceipt[](2);
        rs[0] = logReceipt(fakeLogId(block.number - 1, 0));
        rs[1] = logReceipt(fakeLogId(block.number - 1, 1));
        bytes[] memory sigs = quorumSignatures(rs, 3);
        vm.expectRevert(HeraldChallenges.NothingChallenged.selector);
        challenge(rs, sigs, new uint256[](0));
        uint256[] memory bad = new uint256[](1);
        bad[0] = 2;
        vm.expectRevert(abi.encodeWithSelector(HeraldChallenges.IndexOutOfRange.selector, 2));
        challenge(rs, sigs, bad);
        bad = new uint256[](2);
        (bad[0], bad[1]) = (1, 1);
        vm.expectRevert(abi.encodeWithSelector(HeraldChallenges.IndexesNotAscending.selector, 1));
        challenge(rs, sigs, bad);
        (sigs[0], sigs[1]) = (sigs[1], sigs[0]);
        vm.expectRevert(abi.encodeWithSelector(HeraldChallenges.SignersNotAscending.selector, 1));
        challenge(rs, sigs, indexes(2));
        (, uint256 key) = makeAddrAndKey("nobody");
        bytes[] memory outsider = new bytes[](1);
        outsider[0] = sign(key, herald.batchDigest(rs));
        vm.expectRevert(HeraldChallenges.NoKeeperSigned.selector);
        challenge(rs, outsider, indexes(2));
    }

    function test_respond_refusedAfterRespondBy() public {
        MinedBlock memory b = mineSingleTxBlock(START - 3);
        ExecutionReceipt[] memory rs = single(logReceipt(logId(b, 0, 0)));
        bytes32 cid = challenge(rs, quorumSignatures(rs, 3), indexes(1));
        uint64 respondBy = challenges.challengeOf(cid).respondBy;
        assertEq(respondBy, block.number + BLOCKHASH_RESPONSE_BLOCKS);
        vm.roll(respondBy + 1);
        vm.expectRevert(abi.encodeWithSelector(HeraldChallenges.ResponseWindowClosed.selector, respondBy));
        answer(cid, b, 0, 0);
        vm.roll(respondBy);
        answer(cid, b, 0, 0);
        vm.expectRevert(abi.encodeWithSelector(HeraldChallenges.NotUndefended.selector, rs[0].eventId));
        answer(cid, b, 0, 0);
    }

    function test_resolve_refusedBeforeRespondByUnlessAllDefended() public {
        MinedBlock memory b = mineThreeTxBlock(START - 3);
        ExecutionReceipt[] memory rs = new ExecutionReceipt[](2);
        rs[0] = logReceipt(logId(b, 0, 0));
        rs[1] = logReceipt(logId(b, 1, 0));
        bytes[] memory sigs = quorumSignatures(rs, 3);
        bytes32 cid = challenge(rs, sigs, indexes(2));
        uint64 respondBy = challenges.challengeOf(cid).respondBy;
        answer(cid, b, 0, 0);
        vm.expectRevert(abi.encodeWithSelector(HeraldChallenges.ResponseWindowOpen.selector, respondBy));
        challenges.resolve(cid, rs, sigs);
        answer(cid, b, 1, 0);
        challenges.resolve(cid, rs, sigs);
        vm.expectRevert(abi.encodeWithSelector(HeraldChallenges.UnknownChallenge.selector, bytes32(0)));
        challenges.resolve(bytes32(0), rs, sigs);
    }

    function test_punishFraud_onlyTheChallengesContract() public {
        vm.expectRevert(abi.encodeWithSelector(HeraldSettlement.NotChallenges.selector, address(this)));
        herald.punishFraud(bytes32(0), _addresses(3), new uint64[](0), address(this));
        assertEq(address(herald.challenges()), address(challenges));
        assertEq(address(challenges.herald()), address(herald));
    }

    function test_rewind_onlyTheOwner_onlyDisputedOrPaused_onlyBackwards() public {
        settle(single(logReceipt(fakeLogId(block.number - 2, 0))));
        uint64 key = herald.trigger(id).ledger.lastEventKey;
        vm.prank(user);
        vm.expectRevert(abi.encodeWithSelector(HeraldRegistry.RewindNeedsPauseOrDispute.selector, id));
        herald.rewindEventCursor(id, key - 1, 1);

        ExecutionReceipt[] memory fraud = single(logReceipt(fakeLogId(block.number - 1, 0)));
        bytes[] memory sigs = quorumSignatures(fraud, 3);
        bytes32 cid = challenge(fraud, sigs, indexes(1));
        vm.roll(challenges.challengeOf(cid).respondBy + 1);
        challenges.resolve(cid, fraud, sigs);

        vm.expectRevert(abi.encodeWithSelector(HeraldRegistry.NotTriggerOwner.selector, id, address(this)));
        herald.rewindEventCursor(id, key - 1, 1);
        vm.startPrank(user);
        vm.expectRevert(abi.encodeWithSelector(HeraldRegistry.CursorAhead.selector, key + 1, key));
        herald.rewindEventCursor(id, key + 1, 1);
        vm.expectRevert(abi.encodeWithSelector(HeraldRegistry.ExecutionsAhead.selector, 2, 1));
        herald.rewindEventCursor(id, key, 2);
        herald.rewindEventCursor(id, key - 1, 0);
        assertEq(herald.trigger(id).ledger.executions, 0);
        vm.expectRevert(abi.encodeWithSelector(HeraldRegistry.RewindNeedsPauseOrDispute.selector, id));
        herald.rewindEventCursor(id, 0, 0);
        herald.pauseTrigger(id);
        herald.rewindEventCursor(id, 0, 0);
        assertEq(herald.trigger(id).ledger.lastEventKey, 0);
        assertEq(herald.trigger(id).rules.flags, 1, "still paused");
        vm.stopPrank();
    }

    /// The finding: a quorum pushed a trigger's cursor to 2^64 - 1 with an event of another chain, which no
    /// challenge can prove false, so the trigger was never DISPUTED and could never settle again. Its owner
    /// now pauses it, rewinds and resumes.
    function test_rewind_aPausedTriggerRecoversFromACursorPushedByAForeignEvent() public {
        bytes32 foreign = bytes32((type(uint256).max << 192) | (uint256(block.chainid + 1) << 128) | 1);
        assertEq(settle(single(logReceipt(foreign))), 1);
        ExecutionReceipt memory genuine = logReceipt(fakeLogId(block.number - 1, 0));
        assertEq(settle(single(genuine)), 0, "stale behind the pushed cursor");
        vm.startPrank(user);
        herald.pauseTrigger(id);
        herald.rewindEventCursor(id, 0, 0);
        vm.warp(block.timestamp + 1);
        herald.resumeTrigger(id);
        vm.stopPrank();
        genuine.executedAt = uint64(block.timestamp);
        assertEq(settle(single(genuine)), 1, "the genuine event settles again");
    }

    function test_windowsAndBond_withoutHistory() public view {
        assertEq(Blockhash.HISTORY_STORAGE_ADDRESS.code.length, 0);
        (uint256 age, uint256 challengeBlocks, uint256 responseBlocks) = challenges.fraudWindows();
        assertEq(age, BLOCKHASH_MAX_EVENT_AGE_BLOCKS);
        assertEq(challengeBlocks, BLOCKHASH_CHALLENGE_BLOCKS);
        assertEq(responseBlocks, BLOCKHASH_RESPONSE_BLOCKS);
        assertLe(age + challengeBlocks + responseBlocks, 256);
        assertEq(challenges.challengeBond(), MIN_BOND / 10);
    }

    function _addresses(uint256 count) private view returns (address[] memory a) {
        a = new address[](count);
        for (uint256 i; i < count; ++i) {
            a[i] = keepers[i];
        }
    }
}

/// @notice On a chain with EIP-2935 (the real history contract etched at its address before Herald is
/// deployed) the windows span 8,000 blocks and a log is proven from the history contract's storage.
contract HistoryWindowsTest is ChallengeFixture {
    /// @dev EIP-2935's runtime code, as anvil's Prague genesis holds it.
    bytes internal constant HISTORY_CODE =
        hex"3373fffffffffffffffffffffffffffffffffffffffe14604657602036036042575f35600143038111604257611fff81430311604257611fff9006545f5260205ff35b5f5ffd5b5f35611fff60014303065500";

    function setUp() public override {
        vm.etch(Blockhash.HISTORY_STORAGE_ADDRESS, HISTORY_CODE);
        super.setUp();
    }

    function test_windows_withHistory() public view {
        (uint256 age, uint256 challengeBlocks, uint256 responseBlocks) = challenges.fraudWindows();
        assertEq(age, HISTORY_MAX_EVENT_AGE_BLOCKS);
        assertEq(challengeBlocks, HISTORY_CHALLENGE_BLOCKS);
        assertEq(responseBlocks, HISTORY_RESPONSE_BLOCKS);
        assertLt(age + challengeBlocks + responseBlocks, 8191);
    }

    function test_settle_boundsLogsByTheLongerAge() public {
        ExecutionReceipt memory old = logReceipt(fakeLogId(block.number - 4001, 1));
        vm.expectEmit(address(herald));
        emit HeraldSettlement.ReceiptRejected(id, old.eventId, RejectReason.EventTooOld);
        settle(single(old));
        assertEq(settle(single(logReceipt(fakeLogId(block.number - 4000, 0)))), 1);
    }

    /// A log 4,000 blocks old, challenged 2,000 blocks later, answered 2,000 blocks after that: its block
    /// hash comes from the history contract.
    function test_respond_provesFromHistory() public {
        MinedBlock memory b = mineSingleTxBlock(START - 4000);
        vm.store(Blockhash.HISTORY_STORAGE_ADDRESS, bytes32(b.number % 8191), b.hash);
        ExecutionReceipt[] memory rs = single(logReceipt(logId(b, 0, 0)));
        assertEq(settle(rs), 1);
        vm.roll(b.number + 6000);
        bytes32 cid = challenge(rs, quorumSignatures(rs, 3), indexes(1));
        vm.roll(challenges.challengeOf(cid).respondBy);
        assertEq(block.number - b.number, 8000);
        answer(cid, b, 0, 0);
        challenges.resolve(cid, rs, new bytes[](0));
        assertEq(token.balanceOf(defender), challenges.challengeBond());
    }
}
