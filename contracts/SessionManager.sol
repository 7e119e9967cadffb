// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

import {ReentrancyGuardTransient} from "solady/utils/ReentrancyGuardTransient.sol";
import {SafeTransferLib} from "solady/utils/SafeTransferLib.sol";
import {LibString} from "solady/utils/LibString.sol";
import {ISessionManager} from "./interfaces/ISessionManager.sol";
import {ISessionGuard} from "./interfaces/ISessionGuard.sol";
import {SessionToken} from "./SessionToken.sol";

/// @title SessionManager
/// @notice One owner's escrow of agent sessions; see ISessionManager for the rules. Deployed once as the
/// implementation behind every EIP-1167 clone the SessionFactory makes.
contract SessionManager is ISessionManager, SessionToken, ReentrancyGuardTransient {
    using LibString for uint256;
    using LibString for address;

    /*//////////////////////////////////////////////////////////////
                               CONSTANTS
    //////////////////////////////////////////////////////////////*/

    /// @notice ETH as a token (ERC-7528).
    address public constant NATIVE = 0xEeeeeEeeeEeEeeEeEeEeeEEEeeeeEeeeeeeeEEeE;
    /// @notice Allowlist wildcard: every selector of a target.
    bytes4 public constant ANY_SELECTOR = 0xffffffff;
    /// @notice Deepest level a child may sit at (roots are depth 0).
    uint8 public constant MAX_DEPTH = 8;
    /// @notice Most guards on one session.
    uint256 public constant MAX_GUARDS = 4;

    // Bits of `Core.flags`.
    uint8 private constant _F_ANY_TARGET = 1; // every target allowed
    uint8 private constant _F_GUARDS = 2; // guards attached
    uint8 private constant _F_TIMING = 4; // `_timing` in use (idle timeout, period, call limit)
    uint8 private constant _F_NATIVE_CAPS = 8; // the ETH budget has a per-call cap or periodic allowance
    uint8 private constant _F_CLOSED = 16; // settled: token burned, escrow returned

    /// @notice The factory that deploys the clones (forbidden as a target).
    address public immutable FACTORY;

    /*//////////////////////////////////////////////////////////////
                                STORAGE
    //////////////////////////////////////////////////////////////*/

    /// @dev The hot record of a session, one word, read by every call:
    /// [0..159] agent, [160..199] expiry (exclusive, unix seconds), [200..207] status (stored),
    /// [208..215] flags, [216..223] depth, [224..255] epoch (revoke-all generation at creation).
    /// The parent id lives in the ERC-721 ownership word's 96 spare bits (Solady "extra data"), which the
    /// mint writes anyway and a burn keeps.
    struct Core {
        address agent;
        uint40 expiry;
        Status status;
        uint8 flags;
        uint8 depth;
        uint32 epoch;
    }

    /// @dev Optional timing word, written only when a session uses it (`_F_TIMING`):
    /// [0..39] lastActive, [40..71] maxIdle (seconds), [72..103] period (seconds), [104..143] start of the
    /// first window (unix seconds), [144..159] maxCalls per window, [160..175] calls in the current window,
    /// [176..207] index of that window.
    struct Timing {
        uint40 lastActive;
        uint32 maxIdle;
        uint32 period;
        uint40 start;
        uint16 maxCalls;
        uint16 calls;
        uint32 callsWindow;
    }

    /// @dev Per session and token: [0..127] available (own unspent escrow), [128..255] spent (only grows).
    struct Budget {
        uint128 available;
        uint128 spent;
    }

    /// @dev Per session and token, optional: [0..127] per-call cap, [128..255] allowance per period (0 = none).
    struct Caps {
        uint128 perCall;
        uint128 perPeriod;
    }

    /// @dev Per session and token, optional: [0..127] spent in window `index`, [128..191] window index.
    struct Window {
        uint128 spent;
        uint64 index;
    }

    /// @dev Last anchored off-chain state: [0..255] root; [0..63] task counter, [64..103] when.
    struct Checkpoint {
        bytes32 root;
        uint64 taskCount;
        uint40 at;
    }

    // One word, read by every call: owner, session count, pause-all flag, revoke-all epoch.
    address private _owner;
    uint56 private _count;
    bool private _pausedAll;
    uint32 private _epoch;

    mapping(uint256 id => Core) private _core;
    mapping(uint256 id => Timing) private _timing;
    mapping(uint256 id => mapping(address token => Budget)) private _budgets;
    mapping(uint256 id => mapping(address token => Caps)) private _caps;
    mapping(uint256 id => mapping(address token => Window)) private _windows;
    /// @dev ERC-20 tokens a session holds a budget in (ETH is always looked at).
    mapping(uint256 id => address[]) private _erc20s;
    /// @dev keccak256(id, target, selector) => allowed.
    mapping(bytes32 key => bool) private _permissions;
    mapping(uint256 id => address[]) private _guards;
    mapping(uint256 id => bytes32) private _labels;
    mapping(uint256 id => Checkpoint) private _checkpoints;
    /// @dev Where a closed root paid out: later-closed descendants pay the same address.
    mapping(uint256 rootId => address) private _settledTo;
    /// @dev Tokens ever escrowed here; never valid call targets.
    mapping(address token => bool) private _escrowed;

    /// @dev Set only while a metered swap may send ETH back.
    bool private transient _acceptingETH;

    /*//////////////////////////////////////////////////////////////
                              CONSTRUCTION
    //////////////////////////////////////////////////////////////*/

    constructor() {
        FACTORY = msg.sender;
    }

    /// @inheritdoc ISessionManager
    function initialize(address owner_) external {
        // only the factory, right after cloning
        if (msg.sender != FACTORY) revert NotFactory(msg.sender);
        // once
        if (_owner != address(0)) revert AlreadyInitialized();
        _owner = owner_;
        emit OwnershipTransferred(address(0), owner_);
    }

    /// @dev Accepts ETH only as the output of a metered swap; anything else would be unaccounted.
    receive() external payable {
        if (!_acceptingETH) revert UnexpectedETH(msg.sender);
    }

    /*//////////////////////////////////////////////////////////////
                               OWNER-WIDE
    //////////////////////////////////////////////////////////////*/

    /// @inheritdoc ISessionManager
    function owner() external view returns (address) {
        return _owner;
    }

    /// @inheritdoc ISessionManager
    function transferOwnership(address newOwner) external {
        _requireOwner();
        emit OwnershipTransferred(_owner, newOwner);
        _owner = newOwner;
    }

    /// @inheritdoc ISessionManager
    function pauseAll() external {
        _requireOwner();
        _pausedAll = true;
        emit AllPaused(msg.sender);
    }

    /// @inheritdoc ISessionManager
    function unpauseAll() external {
        _requireOwner();
        _pausedAll = false;
        emit AllUnpaused(msg.sender);
    }

    /// @inheritdoc ISessionManager
    function revokeAll() external {
        _requireOwner();
        uint32 epoch = _epoch + 1;
        _epoch = epoch;
        emit AllRevoked(msg.sender, epoch);
    }

    /*//////////////////////////////////////////////////////////////
                                CREATION
    //////////////////////////////////////////////////////////////*/

    /// @inheritdoc ISessionManager
    function createSession(SessionParams calldata params) external payable nonReentrant returns (uint256 id) {
        _requireOwner();
        uint32 epoch;
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
        uint32 epoch;
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
        (Core memory parent, uint32 epoch) = _requireSpawner(parentId);
        (id,) = _reserveIds(1);
        _open(id, parentId, parent, params, epoch);
    }

    /// @inheritdoc ISessionManager
    function spawnChildren(uint256 parentId, SessionParams[] calldata params)
        external
        nonReentrant
        returns (uint256 firstId)
    {
        (Core memory parent, uint32 epoch) = _requireSpawner(parentId);
        (firstId,) = _reserveIds(params.length);
        for (uint256 i; i < params.length; ++i) {
            _open(firstId + i, parentId, parent, params[i], epoch);
        }
    }

    /// @inheritdoc ISessionManager
    function fund(uint256 id, address token, uint256 amount) external payable nonReentrant {
        Core memory c = _requireLive(id);
        uint256 received;
        if (c.depth == 0) {
            // a root is funded by a controller from outside
            if (!_isController(id, msg.sender)) revert NotController(id, msg.sender);
            received = _pull(token, amount);
        } else {
            // a child is funded out of its parent's unspent escrow, by the parent's agent or a controller
            uint256 parentId = _parentOf(id);
            if (msg.sender != _core[parentId].agent && !_isController(id, msg.sender)) {
                revert NotAgentOrController(id, msg.sender);
            }
            // no ETH from outside for a child
            if (msg.value != 0) revert NoValueExpected(msg.value);
            _debit(parentId, token, amount);
            received = amount;
        }
        _credit(id, token, received);
        emit SessionFunded(id, token, c.depth == 0 ? msg.sender : address(0), received);
    }

    /*//////////////////////////////////////////////////////////////
                                 EDITING
    //////////////////////////////////////////////////////////////*/

    /// @inheritdoc ISessionManager
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

    /// @inheritdoc ISessionManager
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

    /// @inheritdoc ISessionManager
    function setAnyTarget(uint256 id, bool allowed) external nonReentrant {
        Core memory c = _requireDraftController(id);
        if (allowed && c.depth != 0) _requireParentAllows(_parentOf(id), address(0), ANY_SELECTOR);
        c.flags = allowed ? c.flags | _F_ANY_TARGET : c.flags & ~_F_ANY_TARGET;
        _core[id] = c;
        emit AnyTargetSet(id, allowed);
    }

    /// @inheritdoc ISessionManager
    function addGuard(uint256 id, address guard) external nonReentrant {
        Core memory c = _requireDraftController(id);
        _addGuard(id, guard);
        c.flags |= _F_GUARDS;
        _core[id] = c;
    }

    /// @inheritdoc ISessionManager
    function updateTiming(uint256 id, uint32 maxIdle, uint32 period, uint16 maxCallsPerPeriod)
        external
        nonReentrant
    {
        Core memory c = _requireDraftController(id);
        // a call limit counts per period
        if (maxCallsPerPeriod != 0 && period == 0) revert PeriodRequired();
        _timing[id] = Timing(uint40(block.timestamp), maxIdle, period, uint40(block.timestamp), maxCallsPerPeriod, 0, 0);
        c.flags = (maxIdle | period | maxCallsPerPeriod) != 0 ? c.flags | _F_TIMING : c.flags & ~_F_TIMING;
        _core[id] = c;
        emit TimingUpdated(id, maxIdle, period, maxCallsPerPeriod);
    }

    /// @inheritdoc ISessionManager
    function updateLimits(uint256 id, address token, uint128 perCallCap, uint128 periodAllowance)
        external
        nonReentrant
    {
        Core memory c = _requireLiveController(id);
        c.flags = _setCaps(id, c.flags, token, perCallCap, periodAllowance);
        _core[id] = c;
    }

    /// @inheritdoc ISessionManager
    function updateExpiry(uint256 id, uint40 expiry) external nonReentrant {
        Core memory c = _requireLiveController(id);
        _requireExpiry(c.depth == 0 ? 0 : _parentOf(id), expiry);
        c.expiry = expiry;
        _core[id] = c;
        emit ExpiryUpdated(id, expiry);
        emit UpdateUser(id, c.agent, expiry);
    }

    /// @inheritdoc ISessionManager
    function rotateAgent(uint256 id, address newAgent) external nonReentrant {
        Core memory c = _requireLiveController(id);
        if (newAgent == address(0)) revert ZeroAgent();
        emit AgentRotated(id, c.agent, newAgent);
        c.agent = newAgent;
        _core[id] = c;
        emit UpdateUser(id, newAgent, c.expiry);
    }

    /*//////////////////////////////////////////////////////////////
                               LIFECYCLE
    //////////////////////////////////////////////////////////////*/

    /// @inheritdoc ISessionManager
    function pause(uint256 id) external nonReentrant {
        Core memory c = _requireLiveController(id);
        // only an active session pauses
        if (c.status != Status.Active) revert SessionNotActive(id, c.status);
        c.status = Status.Paused;
        _core[id] = c;
        emit SessionPaused(id, msg.sender);
    }

    /// @inheritdoc ISessionManager
    function resume(uint256 id) external nonReentrant {
        Core memory c = _requireLiveController(id);
        // only a paused session resumes
        if (c.status != Status.Paused) revert SessionNotPaused(id, c.status);
        c.status = Status.Active;
        _core[id] = c;
        emit SessionResumed(id, msg.sender);
    }

    /// @inheritdoc ISessionManager
    /// @dev O(1): descendants fail the ancestor check from this block on. No loop, no transfer.
    function revoke(uint256 id) external nonReentrant {
        Core memory c = _core[id];
        if (c.status == Status.None) revert SessionNotFound(id);
        // only a controller revokes
        if (!_isController(id, msg.sender)) revert NotController(id, msg.sender);
        // an ended session stays as it ended
        if (uint8(c.status) >= uint8(Status.Completed)) revert SessionEnded(id, c.status);
        c.status = Status.Revoked;
        _core[id] = c;
        emit SessionRevoked(id, msg.sender);
    }

    /// @inheritdoc ISessionManager
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

    /// @inheritdoc ISessionManager
    function close(uint256 id) external nonReentrant {
        _closeEnded(id, false);
    }

    /// @inheritdoc ISessionManager
    function closeMany(uint256[] calldata ids) external nonReentrant {
        for (uint256 i; i < ids.length; ++i) {
            _closeEnded(ids[i], true);
        }
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
        bytes4 selector = _selectorOf(data);
        _checkTarget(id, c, target, selector, NATIVE, value, data);
        if (value != 0) _spend(id, c, NATIVE, value);
        bool ok;
        (ok, result) = target.call{value: value}(data);
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
            bytes4 selector = _selectorOf(call_.data);
            _checkTarget(id, c, call_.target, selector, NATIVE, call_.value, call_.data);
            if (call_.value != 0) _spend(id, c, NATIVE, call_.value);
            (bool ok, bytes memory result) = call_.target.call{value: call_.value}(call_.data);
            if (!ok) revert BatchCallFailed(id, i, result);
            results[i] = result;
            emit Executed(id, call_.target, call_.value, selector);
        }
    }

    /// @inheritdoc ISessionManager
    function transferToken(uint256 id, address token, address to, uint256 amount) external nonReentrant {
        Core memory c = _authorize(id, 1);
        // the recipient is a payee: it must be allowed like a plain transfer
        _checkTarget(id, c, to, bytes4(0), token, amount, "");
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
        Core memory c = _authorize(id, 1);
        _checkTarget(id, c, target, _selectorOf(data), tokenIn, amountIn, data);
        // the approved amount must fit the budget and caps before anything moves
        _spendCheck(id, c, tokenIn, amountIn);
        uint256 inBefore = _balance(tokenIn);
        uint256 outBefore = _balance(tokenOut);
        _callWithAllowance(id, tokenIn, amountIn, tokenOut, target, data);
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

    /// @inheritdoc ISessionManager
    function checkpoint(uint256 id, bytes32 root, uint64 taskCount) external nonReentrant {
        _authorize(id, 0);
        Checkpoint storage cp = _checkpoints[id];
        // the task counter never goes back
        if (taskCount < cp.taskCount) revert TaskCountDecreased(id, cp.taskCount, taskCount);
        cp.root = root;
        cp.taskCount = taskCount;
        cp.at = uint40(block.timestamp);
        emit Checkpointed(id, root, taskCount);
    }

    /*//////////////////////////////////////////////////////////////
                                 VIEWS
    //////////////////////////////////////////////////////////////*/

    /// @inheritdoc ISessionManager
    function sessionCount() external view returns (uint256) {
        return _count;
    }

    /// @inheritdoc ISessionManager
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

    /// @inheritdoc ISessionManager
    function getSessions(uint256[] calldata ids) external view returns (SessionInfo[] memory infos) {
        infos = new SessionInfo[](ids.length);
        for (uint256 i; i < ids.length; ++i) {
            infos[i] = getSession(ids[i]);
        }
    }

    /// @inheritdoc ISessionManager
    function listSessions(uint256 fromId, uint256 limit) external view returns (SessionInfo[] memory infos) {
        uint256 count = _count;
        if (fromId == 0) fromId = 1;
        uint256 n = fromId > count ? 0 : count - fromId + 1;
        if (n > limit) n = limit;
        infos = new SessionInfo[](n);
        for (uint256 i; i < n; ++i) {
            infos[i] = getSession(fromId + i);
        }
    }

    /// @inheritdoc ISessionManager
    function statusOf(uint256 id) external view returns (Status) {
        return _statusOf(id, _core[id]);
    }

    /// @inheritdoc ISessionManager
    function remaining(uint256 id, address token) external view returns (uint256) {
        return _budgets[id][token].available;
    }

    /// @inheritdoc ISessionManager
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

    /// @inheritdoc ISessionManager
    function isController(uint256 id, address account) external view returns (bool) {
        return _isController(id, account);
    }

    /// @inheritdoc ISessionManager
    function isAllowed(uint256 id, address target, bytes4 selector) public view returns (bool) {
        if (selector == ANY_SELECTOR) return _permissions[_permissionKey(id, target, ANY_SELECTOR)];
        return _permissions[_permissionKey(id, target, selector)]
            || _permissions[_permissionKey(id, target, ANY_SELECTOR)];
    }

    /// @inheritdoc ISessionManager
    function guardsOf(uint256 id) external view returns (address[] memory) {
        return _guards[id];
    }

    /// @inheritdoc ISessionManager
    function check(uint256 id, address caller, address target, uint256 value, bytes calldata data)
        external
        view
        returns (bool ok, bytes memory reason)
    {
        try this.preflight(id, caller, target, value, data) {
            ok = true;
        } catch (bytes memory err) {
            reason = err;
        }
    }

    /// @inheritdoc ISessionManager
    function preflight(uint256 id, address caller, address target, uint256 value, bytes calldata data)
        external
        view
    {
        Core memory c = _core[id];
        _checkAgent(id, c, caller, 1);
        _checkTarget(id, c, target, _selectorOf(data), NATIVE, value, data);
        if (value != 0) _spendCheck(id, c, NATIVE, value);
    }

    /// @inheritdoc ISessionManager
    function isEscrowToken(address token) external view returns (bool) {
        return _escrowed[token];
    }

    /// @inheritdoc ISessionManager
    function globalState() external view returns (uint32 epoch, bool pausedAll) {
        return (_epoch, _pausedAll);
    }

    /*//////////////////////////////////////////////////////////////
                          INTERNAL: CREATION
    //////////////////////////////////////////////////////////////*/

    /// @dev Hands out `n` fresh ids; returns the first and the current epoch.
    function _reserveIds(uint256 n) internal returns (uint256 firstId, uint32 epoch) {
        uint56 count = _count;
        firstId = uint256(count) + 1;
        _count = count + uint56(n);
        epoch = _epoch;
    }

    /// @dev Checks the caller may spawn under `parentId` and that the parent can act.
    function _requireSpawner(uint256 parentId) internal view returns (Core memory parent, uint32 epoch) {
        parent = _core[parentId];
        if (parent.status == Status.None) revert SessionNotFound(parentId);
        // the parent's agent or a controller of the parent spawns
        if (msg.sender != parent.agent && !_isController(parentId, msg.sender)) {
            revert NotAgentOrController(parentId, msg.sender);
        }
        // only a parent that can act now spawns
        if (!_canAct(parentId, parent)) revert SessionNotActive(parentId, _statusOf(parentId, parent));
        // depth stays bounded so every ancestor walk is
        if (parent.depth >= MAX_DEPTH) revert DepthExceeded(parentId, MAX_DEPTH);
        epoch = parent.epoch;
    }

    /// @dev Writes session `id` (a root when `parentId` is 0) and mints its token to the caller. Returns the
    /// ETH amount a root must be sent.
    function _open(uint256 id, uint256 parentId, Core memory parent, SessionParams calldata p, uint32 epoch)
        internal
        returns (uint256 eth)
    {
        // an agent key is required
        if (p.agent == address(0)) revert ZeroAgent();
        _requireExpiry(parentId, p.expiry);
        // a call limit counts per period
        if (p.maxCallsPerPeriod != 0 && p.period == 0) revert PeriodRequired();

        uint8 flags;
        if (p.anyTarget) {
            // a child never gets more than its parent
            if (parentId != 0 && parent.flags & _F_ANY_TARGET == 0) {
                revert PermissionNotInParent(parentId, address(0), ANY_SELECTOR);
            }
            flags |= _F_ANY_TARGET;
        }
        if ((p.maxIdle | p.period | p.maxCallsPerPeriod) != 0) {
            flags |= _F_TIMING;
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
                // reserved out of the parent's unspent escrow, never shared
                _debit(parentId, b.token, amount);
            } else if (b.token == NATIVE) {
                eth += amount;
            } else {
                amount = _pull(b.token, amount);
            }
            _credit(id, b.token, amount);
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

    /// @dev Expiry must be in the future and, for a child, within its parent's.
    function _requireExpiry(uint256 parentId, uint40 expiry) internal view {
        if (expiry <= block.timestamp) revert ExpiryInPast(expiry, uint40(block.timestamp));
        if (parentId != 0) {
            uint40 parentExpiry = _core[parentId].expiry;
            if (expiry > parentExpiry) revert ExpiryExceedsParent(parentId, expiry, parentExpiry);
        }
    }

    /// @dev Reverts unless the parent may call `target` with `selector` (ANY_SELECTOR with a zero target asks
    /// for "every target").
    function _requireParentAllows(uint256 parentId, address target, bytes4 selector) internal view {
        if (_core[parentId].flags & _F_ANY_TARGET != 0) return;
        if (target == address(0) && selector == ANY_SELECTOR) {
            revert PermissionNotInParent(parentId, target, selector);
        }
        if (!isAllowed(parentId, target, selector)) revert PermissionNotInParent(parentId, target, selector);
    }

    function _addGuard(uint256 id, address guard) internal {
        // a guard is a contract
        if (guard.code.length == 0) revert InvalidGuard(guard);
        address[] storage guards = _guards[id];
        // bounded, so every call's guard loop is
        if (guards.length >= MAX_GUARDS) revert TooManyGuards(MAX_GUARDS);
        guards.push(guard);
        emit GuardAdded(id, guard);
    }

    /// @dev Stores the caps of `token`; returns `flags` with the ETH-caps bit kept in step.
    function _setCaps(uint256 id, uint8 flags, address token, uint128 perCallCap, uint128 periodAllowance)
        internal
        returns (uint8)
    {
        // periodic allowances need a period
        if (periodAllowance != 0 && _timing[id].period == 0) revert PeriodRequired();
        _caps[id][token] = Caps(perCallCap, periodAllowance);
        emit LimitsUpdated(id, token, perCallCap, periodAllowance);
        if (token != NATIVE) return flags;
        return (perCallCap | periodAllowance) != 0 ? flags | _F_NATIVE_CAPS : flags & ~_F_NATIVE_CAPS;
    }

    /*//////////////////////////////////////////////////////////////
                          INTERNAL: ESCROW
    //////////////////////////////////////////////////////////////*/

    /// @dev Takes `amount` of `token` from the caller into escrow; returns what arrived.
    function _pull(address token, uint256 amount) internal returns (uint256) {
        if (token == NATIVE) {
            if (msg.value != amount) revert ValueMismatch(amount, msg.value);
            return amount;
        }
        if (msg.value != 0) revert NoValueExpected(msg.value);
        uint256 before = SafeTransferLib.balanceOf(token, address(this));
        SafeTransferLib.safeTransferFrom(token, msg.sender, address(this), amount);
        uint256 received = SafeTransferLib.balanceOf(token, address(this)) - before;
        // a fee-on-transfer token credits what arrived; a token that claims more than was sent is refused
        if (received > amount || (amount != 0 && received == 0)) revert BalanceMismatch(token, amount, received);
        _escrowed[token] = true;
        return received;
    }

    /// @dev Adds `amount` of `token` to the escrow of `id`, registering the token.
    function _credit(uint256 id, address token, uint256 amount) internal {
        if (amount > type(uint128).max) revert AmountTooLarge(amount);
        Budget storage b = _budgets[id][token];
        uint256 available = b.available + amount;
        if (available > type(uint128).max) revert AmountTooLarge(available);
        if (token != NATIVE && !_holds(id, token)) {
            _erc20s[id].push(token);
            _escrowed[token] = true;
        }
        b.available = uint128(available);
    }

    /// @dev Moves `amount` of `token` out of the unspent escrow of `id` (a reservation for a child).
    function _debit(uint256 id, address token, uint256 amount) internal {
        Budget storage b = _budgets[id][token];
        uint256 available = b.available;
        if (amount > available) revert BudgetExceeded(id, token, amount, available);
        b.available = uint128(available - amount);
    }

    /// @dev Whether session `id` already lists ERC-20 `token`.
    function _holds(uint256 id, address token) internal view returns (bool) {
        address[] storage erc20s = _erc20s[id];
        for (uint256 i; i < erc20s.length; ++i) {
            if (erc20s[i] == token) return true;
        }
        return false;
    }

    function _balance(address token) internal view returns (uint256) {
        return token == NATIVE ? address(this).balance : SafeTransferLib.balanceOf(token, address(this));
    }

    /*//////////////////////////////////////////////////////////////
                          INTERNAL: ACTING
    //////////////////////////////////////////////////////////////*/

    /// @dev Checks the caller is the agent and the session can act, records `calls` calls; returns the core.
    function _authorize(uint256 id, uint256 calls) internal returns (Core memory c) {
        c = _core[id];
        (Timing memory t, bool timed) = _checkAgent(id, c, msg.sender, calls);
        if (timed) _timing[id] = t;
    }

    /// @dev The view half of `_authorize`: agent, liveness (own, ancestors, epoch, pause-all, time) and the
    /// call limit. Returns the updated timing word and whether it is in use.
    function _checkAgent(uint256 id, Core memory c, address caller, uint256 calls)
        internal
        view
        returns (Timing memory t, bool timed)
    {
        if (c.status == Status.None) revert SessionNotFound(id);
        // only the agent key acts
        if (caller != c.agent) revert NotAgent(id, caller);
        // active, same epoch, not paused manager-wide, not expired
        if (
            c.status != Status.Active || c.epoch != _epoch || _pausedAll || block.timestamp >= c.expiry
        ) revert SessionNotActive(id, _statusOf(id, c));
        timed = c.flags & _F_TIMING != 0;
        if (timed) {
            t = _timing[id];
            // idle for too long
            if (t.maxIdle != 0 && block.timestamp >= uint256(t.lastActive) + t.maxIdle) {
                revert SessionNotActive(id, Status.Expired);
            }
            if (t.maxCalls != 0) {
                uint32 window = uint32(_windowIndex(t));
                if (window != t.callsWindow) (t.callsWindow, t.calls) = (window, 0);
                // calls per period window
                if (uint256(t.calls) + calls > t.maxCalls) revert CallLimitExceeded(id, t.maxCalls);
                t.calls += uint16(calls);
            }
            t.lastActive = uint40(block.timestamp);
        }
        // every ancestor must be able to act too
        if (c.depth != 0 && !_ancestorsActive(id)) revert SessionNotActive(id, _statusOf(id, c));
    }

    /// @dev Forbidden targets, the allowlist and the guards of the session and its ancestors.
    function _checkTarget(
        uint256 id,
        Core memory c,
        address target,
        bytes4 selector,
        address token,
        uint256 amount,
        bytes memory data
    ) internal view {
        // never the manager, the factory or an escrowed token: those would bypass the metering
        if (target == address(this) || target == FACTORY || _escrowed[target]) revert ForbiddenTarget(id, target);
        if (c.flags & _F_ANY_TARGET == 0 && !isAllowed(id, target, selector)) {
            revert TargetNotAllowed(id, target, selector);
        }
        if (c.flags & _F_GUARDS == 0 && c.depth == 0) return;
        // the guards of the session and of every ancestor are asked
        uint256 cur = id;
        Core memory k = c;
        while (true) {
            if (k.flags & _F_GUARDS != 0) {
                address[] storage guards = _guards[cur];
                for (uint256 i; i < guards.length; ++i) {
                    _askGuard(guards[i], id, c.agent, target, token, amount, data);
                }
            }
            if (k.depth == 0) break;
            cur = _parentOf(cur);
            k = _core[cur];
        }
    }

    function _askGuard(
        address guard,
        uint256 id,
        address agent,
        address target,
        address token,
        uint256 amount,
        bytes memory data
    ) internal view {
        try ISessionGuard(guard).checkCall(address(this), id, agent, target, token, amount, data) returns (
            bool ok
        ) {
            if (!ok) revert GuardRejected(id, guard, "");
        } catch (bytes memory reason) {
            revert GuardRejected(id, guard, reason);
        }
    }

    /// @dev Charges `amount` of `token` to session `id` after checking budget and caps.
    function _spend(uint256 id, Core memory c, address token, uint256 amount) internal {
        (Budget memory b, Window memory w, bool windowed) = _spendCheck(id, c, token, amount);
        b.available -= uint128(amount);
        b.spent += uint128(amount);
        _budgets[id][token] = b;
        if (windowed) _windows[id][token] = w;
    }

    /// @dev The view half of `_spend`: returns the budget and window as they would be before the charge.
    function _spendCheck(uint256 id, Core memory c, address token, uint256 amount)
        internal
        view
        returns (Budget memory b, Window memory w, bool windowed)
    {
        b = _budgets[id][token];
        // never more than the unspent escrow
        if (amount > b.available) revert BudgetExceeded(id, token, amount, b.available);
        if (token == NATIVE && c.flags & _F_NATIVE_CAPS == 0) return (b, w, false);
        Caps memory k = _caps[id][token];
        // per-call cap
        if (k.perCall != 0 && amount > k.perCall) revert PerCallCapExceeded(id, token, amount, k.perCall);
        if (k.perPeriod != 0) {
            w = _windows[id][token];
            uint64 index = uint64(_windowIndex(_timing[id]));
            if (w.index != index) (w.index, w.spent) = (index, 0);
            uint256 left = k.perPeriod - w.spent;
            // allowance of the current period window
            if (amount > left) revert PeriodAllowanceExceeded(id, token, amount, left);
            w.spent += uint128(amount);
            windowed = true;
        }
    }

    /// @dev Approve (or send as value) -> call -> reset, with ETH accepted back only during the call.
    function _callWithAllowance(
        uint256 id,
        address tokenIn,
        uint256 amountIn,
        address tokenOut,
        address target,
        bytes calldata data
    ) internal {
        uint256 value;
        if (tokenIn == NATIVE) value = amountIn;
        else SafeTransferLib.safeApprove(tokenIn, target, amountIn);
        if (tokenOut == NATIVE) _acceptingETH = true;
        (bool ok, bytes memory result) = target.call{value: value}(data);
        if (!ok) revert CallFailed(id, target, result);
        _acceptingETH = false;
        // no standing allowance survives the call
        if (tokenIn != NATIVE) SafeTransferLib.safeApprove(tokenIn, target, 0);
    }

    function _selectorOf(bytes calldata data) internal pure returns (bytes4) {
        return data.length >= 4 ? bytes4(data[:4]) : bytes4(0);
    }

    function _permissionKey(uint256 id, address target, bytes4 selector) internal pure returns (bytes32 key) {
        /// @solidity memory-safe-assembly
        assembly {
            let m := mload(0x40)
            mstore(m, id)
            mstore(add(m, 0x20), target)
            mstore(add(m, 0x40), selector)
            key := keccak256(m, 0x60)
        }
    }

    /*//////////////////////////////////////////////////////////////
                          INTERNAL: LIFECYCLE
    //////////////////////////////////////////////////////////////*/

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
        } else {
            SafeTransferLib.safeTransfer(token, payee, amount);
        }
        emit EscrowReturned(id, token, dest, dest == 0 ? payee : address(0), amount);
    }

    /*//////////////////////////////////////////////////////////////
                          INTERNAL: STATUS
    //////////////////////////////////////////////////////////////*/

    /// @dev Effective status: stored status, then revoke-all, time, ancestors and pauses.
    function _statusOf(uint256 id, Core memory c) internal view returns (Status) {
        if (c.status == Status.None || uint8(c.status) >= uint8(Status.Completed)) return c.status;
        if (c.epoch != _epoch) return Status.Revoked;
        if (_timedOut(id, c)) return Status.Expired;
        bool paused = c.status == Status.Paused || _pausedAll;
        uint256 cur = id;
        Core memory k = c;
        while (k.depth != 0) {
            cur = _parentOf(cur);
            k = _core[cur];
            // a session ends with any ancestor
            if (uint8(k.status) >= uint8(Status.Completed) || _timedOut(cur, k)) return Status.Revoked;
            if (k.status == Status.Paused) paused = true;
        }
        if (c.status == Status.Draft) return Status.Draft;
        return paused ? Status.Paused : Status.Active;
    }

    /// @dev Whether `id` (with core `c`) and all its ancestors can act now.
    function _canAct(uint256 id, Core memory c) internal view returns (bool) {
        if (c.status != Status.Active || c.epoch != _epoch || _pausedAll || _timedOut(id, c)) return false;
        return c.depth == 0 || _ancestorsActive(id);
    }

    function _ancestorsActive(uint256 id) internal view returns (bool) {
        uint256 cur = _parentOf(id);
        while (cur != 0) {
            Core memory k = _core[cur];
            if (k.status != Status.Active || _timedOut(cur, k)) return false;
            cur = k.depth == 0 ? 0 : _parentOf(cur);
        }
        return true;
    }

    /// @dev Past its expiry or idle for longer than `maxIdle`.
    function _timedOut(uint256 id, Core memory c) internal view returns (bool) {
        if (block.timestamp >= c.expiry) return true;
        if (c.flags & _F_TIMING == 0) return false;
        Timing memory t = _timing[id];
        return t.maxIdle != 0 && block.timestamp >= uint256(t.lastActive) + t.maxIdle;
    }

    function _isLiveStatus(Status s) internal pure returns (bool) {
        return s == Status.Draft || s == Status.Active || s == Status.Paused;
    }

    /// @dev Index of the current period window (0 when there are no periods).
    function _windowIndex(Timing memory t) internal view returns (uint256) {
        if (t.period == 0 || block.timestamp < t.start) return 0;
        return (block.timestamp - t.start) / t.period;
    }

    /*//////////////////////////////////////////////////////////////
                          INTERNAL: ACCESS
    //////////////////////////////////////////////////////////////*/

    function _requireOwner() internal view {
        if (msg.sender != _owner) revert NotManagerOwner(msg.sender);
    }

    function _parentOf(uint256 id) internal view returns (uint256) {
        return _getExtraData(id);
    }

    /// @dev The holder of `id`, or a controller of any ancestor.
    function _isController(uint256 id, address account) internal view returns (bool) {
        while (id != 0) {
            if (_ownerOf(id) == account) return true;
            id = _parentOf(id);
        }
        return false;
    }

    /// @dev Existing, live (not ended) session; returns its core.
    function _requireLive(uint256 id) internal view returns (Core memory c) {
        c = _core[id];
        if (c.status == Status.None) revert SessionNotFound(id);
        Status status = _statusOf(id, c);
        if (!_isLiveStatus(status)) revert SessionEnded(id, status);
    }

    function _requireLiveController(uint256 id) internal view returns (Core memory c) {
        c = _requireLive(id);
        if (!_isController(id, msg.sender)) revert NotController(id, msg.sender);
    }

    function _requireDraftController(uint256 id) internal view returns (Core memory c) {
        c = _requireLiveController(id);
        if (c.status != Status.Draft) revert SessionNotDraft(id, c.status);
    }

    /// @dev Solady's guard, always on transient storage (every chain we target has EIP-1153).
    function _useTransientReentrancyGuardOnlyOnMainnet() internal pure override returns (bool) {
        return false;
    }

    /*//////////////////////////////////////////////////////////////
                          INTERNAL: TOKEN HOOKS
    //////////////////////////////////////////////////////////////*/

    function _tokenUser(uint256 id) internal view override returns (address) {
        Core memory c = _core[id];
        return _statusOf(id, c) == Status.Active ? c.agent : address(0);
    }

    function _tokenExpires(uint256 id) internal view override returns (uint256) {
        return _core[id].expiry;
    }

    function _attributesJSON(uint256 id) internal view override returns (string memory json) {
        SessionInfo memory s = getSession(id);
        json = string.concat(
            "[",
            _trait("label", LibString.fromSmallString(s.label)),
            ",",
            _trait("status", _statusName(s.status)),
            ",",
            _trait("agent", s.agent.toHexString()),
            ",",
            _numberTrait("expiry", s.expiry),
            ",",
            _numberTrait("depth", s.depth),
            ",",
            _numberTrait("parent", s.parentId)
        );
        for (uint256 i; i < s.budgets.length; ++i) {
            BudgetInfo memory b = s.budgets[i];
            string memory key = b.token == NATIVE ? "ETH" : b.token.toHexString();
            json = string.concat(
                json,
                ",",
                _numberTrait(string.concat("available ", key), b.available),
                ",",
                _numberTrait(string.concat("spent ", key), b.spent)
            );
        }
        json = string.concat(json, "]");
    }

    function _statusName(Status s) internal pure returns (string memory) {
        if (s == Status.Draft) return "draft";
        if (s == Status.Active) return "active";
        if (s == Status.Paused) return "paused";
        if (s == Status.Completed) return "completed";
        if (s == Status.Revoked) return "revoked";
        if (s == Status.Expired) return "expired";
        return "none";
    }
}
