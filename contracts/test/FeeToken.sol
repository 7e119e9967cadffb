// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

import {ERC20} from "@openzeppelin/contracts/token/ERC20/ERC20.sol";

/// @notice Test-only ERC-20 whose transfers misbehave on demand: a fee (in basis points) is burned out of
/// every transfer between two accounts, so the recipient gets less than was sent; a `bonus` is minted to the
/// recipient on top, so its balance grows by more than was sent.
contract FeeToken is ERC20 {
    /// @notice Burned out of every transfer, in basis points of the amount (10_000 = everything).
    uint256 public feeBps;
    /// @notice Minted to the recipient of every transfer, on top of the amount.
    uint256 public bonus;

    constructor() ERC20("Fee Token", "FEE") {}

    function mint(address to, uint256 amount) external {
        _mint(to, amount);
    }

    function setFeeBps(uint256 feeBps_) external {
        require(feeBps_ <= 10_000, "fee");
        feeBps = feeBps_;
    }

    function setBonus(uint256 bonus_) external {
        bonus = bonus_;
    }

    function _update(address from, address to, uint256 value) internal override {
        if (from == address(0) || to == address(0)) {
            super._update(from, to, value);
            return;
        }
        uint256 fee = value * feeBps / 10_000;
        super._update(from, to, value - fee);
        if (fee != 0) super._update(from, address(0), fee);
        if (bonus != 0) super._update(address(0), to, bonus);
    }
}
