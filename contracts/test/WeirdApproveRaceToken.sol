// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

import {ERC20} from "@openzeppelin/contracts/token/ERC20/ERC20.sol";

/// @notice Test-only ERC-20 with USDT's approve race protection: changing a non-zero allowance to another
/// non-zero value reverts; it must be set to 0 first.
contract WeirdApproveRaceToken is ERC20 {
    error ApproveFromNonZero(address owner, address spender, uint256 current);

    constructor() ERC20("Approve Race Token", "ART") {}

    function mint(address to, uint256 amount) external {
        _mint(to, amount);
    }

    function approve(address spender, uint256 value) public override returns (bool) {
        uint256 current = allowance(msg.sender, spender);
        if (value != 0 && current != 0) revert ApproveFromNonZero(msg.sender, spender, current);
        return super.approve(spender, value);
    }
}
