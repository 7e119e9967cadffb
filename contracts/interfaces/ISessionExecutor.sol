// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

/// @title ISessionExecutor
/// @notice The account a manager's sessions make their calls from. A session's call with calldata never
/// leaves the manager itself (which holds the escrow): it leaves this executor, which holds nothing between
/// transactions. So whatever a call makes the caller do (approve a spender, register an operator, ...) binds an
/// empty account, never the escrow. One executor per manager, an EIP-1167 clone the manager deploys with
/// CREATE2 (salt 0); it obeys only that manager.
interface ISessionExecutor {
    /// @notice `caller` is not the manager that deployed this executor.
    error NotManager(address caller);
    /// @notice ETH arrives only during a swap (leftover input or output); anything else would be stranded.
    error UnexpectedETH(address from);

    /// @notice Calls `target` with `data` and the ETH sent along; returns or reverts with the target's raw
    /// return data.
    function run(address target, bytes calldata data) external payable;

    /// @notice Approve-call-reset: approves `target` for `amountIn` of `tokenIn` (ETH arrives as value),
    /// calls it, resets the allowance to zero and sends back to the manager what the swap changed: its
    /// `tokenIn` balance beyond what it held before the amount arrived, its `tokenOut` balance beyond what it
    /// held before the call. Anything sent here from outside stays here, inert. Reverts with the target's raw
    /// revert data if the call fails.
    function swap(address tokenIn, uint256 amountIn, address tokenOut, address target, bytes calldata data)
        external
        payable;
}
