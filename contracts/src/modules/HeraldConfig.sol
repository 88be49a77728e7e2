// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

import {AccessControl} from "@openzeppelin/contracts/access/AccessControl.sol";

/// @title HeraldConfig
/// @notice Protocol parameters and the roles allowed to change them. Every change emits an event.
abstract contract HeraldConfig is AccessControl {
    /// @notice May change fees, quorum, delays, bonds and slashing.
    bytes32 public constant PARAMS_ROLE = keccak256("PARAMS_ROLE");

    /// @notice Upper bound of the protocol fee: 20%.
    uint16 public constant MAX_PROTOCOL_FEE_BPS = 2000;
    /// @notice Upper bound of every delay, so a misconfiguration cannot lock funds for ever.
    uint32 public constant MAX_DELAY = 60 days;

    /// @dev Everything `settle` reads once per batch, packed in one slot.
    struct Params {
        uint16 protocolFeeBps;
        uint8 quorum;
        uint32 withdrawalDelay;
        uint32 activationDelay;
        uint32 unbondingDelay;
        uint16 slashBountyBps;
        uint96 minBond;
    }

    Params internal _params;
    /// @notice Receives the protocol's share as a claimable balance.
    address public treasury;
    /// @notice Taken from a keeper's bond for each proven equivocation.
    uint96 public slashAmount;

    event ProtocolFeeSet(uint16 bps);
    event QuorumSet(uint8 quorum);
    event DelaysSet(uint32 withdrawalDelay, uint32 activationDelay, uint32 unbondingDelay);
    event MinBondSet(uint96 minBond);
    event SlashingSet(uint96 slashAmount, uint16 bountyBps);
    event TreasurySet(address treasury);

    error ProtocolFeeTooHigh(uint16 bps, uint16 max);
    error InvalidQuorum(uint8 quorum);
    error DelayTooLong(uint32 delay, uint32 max);
    error InvalidBps(uint16 bps);
    error ZeroAddress();

    constructor(address admin, address treasury_) {
        if (admin == address(0) || treasury_ == address(0)) revert ZeroAddress();
        _grantRole(DEFAULT_ADMIN_ROLE, admin);
        _grantRole(PARAMS_ROLE, admin);
        treasury = treasury_;
        _params = Params({
            protocolFeeBps: 500,
            quorum: 1,
            withdrawalDelay: 1 days,
            activationDelay: 0,
            unbondingDelay: 7 days,
            slashBountyBps: 5000,
            minBond: 0
        });
        slashAmount = 0;
        emit TreasurySet(treasury_);
    }

    /// @notice The current parameters.
    function params() external view returns (Params memory) {
        return _params;
    }

    /// @notice Sets the protocol's share of each execution, in basis points of the other shares.
    function setProtocolFee(uint16 bps) external onlyRole(PARAMS_ROLE) {
        if (bps > MAX_PROTOCOL_FEE_BPS) revert ProtocolFeeTooHigh(bps, MAX_PROTOCOL_FEE_BPS);
        _params.protocolFeeBps = bps;
        emit ProtocolFeeSet(bps);
    }

    /// @notice Sets how many distinct active keepers must sign a settlement batch.
    function setQuorum(uint8 quorum) external onlyRole(PARAMS_ROLE) {
        if (quorum == 0) revert InvalidQuorum(quorum);
        _params.quorum = quorum;
        emit QuorumSet(quorum);
    }

    /// @notice Sets the trigger-budget withdrawal delay and the keeper activation and unbonding delays.
    function setDelays(uint32 withdrawalDelay, uint32 activationDelay, uint32 unbondingDelay)
        external
        onlyRole(PARAMS_ROLE)
    {
        _checkDelay(withdrawalDelay);
        _checkDelay(activationDelay);
        _checkDelay(unbondingDelay);
        _params.withdrawalDelay = withdrawalDelay;
        _params.activationDelay = activationDelay;
        _params.unbondingDelay = unbondingDelay;
        emit DelaysSet(withdrawalDelay, activationDelay, unbondingDelay);
    }

    /// @notice Sets the bond a keeper must hold to count as active.
    function setMinBond(uint96 minBond) external onlyRole(PARAMS_ROLE) {
        _params.minBond = minBond;
        emit MinBondSet(minBond);
    }

    /// @notice Sets the amount slashed per proven equivocation and the reporter's share of it.
    function setSlashing(uint96 amount, uint16 bountyBps) external onlyRole(PARAMS_ROLE) {
        if (bountyBps > 10_000) revert InvalidBps(bountyBps);
        slashAmount = amount;
        _params.slashBountyBps = bountyBps;
        emit SlashingSet(amount, bountyBps);
    }

    /// @notice Sets the address that accrues the protocol's share.
    function setTreasury(address treasury_) external onlyRole(DEFAULT_ADMIN_ROLE) {
        if (treasury_ == address(0)) revert ZeroAddress();
        treasury = treasury_;
        emit TreasurySet(treasury_);
    }

    function _checkDelay(uint32 delay) private pure {
        if (delay > MAX_DELAY) revert DelayTooLong(delay, MAX_DELAY);
    }
}
