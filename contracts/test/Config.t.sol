// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

import {HeraldConfig} from "../src/modules/HeraldConfig.sol";
import {HeraldFixture} from "./utils/HeraldFixture.sol";
import {IAccessControl} from "@openzeppelin/contracts/access/IAccessControl.sol";

contract ConfigTest is HeraldFixture {
    address internal stranger = makeAddr("stranger");

    function test_constructor_setsDefaultsAndRoles() public view {
        HeraldConfig.Params memory p = herald.params();
        assertEq(p.protocolFeeBps, 500);
        assertEq(p.quorum, 3); // set by the fixture
        assertEq(p.withdrawalDelay, 1 days);
        assertEq(p.unbondingDelay, 7 days);
        assertEq(herald.treasury(), treasury);
        assertTrue(herald.hasRole(herald.DEFAULT_ADMIN_ROLE(), admin));
        assertTrue(herald.hasRole(herald.PARAMS_ROLE(), admin));
    }

    function test_setProtocolFee() public {
        vm.expectEmit(address(herald));
        emit HeraldConfig.ProtocolFeeSet(1234);
        vm.prank(admin);
        herald.setProtocolFee(1234);
        assertEq(herald.params().protocolFeeBps, 1234);
    }

    function test_setProtocolFee_reverts() public {
        vm.prank(admin);
        vm.expectRevert(abi.encodeWithSelector(HeraldConfig.ProtocolFeeTooHigh.selector, 2001, 2000));
        herald.setProtocolFee(2001);
        _expectUnauthorized(herald.PARAMS_ROLE());
        herald.setProtocolFee(1);
    }

    function test_setQuorum() public {
        vm.expectEmit(address(herald));
        emit HeraldConfig.QuorumSet(5);
        vm.prank(admin);
        herald.setQuorum(5);
        assertEq(herald.params().quorum, 5);
    }

    function test_setQuorum_reverts() public {
        vm.prank(admin);
        vm.expectRevert(abi.encodeWithSelector(HeraldConfig.InvalidQuorum.selector, 0));
        herald.setQuorum(0);
        _expectUnauthorized(herald.PARAMS_ROLE());
        herald.setQuorum(2);
    }

    function test_setDelays() public {
        vm.expectEmit(address(herald));
        emit HeraldConfig.DelaysSet(1 hours, 2 hours, 3 hours);
        vm.prank(admin);
        herald.setDelays(1 hours, 2 hours, 3 hours);
        HeraldConfig.Params memory p = herald.params();
        assertEq(p.withdrawalDelay, 1 hours);
        assertEq(p.activationDelay, 2 hours);
        assertEq(p.unbondingDelay, 3 hours);
    }

    function test_setDelays_reverts() public {
        uint32 tooLong = 60 days + 1;
        vm.startPrank(admin);
        vm.expectRevert(abi.encodeWithSelector(HeraldConfig.DelayTooLong.selector, tooLong, 60 days));
        herald.setDelays(tooLong, 0, 0);
        vm.expectRevert(abi.encodeWithSelector(HeraldConfig.DelayTooLong.selector, tooLong, 60 days));
        herald.setDelays(0, tooLong, 0);
        vm.expectRevert(abi.encodeWithSelector(HeraldConfig.DelayTooLong.selector, tooLong, 60 days));
        herald.setDelays(0, 0, tooLong);
        vm.stopPrank();
        _expectUnauthorized(herald.PARAMS_ROLE());
        herald.setDelays(0, 0, 0);
    }

    function test_setMinBond() public {
        vm.expectEmit(address(herald));
        emit HeraldConfig.MinBondSet(5e18);
        vm.prank(admin);
        herald.setMinBond(5e18);
        assertEq(herald.params().minBond, 5e18);
        _expectUnauthorized(herald.PARAMS_ROLE());
        herald.setMinBond(1);
    }

    function test_setSlashing() public {
        vm.expectEmit(address(herald));
        emit HeraldConfig.SlashingSet(100e18, 2500);
        vm.prank(admin);
        herald.setSlashing(100e18, 2500);
        assertEq(herald.slashAmount(), 100e18);
        assertEq(herald.params().slashBountyBps, 2500);
    }

    function test_setSlashing_reverts() public {
        vm.prank(admin);
        vm.expectRevert(abi.encodeWithSelector(HeraldConfig.InvalidBps.selector, 10_001));
        herald.setSlashing(1, 10_001);
        _expectUnauthorized(herald.PARAMS_ROLE());
        herald.setSlashing(1, 1);
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

    function _expectUnauthorized(bytes32 role) private {
        vm.prank(stranger);
        vm.expectRevert(
            abi.encodeWithSelector(IAccessControl.AccessControlUnauthorizedAccount.selector, stranger, role)
        );
    }
}
