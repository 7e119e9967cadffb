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
        // nothing stays here: leftover input and all output go back to the escrow
        _sweep(tokenIn);
        _sweep(tokenOut);
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

    function _sweep(address token) internal {
        if (token == NATIVE) {
            uint256 balance = address(this).balance;
            if (balance != 0) SafeTransferLib.safeTransferETH(msg.sender, balance);
        } else {
            uint256 balance = SafeTransferLib.balanceOf(token, address(this));
            if (balance != 0) SafeTransferLib.safeTransfer(token, msg.sender, balance);
        }
    }
}
