// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

import {
    AccessControlDefaultAdminRules
} from "@openzeppelin/contracts/access/extensions/AccessControlDefaultAdminRules.sol";

/// @title HeraldConfig
/// @notice Protocol parameters and the roles allowed to change them. Every change emits an event.
/// @dev Parameters change only through a timelock (`proposeParams` → `applyParams`) whose delay is longer
/// than the trigger-budget withdrawal delay, both the current one and the proposed one: a user who
/// dislikes a pending change can always take their budget out before it applies. Every parameter also
/// has a floor or a ceiling enforced here, so even a compromised PARAMS_ROLE can only move within them.
/// The default admin is held under OpenZeppelin's `AccessControlDefaultAdminRules`: handing it over is a
/// two-step, delayed transfer.
abstract contract HeraldConfig is AccessControlDefaultAdminRules {
    /// @notice May propose and cancel parameter changes.
    bytes32 public constant PARAMS_ROLE = keccak256("PARAMS_ROLE");

    /// @notice Upper bound of the protocol fee: 20%.
    uint16 public constant MAX_PROTOCOL_FEE_BPS = 2000;
    /// @notice Lower bound of the stake quorum: a bare majority of the bonded stake. `herald deploy`
    /// enforces a stricter policy off chain (two thirds by default).
    uint16 public constant MIN_QUORUM_BPS = 5001;
    /// @notice Upper bound of the reporter's share of a slash: 20%. A keeper that reports itself through a
    /// sybil address recovers at most this share and loses the rest to the treasury.
    uint16 public constant MAX_SLASH_BOUNTY_BPS = 2000;
    /// @notice Upper bound of every delay, so a misconfiguration cannot lock funds for ever.
    uint32 public constant MAX_DELAY = 60 days;
    /// @notice How much longer than the withdrawal delay a parameter change waits, so that a user who
    /// requests a withdrawal when the change is proposed has it unlocked before the change applies.
    uint32 public constant PARAMS_TIMELOCK_MARGIN = 1 days;
    /// @notice Initial delay of a default admin transfer (`AccessControlDefaultAdminRules`).
    uint48 public constant DEFAULT_ADMIN_DELAY = 3 days;

    /// @notice Everything `settle` reads once per batch, packed in one slot (248 bits).
    struct Params {
        /// @dev The protocol's share, in basis points of the other four shares.
        uint16 protocolFeeBps;
        /// @dev Fewest distinct active keepers that must sign a batch.
        uint8 minSigners;
        /// @dev Least share of `totalBond`, in basis points, the active signers of a batch must hold.
        uint16 quorumBps;
        /// @dev Between `requestWithdrawal` and `completeWithdrawal` of trigger budget.
        uint32 withdrawalDelay;
        /// @dev Between registration (or a top-up from below `minBond`) and counting as active.
        uint32 activationDelay;
        /// @dev Between `requestUnbond` and `withdrawBond`; the bond stays slashable meanwhile.
        uint32 unbondingDelay;
        /// @dev The reporter's share of a slash, in basis points.
        uint16 slashBountyBps;
        /// @dev Least bond of an active keeper.
        uint96 minBond;
    }

    Params internal _params;
    /// @notice Receives the protocol's share as a claimable balance.
    address public treasury;
    /// @notice Sum of the bonds of registered keepers that are not unbonding, the denominator of the
    /// stake quorum. Keepers still waiting for activation, or below the minimum bond, are counted although
    /// they cannot sign: this can only make the quorum harder to reach, never easier.
    /// @dev Packed with `treasury`, which `settle` reads anyway, so the quorum costs no extra cold slot.
    /// Like every bond it is a uint96: a registration or top-up that would take it past 2^96 - 1 base
    /// units (7.9e10 tokens of 18 decimals) reverts.
    uint96 public totalBond;
    /// @notice Taken from a keeper's bond for each proven equivocation.
    uint96 public slashAmount;
    /// @dev The pending proposal: `_pendingSlashAmount` and `_pendingEffectiveAt` share `slashAmount`'s slot.
    uint96 internal _pendingSlashAmount;
    /// @dev 0 when nothing is pending.
    uint40 internal _pendingEffectiveAt;
    Params internal _pendingParams;

    event ParamsProposed(Params params, uint96 slashAmount, uint40 effectiveAt);
    event ParamsProposalCancelled();
    event ParamsApplied(Params params, uint96 slashAmount);
    event TreasurySet(address treasury);

    /// @notice A parameter is outside its bounds: `field` is its name, `bound` the floor or ceiling it
    /// crossed.
    error ParamOutOfBounds(bytes32 field, uint256 value, uint256 bound);
    error NoParamsProposal();
    error ParamsNotYetEffective(uint40 effectiveAt);
    error ZeroAddress();

    /// @dev Sets the initial parameters within the same bounds as later proposals and emits
    /// `ParamsApplied`, so that keepers can rebuild the parameters from logs alone.
    constructor(address admin, address treasury_, Params memory initialParams, uint96 initialSlashAmount)
        AccessControlDefaultAdminRules(DEFAULT_ADMIN_DELAY, admin)
    {
        if (treasury_ == address(0)) revert ZeroAddress();
        _grantRole(PARAMS_ROLE, admin);
        treasury = treasury_;
        emit TreasurySet(treasury_);
        _checkParams(initialParams);
        _params = initialParams;
        slashAmount = initialSlashAmount;
        emit ParamsApplied(initialParams, initialSlashAmount);
    }

    /// @notice The current parameters.
    function params() external view returns (Params memory) {
        return _params;
    }

    /// @notice The pending proposal, if any (`effectiveAt` is 0 when there is none).
    function pendingParams()
        external
        view
        returns (Params memory proposed, uint96 proposedSlashAmount, uint40 effectiveAt)
    {
        return (_pendingParams, _pendingSlashAmount, _pendingEffectiveAt);
    }

    /// @notice Proposes a whole new parameter set, applicable by anyone once `effectiveAt` has passed.
    /// A new proposal replaces the pending one.
    /// @dev `effectiveAt` is now + the longer of the current and the proposed withdrawal delays + a
    /// margin, so a user who dislikes the change can request a withdrawal now and complete it before the
    /// change applies, whatever the change does to the delay itself.
    function proposeParams(Params calldata proposed, uint96 proposedSlashAmount)
        external
        onlyRole(PARAMS_ROLE)
        returns (uint40 effectiveAt)
    {
        _checkParams(proposed);
        uint32 current = _params.withdrawalDelay;
        uint32 longest = proposed.withdrawalDelay > current ? proposed.withdrawalDelay : current;
        effectiveAt = uint40(block.timestamp) + uint40(longest) + uint40(PARAMS_TIMELOCK_MARGIN);
        _pendingParams = proposed;
        _pendingSlashAmount = proposedSlashAmount;
        _pendingEffectiveAt = effectiveAt;
        emit ParamsProposed(proposed, proposedSlashAmount, effectiveAt);
    }

    /// @notice Withdraws the pending proposal.
    function cancelParams() external onlyRole(PARAMS_ROLE) {
        if (_pendingEffectiveAt == 0) revert NoParamsProposal();
        _clearProposal();
        emit ParamsProposalCancelled();
    }

    /// @notice Applies the pending proposal once its timelock has passed. Anyone may call: the change was
    /// public for the whole delay.
    function applyParams() external {
        uint40 effectiveAt = _pendingEffectiveAt;
        if (effectiveAt == 0) revert NoParamsProposal();
        if (block.timestamp < effectiveAt) revert ParamsNotYetEffective(effectiveAt);
        Params memory next = _pendingParams;
        uint96 nextSlashAmount = _pendingSlashAmount;
        _clearProposal();
        _params = next;
        slashAmount = nextSlashAmount;
        emit ParamsApplied(next, nextSlashAmount);
    }

    /// @notice Sets the address that accrues the protocol's share. Immediate, unlike the parameters: it
    /// only directs the protocol's own share of future fees and slashes, never anyone else's money.
    function setTreasury(address treasury_) external onlyRole(DEFAULT_ADMIN_ROLE) {
        if (treasury_ == address(0)) revert ZeroAddress();
        treasury = treasury_;
        emit TreasurySet(treasury_);
    }

    function _clearProposal() private {
        delete _pendingParams;
        _pendingSlashAmount = 0;
        _pendingEffectiveAt = 0;
    }

    /// @dev The floors and ceilings every parameter set must respect, at deployment and on proposal.
    function _checkParams(Params memory p) private pure {
        _atMost("protocolFeeBps", p.protocolFeeBps, MAX_PROTOCOL_FEE_BPS);
        _atLeast("minSigners", p.minSigners, 1);
        _atLeast("quorumBps", p.quorumBps, MIN_QUORUM_BPS);
        _atMost("quorumBps", p.quorumBps, 10_000);
        _atMost("withdrawalDelay", p.withdrawalDelay, MAX_DELAY);
        _atMost("activationDelay", p.activationDelay, MAX_DELAY);
        _atMost("unbondingDelay", p.unbondingDelay, MAX_DELAY);
        // A keeper's bond stays at stake at least as long as a user's budget is locked.
        _atLeast("unbondingDelay", p.unbondingDelay, p.withdrawalDelay);
        _atMost("slashBountyBps", p.slashBountyBps, MAX_SLASH_BOUNTY_BPS);
        _atLeast("minBond", p.minBond, 1);
    }

    function _atMost(bytes32 field, uint256 value, uint256 max) private pure {
        if (value > max) revert ParamOutOfBounds(field, value, max);
    }

    function _atLeast(bytes32 field, uint256 value, uint256 min) private pure {
        if (value < min) revert ParamOutOfBounds(field, value, min);
    }
}
