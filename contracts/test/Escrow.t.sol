// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

import {Herald} from "../src/Herald.sol";
import {HeraldConfig} from "../src/modules/HeraldConfig.sol";
import {HeraldEscrow} from "../src/modules/HeraldEscrow.sol";
import {HeraldFixture} from "./utils/HeraldFixture.sol";
import {
    IAccessControlDefaultAdminRules
} from "@openzeppelin/contracts/access/extensions/IAccessControlDefaultAdminRules.sol";
import {IERC20Errors} from "@openzeppelin/contracts/interfaces/draft-IERC6093.sol";
import {IERC20} from "@openzeppelin/contracts/token/ERC20/IERC20.sol";

contract EscrowTest is HeraldFixture {
    address internal alice;
    uint256 internal aliceKey;

    function setUp() public override {
        super.setUp();
        (alice, aliceKey) = makeAddrAndKey("alice");
        token.mint(alice, 100e18);
    }

    function test_constructor_rejectsZeroAddresses() public {
        HeraldConfig.Params memory p = initialParams();
        vm.expectRevert(HeraldConfig.ZeroAddress.selector);
        new Herald(IERC20(address(0)), admin, treasury, p, 0);
        vm.expectRevert(
            abi.encodeWithSelector(
                IAccessControlDefaultAdminRules.AccessControlInvalidDefaultAdmin.selector, address(0)
            )
        );
        new Herald(token, address(0), treasury, p, 0);
        vm.expectRevert(HeraldConfig.ZeroAddress.selector);
        new Herald(token, admin, address(0), p, 0);
    }

    function test_deposit_creditsCaller() public {
        vm.startPrank(alice);
        token.approve(address(herald), 10e18);
        vm.expectEmit(address(herald));
        emit HeraldEscrow.Deposited(alice, alice, 10e18);
        herald.deposit(10e18);
        vm.stopPrank();
        assertEq(herald.balanceOf(alice), 10e18);
        assertEq(token.balanceOf(alice), 90e18);
    }

    function test_deposit_revertsOnZero() public {
        vm.prank(alice);
        vm.expectRevert(HeraldEscrow.ZeroAmount.selector);
        herald.deposit(0);
    }

    function test_deposit_revertsWithoutAllowance() public {
        vm.prank(alice);
        vm.expectPartialRevert(IERC20Errors.ERC20InsufficientAllowance.selector);
        herald.deposit(1e18);
    }

    function test_depositFor_creditsBeneficiary() public {
        vm.startPrank(alice);
        token.approve(address(herald), 5e18);
        vm.expectEmit(address(herald));
        emit HeraldEscrow.Deposited(alice, user, 5e18);
        herald.depositFor(user, 5e18);
        vm.stopPrank();
        assertEq(herald.balanceOf(user), 1000e18 + 5e18);
        assertEq(herald.balanceOf(alice), 0);
    }

    function test_depositFor_revertsOnZeroUser() public {
        vm.prank(alice);
        vm.expectRevert(HeraldConfig.ZeroAddress.selector);
        herald.depositFor(address(0), 1e18);
    }

    function test_depositWithPermit_needsNoApproval() public {
        (uint8 v, bytes32 r, bytes32 s) = _permit(7e18, block.timestamp + 1 hours);
        vm.prank(alice);
        herald.depositWithPermit(7e18, block.timestamp + 1 hours, v, r, s);
        assertEq(herald.balanceOf(alice), 7e18);
    }

    function test_depositWithPermit_survivesFrontRunPermit() public {
        uint256 deadline = block.timestamp + 1 hours;
        (uint8 v, bytes32 r, bytes32 s) = _permit(7e18, deadline);
        // Someone submits the permit first; the deposit still goes through on the allowance it set.
        token.permit(alice, address(herald), 7e18, deadline, v, r, s);
        vm.prank(alice);
        herald.depositWithPermit(7e18, deadline, v, r, s);
        assertEq(herald.balanceOf(alice), 7e18);
    }

    function test_depositWithPermit_revertsOnBadPermitWithoutAllowance() public {
        (uint8 v, bytes32 r, bytes32 s) = _permit(7e18, block.timestamp + 1 hours);
        vm.prank(alice);
        vm.expectPartialRevert(IERC20Errors.ERC20InsufficientAllowance.selector);
        herald.depositWithPermit(8e18, block.timestamp + 1 hours, v, r, s);
    }

    function test_withdraw_isImmediateForUnallocatedBalance() public {
        vm.expectEmit(address(herald));
        emit HeraldEscrow.Withdrawn(user, alice, 4e18);
        vm.prank(user);
        herald.withdraw(4e18, alice);
        assertEq(herald.balanceOf(user), 996e18);
        assertEq(token.balanceOf(alice), 104e18);
    }

    function test_withdraw_reverts() public {
        vm.startPrank(user);
        vm.expectRevert(HeraldEscrow.ZeroAmount.selector);
        herald.withdraw(0, user);
        vm.expectRevert(HeraldConfig.ZeroAddress.selector);
        herald.withdraw(1, address(0));
        vm.expectRevert(abi.encodeWithSelector(HeraldEscrow.InsufficientBalance.selector, 1000e18, 1001e18));
        herald.withdraw(1001e18, user);
        vm.stopPrank();
    }

    function test_claim_paysEarnedRewards() public {
        uint64 id = createTrigger(user, 1e18);
        settle(single(receipt(id, 1)));
        uint256 earned = herald.claimable(serviceDev);
        assertEq(earned, SERVICE_DEV_FEE);
        vm.expectEmit(address(herald));
        emit HeraldEscrow.Claimed(serviceDev, alice, earned);
        vm.prank(serviceDev);
        assertEq(herald.claim(alice), earned);
        assertEq(herald.claimable(serviceDev), 0);
        assertEq(token.balanceOf(alice), 100e18 + earned);
    }

    function test_claim_reverts() public {
        vm.startPrank(alice);
        vm.expectRevert(HeraldEscrow.NothingToClaim.selector);
        herald.claim(alice);
        vm.expectRevert(HeraldConfig.ZeroAddress.selector);
        herald.claim(address(0));
        vm.stopPrank();
    }

    function testFuzz_depositThenWithdraw_roundTrips(uint256 amount, uint256 part) public {
        amount = bound(amount, 1, 100e18);
        part = bound(part, 1, amount);
        vm.startPrank(alice);
        token.approve(address(herald), amount);
        herald.deposit(amount);
        herald.withdraw(part, alice);
        vm.stopPrank();
        assertEq(herald.balanceOf(alice), amount - part);
        assertEq(token.balanceOf(alice), 100e18 - amount + part);
    }

    function _permit(uint256 value, uint256 deadline) private view returns (uint8, bytes32, bytes32) {
        bytes32 structHash = keccak256(
            abi.encode(
                keccak256(
                    "Permit(address owner,address spender,uint256 value,uint256 nonce,uint256 deadline)"
                ),
                alice,
                address(herald),
                value,
                token.nonces(alice),
                deadline
            )
        );
        bytes32 digest = keccak256(abi.encodePacked("\x19\x01", token.DOMAIN_SEPARATOR(), structHash));
        return vm.sign(aliceKey, digest);
    }
}
