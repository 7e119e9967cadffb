// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

/// @title ISessionGuard
/// @notice An external check attached to a session while it is a draft; asked before every call the session
/// (or any of its descendants) makes. Returning `false` or reverting refuses the call; the manager reports
/// the refusal as `GuardRejected(id, guard, reason)` with the guard's own revert data.
interface ISessionGuard {
    /// @param manager The SessionManager asking.
    /// @param id The session acting (the guard may belong to one of its ancestors).
    /// @param agent The agent key sending the call.
    /// @param target The contract called, or the recipient of a payment.
    /// @param token The token moved (NATIVE for ETH), or zero when nothing is moved.
    /// @param amount The amount of `token` moved.
    /// @param data The calldata (empty for a plain payment).
    function checkCall(
        address manager,
        uint256 id,
        address agent,
        address target,
        address token,
        uint256 amount,
        bytes calldata data
    ) external view returns (bool);
}
