// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

import {Herald} from "../src/Herald.sol";
import {HeraldConfig} from "../src/modules/HeraldConfig.sol";
import {HeraldEscrow} from "../src/modules/HeraldEscrow.sol";
import {HeraldRegistry} from "../src/modules/HeraldRegistry.sol";
import {ERC20} from "@openzeppelin/contracts/token/ERC20/ERC20.sol";
import {Test} from "forge-std/Test.sol";

/// @dev Keeps 1% of every transfer, like some real tokens do.
contract FeeToken is ERC20 {
    constructor() ERC20("Fee", "FEE") {}

    function mint(address to, uint256 amount) external {
        _mint(to, amount);
    }

    function _update(address from, address to, uint256 value) internal override {
        if (from == address(0) || to == address(0)) return super._update(from, to, value);
        uint256 fee = value / 100;
        super._update(from, address(0xFEE), fee);
        super._update(from, to, value - fee);
    }
}

/// @notice The books only ever promise what actually arrived.
contract FeeOnTransferTest is Test {
    FeeToken internal token;
    Herald internal herald;
    address internal admin = makeAddr("admin");
    address internal user = makeAddr("user");

    function setUp() public {
        token = new FeeToken();
        HeraldConfig.Params memory p = HeraldConfig.Params({
            protocolFeeBps: 500,
            minSigners: 1,
            quorumBps: 6666,
            withdrawalDelay: 1 days,
            activationDelay: 0,
            unbondingDelay: 7 days,
            slashBountyBps: 2000,
            minBond: 100e18
        });
        herald = new Herald(token, admin, makeAddr("treasury"), p, 0);
        token.mint(user, 1000e18);
        vm.prank(user);
        token.approve(address(herald), type(uint256).max);
    }

    function test_deposit_creditsWhatArrived() public {
        vm.expectEmit(address(herald));
        emit HeraldEscrow.Deposited(user, user, 99e18);
        vm.prank(user);
        herald.deposit(100e18);
        assertEq(herald.balanceOf(user), 99e18);
        assertEq(token.balanceOf(address(herald)), 99e18);
    }

    function test_registerKeeper_checksTheBondThatArrived() public {
        // 100 sent, 99 received: below the minimum even though the argument met it.
        vm.prank(user);
        vm.expectRevert(abi.encodeWithSelector(HeraldRegistry.BondBelowMinimum.selector, 99e18, 100e18));
        herald.registerKeeper(100e18, "", address(0));
    }
}
