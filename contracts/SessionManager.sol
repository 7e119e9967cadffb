// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

import {LibClone} from "solady/utils/LibClone.sol";
import {SafeTransferLib} from "solady/utils/SafeTransferLib.sol";
import {ISessionManager} from "./interfaces/ISessionManager.sol";
import {ISessionExecutor} from "./interfaces/ISessionExecutor.sol";
import {ISessionRenderer} from "./interfaces/ISessionRenderer.sol";
import {SessionStore} from "./SessionStore.sol";

/// @title SessionManager
/// @notice One owner's escrow of agent sessions; see ISessionManager for the rules. Deployed once as the
/// implementation behind every EIP-1167 clone the SessionFactory makes. Calls it does not know (editing,
/// owner-wide switches, listing) fall through to EXTENSION by delegatecall, on this same storage: together
/// they answer IAgentSessions and each stays under the 24 KiB code limit.
contract SessionManager is SessionStore, ISessionManager {
    /// @notice The factory that deploys the clones (forbidden as a target, sole caller of `initialize`).
    address public immutable FACTORY;
    /// @notice Where unknown selectors are delegated (SessionManagerExtension).
    address public immutable EXTENSION;
    /// @notice The SessionExecutor every manager clones (salt 0) to make its sessions' calls from.
    address public immutable EXECUTOR_IMPLEMENTATION;
    /// @notice Where `tokenURI` is rendered (SessionRenderer).
    address public immutable RENDERER;
    /// @dev Init code hash of the executor clone, so finding this manager's executor costs one hash.
    bytes32 internal immutable _EXECUTOR_INIT_CODE_HASH;

    /*//////////////////////////////////////////////////////////////
                              CONSTRUCTION
    //////////////////////////////////////////////////////////////*/

    constructor(address extension, address executorImplementation, address renderer) {
        FACTORY = msg.sender;
        EXTENSION = extension;
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

    /// @dev Everything else is the extension's (ISessionManagerExtension), run on this storage. Payable so
    /// `fund` can take ETH; the extension's own non-payable functions still refuse value.
    fallback() external payable {
        address extension = EXTENSION;
        /// @solidity memory-safe-assembly
        assembly {
            calldatacopy(0, 0, calldatasize())
            let ok := delegatecall(gas(), extension, 0, calldatasize(), 0, 0)
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
        uint24 epoch;
        (id, epoch) = _reserveIds(1);
        uint256 eth = _open(id, 0, Core(address(0), 0, Status.None, 0, 0, 0), params, epoch);
        // the ETH sent must be exactly the ETH budget
        if (eth != msg.value) revert ValueMismatch(eth, msg.value);
    }

    /// @inheritdoc ISessionManager
    function createSessions(SessionParams[] calldata params)
        external
        payable
        nonReentrant
        returns (uint256 firstId)
    {
        _requireOwner();
        uint24 epoch;
        (firstId, epoch) = _reserveIds(params.length);
        Core memory none;
        uint256 eth;
        for (uint256 i; i < params.length; ++i) {
            eth += _open(firstId + i, 0, none, params[i], epoch);
        }
        // the ETH sent must be exactly the sum of the ETH budgets
        if (eth != msg.value) revert ValueMismatch(eth, msg.value);
    }

    /// @inheritdoc ISessionManager
    function spawnChild(uint256 parentId, SessionParams calldata params)
        external
        nonReentrant
        returns (uint256 id)
    {
        (Core memory parent, uint24 epoch) = _requireSpawner(parentId);
        (id,) = _reserveIds(1);
        _open(id, parentId, parent, params, epoch);
    }

    /// @inheritdoc ISessionManager
    function spawnChildren(uint256 parentId, SessionParams[] calldata params)
        external
        nonReentrant
        returns (uint256 firstId)
    {
        (Core memory parent, uint24 epoch) = _requireSpawner(parentId);
        (firstId,) = _reserveIds(params.length);
        for (uint256 i; i < params.length; ++i) {
            _open(firstId + i, parentId, parent, params[i], epoch);
        }
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
        Core memory c = _authorize(id, 1);
        bytes4 selector = _selectorOf(id, data);
        _checkTarget(id, c, target, selector, NATIVE, value, data);
        if (value != 0) _spend(id, c, NATIVE, value);
        bool ok;
        (ok, result) = _invoke(target, value, data);
        if (!ok) revert CallFailed(id, target, result);
        emit Executed(id, target, value, selector);
    }

    /// @inheritdoc ISessionManager
    function executeBatch(uint256 id, Call[] calldata calls)
        external
        nonReentrant
        returns (bytes[] memory results)
    {
        Core memory c = _authorize(id, calls.length);
        results = new bytes[](calls.length);
        for (uint256 i; i < calls.length; ++i) {
            Call calldata call_ = calls[i];
            bytes4 selector = _selectorOf(id, call_.data);
            _checkTarget(id, c, call_.target, selector, NATIVE, call_.value, call_.data);
            if (call_.value != 0) _spend(id, c, NATIVE, call_.value);
            (bool ok, bytes memory result) = _invoke(call_.target, call_.value, call_.data);
            if (!ok) revert BatchCallFailed(id, i, result);
            results[i] = result;
            emit Executed(id, call_.target, call_.value, selector);
        }
    }

    /// @inheritdoc ISessionManager
    function transferToken(uint256 id, address token, address to, uint256 amount) external nonReentrant {
        // a zero payment would only make the manager call an arbitrary `token`
        if (amount == 0) revert ZeroAmount();
        Core memory c = _authorize(id, 1);
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
        Core memory c = _authorize(id, 1);
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

    /// @dev Hands out `n` fresh ids; returns the first and the current epoch.
    function _reserveIds(uint256 n) internal returns (uint256 firstId, uint24 epoch) {
        uint56 count = _count;
        firstId = uint256(count) + 1;
        _count = count + uint56(n);
        epoch = _epoch;
    }

    /// @dev Checks the caller may spawn under `parentId` and that the parent can act.
    function _requireSpawner(uint256 parentId) internal view returns (Core memory parent, uint24 epoch) {
        parent = _core[parentId];
        if (parent.status == Status.None) revert SessionNotFound(parentId);
        // the parent's agent or a controller of the parent spawns
        bool asAgent = msg.sender == parent.agent;
        if (!asAgent && !_isController(parentId, msg.sender)) revert NotAgentOrController(parentId, msg.sender);
        // only a parent that can act now spawns
        if (!_canAct(parentId, parent)) revert SessionNotActive(parentId, _statusOf(parentId, parent));
        // an agent rotated out above its session acts for nobody
        if (asAgent) _requireNotRotatedOut(parentId, parent, msg.sender);
        // depth stays bounded so every ancestor walk is
        if (parent.depth >= MAX_DEPTH) revert DepthExceeded(parentId, MAX_DEPTH);
        epoch = parent.epoch;
    }

    /// @dev Writes session `id` (a root when `parentId` is 0) and mints its token to the caller. Returns the
    /// ETH amount a root must be sent.
    function _open(uint256 id, uint256 parentId, Core memory parent, SessionParams calldata p, uint24 epoch)
        internal
        returns (uint256 eth)
    {
        // an agent key is required
        if (p.agent == address(0)) revert ZeroAgent();
        _requireExpiry(parentId, p.expiry);
        // a call limit counts per period
        if (p.maxCallsPerPeriod != 0 && p.period == 0) revert PeriodRequired();

        uint16 flags;
        if (p.anyTarget) {
            // a child never gets more than its parent
            if (parentId != 0 && parent.flags & _F_ANY_TARGET == 0) {
                revert PermissionNotInParent(parentId, address(0), ANY_SELECTOR);
            }
            flags |= _F_ANY_TARGET;
        }
        if ((p.maxIdle | p.period | p.maxCallsPerPeriod) != 0) {
            flags |= p.maxIdle != 0 ? _F_TIMING | _F_IDLE : _F_TIMING;
            _timing[id] = Timing(
                uint40(block.timestamp), p.maxIdle, p.period, uint40(block.timestamp), p.maxCallsPerPeriod, 0, 0
            );
        }
        for (uint256 i; i < p.permissions.length; ++i) {
            Permission calldata perm = p.permissions[i];
            if (parentId != 0 && parent.flags & _F_ANY_TARGET == 0) {
                _requireParentAllows(parentId, perm.target, perm.selector);
            }
            _permissions[_permissionKey(id, perm.target, perm.selector)] = true;
            emit PermissionSet(id, perm.target, perm.selector, true);
        }
        // ancestors' guards and call limits are frozen by now (edited in draft; children spawn from active
        // parents), so a child records once whether it must look them up
        if (parent.flags & (_F_GUARDS | _F_ANCESTOR_GUARDS) != 0) flags |= _F_ANCESTOR_GUARDS;
        if (parentId != 0 && (parent.flags & _F_ANCESTOR_CALL_LIMIT != 0 || _limitsCalls(parentId, parent))) {
            flags |= _F_ANCESTOR_CALL_LIMIT;
        }
        if (p.guards.length != 0) {
            flags |= _F_GUARDS;
            for (uint256 i; i < p.guards.length; ++i) {
                _addGuard(id, p.guards[i]);
            }
        }
        if (p.label != bytes32(0)) _labels[id] = p.label;

        address from = parentId == 0 ? msg.sender : address(0);
        for (uint256 i; i < p.budgets.length; ++i) {
            BudgetParams calldata b = p.budgets[i];
            // one budget per token
            for (uint256 j; j < i; ++j) {
                if (p.budgets[j].token == b.token) revert DuplicateToken(b.token);
            }
            // periodic allowances need a period
            if (b.periodAllowance != 0 && p.period == 0) revert PeriodRequired();
            uint256 amount = b.amount;
            if (parentId != 0) {
                // a child holds only tokens its parent has a row for, so a swap never brings in a token some
                // ancestor has no caps for
                if (!_hasRow(parentId, parent, b.token)) revert NoBudgetRow(parentId, b.token);
                // reserved out of the parent's unspent escrow, never shared; the parent's caps bind the child's
                // spends as they happen
                _reserve(parentId, b.token, amount);
            } else if (b.token == NATIVE) {
                eth += amount;
            } else {
                amount = _pullERC20(b.token, amount);
            }
            _credit(id, b.token, amount);
            if (b.token == NATIVE) flags |= _F_NATIVE_ROW;
            if ((b.perCallCap | b.periodAllowance) != 0) {
                flags = _setCaps(id, flags, b.token, b.perCallCap, b.periodAllowance);
            }
            emit SessionFunded(id, b.token, from, amount);
        }

        Status status = p.draft ? Status.Draft : Status.Active;
        uint8 depth = parentId == 0 ? 0 : parent.depth + 1;
        _core[id] = Core(p.agent, p.expiry, status, flags, depth, epoch);
        _mintAndSetExtraDataUnchecked(msg.sender, id, uint96(parentId));
        emit SessionCreated(id, parentId, p.agent, msg.sender, p.expiry, p.label, status);
        emit UpdateUser(id, p.agent, p.expiry);
    }

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

    /// @dev A session's call: a plain value transfer (no calldata) goes straight from here; anything with
    /// calldata goes out from the executor, so it can never make the escrow-holding manager approve or
    /// authorise anything.
    function _invoke(address target, uint256 value, bytes calldata data)
        internal
        returns (bool ok, bytes memory result)
    {
        if (data.length == 0) return target.call{value: value}("");
        return _executor().call{value: value}(abi.encodeCall(ISessionExecutor.run, (target, data)));
    }

    function _factory() internal view override returns (address) {
        return FACTORY;
    }

    /// @dev This manager's executor: the CREATE2 clone it deployed in `initialize`.
    function _executor() internal view override returns (address) {
        return LibClone.predictDeterministicAddress(_EXECUTOR_INIT_CODE_HASH, bytes32(0), address(this));
    }

}
