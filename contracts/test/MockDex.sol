// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

import {IERC20} from "@openzeppelin/contracts/token/ERC20/IERC20.sol";

/// @notice Test-only stand-in for a DEX: swaps at a fixed rate out of its own reserves. ETH is
/// 0xEeee...EEeE. `pullExtra` makes it try to take more than the swap amount (to test metering).
contract MockDex {
    address public constant NATIVE = 0xEeeeeEeeeEeEeeEeEeEeeEEEeeeeEeeeeeeeEEeE;

    /// @notice Output per unit of input, scaled by 1e18.
    uint256 public rate = 1e18;
    uint256 public pullExtra;

    event Swapped(address indexed from, address tokenIn, uint256 amountIn, address tokenOut, uint256 amountOut);

    receive() external payable {}

    function setRate(uint256 rate_) external {
        rate = rate_;
    }

    function setPullExtra(uint256 extra) external {
        pullExtra = extra;
    }

    /// @notice Takes `amountIn` of `tokenIn` from the caller (as value for ETH) and sends `amountIn * rate`
    /// of `tokenOut` to `recipient`.
    function swap(address tokenIn, uint256 amountIn, address tokenOut, address recipient)
        external
        payable
        returns (uint256 amountOut)
    {
        if (tokenIn == NATIVE) {
            require(msg.value == amountIn, "value");
        } else {
            IERC20(tokenIn).transferFrom(msg.sender, address(this), amountIn + pullExtra);
        }
        amountOut = amountIn * rate / 1e18;
        if (tokenOut == NATIVE) {
            (bool ok,) = recipient.call{value: amountOut}("");
            require(ok, "eth out");
        } else {
            IERC20(tokenOut).transfer(recipient, amountOut);
        }
        emit Swapped(msg.sender, tokenIn, amountIn, tokenOut, amountOut);
    }

    /// @notice Takes only half of the approved amount (leaves an allowance behind if nobody resets it).
    function swapHalf(address tokenIn, uint256 amountIn, address tokenOut, address recipient)
        external
        returns (uint256 amountOut)
    {
        IERC20(tokenIn).transferFrom(msg.sender, address(this), amountIn / 2);
        amountOut = (amountIn / 2) * rate / 1e18;
        IERC20(tokenOut).transfer(recipient, amountOut);
    }
}
