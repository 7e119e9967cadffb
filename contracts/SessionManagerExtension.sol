// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

import {SafeTransferLib} from "solady/utils/SafeTransferLib.sol";
import {ISessionManagerExtension} from "./interfaces/ISessionManagerExtension.sol";
import {ISessionSignatures} from "./interfaces/ISessionSignatures.sol";
import {SessionModule} from "./SessionModule.sol";
import {SessionViews} from "./SessionViews.sol";

/// @title SessionManagerExtension
/// @notice The cold writes of a SessionManager: lifecycle, draft editing, updates, funding, settlement,
/// owner-wide switches, checkpoints. Only meaningful through a manager's fallback (delegatecall), where it runs
/// on the manager's storage. Reads it does not serve go on to VIEWS, the same way.
contract SessionManagerExtension is SessionModule, ISessionManagerExtension {
    /// @notice Where the reads are served (SessionViews), deployed with this extension.
    address public immutable VIEWS;
    /// @notice Where the signed entry points are served (SessionSignatures), deployed before this extension.
    address public immutable SIGNATURES;

    constructor(address signatures) {
        VIEWS = address(new SessionViews());
        SIGNATURES = signatures;
    }

    /// @dev The signed entry points (ISessionSignatures) go on to SIGNATURES, every
    /// read (ISessionViews) to VIEWS, still on the manager's storage. Payable only so a call reached through the
    /// manager's payable fallback is not refused here; views and signed entry points take no value.
    fallback() external payable {
        bytes4 s = msg.sig;
        address module = s == ISessionSignatures.executeBatchWithSig.selector
            || s == ISessionSignatures.createSessionWithSig.selector
            || s == ISessionSignatures.createSessionsWithSig.selector
            || s == ISessionSignatures.spawnChildWithSig.selector || s == ISessionSignatures.executeWithSig.selector
            ? SIGNATURES
            : VIEWS;
        /// @solidity memory-safe-assembly
        assembly {
            calldatacopy(0, 0, calldatasize())
            let ok := delegatecall(gas(), module, 0, calldatasize(), 0, 0)
            returndatacopy(0, 0, returndatasize())
            if iszero(ok) { revert(0, returndatasize()) }
            return(0, returndatasize())
        }
    }

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
        uint24 epoch = _epoch + 1;
        _epoch = epoch;
        // every session that exists now is revoked; ids are handed out in order, so later ones are not
        _revokedThrough = _count;
        emit AllRevoked(msg.sender, epoch);
    }

    /*//////////////////////////////////////////////////////////////
                                  LIFECYCLE
    //////////////////////////////////////////////////////////////*/

    /// @inheritdoc ISessionManagerExtension
    function pause(uint256 id) external nonReentrant {
        Core memory c = _requireLiveController(id);
        // only an active session pauses
        if (c.status != Status.Active) revert SessionNotActive(id, c.status);
        c.status = Status.Paused;
        _core[id] = c;
        emit SessionPaused(id, msg.sender);
    }

    /// @inheritdoc ISessionManagerExtension
    function resume(uint256 id) external nonReentrant {
        Core memory c = _requireLiveController(id);
        // only a paused session resumes
        if (c.status != Status.Paused) revert SessionNotPaused(id, c.status);
        c.status = Status.Active;
        _core[id] = c;
        emit SessionResumed(id, msg.sender);
    }

    /// @inheritdoc ISessionManagerExtension
    function checkpoint(uint256 id, bytes32 root, uint64 taskCount) external nonReentrant {
        _authorize(id, msg.sender, 0);
        Checkpoint storage cp = _checkpoints[id];
        // the task counter never goes back
        if (taskCount < cp.taskCount) revert TaskCountDecreased(id, cp.taskCount, taskCount);
        cp.root = root;
        cp.taskCount = taskCount;
        cp.at = uint40(block.timestamp);
        emit Checkpointed(id, root, taskCount);
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
    function updateTiming(uint256 id, uint32 maxIdle, uint32 period, uint16 maxCallsPerPeriod) external nonReentrant {
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
        // an allowance counts what leaves from the moment it is set: one added where there was none starts a fresh
        // window count (spends made without an allowance were never counted); a changed one keeps counting, so a
        // lowered allowance still weighs what this window already spent
        if (periodAllowance != 0 && _caps[id][token].perPeriod == 0) delete _windows[id][token];
        c.flags = _setCaps(id, c.flags, token, perCallCap, periodAllowance);
        _core[id] = c;
    }

    /// @inheritdoc ISessionManagerExtension
    function updateExpiry(uint256 id, uint40 expiry) external nonReentrant {
        Core memory c = _requireLiveController(id);
        _requireExpiry(c.parent, expiry);
        // 32 bits (checked by `_requireExpiry`)
        c.expiry = uint32(expiry);
        _core[id] = c;
        emit ExpiryUpdated(id, expiry);
        emit UpdateUser(id, c.agent, expiry);
    }

    /// @inheritdoc ISessionManagerExtension
    function rotateAgent(uint256 id, address newAgent) external nonReentrant {
        Core memory c = _requireLiveController(id);
        if (newAgent == address(0)) revert ZeroAgent();
        emit AgentRotated(id, c.agent, newAgent);
        // a controller took the role away: every power the old key had over this subtree lapses with it, in O(1)
        // (a key that rotates itself out, as a controller, keeps its controller's power)
        if (msg.sender != c.agent) {
            _rotatedOut[id][c.agent] = true;
            c.flags |= _F_ROTATED;
        }
        // a key given the role again has it again
        if (c.flags & _F_ROTATED != 0) delete _rotatedOut[id][newAgent];
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
            // only the manager owner brings a new token into the escrow (an escrowed token is a forbidden target
            // for every session of the manager)
            if (token != NATIVE && !_escrowed[token] && msg.sender != _owner) revert TokenNotEscrowed(id, token);
            if (token == NATIVE) {
                // the ETH sent is the amount
                if (msg.value != amount) revert ValueMismatch(amount, msg.value);
                received = amount;
            } else {
                // no stray ETH next to a token top-up
                if (msg.value != 0) revert NoValueExpected(msg.value);
                received = _pullERC20(token, msg.sender, amount);
            }
        } else {
            // a child is funded out of its parent's unspent escrow, by the parent's agent or a controller
            // (the parent's money: the child's own holder is not enough)
            uint256 parentId = _parentOf(id);
            Core memory parent = _core[parentId];
            bool asAgent = msg.sender == parent.agent;
            if (!asAgent && !_isController(parentId, msg.sender)) revert NotAgentOrController(parentId, msg.sender);
            // only a parent that can act now funds, like a spawn (not paused, no pause-all, not timed out, every
            // ancestor active)
            if (!_canAct(parentId, parent)) revert SessionNotActive(parentId, _statusOf(parentId, parent));
            if (asAgent) _requireNotRotatedOut(parentId, parent, msg.sender);
            // a child holds only tokens its parent has a row for
            if (!_hasRow(parentId, parent, token)) revert NoBudgetRow(parentId, token);
            // nor is a paused child funded
            if (c.status == Status.Paused) revert SessionNotActive(id, Status.Paused);
            // no ETH from outside for a child
            if (msg.value != 0) revert NoValueExpected(msg.value);
            // one call and activity of the parent: its call limit and its ancestors' count it, its idle clock restarts
            _recordCall(parentId, parent);
            // out of the parent's unspent escrow, like a spawn (the caps bind when the child spends)
            _reserve(parentId, token, amount);
            received = amount;
        }
        _credit(id, token, received);
        if (token == NATIVE && c.flags & _F_NATIVE_ROW == 0) {
            c.flags |= _F_NATIVE_ROW;
            _core[id] = c;
        }
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
        bool asAgent = msg.sender == c.agent;
        if (!asAgent && !_isController(id, msg.sender)) revert NotAgentOrController(id, msg.sender);
        Status status = _statusOf(id, c);
        if (!_isLiveStatus(status)) revert SessionEnded(id, status);
        if (asAgent) _requireNotRotatedOut(id, c, msg.sender);
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
                          WALLET DOOR SETTINGS
    //////////////////////////////////////////////////////////////*/

    /// @inheritdoc ISessionManagerExtension
    function setMaxRelayFee(uint256 id, uint256 fee) external nonReentrant {
        _requireLiveController(id);
        _maxRelayFee[id] = fee;
        emit MaxRelayFeeSet(id, fee);
    }

    /// @inheritdoc ISessionManagerExtension
    function deposit() external payable nonReentrant {
        if (msg.value == 0) revert ZeroAmount();
        _deposits[msg.sender] += msg.value;
        emit Deposited(msg.sender, msg.value);
    }

    /// @inheritdoc ISessionManagerExtension
    function withdraw(uint256 amount, address to) external nonReentrant {
        if (amount == 0) revert ZeroAmount();
        // never to the manager, its executor (both must not hold unaccounted ETH) or an escrowed token (a WETH-like
        // deposit would credit the manager with a balance nobody accounts for)
        if (to == address(this) || to == _executor() || _escrowed[to]) revert ForbiddenTarget(0, to);
        uint256 available = _deposits[msg.sender];
        if (amount > available) revert DepositTooLow(msg.sender, amount, available);
        _deposits[msg.sender] = available - amount;
        SafeTransferLib.safeTransferETH(to, amount);
        emit Withdrawn(msg.sender, to, amount);
    }

    /// @inheritdoc ISessionManagerExtension
    function invalidateNonces(uint256 wordPos, uint256 mask) external {
        _nonces[msg.sender][wordPos] |= mask;
        emit NoncesInvalidated(msg.sender, wordPos, mask);
    }

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
        uint256 amount = _available(id, token);
        if (amount == 0) return;
        _setAvailable(id, token, 0);
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
        // the whole stipend is forwarded (EIP-150 keeps 1/64 back), so an honest token never fails for want of gas
        // and a deferral always means the token refused or burned its stipend
        if (gasleft() < PAYOUT_GAS * 64 / 63 + 5_000) revert PayoutGasTooLow(gasleft(), PAYOUT_GAS);
        uint256 stipend = PAYOUT_GAS;
        /// @solidity memory-safe-assembly
        assembly {
            mstore(0x14, to)
            mstore(0x34, amount)
            mstore(0x00, 0xa9059cbb000000000000000000000000) // `transfer(address,uint256)`
            ok := call(stipend, token, 0, 0x10, 0x44, 0x00, 0x20)
            if iszero(and(eq(mload(0x00), 1), ok)) {
                ok := lt(or(iszero(extcodesize(token)), returndatasize()), ok)
            }
            mstore(0x34, 0) // restore the part of the free memory pointer that was overwritten
        }
    }
}
