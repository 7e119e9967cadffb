// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

import {SafeTransferLib} from "solady/utils/SafeTransferLib.sol";
import {ISessionExecutor} from "./interfaces/ISessionExecutor.sol";
import {ISessionSwaps} from "./interfaces/ISessionSwaps.sol";
import {SessionDeployment} from "./SessionDeployment.sol";

/// @title SessionSwaps
/// @notice A session's metered swaps (ISessionSwaps), through the manager's executor. The factory deploys it beside
/// the manager's implementation; only meaningful through a manager's fallback (delegatecall), where it runs on the
/// manager's storage. Called directly, it sees an empty store of its own.
contract SessionSwaps is SessionDeployment, ISessionSwaps {
    constructor(address executorImplementation) SessionDeployment(executorImplementation) {}

    /// @inheritdoc ISessionSwaps
    function swap(
        uint256 id,
        address tokenIn,
        uint256 amountIn,
        address tokenOut,
        uint256 minAmountOut,
        address target,
        bytes calldata data
    ) external nonReentrant returns (uint256 spent, uint256 received) {
        // one token in, another out: the balance deltas must not overlap
        if (tokenIn == tokenOut) revert SameToken(tokenIn);
        // nothing in: it would only make the manager call an arbitrary `tokenIn` (as in transferToken)
        if (amountIn == 0) revert ZeroAmount();
        Core memory c = _authorize(id, msg.sender, 1);
        _checkTarget(id, c, target, _selectorOf(id, data), tokenIn, amountIn, data);
        // the proceeds join the session's escrow only in a token it has a budget row for (so do its ancestors:
        // a child's rows are a subset of its parent's), whose caps then bind them
        if (!_hasRow(id, c, tokenOut)) revert NoBudgetRow(id, tokenOut);
        // the approved amount must fit the budget and the caps of the session and its ancestors before anything moves
        _spendCheck(id, c, tokenIn, amountIn);
        if (c.depth != 0) _checkAncestorCaps(id, tokenIn, amountIn);
        uint256 inBefore = _balance(tokenIn);
        uint256 outBefore = _balance(tokenOut);
        _swapThroughExecutor(id, tokenIn, amountIn, inBefore, tokenOut, target, data);
        spent = inBefore - _balance(tokenIn);
        received = _balance(tokenOut) - outBefore;
        // charge what actually left, never more than approved
        if (spent > amountIn) revert SwapOverspent(id, tokenIn, amountIn, spent);
        if (received < minAmountOut) revert InsufficientOutput(id, tokenOut, received, minAmountOut);
        if (spent != 0) _spend(id, c, tokenIn, spent);
        // the proceeds stay in the session's escrow
        if (received != 0) _credit(id, tokenOut, received);
        emit Swapped(id, target, tokenIn, spent, tokenOut, received);
    }

    /// @dev Never reached: the manager answers `tokenURI` itself (through its renderer).
    function tokenURI(uint256) public pure override returns (string memory) {}

    /*//////////////////////////////////////////////////////////////
                                  INTERNAL
    //////////////////////////////////////////////////////////////*/

    function _balance(address token) internal view returns (uint256) {
        return token == NATIVE ? address(this).balance : SafeTransferLib.balanceOf(token, address(this));
    }

    /// @dev Hands `amountIn` to the executor, which approves, calls, resets and sends everything back; ETH
    /// may flow back to this manager only during that call. `inBefore` is this manager's `tokenIn` balance
    /// right before (read by the caller; nothing moved since).
    function _swapThroughExecutor(
        uint256 id,
        address tokenIn,
        uint256 amountIn,
        uint256 inBefore,
        address tokenOut,
        address target,
        bytes calldata data
    ) internal {
        address executor_ = _executor();
        uint256 value;
        if (tokenIn == NATIVE) {
            value = amountIn;
        } else {
            SafeTransferLib.safeTransfer(tokenIn, executor_, amountIn);
            uint256 moved = inBefore - SafeTransferLib.balanceOf(tokenIn, address(this));
            // the escrow must shrink by exactly what was handed over, else the charge would be misreported
            if (moved != amountIn) revert BalanceMismatch(tokenIn, amountIn, moved);
        }
        _acceptingETH = true;
        (bool ok, bytes memory result) = executor_.call{value: value}(
            abi.encodeCall(ISessionExecutor.swap, (tokenIn, amountIn, tokenOut, target, data))
        );
        _acceptingETH = false;
        if (!ok) revert CallFailed(id, target, result);
    }
}
