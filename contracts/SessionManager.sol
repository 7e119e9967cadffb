// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

import {LibClone} from "solady/utils/LibClone.sol";
import {SafeTransferLib} from "solady/utils/SafeTransferLib.sol";
import {ISessionManager} from "./interfaces/ISessionManager.sol";
import {ISessionExecutor} from "./interfaces/ISessionExecutor.sol";
import {ISessionSignatures} from "./interfaces/ISessionSignatures.sol";
import {ISessionSwaps} from "./interfaces/ISessionSwaps.sol";
import {ISessionRenderer} from "./interfaces/ISessionRenderer.sol";
import {SessionActions} from "./SessionActions.sol";
import {SessionDeployment} from "./SessionDeployment.sol";

/// @title SessionManager
/// @notice One owner's escrow of agent sessions; see ISessionManager for the rules. Deployed once as the
/// implementation whose runtime code the SessionFactory copies for every manager. Calls it does not know (editing,
/// owner-wide switches, listing) fall through to EXTENSION by delegatecall, on this same storage: together
/// they answer IAgentSessions and each stays under the 24 KiB code limit.
contract SessionManager is SessionActions, SessionDeployment, ISessionManager {
    /// @notice Where unknown selectors are delegated (SessionManagerExtension).
    address public immutable EXTENSION;
    /// @notice Where signed executes are delegated (SessionSignatures; the extension's, read at construction).
    address public immutable SIGNATURES;
    /// @notice Where swaps are delegated (SessionSwaps, deployed by the factory).
    address public immutable SWAPS;
    /// @notice The SessionExecutor every manager clones (salt 0) to make its sessions' calls from.
    address public immutable EXECUTOR_IMPLEMENTATION;
    /// @notice Where `tokenURI` is rendered (SessionRenderer).
    address public immutable RENDERER;

    /*//////////////////////////////////////////////////////////////
                              CONSTRUCTION
    //////////////////////////////////////////////////////////////*/

    constructor(address extension, address signatures, address swaps, address executorImplementation, address renderer)
        SessionDeployment(executorImplementation)
    {
        EXTENSION = extension;
        SIGNATURES = signatures;
        SWAPS = swaps;
        EXECUTOR_IMPLEMENTATION = executorImplementation;
        RENDERER = renderer;
    }

    /// @inheritdoc ISessionManager
    function initialize(address owner_) external {
        // only the factory, right after cloning
        if (msg.sender != _FACTORY) revert NotFactory(msg.sender);
        // once
        if (_owner != address(0)) revert AlreadyInitialized();
        _owner = owner_;
        // the account this manager's sessions call from (see ISessionExecutor)
        LibClone.cloneDeterministic(EXECUTOR_IMPLEMENTATION, bytes32(0));
        emit OwnershipTransferred(address(0), owner_);
    }

    /// @dev Accepts ETH only as the output of a metered swap; anything else would be unaccounted.
    receive() external payable {
        if (!_acceptingETH) revert UnexpectedETH(msg.sender);
    }

    /// @dev A signed execute goes straight to SIGNATURES (the relayers' hot path: one hop), a swap to SWAPS;
    /// everything else to the extension (ISessionManagerExtension; it passes reads and the other signed entry points
    /// on), run on this storage. Payable so `fund` and `deposit` can take ETH; the modules' non-payable functions
    /// refuse value.
    fallback() external payable {
        bytes4 s = msg.sig;
        address module = s == ISessionSignatures.executeWithSig.selector
            ? SIGNATURES
            : s == ISessionSwaps.swap.selector ? SWAPS : EXTENSION;
        /// @solidity memory-safe-assembly
        assembly {
            calldatacopy(0, 0, calldatasize())
            let ok := delegatecall(gas(), module, 0, calldatasize(), 0, 0)
            returndatacopy(0, 0, returndatasize())
            if iszero(ok) { revert(0, returndatasize()) }
            return(0, returndatasize())
        }
    }

    /// @notice On-chain JSON metadata, rendered from this manager's views by the renderer.
    function tokenURI(uint256 id) public view override returns (string memory) {
        return ISessionRenderer(RENDERER).tokenURI(address(this), id);
    }

    /*//////////////////////////////////////////////////////////////
                                   CREATION
    //////////////////////////////////////////////////////////////*/

    /// @inheritdoc ISessionManager
    function createSession(SessionParams calldata params) external payable nonReentrant returns (uint256 id) {
        _requireOwner();
        uint256 eth;
        (id, eth) = _openRoot(params, msg.sender);
        // the ETH sent must be exactly the ETH budget
        if (eth != msg.value) revert ValueMismatch(eth, msg.value);
    }

    /// @inheritdoc ISessionManager
    function createSessions(SessionParams[] calldata params) external payable nonReentrant returns (uint256 firstId) {
        _requireOwner();
        uint256 eth;
        (firstId, eth) = _openRoots(params, msg.sender);
        // the ETH sent must be exactly the sum of the ETH budgets
        if (eth != msg.value) revert ValueMismatch(eth, msg.value);
    }

    /// @inheritdoc ISessionManager
    function spawnChild(uint256 parentId, SessionParams calldata params) external nonReentrant returns (uint256 id) {
        return _openChild(parentId, params, msg.sender);
    }

    /// @inheritdoc ISessionManager
    function spawnChildren(uint256 parentId, SessionParams[] calldata params)
        external
        nonReentrant
        returns (uint256 firstId)
    {
        return _openChildren(parentId, params, msg.sender);
    }

    /*//////////////////////////////////////////////////////////////
                                  LIFECYCLE
    //////////////////////////////////////////////////////////////*/

    /// @inheritdoc ISessionManager
    /// @dev O(1): descendants fail the ancestor check from this block on. No loop, no transfer. Guarded like
    /// every entry point, so a batch in flight cannot see its session change under it.
    function revoke(uint256 id) external nonReentrant {
        // a storage pointer touches only the status byte: cheaper than copying the whole core
        Core storage c = _core[id];
        Status status = c.status;
        if (status == Status.None) revert SessionNotFound(id);
        // only a controller revokes
        if (!_isController(id, msg.sender)) revert NotController(id, msg.sender);
        // an ended session stays as it ended
        if (uint8(status) >= uint8(Status.Completed)) revert SessionEnded(id, status);
        // an expired one too (expiry shares the word just read; the idle clock is read only if one is set)
        if (block.timestamp >= c.expiry || (c.flags & _F_IDLE != 0 && _timedOut(id, c))) {
            revert SessionEnded(id, Status.Expired);
        }
        c.status = Status.Revoked;
        emit SessionRevoked(id, msg.sender);
    }

    /*//////////////////////////////////////////////////////////////
                                    ACTING
    //////////////////////////////////////////////////////////////*/

    /// @inheritdoc ISessionManager
    function execute(uint256 id, address target, uint256 value, bytes calldata data)
        external
        nonReentrant
        returns (bytes memory result)
    {
        return _execute(id, msg.sender, target, value, data);
    }

    /// @inheritdoc ISessionManager
    function executeBatch(uint256 id, Call[] calldata calls) external nonReentrant returns (bytes[] memory results) {
        return _executeBatch(id, msg.sender, calls);
    }

    /// @inheritdoc ISessionManager
    function transferToken(uint256 id, address token, address to, uint256 amount) external nonReentrant {
        // a zero payment would only make the manager call an arbitrary `token`
        if (amount == 0) revert ZeroAmount();
        Core memory c = _authorize(id, msg.sender, 1);
        // the recipient is a payee: it must be allowed like a plain transfer
        _checkTarget(id, c, to, bytes4(0), token, amount, msg.data[:0]);
        _spend(id, c, token, amount);
        if (token == NATIVE) {
            SafeTransferLib.safeTransferETH(to, amount);
        } else {
            uint256 before = SafeTransferLib.balanceOf(token, address(this));
            SafeTransferLib.safeTransfer(token, to, amount);
            uint256 moved = before - SafeTransferLib.balanceOf(token, address(this));
            // the escrow must shrink by exactly what was charged
            if (moved != amount) revert BalanceMismatch(token, amount, moved);
        }
        emit TokenTransferred(id, token, to, amount);
    }

    /*//////////////////////////////////////////////////////////////
                                    VIEWS
    //////////////////////////////////////////////////////////////*/

    /// @inheritdoc ISessionManager
    function owner() external view returns (address) {
        return _owner;
    }

    /// @inheritdoc ISessionManager
    function FACTORY() external view returns (address) {
        return _FACTORY;
    }

    /// @inheritdoc ISessionManager
    function executor() external view returns (address) {
        return _executor();
    }
}
