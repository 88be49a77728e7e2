// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

import {Herald} from "../src/Herald.sol";
import {HeraldConfig} from "../src/modules/HeraldConfig.sol";
import {HeraldFixture} from "./utils/HeraldFixture.sol";
import {IAccessControl} from "@openzeppelin/contracts/access/IAccessControl.sol";
import {
    IAccessControlDefaultAdminRules
} from "@openzeppelin/contracts/access/extensions/IAccessControlDefaultAdminRules.sol";

contract ConfigTest is HeraldFixture {
    address internal stranger = makeAddr("stranger");

    function test_constructor_setsParamsAndRoles() public view {
        _assertParams(herald.params(), initialParams());
        assertEq(herald.slashAmount(), 0);
        assertEq(herald.treasury(), treasury);
        assertTrue(herald.hasRole(herald.DEFAULT_ADMIN_ROLE(), admin));
        assertTrue(herald.hasRole(herald.PARAMS_ROLE(), admin));
        assertEq(herald.defaultAdmin(), admin);
        assertEq(herald.defaultAdminDelay(), 3 days);
        (,, uint40 effectiveAt) = herald.pendingParams();
        assertEq(effectiveAt, 0, "nothing pending");
    }

    /// Keepers rebuild the parameters from logs alone, starting with the constructor's.
    function test_constructor_emitsParamsApplied() public {
        HeraldConfig.Params memory p = initialParams();
        p.protocolFeeBps = 123;
        vm.expectEmit(vm.computeCreateAddress(address(this), vm.getNonce(address(this))));
        emit HeraldConfig.ParamsApplied(p, 7e18);
        new Herald(token, admin, treasury, p, 7e18);
    }

    /// Finding 3: the bounds hold from deployment on.
    function test_constructor_enforcesBounds() public {
        HeraldConfig.Params memory p = initialParams();
        p.quorumBps = 5000;
        vm.expectRevert(
            abi.encodeWithSelector(HeraldConfig.ParamOutOfBounds.selector, bytes32("quorumBps"), 5000, 5001)
        );
        new Herald(token, admin, treasury, p, 0);
    }

    // ------------------------------------------------------------------ the timelock (finding 3)

    /// Finding 3: the drain of one block (`setQuorum(1)`, `setMinBond(0)`, `setDelays(0,0,0)`) is now a
    /// public proposal that changes nothing until its timelock has passed.
    function test_proposeParams_changesNothingUntilTheTimelockPasses() public {
        HeraldConfig.Params memory weak = _weakest();
        uint40 effectiveAt = uint40(vm.getBlockTimestamp() + 1 days + 1 days);
        vm.expectEmit(address(herald));
        emit HeraldConfig.ParamsProposed(weak, 1, effectiveAt);
        vm.prank(admin);
        assertEq(herald.proposeParams(weak, 1), effectiveAt);

        _assertParams(herald.params(), initialParams());
        (HeraldConfig.Params memory pending, uint96 pendingSlash, uint40 at) = herald.pendingParams();
        _assertParams(pending, weak);
        assertEq(pendingSlash, 1);
        assertEq(at, effectiveAt);

        vm.expectRevert(abi.encodeWithSelector(HeraldConfig.ParamsNotYetEffective.selector, effectiveAt));
        herald.applyParams();
        vm.warp(effectiveAt - 1);
        vm.expectRevert(abi.encodeWithSelector(HeraldConfig.ParamsNotYetEffective.selector, effectiveAt));
        herald.applyParams();
        _assertParams(herald.params(), initialParams());

        vm.warp(effectiveAt);
        vm.expectEmit(address(herald));
        emit HeraldConfig.ParamsApplied(weak, 1);
        vm.prank(stranger); // anyone may apply
        herald.applyParams();
        _assertParams(herald.params(), weak);
        assertEq(herald.slashAmount(), 1);
        (,, at) = herald.pendingParams();
        assertEq(at, 0, "applied proposals are cleared");
        vm.expectRevert(HeraldConfig.NoParamsProposal.selector);
        herald.applyParams();
    }

    /// A user who requests a withdrawal when a change is proposed completes it before the change applies,
    /// whether the change shortens the withdrawal delay or lengthens it.
    function test_proposeParams_outlastsCurrentAndProposedWithdrawalDelay() public {
        uint64 id = createTrigger(user, 1e18);
        uint256 t0 = vm.getBlockTimestamp();
        HeraldConfig.Params memory p = initialParams();
        p.withdrawalDelay = 0;
        vm.prank(admin);
        uint40 effectiveAt = herald.proposeParams(p, 0);
        assertEq(effectiveAt, t0 + 1 days + 1 days, "the current delay is the longer");

        vm.prank(user);
        herald.requestWithdrawal(id, 1e18);
        (, uint40 unlocksAt) = herald.budgetWithdrawals(id);
        assertLt(unlocksAt, effectiveAt);
        vm.warp(unlocksAt);
        vm.prank(user);
        herald.completeWithdrawal(id);
        vm.expectRevert(abi.encodeWithSelector(HeraldConfig.ParamsNotYetEffective.selector, effectiveAt));
        herald.applyParams();

        p.withdrawalDelay = 5 days;
        p.unbondingDelay = 7 days;
        vm.prank(admin);
        effectiveAt = herald.proposeParams(p, 0);
        assertEq(effectiveAt, unlocksAt + 5 days + 1 days, "the proposed delay is the longer");
    }

    function test_proposeParams_replacesThePendingOne() public {
        HeraldConfig.Params memory first = initialParams();
        first.protocolFeeBps = 1;
        HeraldConfig.Params memory second = initialParams();
        second.protocolFeeBps = 2;
        vm.startPrank(admin);
        herald.proposeParams(first, 5);
        vm.warp(vm.getBlockTimestamp() + 1 hours);
        uint40 effectiveAt = herald.proposeParams(second, 6);
        vm.stopPrank();
        (HeraldConfig.Params memory pending, uint96 slash, uint40 at) = herald.pendingParams();
        assertEq(pending.protocolFeeBps, 2);
        assertEq(slash, 6);
        assertEq(at, effectiveAt);
        vm.warp(effectiveAt);
        herald.applyParams();
        assertEq(herald.params().protocolFeeBps, 2);
        assertEq(herald.slashAmount(), 6);
    }

    function test_cancelParams() public {
        vm.prank(admin);
        vm.expectRevert(HeraldConfig.NoParamsProposal.selector);
        herald.cancelParams();
        vm.prank(admin);
        uint40 effectiveAt = herald.proposeParams(_weakest(), 0);
        vm.expectEmit(address(herald));
        emit HeraldConfig.ParamsProposalCancelled();
        vm.prank(admin);
        herald.cancelParams();
        vm.warp(effectiveAt);
        vm.expectRevert(HeraldConfig.NoParamsProposal.selector);
        herald.applyParams();
        _assertParams(herald.params(), initialParams());
    }

    function test_params_onlyParamsRoleProposesAndCancels() public {
        HeraldConfig.Params memory p = initialParams();
        _expectUnauthorized(herald.PARAMS_ROLE());
        herald.proposeParams(p, 0);
        _expectUnauthorized(herald.PARAMS_ROLE());
        herald.cancelParams();
    }

    /// Finding 3 (and 4, for the bounty): every field has its floor or ceiling, named in the revert.
    function test_proposeParams_enforcesBounds() public {
        HeraldConfig.Params memory p;
        p = initialParams();
        p.protocolFeeBps = 2001;
        _expectOutOfBounds(p, "protocolFeeBps", 2001, 2000);
        p = initialParams();
        p.minSigners = 0;
        _expectOutOfBounds(p, "minSigners", 0, 1);
        p = initialParams();
        p.quorumBps = 5000;
        _expectOutOfBounds(p, "quorumBps", 5000, 5001);
        p = initialParams();
        p.quorumBps = 10_001;
        _expectOutOfBounds(p, "quorumBps", 10_001, 10_000);
        p = initialParams();
        p.withdrawalDelay = 60 days + 1;
        p.unbondingDelay = 60 days;
        _expectOutOfBounds(p, "withdrawalDelay", 60 days + 1, 60 days);
        p = initialParams();
        p.activationDelay = 60 days + 1;
        _expectOutOfBounds(p, "activationDelay", 60 days + 1, 60 days);
        p = initialParams();
        p.unbondingDelay = 60 days + 1;
        _expectOutOfBounds(p, "unbondingDelay", 60 days + 1, 60 days);
        p = initialParams();
        p.unbondingDelay = p.withdrawalDelay - 1;
        _expectOutOfBounds(p, "unbondingDelay", p.unbondingDelay, p.withdrawalDelay);
        p = initialParams();
        p.slashBountyBps = 2001;
        _expectOutOfBounds(p, "slashBountyBps", 2001, 2000);
        p = initialParams();
        p.minBond = 0;
        _expectOutOfBounds(p, "minBond", 0, 1);
    }

    function test_proposeParams_acceptsTheBoundsThemselves() public {
        HeraldConfig.Params memory p = HeraldConfig.Params({
            protocolFeeBps: 2000,
            minSigners: 1,
            quorumBps: 5001,
            withdrawalDelay: 60 days,
            activationDelay: 60 days,
            unbondingDelay: 60 days,
            slashBountyBps: 2000,
            minBond: 1
        });
        changeParams(p, type(uint96).max);
        _assertParams(herald.params(), p);
        p.quorumBps = 10_000;
        p.withdrawalDelay = 0;
        p.activationDelay = 0;
        p.unbondingDelay = 0;
        changeParams(p, 0);
        _assertParams(herald.params(), p);
    }

    /// `settle` reads the parameters as one slot, and `totalBond` with the treasury it reads anyway.
    function test_params_packIntoOneSlotBesideTreasuryAndTotalBond() public view {
        HeraldConfig.Params memory p = initialParams();
        uint256 word = uint256(p.protocolFeeBps) | uint256(p.minSigners) << 16 | uint256(p.quorumBps) << 24
            | uint256(p.withdrawalDelay) << 40 | uint256(p.activationDelay) << 72 | uint256(p.unbondingDelay)
            << 104 | uint256(p.slashBountyBps) << 136 | uint256(p.minBond) << 152;
        for (uint256 slot; slot < 64; ++slot) {
            if (uint256(vm.load(address(herald), bytes32(slot))) != word) continue;
            uint256 next = uint256(vm.load(address(herald), bytes32(slot + 1)));
            assertEq(address(uint160(next)), treasury);
            assertEq(next >> 160, herald.totalBond());
            return;
        }
        revert("Params is not one packed slot");
    }

    // ------------------------------------------------------------------ admin

    function test_defaultAdmin_transferIsTwoStepAndDelayed() public {
        address next = makeAddr("nextAdmin");
        bytes32 adminRole = herald.DEFAULT_ADMIN_ROLE();
        vm.prank(admin);
        vm.expectRevert(IAccessControlDefaultAdminRules.AccessControlEnforcedDefaultAdminRules.selector);
        herald.grantRole(adminRole, next);

        vm.prank(admin);
        herald.beginDefaultAdminTransfer(next);
        (, uint48 schedule) = herald.pendingDefaultAdmin();
        assertEq(schedule, vm.getBlockTimestamp() + 3 days);
        vm.prank(next);
        vm.expectRevert(
            abi.encodeWithSelector(
                IAccessControlDefaultAdminRules.AccessControlEnforcedDefaultAdminDelay.selector, schedule
            )
        );
        herald.acceptDefaultAdminTransfer();
        vm.warp(schedule + 1);
        vm.prank(next);
        herald.acceptDefaultAdminTransfer();
        assertEq(herald.defaultAdmin(), next);
        assertFalse(herald.hasRole(adminRole, admin));
    }

    function test_setTreasury() public {
        address next = makeAddr("nextTreasury");
        vm.expectEmit(address(herald));
        emit HeraldConfig.TreasurySet(next);
        vm.prank(admin);
        herald.setTreasury(next);
        assertEq(herald.treasury(), next);
    }

    function test_setTreasury_reverts() public {
        vm.prank(admin);
        vm.expectRevert(HeraldConfig.ZeroAddress.selector);
        herald.setTreasury(address(0));
        _expectUnauthorized(herald.DEFAULT_ADMIN_ROLE());
        herald.setTreasury(stranger);
    }

    /// `setTreasury` shares a slot with `totalBond`, which it must leave alone.
    function test_setTreasury_keepsTotalBond() public {
        uint256 total = herald.totalBond();
        vm.prank(admin);
        herald.setTreasury(stranger);
        assertEq(herald.totalBond(), total);
    }

    // ------------------------------------------------------------------ helpers

    /// @dev What the audit's one-block drain would have set, as far as the bounds allow.
    function _weakest() private pure returns (HeraldConfig.Params memory) {
        return HeraldConfig.Params({
            protocolFeeBps: 2000,
            minSigners: 1,
            quorumBps: 5001,
            withdrawalDelay: 0,
            activationDelay: 0,
            unbondingDelay: 0,
            slashBountyBps: 2000,
            minBond: 1
        });
    }

    function _expectOutOfBounds(HeraldConfig.Params memory p, bytes32 field, uint256 value, uint256 bound)
        private
    {
        vm.prank(admin);
        vm.expectRevert(abi.encodeWithSelector(HeraldConfig.ParamOutOfBounds.selector, field, value, bound));
        herald.proposeParams(p, 0);
    }

    function _assertParams(HeraldConfig.Params memory a, HeraldConfig.Params memory b) private pure {
        assertEq(keccak256(abi.encode(a)), keccak256(abi.encode(b)), "params differ");
    }

    function _expectUnauthorized(bytes32 role) private {
        vm.prank(stranger);
        vm.expectRevert(
            abi.encodeWithSelector(IAccessControl.AccessControlUnauthorizedAccount.selector, stranger, role)
        );
    }
}
