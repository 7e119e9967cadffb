// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

import {LibClone} from "solady/utils/LibClone.sol";
import {SafeTransferLib} from "solady/utils/SafeTransferLib.sol";
import {ISessionExecutor} from "./interfaces/ISessionExecutor.sol";

/// @title SessionExecutor
/// @notice See ISessionExecutor. Stateless: the manager is recognised by address arithmetic (this clone is the
/// CREATE2 clone of IMPLEMENTATION with salt 0 deployed by `msg.sender`), so a call costs no storage read.
contract SessionExecutor is ISessionExecutor {
    /*//////////////////////////////////////////////////////////////
                               CONSTANTS
    //////////////////////////////////////////////////////////////*/

    address internal constant NATIVE = 0xEeeeeEeeeEeEeeEeEeEeeEEEeeeeEeeeeeeeEEeE;

    /// @notice The implementation every executor clone delegates to.
    address public immutable IMPLEMENTATION;

    /*//////////////////////////////////////////////////////////////
                                STORAGE
    //////////////////////////////////////////////////////////////*/

    /// @dev Set only while a swap may send ETH back.
    bool internal transient _swapping;

    constructor() {
        IMPLEMENTATION = address(this);
    }

    /*//////////////////////////////////////////////////////////////
                               FUNCTIONS
    //////////////////////////////////////////////////////////////*/

    receive() external payable {
        if (!_swapping) revert UnexpectedETH(msg.sender);
    }

    /// @inheritdoc ISessionExecutor
    function run(address target, bytes calldata data) external payable {
        _onlyManager();
        (bool ok, bytes memory result) = target.call{value: msg.value}(data);
        /// @solidity memory-safe-assembly
        assembly {
            // hand the target's answer back untouched
            if iszero(ok) { revert(add(result, 0x20), mload(result)) }
            return(add(result, 0x20), mload(result))
        }
    }

    /// @inheritdoc ISessionExecutor
    function swap(address tokenIn, uint256 amountIn, address tokenOut, address target, bytes calldata data)
        external
        payable
    {
        _onlyManager();
        // what sat here before this swap (anyone may send tokens here) stays here, inert: only what the swap
        // changed goes back, so a donation can neither be swept into a session nor upset the manager's charge
        uint256 inBalance = _balance(tokenIn);
        uint256 handedIn = tokenIn == NATIVE ? msg.value : amountIn;
        uint256 inKept = inBalance > handedIn ? inBalance - handedIn : 0;
        uint256 outKept = _balance(tokenOut);
        // with retry: a token that refuses to change a non-zero allowance (USDT) is reset to zero first
        if (tokenIn != NATIVE) SafeTransferLib.safeApproveWithRetry(tokenIn, target, amountIn);
        _swapping = true;
        (bool ok, bytes memory result) = target.call{value: msg.value}(data);
        _swapping = false;
        if (!ok) {
            /// @solidity memory-safe-assembly
            assembly {
                revert(add(result, 0x20), mload(result))
            }
        }
        // no standing allowance survives the call
        if (tokenIn != NATIVE) SafeTransferLib.safeApprove(tokenIn, target, 0);
        // leftover input and all output go back to the escrow
        _sweep(tokenIn, inKept);
        _sweep(tokenOut, outKept);
    }

    /*//////////////////////////////////////////////////////////////
                               INTERNAL
    //////////////////////////////////////////////////////////////*/

    /// @dev Only the manager that deployed this clone.
    function _onlyManager() internal view {
        if (LibClone.predictDeterministicAddress(IMPLEMENTATION, bytes32(0), msg.sender) != address(this)) {
            revert NotManager(msg.sender);
        }
    }

    function _balance(address token) internal view returns (uint256) {
        return token == NATIVE ? address(this).balance : SafeTransferLib.balanceOf(token, address(this));
    }

    /// @dev Sends the manager what this executor holds of `token` beyond `kept`.
    function _sweep(address token, uint256 kept) internal {
        uint256 balance = _balance(token);
        if (balance <= kept) return;
        if (token == NATIVE) SafeTransferLib.safeTransferETH(msg.sender, balance - kept);
        else SafeTransferLib.safeTransfer(token, msg.sender, balance - kept);
    }
}
