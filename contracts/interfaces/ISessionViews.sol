// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

import {IERC5267} from "@openzeppelin/contracts/interfaces/IERC5267.sol";
import {ISessionTypes} from "./ISessionTypes.sol";

/// @title ISessionViews
/// @notice The reads of a SessionManager: preflight (`check`), effective status, budgets, the tree, listing,
/// owed payouts. Served by SessionViews through the manager's fallback (delegatecall, from the extension), so
/// they read the manager's own storage. Nothing here changes state. ERC-5267's `eip712Domain` is the domain the
/// wallet door's signatures are made in.
interface ISessionViews is ISessionTypes, IERC5267 {
    /*//////////////////////////////////////////////////////////////
                                  PREFLIGHT
    //////////////////////////////////////////////////////////////*/

    /// @notice Whether `caller` could `execute(id, target, value, data)` now, and if not the ABI-encoded
    /// custom error the call would revert with. Sends nothing.
    function check(uint256 id, address caller, address target, uint256 value, bytes calldata data)
        external
        view
        returns (bool ok, bytes memory reason);

    /// @notice Reverts with the error `execute` would hit; used by `check`.
    function preflight(uint256 id, address caller, address target, uint256 value, bytes calldata data)
        external
        view;

    /*//////////////////////////////////////////////////////////////
                                  SETTLEMENT
    //////////////////////////////////////////////////////////////*/

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

    /// @notice Manager-wide state: how many revoke-alls there were (the epoch) and the pause-all flag.
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

    /// @notice The budget of `token` for session `id`.
    function getBudget(uint256 id, address token) external view returns (BudgetInfo memory);

    /// @notice Guards attached to session `id`.
    function guardsOf(uint256 id) external view returns (address[] memory);

    /*//////////////////////////////////////////////////////////////
                              WALLET DOOR
    //////////////////////////////////////////////////////////////*/

    /// @notice The most a relayer may be paid per signed execute of `id` (ancestors' caps bind too).
    function maxRelayFee(uint256 id) external view returns (uint256);

    /// @notice ETH held for `account`, not allocated to any session.
    function depositOf(address account) external view returns (uint256);

    /// @notice Whether `signer` used or cancelled `nonce`.
    function nonceUsed(address signer, uint256 nonce) external view returns (bool);
}
