// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

import {ISessionTypes} from "./ISessionTypes.sol";

/// @title ISessionManager
/// @notice One owner's escrow of agent sessions. A session hands an agent key a bounded, revocable slice of
/// authority: budgets per token (total, per call, per period), a call-count limit per period, an expiry, an
/// idle timeout, the targets and selectors it may call, and optional guard contracts. Every session is an
/// ERC-721 token of this manager (token id = session id); whoever holds it controls the session, and the
/// controllers of a session's parent control it too.
///
/// Lifecycle: `Draft` (editable, cannot act) -> `Active` <-> `Paused` -> `Completed` | `Revoked`. `Expired` is
/// derived from time. A session also stops acting when any ancestor ends, after `revokeAll` (every id handed out so far) and
/// while `pauseAll` is on. Ending a session is O(1); settling it (`close`) burns its token and returns its
/// unspent escrow: a child's to its nearest unclosed ancestor, a root's to the holder of its token.
/// `complete` ends and settles in one call.
/// This interface holds the hot paths (creation, acting, revoke). The cold writes live in
/// ISessionManagerExtension, swaps in ISessionSwaps and the reads in ISessionViews, reached through the manager's
/// fallback; IAgentSessions is the whole surface.
interface ISessionManager is ISessionTypes {
    /*//////////////////////////////////////////////////////////////
                                   CREATION
    //////////////////////////////////////////////////////////////*/

    /// @notice Opens a root session funded by the caller (`msg.value` for ETH, `transferFrom` for ERC-20).
    /// The token is minted to the caller. Only the manager owner.
    function createSession(SessionParams calldata params) external payable returns (uint256 id);

    /// @notice Opens many root sessions; `msg.value` must equal the sum of their ETH budgets.
    function createSessions(SessionParams[] calldata params) external payable returns (uint256 firstId);

    /// @notice Opens a child of `parentId`, its budgets reserved out of the parent's unspent escrow (only in
    /// tokens the parent has a budget row for, else NoBudgetRow). Called by the parent's agent or a controller
    /// of the parent; the child's token goes to the caller. A reservation only sets money aside: every spend of
    /// the child is checked against and charged to the per-call cap, period allowance and call limit of the
    /// child and of every ancestor when it happens, so no agent sheds its limits through a child.
    function spawnChild(uint256 parentId, SessionParams calldata params) external returns (uint256 id);

    /// @notice Opens many children of `parentId` in one transaction.
    function spawnChildren(uint256 parentId, SessionParams[] calldata params) external returns (uint256 firstId);

    /*//////////////////////////////////////////////////////////////
                                  LIFECYCLE
    //////////////////////////////////////////////////////////////*/

    /// @notice Ends session `id` and, through the ancestor check, its whole subtree. O(1), controller only.
    /// The escrow stays until `close`.
    function revoke(uint256 id) external;

    /*//////////////////////////////////////////////////////////////
                                    ACTING
    //////////////////////////////////////////////////////////////*/

    /// @notice Calls `target` with `value` wei and `data` on behalf of session `id`. Agent only. A plain
    /// transfer (empty `data`) is sent by the manager; a call with calldata is made from `executor()`.
    function execute(uint256 id, address target, uint256 value, bytes calldata data)
        external
        returns (bytes memory result);

    /// @notice Executes `calls` in order; any failure reverts the whole batch. Agent only.
    function executeBatch(uint256 id, Call[] calldata calls) external returns (bytes[] memory results);

    /// @notice Pays `amount` of ERC-20 `token` from the session's escrow to `to` (metered). Agent only.
    function transferToken(uint256 id, address token, address to, uint256 amount) external;

    /*//////////////////////////////////////////////////////////////
                                    VIEWS
    //////////////////////////////////////////////////////////////*/

    /// @notice Sets the owner of a fresh manager. Only the factory, once.
    function initialize(address owner_) external;

    /// @notice The owner of this manager: creates root sessions, pauses or revokes everything.
    function owner() external view returns (address);

    /// @notice The factory that deployed this manager (never a valid call target).
    function FACTORY() external view returns (address);

    /// @notice The account this manager's sessions make calls with calldata from (see ISessionExecutor).
    function executor() external view returns (address);

    /// @notice The contract that renders `tokenURI` (see ISessionRenderer).
    function RENDERER() external view returns (address);

}
