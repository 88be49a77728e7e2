// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

import {Herald} from "../../src/Herald.sol";
import {HeraldChallenges} from "../../src/HeraldChallenges.sol";
import {ExecutionReceipt, TriggerTerms} from "../../src/HeraldTypes.sol";
import {HeraldTestToken} from "../../src/dev/HeraldTestToken.sol";
import {HeraldConfig} from "../../src/modules/HeraldConfig.sol";
import {HeraldRegistry} from "../../src/modules/HeraldRegistry.sol";
import {HeraldSettlement} from "../../src/modules/HeraldSettlement.sol";
import {CommonBase} from "forge-std/Base.sol";
import {StdCheats} from "forge-std/StdCheats.sol";
import {StdUtils} from "forge-std/StdUtils.sol";
import {Vm} from "forge-std/Vm.sol";

/// @dev Drives Herald through random sequences of everything users, keepers, developers and reporters do,
/// and keeps the ghost books the invariants compare against. Every action is guarded so that it does
/// not revert: the campaign runs with fail_on_revert, so an unexpected revert is a finding.
contract HeraldHandler is CommonBase, StdCheats, StdUtils {
    Herald public immutable herald;
    HeraldTestToken public immutable token;
    address public immutable treasury;
    address public immutable admin;
    address public immutable reporter = address(0xBEEF);

    address[] public users;
    address[] public keepers;
    uint256[] internal keeperKeys;
    address[] public developers;
    uint64[] public triggers;

    /// @dev Ghost books.
    mapping(uint64 => mapping(bytes32 => bool)) public paid;
    mapping(uint64 => uint256) public paidCount;
    bool public paidTwice;
    bool public chargedAboveCap;
    bool public exceededLimit;
    uint256 public settledTotal;
    uint256 public slashes;
    uint256 public frauds;
    uint256 public quorumRefused;
    uint256 public paramsApplied;
    mapping(uint64 => uint64) internal nextKey;

    /// @dev How often each RejectReason occurred, to show the campaign reaches both paid and refused paths.
    uint256[12] public rejections;

    bytes32 internal constant SETTLED = keccak256("ReceiptSettled(uint64,bytes32,uint256)");
    bytes32 internal constant REJECTED = keccak256("ReceiptRejected(uint64,bytes32,uint8)");

    constructor(Herald herald_, HeraldTestToken token_, address treasury_, address admin_) {
        herald = herald_;
        token = token_;
        treasury = treasury_;
        admin = admin_;
        for (uint256 i; i < 3; ++i) {
            users.push(makeAddr(string.concat("user", vm.toString(i))));
        }
        for (uint256 i; i < 6; ++i) {
            (address k, uint256 key) = makeAddrAndKey(string.concat("keeper", vm.toString(i)));
            keepers.push(k);
            keeperKeys.push(key);
        }
        developers.push(makeAddr("connectorDev"));
        developers.push(makeAddr("serviceDev"));
        _sortKeepers();
    }

    /// @dev Called once by the test after deployment: types and keepers exist before the campaign.
    function bootstrap() external {
        if (herald.connectorTypeCount() != 0) return; // the fuzzer may call it too
        vm.prank(developers[0]);
        herald.registerConnectorType(developers[0], 3e15, 2e15, bytes32("evm-log"), "");
        vm.prank(developers[1]);
        herald.registerServiceType(developers[1], 4e15, 5e15, bytes32("webhook"), "");
        for (uint256 i; i < keepers.length; ++i) {
            _registerKeeper(i);
        }
    }

    // ------------------------------------------------------------------ users

    function deposit(uint256 who, uint256 amount) external {
        address user = users[who % users.length];
        amount = bound(amount, 1, 100e18);
        token.mint(user, amount);
        vm.startPrank(user);
        token.approve(address(herald), amount);
        herald.deposit(amount);
        vm.stopPrank();
    }

    function withdraw(uint256 who, uint256 amount) external {
        address user = users[who % users.length];
        uint256 balance = herald.balanceOf(user);
        if (balance == 0) return;
        vm.prank(user);
        herald.withdraw(bound(amount, 1, balance), user);
    }

    function createTrigger(uint256 who, uint256 budget, uint256 maxFee, uint256 maxExecutions) external {
        address user = users[who % users.length];
        budget = bound(budget, 0, 1e18);
        uint256 balance = herald.balanceOf(user);
        if (balance < budget) {
            token.mint(user, budget - balance);
            vm.startPrank(user);
            token.approve(address(herald), budget - balance);
            herald.deposit(budget - balance);
            vm.stopPrank();
        }
        // Caps around the real price (9e15 to 1.47e16 with the bootstrap fees), so both sides are hit.
        TriggerTerms memory t = TriggerTerms({
            connectorType: 1,
            serviceType: 1,
            maxFeePerExecution: uint80(bound(maxFee, 5e15, 3e16)),
            expiresAt: 0,
            maxExecutions: maxExecutions % 2 == 0 ? 0 : uint32(bound(maxExecutions, 1, 5))
        });
        vm.prank(user);
        triggers.push(herald.createTrigger(t, uint96(budget), "handler"));
    }

    function fundTrigger(uint256 which, uint256 amount) external {
        if (triggers.length == 0) return;
        uint64 id = triggers[which % triggers.length];
        address owner = herald.trigger(id).owner;
        uint256 balance = herald.balanceOf(owner);
        if (balance == 0 || herald.trigger(id).rules.flags & 2 != 0) return;
        vm.prank(owner);
        herald.fundTrigger(id, uint96(bound(amount, 1, balance)));
    }

    function requestWithdrawal(uint256 which, uint256 amount) external {
        if (triggers.length == 0) return;
        uint64 id = triggers[which % triggers.length];
        // Mostly part of the budget; sometimes more than is left (the completion caps it).
        uint256 budget = herald.trigger(id).ledger.budget;
        uint256 most = amount % 8 == 0 ? 2 * budget + 1 : budget / 2 + 1;
        vm.prank(herald.trigger(id).owner);
        herald.requestWithdrawal(id, uint96(bound(amount, 1, most)));
    }

    function completeWithdrawal(uint256 which) external {
        if (triggers.length == 0) return;
        uint64 id = triggers[which % triggers.length];
        (, uint40 unlocksAt) = herald.budgetWithdrawals(id);
        if (unlocksAt == 0) return;
        if (block.timestamp < unlocksAt) vm.warp(unlocksAt);
        vm.prank(herald.trigger(id).owner);
        herald.completeWithdrawal(id);
    }

    function togglePause(uint256 which) external {
        // Pausing is rarer than settling in life; a pause per call would leave every trigger paused.
        if (triggers.length == 0 || which % 4 != 0) return;
        uint64 id = triggers[which % triggers.length];
        uint8 flags = herald.trigger(id).rules.flags;
        if (flags & 2 != 0) return;
        vm.prank(herald.trigger(id).owner);
        if (flags & 1 != 0) herald.resumeTrigger(id);
        else herald.pauseTrigger(id);
    }

    function cancel(uint256 which) external {
        if (triggers.length == 0 || which % 8 != 0) return;
        uint64 id = triggers[which % triggers.length];
        if (herald.trigger(id).rules.flags & 2 != 0) return;
        vm.prank(herald.trigger(id).owner);
        herald.cancelTrigger(id);
    }

    // ------------------------------------------------------------------ developers and keepers

    function changeServiceFee(uint256 fee) external {
        vm.prank(developers[1]);
        herald.updateServiceType(1, developers[1], uint96(bound(fee, 0, 2e16)), 5e15, bytes32("webhook"), "");
    }

    function addBond(uint256 which, uint256 amount) external {
        uint256 i = which % keepers.length;
        if (herald.keeper(keepers[i]).activeFrom == 0 || herald.keeper(keepers[i]).unbondsAt != 0) return;
        amount = bound(amount, 1, 10e18);
        token.mint(keepers[i], amount);
        vm.startPrank(keepers[i]);
        token.approve(address(herald), amount);
        herald.addBond(uint96(amount));
        vm.stopPrank();
    }

    /// @dev Unbond, or withdraw the bond once unbonded, or register again once withdrawn.
    function cycleKeeper(uint256 which) external {
        uint256 i = which % keepers.length;
        HeraldRegistry.Keeper memory k = herald.keeper(keepers[i]);
        vm.startPrank(keepers[i]);
        if (k.activeFrom == 0) {
            vm.stopPrank();
            _registerKeeper(i);
            return;
        }
        if (k.unbondsAt == 0) {
            // Keep a quorum plus one active, or the campaign would mostly watch settle() bail out; a
            // keeper slashed below the minimum bond leaves in any case, to come back fresh.
            if (_activeKeepers() > 4 || !herald.isActiveKeeper(keepers[i])) herald.requestUnbond(keepers[i]);
        } else {
            if (block.timestamp < k.unbondsAt) vm.warp(k.unbondsAt);
            herald.withdrawBond(keepers[i], keepers[i]);
        }
        vm.stopPrank();
    }

    function claim(uint256 which) external {
        address party = _party(which);
        if (herald.claimable(party) == 0) return;
        vm.prank(party);
        herald.claim(party);
    }

    /// @dev The admin proposes a random parameter set within the bounds (and within what keeps the
    /// campaign settling), then either waits out the timelock and applies it, or cancels it.
    function changeParams(uint256 seed) external {
        // Hashed: the fuzzer favours small seeds, whose high bits would always pick the same branch.
        uint256 r = uint256(keccak256(abi.encode(seed)));
        if (r % 4 != 0) return; // rarer than everything else
        uint32 withdrawalDelay = uint32(bound(r >> 8, 0, 2 days));
        HeraldConfig.Params memory p = HeraldConfig.Params({
            protocolFeeBps: uint16(bound(r >> 40, 0, 2000)),
            minSigners: uint8(bound(r >> 56, 1, 3)),
            quorumBps: uint16(bound(r >> 64, 5001, 8000)),
            withdrawalDelay: withdrawalDelay,
            activationDelay: uint32(bound(r >> 80, 0, 1 hours)),
            unbondingDelay: uint32(bound(r >> 112, withdrawalDelay, 7 days)),
            slashBountyBps: uint16(bound(r >> 144, 0, 2000)),
            minBond: uint96(bound(r >> 160, 1, 110e18))
        });
        uint96 slash = uint96(bound(r >> 200, 0, 50e18));
        vm.prank(admin);
        uint40 effectiveAt = herald.proposeParams(p, slash);
        if ((r >> 240) % 4 == 0) {
            vm.prank(admin);
            herald.cancelParams();
            return;
        }
        vm.warp(effectiveAt);
        herald.applyParams();
        ++paramsApplied;
    }

    function warp(uint256 secs) external {
        vm.warp(block.timestamp + bound(secs, 1, 2 days));
    }

    // ------------------------------------------------------------------ settlement

    /// @dev Settles a random batch: fresh events, replays of earlier ones, out-of-order and duplicated
    /// receipts, impostor runners, over-cap runner fees, failed executions. Signed by every active keeper.
    function settle(uint256 seed, uint256 size) external {
        if (triggers.length == 0) return;
        size = bound(size, 1, 16);
        ExecutionReceipt[] memory rs = new ExecutionReceipt[](size);
        for (uint256 i; i < size; ++i) {
            uint256 r = uint256(keccak256(abi.encode(seed, i)));
            uint64 id = _pickTrigger(r);
            uint64 key;
            uint256 mode = (r >> 8) % 10;
            if (mode < 6 || nextKey[id] == 0) key = ++nextKey[id];
            else if (mode < 8) key = nextKey[id]; // replay of the latest
            else key = uint64(bound(r >> 16, 1, nextKey[id])); // an older event
            rs[i] = ExecutionReceipt({
                triggerId: id,
                eventId: bytes32((uint256(key) << 192) | uint192(r)),
                resultHash: bytes32(r),
                connector: _pickKeeper(r >> 32),
                runner: (r >> 40) % 16 == 0 ? address(0xBAD) : _pickKeeper(r >> 48),
                runnerFee: uint96(bound(r >> 56, 0, 1e16)),
                executedAt: uint64(block.timestamp - bound(r >> 120, 0, 1 hours) % (block.timestamp)),
                success: (r >> 128) % 4 != 0
            });
        }
        // Mostly the active keepers, as honest co-signing gathers; sometimes every keeper, so that the
        // signatures of inactive ones (unbonding, awaiting activation, under-bonded, gone) are skipped.
        bool everyone = (seed >> 200) % 4 == 0;
        bytes[] memory sigs = _sign(rs, everyone);
        (bool reached, uint256 signers, uint256 signedBond) = _quorum();
        if (!reached) {
            vm.expectRevert(
                abi.encodeWithSelector(
                    HeraldSettlement.QuorumNotReached.selector, signers, signedBond, ghostTotalBond()
                )
            );
            herald.settle(rs, sigs);
            ++quorumRefused;
            return;
        }

        vm.recordLogs();
        settledTotal += herald.settle(rs, sigs);
        _audit(vm.getRecordedLogs());
    }

    /// @dev A keeper signs two different results for one (trigger, event) and anyone reports it.
    function equivocate(uint256 which, uint256 seed) external {
        if (triggers.length == 0) return;
        uint256 i = which % keepers.length;
        if (herald.keeper(keepers[i]).activeFrom == 0) return;
        ExecutionReceipt[] memory a = new ExecutionReceipt[](1);
        a[0] = ExecutionReceipt({
            triggerId: triggers[seed % triggers.length],
            eventId: bytes32(seed),
            resultHash: keccak256(abi.encode("a", seed)),
            connector: keepers[i],
            runner: keepers[i],
            runnerFee: 0,
            executedAt: uint64(block.timestamp),
            success: true
        });
        ExecutionReceipt[] memory b = new ExecutionReceipt[](1);
        b[0] = ExecutionReceipt({
            triggerId: a[0].triggerId,
            eventId: a[0].eventId,
            resultHash: keccak256(abi.encode("b", seed)),
            connector: a[0].connector,
            runner: a[0].runner,
            runnerFee: 0,
            executedAt: a[0].executedAt,
            success: true
        });
        bytes32 key = keccak256(abi.encode(keepers[i], a[0].triggerId, a[0].eventId));
        if (herald.equivocationSlashed(key)) return;
        bytes memory sigA = _signOne(keeperKeys[i], herald.batchDigest(a));
        bytes memory sigB = _signOne(keeperKeys[i], herald.batchDigest(b));
        vm.prank(reporter);
        herald.reportEquivocation(keepers[i], a, 0, sigA, b, 0, sigB);
        ++slashes;
    }

    /// @dev A keeper signs a receipt for a log of this chain that never happened; the reporter challenges
    /// it naming that one signer, nobody can answer, and the resolution takes the keeper's whole bond and
    /// marks the trigger disputed (its executions stay as they were: the receipt never settled). Rarer than
    /// everything else: it costs the campaign a keeper each time.
    function fraud(uint256 which, uint256 seed) external {
        if (triggers.length == 0 || seed % 4 != 0) return;
        uint256 i = which % keepers.length;
        if (herald.keeper(keepers[i]).bond == 0) return;
        HeraldChallenges challenges = herald.challenges();
        uint64 id = triggers[(seed >> 8) % triggers.length];
        ExecutionReceipt[] memory rs = new ExecutionReceipt[](1);
        rs[0] = ExecutionReceipt({
            triggerId: id,
            eventId: bytes32(
                ((block.number - 1) << 220) | (block.chainid << 128)
                    | uint128(uint256(keccak256(abi.encode(seed))))
            ),
            resultHash: bytes32(seed),
            connector: keepers[i],
            runner: keepers[i],
            runnerFee: 0,
            executedAt: uint64(block.timestamp),
            success: true
        });
        bytes[] memory sigs = new bytes[](1);
        sigs[0] = _signOne(keeperKeys[i], herald.batchDigest(rs));
        uint256[] memory indexes = new uint256[](1);

        uint256 bond = challenges.challengeBond();
        token.mint(reporter, bond);
        vm.startPrank(reporter);
        token.approve(address(challenges), bond);
        bytes32 challengeId = challenges.challenge(rs, sigs, indexes);
        vm.stopPrank();
        vm.roll(challenges.challengeOf(challengeId).respondBy + 1);
        uint32 executions = herald.trigger(id).ledger.executions;
        challenges.resolve(challengeId, rs, sigs);
        require(herald.trigger(id).ledger.executions == executions, "a fraud gives nothing back by itself");
        ++frauds;
    }

    // ------------------------------------------------------------------ views for the invariants

    /// @dev `totalBond` as defined: the bonds of registered keepers that are not unbonding.
    function ghostTotalBond() public view returns (uint256 total) {
        for (uint256 i; i < keepers.length; ++i) {
            HeraldRegistry.Keeper memory k = herald.keeper(keepers[i]);
            if (k.activeFrom != 0 && k.unbondsAt == 0) total += k.bond;
        }
    }

    function userCount() external view returns (uint256) {
        return users.length;
    }

    function triggerCount() external view returns (uint256) {
        return triggers.length;
    }

    function keeperCount() external view returns (uint256) {
        return keepers.length;
    }

    /// @dev Everyone who can ever hold a claimable balance.
    function parties() external view returns (address[] memory all) {
        all = new address[](keepers.length + developers.length + 2);
        for (uint256 i; i < keepers.length; ++i) {
            all[i] = keepers[i];
        }
        all[keepers.length] = developers[0];
        all[keepers.length + 1] = developers[1];
        all[keepers.length + 2] = treasury;
        all[keepers.length + 3] = reporter;
    }

    // ------------------------------------------------------------------ internals

    function _audit(Vm.Log[] memory logs) private {
        for (uint256 i; i < logs.length; ++i) {
            if (logs[i].emitter != address(herald)) continue;
            if (logs[i].topics[0] == REJECTED) {
                (, uint8 reason) = abi.decode(logs[i].data, (bytes32, uint8));
                ++rejections[reason];
                continue;
            }
            if (logs[i].topics[0] != SETTLED) continue;
            uint64 id = uint64(uint256(logs[i].topics[1]));
            (bytes32 eventId, uint256 fee) = abi.decode(logs[i].data, (bytes32, uint256));
            if (paid[id][eventId]) paidTwice = true;
            paid[id][eventId] = true;
            HeraldRegistry.Trigger memory t = herald.trigger(id);
            if (fee > t.rules.maxFeePerExecution) chargedAboveCap = true;
            ++paidCount[id];
            if (t.ledger.maxExecutions != 0 && paidCount[id] > t.ledger.maxExecutions) exceededLimit = true;
        }
    }

    /// @dev Mostly a trigger that can still pay (as an honest keeper's batch would hold), sometimes any.
    function _pickTrigger(uint256 r) private view returns (uint64 id) {
        id = triggers[r % triggers.length];
        if ((r >> 200) % 4 == 0) return id;
        for (uint256 i; i < triggers.length; ++i) {
            id = triggers[(r + i) % triggers.length];
            HeraldRegistry.Trigger memory t = herald.trigger(id);
            bool exhausted = t.ledger.maxExecutions != 0 && t.ledger.executions >= t.ledger.maxExecutions;
            // (A DISPUTED trigger settles like any other.)
            if (t.rules.flags & 3 == 0 && !exhausted && t.ledger.budget >= 2e16) return id;
        }
    }

    /// @dev Mostly an active keeper (as honest assembly would), sometimes any registered one.
    function _pickKeeper(uint256 r) private view returns (address) {
        address k = keepers[r % keepers.length];
        if ((r >> 8) % 8 == 0) return k;
        for (uint256 i; i < keepers.length && !herald.isActiveKeeper(k); ++i) {
            k = keepers[(r + i) % keepers.length];
        }
        return k;
    }

    function _activeKeepers() private view returns (uint256 active) {
        for (uint256 i; i < keepers.length; ++i) {
            if (herald.isActiveKeeper(keepers[i])) ++active;
        }
    }

    /// @dev Keepers are sorted by address, so the signatures come out ascending.
    function _sign(ExecutionReceipt[] memory rs, bool everyone) private view returns (bytes[] memory sigs) {
        bytes32 digest = herald.batchDigest(rs);
        sigs = new bytes[](everyone ? keepers.length : _activeKeepers());
        uint256 j;
        for (uint256 i; i < keepers.length; ++i) {
            if (everyone || herald.isActiveKeeper(keepers[i])) sigs[j++] = _signOne(keeperKeys[i], digest);
        }
    }

    /// @dev The quorum rule, computed independently of the contract: active signers only, by count and
    /// by stake against the ghost total.
    function _quorum() private view returns (bool reached, uint256 signers, uint256 signedBond) {
        for (uint256 i; i < keepers.length; ++i) {
            if (!herald.isActiveKeeper(keepers[i])) continue;
            ++signers;
            signedBond += herald.keeper(keepers[i]).bond;
        }
        HeraldConfig.Params memory p = herald.params();
        reached = signers >= p.minSigners && signedBond * 10_000 >= ghostTotalBond() * p.quorumBps;
    }

    function _signOne(uint256 key, bytes32 digest) private pure returns (bytes memory) {
        (uint8 v, bytes32 r, bytes32 s) = vm.sign(key, digest);
        return abi.encodePacked(r, s, v);
    }

    function _registerKeeper(uint256 i) private {
        uint96 bond = 100e18;
        uint96 minBond = herald.params().minBond;
        if (bond < minBond) bond = minBond;
        token.mint(keepers[i], bond);
        vm.startPrank(keepers[i]);
        token.approve(address(herald), bond);
        herald.registerKeeper(bond, "http://127.0.0.1", address(0));
        vm.stopPrank();
    }

    function _party(uint256 which) private view returns (address) {
        uint256 n = keepers.length + developers.length + 2;
        uint256 i = which % n;
        if (i < keepers.length) return keepers[i];
        if (i < keepers.length + developers.length) return developers[i - keepers.length];
        return i == n - 2 ? treasury : reporter;
    }

    function _sortKeepers() private {
        for (uint256 i = 1; i < keepers.length; ++i) {
            for (uint256 j = i; j > 0 && keepers[j] < keepers[j - 1]; --j) {
                (keepers[j], keepers[j - 1]) = (keepers[j - 1], keepers[j]);
                (keeperKeys[j], keeperKeys[j - 1]) = (keeperKeys[j - 1], keeperKeys[j]);
            }
        }
    }
}
