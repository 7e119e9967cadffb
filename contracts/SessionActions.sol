// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

import {ISessionExecutor} from "./interfaces/ISessionExecutor.sol";
import {SessionStore} from "./SessionStore.sol";

/// @title SessionActions
/// @notice What a session's actor does, written once for every door it comes through: opening roots and children,
/// and executing calls. The manager runs it for `msg.sender`; the signed entry points (SessionSignatures) run the
/// same code for the key that signed. Every function takes its actor explicitly, never `msg.sender`.
abstract contract SessionActions is SessionStore {
    /*//////////////////////////////////////////////////////////////
                                   OPENING
    //////////////////////////////////////////////////////////////*/

    /// @dev Opens the root `params` for `holder` (the manager owner); returns its id and the ETH it needs.
    function _openRoot(SessionParams calldata params, address holder) internal returns (uint256 id, uint256 eth) {
        id = _reserveIds(1);
        eth = _open(id, 0, Core(address(0), 0, Status.None, 0, 0, 0), params, holder);
    }

    /// @dev Opens the child `params` of `parentId` for `actor` (its agent or a controller); returns its id.
    function _openChild(uint256 parentId, SessionParams calldata params, address actor) internal returns (uint256 id) {
        Core memory parent = _requireSpawner(parentId, actor);
        id = _reserveIds(1);
        _open(id, parentId, parent, params, actor);
    }

    /// @dev Opens the roots `params` for `holder` (the manager owner); returns the first id and the ETH they need.
    function _openRoots(SessionParams[] calldata params, address holder)
        internal
        returns (uint256 firstId, uint256 eth)
    {
        firstId = _reserveIds(params.length);
        Core memory none;
        for (uint256 i; i < params.length; ++i) {
            eth += _open(firstId + i, 0, none, params[i], holder);
        }
    }

    /// @dev Opens the children `params` under `parentId` for `actor` (its agent or a controller); returns the
    /// first id.
    function _openChildren(uint256 parentId, SessionParams[] calldata params, address actor)
        internal
        returns (uint256 firstId)
    {
        Core memory parent = _requireSpawner(parentId, actor);
        firstId = _reserveIds(params.length);
        for (uint256 i; i < params.length; ++i) {
            _open(firstId + i, parentId, parent, params[i], actor);
        }
    }

    /// @dev Hands out `n` fresh ids; returns the first. Ids are 32-bit (a parent id fits the core word).
    function _reserveIds(uint256 n) internal returns (uint256 firstId) {
        uint256 count = _count;
        firstId = count + 1;
        if (count + n > type(uint32).max) revert SessionLimitReached(type(uint32).max);
        _count = uint32(count + n);
    }

    /// @dev Checks `actor` may spawn under `parentId` (as its agent or a controller) and that the parent can act.
    function _requireSpawner(uint256 parentId, address actor) internal view returns (Core memory parent) {
        parent = _core[parentId];
        if (parent.status == Status.None) revert SessionNotFound(parentId);
        // the parent's agent or a controller of the parent spawns
        bool asAgent = actor == parent.agent;
        if (!asAgent && !_isController(parentId, actor)) revert NotAgentOrController(parentId, actor);
        // only a parent that can act now spawns
        if (!_canAct(parentId, parent)) revert SessionNotActive(parentId, _statusOf(parentId, parent));
        // an agent rotated out above its session acts for nobody
        if (asAgent) _requireNotRotatedOut(parentId, parent, actor);
        // depth stays bounded so every ancestor walk is
        if (parent.depth >= MAX_DEPTH) revert DepthExceeded(parentId, MAX_DEPTH);
    }

    /// @dev Writes session `id` (a root when `parentId` is 0) and mints its token to `holder`, who funds a root's
    /// ERC-20 budgets. Returns the ETH amount a root must be given (its ETH escrow is written with the token).
    function _open(uint256 id, uint256 parentId, Core memory parent, SessionParams calldata p, address holder)
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

        address from = parentId == 0 ? holder : address(0);
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
            } else if (b.token != NATIVE) {
                amount = _pullERC20(b.token, holder, amount);
            }
            if (b.token == NATIVE) {
                // the ETH escrow goes into the token's ownership word, written by the mint below (96 bits)
                if (amount > type(uint96).max) revert AmountTooLarge(amount);
                eth = amount;
                flags |= _F_NATIVE_ROW;
            } else {
                _credit(id, b.token, amount);
            }
            if ((b.perCallCap | b.periodAllowance) != 0) {
                flags = _setCaps(id, flags, b.token, b.perCallCap, b.periodAllowance);
            }
            emit SessionFunded(id, b.token, from, amount);
        }

        Status status = p.draft ? Status.Draft : Status.Active;
        uint8 depth = parentId == 0 ? 0 : parent.depth + 1;
        // expiry and parent id fit 32 bits (checked by `_requireExpiry` and `_reserveIds`)
        _core[id] = Core(p.agent, uint32(p.expiry), status, flags, depth, uint32(parentId));
        _mintAndSetExtraDataUnchecked(holder, id, uint96(eth));
        emit SessionCreated(id, parentId, p.agent, holder, p.expiry, p.label, status);
        emit UpdateUser(id, p.agent, p.expiry);
    }

    /*//////////////////////////////////////////////////////////////
                                   ACTING
    //////////////////////////////////////////////////////////////*/

    /// @dev One call of session `id` by its agent `actor`: checked, charged to the session and its ancestors, made.
    function _execute(uint256 id, address actor, address target, uint256 value, bytes calldata data)
        internal
        returns (bytes memory result)
    {
        Core memory c = _authorize(id, actor, 1);
        bytes4 selector = _selectorOf(id, data);
        _checkTarget(id, c, target, selector, NATIVE, value, data);
        if (value != 0) _spend(id, c, NATIVE, value);
        bool ok;
        (ok, result) = _invoke(target, value, data);
        if (!ok) revert CallFailed(id, target, result);
        emit Executed(id, target, value, selector);
    }

    /// @dev The calls of session `id` by its agent `actor`, all or none, each checked and charged like one call.
    function _executeBatch(uint256 id, address actor, Call[] calldata calls) internal returns (bytes[] memory results) {
        Core memory c = _authorize(id, actor, calls.length);
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
}
