// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

import {ERC20} from "@openzeppelin/contracts/token/ERC20/ERC20.sol";

/// @notice Test-only ERC-20 that reverts on zero-amount transfers (LEND style).
contract WeirdZeroRevertToken is ERC20 {
    error ZeroAmount();

    constructor() ERC20("Zero Revert Token", "ZRT") {}

    function mint(address to, uint256 amount) external {
        _mint(to, amount);
    }

    function _update(address from, address to, uint256 value) internal override {
        if (value == 0) revert ZeroAmount();
        super._update(from, to, value);
    }
}
