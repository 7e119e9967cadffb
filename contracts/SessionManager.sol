// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

import {LibClone} from "solady/utils/LibClone.sol";
import {SafeTransferLib} from "solady/utils/SafeTransferLib.sol";
import {ISessionManager} from "./interfaces/ISessionManager.sol";
import {ISessionExecutor} from "./interfaces/ISessionExecutor.sol";
import {ISessionSignatures} from "./interfaces/ISessionSignatures.sol";
import {ISessionRenderer} from "./interfaces/ISessionRenderer.sol";
import {SessionActions} from "./SessionActions.sol";

/// @title SessionManager
/// @notice One owner's escrow of agent sessions; see ISessionManager for the rules. Deployed once as the
/// implementation whose runtime code the SessionFactory copies for every manager. Calls it does not know (editing,
/// owner-wide switches, listing) fall through to EXTENSION by delegatecall, on this same storage: together
/// they answer IAgentSessions and each stays under the 24 KiB code limit.
contract SessionManager is SessionActions, ISessionManager {
    /// @notice The factory that deploys the managers (forbidden as a target, sole caller of `initialize`).
    address public immutable FACTORY;
    /// @notice Where unknown selectors are delegated (SessionManagerExtension).
    address public immutable EXTENSION;
    /// @notice Where signed executes are delegated (SessionSignatures; the extension's, read at construction).
    address public immutable SIGNATURES;
    /// @notice The SessionExecutor every manager clones (salt 0) to make its sessions' calls from.
    address public immutable EXECUTOR_IMPLEMENTATION;
    /// @notice Where `tokenURI` is rendered (SessionRenderer).
    address public immutable RENDERER;
    /// @dev Init code hash of the executor clone, so finding this manager's executor costs one hash.
    bytes32 internal immutable _EXECUTOR_INIT_CODE_HASH;

    /*//////////////////////////////////////////////////////////////
                              CONSTRUCTION
    //////////////////////////////////////////////////////////////*/

    constructor(address extension, address signatures, address executorImplementation, address renderer) {
        FACTORY = msg.sender;
        EXTENSION = extension;
        SIGNATURES = signatures;
        EXECUTOR_IMPLEMENTATION = executorImplementation;
        RENDERER = renderer;
        _EXECUTOR_INIT_CODE_HASH = LibClone.initCodeHash(executorImplementation);
    }

    /// @inheritdoc ISessionManager
    function initialize(address owner_) external {
        // only the factory, right after cloning
        if (msg.sender != FACTORY) revert NotFactory(msg.sender);
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

    /// @dev A signed execute goes straight to SIGNATURES (the relayers' hot path: one hop); everything else to the
    /// extension (ISessionManagerExtension; it passes reads and the other signed entry points on), run on this
    /// storage. Payable so `fund` and `deposit` can take ETH; the modules' non-payable functions refuse value.
    fallback() external payable {
        address module = msg.sig == ISessionSignatures.executeWithSig.selector ? SIGNATURES : EXTENSION;
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

    /// @inheritdoc ISessionManager
    function swap(
        uint256 id,
        address tokenIn,
        uint256 amountIn,
        address tokenOut,
        uint256 minAmountOut,
        address target,
        bytes calldata data
    ) external nonReentrant returns (uint256 spent, uint256 received) {
        // one token in, another out: the balance deltas must not overlap
        if (tokenIn == tokenOut) revert SameToken(tokenIn);
        // nothing in: it would only make the manager call an arbitrary `tokenIn` (as in transferToken)
        if (amountIn == 0) revert ZeroAmount();
        Core memory c = _authorize(id, msg.sender, 1);
        _checkTarget(id, c, target, _selectorOf(id, data), tokenIn, amountIn, data);
        // the proceeds join the session's escrow only in a token it has a budget row for (so do its ancestors:
        // a child's rows are a subset of its parent's), whose caps then bind them
        if (!_hasRow(id, c, tokenOut)) revert NoBudgetRow(id, tokenOut);
        // the approved amount must fit the budget and the caps of the session and its ancestors before anything moves
        _spendCheck(id, c, tokenIn, amountIn);
        if (c.depth != 0) _checkAncestorCaps(id, tokenIn, amountIn);
        uint256 inBefore = _balance(tokenIn);
        uint256 outBefore = _balance(tokenOut);
        _swapThroughExecutor(id, tokenIn, amountIn, inBefore, tokenOut, target, data);
        spent = inBefore - _balance(tokenIn);
        received = _balance(tokenOut) - outBefore;
        // charge what actually left, never more than approved
        if (spent > amountIn) revert SwapOverspent(id, tokenIn, amountIn, spent);
        if (received < minAmountOut) revert InsufficientOutput(id, tokenOut, received, minAmountOut);
        if (spent != 0) _spend(id, c, tokenIn, spent);
        // the proceeds stay in the session's escrow
        if (received != 0) _credit(id, tokenOut, received);
        emit Swapped(id, target, tokenIn, spent, tokenOut, received);
    }

    /*//////////////////////////////////////////////////////////////
                                    VIEWS
    //////////////////////////////////////////////////////////////*/

    /// @inheritdoc ISessionManager
    function owner() external view returns (address) {
        return _owner;
    }

    /// @inheritdoc ISessionManager
    function executor() external view returns (address) {
        return _executor();
    }

    /*//////////////////////////////////////////////////////////////
                              INTERNAL: CREATION
    //////////////////////////////////////////////////////////////*/

    /*//////////////////////////////////////////////////////////////
                               INTERNAL: ESCROW
    //////////////////////////////////////////////////////////////*/

    function _balance(address token) internal view returns (uint256) {
        return token == NATIVE ? address(this).balance : SafeTransferLib.balanceOf(token, address(this));
    }

    /*//////////////////////////////////////////////////////////////
                               INTERNAL: ACTING
    //////////////////////////////////////////////////////////////*/

    /// @dev Hands `amountIn` to the executor, which approves, calls, resets and sends everything back; ETH
    /// may flow back to this manager only during that call. `inBefore` is this manager's `tokenIn` balance
    /// right before (read by the caller; nothing moved since).
    function _swapThroughExecutor(
        uint256 id,
        address tokenIn,
        uint256 amountIn,
        uint256 inBefore,
        address tokenOut,
        address target,
        bytes calldata data
    ) internal {
        address executor_ = _executor();
        uint256 value;
        if (tokenIn == NATIVE) {
            value = amountIn;
        } else {
            SafeTransferLib.safeTransfer(tokenIn, executor_, amountIn);
            uint256 moved = inBefore - SafeTransferLib.balanceOf(tokenIn, address(this));
            // the escrow must shrink by exactly what was handed over, else the charge would be misreported
            if (moved != amountIn) revert BalanceMismatch(tokenIn, amountIn, moved);
        }
        _acceptingETH = true;
        (bool ok, bytes memory result) = executor_.call{value: value}(
            abi.encodeCall(ISessionExecutor.swap, (tokenIn, amountIn, tokenOut, target, data))
        );
        _acceptingETH = false;
        if (!ok) revert CallFailed(id, target, result);
    }

    function _factory() internal view override returns (address) {
        return FACTORY;
    }

    /// @dev This manager's executor: the CREATE2 clone it deployed in `initialize`.
    function _executor() internal view override returns (address) {
        return LibClone.predictDeterministicAddress(_EXECUTOR_INIT_CODE_HASH, bytes32(0), address(this));
    }
}
