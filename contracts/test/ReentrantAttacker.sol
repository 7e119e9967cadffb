// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

/// @notice Test-only attacker: when called (or sent ETH, or asked for a balance as a token) it replays a
/// stored call into `victim` and records whether that reentry succeeded and what it reverted with.
contract ReentrantAttacker {
    address public victim;
    bytes public payload;
    bool public attempted;
    bool public reentered;
    bytes public lastError;

    function arm(address victim_, bytes calldata payload_) external {
        victim = victim_;
        payload = payload_;
        attempted = false;
        reentered = false;
    }

    function _attack() internal {
        if (victim == address(0) || attempted) return;
        attempted = true;
        (bool ok, bytes memory ret) = victim.call(payload);
        reentered = ok;
        lastError = ret;
    }

    receive() external payable {
        _attack();
    }

    fallback() external payable {
        _attack();
    }

    /// @notice Acts like a guard or target function that tries to reenter.
    function hit() external payable {
        _attack();
    }
}
