// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

import {SafeTransferLib} from "solady/utils/SafeTransferLib.sol";
import {ISessionManagerExtension} from "./interfaces/ISessionManagerExtension.sol";
import {ISessionManager} from "./interfaces/ISessionManager.sol";
import {SessionStore} from "./SessionStore.sol";

/// @title SessionManagerExtension
/// @notice The cold half of SessionManager: draft editing, updates, owner-wide switches, listing and
/// settlement. Only meaningful through a manager's fallback (delegatecall), where it runs on the manager's
/// storage; called directly it sees an empty store of its own.
contract SessionManagerExtension is SessionStore, ISessionManagerExtension {
    /*//////////////////////////////////////////////////////////////
                                  OWNER-WIDE
    //////////////////////////////////////////////////////////////*/

    /// @inheritdoc ISessionManagerExtension
    function transferOwnership(address newOwner) external {
        _requireOwner();
        emit OwnershipTransferred(_owner, newOwner);
        _owner = newOwner;
    }

    /// @inheritdoc ISessionManagerExtension
    function pauseAll() external {
        _requireOwner();
        _pausedAll = true;
        emit AllPaused(msg.sender);
    }

    /// @inheritdoc ISessionManagerExtension
    function unpauseAll() external {
        _requireOwner();
        _pausedAll = false;
        emit AllUnpaused(msg.sender);
    }

    /// @inheritdoc ISessionManagerExtension
    function revokeAll() external {
        _requireOwner();
        uint32 epoch = _epoch + 1;
        _epoch = epoch;
        emit AllRevoked(msg.sender, epoch);
    }

    /*//////////////////////////////////////////////////////////////
                                   EDITING
    //////////////////////////////////////////////////////////////*/

    /// @inheritdoc ISessionManagerExtension
    function activate(uint256 id) external nonReentrant {
        Core memory c = _requireDraftController(id);
        c.status = Status.Active;
        _core[id] = c;
        if (c.flags & _F_TIMING != 0) {
            // windows and idleness count from activation
            Timing storage t = _timing[id];
            t.start = uint40(block.timestamp);
            t.lastActive = uint40(block.timestamp);
        }
        emit SessionActivated(id, msg.sender);
    }

    /// @inheritdoc ISessionManagerExtension
    function setPermissions(uint256 id, Permission[] calldata permissions, bool allowed) external nonReentrant {
        Core memory c = _requireDraftController(id);
        uint256 parentId = c.depth == 0 ? 0 : _parentOf(id);
        for (uint256 i; i < permissions.length; ++i) {
            Permission calldata p = permissions[i];
            // a child never gets a target its parent lacks
            if (allowed && parentId != 0) _requireParentAllows(parentId, p.target, p.selector);
            _permissions[_permissionKey(id, p.target, p.selector)] = allowed;
            emit PermissionSet(id, p.target, p.selector, allowed);
        }
    }

    /// @inheritdoc ISessionManagerExtension
    function setAnyTarget(uint256 id, bool allowed) external nonReentrant {
        Core memory c = _requireDraftController(id);
        if (allowed && c.depth != 0) _requireParentAllows(_parentOf(id), address(0), ANY_SELECTOR);
        c.flags = allowed ? c.flags | _F_ANY_TARGET : c.flags & ~_F_ANY_TARGET;
        _core[id] = c;
        emit AnyTargetSet(id, allowed);
    }

    /// @inheritdoc ISessionManagerExtension
    function addGuard(uint256 id, address guard) external nonReentrant {
        Core memory c = _requireDraftController(id);
        _addGuard(id, guard);
        c.flags |= _F_GUARDS;
        _core[id] = c;
    }

    /// @inheritdoc ISessionManagerExtension
    function updateTiming(uint256 id, uint32 maxIdle, uint32 period, uint16 maxCallsPerPeriod)
        external
        nonReentrant
    {
        Core memory c = _requireDraftController(id);
        // a call limit counts per period
        if (maxCallsPerPeriod != 0 && period == 0) revert PeriodRequired();
        _timing[id] = Timing(uint40(block.timestamp), maxIdle, period, uint40(block.timestamp), maxCallsPerPeriod, 0, 0);
        c.flags &= ~(_F_TIMING | _F_IDLE);
        if ((maxIdle | period | maxCallsPerPeriod) != 0) c.flags |= _F_TIMING;
        if (maxIdle != 0) c.flags |= _F_IDLE;
        _core[id] = c;
        emit TimingUpdated(id, maxIdle, period, maxCallsPerPeriod);
    }

    /// @inheritdoc ISessionManagerExtension
    function updateLimits(uint256 id, address token, uint128 perCallCap, uint128 periodAllowance)
        external
        nonReentrant
    {
        Core memory c = _requireLiveController(id);
        c.flags = _setCaps(id, c.flags, token, perCallCap, periodAllowance);
        _core[id] = c;
    }

    /// @inheritdoc ISessionManagerExtension
    function updateExpiry(uint256 id, uint40 expiry) external nonReentrant {
        Core memory c = _requireLiveController(id);
        _requireExpiry(c.depth == 0 ? 0 : _parentOf(id), expiry);
        c.expiry = expiry;
        _core[id] = c;
        emit ExpiryUpdated(id, expiry);
        emit UpdateUser(id, c.agent, expiry);
    }

    /// @inheritdoc ISessionManagerExtension
    function rotateAgent(uint256 id, address newAgent) external nonReentrant {
        Core memory c = _requireLiveController(id);
        if (newAgent == address(0)) revert ZeroAgent();
        emit AgentRotated(id, c.agent, newAgent);
        c.agent = newAgent;
        _core[id] = c;
        emit UpdateUser(id, newAgent, c.expiry);
    }

    /*//////////////////////////////////////////////////////////////
                                  FUNDING
    //////////////////////////////////////////////////////////////*/

    /// @inheritdoc ISessionManagerExtension
    function fund(uint256 id, address token, uint256 amount) external payable nonReentrant {
        Core memory c = _requireLive(id);
        uint256 received;
        if (c.depth == 0) {
            // a root is funded by a controller from outside
            if (!_isController(id, msg.sender)) revert NotController(id, msg.sender);
            // not while it is paused, nor during pause-all (the emergency stop)
            if (c.status == Status.Paused || _pausedAll) revert SessionNotActive(id, Status.Paused);
            if (token == NATIVE) {
                // the ETH sent is the amount
                if (msg.value != amount) revert ValueMismatch(amount, msg.value);
                received = amount;
            } else {
                // no stray ETH next to a token top-up
                if (msg.value != 0) revert NoValueExpected(msg.value);
                received = _pullERC20(token, amount);
            }
        } else {
            // a child is funded out of its parent's unspent escrow, by the parent's agent or a controller
            // (the parent's money: the child's own holder is not enough)
            uint256 parentId = _parentOf(id);
            Core memory parent = _core[parentId];
            if (msg.sender != parent.agent && !_isController(parentId, msg.sender)) {
                revert NotAgentOrController(parentId, msg.sender);
            }
            // only a parent that can act now funds, like a spawn (not paused, no pause-all, not timed out, every
            // ancestor active)
            if (!_canAct(parentId, parent)) revert SessionNotActive(parentId, _statusOf(parentId, parent));
            // nor is a paused child funded
            if (c.status == Status.Paused) revert SessionNotActive(id, Status.Paused);
            // no ETH from outside for a child
            if (msg.value != 0) revert NoValueExpected(msg.value);
            // one call and activity of the parent: its call limit and its ancestors' count it, its idle clock restarts
            _recordCall(parentId, parent);
            // within the parent's caps, like a spawn
            _reserve(parentId, parent, token, amount);
            received = amount;
        }
        _credit(id, token, received);
        emit SessionFunded(id, token, c.depth == 0 ? msg.sender : address(0), received);
    }

    /*//////////////////////////////////////////////////////////////
                                  SETTLEMENT
    //////////////////////////////////////////////////////////////*/

    /// @inheritdoc ISessionManagerExtension
    function complete(uint256 id) external nonReentrant {
        Core memory c = _core[id];
        if (c.status == Status.None) revert SessionNotFound(id);
        // the agent or a controller declares the work done
        if (msg.sender != c.agent && !_isController(id, msg.sender)) revert NotAgentOrController(id, msg.sender);
        Status status = _statusOf(id, c);
        if (!_isLiveStatus(status)) revert SessionEnded(id, status);
        emit SessionCompleted(id, msg.sender);
        _close(id, c, Status.Completed);
    }

    /// @inheritdoc ISessionManagerExtension
    function close(uint256 id) external nonReentrant {
        _closeEnded(id, false);
    }

    /// @inheritdoc ISessionManagerExtension
    function closeMany(uint256[] calldata ids) external nonReentrant {
        for (uint256 i; i < ids.length; ++i) {
            _closeEnded(ids[i], true);
        }
    }

    /// @inheritdoc ISessionManagerExtension
    function claim(address token, address to) external nonReentrant returns (uint256 amount) {
        amount = _owed[msg.sender][token];
        if (amount == 0) revert NothingToClaim(msg.sender, token);
        delete _owed[msg.sender][token];
        _owedTotal[token] -= amount;
        SafeTransferLib.safeTransfer(token, to, amount);
        emit PayoutClaimed(msg.sender, token, to, amount);
    }

    /*//////////////////////////////////////////////////////////////
                                    STATE
    //////////////////////////////////////////////////////////////*/

    /// @inheritdoc ISessionManagerExtension
    function owed(address payee, address token) external view returns (uint256) {
        return _owed[payee][token];
    }

    /// @inheritdoc ISessionManagerExtension
    function totalOwed(address token) external view returns (uint256) {
        return _owedTotal[token];
    }

    /// @inheritdoc ISessionManagerExtension
    function statusOf(uint256 id) external view returns (Status) {
        return _statusOf(id, _core[id]);
    }

    /// @inheritdoc ISessionManagerExtension
    function remaining(uint256 id, address token) external view returns (uint256) {
        return _budgets[id][token].available;
    }

    /// @inheritdoc ISessionManagerExtension
    function isController(uint256 id, address account) external view returns (bool) {
        return _isController(id, account);
    }

    /// @inheritdoc ISessionManagerExtension
    function isAllowed(uint256 id, address target, bytes4 selector) external view returns (bool) {
        return _isAllowed(id, target, selector);
    }

    /// @inheritdoc ISessionManagerExtension
    function isEscrowToken(address token) external view returns (bool) {
        return _escrowed[token];
    }

    /// @inheritdoc ISessionManagerExtension
    function globalState() external view returns (uint32 epoch, bool pausedAll) {
        return (_epoch, _pausedAll);
    }

    /// @inheritdoc ISessionManagerExtension
    function sessionCount() external view returns (uint256) {
        return _count;
    }

    /*//////////////////////////////////////////////////////////////
                                    VIEWS
    //////////////////////////////////////////////////////////////*/

    /// @inheritdoc ISessionManagerExtension
    function getSession(uint256 id) public view returns (SessionInfo memory info) {
        Core memory c = _core[id];
        if (c.status == Status.None) revert SessionNotFound(id);
        Timing memory t = _timing[id];
        Checkpoint memory cp = _checkpoints[id];
        info.id = id;
        info.parentId = _parentOf(id);
        info.agent = c.agent;
        info.holder = _ownerOf(id);
        info.status = _statusOf(id, c);
        info.depth = c.depth;
        info.anyTarget = c.flags & _F_ANY_TARGET != 0;
        info.closed = c.flags & _F_CLOSED != 0;
        info.expiry = c.expiry;
        info.lastActive = t.lastActive;
        info.maxIdle = t.maxIdle;
        info.period = t.period;
        info.maxCallsPerPeriod = t.maxCalls;
        info.callsInPeriod = t.callsWindow == _windowIndex(t) ? t.calls : 0;
        info.epoch = c.epoch;
        info.label = _labels[id];
        info.checkpointRoot = cp.root;
        info.taskCount = cp.taskCount;
        address[] storage erc20s = _erc20s[id];
        info.budgets = new BudgetInfo[](erc20s.length + 1);
        info.budgets[0] = getBudget(id, NATIVE);
        for (uint256 i; i < erc20s.length; ++i) {
            info.budgets[i + 1] = getBudget(id, erc20s[i]);
        }
    }

    /// @inheritdoc ISessionManagerExtension
    function getSessions(uint256[] calldata ids) external view returns (SessionInfo[] memory infos) {
        infos = new SessionInfo[](ids.length);
        for (uint256 i; i < ids.length; ++i) {
            infos[i] = getSession(ids[i]);
        }
    }

    /// @inheritdoc ISessionManagerExtension
    function listSessions(uint256 fromId, uint256 limit) external view returns (SessionInfo[] memory infos) {
        (uint256 first, uint256 n) = _page(fromId, limit);
        infos = new SessionInfo[](n);
        for (uint256 i; i < n; ++i) {
            infos[i] = getSession(first + i);
        }
    }

    /// @inheritdoc ISessionManagerExtension
    function listSessionsPacked(uint256 fromId, uint256 limit) external view returns (bytes memory packed) {
        (uint256 first, uint256 n) = _page(fromId, limit);
        packed = new bytes(n * 128);
        for (uint256 i; i < n; ++i) {
            uint256 id = first + i;
            Core memory c = _core[id];
            Budget memory eth = _budgets[id][NATIVE];
            uint256 w0 = uint256(uint160(c.agent)) | uint256(c.expiry) << 160
                | uint256(uint8(_statusOf(id, c))) << 200 | uint256(c.flags) << 208 | uint256(c.depth) << 216
                | uint256(c.epoch) << 224;
            uint256 w1 = uint256(uint160(_ownerOf(id))) | uint256(_parentOf(id)) << 160;
            uint256 w2 = uint256(eth.available) | uint256(eth.spent) << 128;
            bytes32 w3 = _labels[id];
            /// @solidity memory-safe-assembly
            assembly {
                let p := add(add(packed, 0x20), mul(i, 128))
                mstore(p, w0)
                mstore(add(p, 0x20), w1)
                mstore(add(p, 0x40), w2)
                mstore(add(p, 0x60), w3)
            }
        }
    }

    /// @inheritdoc ISessionManagerExtension
    function getBudget(uint256 id, address token) public view returns (BudgetInfo memory info) {
        Budget memory b = _budgets[id][token];
        Caps memory k = _caps[id][token];
        Window memory w = _windows[id][token];
        info.token = token;
        info.available = b.available;
        info.spent = b.spent;
        info.perCallCap = k.perCall;
        info.periodAllowance = k.perPeriod;
        info.spentInPeriod = w.index == _windowIndex(_timing[id]) ? w.spent : 0;
    }

    /// @inheritdoc ISessionManagerExtension
    function guardsOf(uint256 id) external view returns (address[] memory) {
        return _guards[id];
    }

    /// @dev Never reached: the manager answers `tokenURI` itself (through its renderer).
    function tokenURI(uint256) public pure override returns (string memory) {}

    /*//////////////////////////////////////////////////////////////
                             INTERNAL: SETTLEMENT
    //////////////////////////////////////////////////////////////*/

    /// @dev Records one call by session `id` (core `c`) as `_authorize` does, whoever makes it: the call limits of
    /// `id` and of its ancestors count it and its idle clock restarts.
    function _recordCall(uint256 id, Core memory c) internal {
        if (c.flags & _F_TIMING != 0) {
            Timing memory t = _timing[id];
            if (t.maxCalls != 0) _countCalls(id, t, 1);
            t.lastActive = uint40(block.timestamp);
            _timing[id] = t;
        }
        if (c.flags & _F_ANCESTOR_CALL_LIMIT != 0) _countAncestorCalls(id, 1);
    }

    /// @dev Closes `id` if it ended; with `skipClosed`, an already closed id is a no-op.
    function _closeEnded(uint256 id, bool skipClosed) internal {
        Core memory c = _core[id];
        if (c.status == Status.None) revert SessionNotFound(id);
        if (c.flags & _F_CLOSED != 0) {
            if (skipClosed) return;
            revert SessionAlreadyClosed(id);
        }
        Status status = _statusOf(id, c);
        // a live session is ended by revoke or complete first
        if (_isLiveStatus(status)) revert SessionNotEnded(id, status);
        _close(id, c, status);
    }

    /// @dev Freezes the final status, burns the token and returns every unspent escrow: to the nearest
    /// unclosed ancestor, else to the root's holder (recorded when the root closed).
    function _close(uint256 id, Core memory c, Status finalStatus) internal {
        c.status = finalStatus;
        c.flags |= _F_CLOSED;
        _core[id] = c;

        uint256 dest = c.depth == 0 ? 0 : _parentOf(id);
        uint256 root = id;
        while (dest != 0 && _core[dest].flags & _F_CLOSED != 0) {
            root = dest;
            dest = _parentOf(dest);
        }
        address payee;
        if (dest == 0) {
            if (c.depth == 0) {
                payee = _ownerOf(id);
                _settledTo[id] = payee;
            } else {
                while (_core[root].depth != 0) root = _parentOf(root);
                payee = _settledTo[root];
            }
        }
        _burn(id);
        emit UpdateUser(id, address(0), 0);

        _returnEscrow(id, NATIVE, dest, payee);
        address[] storage erc20s = _erc20s[id];
        for (uint256 i; i < erc20s.length; ++i) {
            _returnEscrow(id, erc20s[i], dest, payee);
        }
        emit SessionClosed(id, msg.sender, finalStatus);
    }

    function _returnEscrow(uint256 id, address token, uint256 dest, address payee) internal {
        Budget storage b = _budgets[id][token];
        uint256 amount = b.available;
        if (amount == 0) return;
        b.available = 0;
        if (dest != 0) {
            _credit(dest, token, amount);
        } else if (token == NATIVE) {
            // forced so a payee that rejects ETH cannot strand it
            SafeTransferLib.forceSafeTransferETH(payee, amount);
        } else if (!_tryTransfer(token, payee, amount)) {
            // a token that refuses this payment must not hold back the rest of the settlement (the ETH above
            // all): the payee claims it later, to any address
            _owed[payee][token] += amount;
            _owedTotal[token] += amount;
            emit PayoutDeferred(id, token, payee, amount);
        }
        emit EscrowReturned(id, token, dest, dest == 0 ? payee : address(0), amount);
    }

    /// @dev Solady's `safeTransfer` (a call that succeeds and returns true or nothing, to a contract), reporting
    /// failure instead of reverting.
    function _tryTransfer(address token, address to, uint256 amount) internal returns (bool ok) {
        /// @solidity memory-safe-assembly
        assembly {
            mstore(0x14, to)
            mstore(0x34, amount)
            mstore(0x00, 0xa9059cbb000000000000000000000000) // `transfer(address,uint256)`
            ok := call(gas(), token, 0, 0x10, 0x44, 0x00, 0x20)
            if iszero(and(eq(mload(0x00), 1), ok)) { ok := lt(or(iszero(extcodesize(token)), returndatasize()), ok) }
            mstore(0x34, 0) // restore the part of the free memory pointer that was overwritten
        }
    }

    /*//////////////////////////////////////////////////////////////
                            INTERNAL: PAGING
    //////////////////////////////////////////////////////////////*/

    /// @dev The factory, read from the manager's own code (immutables are not visible through delegatecall).
    function _factory() internal view override returns (address) {
        return ISessionManager(address(this)).FACTORY();
    }

    /// @dev The executor, asked of the manager's own code (it derives it from an immutable).
    function _executor() internal view override returns (address) {
        return ISessionManager(address(this)).executor();
    }

    /// @dev The ids of a page: from `fromId` (0 reads as 1), at most `limit`, never past the last session.
    function _page(uint256 fromId, uint256 limit) internal view returns (uint256 first, uint256 n) {
        uint256 count = _count;
        first = fromId == 0 ? 1 : fromId;
        n = first > count ? 0 : count - first + 1;
        if (n > limit) n = limit;
    }
}
