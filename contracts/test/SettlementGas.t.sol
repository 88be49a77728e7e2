// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

import {ExecutionReceipt} from "../src/HeraldTypes.sol";
import {HeraldFixture} from "./utils/HeraldFixture.sol";
import {console} from "forge-std/console.sol";

/// @notice Gas of `settle` per receipt at a 3-of-5 quorum (three of the fixture's five equal bonds, 60% of
/// the stake, against its quorum of three signers and 6,000 bps). Run with:
///   forge test --match-contract SettlementGasBench -vv
/// Worst case for storage: every receipt is for a different trigger, so each one pays its trigger's two
/// cold slots; runners rotate over the five keepers (batch sorted by runner, as keepers assemble it).
/// Every receipt is a log of this chain from the previous block, the id kind whose position settlement
/// checks most (against the block number and the maximum event age).
/// Herald's storage starts cold, as in a real transaction, and in steady state: every party already
/// holds a non-zero claimable balance from an earlier batch (a first-ever reward costs a one-off 20,000).
contract SettlementGasBench is HeraldFixture {
    uint256 internal constant MAX_BATCH = 100;
    uint64[] internal triggerIds;

    function setUp() public override {
        vm.roll(20_000_000);
        super.setUp();
        for (uint256 i; i < MAX_BATCH; ++i) {
            address owner = makeAddr(string.concat("owner", vm.toString(i)));
            fund(owner, 1e18);
            triggerIds.push(createTrigger(owner, 1e18));
        }
        vm.warp(block.timestamp + 1);
        // Steady state: every keeper, developer and the treasury has earned before.
        uint64 warmup = createTrigger(user, 1e18);
        for (uint256 i; i < KEEPERS; ++i) {
            ExecutionReceipt memory r = receipt(warmup, uint64(1 + i));
            (r.connector, r.runner) = (keepers[i], keepers[i]);
            settle(single(r));
        }
    }

    function test_gas_settle_batch1() public {
        _bench(1);
    }

    function test_gas_settle_batch10() public {
        _bench(10);
    }

    function test_gas_settle_batch100() public {
        _bench(100);
    }

    /// A busier mix: 100 receipts over 10 triggers (10 events each), still five runners.
    function test_gas_settle_batch100_tenTriggers() public {
        _bench(100, 10);
    }

    function _bench(uint256 n) private {
        _bench(n, n);
    }

    function _bench(uint256 n, uint256 triggers) private {
        ExecutionReceipt[] memory rs = new ExecutionReceipt[](n);
        for (uint256 i; i < n; ++i) {
            // Sorted by runner: receipts i..i+n/5 share a runner.
            address k = keepers[(i * KEEPERS) / n];
            rs[i] = receipt(triggerIds[i % triggers], 0);
            rs[i].eventId = localLogId(block.number - 1, i, 0, uint128(uint256(keccak256(abi.encode(i)))));
            rs[i].connector = k;
            rs[i].runner = k;
        }
        bytes memory data = abi.encodeCall(herald.settle, (rs, quorumSignatures(rs, 3)));

        vm.cool(address(herald));
        uint256 before = gasleft();
        (bool ok, bytes memory ret) = address(herald).call(data);
        uint256 used = before - gasleft();
        assertTrue(ok, "settle reverted");
        assertEq(abi.decode(ret, (uint256)), n, "not every receipt settled");

        uint256 calldataGas;
        for (uint256 i; i < data.length; ++i) {
            calldataGas += data[i] == 0 ? 4 : 16;
        }
        string memory mix = triggers == n ? "" : string.concat(", triggers=", vm.toString(triggers));
        console.log(
            string.concat(
                "settle gas per receipt (batch=",
                vm.toString(n),
                ", quorum=3/5",
                mix,
                "): ",
                vm.toString(used / n)
            )
        );
        console.log(
            string.concat(
                "settle calldata gas per receipt (batch=",
                vm.toString(n),
                "): ",
                vm.toString(calldataGas / n),
                "; with 21000 base: ",
                vm.toString((used + calldataGas + 21_000) / n)
            )
        );
    }
}
