// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

import {ISessionTypes} from "./ISessionTypes.sol";

/// @title ISessionManagerExtension
/// @notice The cold half of a SessionManager: draft editing, limit/expiry/agent updates, owner-wide switches,
/// listing views and token metadata. Served by SessionManagerExtension through the manager's fallback
/// (delegatecall), so it runs on the manager's own storage.
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

    /// @notice Settles an ended session (revoked, completed, expired, revoked by epoch or under an ended
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

    /// @notice What `payee` can `claim` of `token`.
    function owed(address payee, address token) external view returns (uint256);

    /// @notice What the manager owes in `token` to all payees together: its balance of `token` is the
    /// sessions' unspent escrow plus this.
    function totalOwed(address token) external view returns (uint256);

    /*//////////////////////////////////////////////////////////////
                                    STATE
    //////////////////////////////////////////////////////////////*/

    /// @notice Effective status of session `id`.
    function statusOf(uint256 id) external view returns (Status);

    /// @notice Unspent escrow of `token` held for session `id` itself.
    function remaining(uint256 id, address token) external view returns (uint256);

    /// @notice Whether `account` controls session `id` (holds it or controls an ancestor).
    function isController(uint256 id, address account) external view returns (bool);

    /// @notice Whether `target`/`selector` is on the allowlist of session `id` (exact or ANY_SELECTOR).
    function isAllowed(uint256 id, address target, bytes4 selector) external view returns (bool);

    /// @notice Whether the manager has ever escrowed `token` (such tokens are forbidden targets).
    function isEscrowToken(address token) external view returns (bool);

    /// @notice Manager-wide state: revoke-all epoch and pause-all flag.
    function globalState() external view returns (uint32 epoch, bool pausedAll);

    /// @notice Number of sessions ever created; ids run from 1 to this.
    function sessionCount() external view returns (uint256);

    /*//////////////////////////////////////////////////////////////
                                    VIEWS
    //////////////////////////////////////////////////////////////*/

    /// @notice Everything about session `id`.
    function getSession(uint256 id) external view returns (SessionInfo memory);

    /// @notice `getSession` for many ids.
    function getSessions(uint256[] calldata ids) external view returns (SessionInfo[] memory);

    /// @notice Up to `limit` sessions with ids from `fromId` upwards.
    function listSessions(uint256 fromId, uint256 limit) external view returns (SessionInfo[] memory);

    /// @notice A compact page for fast listing: 128 bytes per session from `fromId` (at most `limit`):
    /// word 0 = agent [0..159] | expiry [160..199] | effective status [200..207] | flags [208..215] |
    /// depth [216..223] | epoch [224..255]; word 1 = holder [0..159] | parent id [160..255];
    /// word 2 = ETH available [0..127] | ETH spent [128..255]; word 3 = label.
    /// Flags: 1 any target, 2 guards, 4 timing, 8 ETH caps, 16 closed, 32 an ancestor has guards, 64 an
    /// ancestor limits calls, 128 an idle timeout.
    function listSessionsPacked(uint256 fromId, uint256 limit) external view returns (bytes memory);

    /// @notice The budget of `token` for session `id`.
    function getBudget(uint256 id, address token) external view returns (BudgetInfo memory);

    /// @notice Guards attached to session `id`.
    function guardsOf(uint256 id) external view returns (address[] memory);
}
