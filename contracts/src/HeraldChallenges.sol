// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

import {EventIds} from "./EventIds.sol";
import {ExecutionReceipt} from "./HeraldTypes.sol";
import {HeraldConfig} from "./modules/HeraldConfig.sol";
import {HeraldRegistry} from "./modules/HeraldRegistry.sol";
import {IERC20} from "@openzeppelin/contracts/token/ERC20/IERC20.sol";
import {SafeERC20} from "@openzeppelin/contracts/token/ERC20/utils/SafeERC20.sol";
import {BlockHeader} from "@openzeppelin/contracts/utils/BlockHeader.sol";
import {Memory} from "@openzeppelin/contracts/utils/Memory.sol";
import {RLP} from "@openzeppelin/contracts/utils/RLP.sol";
import {ReentrancyGuardTransient} from "@openzeppelin/contracts/utils/ReentrancyGuardTransient.sol";
import {ECDSA} from "@openzeppelin/contracts/utils/cryptography/ECDSA.sol";
import {TrieProof} from "@openzeppelin/contracts/utils/cryptography/TrieProof.sol";
import {SafeCast} from "@openzeppelin/contracts/utils/math/SafeCast.sol";

/// @notice What `HeraldChallenges` needs from Herald.
interface IHeraldFraud {
    function params() external view returns (HeraldConfig.Params memory);
    function batchDigest(ExecutionReceipt[] calldata receipts) external view returns (bytes32);
    function keeper(address account) external view returns (HeraldRegistry.Keeper memory);
    function punishFraud(
        bytes32 challengeId,
        address[] calldata signers,
        uint64[] calldata triggerIds,
        address challenger
    ) external returns (uint256 slashed);
}

/// @title HeraldChallenges
/// @notice The fraud proof for receipts of logs of this chain. Anyone who holds a signed batch whose
/// receipts name logs that never happened challenges them with a deposit per log; anyone may answer each
/// challenged log with its block header and receipt proof, and earns that log's deposit; a log nobody
/// proves within the response window is a fabrication, and every registered keeper that signed the batch
/// loses its whole bond to the challenger's bounty and the treasury.
/// @dev A log is proven once for every challenge: the first proof is recorded (`provenBy`), later
/// challenges of it are refused, open ones are answered without a proof, and `resolve` counts it as
/// answered even if nobody answered that challenge. So an attacker who opens many challenges of one
/// batch's logs makes the defenders prove each distinct log once, and pays a deposit for each.
/// @dev Created by Herald's constructor, so no admin can point Herald at another one. A signature over a
/// receipt for a log that does not exist is the offence, whether or not the batch settled: an honest
/// keeper checks the log on its own node before it signs. A log that a reorganisation removed cannot be
/// proven either, so honest keepers sign only logs they hold final. What this proves is that the log
/// exists at the id's position in the canonical chain, not that it matches the trigger's filter: that
/// still rests on the stake quorum. Logs of other chains and off-chain events cannot be checked here.
///
/// The windows keep every proof possible: settlement refuses logs older than `maxEventAge` blocks, a log
/// can be challenged until `maxEventAge + challengeBlocks` blocks after its block and answered for
/// `responseBlocks` more, which stays within the block hashes the chain serves (8,191 with EIP-2935, 256
/// without). An unbonding keeper stays slashable until it withdraws, so the unbonding delay must outlast
/// those blocks (`herald deploy`'s default of 14 days does on any chain).
contract HeraldChallenges is ReentrancyGuardTransient {
    using SafeERC20 for IERC20;
    using SafeCast for uint256;
    using RLP for Memory.Slice;
    using Memory for bytes;
    using Memory for Memory.Slice;

    /// @notice State of one challenged log within one challenge.
    enum EventState {
        None,
        Undefended,
        Defended
    }

    /// @dev Two slots and a commitment; everything `respond` and `resolve` need.
    struct Challenge {
        address challenger;
        /// @dev Last block in which `respond` is accepted.
        uint64 respondBy;
        /// @dev Distinct challenged event ids not yet answered.
        uint24 undefended;
        bool resolved;
        /// @dev The deposit of each distinct challenged log, out of what arrived from the challenger (a
        /// fee-on-transfer token takes its cut): paid to whoever answers that log, or back to the
        /// challenger if nobody does.
        uint96 bondPerEvent;
        /// @dev keccak256(abi.encode(digest, signers)): `resolve` punishes exactly the signers the
        /// challenge named, over the batch it named.
        bytes32 batch;
    }

    /// @notice The Herald this contract judges for.
    IHeraldFraud public immutable herald;
    /// @notice Herald's settlement token, in which bonds are paid.
    IERC20 public immutable token;
    uint256 internal immutable _maxEventAge;
    uint256 internal immutable _challengeBlocks;
    uint256 internal immutable _responseBlocks;

    mapping(bytes32 challengeId => Challenge) internal _challenges;
    mapping(bytes32 challengeId => mapping(bytes32 eventId => EventState)) public eventState;
    /// @notice Who first proved that the log `eventId` exists; zero while nobody has.
    mapping(bytes32 eventId => address prover) public provenBy;

    event ChallengeOpened(
        bytes32 indexed challengeId,
        bytes32 indexed digest,
        address indexed challenger,
        bytes32[] eventIds,
        uint64[] triggerIds,
        uint64 respondBy
    );
    event ChallengeAnswered(bytes32 indexed challengeId, bytes32 eventId, address defender);
    event ChallengeResolved(bytes32 indexed challengeId, bool fraud, uint256 slashed);

    error NothingChallenged();
    error IndexOutOfRange(uint256 index);
    error IndexesNotAscending(uint256 position);
    error NotALocalLog(bytes32 eventId);
    error ChallengeWindowClosed(bytes32 eventId, uint256 lastBlock);
    error SignersNotAscending(uint256 index);
    error NoKeeperSigned();
    error DuplicateChallenge(bytes32 challengeId);
    error UnknownChallenge(bytes32 challengeId);
    error ResponseWindowClosed(uint64 respondBy);
    error ResponseWindowOpen(uint64 respondBy);
    error NotUndefended(bytes32 eventId);
    error AlreadyProven(bytes32 eventId, address prover);
    error AlreadyResolved(bytes32 challengeId);
    error BatchMismatch();
    error UnknownBlockHeader(uint256 blockNumber);
    error LogNotFound(uint256 txIndex, uint256 logIndexInTx);
    error LogMismatch(bytes32 proven, bytes32 challenged);

    /// @param maxEventAge_ Also enforced by Herald's settlement; see the contract's notes for the three.
    constructor(
        IHeraldFraud herald_,
        IERC20 token_,
        uint256 maxEventAge_,
        uint256 challengeBlocks_,
        uint256 responseBlocks_
    ) {
        herald = herald_;
        token = token_;
        _maxEventAge = maxEventAge_;
        _challengeBlocks = challengeBlocks_;
        _responseBlocks = responseBlocks_;
    }

    /// @notice The windows, in blocks: settlement refuses logs of this chain older than `maxEventAge`; a
    /// log can be challenged until `maxEventAge + challengeBlocks` blocks after its block; a challenge is
    /// answered within `responseBlocks` of its opening.
    function fraudWindows()
        external
        view
        returns (uint256 maxEventAge, uint256 challengeBlocks, uint256 responseBlocks)
    {
        return (_maxEventAge, _challengeBlocks, _responseBlocks);
    }

    /// @notice The challenger's deposit per distinct challenged log, in the settlement token: a tenth of
    /// the minimum keeper bond, at least 1. It pays whoever answers that log; a challenger who is right
    /// gets it back with the bounty.
    function challengeBond() public view returns (uint256) {
        uint256 bond = herald.params().minBond / 10;
        return bond == 0 ? 1 : bond;
    }

    /// @notice A challenge.
    function challengeOf(bytes32 challengeId) external view returns (Challenge memory) {
        return _challenges[challengeId];
    }

    /// @notice Challenges receipts `indexes` of a signed batch: claims the logs they name never happened.
    /// Takes `challengeBond()` per distinct log from the caller (approved beforehand).
    /// @param signatures Over `herald.batchDigest(receipts)`, strictly ascending by signer, at least one of
    /// them a keeper that still holds a bond (unbonding ones included). These signers are the ones
    /// punished on fraud: name them all.
    /// @param indexes Strictly ascending; each receipt a log of this chain still within the challenge
    /// window and not proven yet. Receipts sharing an event id are challenged and answered together.
    /// @return challengeId keccak256(abi.encode(digest, indexes, signers)).
    function challenge(
        ExecutionReceipt[] calldata receipts,
        bytes[] calldata signatures,
        uint256[] calldata indexes
    ) external nonReentrant returns (bytes32 challengeId) {
        if (indexes.length == 0) revert NothingChallenged();
        bytes32 digest = herald.batchDigest(receipts);
        address[] memory signers = _signers(digest, signatures);
        _requireKeeper(signers);
        // The signers are in the id: whoever opens a challenge first, with however few of the signers,
        // cannot shield the others from a fuller one.
        challengeId = keccak256(abi.encode(digest, indexes, signers));
        Challenge storage c = _challenges[challengeId];
        if (c.challenger != address(0)) revert DuplicateChallenge(challengeId);

        (bytes32[] memory eventIds, uint64[] memory triggerIds, uint256 undefended) =
            _open(challengeId, receipts, indexes);
        uint64 respondBy = uint64(block.number + _responseBlocks);
        c.challenger = msg.sender;
        c.respondBy = respondBy;
        c.undefended = undefended.toUint24();
        c.batch = keccak256(abi.encode(digest, signers));
        c.bondPerEvent = (_pull(challengeBond() * undefended) / undefended).toUint96();
        emit ChallengeOpened(challengeId, digest, msg.sender, eventIds, triggerIds, respondBy);
    }

    /// @notice Proves that the challenged log `eventId` exists: `headerRlp` is the header of its block
    /// (one of the chain's recent block hashes) and `receiptProof` the receipts-trie proof of its
    /// transaction's receipt; for a log already proven (`provenBy`), both may be empty. Anyone may answer,
    /// until the challenge's `respondBy` block, and earns the log's deposit.
    function respond(
        bytes32 challengeId,
        bytes32 eventId,
        bytes calldata headerRlp,
        bytes[] calldata receiptProof
    ) external nonReentrant {
        Challenge storage c = _existing(challengeId);
        if (block.number > c.respondBy) revert ResponseWindowClosed(c.respondBy);
        if (eventState[challengeId][eventId] != EventState.Undefended) revert NotUndefended(eventId);
        if (provenBy[eventId] == address(0)) {
            bytes32 proven = provenEventId(
                headerRlp, EventIds.txIndex(eventId), EventIds.logIndexInTx(eventId), receiptProof
            );
            if (proven != eventId) revert LogMismatch(proven, eventId);
            provenBy[eventId] = msg.sender;
        }
        eventState[challengeId][eventId] = EventState.Defended;
        --c.undefended;
        emit ChallengeAnswered(challengeId, eventId, msg.sender);
        token.safeTransfer(msg.sender, c.bondPerEvent);
    }

    /// @notice Ends a challenge once every log is answered (at any time) or, after `respondBy`, with the
    /// receipts and signatures again. A log left unanswered here but proven elsewhere counts as answered,
    /// and its deposit goes to its prover. If any log stays unproven it is fraud: the signers the challenge
    /// named lose their bonds (see `Herald.punishFraud`) and the challenger gets the unproven logs'
    /// deposits back. Anyone may call.
    /// @param receipts The challenged batch, again (unless every log was answered): the triggers of its
    /// receipts whose logs stayed unproven are marked DISPUTED.
    /// @param signatures The challenge's signatures, again (unless every log was answered).
    function resolve(bytes32 challengeId, ExecutionReceipt[] calldata receipts, bytes[] calldata signatures)
        external
        nonReentrant
    {
        Challenge storage c = _existing(challengeId);
        if (c.resolved) revert AlreadyResolved(challengeId);
        c.resolved = true;
        if (c.undefended == 0) {
            emit ChallengeResolved(challengeId, false, 0);
            return;
        }
        if (block.number <= c.respondBy) revert ResponseWindowOpen(c.respondBy);
        bytes32 digest = herald.batchDigest(receipts);
        address[] memory signers = _signers(digest, signatures);
        if (keccak256(abi.encode(digest, signers)) != c.batch) revert BatchMismatch();
        uint64[] memory triggerIds = _settleAnswers(challengeId, c, c.bondPerEvent, receipts);
        if (triggerIds.length == 0) {
            emit ChallengeResolved(challengeId, false, 0);
            return;
        }
        address challenger = c.challenger;
        uint256 slashed = herald.punishFraud(challengeId, signers, triggerIds, challenger);
        emit ChallengeResolved(challengeId, true, slashed);
        token.safeTransfer(challenger, uint256(c.bondPerEvent) * c.undefended);
    }

    /// @notice The id of a real log of this chain: log `logIndexInTx` of the receipt of transaction
    /// `txIndex` in the block whose header is `headerRlp`. Reverts unless the header hashes to one of the
    /// chain's recent block hashes (EIP-2935's 8,191, or BLOCKHASH's 256) and the proof leads from its
    /// receipts root to a receipt holding that log. Keepers use it to check their id encoding.
    function provenEventId(
        bytes calldata headerRlp,
        uint256 txIndex,
        uint256 logIndexInTx,
        bytes[] calldata receiptProof
    ) public view returns (bytes32) {
        bytes memory header = headerRlp;
        Memory.Slice[] memory fields = BlockHeader.parseHeader(header);
        uint256 number = BlockHeader.getNumber(fields);
        bytes32 blockHash = keccak256(header);
        // Blockhash answers 0 for a block it does not serve, which no header hashes to.
        if (!BlockHeader.verifyBlockHeader(fields, blockHash)) revert UnknownBlockHeader(number);
        bytes memory receipt =
            TrieProof.traverse(BlockHeader.getReceiptsRoot(fields), RLP.encode(txIndex), receiptProof);
        bytes32 logHash = _logHash(receipt, txIndex, logIndexInTx);
        return EventIds.localLog(number, txIndex, logIndexInTx, blockHash, logHash);
    }

    // ------------------------------------------------------------------------------------------------

    /// @dev keccak256 of log `logIndexInTx`'s RLP item in `receipt`: an EIP-2718 typed receipt (a type
    /// byte below 0x80, then the RLP list) or a legacy one (the bare list). Either list starts
    /// [status, cumulativeGasUsed, logsBloom, logs, ...] (some rollups append fields).
    function _logHash(bytes memory receipt, uint256 txIndex, uint256 logIndexInTx)
        private
        pure
        returns (bytes32)
    {
        Memory.Slice body = receipt.asSlice();
        if (uint8(receipt[0]) < 0x80) body = body.slice(1);
        Memory.Slice[] memory fields = body.readList();
        if (fields.length < 4) revert LogNotFound(txIndex, logIndexInTx);
        Memory.Slice[] memory logs = fields[3].readList();
        if (logIndexInTx >= logs.length) revert LogNotFound(txIndex, logIndexInTx);
        return keccak256(logs[logIndexInTx].toBytes());
    }

    /// @dev Marks each challenged event undefended and gathers the event's fields. A log proven already
    /// cannot be challenged again: the proof stands for every challenge.
    function _open(bytes32 challengeId, ExecutionReceipt[] calldata receipts, uint256[] calldata indexes)
        private
        returns (bytes32[] memory eventIds, uint64[] memory triggerIds, uint256 undefended)
    {
        uint256 n = indexes.length;
        eventIds = new bytes32[](n);
        triggerIds = new uint64[](n);
        uint256 lastBlockOffset = _maxEventAge + _challengeBlocks;
        for (uint256 k; k < n; ++k) {
            uint256 i = indexes[k];
            if (i >= receipts.length) revert IndexOutOfRange(i);
            if (k != 0 && i <= indexes[k - 1]) revert IndexesNotAscending(k);
            bytes32 eventId = receipts[i].eventId;
            if (!EventIds.isLocalLog(eventId)) revert NotALocalLog(eventId);
            uint256 lastBlock = EventIds.blockNumber(eventId) + lastBlockOffset;
            if (block.number > lastBlock) revert ChallengeWindowClosed(eventId, lastBlock);
            address prover = provenBy[eventId];
            if (prover != address(0)) revert AlreadyProven(eventId, prover);
            eventIds[k] = eventId;
            triggerIds[k] = receipts[i].triggerId;
            // Receipts of several triggers may name one log: it is answered once.
            if (eventState[challengeId][eventId] == EventState.None) {
                eventState[challengeId][eventId] = EventState.Undefended;
                ++undefended;
            }
        }
    }

    /// @dev After the response window: every log left unanswered here but proven by another challenge is
    /// answered now, its deposit paid to its prover; returns the trigger of every receipt whose log stayed
    /// unproven, in batch order, and leaves `undefended` counting those logs.
    function _settleAnswers(
        bytes32 challengeId,
        Challenge storage c,
        uint96 bondPerEvent,
        ExecutionReceipt[] calldata receipts
    ) private returns (uint64[] memory triggerIds) {
        triggerIds = new uint64[](receipts.length);
        uint256 count;
        for (uint256 i; i < receipts.length; ++i) {
            bytes32 eventId = receipts[i].eventId;
            if (eventState[challengeId][eventId] != EventState.Undefended) continue;
            address prover = provenBy[eventId];
            if (prover == address(0)) {
                triggerIds[count++] = receipts[i].triggerId;
                continue;
            }
            eventState[challengeId][eventId] = EventState.Defended;
            --c.undefended;
            emit ChallengeAnswered(challengeId, eventId, prover);
            token.safeTransfer(prover, bondPerEvent);
        }
        assembly ("memory-safe") {
            mstore(triggerIds, count) // shrink to the entries filled
        }
    }

    /// @dev The signers of `digest`, strictly ascending (which makes them distinct).
    function _signers(bytes32 digest, bytes[] calldata signatures)
        private
        pure
        returns (address[] memory signers)
    {
        signers = new address[](signatures.length);
        address previous;
        for (uint256 i; i < signatures.length; ++i) {
            address signer = ECDSA.recover(digest, signatures[i]);
            if (signer <= previous) revert SignersNotAscending(i);
            signers[i] = signer;
            previous = signer;
        }
    }

    /// @dev A batch signed only by keepers without a bond (never registered, or already forfeited)
    /// punishes nobody; challenging it would only burn gas.
    function _requireKeeper(address[] memory signers) private view {
        for (uint256 i; i < signers.length; ++i) {
            if (herald.keeper(signers[i]).bond != 0) return;
        }
        revert NoKeeperSigned();
    }

    function _existing(bytes32 challengeId) private view returns (Challenge storage c) {
        c = _challenges[challengeId];
        if (c.challenger == address(0)) revert UnknownChallenge(challengeId);
    }

    /// @dev Credits what actually arrived, as Herald does, so a fee-on-transfer token cannot make the
    /// contract promise more than it holds.
    function _pull(uint256 amount) private returns (uint256 received) {
        uint256 before = token.balanceOf(address(this));
        token.safeTransferFrom(msg.sender, address(this), amount);
        received = token.balanceOf(address(this)) - before;
    }
}
