// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

import {Herald} from "../../src/Herald.sol";
import {HeraldTestToken} from "../../src/dev/HeraldTestToken.sol";
import {HeraldConfig} from "../../src/modules/HeraldConfig.sol";
import {HeraldHandler} from "./HeraldHandler.sol";
import {Test} from "forge-std/Test.sol";
import {console} from "forge-std/console.sol";

/// @notice Properties that must hold after any sequence of deposits, withdrawals, trigger changes,
/// keeper (un)bonding, fee and parameter changes, settlements (with replays, stale and invalid receipts,
/// inactive co-signers, refused quorums), claims and slashings. The CI profile runs each for
/// 64 x 200 = 12,800 calls.
contract HeraldInvariants is Test {
    Herald internal herald;
    HeraldTestToken internal token;
    HeraldHandler internal handler;
    address internal admin = makeAddr("admin");
    address internal treasury = makeAddr("treasury");

    function setUp() public {
        vm.warp(1_700_000_000);
        token = new HeraldTestToken();
        HeraldConfig.Params memory p = HeraldConfig.Params({
            protocolFeeBps: 500,
            minSigners: 3,
            quorumBps: 6666,
            withdrawalDelay: 1 days,
            activationDelay: 0,
            unbondingDelay: 7 days,
            slashBountyBps: 2000,
            minBond: 50e18
        });
        herald = new Herald(token, admin, treasury, p, 10e18);
        handler = new HeraldHandler(herald, token, treasury, admin);
        handler.bootstrap();
        targetContract(address(handler));
    }

    /// (a) Every token the contract holds is owed to someone: unallocated balances, trigger budgets,
    /// claimable rewards and keeper bonds add up to the token balance exactly.
    function invariant_conservation() public view {
        uint256 owed;
        for (uint256 i; i < handler.userCount(); ++i) {
            owed += herald.balanceOf(handler.users(i));
        }
        for (uint256 i; i < handler.triggerCount(); ++i) {
            owed += herald.trigger(handler.triggers(i)).ledger.budget;
        }
        address[] memory parties = handler.parties();
        for (uint256 i; i < parties.length; ++i) {
            owed += herald.claimable(parties[i]);
        }
        for (uint256 i; i < handler.keeperCount(); ++i) {
            owed += herald.keeper(handler.keepers(i)).bond;
        }
        assertEq(token.balanceOf(address(herald)), owed);
    }

    /// (b) No (trigger, event) is ever paid twice.
    function invariant_noEventPaidTwice() public view {
        assertFalse(handler.paidTwice());
    }

    /// (c) No execution costs more than its trigger's cap, and no trigger pays for more executions than
    /// its limit; the contract's execution count agrees with the payments seen.
    function invariant_capsAndLimits() public view {
        assertFalse(handler.chargedAboveCap());
        assertFalse(handler.exceededLimit());
        for (uint256 i; i < handler.triggerCount(); ++i) {
            uint64 id = handler.triggers(i);
            assertEq(herald.trigger(id).ledger.executions, handler.paidCount(id));
        }
    }

    /// (d) `totalBond` is the sum of the bonds of registered keepers that are not unbonding.
    function invariant_totalBond() public view {
        assertEq(herald.totalBond(), handler.ghostTotalBond());
    }

    /// (e) The challenge contract holds exactly the bonds of open challenges: none between calls, as the
    /// handler resolves each challenge it opens.
    function invariant_challengesHoldNoBondsBetweenCalls() public view {
        assertEq(token.balanceOf(address(herald.challenges())), 0);
    }

    /// Shows that the campaign reached the interesting states rather than rejecting everything.
    function afterInvariant() public view {
        console.log("receipts settled:", handler.settledTotal(), "slashes:", handler.slashes());
        console.log("frauds punished:", handler.frauds());
        console.log(
            "batches refused for quorum:", handler.quorumRefused(), "params applied:", handler.paramsApplied()
        );
        for (uint256 i; i < 12; ++i) {
            console.log("  rejected for reason", i, handler.rejections(i));
        }
    }
}
