// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

import {Herald} from "../../src/Herald.sol";
import {ExecutionReceipt, TriggerTerms} from "../../src/HeraldTypes.sol";
import {HeraldTestToken} from "../../src/dev/HeraldTestToken.sol";
import {HeraldConfig} from "../../src/modules/HeraldConfig.sol";
import {ECDSA} from "@openzeppelin/contracts/utils/cryptography/ECDSA.sol";
import {Test} from "forge-std/Test.sol";

/// @dev A deployed Herald with five equally bonded keepers, one connector type, one service type and a
/// funded user, plus helpers to build, sign and settle receipts. The quorum is three signers holding 60%
/// of the stake, so three of the five keepers carry a batch (the shape the gas benchmark measures).
abstract contract HeraldFixture is Test {
    Herald internal herald;
    HeraldTestToken internal token;

    address internal admin = makeAddr("admin");
    address internal treasury = makeAddr("treasury");
    address internal user = makeAddr("user");
    address internal connectorDev = makeAddr("connectorDev");
    address internal serviceDev = makeAddr("serviceDev");

    uint96 internal constant BOND = 1000e18;
    uint96 internal constant CONNECTOR_DEV_FEE = 3e15;
    uint96 internal constant OPERATOR_FEE = 2e15;
    uint96 internal constant SERVICE_DEV_FEE = 4e15;
    uint96 internal constant MAX_RUNNER_FEE = 5e15;
    uint80 internal constant MAX_FEE = 1e17;
    uint8 internal constant MIN_SIGNERS = 3;
    uint16 internal constant QUORUM_BPS = 6000;

    uint256 internal constant KEEPERS = 5;
    address[KEEPERS] internal keepers;
    uint256[KEEPERS] internal keeperKeys;

    uint24 internal connectorType;
    uint24 internal serviceType;

    function setUp() public virtual {
        vm.warp(1_700_000_000);
        token = new HeraldTestToken();
        herald = new Herald(token, admin, treasury, initialParams(), initialSlashAmount());

        for (uint256 i; i < KEEPERS; ++i) {
            (keepers[i], keeperKeys[i]) = makeAddrAndKey(string.concat("keeper", vm.toString(i)));
            registerKeeper(keepers[i], BOND);
        }
        _sortKeepers();

        vm.prank(connectorDev);
        connectorType = herald.registerConnectorType(
            connectorDev, CONNECTOR_DEV_FEE, OPERATOR_FEE, keccak256("evm-log"), "ipfs://evm-log"
        );
        vm.prank(serviceDev);
        serviceType = herald.registerServiceType(
            serviceDev, SERVICE_DEV_FEE, MAX_RUNNER_FEE, keccak256("webhook"), "ipfs://webhook"
        );

        fund(user, 1000e18);
    }

    // ------------------------------------------------------------------ setup helpers

    /// @dev The parameters the fixture deploys with; tests may override.
    function initialParams() internal pure virtual returns (HeraldConfig.Params memory) {
        return HeraldConfig.Params({
            protocolFeeBps: 500,
            minSigners: MIN_SIGNERS,
            quorumBps: QUORUM_BPS,
            withdrawalDelay: 1 days,
            activationDelay: 0,
            unbondingDelay: 7 days,
            slashBountyBps: 2000,
            minBond: 1
        });
    }

    function initialSlashAmount() internal pure virtual returns (uint96) {
        return 0;
    }

    /// @dev Proposes `p` as the admin, waits out the timelock and applies it.
    function changeParams(HeraldConfig.Params memory p, uint96 slash) internal {
        vm.prank(admin);
        uint40 effectiveAt = herald.proposeParams(p, slash);
        vm.warp(effectiveAt);
        herald.applyParams();
    }

    function changeParams(HeraldConfig.Params memory p) internal {
        changeParams(p, herald.slashAmount());
    }

    function registerKeeper(address k, uint96 bond) internal {
        token.mint(k, bond);
        vm.startPrank(k);
        token.approve(address(herald), bond);
        herald.registerKeeper(bond, "http://127.0.0.1:7000", address(0));
        vm.stopPrank();
    }

    /// @dev Mints `amount` to `who` and deposits it.
    function fund(address who, uint256 amount) internal {
        token.mint(who, amount);
        vm.startPrank(who);
        token.approve(address(herald), amount);
        herald.deposit(amount);
        vm.stopPrank();
    }

    function terms() internal view returns (TriggerTerms memory) {
        return TriggerTerms({
            connectorType: connectorType,
            serviceType: serviceType,
            maxFeePerExecution: MAX_FEE,
            expiresAt: 0,
            maxExecutions: 0
        });
    }

    function createTrigger(address owner, uint96 budget) internal returns (uint64 id) {
        return createTrigger(owner, budget, terms());
    }

    function createTrigger(address owner, uint96 budget, TriggerTerms memory t) internal returns (uint64 id) {
        vm.prank(owner);
        id = herald.createTrigger(t, budget, "trigger: {}");
    }

    // ------------------------------------------------------------------ receipts

    /// @dev An event id whose position (top 64 bits) is `key`. Its source-chain bits are hash bits, so it
    /// names a log of another chain, whose position settlement leaves to the quorum.
    function eventId(uint64 key) internal pure returns (bytes32) {
        return bytes32((uint256(key) << 192) | uint192(uint256(keccak256(abi.encode(key)))));
    }

    /// @dev The id of a log of this chain at (`blockNumber`, `txIndex`, `logIndexInTx`) whose block-and-log
    /// digest (low 128 bits) is `digest`; spelled out bit by bit rather than through `EventIds`, so the
    /// tests check the library's layout too.
    function localLogId(uint256 blockNumber, uint256 txIndex, uint256 logIndexInTx, uint128 digest)
        internal
        view
        returns (bytes32)
    {
        return bytes32(
            (blockNumber << 220) | (txIndex << 206) | (logIndexInTx << 192) | (block.chainid << 128)
                | uint256(digest)
        );
    }

    /// @dev An off-chain event id: a UUIDv7 with millisecond timestamp `ms` and 80 random bits, then
    /// 16 zero bytes.
    function uuidId(uint256 ms, uint80 rand) internal pure returns (bytes32) {
        return bytes32((ms << 208) | (uint256(rand) << 128));
    }

    function receipt(uint64 triggerId, uint64 key) internal view returns (ExecutionReceipt memory) {
        return ExecutionReceipt({
            triggerId: triggerId,
            eventId: eventId(key),
            resultHash: keccak256(abi.encode("ok", key)),
            connector: keepers[0],
            runner: keepers[1],
            runnerFee: 1e15,
            executedAt: uint64(block.timestamp),
            success: true
        });
    }

    function single(ExecutionReceipt memory r) internal pure returns (ExecutionReceipt[] memory rs) {
        rs = new ExecutionReceipt[](1);
        rs[0] = r;
    }

    /// @dev Fee of a successful receipt with `runnerFee` at the fixture's prices and protocol fee.
    function expectedFee(uint256 runnerFee, bool success) internal view returns (uint256) {
        uint256 capped = runnerFee < MAX_RUNNER_FEE ? runnerFee : MAX_RUNNER_FEE;
        uint256 subtotal = CONNECTOR_DEV_FEE + OPERATOR_FEE + (success ? SERVICE_DEV_FEE : 0) + capped;
        return subtotal + subtotal * herald.params().protocolFeeBps / 10_000;
    }

    function sign(uint256 key, bytes32 digest) internal pure returns (bytes memory) {
        (uint8 v, bytes32 r, bytes32 s) = vm.sign(key, digest);
        return abi.encodePacked(r, s, v);
    }

    /// @dev Signatures of the first `count` keepers (already in ascending address order).
    function quorumSignatures(ExecutionReceipt[] memory rs, uint256 count)
        internal
        view
        returns (bytes[] memory sigs)
    {
        bytes32 digest = herald.batchDigest(rs);
        sigs = new bytes[](count);
        for (uint256 i; i < count; ++i) {
            sigs[i] = sign(keeperKeys[i], digest);
        }
    }

    /// @dev Signatures over `digest` by `keys`, ordered by signer address as `settle` requires.
    function signSorted(uint256[] memory keys, bytes32 digest) internal pure returns (bytes[] memory sigs) {
        sigs = new bytes[](keys.length);
        for (uint256 i; i < keys.length; ++i) {
            sigs[i] = sign(keys[i], digest);
        }
        sortBySigner(sigs, digest);
    }

    /// @dev Orders `sigs` by the address each recovers to over `digest`, in place.
    function sortBySigner(bytes[] memory sigs, bytes32 digest) internal pure {
        for (uint256 i = 1; i < sigs.length; ++i) {
            for (
                uint256 j = i;
                j > 0 && ECDSA.recover(digest, sigs[j]) < ECDSA.recover(digest, sigs[j - 1]);
                --j
            ) {
                (sigs[j], sigs[j - 1]) = (sigs[j - 1], sigs[j]);
            }
        }
    }

    function settle(ExecutionReceipt[] memory rs) internal returns (uint256) {
        return herald.settle(rs, quorumSignatures(rs, 3));
    }

    function _sortKeepers() private {
        for (uint256 i = 1; i < KEEPERS; ++i) {
            for (uint256 j = i; j > 0 && keepers[j] < keepers[j - 1]; --j) {
                (keepers[j], keepers[j - 1]) = (keepers[j - 1], keepers[j]);
                (keeperKeys[j], keeperKeys[j - 1]) = (keeperKeys[j - 1], keeperKeys[j]);
            }
        }
    }
}
