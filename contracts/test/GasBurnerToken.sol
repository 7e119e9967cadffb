// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

import {ERC20} from "@openzeppelin/contracts/token/ERC20/ERC20.sol";

/// @notice Test-only ERC-20 that, while `burning` is on, burns every unit of gas a transfer is given (INVALID),
/// like a malicious or broken token would. Models the payout that swallows the gas a settlement forwards to it.
contract GasBurnerToken is ERC20 {
    bool public burning;

    constructor(string memory name_, string memory symbol_) ERC20(name_, symbol_) {}

    function mint(address to, uint256 amount) external {
        _mint(to, amount);
    }

    function setBurning(bool burning_) external {
        burning = burning_;
    }

    function _update(address from, address to, uint256 value) internal override {
        if (burning && from != address(0) && to != address(0)) {
            /// @solidity memory-safe-assembly
            assembly {
                invalid()
            }
        }
        super._update(from, to, value);
    }
}
