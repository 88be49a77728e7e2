// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

import {ExecutionReceipt, TriggerTerms} from "../src/HeraldTypes.sol";
import {HeraldConfig} from "../src/modules/HeraldConfig.sol";
import {HeraldEscrow} from "../src/modules/HeraldEscrow.sol";
import {HeraldRegistry} from "../src/modules/HeraldRegistry.sol";
import {HeraldFixture} from "./utils/HeraldFixture.sol";

contract ModuleTypesTest is HeraldFixture {
    address internal stranger = makeAddr("stranger");

    function test_registerConnectorType_assignsIdsAndOwner() public {
        address payout = makeAddr("payout");
        vm.expectEmit(address(herald));
        emit HeraldRegistry.ConnectorTypeSet(2, stranger, payout, 1, 2, bytes32("m"), "uri");
        vm.prank(stranger);
        uint24 id = herald.registerConnectorType(payout, 1, 2, bytes32("m"), "uri");
        assertEq(id, 2);
        assertEq(herald.connectorTypeCount(), 2);
        HeraldRegistry.ModuleType memory t = herald.connectorType(id);
        assertEq(t.owner, stranger);
        assertEq(t.payout, payout);
        assertEq(t.fee, 1);
        assertEq(t.extraFee, 2);
        assertEq(t.manifestHash, bytes32("m"));
    }

    function test_updateConnectorType_byOwnerOnly() public {
        vm.expectEmit(address(herald));
        emit HeraldRegistry.ConnectorTypeSet(
            connectorType, connectorDev, stranger, 7, 8, bytes32("v2"), "uri2"
        );
        vm.prank(connectorDev);
        herald.updateConnectorType(connectorType, stranger, 7, 8, bytes32("v2"), "uri2");
        assertEq(herald.connectorType(connectorType).fee, 7);

        vm.prank(stranger);
        vm.expectRevert(abi.encodeWithSelector(HeraldRegistry.NotTypeOwner.selector, stranger));
        herald.updateConnectorType(connectorType, stranger, 1, 1, 0, "");
        vm.expectRevert(abi.encodeWithSelector(HeraldRegistry.UnknownConnectorType.selector, 99));
        herald.updateConnectorType(99, stranger, 1, 1, 0, "");
    }

    function test_registerServiceType_andUpdate() public {
        vm.prank(stranger);
        uint24 id = herald.registerServiceType(stranger, 5, 6, bytes32("s"), "uri");
        assertEq(id, 2);
        assertEq(herald.serviceType(id).extraFee, 6);

        vm.expectEmit(address(herald));
        emit HeraldRegistry.ServiceTypeSet(id, stranger, stranger, 9, 10, bytes32("s2"), "u2");
        vm.prank(stranger);
        herald.updateServiceType(id, stranger, 9, 10, bytes32("s2"), "u2");
        assertEq(herald.serviceType(id).fee, 9);

        vm.prank(connectorDev);
        vm.expectRevert(abi.encodeWithSelector(HeraldRegistry.NotTypeOwner.selector, connectorDev));
        herald.updateServiceType(id, stranger, 1, 1, 0, "");
        vm.expectRevert(abi.encodeWithSelector(HeraldRegistry.UnknownServiceType.selector, 99));
        herald.updateServiceType(99, stranger, 1, 1, 0, "");
    }

    function test_types_rejectZeroPayout() public {
        vm.expectRevert(HeraldConfig.ZeroAddress.selector);
        herald.registerConnectorType(address(0), 1, 1, 0, "");
        vm.expectRevert(HeraldConfig.ZeroAddress.selector);
        herald.registerServiceType(address(0), 1, 1, 0, "");
    }
}

contract KeepersTest is HeraldFixture {
    address internal newcomer = makeAddr("newcomer");

    function setUp() public override {
        super.setUp();
        token.mint(newcomer, 10_000e18);
        vm.prank(newcomer);
        token.approve(address(herald), type(uint256).max);
    }

    function test_registerKeeper_activatesAfterDelay() public {
        HeraldConfig.Params memory p = initialParams();
        p.activationDelay = 1 hours;
        changeParams(p);
        uint40 activeFrom = uint40(vm.getBlockTimestamp() + 1 hours);
        vm.expectEmit(address(herald));
        emit HeraldRegistry.KeeperRegistered(newcomer, newcomer, 50e18, activeFrom, "http://k");
        vm.prank(newcomer);
        herald.registerKeeper(50e18, "http://k", address(0));
        assertFalse(herald.isActiveKeeper(newcomer));
        vm.warp(activeFrom);
        assertTrue(herald.isActiveKeeper(newcomer));
        assertEq(herald.keeper(newcomer).bond, 50e18);
        assertEq(herald.keeper(newcomer).endpoint, "http://k");
        assertEq(token.balanceOf(address(herald)), 1000e18 + 5 * BOND + 50e18);
    }

    function test_registerKeeper_reverts() public {
        address other = makeAddr("other");
        vm.prank(other);
        vm.expectRevert(abi.encodeWithSelector(HeraldRegistry.BondBelowMinimum.selector, 0, 1));
        herald.registerKeeper(0, "", address(0));
        HeraldConfig.Params memory p = initialParams();
        p.minBond = 100e18;
        changeParams(p);
        vm.startPrank(newcomer);
        vm.expectRevert(abi.encodeWithSelector(HeraldRegistry.BondBelowMinimum.selector, 99e18, 100e18));
        herald.registerKeeper(99e18, "", address(0));
        herald.registerKeeper(100e18, "", address(0));
        vm.expectRevert(abi.encodeWithSelector(HeraldRegistry.KeeperAlreadyRegistered.selector, newcomer));
        herald.registerKeeper(100e18, "", address(0));
        vm.stopPrank();
    }

    function test_addBond() public {
        vm.startPrank(newcomer);
        herald.registerKeeper(10e18, "", address(0));
        vm.expectEmit(address(herald));
        emit HeraldRegistry.KeeperBondAdded(newcomer, 5e18, 15e18, uint40(vm.getBlockTimestamp()));
        herald.addBond(5e18);
        vm.expectRevert(HeraldEscrow.ZeroAmount.selector);
        herald.addBond(0);
        herald.requestUnbond(newcomer);
        vm.expectRevert(abi.encodeWithSelector(HeraldRegistry.KeeperIsUnbonding.selector, newcomer));
        herald.addBond(1);
        vm.stopPrank();
        assertEq(herald.keeper(newcomer).bond, 15e18);
        vm.prank(makeAddr("nobody"));
        vm.expectRevert(
            abi.encodeWithSelector(HeraldRegistry.KeeperNotRegistered.selector, makeAddr("nobody"))
        );
        herald.addBond(1);
    }

    function test_setKeeperEndpoint() public {
        vm.prank(newcomer);
        vm.expectRevert(abi.encodeWithSelector(HeraldRegistry.KeeperNotRegistered.selector, newcomer));
        herald.setKeeperEndpoint("http://x");
        vm.startPrank(newcomer);
        herald.registerKeeper(1e18, "http://a", address(0));
        vm.expectEmit(address(herald));
        emit HeraldRegistry.KeeperEndpointSet(newcomer, "http://b");
        herald.setKeeperEndpoint("http://b");
        vm.stopPrank();
        assertEq(herald.keeper(newcomer).endpoint, "http://b");
    }

    function test_setEncryptionKey_storesAndEmits() public {
        assertEq(herald.encryptionKey(keepers[0]), 0, "none published");
        vm.expectEmit(address(herald));
        emit HeraldRegistry.KeeperEncryptionKeySet(keepers[0], bytes32("x25519-a"));
        vm.prank(keepers[0]);
        herald.setEncryptionKey(bytes32("x25519-a"));
        assertEq(herald.encryptionKey(keepers[0]), bytes32("x25519-a"));
        assertEq(herald.encryptionKey(keepers[1]), 0, "per keeper");
    }

    function test_setEncryptionKey_replacesTheKey() public {
        vm.startPrank(keepers[0]);
        herald.setEncryptionKey(bytes32("x25519-a"));
        vm.expectEmit(address(herald));
        emit HeraldRegistry.KeeperEncryptionKeySet(keepers[0], bytes32("x25519-b"));
        herald.setEncryptionKey(bytes32("x25519-b"));
        vm.stopPrank();
        assertEq(herald.encryptionKey(keepers[0]), bytes32("x25519-b"));
    }

    function test_setEncryptionKey_refusesUnregisteredKeeper() public {
        vm.prank(newcomer);
        vm.expectRevert(abi.encodeWithSelector(HeraldRegistry.KeeperNotRegistered.selector, newcomer));
        herald.setEncryptionKey(bytes32("x25519-a"));
        assertEq(herald.encryptionKey(newcomer), 0);
    }

    function test_setEncryptionKey_refusesZeroKey() public {
        vm.prank(keepers[0]);
        vm.expectRevert(HeraldRegistry.ZeroEncryptionKey.selector);
        herald.setEncryptionKey(0);
    }

    function test_unbondThenWithdraw() public {
        vm.startPrank(newcomer);
        herald.registerKeeper(10e18, "", address(0));
        vm.expectRevert(abi.encodeWithSelector(HeraldRegistry.UnbondNotRequested.selector, newcomer));
        herald.withdrawBond(newcomer, newcomer);
        uint40 unbondsAt = uint40(block.timestamp + 7 days);
        vm.expectEmit(address(herald));
        emit HeraldRegistry.KeeperUnbondRequested(newcomer, unbondsAt);
        herald.requestUnbond(newcomer);
        assertFalse(herald.isActiveKeeper(newcomer), "unbonding keepers are inactive at once");
        vm.expectRevert(abi.encodeWithSelector(HeraldRegistry.KeeperIsUnbonding.selector, newcomer));
        herald.requestUnbond(newcomer);
        vm.expectRevert(abi.encodeWithSelector(HeraldRegistry.StillLocked.selector, unbondsAt));
        herald.withdrawBond(newcomer, newcomer);
        vm.warp(unbondsAt);
        vm.expectRevert(HeraldConfig.ZeroAddress.selector);
        herald.withdrawBond(newcomer, address(0));
        uint256 before = token.balanceOf(newcomer);
        vm.expectEmit(address(herald));
        emit HeraldRegistry.KeeperBondWithdrawn(newcomer, newcomer, 10e18);
        herald.withdrawBond(newcomer, newcomer);
        vm.stopPrank();
        assertEq(token.balanceOf(newcomer), before + 10e18);
        assertEq(herald.keeper(newcomer).activeFrom, 0, "deregistered");
    }

    function test_requestUnbond_requiresRegistration() public {
        vm.prank(newcomer);
        vm.expectRevert(abi.encodeWithSelector(HeraldRegistry.KeeperNotRegistered.selector, newcomer));
        herald.requestUnbond(newcomer);
    }

    function test_isActiveKeeper_needsMinBond() public {
        assertTrue(herald.isActiveKeeper(keepers[0]));
        HeraldConfig.Params memory p = initialParams();
        p.minBond = BOND + 1;
        changeParams(p);
        assertFalse(herald.isActiveKeeper(keepers[0]));
    }

    /// Finding 2: `totalBond` is the sum of the bonds of registered keepers that are not unbonding,
    /// through every step of a keeper's life.
    function test_totalBond_followsRegisterAddUnbondWithdraw() public {
        assertEq(herald.totalBond(), 5 * BOND, "the fixture's keepers");
        vm.startPrank(newcomer);
        herald.registerKeeper(10e18, "", address(0));
        assertEq(herald.totalBond(), 5 * BOND + 10e18, "register");
        herald.addBond(5e18);
        assertEq(herald.totalBond(), 5 * BOND + 15e18, "addBond");
        herald.requestUnbond(newcomer);
        assertEq(herald.totalBond(), 5 * BOND, "requestUnbond takes the whole bond out");
        vm.warp(vm.getBlockTimestamp() + 7 days);
        herald.withdrawBond(newcomer, newcomer);
        assertEq(herald.totalBond(), 5 * BOND, "withdrawBond: already out");
        vm.stopPrank();
    }
}

/// Finding 5: a keeper slashed to zero, or below the minimum bond, goes through the activation delay
/// again when it tops up, like a new keeper.
contract ReactivationTest is HeraldFixture {
    uint32 internal constant ACTIVATION = 1 hours;
    uint96 internal constant MIN_BOND = 600e18;
    address internal reporter = makeAddr("reporter");

    function initialParams() internal pure override returns (HeraldConfig.Params memory p) {
        p = super.initialParams();
        p.activationDelay = ACTIVATION;
        p.minBond = MIN_BOND;
    }

    function initialSlashAmount() internal pure override returns (uint96) {
        return 500e18;
    }

    function setUp() public override {
        super.setUp();
        vm.warp(vm.getBlockTimestamp() + ACTIVATION);
        for (uint256 i; i < KEEPERS; ++i) {
            token.mint(keepers[i], 10_000e18);
            vm.prank(keepers[i]);
            token.approve(address(herald), type(uint256).max);
        }
    }

    function test_addBond_afterSlashToZero_waitsForActivation() public {
        _slash(0, 1);
        _slash(0, 2);
        assertEq(herald.keeper(keepers[0]).bond, 0);
        assertFalse(herald.isActiveKeeper(keepers[0]));

        uint40 activeFrom = uint40(vm.getBlockTimestamp() + ACTIVATION);
        vm.expectEmit(address(herald));
        emit HeraldRegistry.KeeperBondAdded(keepers[0], BOND, BOND, activeFrom);
        vm.prank(keepers[0]);
        herald.addBond(BOND);
        assertEq(herald.keeper(keepers[0]).activeFrom, activeFrom);
        assertFalse(herald.isActiveKeeper(keepers[0]), "not in the block of the top-up");
        vm.warp(activeFrom - 1);
        assertFalse(herald.isActiveKeeper(keepers[0]));
        vm.warp(activeFrom);
        assertTrue(herald.isActiveKeeper(keepers[0]));
    }

    function test_addBond_afterSlashBelowMinimum_waitsForActivation() public {
        _slash(1, 1);
        assertEq(herald.keeper(keepers[1]).bond, BOND - 500e18);
        assertFalse(herald.isActiveKeeper(keepers[1]), "below the minimum bond");
        vm.prank(keepers[1]);
        herald.addBond(200e18);
        assertFalse(herald.isActiveKeeper(keepers[1]), "not in the block of the top-up");
        vm.warp(vm.getBlockTimestamp() + ACTIVATION);
        assertTrue(herald.isActiveKeeper(keepers[1]));
    }

    function test_addBond_whileActive_keepsActivation() public {
        uint40 activeFrom = herald.keeper(keepers[2]).activeFrom;
        vm.prank(keepers[2]);
        herald.addBond(1e18);
        assertEq(herald.keeper(keepers[2]).activeFrom, activeFrom);
        assertTrue(herald.isActiveKeeper(keepers[2]));
    }

    /// Slashing takes the slashed amount out of `totalBond`, unless the keeper is unbonding (its bond
    /// already left).
    function test_totalBond_followsSlashes() public {
        _slash(0, 1);
        assertEq(herald.totalBond(), 5 * BOND - 500e18);
        vm.prank(keepers[3]);
        herald.requestUnbond(keepers[3]);
        assertEq(herald.totalBond(), 4 * BOND - 500e18);
        _slash(3, 1);
        assertEq(herald.totalBond(), 4 * BOND - 500e18);
    }

    function _slash(uint256 i, uint64 key) private {
        uint64 id = createTrigger(user, 1e18);
        ExecutionReceipt[] memory a = single(receipt(id, key));
        ExecutionReceipt[] memory b = single(receipt(id, key));
        b[0].resultHash = keccak256("other");
        bytes memory sigA = sign(keeperKeys[i], herald.batchDigest(a));
        bytes memory sigB = sign(keeperKeys[i], herald.batchDigest(b));
        vm.prank(reporter);
        herald.reportEquivocation(keepers[i], a, 0, sigA, b, 0, sigB);
    }
}

contract TriggersTest is HeraldFixture {
    address internal stranger = makeAddr("stranger");

    function test_createTrigger_storesTermsAndEmitsConfig() public {
        TriggerTerms memory t = terms();
        t.expiresAt = uint40(block.timestamp + 30 days);
        t.maxExecutions = 3;
        bytes memory config = bytes("augur-transfer: {connector: {type: EVM_LOG}}");
        vm.expectEmit(address(herald));
        emit HeraldRegistry.TriggerCreated(
            1, user, connectorType, serviceType, MAX_FEE, t.expiresAt, 3, 5e18, keccak256(config), config
        );
        vm.prank(user);
        uint64 id = herald.createTrigger(t, 5e18, config);
        assertEq(id, 1);
        assertEq(herald.triggerCount(), 1);
        assertEq(herald.balanceOf(user), 995e18);
        HeraldRegistry.Trigger memory stored = herald.trigger(id);
        assertEq(stored.owner, user);
        assertEq(stored.configHash, keccak256(config));
        assertEq(stored.ledger.budget, 5e18);
        assertEq(stored.ledger.maxExecutions, 3);
        assertEq(stored.rules.maxFeePerExecution, MAX_FEE);
        assertEq(stored.rules.expiresAt, t.expiresAt);
    }

    function test_createTrigger_reverts() public {
        TriggerTerms memory t = terms();
        t.connectorType = 9;
        vm.startPrank(user);
        vm.expectRevert(abi.encodeWithSelector(HeraldRegistry.UnknownConnectorType.selector, 9));
        herald.createTrigger(t, 0, "");
        t = terms();
        t.serviceType = 9;
        vm.expectRevert(abi.encodeWithSelector(HeraldRegistry.UnknownServiceType.selector, 9));
        herald.createTrigger(t, 0, "");
        t = terms();
        t.expiresAt = uint40(block.timestamp);
        vm.expectRevert(abi.encodeWithSelector(HeraldRegistry.ExpiryInPast.selector, t.expiresAt));
        herald.createTrigger(t, 0, "");
        vm.expectRevert(abi.encodeWithSelector(HeraldEscrow.InsufficientBalance.selector, 1000e18, 1001e18));
        herald.createTrigger(terms(), 1001e18, "");
        vm.stopPrank();
    }

    /// Finding 1: keepers parse every configuration, so its size is capped.
    function test_createTrigger_rejectsOversizedConfig() public {
        uint256 max = herald.MAX_CONFIG_BYTES();
        assertEq(max, 16_384);
        vm.startPrank(user);
        vm.expectRevert(abi.encodeWithSelector(HeraldRegistry.ConfigTooLarge.selector, max + 1, max));
        herald.createTrigger(terms(), 0, new bytes(max + 1));
        uint64 id = herald.createTrigger(terms(), 0, new bytes(max));
        vm.stopPrank();
        assertEq(herald.trigger(id).configHash, keccak256(new bytes(max)));
    }

    function test_fundTrigger_anyoneFromOwnBalance() public {
        uint64 id = createTrigger(user, 1e18);
        fund(stranger, 3e18);
        vm.expectEmit(address(herald));
        emit HeraldRegistry.TriggerFunded(id, stranger, 2e18, 3e18);
        vm.prank(stranger);
        herald.fundTrigger(id, 2e18);
        assertEq(herald.trigger(id).ledger.budget, 3e18);
        assertEq(herald.balanceOf(stranger), 1e18);
    }

    function test_fundTrigger_reverts() public {
        uint64 id = createTrigger(user, 1e18);
        vm.startPrank(user);
        vm.expectRevert(abi.encodeWithSelector(HeraldRegistry.UnknownTrigger.selector, 77));
        herald.fundTrigger(77, 1);
        vm.expectRevert(HeraldEscrow.ZeroAmount.selector);
        herald.fundTrigger(id, 0);
        vm.expectRevert(abi.encodeWithSelector(HeraldEscrow.InsufficientBalance.selector, 999e18, 1000e18));
        herald.fundTrigger(id, 1000e18);
        herald.cancelTrigger(id);
        vm.expectRevert(abi.encodeWithSelector(HeraldRegistry.TriggerIsCancelled.selector, id));
        herald.fundTrigger(id, 1);
        vm.stopPrank();
    }

    function test_withdrawal_isDelayedAndBudgetStillPaysMeanwhile() public {
        uint64 id = createTrigger(user, 1e18);
        uint40 unlocksAt = uint40(block.timestamp + 1 days);
        vm.expectEmit(address(herald));
        emit HeraldRegistry.BudgetWithdrawalRequested(id, 1e18, unlocksAt);
        vm.prank(user);
        herald.requestWithdrawal(id, 1e18);

        vm.prank(user);
        vm.expectRevert(abi.encodeWithSelector(HeraldRegistry.StillLocked.selector, unlocksAt));
        herald.completeWithdrawal(id);

        // Work done before the request settles during the delay.
        assertEq(settle(single(receipt(id, 1))), 1);
        uint256 fee = expectedFee(1e15, true);

        vm.warp(unlocksAt);
        vm.expectEmit(address(herald));
        emit HeraldRegistry.BudgetWithdrawn(id, user, uint96(1e18 - fee));
        vm.prank(user);
        assertEq(herald.completeWithdrawal(id), 1e18 - fee, "capped at what is left");
        assertEq(herald.trigger(id).ledger.budget, 0);
        assertEq(herald.balanceOf(user), 999e18 + 1e18 - fee);
    }

    function test_withdrawal_reverts() public {
        uint64 id = createTrigger(user, 1e18);
        vm.prank(stranger);
        vm.expectRevert(abi.encodeWithSelector(HeraldRegistry.NotTriggerOwner.selector, id, stranger));
        herald.requestWithdrawal(id, 1);
        vm.startPrank(user);
        vm.expectRevert(HeraldEscrow.ZeroAmount.selector);
        herald.requestWithdrawal(id, 0);
        vm.expectRevert(abi.encodeWithSelector(HeraldRegistry.NoWithdrawalRequested.selector, id));
        herald.completeWithdrawal(id);
        vm.expectRevert(abi.encodeWithSelector(HeraldRegistry.UnknownTrigger.selector, 5));
        herald.requestWithdrawal(5, 1);
        vm.stopPrank();
    }

    function test_pauseResumeCancel_lifecycle() public {
        uint64 id = createTrigger(user, 1e18);
        vm.startPrank(user);
        vm.expectRevert(abi.encodeWithSelector(HeraldRegistry.TriggerNotPaused.selector, id));
        herald.resumeTrigger(id);
        vm.expectEmit(address(herald));
        emit HeraldRegistry.TriggerPaused(id, uint40(block.timestamp));
        herald.pauseTrigger(id);
        vm.expectRevert(abi.encodeWithSelector(HeraldRegistry.TriggerIsPaused.selector, id));
        herald.pauseTrigger(id);
        // (Explicit times: under via-IR, block.timestamp read before vm.warp may be reused after it.)
        uint40 later = uint40(vm.getBlockTimestamp() + 10);
        vm.warp(later);
        vm.expectEmit(address(herald));
        emit HeraldRegistry.TriggerResumed(id, later);
        herald.resumeTrigger(id);
        vm.expectEmit(address(herald));
        emit HeraldRegistry.TriggerCancelled(id, later);
        herald.cancelTrigger(id);
        vm.expectRevert(abi.encodeWithSelector(HeraldRegistry.TriggerIsCancelled.selector, id));
        herald.cancelTrigger(id);
        vm.expectRevert(abi.encodeWithSelector(HeraldRegistry.TriggerIsCancelled.selector, id));
        herald.pauseTrigger(id);
        vm.expectRevert(abi.encodeWithSelector(HeraldRegistry.TriggerIsCancelled.selector, id));
        herald.resumeTrigger(id);
        vm.stopPrank();
    }

    function test_cancelWhilePaused_keepsPauseStart() public {
        uint64 id = createTrigger(user, 1e18);
        vm.startPrank(user);
        herald.pauseTrigger(id);
        uint40 pausedAt = uint40(vm.getBlockTimestamp());
        vm.warp(pausedAt + 100);
        herald.cancelTrigger(id);
        vm.stopPrank();
        assertEq(herald.trigger(id).rules.pausedAt, pausedAt);
    }

    function test_setTriggerSecrets_emitsAndStoresNothing() public {
        uint64 id = createTrigger(user, 1e18);
        bytes memory envelope = bytes("hpke: enc || ciphertext");
        bytes32 configHash = herald.trigger(id).configHash;
        vm.record();
        vm.expectEmit(address(herald));
        emit HeraldRegistry.TriggerSecretsSet(id, envelope);
        vm.prank(user);
        herald.setTriggerSecrets(id, envelope);
        (, bytes32[] memory writes) = vm.accesses(address(herald));
        assertEq(writes.length, 0, "stores nothing");
        assertEq(herald.trigger(id).configHash, configHash);

        // The largest envelope is accepted, and a later one replaces it (for keepers, by its event).
        uint256 max = herald.MAX_CONFIG_BYTES();
        vm.expectEmit(address(herald));
        emit HeraldRegistry.TriggerSecretsSet(id, new bytes(max));
        vm.prank(user);
        herald.setTriggerSecrets(id, new bytes(max));
    }

    function test_setTriggerSecrets_refusesNonOwner() public {
        uint64 id = createTrigger(user, 1e18);
        vm.prank(stranger);
        vm.expectRevert(abi.encodeWithSelector(HeraldRegistry.NotTriggerOwner.selector, id, stranger));
        herald.setTriggerSecrets(id, "sealed");
    }

    function test_setTriggerSecrets_refusesUnknownTrigger() public {
        vm.prank(user);
        vm.expectRevert(abi.encodeWithSelector(HeraldRegistry.UnknownTrigger.selector, 77));
        herald.setTriggerSecrets(77, "sealed");
    }

    function test_setTriggerSecrets_refusesOversizedEnvelope() public {
        uint64 id = createTrigger(user, 1e18);
        uint256 max = herald.MAX_CONFIG_BYTES();
        vm.prank(user);
        vm.expectRevert(abi.encodeWithSelector(HeraldRegistry.ConfigTooLarge.selector, max + 1, max));
        herald.setTriggerSecrets(id, new bytes(max + 1));
    }

    function test_setTriggerSecrets_refusesCancelledTrigger() public {
        uint64 id = createTrigger(user, 1e18);
        vm.startPrank(user);
        herald.cancelTrigger(id);
        vm.expectRevert(abi.encodeWithSelector(HeraldRegistry.TriggerIsCancelled.selector, id));
        herald.setTriggerSecrets(id, "sealed");
        vm.stopPrank();
    }

    function test_ownerOnlyActions() public {
        uint64 id = createTrigger(user, 1e18);
        vm.startPrank(stranger);
        vm.expectRevert(abi.encodeWithSelector(HeraldRegistry.NotTriggerOwner.selector, id, stranger));
        herald.pauseTrigger(id);
        vm.expectRevert(abi.encodeWithSelector(HeraldRegistry.NotTriggerOwner.selector, id, stranger));
        herald.resumeTrigger(id);
        vm.expectRevert(abi.encodeWithSelector(HeraldRegistry.NotTriggerOwner.selector, id, stranger));
        herald.cancelTrigger(id);
        vm.expectRevert(abi.encodeWithSelector(HeraldRegistry.NotTriggerOwner.selector, id, stranger));
        herald.completeWithdrawal(id);
        vm.stopPrank();
    }
}

/// Finding 16b: a keeper's bond and rewards belong to the cold key it names at registration; its hot
/// signing key, which lives on the keeper's node, can neither withdraw the bond nor claim the rewards.
contract KeeperKeysTest is HeraldFixture {
    address internal hot = makeAddr("hot");
    address internal cold = makeAddr("cold");
    address internal thief = makeAddr("thief");

    function setUp() public override {
        super.setUp();
        token.mint(hot, 10e18);
        vm.startPrank(hot);
        token.approve(address(herald), 10e18);
        vm.expectEmit(address(herald));
        emit HeraldRegistry.KeeperRegistered(hot, cold, 10e18, uint40(block.timestamp), "http://k");
        herald.registerKeeper(10e18, "http://k", cold);
        vm.stopPrank();
    }

    function test_registerKeeper_namesTheBondOwner() public view {
        assertEq(herald.keeper(hot).owner, cold);
        assertTrue(herald.isActiveKeeper(hot));
        assertEq(herald.keeper(keepers[0]).owner, keepers[0], "no owner named: the keeper's own key");
    }

    function test_aStolenSigningKeyCannotWithdrawTheBond() public {
        vm.startPrank(hot);
        herald.requestUnbond(hot);
        vm.warp(block.timestamp + 7 days);
        vm.expectRevert(abi.encodeWithSelector(HeraldRegistry.NotBondOwner.selector, hot, hot));
        herald.withdrawBond(hot, thief);
        vm.stopPrank();
        vm.prank(thief);
        vm.expectRevert(abi.encodeWithSelector(HeraldRegistry.NotBondOwner.selector, hot, thief));
        herald.withdrawBond(hot, thief);

        vm.prank(cold);
        herald.withdrawBond(hot, cold);
        assertEq(token.balanceOf(cold), 10e18);
        assertEq(token.balanceOf(thief), 0);
    }

    function test_theOwnerUnbondsAKeeperWhoseKeyIsLost() public {
        vm.prank(thief);
        vm.expectRevert(abi.encodeWithSelector(HeraldRegistry.NotBondOwner.selector, hot, thief));
        herald.requestUnbond(hot);
        uint256 total = herald.totalBond();
        vm.prank(cold);
        herald.requestUnbond(hot);
        assertFalse(herald.isActiveKeeper(hot), "out of the quorum at once");
        assertEq(herald.totalBond(), total - 10e18);
        vm.warp(block.timestamp + 7 days);
        vm.prank(cold);
        herald.withdrawBond(hot, cold);
        assertEq(token.balanceOf(cold), 10e18);
    }

    function test_aKeepersRewardsGoToItsOwnerOnly() public {
        uint256 earned = _runOneReceipt();
        vm.prank(hot);
        vm.expectRevert(abi.encodeWithSelector(HeraldRegistry.NotBondOwner.selector, hot, hot));
        herald.claim(thief);
        vm.prank(hot);
        herald.claim(cold);
        assertEq(token.balanceOf(cold), earned);
    }

    function test_withdrawBond_givesTheUnclaimedRewardsToTheOwner() public {
        uint256 earned = _runOneReceipt();
        vm.prank(cold);
        herald.requestUnbond(hot);
        vm.warp(block.timestamp + 7 days);
        vm.prank(cold);
        herald.withdrawBond(hot, cold);
        assertEq(herald.claimable(hot), 0);
        assertEq(herald.claimable(cold), earned);
        // Deregistered, the hot key has nothing left to claim anywhere.
        vm.prank(hot);
        vm.expectRevert(HeraldEscrow.NothingToClaim.selector);
        herald.claim(thief);
    }

    /// The hot keeper runs one settled receipt and earns the runner's fee.
    function _runOneReceipt() private returns (uint256 earned) {
        uint64 id = createTrigger(user, 1e18);
        ExecutionReceipt memory r = receipt(id, 1);
        r.runner = hot;
        ExecutionReceipt[] memory rs = single(r);
        // The hot keeper's bond joined the total: four of the five fixture keepers carry the stake quorum.
        assertEq(herald.settle(rs, quorumSignatures(rs, 4)), 1);
        earned = herald.claimable(hot);
        assertEq(earned, 1e15);
    }
}
