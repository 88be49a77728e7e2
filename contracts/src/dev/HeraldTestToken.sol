// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

import {ERC20} from "@openzeppelin/contracts/token/ERC20/ERC20.sol";
import {ERC20Permit} from "@openzeppelin/contracts/token/ERC20/extensions/ERC20Permit.sol";

/// @title HeraldTestToken
/// @notice An ERC-20 with EIP-2612 permit and open minting, for devnets and tests only.
contract HeraldTestToken is ERC20Permit {
    constructor() ERC20("Herald Test Token", "HTT") ERC20Permit("Herald Test Token") {}

    /// @notice Mints `amount` to `to`. Anyone may call: this token has no value.
    function mint(address to, uint256 amount) external {
        _mint(to, amount);
    }

    /// @notice Mints `count` times, `amount`, `amount + 1`, … to `to`: one transaction that emits
    /// `count` distinct Transfer events, which is what load tests and demos need from a chain.
    function mintBatch(address to, uint256 amount, uint256 count) external {
        for (uint256 i = 0; i < count; ++i) {
            _mint(to, amount + i);
        }
    }
}
