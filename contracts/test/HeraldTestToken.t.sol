// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

import {IERC20} from "@openzeppelin/contracts/token/ERC20/IERC20.sol";
import {Test} from "forge-std/Test.sol";

import {HeraldTestToken} from "../src/dev/HeraldTestToken.sol";

contract HeraldTestTokenTest is Test {
    HeraldTestToken internal token;
    address internal alice = makeAddr("alice");

    function setUp() public {
        token = new HeraldTestToken();
    }

    function test_mintBatch_emitsOneTransferPerMintWithIncreasingAmounts() public {
        for (uint256 i = 0; i < 3; ++i) {
            vm.expectEmit(address(token));
            emit IERC20.Transfer(address(0), alice, 10 + i);
        }
        token.mintBatch(alice, 10, 3);
        assertEq(token.balanceOf(alice), 10 + 11 + 12);
        assertEq(token.totalSupply(), 33);
    }

    function test_mintBatch_ofZeroMintsNothing() public {
        vm.recordLogs();
        token.mintBatch(alice, 10, 0);
        assertEq(vm.getRecordedLogs().length, 0);
        assertEq(token.balanceOf(alice), 0);
    }

    function testFuzz_mintBatch_creditsTheSumOfTheAmounts(uint64 amount, uint8 count) public {
        token.mintBatch(alice, amount, count);
        uint256 n = count;
        uint256 increments = n == 0 ? 0 : n * (n - 1) / 2; // 0 + 1 + … + (n - 1)
        assertEq(token.balanceOf(alice), n * amount + increments);
    }
}
