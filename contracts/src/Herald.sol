// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

import {HeraldConfig} from "./modules/HeraldConfig.sol";
import {HeraldEscrow} from "./modules/HeraldEscrow.sol";
import {HeraldSettlement} from "./modules/HeraldSettlement.sol";
import {IERC20} from "@openzeppelin/contracts/token/ERC20/IERC20.sol";
import {EIP712} from "@openzeppelin/contracts/utils/cryptography/EIP712.sol";

/// @title Herald
/// @notice Escrow, registry and settlement of the Herald event-to-action network, as one contract:
/// settlement debits trigger budgets and credits rewards with internal calls only, and the token sits
/// in one place, which keeps both the gas per receipt and the conservation argument simple. The
/// constructor also creates the fraud-proof contract, `challenges` (see HeraldSettlement), which lives
/// apart to keep this one under the code-size limit.
contract Herald is HeraldSettlement {
    /// @param admin Default admin (two-step, delayed transfer) and first holder of PARAMS_ROLE.
    /// @param initialParams Checked against the same bounds as `proposeParams`; emitted as `ParamsApplied`.
    constructor(
        IERC20 token_,
        address admin,
        address treasury_,
        Params memory initialParams,
        uint96 initialSlashAmount
    )
        HeraldConfig(admin, treasury_, initialParams, initialSlashAmount)
        HeraldEscrow(token_)
        EIP712("Herald", "1")
    {}
}
