// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

import {IERC5267} from "@openzeppelin/contracts/interfaces/IERC5267.sol";
import {ISessionViews} from "./interfaces/ISessionViews.sol";
import {SessionModule} from "./SessionModule.sol";

/// @title SessionViews
/// @notice The reads of a SessionManager (see ISessionViews): preflight, status, budgets, the tree, listing.
/// Reached through the manager's fallback and the extension's (delegatecall twice), on the manager's storage.
contract SessionViews is SessionModule, ISessionViews {
    /*//////////////////////////////////////////////////////////////
                                  PREFLIGHT
    //////////////////////////////////////////////////////////////*/

    /// @inheritdoc ISessionViews
    function check(uint256 id, address caller, address target, uint256 value, bytes calldata data)
        external
        view
        returns (bool ok, bytes memory reason)
    {
        try ISessionViews(address(this)).preflight(id, caller, target, value, data) {
            ok = true;
        } catch (bytes memory err) {
            reason = err;
        }
    }

    /// @inheritdoc ISessionViews
    function preflight(uint256 id, address caller, address target, uint256 value, bytes calldata data)
        external
        view
    {
        Core memory c = _core[id];
        _checkAgent(id, c, caller, 1);
        _checkTarget(id, c, target, _selectorOf(id, data), NATIVE, value, data);
        if (value != 0) {
            _spendCheck(id, c, NATIVE, value);
            if (c.depth != 0) _checkAncestorCaps(id, NATIVE, value);
        }
    }

    /*//////////////////////////////////////////////////////////////
                                    STATE
    //////////////////////////////////////////////////////////////*/

    /// @inheritdoc ISessionViews
    function owed(address payee, address token) external view returns (uint256) {
        return _owed[payee][token];
    }

    /// @inheritdoc ISessionViews
    function totalOwed(address token) external view returns (uint256) {
        return _owedTotal[token];
    }

    /// @inheritdoc ISessionViews
    function statusOf(uint256 id) external view returns (Status) {
        return _statusOf(id, _core[id]);
    }

    /// @inheritdoc ISessionViews
    function remaining(uint256 id, address token) external view returns (uint256) {
        return _available(id, token);
    }

    /// @inheritdoc ISessionViews
    function isController(uint256 id, address account) external view returns (bool) {
        return _isController(id, account);
    }

    /// @inheritdoc ISessionViews
    function isAllowed(uint256 id, address target, bytes4 selector) external view returns (bool) {
        return _isAllowed(id, target, selector);
    }

    /// @inheritdoc ISessionViews
    function isEscrowToken(address token) external view returns (bool) {
        return _escrowed[token];
    }

    /// @inheritdoc ISessionViews
    function globalState() external view returns (uint32 epoch, bool pausedAll) {
        return (_epoch, _pausedAll);
    }

    /// @inheritdoc ISessionViews
    function sessionCount() external view returns (uint256) {
        return _count;
    }

    /*//////////////////////////////////////////////////////////////
                                    VIEWS
    //////////////////////////////////////////////////////////////*/

    /// @inheritdoc ISessionViews
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
        // the generation the session belongs to: the current one, unless the latest revoke-all revoked it
        info.epoch = id <= _revokedThrough ? _epoch - 1 : _epoch;
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

    /// @inheritdoc ISessionViews
    function getSessions(uint256[] calldata ids) external view returns (SessionInfo[] memory infos) {
        infos = new SessionInfo[](ids.length);
        for (uint256 i; i < ids.length; ++i) {
            infos[i] = getSession(ids[i]);
        }
    }

    /// @inheritdoc ISessionViews
    function listSessions(uint256 fromId, uint256 limit) external view returns (SessionInfo[] memory infos) {
        (uint256 first, uint256 n) = _page(fromId, limit);
        infos = new SessionInfo[](n);
        for (uint256 i; i < n; ++i) {
            infos[i] = getSession(first + i);
        }
    }

    /// @inheritdoc ISessionViews
    function getBudget(uint256 id, address token) public view returns (BudgetInfo memory info) {
        Budget memory b = _budgets[id][token];
        Caps memory k = _caps[id][token];
        Window memory w = _windows[id][token];
        info.token = token;
        // ETH: the ownership word holds the unspent escrow; its lifetime spending is not kept on chain (0 here)
        info.available = _available(id, token);
        info.spent = b.spent;
        info.perCallCap = k.perCall;
        info.periodAllowance = k.perPeriod;
        info.spentInPeriod = w.index == _windowIndex(_timing[id]) ? w.spent : 0;
    }

    /// @inheritdoc ISessionViews
    function guardsOf(uint256 id) external view returns (address[] memory) {
        return _guards[id];
    }

    /*//////////////////////////////////////////////////////////////
                            INTERNAL: PAGING
    //////////////////////////////////////////////////////////////*/


    /*//////////////////////////////////////////////////////////////
                              WALLET DOOR
    //////////////////////////////////////////////////////////////*/

    /// @inheritdoc IERC5267
    function eip712Domain()
        external
        view
        returns (
            bytes1 fields,
            string memory name,
            string memory version,
            uint256 chainId,
            address verifyingContract,
            bytes32 salt,
            uint256[] memory extensions
        )
    {
        // name, version, chain id and verifying contract (the manager: this runs on its storage, as it)
        return (hex"0f", _DOMAIN_NAME, _DOMAIN_VERSION, block.chainid, address(this), bytes32(0), new uint256[](0));
    }

    /// @inheritdoc ISessionViews
    function maxRelayFee(uint256 id) external view returns (uint256) {
        return _maxRelayFee[id];
    }

    /*//////////////////////////////////////////////////////////////
                              DEPOSITS, NONCES
    //////////////////////////////////////////////////////////////*/

    /// @inheritdoc ISessionViews
    function depositOf(address account) external view returns (uint256) {
        return _deposits[account];
    }

    /// @inheritdoc ISessionViews
    function nonceUsed(address signer, uint256 nonce) external view returns (bool) {
        return _nonces[signer][nonce >> 8] & (1 << (nonce & 0xff)) != 0;
    }

    /// @dev The ids of a page: from `fromId` (0 reads as 1), at most `limit`, never past the last session.
    function _page(uint256 fromId, uint256 limit) internal view returns (uint256 first, uint256 n) {
        uint256 count = _count;
        first = fromId == 0 ? 1 : fromId;
        n = first > count ? 0 : count - first + 1;
        if (n > limit) n = limit;
    }
}
