// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

import {ExecutionReceipt, RejectReason, TriggerTerms} from "../src/HeraldTypes.sol";
import {HeraldConfig} from "../src/modules/HeraldConfig.sol";
import {HeraldRegistry} from "../src/modules/HeraldRegistry.sol";
import {HeraldSettlement} from "../src/modules/HeraldSettlement.sol";
import {HeraldFixture} from "./utils/HeraldFixture.sol";
import {ECDSA} from "@openzeppelin/contracts/utils/cryptography/ECDSA.sol";

contract SettlementTest is HeraldFixture {
    uint64 internal id;

    function setUp() public override {
        super.setUp();
        id = createTrigger(user, 10e18);
        vm.warp(block.timestamp + 1);
    }

    // ------------------------------------------------------------------ paying the five parties

    function test_settle_debitsTriggerAndCreditsFiveParties() public {
        ExecutionReceipt memory r = receipt(id, 7);
        uint256 fee = expectedFee(r.runnerFee, true);
        uint256 subtotal = CONNECTOR_DEV_FEE + OPERATOR_FEE + SERVICE_DEV_FEE + r.runnerFee;

        vm.expectEmit(address(herald));
        emit HeraldSettlement.ReceiptSettled(id, r.eventId, fee);
        assertEq(settle(single(r)), 1);

        assertEq(herald.trigger(id).ledger.budget, 10e18 - fee, "owner debited exactly the fee");
        assertEq(herald.trigger(id).ledger.executions, 1);
        assertEq(herald.claimable(keepers[0]), OPERATOR_FEE, "connector operator");
        assertEq(herald.claimable(connectorDev), CONNECTOR_DEV_FEE, "connector developer");
        assertEq(herald.claimable(keepers[1]), r.runnerFee, "runner");
        assertEq(herald.claimable(serviceDev), SERVICE_DEV_FEE, "service developer");
        assertEq(herald.claimable(treasury), subtotal * 500 / 10_000, "protocol");
    }

    function test_settle_emitsBatchSummary() public {
        ExecutionReceipt[] memory rs = new ExecutionReceipt[](2);
        rs[0] = receipt(id, 1);
        rs[1] = receipt(id, 1); // duplicate: rejected
        vm.expectEmit(address(herald));
        emit HeraldSettlement.BatchSettled(herald.batchDigest(rs), 1, 1, expectedFee(1e15, true));
        settle(rs);
    }

    function test_settle_failedExecutionDoesNotPayServiceDeveloper() public {
        ExecutionReceipt memory r = receipt(id, 1);
        r.success = false;
        settle(single(r));
        assertEq(herald.claimable(serviceDev), 0);
        assertEq(herald.trigger(id).ledger.budget, 10e18 - expectedFee(r.runnerFee, false));
    }

    function test_settle_capsRunnerFeeAtServiceMaximum() public {
        ExecutionReceipt memory r = receipt(id, 1);
        r.runnerFee = MAX_RUNNER_FEE * 10;
        settle(single(r));
        assertEq(herald.claimable(keepers[1]), MAX_RUNNER_FEE);
    }

    function test_settle_connectorAndRunnerSameKeeperGetsBothShares() public {
        ExecutionReceipt memory r = receipt(id, 1);
        r.runner = r.connector;
        settle(single(r));
        assertEq(herald.claimable(r.connector), OPERATOR_FEE + r.runnerFee);
    }

    function testFuzz_settle_sharesAddUpToFee(uint96 runnerFee, bool success, uint16 bps, uint8 count)
        public
    {
        bps = uint16(bound(bps, 0, 2000));
        count = uint8(bound(count, 1, 20));
        HeraldConfig.Params memory p = initialParams();
        p.protocolFeeBps = bps;
        changeParams(p);
        ExecutionReceipt[] memory rs = new ExecutionReceipt[](count);
        for (uint256 i; i < count; ++i) {
            rs[i] = receipt(id, uint64(i + 1));
            rs[i].runnerFee = runnerFee;
            rs[i].success = success;
            rs[i].runner = keepers[i % KEEPERS];
        }
        uint256 budgetBefore = herald.trigger(id).ledger.budget;
        assertEq(settle(rs), count);
        uint256 paid = budgetBefore - herald.trigger(id).ledger.budget;
        assertEq(paid, expectedFee(runnerFee, success) * count);
        uint256 credited =
            herald.claimable(connectorDev) + herald.claimable(serviceDev) + herald.claimable(treasury);
        for (uint256 i; i < KEEPERS; ++i) {
            credited += herald.claimable(keepers[i]);
        }
        assertEq(credited, paid, "every token debited is credited to someone");
    }

    // ------------------------------------------------------------------ receipts that are skipped

    function test_reject_unknownTrigger() public {
        _expectRejected(receipt(99, 1), RejectReason.UnknownTrigger);
    }

    function test_reject_replayedEvent() public {
        ExecutionReceipt[] memory rs = single(receipt(id, 5));
        bytes[] memory sigs = quorumSignatures(rs, 3);
        herald.settle(rs, sigs);
        uint256 budget = herald.trigger(id).ledger.budget;
        vm.expectEmit(address(herald));
        emit HeraldSettlement.ReceiptRejected(id, rs[0].eventId, RejectReason.StaleEvent);
        assertEq(herald.settle(rs, sigs), 0, "the same signed batch pays nothing twice");
        assertEq(herald.trigger(id).ledger.budget, budget);
    }

    function test_reject_eventOlderThanLastSettled() public {
        settle(single(receipt(id, 5)));
        _expectRejected(receipt(id, 4), RejectReason.StaleEvent);
    }

    function test_reject_executedInFuture() public {
        ExecutionReceipt memory r = receipt(id, 1);
        r.executedAt = uint64(vm.getBlockTimestamp() + 1);
        _expectRejected(r, RejectReason.ExecutedInFuture);
    }

    function test_reject_executedAfterExpiry() public {
        TriggerTerms memory t = terms();
        t.expiresAt = uint40(vm.getBlockTimestamp() + 100);
        uint64 expiring = createTrigger(user, 1e18, t);
        vm.warp(vm.getBlockTimestamp() + 200);
        ExecutionReceipt memory late = receipt(expiring, 1);
        _expectRejected(late, RejectReason.Expired);
        // Executed before expiry, settled after it: still paid.
        ExecutionReceipt memory early = receipt(expiring, 2);
        early.executedAt = t.expiresAt;
        assertEq(settle(single(early)), 1);
    }

    function test_reject_executedWhilePaused_butEarlierWorkIsPaid() public {
        uint256 t0 = vm.getBlockTimestamp();
        vm.prank(user);
        herald.pauseTrigger(id);
        vm.warp(t0 + 50);
        ExecutionReceipt memory during = receipt(id, 2);
        during.executedAt = uint64(t0 + 10);
        _expectRejected(during, RejectReason.Paused);

        ExecutionReceipt memory before = receipt(id, 1);
        before.executedAt = uint64(t0 - 1);
        assertEq(settle(single(before)), 1, "work done before the pause is paid");

        vm.prank(user);
        herald.resumeTrigger(id);
        vm.warp(t0 + 60);
        during.eventId = eventId(3);
        _expectRejected(during, RejectReason.Paused); // still inside the pause window after resuming
        ExecutionReceipt memory afterResume = receipt(id, 4);
        afterResume.executedAt = uint64(t0 + 55);
        assertEq(settle(single(afterResume)), 1);
    }

    function test_reject_executedAfterCancellation() public {
        uint256 t0 = vm.getBlockTimestamp();
        vm.prank(user);
        herald.cancelTrigger(id);
        vm.warp(t0 + 10);
        _expectRejected(receipt(id, 1), RejectReason.Paused);
        ExecutionReceipt memory before = receipt(id, 2);
        before.executedAt = uint64(t0 - 1);
        assertEq(settle(single(before)), 1, "work done before cancelling is paid");
    }

    function test_reject_exhausted() public {
        TriggerTerms memory t = terms();
        t.maxExecutions = 1; // one-shot
        uint64 oneShot = createTrigger(user, 1e18, t);
        assertEq(settle(single(receipt(oneShot, 1))), 1);
        _expectRejected(receipt(oneShot, 2), RejectReason.Exhausted);
    }

    function test_reject_unknownConnectorAndRunner() public {
        ExecutionReceipt memory r = receipt(id, 1);
        r.connector = makeAddr("impostor");
        _expectRejected(r, RejectReason.UnknownConnector);
        r = receipt(id, 1);
        r.runner = makeAddr("impostor");
        _expectRejected(r, RejectReason.UnknownRunner);
    }

    function test_reject_unbondingRunner() public {
        vm.prank(keepers[4]);
        herald.requestUnbond(keepers[4]);
        ExecutionReceipt memory r = receipt(id, 1);
        r.runner = keepers[4];
        _expectRejected(r, RejectReason.UnknownRunner);
    }

    function test_reject_feeAboveCap() public {
        TriggerTerms memory t = terms();
        t.maxFeePerExecution = uint80(expectedFee(1e15, true) - 1);
        uint64 capped = createTrigger(user, 1e18, t);
        _expectRejected(receipt(capped, 1), RejectReason.FeeAboveCap);
        // Raising a type's fee cannot push a trigger past its cap either.
        vm.prank(serviceDev);
        herald.updateServiceType(serviceType, serviceDev, 1e18, MAX_RUNNER_FEE, 0, "");
        _expectRejected(receipt(id, 1), RejectReason.FeeAboveCap);
    }

    function test_reject_insufficientBudget() public {
        uint64 poor = createTrigger(user, uint96(expectedFee(1e15, true) - 1));
        _expectRejected(receipt(poor, 1), RejectReason.InsufficientBudget);
    }

    function test_badReceiptDoesNotBlockGoodOnes() public {
        ExecutionReceipt[] memory rs = new ExecutionReceipt[](3);
        rs[0] = receipt(99, 1); // unknown trigger
        rs[1] = receipt(id, 1);
        rs[2] = receipt(id, 2);
        rs[2].runner = makeAddr("impostor");
        assertEq(settle(rs), 1);
        assertEq(herald.trigger(id).ledger.executions, 1);
    }

    // ------------------------------------------------------------------ signatures and quorum

    function test_settle_revertsOnEmptyBatch() public {
        vm.expectRevert(HeraldSettlement.EmptyBatch.selector);
        herald.settle(new ExecutionReceipt[](0), new bytes[](0));
    }

    function test_settle_revertsBelowQuorum() public {
        ExecutionReceipt[] memory rs = single(receipt(id, 1));
        bytes[] memory sigs = quorumSignatures(rs, 2);
        vm.expectRevert(
            abi.encodeWithSelector(HeraldSettlement.QuorumNotReached.selector, 2, 2 * BOND, 5 * BOND)
        );
        herald.settle(rs, sigs);
    }

    /// Finding 2: registration is open, so three fresh keepers bonding 1 wei each met the old count
    /// quorum and could pay themselves from any trigger. By stake they weigh nothing.
    function test_quorum_freshCheapKeepersCannotCarryABatch() public {
        uint256[] memory keys = new uint256[](3);
        address[] memory sybils = new address[](3);
        for (uint256 i; i < 3; ++i) {
            (sybils[i], keys[i]) = makeAddrAndKey(string.concat("sybil", vm.toString(i)));
            registerKeeper(sybils[i], 1);
            assertTrue(herald.isActiveKeeper(sybils[i]));
        }
        ExecutionReceipt memory r = receipt(id, 1);
        r.connector = sybils[0];
        r.runner = sybils[1];
        r.runnerFee = MAX_RUNNER_FEE;
        ExecutionReceipt[] memory rs = single(r);
        bytes[] memory sigs = signSorted(keys, herald.batchDigest(rs));
        vm.expectRevert(
            abi.encodeWithSelector(HeraldSettlement.QuorumNotReached.selector, 3, 3, 5 * BOND + 3)
        );
        herald.settle(rs, sigs);
    }

    /// However much stake one keeper holds, a batch needs `minSigners` distinct active keepers.
    function test_quorum_stakeAloneIsNotEnough() public {
        (address whale, uint256 key) = makeAddrAndKey("whale");
        registerKeeper(whale, 100 * BOND);
        uint256[] memory keys = new uint256[](2);
        keys[0] = key;
        keys[1] = keeperKeys[0];
        ExecutionReceipt[] memory rs = single(receipt(id, 1));
        bytes[] memory sigs = signSorted(keys, herald.batchDigest(rs));
        vm.expectRevert(
            abi.encodeWithSelector(HeraldSettlement.QuorumNotReached.selector, 2, 101 * BOND, 105 * BOND)
        );
        herald.settle(rs, sigs);
        keys = new uint256[](3);
        keys[0] = key;
        keys[1] = keeperKeys[0];
        keys[2] = keeperKeys[1];
        assertEq(herald.settle(rs, signSorted(keys, herald.batchDigest(rs))), 1);
    }

    /// Two thirds as 6,666 bps: 3 of 5 equal bonds fall short, 4 of 5 and 2 of 3 are enough.
    function test_quorum_twoThirdsOfEqualBonds() public {
        HeraldConfig.Params memory p = initialParams();
        p.minSigners = 2;
        p.quorumBps = 6666;
        changeParams(p);
        ExecutionReceipt[] memory rs = single(receipt(id, 1));
        bytes[] memory sigs = quorumSignatures(rs, 3);
        vm.expectRevert(
            abi.encodeWithSelector(HeraldSettlement.QuorumNotReached.selector, 3, 3 * BOND, 5 * BOND)
        );
        herald.settle(rs, sigs);
        assertEq(herald.settle(rs, quorumSignatures(rs, 4)), 1);

        vm.prank(keepers[3]);
        herald.requestUnbond(keepers[3]);
        vm.prank(keepers[4]);
        herald.requestUnbond(keepers[4]);
        assertEq(herald.totalBond(), 3 * BOND);
        rs = single(receipt(id, 2));
        assertEq(herald.settle(rs, quorumSignatures(rs, 2)), 1, "2 of 3 equal bonds");
        rs = single(receipt(id, 3));
        sigs = quorumSignatures(rs, 1);
        vm.expectRevert(abi.encodeWithSelector(HeraldSettlement.QuorumNotReached.selector, 1, BOND, 3 * BOND));
        herald.settle(rs, sigs);
    }

    /// Finding 2: a co-signer that unbonds before the batch is mined no longer reverts it; its signature
    /// counts for nothing and the others still carry the batch.
    function test_quorum_coSignerUnbondingBeforeMiningDoesNotRevert() public {
        ExecutionReceipt[] memory rs = single(receipt(id, 1));
        bytes[] memory sigs = quorumSignatures(rs, 4);
        vm.prank(keepers[2]);
        herald.requestUnbond(keepers[2]);
        assertEq(herald.settle(rs, sigs), 1);
    }

    /// An inactive co-signer weighs nothing, so without it the batch may fall short.
    function test_quorum_inactiveSignerCountsForNothing() public {
        ExecutionReceipt[] memory rs = single(receipt(id, 1));
        bytes[] memory sigs = quorumSignatures(rs, 3);
        vm.prank(keepers[2]);
        herald.requestUnbond(keepers[2]);
        vm.expectRevert(
            abi.encodeWithSelector(HeraldSettlement.QuorumNotReached.selector, 2, 2 * BOND, 4 * BOND)
        );
        herald.settle(rs, sigs);
    }

    /// Keepers waiting for activation count in `totalBond` (conservatively) but cannot sign.
    function test_quorum_keeperAwaitingActivationCountsInTotalOnly() public {
        HeraldConfig.Params memory p = initialParams();
        p.activationDelay = 1 hours;
        changeParams(p);
        (address late, uint256 key) = makeAddrAndKey("late");
        registerKeeper(late, 5 * BOND);
        assertEq(herald.totalBond(), 10 * BOND);
        uint256[] memory keys = new uint256[](5);
        for (uint256 i; i < 4; ++i) {
            keys[i] = keeperKeys[i];
        }
        keys[4] = key;
        ExecutionReceipt[] memory rs = single(receipt(id, 1));
        bytes[] memory sigs = signSorted(keys, herald.batchDigest(rs));
        vm.expectRevert(
            abi.encodeWithSelector(HeraldSettlement.QuorumNotReached.selector, 4, 4 * BOND, 10 * BOND)
        );
        herald.settle(rs, sigs);
    }

    function test_settle_revertsOnRepeatedOrUnorderedSigners() public {
        ExecutionReceipt[] memory rs = single(receipt(id, 1));
        bytes[] memory sigs = quorumSignatures(rs, 3);
        sigs[2] = sigs[1];
        vm.expectRevert(abi.encodeWithSelector(HeraldSettlement.SignersNotAscending.selector, 2));
        herald.settle(rs, sigs);
        sigs = quorumSignatures(rs, 3);
        (sigs[0], sigs[1]) = (sigs[1], sigs[0]);
        vm.expectRevert(abi.encodeWithSelector(HeraldSettlement.SignersNotAscending.selector, 1));
        herald.settle(rs, sigs);
    }

    function test_settle_outsiderSignatureCountsForNothing() public {
        ExecutionReceipt[] memory rs = single(receipt(id, 1));
        (, uint256 key) = makeAddrAndKey("outsider");
        uint256[] memory keys = new uint256[](3);
        keys[0] = key;
        keys[1] = keeperKeys[0];
        keys[2] = keeperKeys[1];
        bytes32 digest = herald.batchDigest(rs);
        bytes[] memory sigs = signSorted(keys, digest);
        vm.expectRevert(
            abi.encodeWithSelector(HeraldSettlement.QuorumNotReached.selector, 2, 2 * BOND, 5 * BOND)
        );
        herald.settle(rs, sigs);
        keys = new uint256[](4);
        keys[0] = key;
        keys[1] = keeperKeys[0];
        keys[2] = keeperKeys[1];
        keys[3] = keeperKeys[2];
        assertEq(herald.settle(rs, signSorted(keys, digest)), 1);
    }

    function test_settle_revertsOnMalformedSignature() public {
        ExecutionReceipt[] memory rs = single(receipt(id, 1));
        bytes[] memory sigs = quorumSignatures(rs, 3);
        sigs[0] = hex"1234";
        vm.expectRevert(abi.encodeWithSelector(ECDSA.ECDSAInvalidSignatureLength.selector, 2));
        herald.settle(rs, sigs);
    }

    function test_signatures_areBoundToTheBatch() public {
        ExecutionReceipt[] memory rs = single(receipt(id, 1));
        bytes[] memory sigs = quorumSignatures(rs, KEEPERS);
        rs[0].runnerFee += 1; // tampered after signing
        // Ordered as the contract now sees the signers, so only their weight can refuse the batch.
        sortBySigner(sigs, herald.batchDigest(rs));
        vm.expectRevert(abi.encodeWithSelector(HeraldSettlement.QuorumNotReached.selector, 0, 0, 5 * BOND));
        herald.settle(rs, sigs);
    }

    function test_signatures_areBoundToChainAndContract() public {
        ExecutionReceipt[] memory rs = single(receipt(id, 1));
        bytes[] memory sigs = quorumSignatures(rs, KEEPERS);
        vm.chainId(999);
        sortBySigner(sigs, herald.batchDigest(rs));
        vm.expectRevert(abi.encodeWithSelector(HeraldSettlement.QuorumNotReached.selector, 0, 0, 5 * BOND));
        herald.settle(rs, sigs);
    }

    function test_eventTopicsEmittedFromAssemblyMatchDeclarations() public {
        // expectEmit compares topic0 with the declared event's selector.
        ExecutionReceipt memory r = receipt(id, 1);
        vm.expectEmit(address(herald));
        emit HeraldSettlement.ReceiptSettled(id, r.eventId, expectedFee(r.runnerFee, true));
        settle(single(r));
        _expectRejected(r, RejectReason.StaleEvent);
    }

    function test_hashReceipt_matchesEip712Encoding() public view {
        ExecutionReceipt memory r = receipt(id, 1);
        bytes32 expected = keccak256(
            abi.encode(
                herald.RECEIPT_TYPEHASH(),
                r.triggerId,
                r.eventId,
                r.resultHash,
                r.connector,
                r.runner,
                r.runnerFee,
                r.executedAt,
                r.success
            )
        );
        assertEq(herald.hashReceipt(r), expected);
        ExecutionReceipt[] memory rs = single(r);
        bytes32 structHash =
            keccak256(abi.encode(herald.BATCH_TYPEHASH(), keccak256(abi.encodePacked(expected))));
        (, string memory name, string memory version, uint256 chainId, address verifying,,) =
            herald.eip712Domain();
        bytes32 domain = keccak256(
            abi.encode(
                keccak256(
                    "EIP712Domain(string name,string version,uint256 chainId,address verifyingContract)"
                ),
                keccak256(bytes(name)),
                keccak256(bytes(version)),
                chainId,
                verifying
            )
        );
        assertEq(herald.batchDigest(rs), keccak256(abi.encodePacked("\x19\x01", domain, structHash)));
    }

    function _expectRejected(ExecutionReceipt memory r, RejectReason reason) internal {
        uint256 budget = herald.trigger(r.triggerId).ledger.budget;
        vm.expectEmit(address(herald));
        emit HeraldSettlement.ReceiptRejected(r.triggerId, r.eventId, reason);
        assertEq(settle(single(r)), 0);
        assertEq(herald.trigger(r.triggerId).ledger.budget, budget, "a rejected receipt costs nothing");
    }
}

contract EquivocationTest is HeraldFixture {
    uint64 internal id;
    address internal reporter = makeAddr("reporter");

    function setUp() public override {
        super.setUp();
        id = createTrigger(user, 10e18);
    }

    function initialSlashAmount() internal pure override returns (uint96) {
        return 100e18;
    }

    function _conflict() internal view returns (ExecutionReceipt[] memory a, ExecutionReceipt[] memory b) {
        a = single(receipt(id, 1));
        b = single(receipt(id, 1));
        b[0].resultHash = keccak256("a different result");
    }

    function test_equivocation_slashesBondAndPaysBounty() public {
        (ExecutionReceipt[] memory a, ExecutionReceipt[] memory b) = _conflict();
        address offender = keepers[2];
        bytes memory sigA = sign(keeperKeys[2], herald.batchDigest(a));
        bytes memory sigB = sign(keeperKeys[2], herald.batchDigest(b));
        vm.expectEmit(address(herald));
        emit HeraldSettlement.KeeperSlashed(offender, id, a[0].eventId, 100e18, reporter, 20e18);
        vm.prank(reporter);
        assertEq(herald.reportEquivocation(offender, a, 0, sigA, b, 0, sigB), 100e18);
        assertEq(herald.keeper(offender).bond, BOND - 100e18);
        assertEq(herald.claimable(reporter), 20e18);
        assertEq(herald.claimable(treasury), 80e18);

        vm.expectRevert(
            abi.encodeWithSelector(HeraldSettlement.AlreadySlashed.selector, offender, id, a[0].eventId)
        );
        herald.reportEquivocation(offender, a, 0, sigA, b, 0, sigB);
    }

    /// Finding 4: the offender cannot report itself and recover the bounty.
    function test_equivocation_selfReportReverts() public {
        (ExecutionReceipt[] memory a, ExecutionReceipt[] memory b) = _conflict();
        address offender = keepers[2];
        bytes memory sigA = sign(keeperKeys[2], herald.batchDigest(a));
        bytes memory sigB = sign(keeperKeys[2], herald.batchDigest(b));
        vm.prank(offender);
        vm.expectRevert(HeraldSettlement.SelfReport.selector);
        herald.reportEquivocation(offender, a, 0, sigA, b, 0, sigB);
        assertEq(herald.keeper(offender).bond, BOND);
        assertEq(herald.claimable(offender), 0);
    }

    /// Finding 4: through a sybil reporter, the offender recovers at most 20% of what it loses.
    function test_equivocation_sybilReporterRecoversAtMostTheBountyCeiling() public {
        HeraldConfig.Params memory p = initialParams();
        p.slashBountyBps = herald.MAX_SLASH_BOUNTY_BPS();
        changeParams(p);
        (ExecutionReceipt[] memory a, ExecutionReceipt[] memory b) = _conflict();
        bytes memory sigA = sign(keeperKeys[2], herald.batchDigest(a));
        bytes memory sigB = sign(keeperKeys[2], herald.batchDigest(b));
        vm.prank(reporter);
        uint96 slashed = herald.reportEquivocation(keepers[2], a, 0, sigA, b, 0, sigB);
        assertEq(herald.claimable(reporter), uint256(slashed) * 2000 / 10_000);
        assertEq(herald.claimable(treasury), uint256(slashed) * 8000 / 10_000);
    }

    function test_equivocation_slashCappedAtBondAndDeactivates() public {
        HeraldConfig.Params memory p = initialParams();
        p.slashBountyBps = 0;
        changeParams(p, BOND * 2);
        (ExecutionReceipt[] memory a, ExecutionReceipt[] memory b) = _conflict();
        herald.reportEquivocation(
            keepers[0],
            a,
            0,
            sign(keeperKeys[0], herald.batchDigest(a)),
            b,
            0,
            sign(keeperKeys[0], herald.batchDigest(b))
        );
        assertEq(herald.keeper(keepers[0]).bond, 0);
        assertFalse(herald.isActiveKeeper(keepers[0]));
        assertEq(herald.totalBond(), 4 * BOND);
    }

    function test_equivocation_findsReceiptsInsideLargerBatches() public {
        ExecutionReceipt[] memory a = new ExecutionReceipt[](2);
        a[0] = receipt(id, 9);
        a[1] = receipt(id, 1);
        (, ExecutionReceipt[] memory b) = _conflict();
        herald.reportEquivocation(
            keepers[1],
            a,
            1,
            sign(keeperKeys[1], herald.batchDigest(a)),
            b,
            0,
            sign(keeperKeys[1], herald.batchDigest(b))
        );
        assertEq(herald.keeper(keepers[1]).bond, BOND - 100e18);
    }

    function test_equivocation_rejectsNonConflicts() public {
        (ExecutionReceipt[] memory a,) = _conflict();
        bytes memory sigA = sign(keeperKeys[0], herald.batchDigest(a));
        vm.expectRevert(HeraldSettlement.NotConflicting.selector);
        herald.reportEquivocation(keepers[0], a, 0, sigA, a, 0, sigA);

        // A takeover: same event, a different runner. Co-signing both is honest.
        ExecutionReceipt[] memory takeover = single(receipt(id, 1));
        takeover[0].runner = keepers[3];
        takeover[0].resultHash = keccak256("takeover");
        bytes memory sigT = sign(keeperKeys[0], herald.batchDigest(takeover));
        vm.expectRevert(HeraldSettlement.NotConflicting.selector);
        herald.reportEquivocation(keepers[0], a, 0, sigA, takeover, 0, sigT);

        ExecutionReceipt[] memory other = single(receipt(id, 2));
        bytes memory sigO = sign(keeperKeys[0], herald.batchDigest(other));
        vm.expectRevert(HeraldSettlement.NotConflicting.selector);
        herald.reportEquivocation(keepers[0], a, 0, sigA, other, 0, sigO);
    }

    function test_equivocation_rejectsBadIndexesAndSigners() public {
        (ExecutionReceipt[] memory a, ExecutionReceipt[] memory b) = _conflict();
        bytes memory sigA = sign(keeperKeys[0], herald.batchDigest(a));
        bytes memory sigB = sign(keeperKeys[0], herald.batchDigest(b));
        vm.expectRevert(abi.encodeWithSelector(HeraldSettlement.IndexOutOfRange.selector, 1));
        herald.reportEquivocation(keepers[0], a, 1, sigA, b, 0, sigB);
        vm.expectRevert(abi.encodeWithSelector(HeraldSettlement.IndexOutOfRange.selector, 3));
        herald.reportEquivocation(keepers[0], a, 0, sigA, b, 3, sigB);
        bytes memory sigOther = sign(keeperKeys[1], herald.batchDigest(b));
        vm.expectRevert(abi.encodeWithSelector(HeraldSettlement.SignerMismatch.selector, keepers[1]));
        herald.reportEquivocation(keepers[0], a, 0, sigA, b, 0, sigOther);
        vm.expectRevert(abi.encodeWithSelector(HeraldSettlement.SignerMismatch.selector, keepers[0]));
        herald.reportEquivocation(keepers[1], a, 0, sigA, b, 0, sigOther);
    }

    function test_equivocation_requiresRegisteredKeeper() public {
        (address outsider, uint256 key) = makeAddrAndKey("outsider");
        (ExecutionReceipt[] memory a, ExecutionReceipt[] memory b) = _conflict();
        bytes memory sigA = sign(key, herald.batchDigest(a));
        bytes memory sigB = sign(key, herald.batchDigest(b));
        vm.expectRevert(abi.encodeWithSelector(HeraldRegistry.KeeperNotRegistered.selector, outsider));
        herald.reportEquivocation(outsider, a, 0, sigA, b, 0, sigB);
    }

    function test_equivocation_stillSlashableWhileUnbonding() public {
        vm.prank(keepers[3]);
        herald.requestUnbond(keepers[3]);
        (ExecutionReceipt[] memory a, ExecutionReceipt[] memory b) = _conflict();
        herald.reportEquivocation(
            keepers[3],
            a,
            0,
            sign(keeperKeys[3], herald.batchDigest(a)),
            b,
            0,
            sign(keeperKeys[3], herald.batchDigest(b))
        );
        assertEq(herald.keeper(keepers[3]).bond, BOND - 100e18);
    }
}
