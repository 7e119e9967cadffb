// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

import {ISessionTypes} from "./ISessionTypes.sol";

/// @title ISessionManagerExtension
/// @notice The cold writes of a SessionManager: lifecycle (pause, resume, activate), draft editing, limit /
/// expiry / agent updates, funding, settlement, owner-wide switches and checkpoints. Served by
/// SessionManagerExtension through the manager's fallback (delegatecall), so it runs on the manager's own storage.
interface ISessionManagerExtension is ISessionTypes {
    /*//////////////////////////////////////////////////////////////
                                  OWNER-WIDE
    //////////////////////////////////////////////////////////////*/

    /// @notice Hands the manager to `newOwner`.
    function transferOwnership(address newOwner) external;

    /// @notice Emergency stop: no session of this manager can act until `unpauseAll`. O(1).
    function pauseAll() external;

    /// @notice Lifts `pauseAll`.
    function unpauseAll() external;

    /// @notice Revokes every existing session in one O(1) transaction. Their escrow is returned by `close`.
    function revokeAll() external;

    /*//////////////////////////////////////////////////////////////
                                  LIFECYCLE
    //////////////////////////////////////////////////////////////*/

    /// @notice Pauses session `id` (and so its descendants). Controller only.
    function pause(uint256 id) external;

    /// @notice Resumes a paused session. Controller only.
    function resume(uint256 id) external;

    /// @notice Anchors the agent's off-chain state root and task counter (never decreasing). Agent only.
    function checkpoint(uint256 id, bytes32 root, uint64 taskCount) external;

    /*//////////////////////////////////////////////////////////////
                                   EDITING
    //////////////////////////////////////////////////////////////*/

    /// @notice Moves a draft session to `Active`. Controller only.
    function activate(uint256 id) external;

    /// @notice Sets allowlist entries of a draft session (a child's must stay within its parent's).
    function setPermissions(uint256 id, Permission[] calldata permissions, bool allowed) external;

    /// @notice Sets whether a draft session may call any target.
    function setAnyTarget(uint256 id, bool allowed) external;

    /// @notice Attaches a guard to a draft session.
    function addGuard(uint256 id, address guard) external;

    /// @notice Sets the idle timeout, period length and call limit of a draft session.
    function updateTiming(uint256 id, uint32 maxIdle, uint32 period, uint16 maxCallsPerPeriod) external;

    /// @notice Sets the per-call cap and periodic allowance for `token`. Controller, any live status.
    function updateLimits(uint256 id, address token, uint128 perCallCap, uint128 periodAllowance) external;

    /// @notice Moves the expiry (a child's stays within its parent's). Controller, any live status.
    function updateExpiry(uint256 id, uint40 expiry) external;

    /// @notice Replaces the agent key; the old key stops working in the same block. Controller only.
    function rotateAgent(uint256 id, address newAgent) external;

    /*//////////////////////////////////////////////////////////////
                                  FUNDING
    //////////////////////////////////////////////////////////////*/

    /// @notice Adds `amount` of `token` to session `id`: for a root from the caller, a controller (send ETH as
    /// value), unless the root is paused or pause-all is on; for a child out of its parent's unspent escrow, by
    /// the parent's agent or a controller of the parent, only while the parent can act (active, not paused, no
    /// pause-all, not expired or idle, every ancestor active) and the child is not paused, within the parent's
    /// per-call cap and period allowance (like a spawn). Funding a child is one call of the parent: it counts
    /// toward the call limits of the parent and its ancestors and restarts the parent's idle clock.
    function fund(uint256 id, address token, uint256 amount) external payable;

    /*//////////////////////////////////////////////////////////////
                                  SETTLEMENT
    //////////////////////////////////////////////////////////////*/

    /// @notice Ends session `id` as done and settles it at once. Agent or controller.
    function complete(uint256 id) external;

    /// @notice Settles an ended session (revoked, completed, expired, revoked by revoke-all or under an ended
    /// ancestor): burns its token and returns its unspent escrow to its nearest unclosed ancestor, or for a
    /// root (or when every ancestor is closed) to the holder of the root token. Anyone may call it: the funds
    /// can only go to that fixed destination. ETH is always sent (forced); an ERC-20 that refuses the payment
    /// does not hold back the others: its amount becomes claimable by the payee (PayoutDeferred, `claim`).
    function close(uint256 id) external;

    /// @notice `close` for many sessions; skips ids already closed.
    function closeMany(uint256[] calldata ids) external;

    /// @notice Sends `to` everything of `token` owed to the caller: ERC-20 payouts the token refused at
    /// settlement (PayoutDeferred). A payee the token blocklists can name another address. Reverts with
    /// NothingToClaim when nothing is owed, and as a whole if the token still refuses (the claim stays).
    function claim(address token, address to) external returns (uint256 amount);

    /*//////////////////////////////////////////////////////////////
                          WALLET DOOR SETTINGS
    //////////////////////////////////////////////////////////////*/

    /// @notice Sets the most a relayer may be paid per signed execute of `id` (0, the default, allows no fee).
    /// A live controller of `id` only.
    function setMaxRelayFee(uint256 id, uint256 fee) external;

    /// @notice Adds the ETH sent to the caller's deposit.
    function deposit() external payable;

    /// @notice Sends `amount` of the caller's deposit to `to`.
    function withdraw(uint256 amount, address to) external;

    /// @notice Cancels the caller's nonces `mask` in word `wordPos` (nonces `wordPos * 256 + bit`).
    function invalidateNonces(uint256 wordPos, uint256 mask) external;
}
