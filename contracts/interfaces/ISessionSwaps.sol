// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

import {ISessionTypes} from "./ISessionTypes.sol";

/// @title ISessionSwaps
/// @notice Metered swaps of a session: served by SessionSwaps, which every manager runs by delegatecall on its own
/// storage (the manager's fallback routes `swap` there).
interface ISessionSwaps is ISessionTypes {
    /// @notice Approve-call-reset for DEX-like calls, made from `executor()`: the manager hands it `amountIn` of
    /// `tokenIn` (ETH as value), it approves `target`, calls it, resets the allowance to zero and returns every
    /// unit of `tokenIn`/`tokenOut` it holds. The session is charged the actual decrease of `tokenIn` (against its
    /// own and every ancestor's caps) and credited the increase of `tokenOut`. Agent only. `tokenOut` must be a
    /// token the session has a budget row for (ETH included), else NoBudgetRow: an agent cannot bring a token of
    /// its own choosing into the escrow, nor one no cap of its tree applies to. Handing `amountIn` of an ERC-20
    /// `tokenIn` to the executor must lower the manager's balance by exactly `amountIn`, else BalanceMismatch. A
    /// zero `amountIn` is refused (ZeroAmount).
    function swap(
        uint256 id,
        address tokenIn,
        uint256 amountIn,
        address tokenOut,
        uint256 minAmountOut,
        address target,
        bytes calldata data
    ) external returns (uint256 spent, uint256 received);
}
