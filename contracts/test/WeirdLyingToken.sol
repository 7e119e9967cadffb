// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

import {ERC20} from "@openzeppelin/contracts/token/ERC20/ERC20.sol";

/// @notice Test-only ERC-20 whose `balanceOf` lies: it reports `real * mulBps / 10_000 + offset` (honest with
/// mulBps = 10_000 and offset = 0). Transfers move real balances; `realBalanceOf` tells the truth.
contract WeirdLyingToken is ERC20 {
    uint256 public mulBps = 10_000;
    uint256 public offset;

    constructor() ERC20("Lying Token", "LIE") {}

    function mint(address to, uint256 amount) external {
        _mint(to, amount);
    }

    function setLie(uint256 mulBps_, uint256 offset_) external {
        mulBps = mulBps_;
        offset = offset_;
    }

    function balanceOf(address account) public view override returns (uint256) {
        return super.balanceOf(account) * mulBps / 10_000 + offset;
    }

    function realBalanceOf(address account) external view returns (uint256) {
        return super.balanceOf(account);
    }
}
