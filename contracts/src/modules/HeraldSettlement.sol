// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

import {EVENT_BLOCK_SHIFT, EVENT_CHAIN_SHIFT, EVENT_DIGEST_MASK, EVENT_UUID_MS_SHIFT} from "../EventIds.sol";
import {HeraldChallenges, IHeraldFraud} from "../HeraldChallenges.sol";
import {
    BLOCKHASH_CHALLENGE_BLOCKS,
    BLOCKHASH_MAX_EVENT_AGE_BLOCKS,
    BLOCKHASH_RESPONSE_BLOCKS,
    ExecutionReceipt,
    HISTORY_CHALLENGE_BLOCKS,
    HISTORY_MAX_EVENT_AGE_BLOCKS,
    HISTORY_RESPONSE_BLOCKS,
    RejectReason,
    UUID_CLOCK_SLACK
} from "../HeraldTypes.sol";
import {HeraldRegistry} from "./HeraldRegistry.sol";
import {Blockhash} from "@openzeppelin/contracts/utils/Blockhash.sol";
import {ECDSA} from "@openzeppelin/contracts/utils/cryptography/ECDSA.sol";
import {EIP712} from "@openzeppelin/contracts/utils/cryptography/EIP712.sol";

/// @title HeraldSettlement
/// @notice Pays for executions from quorum-signed receipt batches, and slashes keepers that equivocate.
/// @dev Keepers sign one EIP-712 `ReceiptBatch` digest per batch rather than each receipt, so signature
/// checks cost one ecrecover per signature per batch. The quorum is by stake as well as by count:
/// registration is open, so a count alone could be met by fresh keepers with negligible bonds. A receipt
/// that fails a check is skipped with `ReceiptRejected`; it never blocks the others. Rewards are summed in
/// memory while consecutive receipts pay the same party and written once per run, so a batch sorted by
/// runner pays few storage writes. Receipts for logs of this chain that never happened are punished
/// through `challenges`, which this contract creates and alone trusts to call `punishFraud`.
abstract contract HeraldSettlement is HeraldRegistry, EIP712 {
    /// @notice EIP-712 type of one receipt.
    bytes32 public constant RECEIPT_TYPEHASH = keccak256(
        "ExecutionReceipt(uint64 triggerId,bytes32 eventId,bytes32 resultHash,address connector,address runner,"
        "uint96 runnerFee,uint64 executedAt,bool success)"
    );
    /// @notice EIP-712 type of the batch the keepers sign.
    bytes32 public constant BATCH_TYPEHASH = keccak256(
        "ReceiptBatch(ExecutionReceipt[] receipts)ExecutionReceipt(uint64 triggerId,bytes32 eventId,bytes32 resultHash,"
        "address connector,address runner,uint96 runnerFee,uint64 executedAt,bool success)"
    );

    /// @notice The fraud-proof contract, created with Herald and fixed for its life.
    HeraldChallenges public immutable challenges;
    /// @dev Oldest a log of this chain may be, in blocks, to settle: `challenges`' `maxEventAge`.
    uint256 internal immutable _maxEventAge;

    /// @notice Equivocations already punished, by keccak256(keeper, triggerId, eventId).
    mapping(bytes32 => bool) public equivocationSlashed;

    /// @dev Emitted from assembly in `_settleOne`; keep the signature in sync with `_RECEIPT_SETTLED`.
    event ReceiptSettled(uint64 indexed triggerId, bytes32 eventId, uint256 fee);
    event ReceiptRejected(uint64 indexed triggerId, bytes32 eventId, RejectReason reason);
    event BatchSettled(bytes32 indexed digest, uint256 settled, uint256 rejected, uint256 fees);
    event KeeperSlashed(
        address indexed keeper,
        uint64 indexed triggerId,
        bytes32 indexed eventId,
        uint96 amount,
        address reporter,
        uint256 bounty
    );
    event KeeperSlashedForFraud(address indexed keeper, bytes32 indexed challengeId, uint96 amount);
    event TriggerDisputed(uint64 indexed triggerId);

    error EmptyBatch();
    error QuorumNotReached(uint256 signers, uint256 signedBond, uint256 totalBond);
    error SignersNotAscending(uint256 index);
    error SelfReport();
    error IndexOutOfRange(uint256 index);
    error NotConflicting();
    error SignerMismatch(address recovered);
    error AlreadySlashed(address keeper, uint64 triggerId, bytes32 eventId);
    error NotChallenges(address caller);

    /// @dev Everything the settlement loop carries from one receipt to the next. Rewards are summed here
    /// while consecutive receipts pay the same parties and written to storage once per run, so a batch
    /// sorted by runner and type costs a handful of reward writes in all.
    struct Batch {
        uint256 protocolFeeBps;
        uint256 minBond;
        // The keeper whose rewards are being summed, and the sum; it also caches "is active".
        address keeper;
        uint256 keeperReward;
        // The (connectorType, serviceType) pair whose prices are loaded, and the developer rewards summed.
        uint256 typePair;
        address connectorDeveloper;
        uint256 connectorDeveloperFee;
        uint256 connectorDeveloperReward;
        uint256 operatorFee;
        address serviceDeveloper;
        uint256 serviceDeveloperFee;
        uint256 serviceDeveloperReward;
        uint256 maxRunnerFee;
        uint256 protocolReward;
        uint256 fees;
        uint256 settled;
    }

    /// @dev Chooses the fraud windows once, from what the chain serves: with EIP-2935's history contract
    /// 8,191 block hashes are readable, without it BLOCKHASH's 256 (see HeraldTypes.sol).
    constructor() {
        bool history = Blockhash.HISTORY_STORAGE_ADDRESS.code.length != 0;
        (uint256 maxEventAge, uint256 challengeBlocks, uint256 responseBlocks) = history
            ? (HISTORY_MAX_EVENT_AGE_BLOCKS, HISTORY_CHALLENGE_BLOCKS, HISTORY_RESPONSE_BLOCKS)
            : (BLOCKHASH_MAX_EVENT_AGE_BLOCKS, BLOCKHASH_CHALLENGE_BLOCKS, BLOCKHASH_RESPONSE_BLOCKS);
        _maxEventAge = maxEventAge;
        challenges = new HeraldChallenges(
            IHeraldFraud(address(this)), token, maxEventAge, challengeBlocks, responseBlocks
        );
    }

    /// @notice Settles a batch of receipts signed by at least `minSigners` distinct active keepers whose
    /// bonds sum to at least `quorumBps` / 10,000 of `totalBond`.
    /// @param signatures 65-byte signatures over `batchDigest(receipts)`, ordered by signer address,
    /// strictly ascending (which makes the signers distinct without a lookup table). A signature from a
    /// keeper that is not active (unbonding, not yet activated, below the minimum bond, or not a keeper)
    /// counts for nothing but does not revert: a co-signer that unbonds before the batch is mined cannot
    /// sink a batch the others still carry.
    /// @return settled How many receipts were paid; the others emitted `ReceiptRejected`.
    function settle(ExecutionReceipt[] calldata receipts, bytes[] calldata signatures)
        external
        returns (uint256 settled)
    {
        uint256 n = receipts.length;
        if (n == 0) revert EmptyBatch();
        Params memory p = _params;
        bytes32 digest = batchDigest(receipts);
        // One slot: the treasury is paid below, the total bond is the quorum's denominator.
        address treasury_ = treasury;
        _checkQuorum(digest, signatures, p.minSigners, p.quorumBps, p.minBond, totalBond);

        Batch memory b;
        b.protocolFeeBps = p.protocolFeeBps;
        b.minBond = p.minBond;
        _settleReceipts(receipts, b);
        if (b.protocolReward != 0) claimable[treasury_] += b.protocolReward;
        settled = b.settled;
        emit BatchSettled(digest, settled, n - settled, b.fees);
    }

    /// @notice The EIP-712 digest keepers sign for a batch: `ReceiptBatch(ExecutionReceipt[] receipts)`.
    function batchDigest(ExecutionReceipt[] calldata receipts) public view returns (bytes32) {
        bytes32 typehash = RECEIPT_TYPEHASH;
        bytes32 receiptsHash;
        // EIP-712 encodes an array of structs as keccak256 of the concatenated struct hashes. A receipt is
        // eight static words in calldata, so each struct hash is keccak256(typehash ‖ the eight words):
        // copy them behind the typehash in one reused buffer and write the hashes after it.
        assembly ("memory-safe") {
            let n := receipts.length
            let buffer := mload(0x40)
            let hashes := add(buffer, 0x120)
            mstore(buffer, typehash)
            for { let i := 0 } lt(i, n) { i := add(i, 1) } {
                calldatacopy(add(buffer, 0x20), add(receipts.offset, shl(8, i)), 0x100)
                mstore(add(hashes, shl(5, i)), keccak256(buffer, 0x120))
            }
            receiptsHash := keccak256(hashes, shl(5, n))
        }
        return _hashTypedDataV4(keccak256(abi.encode(BATCH_TYPEHASH, receiptsHash)));
    }

    /// @notice The EIP-712 struct hash of one receipt.
    function hashReceipt(ExecutionReceipt calldata r) public pure returns (bytes32 h) {
        bytes32 typehash = RECEIPT_TYPEHASH;
        assembly ("memory-safe") {
            let m := mload(0x40)
            mstore(m, typehash)
            calldatacopy(add(m, 0x20), r, 0x100)
            h := keccak256(m, 0x120)
        }
    }

    /// @notice Proves that `offender` signed two different receipts for the same (trigger, event) and
    /// runner, and slashes its bond. Anyone but the offender may call; the caller earns the slashing
    /// bounty. The offender cannot report itself to recover the bounty; through a sybil address it still
    /// recovers at most `MAX_SLASH_BOUNTY_BPS` (20%) and loses the rest to the treasury.
    /// @dev Two receipts naming different runners do not conflict: an honest keeper may co-sign a
    /// takeover's receipt after co-signing the original performer's, and only one of them can settle.
    function reportEquivocation(
        address offender,
        ExecutionReceipt[] calldata batchA,
        uint256 indexA,
        bytes calldata signatureA,
        ExecutionReceipt[] calldata batchB,
        uint256 indexB,
        bytes calldata signatureB
    ) external returns (uint96 slashed) {
        if (msg.sender == offender) revert SelfReport();
        if (indexA >= batchA.length) revert IndexOutOfRange(indexA);
        if (indexB >= batchB.length) revert IndexOutOfRange(indexB);
        ExecutionReceipt calldata a = batchA[indexA];
        ExecutionReceipt calldata b = batchB[indexB];
        if (a.triggerId != b.triggerId || a.eventId != b.eventId || a.runner != b.runner) {
            revert NotConflicting();
        }
        if (hashReceipt(a) == hashReceipt(b)) revert NotConflicting();
        _checkSigner(offender, batchDigest(batchA), signatureA);
        _checkSigner(offender, batchDigest(batchB), signatureB);
        slashed = _slash(offender, a.triggerId, a.eventId);
    }

    function _checkSigner(address expected, bytes32 digest, bytes calldata signature) private pure {
        address signer = ECDSA.recover(digest, signature);
        if (signer != expected) revert SignerMismatch(signer);
    }

    function _slash(address offender, uint64 triggerId, bytes32 eventId) private returns (uint96 slashed) {
        bytes32 key = keccak256(abi.encode(offender, triggerId, eventId));
        if (equivocationSlashed[key]) revert AlreadySlashed(offender, triggerId, eventId);
        Keeper storage k = _keepers[offender];
        if (k.activeFrom == 0) revert KeeperNotRegistered(offender);
        equivocationSlashed[key] = true;

        uint96 bond = k.bond;
        slashed = slashAmount < bond ? slashAmount : bond;
        k.bond = bond - slashed;
        // An unbonding keeper's bond already left the total.
        if (k.unbondsAt == 0) totalBond -= slashed;
        uint256 bounty = uint256(slashed) * _params.slashBountyBps / 10_000;
        claimable[msg.sender] += bounty;
        claimable[treasury] += slashed - bounty;
        emit KeeperSlashed(offender, triggerId, eventId, slashed, msg.sender, bounty);
    }

    /// @notice Punishes a batch that signed logs of this chain that never happened, as `challenges` found
    /// after nobody proved them. Every registered signer loses its whole bond, unbonding or not (it stays
    /// slashable until withdrawn): the challenger earns `slashBountyBps` of it and the treasury the rest.
    /// Each listed trigger is marked DISPUTED, so that its owner may rewind its event cursor and execution
    /// count past the fabrications (`rewindEventCursor`). Nothing is given back here: the listed receipts
    /// are the offenders' own words, and may never have settled.
    /// @dev The slashed bonds do not refund trigger budgets. The contract cannot tell a victim's trigger
    /// from one the offenders own, and the triggers come from receipts the offenders wrote: any refund
    /// rule priced by what is on chain (a trigger's cap, its types' current prices) lets them list their
    /// own triggers first and draw the pot back, which would make fabrication free. Sound refunds need
    /// keeper rewards that vest through the fraud window and a settlement-time record of what each
    /// receipt paid (docs/security.md, finding 2).
    /// @param triggerIds The trigger of each receipt whose log stayed unproven; unknown ones are skipped.
    /// @return slashed The bonds taken.
    function punishFraud(
        bytes32 challengeId,
        address[] calldata signers,
        uint64[] calldata triggerIds,
        address challenger
    ) external returns (uint256 slashed) {
        if (msg.sender != address(challenges)) revert NotChallenges(msg.sender);
        for (uint256 i; i < signers.length; ++i) {
            slashed += _forfeitBond(signers[i], challengeId);
        }
        for (uint256 i; i < triggerIds.length; ++i) {
            _dispute(triggerIds[i]);
        }
        uint256 bounty = slashed * _params.slashBountyBps / 10_000;
        claimable[challenger] += bounty;
        claimable[treasury] += slashed - bounty;
    }

    /// @dev The whole bond of a registered keeper; nothing for an address that is not one.
    function _forfeitBond(address account, bytes32 challengeId) private returns (uint96 bond) {
        Keeper storage k = _keepers[account];
        if (k.activeFrom == 0) return 0;
        bond = k.bond;
        k.bond = 0;
        // An unbonding keeper's bond already left the total.
        if (k.unbondsAt == 0) totalBond -= bond;
        emit KeeperSlashedForFraud(account, challengeId, bond);
    }

    /// @dev Marks a trigger DISPUTED; its owner then decides what the fabrications cost it.
    function _dispute(uint64 id) private {
        Trigger storage t = _triggers[id];
        if (t.owner == address(0)) return;
        t.rules.flags |= DISPUTED;
        emit TriggerDisputed(id);
    }

    /// @dev Once per batch. Inactive signers weigh nothing; the signers must still be strictly ascending.
    function _checkQuorum(
        bytes32 digest,
        bytes[] calldata signatures,
        uint256 minSigners,
        uint256 quorumBps,
        uint96 minBond,
        uint256 total
    ) private view {
        uint256 signers;
        uint256 signedBond;
        address previous;
        for (uint256 i; i < signatures.length; ++i) {
            address signer = ECDSA.recover(digest, signatures[i]);
            if (signer <= previous) revert SignersNotAscending(i);
            previous = signer;
            Keeper storage k = _keepers[signer];
            uint96 bond = k.bond;
            if (_isActive(bond, k.activeFrom, k.unbondsAt, minBond)) {
                // No overflow: the signers are distinct active keepers, so signedBond <= total < 2^96.
                unchecked {
                    ++signers;
                    signedBond += bond;
                }
            }
        }
        bool reached;
        // No overflow: both products are below 2^96 * 10^4.
        unchecked {
            reached = signers >= minSigners && signedBond * 10_000 >= total * quorumBps;
        }
        if (!reached) revert QuorumNotReached(signers, signedBond, total);
    }

    // ------------------------------------------------------------------------------------------------
    // The per-receipt hot path, in Yul. A settled receipt must cost its trigger's two storage words (one
    // read, one read and written) and its event; the rest is kept to a few hundred gas by reading the
    // receipt straight from calldata and the trigger words whole. The checks mirror RejectReason's order,
    // but for the position bounds (EventFromFuture, EventTooOld: appended to the enum, checked right after
    // StaleEvent, with which they judge the event id).
    //
    // Trigger words (Solidity packs struct fields from the low-order bits up):
    //   ledger: budget [0,96) | executions [96,128) | maxExecutions [128,160) | lastEventKey [160,224)
    //   rules:  connectorType [0,24) | serviceType [24,48) | maxFeePerExecution [48,128)
    //           | expiresAt [128,168) | pausedAt [168,208) | resumedAt [208,248) | flags [248,256)
    // ModuleType words: payout [0,160) | fee [160,256); owner [0,160) | extraFee [160,256)
    // Keeper word: bond [0,96) | activeFrom [96,136) | unbondsAt [136,176)
    // Event id (see EventIds): position [192,256), of which a chain log's block number is [220,256);
    //   source chain [128,192) and block-and-log digest [0,128) for a chain log; a UUIDv7's millisecond
    //   timestamp [208,256) and a zero digest for an off-chain event.
    // ExecutionReceipt in calldata: eight words in field order (triggerId, eventId, resultHash,
    //   connector, runner, runnerFee, executedAt, success). Dirty high bits cannot help an attacker:
    //   they change the signed hash, and a dirty id or address names no trigger or keeper.
    // Batch in memory: one word per field, in declaration order: protocolFeeBps 0x00, minBond 0x20,
    //   keeper 0x40, keeperReward 0x60, typePair 0x80, connectorDeveloper 0xa0, connectorDeveloperFee 0xc0,
    //   connectorDeveloperReward 0xe0, operatorFee 0x100, serviceDeveloper 0x120, serviceDeveloperFee 0x140,
    //   serviceDeveloperReward 0x160, maxRunnerFee 0x180, protocolReward 0x1a0, fees 0x1c0, settled 0x1e0.
    // ------------------------------------------------------------------------------------------------

    /// @dev Topics of the events emitted from assembly; the tests check them against the declarations.
    bytes32 private constant _RECEIPT_SETTLED = keccak256("ReceiptSettled(uint64,bytes32,uint256)");
    bytes32 private constant _RECEIPT_REJECTED = keccak256("ReceiptRejected(uint64,bytes32,uint8)");

    function _settleReceipts(ExecutionReceipt[] calldata receipts, Batch memory b) private {
        bytes32 settledTopic = _RECEIPT_SETTLED;
        bytes32 rejectedTopic = _RECEIPT_REJECTED;
        uint256 triggersSlot;
        uint256 keepersSlot;
        uint256 claimableSlot;
        uint256 connectorTypesSlot;
        uint256 serviceTypesSlot;
        uint256 maxEventAge = _maxEventAge;
        assembly ("memory-safe") {
            triggersSlot := _triggers.slot
            keepersSlot := _keepers.slot
            claimableSlot := claimable.slot
            connectorTypesSlot := _connectorTypes.slot
            serviceTypesSlot := _serviceTypes.slot
        }
        assembly ("memory-safe") {
            function mapSlot(key, base) -> s {
                mstore(0x00, key)
                mstore(0x20, base)
                s := keccak256(0x00, 0x40)
            }

            function addTo(slot, amount) {
                sstore(slot, add(sload(slot), amount))
            }

            // Registered, past its activation time, not unbonding, and bonded at least minBond (and > 0).
            function isActive(account, keepers, minBond) -> ok {
                let w := sload(mapSlot(account, keepers))
                let bond := and(w, 0xffffffffffffffffffffffff)
                let activeFrom := and(shr(96, w), 0xffffffffff)
                let unbondsAt := and(shr(136, w), 0xffffffffff)
                ok := and(
                    and(iszero(iszero(activeFrom)), iszero(lt(timestamp(), activeFrom))),
                    and(iszero(unbondsAt), and(iszero(lt(bond, minBond)), iszero(iszero(bond))))
                )
            }

            // Rewards for the current keeper run go to storage when the run ends.
            function flushKeeper(batch, claimables) {
                let amount := mload(add(batch, 0x60))
                if amount {
                    addTo(mapSlot(mload(add(batch, 0x40)), claimables), amount)
                    mstore(add(batch, 0x60), 0)
                }
            }

            function creditKeeper(batch, account, amount, claimables) {
                if iszero(eq(account, mload(add(batch, 0x40)))) {
                    flushKeeper(batch, claimables)
                    mstore(add(batch, 0x40), account)
                }
                mstore(add(batch, 0x60), add(mload(add(batch, 0x60)), amount))
            }

            function flushDevelopers(batch, claimables) {
                let amount := mload(add(batch, 0xe0))
                if amount {
                    addTo(mapSlot(mload(add(batch, 0xa0)), claimables), amount)
                    mstore(add(batch, 0xe0), 0)
                }
                amount := mload(add(batch, 0x160))
                if amount {
                    addTo(mapSlot(mload(add(batch, 0x120)), claimables), amount)
                    mstore(add(batch, 0x160), 0)
                }
            }

            // Prices of a (connectorType, serviceType) pair; ends the developers' reward runs first.
            function loadTypes(batch, typePair, connectorTypes, serviceTypes, claimables) {
                flushDevelopers(batch, claimables)
                let c := mapSlot(and(typePair, 0xffffff), connectorTypes)
                let c0 := sload(c)
                let c1 := sload(add(c, 1))
                let s := mapSlot(shr(24, typePair), serviceTypes)
                let s0 := sload(s)
                let s1 := sload(add(s, 1))
                mstore(add(batch, 0x80), typePair)
                mstore(add(batch, 0xa0), and(c0, 0xffffffffffffffffffffffffffffffffffffffff))
                mstore(add(batch, 0xc0), shr(160, c0))
                mstore(add(batch, 0x100), shr(160, c1))
                mstore(add(batch, 0x120), and(s0, 0xffffffffffffffffffffffffffffffffffffffff))
                mstore(add(batch, 0x140), shr(160, s0))
                mstore(add(batch, 0x180), shr(160, s1))
            }

            let minBond := mload(add(b, 0x20))
            let end := add(receipts.offset, shl(8, receipts.length))
            for { let r := receipts.offset } lt(r, end) { r := add(r, 0x100) } {
                let triggerId := calldataload(r)
                let eventId := calldataload(add(r, 0x20))
                let eventKey := shr(192, eventId)
                let executedAt := calldataload(add(r, 0xc0))
                let slot := mapSlot(triggerId, triggersSlot)
                let ledger := sload(slot)
                let rules := sload(add(slot, 1))

                // reason: 0 when settled, otherwise RejectReason + 1. The loop runs once; `break` rejects.
                let reason := 0
                for {} 1 {} {
                    if iszero(rules) {
                        reason := 1 // UnknownTrigger
                        break
                    }
                    if iszero(gt(eventKey, shr(160, ledger))) {
                        reason := 2 // StaleEvent: this event, or a later one, was already paid
                        break
                    }
                    // The position must be one that can exist by now, or a single receipt at 2^64 - 1
                    // would make its trigger's every later event stale; and a log of this chain must be
                    // young enough to be challenged and proven. A log of another chain is left to the
                    // quorum: this chain cannot tell its block number.
                    switch and(eventId, EVENT_DIGEST_MASK)
                    case 0 {
                        if gt(
                            shr(EVENT_UUID_MS_SHIFT, eventId),
                            mul(add(timestamp(), UUID_CLOCK_SLACK), 1000)
                        ) {
                            reason := 11 // EventFromFuture: a UUID timestamp ahead of the block time
                            break
                        }
                    }
                    default {
                        if eq(and(shr(EVENT_CHAIN_SHIFT, eventId), 0xffffffffffffffff), chainid()) {
                            let eventBlock := shr(EVENT_BLOCK_SHIFT, eventId)
                            if iszero(lt(eventBlock, number())) {
                                reason := 11 // EventFromFuture: a log of this block or a later one
                                break
                            }
                            if gt(sub(number(), eventBlock), maxEventAge) {
                                reason := 12 // EventTooOld
                                break
                            }
                        }
                    }
                    if gt(executedAt, timestamp()) {
                        reason := 3 // ExecutedInFuture
                        break
                    }
                    let expiresAt := and(shr(128, rules), 0xffffffffff)
                    if and(iszero(iszero(expiresAt)), gt(executedAt, expiresAt)) {
                        reason := 4 // Expired
                        break
                    }
                    // Paused: executed inside the latest pause, or after cancellation (which pauses for
                    // good). Executions before a pause are still paid, so pausing cannot dodge work done.
                    let pausedAt := and(shr(168, rules), 0xffffffffff)
                    if and(iszero(iszero(pausedAt)), iszero(lt(executedAt, pausedAt))) {
                        if or(and(shr(248, rules), 1), lt(executedAt, and(shr(208, rules), 0xffffffffff))) {
                            reason := 5
                            break
                        }
                    }
                    let executions := and(shr(96, ledger), 0xffffffff)
                    let maxExecutions := and(shr(128, ledger), 0xffffffff)
                    if or(
                        and(iszero(iszero(maxExecutions)), iszero(lt(executions, maxExecutions))),
                        eq(executions, 0xffffffff)
                    ) {
                        reason := 6 // Exhausted
                        break
                    }
                    // The keeper of the current reward run was found active already.
                    let current := mload(add(b, 0x40))
                    let connector := calldataload(add(r, 0x60))
                    // (Yul's `or` evaluates both sides, hence the explicit branches.)
                    if iszero(and(eq(connector, current), iszero(iszero(current)))) {
                        if iszero(isActive(connector, keepersSlot, minBond)) {
                            reason := 7 // UnknownConnector
                            break
                        }
                    }
                    let runner := calldataload(add(r, 0x80))
                    if iszero(or(and(eq(runner, current), iszero(iszero(current))), eq(runner, connector))) {
                        if iszero(isActive(runner, keepersSlot, minBond)) {
                            reason := 8 // UnknownRunner
                            break
                        }
                    }

                    let typePair := and(rules, 0xffffffffffff)
                    if iszero(eq(typePair, mload(add(b, 0x80)))) {
                        loadTypes(b, typePair, connectorTypesSlot, serviceTypesSlot, claimableSlot)
                    }
                    // A failed execution does not pay the service's developer: the service did not do its job.
                    let serviceFee := mul(iszero(iszero(calldataload(add(r, 0xe0)))), mload(add(b, 0x140)))
                    let runnerFee := calldataload(add(r, 0xa0))
                    let maxRunnerFee := mload(add(b, 0x180))
                    if gt(runnerFee, maxRunnerFee) { runnerFee := maxRunnerFee }
                    let operatorFee := mload(add(b, 0x100))
                    let connectorDevFee := mload(add(b, 0xc0))
                    let subtotal := add(add(connectorDevFee, operatorFee), add(serviceFee, runnerFee))
                    let protocolFee := div(mul(subtotal, mload(b)), 10000)
                    let fee := add(subtotal, protocolFee)
                    if gt(fee, and(shr(48, rules), 0xffffffffffffffffffff)) {
                        reason := 9 // FeeAboveCap
                        break
                    }
                    if gt(fee, and(ledger, 0xffffffffffffffffffffffff)) {
                        reason := 10 // InsufficientBudget
                        break
                    }

                    // Effects: budget -= fee (no borrow: fee <= budget), executions += 1 (no carry:
                    // executions < 2^32 - 1), lastEventKey = this event's position.
                    sstore(
                        slot,
                        or(
                            and(
                                add(sub(ledger, fee), shl(96, 1)),
                                0xffffffffffffffffffffffffffffffffffffffff
                            ),
                            shl(160, eventKey)
                        )
                    )
                    mstore(add(b, 0xe0), add(mload(add(b, 0xe0)), connectorDevFee))
                    mstore(add(b, 0x160), add(mload(add(b, 0x160)), serviceFee))
                    mstore(add(b, 0x1a0), add(mload(add(b, 0x1a0)), protocolFee))
                    switch eq(connector, runner)
                    case 1 { creditKeeper(b, runner, add(operatorFee, runnerFee), claimableSlot) }
                    default {
                        creditKeeper(b, connector, operatorFee, claimableSlot)
                        creditKeeper(b, runner, runnerFee, claimableSlot)
                    }
                    mstore(add(b, 0x1c0), add(mload(add(b, 0x1c0)), fee))
                    mstore(add(b, 0x1e0), add(mload(add(b, 0x1e0)), 1))
                    // ReceiptSettled(triggerId indexed, eventId, fee)
                    mstore(0x00, eventId)
                    mstore(0x20, fee)
                    log2(0x00, 0x40, settledTopic, triggerId)
                    break
                }
                if reason {
                    // ReceiptRejected(triggerId indexed, eventId, reason)
                    mstore(0x00, eventId)
                    mstore(0x20, sub(reason, 1))
                    log2(0x00, 0x40, rejectedTopic, triggerId)
                }
            }
            flushKeeper(b, claimableSlot)
            flushDevelopers(b, claimableSlot)
        }
    }
}
