// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

import {SafeTransferLib} from "solady/utils/SafeTransferLib.sol";

/// @notice Test-only DEX like MockDex (fixed 1:1 rate out of its reserves, ETH is 0xEeee...EEeE), but it moves
/// tokens with Solady's SafeTransferLib, so tokens without return values work and `false` returns revert.
/// `swapExact` takes exactly what the caller holds approved (`amountIn`) and sends `amountOut` to `recipient`.
contract WeirdSafeDex {
    address public constant NATIVE = 0xEeeeeEeeeEeEeeEeEeEeeEEEeeeeEeeeeeeeEEeE;

    receive() external payable {}

    function swapExact(address tokenIn, uint256 amountIn, address tokenOut, uint256 amountOut, address recipient)
        external
        payable
    {
        if (tokenIn == NATIVE) require(msg.value == amountIn, "value");
        else SafeTransferLib.safeTransferFrom(tokenIn, msg.sender, address(this), amountIn);
        if (tokenOut == NATIVE) SafeTransferLib.safeTransferETH(recipient, amountOut);
        else SafeTransferLib.safeTransfer(tokenOut, recipient, amountOut);
    }
}
