// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

import {HeraldConfig} from "./HeraldConfig.sol";
import {IERC20} from "@openzeppelin/contracts/token/ERC20/IERC20.sol";
import {IERC20Permit} from "@openzeppelin/contracts/token/ERC20/extensions/IERC20Permit.sol";
import {SafeERC20} from "@openzeppelin/contracts/token/ERC20/utils/SafeERC20.sol";
import {ReentrancyGuardTransient} from "@openzeppelin/contracts/utils/ReentrancyGuardTransient.sol";

/// @title HeraldEscrow
/// @notice Holds the settlement token. Users keep an unallocated balance here and give budgets from it
/// to their triggers; every party paid by a settlement accrues a claimable balance and pulls it.
/// @dev The unallocated balance never pays for executions, so it can be withdrawn at once; money given
/// to a trigger leaves only through a delayed withdrawal (see HeraldRegistry), which is what protects
/// keepers from a user who withdraws before work already done is settled.
abstract contract HeraldEscrow is HeraldConfig, ReentrancyGuardTransient {
    using SafeERC20 for IERC20;

    /// @notice The one ERC-20 token this deployment settles in.
    IERC20 public immutable token;

    /// @notice Unallocated escrow of each user.
    mapping(address user => uint256) public balanceOf;
    /// @notice Rewards a party has earned and not yet claimed.
    mapping(address party => uint256) public claimable;

    event Deposited(address indexed from, address indexed user, uint256 amount);
    event Withdrawn(address indexed user, address indexed to, uint256 amount);
    event Claimed(address indexed party, address indexed to, uint256 amount);

    error ZeroAmount();
    error InsufficientBalance(uint256 available, uint256 requested);
    error NothingToClaim();

    constructor(IERC20 token_) {
        if (address(token_) == address(0)) revert ZeroAddress();
        token = token_;
    }

    /// @notice Deposits `amount` tokens (approved beforehand) into the caller's balance.
    function deposit(uint256 amount) external nonReentrant {
        _deposit(msg.sender, amount);
    }

    /// @notice Deposits `amount` of the caller's tokens into `user`'s balance.
    function depositFor(address user, uint256 amount) external nonReentrant {
        if (user == address(0)) revert ZeroAddress();
        _deposit(user, amount);
    }

    /// @notice Deposits with an EIP-2612 permit instead of a prior approval.
    /// @dev A permit that was already used (for example front-run from the mempool) is tolerated as long
    /// as the allowance is there, so a griefer cannot make the deposit fail.
    function depositWithPermit(uint256 amount, uint256 deadline, uint8 v, bytes32 r, bytes32 s)
        external
        nonReentrant
    {
        try IERC20Permit(address(token)).permit(msg.sender, address(this), amount, deadline, v, r, s) {}
            catch {}
        _deposit(msg.sender, amount);
    }

    /// @notice Withdraws from the caller's unallocated balance.
    function withdraw(uint256 amount, address to) external nonReentrant {
        if (amount == 0) revert ZeroAmount();
        if (to == address(0)) revert ZeroAddress();
        uint256 available = balanceOf[msg.sender];
        if (amount > available) revert InsufficientBalance(available, amount);
        balanceOf[msg.sender] = available - amount;
        emit Withdrawn(msg.sender, to, amount);
        _push(to, amount);
    }

    /// @notice Pays out everything the caller has earned.
    function claim(address to) external nonReentrant returns (uint256 amount) {
        if (to == address(0)) revert ZeroAddress();
        _checkClaim(to);
        amount = claimable[msg.sender];
        if (amount == 0) revert NothingToClaim();
        claimable[msg.sender] = 0;
        emit Claimed(msg.sender, to, amount);
        _push(to, amount);
    }

    /// @dev Refuses a claim the caller may not send to `to`.
    function _checkClaim(address to) internal view virtual;

    function _deposit(address user, uint256 amount) private {
        if (amount == 0) revert ZeroAmount();
        uint256 received = _pull(msg.sender, amount);
        balanceOf[user] += received;
        emit Deposited(msg.sender, user, received);
    }

    /// @dev Credits what actually arrived, so a token that takes a fee on transfer cannot make the
    /// books promise more than the contract holds.
    function _pull(address from, uint256 amount) internal returns (uint256 received) {
        uint256 before = token.balanceOf(address(this));
        token.safeTransferFrom(from, address(this), amount);
        received = token.balanceOf(address(this)) - before;
    }

    function _push(address to, uint256 amount) internal {
        token.safeTransfer(to, amount);
    }
}
