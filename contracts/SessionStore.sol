// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

import {SafeTransferLib} from "solady/utils/SafeTransferLib.sol";
import {ISessionGuard} from "./interfaces/ISessionGuard.sol";
import {ReentrancyGuardTransient} from "solady/utils/ReentrancyGuardTransient.sol";
import {ISessionTypes} from "./interfaces/ISessionTypes.sol";
import {SessionToken} from "./SessionToken.sol";

/// @title SessionStore
/// @notice The storage layout and the rules shared by SessionManager (hot paths) and the modules it runs by
/// delegatecall on the same storage (SessionManagerExtension, SessionViews). All inherit it, so the layout cannot
/// drift.
///
/// Storage layout (slots in declaration order; bit 0 is the least significant):
///
///     slot 0     _owner [0..159] | _count [160..191] | _pausedAll [192..199] | _epoch [200..223] |
///                _revokedThrough [224..255]
///     slot 1     _core[id]                  agent [0..159] | expiry [160..191] | status [192..199] |
///                                           flags [200..215] | depth [216..223] | parent [224..255]
///     slot 2     _timing[id]                lastActive [0..39] | maxIdle [40..71] | period [72..103] |
///                                           start [104..143] | maxCalls [144..159] | calls [160..175] |
///                                           callsWindow [176..207]          (written only with _F_TIMING)
///     slot 3     _budgets[id][token]        available [0..127] | spent [128..255]   (ERC-20 rows; ETH: below)
///     slot 4     _caps[id][token]           perCall [0..127] | perPeriod [128..255]   (0 = none)
///     slot 5     _windows[id][token]        spent [0..127] | index [128..191]
///     slot 6     _erc20s[id]                the ERC-20 budget rows of a session (ETH's row is _F_NATIVE_ROW)
///     slot 7     _permissions[key]          key = keccak256(id, target, selector)
///     slot 8     _guards[id]                at most MAX_GUARDS
///     slot 9     _labels[id]
///     slot 10    _checkpoints[id]           root (word 0); taskCount [0..63] | at [64..103] (word 1)
///     slot 11    _settledTo[rootId]         where a closed root paid out
///     slot 12    _escrowed[token]
///     slot 13    _owed[payee][token]
///     slot 14    _owedTotal[token]
///     slot 15    _rotatedOut[id][key]       (read only under _F_ROTATED)
///     slot 16    _deposits[account]         ETH not allocated to any session (signed grants draw on it)
///     slot 17    _nonces[signer][word]      used signature nonces, a bitmap of 256 per word
///     slot 18    _maxRelayFee[id]           most a relayer is paid per signed execute (0 = none)
///     Solady ERC721 (hashed slots): ownership word owner [0..159] | extra data = unspent ETH escrow [160..255];
///                                   balance word balance [0..31] | aux [32..255]
///     transient: Solady's reentrancy guard; _acceptingETH
///
/// A session is two words, both written once when it opens: the core (agent and rules) and the token's ownership
/// word (holder and unspent ETH). An ETH budget has no word of its own: its lifetime spending is not kept on
/// chain (every ETH spend is in an event: Executed, TokenTransferred, Swapped, RelayFeePaid), which saves a fresh
/// slot per session. Ids are 32-bit (a parent id fits the core word); revoke-all revokes every id up to
/// `_revokedThrough`, so no session carries an epoch.
///
/// Flags (`Core.flags`): 1 any target, 2 guards, 4 timing word in use, 8 ETH caps, 16 closed, 32 an ancestor has
/// guards, 64 an ancestor limits calls, 128 idle timeout, 256 some ERC-20 caps, 512 ETH budget row, 1024 a key
/// was rotated out by a controller.
abstract contract SessionStore is ISessionTypes, SessionToken, ReentrancyGuardTransient {
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

    /// @dev The EIP-712 domain's name and version (ERC-5267 `eip712Domain`, served by SessionViews; signatures are
    /// checked by SessionSignatures).
    string internal constant _DOMAIN_NAME = "Agent Sessions";
    string internal constant _DOMAIN_VERSION = "1";

    /// @notice Gas each ERC-20 settlement payout may use. A token that needs more, or burns it, is deferred as a
    /// claim, so a close completes whatever tokens it holds (ETH payouts are forced with Solady's bounded
    /// stipend: a payee cannot refuse them).
    uint256 public constant PAYOUT_GAS = 150_000;

    // Bits of `Core.flags`.
    uint16 internal constant _F_ANY_TARGET = 1; // every target allowed
    uint16 internal constant _F_GUARDS = 2; // guards attached
    uint16 internal constant _F_TIMING = 4; // `_timing` in use (idle timeout, period, call limit)
    uint16 internal constant _F_NATIVE_CAPS = 8; // the ETH budget has a per-call cap or periodic allowance
    uint16 internal constant _F_CLOSED = 16; // settled: token burned, escrow returned
    uint16 internal constant _F_ANCESTOR_GUARDS = 32; // some ancestor has guards (frozen once it is active)
    uint16 internal constant _F_ANCESTOR_CALL_LIMIT = 64; // some ancestor limits calls per period (counts ours)
    uint16 internal constant _F_IDLE = 128; // an idle timeout is set (`_timing.maxIdle != 0`)
    uint16 internal constant _F_TOKEN_CAPS = 256; // some ERC-20 budget has (or had) a cap or allowance
    uint16 internal constant _F_NATIVE_ROW = 512; // the session has an ETH budget row (it may hold ETH)
    uint16 internal constant _F_ROTATED = 1024; // a controller rotated some key out of it (see `_rotatedOut`)


    /*//////////////////////////////////////////////////////////////
                                   STORAGE
    //////////////////////////////////////////////////////////////*/

    /// @dev The hot record of a session, one word, read by every call:
    /// [0..159] agent, [160..191] expiry (exclusive, unix seconds), [192..199] status (stored),
    /// [200..215] flags, [216..223] depth, [224..255] parent id (0 for a root).
    /// The unspent ETH lives in the ERC-721 ownership word's 96 spare bits (Solady "extra data"), which the
    /// mint writes anyway.
    struct Core {
        address agent;
        uint32 expiry;
        Status status;
        uint16 flags;
        uint8 depth;
        uint32 parent;
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

    /// @dev Per session and ERC-20 token: [0..127] available (own unspent escrow), [128..255] spent (only grows).
    /// An ETH budget is the ownership word's extra data (available only; see the layout).
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

    // One word, read by every call: owner, session count (the last id), pause-all flag, how many revoke-alls, and
    // the last id the latest revoke-all revoked.
    address internal _owner;
    uint32 internal _count;
    bool internal _pausedAll;
    uint24 internal _epoch;
    uint32 internal _revokedThrough;

    mapping(uint256 id => Core) internal _core;
    mapping(uint256 id => Timing) internal _timing;
    mapping(uint256 id => mapping(address token => Budget)) internal _budgets;
    mapping(uint256 id => mapping(address token => Caps)) internal _caps;
    mapping(uint256 id => mapping(address token => Window)) internal _windows;
    /// @dev ERC-20 tokens a session holds a budget in (ETH is always looked at).
    mapping(uint256 id => address[]) internal _erc20s;
    /// @dev keccak256(id, target, selector) => allowed.
    mapping(bytes32 key => bool) internal _permissions;
    mapping(uint256 id => address[]) internal _guards;
    mapping(uint256 id => bytes32) internal _labels;
    mapping(uint256 id => Checkpoint) internal _checkpoints;
    /// @dev Where a closed root paid out: later-closed descendants pay the same address.
    mapping(uint256 rootId => address) internal _settledTo;
    /// @dev Tokens ever escrowed here; never valid call targets.
    mapping(address token => bool) internal _escrowed;
    /// @dev ERC-20 payouts a token refused at settlement (a blocklist, a pause), claimable by their payee.
    mapping(address payee => mapping(address token => uint256)) internal _owed;
    /// @dev Sum of `_owed` per token: what the manager holds beyond the sessions' escrow.
    mapping(address token => uint256) internal _owedTotal;
    /// @dev Keys a controller rotated out of a session: they lose every power over it and its descendants.
    mapping(uint256 id => mapping(address key => bool)) internal _rotatedOut;
    /// @dev ETH an account keeps here unallocated (the owner's deposit funds the ETH budgets of signed grants).
    mapping(address account => uint256) internal _deposits;
    /// @dev Used (or cancelled) signature nonces per signer: bit `nonce & 255` of word `nonce >> 8`.
    mapping(address signer => mapping(uint256 word => uint256)) internal _nonces;
    /// @dev Most a relayer may be paid per signed execute of a session (0 = no fee).
    mapping(uint256 id => uint256) internal _maxRelayFee;

    /// @dev Set only while a metered swap may send ETH back.
    bool internal transient _acceptingETH;

    /*//////////////////////////////////////////////////////////////
                               INTERNAL: STATUS
    //////////////////////////////////////////////////////////////*/

    /// @dev Effective status: stored status, then revoke-all, time, ancestors and pauses.
    function _statusOf(uint256 id, Core memory c) internal view returns (Status) {
        if (c.status == Status.None || uint8(c.status) >= uint8(Status.Completed)) return c.status;
        if (id <= _revokedThrough) return Status.Revoked;
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
        if (c.status != Status.Active || id <= _revokedThrough || _pausedAll || _timedOut(id, c)) return false;
        return c.depth == 0 || _ancestorsActive(id);
    }

    function _ancestorsActive(uint256 id) internal view returns (bool active) {
        (active,) = _ancestorsState(id);
    }

    /// @dev Whether every ancestor of `id` can act now, and whether a controller rotated a key out of any of them
    /// (one walk for both: the agent check needs both).
    function _ancestorsState(uint256 id) internal view returns (bool active, bool rotated) {
        uint256 cur = _parentOf(id);
        while (cur != 0) {
            Core memory k = _core[cur];
            if (k.status != Status.Active || _timedOut(cur, k)) return (false, rotated);
            if (k.flags & _F_ROTATED != 0) rotated = true;
            cur = k.depth == 0 ? 0 : _parentOf(cur);
        }
        active = true;
    }

    /*//////////////////////////////////////////////////////////////
                             INTERNAL: ROTATION
    //////////////////////////////////////////////////////////////*/

    /// @dev Reverts when a controller rotated `key` out of `id` (core `c`) or of an ancestor: every power the
    /// key had over that subtree (agent of a descendant, holder of a descendant's token) lapsed with it. Costs
    /// nothing beyond the (warm) ancestor walk while no rotation happened on the path.
    function _requireNotRotatedOut(uint256 id, Core memory c, address key) internal view {
        if (_rotationOnPath(id, c) && _isStale(id, key)) revert RotatedOut(id, key);
    }

    /// @dev Whether a controller ever rotated a key out of `id` (core `c`) or of one of its ancestors.
    function _rotationOnPath(uint256 id, Core memory c) internal view returns (bool) {
        while (true) {
            if (c.flags & _F_ROTATED != 0) return true;
            if (c.depth == 0) return false;
            id = _parentOf(id);
            c = _core[id];
        }
    }

    /// @dev Whether a controller rotated `key` out of `id` or of an ancestor `y`, and `key` is not the agent of
    /// `y` or of any session above it now (a key granted a role again has that role's powers again).
    function _isStale(uint256 id, address key) internal view returns (bool stale) {
        while (id != 0) {
            if (_rotatedOut[id][key]) stale = true;
            if (stale && _core[id].agent == key) stale = false;
            id = _parentOf(id);
        }
    }

    /// @dev Past its expiry or idle for longer than `maxIdle`.
    function _timedOut(uint256 id, Core memory c) internal view returns (bool) {
        if (block.timestamp >= c.expiry) return true;
        // the timing word is read only when an idle timeout is set
        if (c.flags & _F_IDLE == 0) return false;
        Timing memory t = _timing[id];
        return block.timestamp >= uint256(t.lastActive) + t.maxIdle;
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
        return _core[id].parent;
    }

    /// @dev The holder of `id` or of an ancestor, unless a controller rotated `account` out of the path since.
    function _isController(uint256 id, address account) internal view returns (bool found) {
        // a burned token's owner reads as zero: nobody controls through it
        if (account == address(0)) return false;
        bool rotated = false;
        // to the root even once found: a rotation above the holder's level takes the holder's power too
        for (uint256 cur = id; cur != 0; cur = _parentOf(cur)) {
            if (_ownerOf(cur) == account) found = true;
            if (_core[cur].flags & _F_ROTATED != 0) rotated = true;
        }
        if (found && rotated) found = !_isStale(id, account);
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
                               INTERNAL: RULES
    //////////////////////////////////////////////////////////////*/

    /// @dev Expiry must be in the future, fit the core word (32 bits: before 2106-02-07) and, for a child, be
    /// within its parent's.
    function _requireExpiry(uint256 parentId, uint40 expiry) internal view {
        if (expiry <= block.timestamp) revert ExpiryInPast(expiry, uint40(block.timestamp));
        if (expiry > type(uint32).max) revert ExpiryTooLate(expiry, type(uint32).max);
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
        if (!_isAllowed(parentId, target, selector)) revert PermissionNotInParent(parentId, target, selector);
    }

    /// @dev Exact selector or ANY_SELECTOR on the allowlist of `id`.
    function _isAllowed(uint256 id, address target, bytes4 selector) internal view returns (bool) {
        if (selector == ANY_SELECTOR) return _permissions[_permissionKey(id, target, ANY_SELECTOR)];
        return _permissions[_permissionKey(id, target, selector)]
            || _permissions[_permissionKey(id, target, ANY_SELECTOR)];
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
    function _setCaps(uint256 id, uint16 flags, address token, uint128 perCallCap, uint128 periodAllowance)
        internal
        returns (uint16)
    {
        // periodic allowances need a period
        if (periodAllowance != 0 && _timing[id].period == 0) revert PeriodRequired();
        _caps[id][token] = Caps(perCallCap, periodAllowance);
        emit LimitsUpdated(id, token, perCallCap, periodAllowance);
        bool capped = (perCallCap | periodAllowance) != 0;
        // one flag stands for every ERC-20 of the session: set by the first cap, never cleared
        if (token != NATIVE) return capped ? flags | _F_TOKEN_CAPS : flags;
        return capped ? flags | _F_NATIVE_CAPS : flags & ~_F_NATIVE_CAPS;
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
                               INTERNAL: ESCROW
    //////////////////////////////////////////////////////////////*/

    /// @dev Takes `amount` of ERC-20 `token` from `from` (on its allowance to the manager) into escrow; returns
    /// what arrived.
    function _pullERC20(address token, address from, uint256 amount) internal returns (uint256) {
        // nothing to move (and a zero budget must not mark the token as escrowed)
        if (amount == 0) return 0;
        uint256 before = SafeTransferLib.balanceOf(token, address(this));
        SafeTransferLib.safeTransferFrom(token, from, address(this), amount);
        uint256 received = SafeTransferLib.balanceOf(token, address(this)) - before;
        // a fee-on-transfer token credits what arrived; a token that claims more than was sent is refused
        if (received > amount || (amount != 0 && received == 0)) revert BalanceMismatch(token, amount, received);
        _escrowed[token] = true;
        return received;
    }

    /// @dev Adds `amount` of `token` to the escrow of `id`, registering the ERC-20 as a budget row of the
    /// session (even for zero: a row declares the token, and its caps, before any arrives) and as escrowed.
    /// Callers decide who may add a row (see `_hasRow`); ETH rows are a flag the callers set.
    function _credit(uint256 id, address token, uint256 amount) internal {
        if (token != NATIVE && !_holds(id, token)) {
            _erc20s[id].push(token);
            _escrowed[token] = true;
        }
        if (amount == 0) return;
        _setAvailable(id, token, _available(id, token) + amount);
    }

    /// @dev The unspent escrow of `token` in session `id`: ETH in the ownership word's extra data (96 bits), an
    /// ERC-20 in its budget word (128 bits).
    function _available(uint256 id, address token) internal view returns (uint256) {
        return token == NATIVE ? _getExtraData(id) : _budgets[id][token].available;
    }

    /// @dev Sets the unspent escrow of `token` in session `id`; reverts when it does not fit its field.
    function _setAvailable(uint256 id, address token, uint256 amount) internal {
        if (amount > (token == NATIVE ? type(uint96).max : type(uint128).max)) revert AmountTooLarge(amount);
        if (token == NATIVE) _setExtraData(id, uint96(amount));
        else _budgets[id][token].available = uint128(amount);
    }

    /// @dev Whether session `id` already lists ERC-20 `token`.
    function _holds(uint256 id, address token) internal view returns (bool) {
        address[] storage erc20s = _erc20s[id];
        for (uint256 i; i < erc20s.length; ++i) {
            if (erc20s[i] == token) return true;
        }
        return false;
    }

    /*//////////////////////////////////////////////////////////////
                           INTERNAL: AUTHORIZATION
    //////////////////////////////////////////////////////////////*/

    /// @dev Checks `actor` is the agent and the session can act, records `calls` calls; returns the core.
    function _authorize(uint256 id, address actor, uint256 calls) internal returns (Core memory c) {
        c = _core[id];
        (Timing memory t, bool timed) = _checkAgent(id, c, actor, calls);
        if (timed) _timing[id] = t;
        if (c.flags & _F_ANCESTOR_CALL_LIMIT != 0 && calls != 0) _countAncestorCalls(id, calls);
    }

    /// @dev The factory that deployed this manager (an immutable of the manager's code).
    function _factory() internal view virtual returns (address);

    /// @dev This manager's executor (derived from an immutable of the manager's code).
    function _executor() internal view virtual returns (address);

    /// @dev Whether session `id` (core `c`) limits its calls per period.
    function _limitsCalls(uint256 id, Core memory c) internal view returns (bool) {
        return c.flags & _F_TIMING != 0 && _timing[id].maxCalls != 0;
    }

    /// @dev A call limit bounds a whole subtree: every ancestor that limits calls counts ours too.
    function _countAncestorCalls(uint256 id, uint256 calls) internal {
        uint256 cur = _parentOf(id);
        while (cur != 0) {
            Core memory k = _core[cur];
            if (k.flags & _F_TIMING != 0) {
                Timing memory t = _timing[cur];
                if (t.maxCalls != 0) {
                    _countCalls(cur, t, calls);
                    _timing[cur] = t;
                }
            }
            cur = k.depth == 0 ? 0 : _parentOf(cur);
        }
    }

    /// @dev Adds `calls` to the current window of `t` (session `id`), reverting past its limit.
    function _countCalls(uint256 id, Timing memory t, uint256 calls) internal view {
        uint32 window = uint32(_windowIndex(t));
        if (window != t.callsWindow) (t.callsWindow, t.calls) = (window, 0);
        // calls per period window
        if (uint256(t.calls) + calls > t.maxCalls) revert CallLimitExceeded(id, t.maxCalls);
        t.calls += uint16(calls);
    }

    /// @dev The view half of `_authorize`: agent, liveness (own, ancestors, revoke-all, pause-all, time) and the
    /// call limit. Returns the updated timing word and whether it is in use.
    function _checkAgent(uint256 id, Core memory c, address caller, uint256 calls)
        internal
        view
        returns (Timing memory t, bool timed)
    {
        if (c.status == Status.None) revert SessionNotFound(id);
        // only the agent key acts
        if (caller != c.agent) revert NotAgent(id, caller);
        // active, not revoked by revoke-all, not paused manager-wide, not expired
        if (
            c.status != Status.Active || id <= _revokedThrough || _pausedAll || block.timestamp >= c.expiry
        ) revert SessionNotActive(id, _statusOf(id, c));
        timed = c.flags & _F_TIMING != 0;
        if (timed) {
            t = _timing[id];
            // idle for too long
            if (t.maxIdle != 0 && block.timestamp >= uint256(t.lastActive) + t.maxIdle) {
                revert SessionNotActive(id, Status.Expired);
            }
        }
        // every ancestor must be able to act too (before the call limit: a session cut off from its tree reports
        // that, not a used-up limit), and no controller rotated this key out of the path
        if (c.depth != 0) {
            (bool active, bool rotated) = _ancestorsState(id);
            if (!active) revert SessionNotActive(id, _statusOf(id, c));
            if ((rotated || c.flags & _F_ROTATED != 0) && _isStale(id, caller)) revert RotatedOut(id, caller);
        }
        if (timed) {
            if (t.maxCalls != 0) _countCalls(id, t, calls);
            t.lastActive = uint40(block.timestamp);
        }
    }

    /*//////////////////////////////////////////////////////////////
                              INTERNAL: TARGETS
    //////////////////////////////////////////////////////////////*/

    /// @dev Forbidden targets, the allowlist and the guards of the session and its ancestors.
    function _checkTarget(
        uint256 id,
        Core memory c,
        address target,
        bytes4 selector,
        address token,
        uint256 amount,
        bytes calldata data
    ) internal view {
        // never the manager, the factory or an escrowed token (a call to one would bypass the metering, ETH sent
        // to one could credit the manager with an unaccounted balance), nor the executor (it must hold nothing). An
        // escrowed token always has code, so a target without code skips that lookup; an ERC-20 payout (no
        // calldata, no ETH) never calls its payee, so it does not need it either
        if (token == NATIVE || data.length != 0) {
            // the manager, the executor, the factory and every escrowed token have code: a payee without code is
            // none of them (the common case, a plain payment, skips every lookup)
            if (
                target.code.length != 0
                    && (target == address(this) || target == _executor() || target == _factory() || _escrowed[target])
            ) revert ForbiddenTarget(id, target);
        } else if (target == address(this) || target == _executor() || target == _factory()) {
            revert ForbiddenTarget(id, target);
        }
        if (c.flags & _F_ANY_TARGET == 0) {
            // selector 0 with calldata is a real selector: the plain-transfer entry (selector 0) does not cover it,
            // only ANY_SELECTOR does
            bool allowed = selector == bytes4(0) && data.length != 0
                ? _permissions[_permissionKey(id, target, ANY_SELECTOR)]
                : _isAllowed(id, target, selector);
            if (!allowed) revert TargetNotAllowed(id, target, selector);
        }
        if (c.flags & (_F_GUARDS | _F_ANCESTOR_GUARDS) == 0) return;
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

    /// @dev Asks one guard. Low-level, so a guard that reverts, returns nothing, returns garbage or `false` is
    /// reported as GuardRejected with whatever it answered, never as an opaque decoding failure.
    function _askGuard(
        address guard,
        uint256 id,
        address agent,
        address target,
        address token,
        uint256 amount,
        bytes calldata data
    ) internal view {
        (bool ok, bytes memory answer) = guard.staticcall(
            abi.encodeCall(ISessionGuard.checkCall, (address(this), id, agent, target, token, amount, data))
        );
        if (!ok || answer.length != 32 || uint256(bytes32(answer)) != 1) revert GuardRejected(id, guard, answer);
    }

    /*//////////////////////////////////////////////////////////////
                              INTERNAL: CALLDATA
    //////////////////////////////////////////////////////////////*/

    /// @dev The selector of a call of session `id`: 0 for a plain transfer (no calldata); 1 to 3 bytes are
    /// neither and are refused.
    function _selectorOf(uint256 id, bytes calldata data) internal pure returns (bytes4) {
        if (data.length >= 4) return bytes4(data[:4]);
        // a stub shorter than a selector would pass as a plain transfer
        if (data.length != 0) revert CalldataTooShort(id, data.length);
        return bytes4(0);
    }

    /*//////////////////////////////////////////////////////////////
                              INTERNAL: CHARGING
    //////////////////////////////////////////////////////////////*/

    /// @dev Charges a spend of `amount` of `token` by session `id` (core `c`): its unspent escrow (and an
    /// ERC-20's lifetime `spent`), then the per-call cap and period allowance of the session and of every ancestor,
    /// so a parent's limits bind whatever its descendants spend, whenever they spend it.
    function _spend(uint256 id, Core memory c, address token, uint256 amount) internal {
        uint256 available = _available(id, token);
        // never more than the unspent escrow
        if (amount > available) revert BudgetExceeded(id, token, amount, available);
        if (token == NATIVE) {
            // no lifetime counter for ETH (its events carry every spend): one write of the ownership word
            _setExtraData(id, uint96(available - amount));
        } else {
            Budget storage slot = _budgets[id][token];
            // lifetime spending can outgrow one funding after refills: fail clearly, never wrap
            uint256 spent = uint256(slot.spent) + amount;
            if (spent > type(uint128).max) revert AmountTooLarge(spent);
            // one write of the packed word (available [0..127] | spent [128..255])
            /// @solidity memory-safe-assembly
            assembly {
                sstore(slot.slot, or(sub(available, amount), shl(128, spent)))
            }
        }
        if (_hasCaps(c, token)) {
            (Window memory w, bool windowed) = _capsCheck(id, token, amount);
            if (windowed) _windows[id][token] = w;
        }
        if (c.depth != 0) _chargeAncestorCaps(id, token, amount);
    }

    /// @dev Sets `amount` of `token` aside from `id` for a child, out of its unspent escrow. It is not a spend:
    /// no cap or allowance is charged here; they are charged, at every level, when the child spends.
    function _reserve(uint256 id, address token, uint256 amount) internal {
        uint256 available = _available(id, token);
        if (amount > available) revert BudgetExceeded(id, token, amount, available);
        _setAvailable(id, token, available - amount);
    }

    /// @dev The view half of `_spend` for the session itself (ancestors: `_checkAncestorCaps`).
    function _spendCheck(uint256 id, Core memory c, address token, uint256 amount) internal view {
        uint256 available = _available(id, token);
        // never more than the unspent escrow
        if (amount > available) revert BudgetExceeded(id, token, amount, available);
        if (_hasCaps(c, token)) _capsCheck(id, token, amount);
    }

    /// @dev Whether session core `c` may have a cap or an allowance on `token` (a flag per kind, so spends of an
    /// uncapped session read no caps).
    function _hasCaps(Core memory c, address token) internal pure returns (bool) {
        return c.flags & (token == NATIVE ? _F_NATIVE_CAPS : _F_TOKEN_CAPS) != 0;
    }

    /// @dev Checks one spend of `amount` against the per-call cap and the period allowance of `token` in session
    /// `id`; returns the period window as it is after the spend, and whether it is in use.
    function _capsCheck(uint256 id, address token, uint256 amount)
        internal
        view
        returns (Window memory w, bool windowed)
    {
        Caps memory k = _caps[id][token];
        // per-call cap
        if (k.perCall != 0 && amount > k.perCall) revert PerCallCapExceeded(id, token, amount, k.perCall);
        if (k.perPeriod != 0) {
            w = _windows[id][token];
            uint64 index = uint64(_windowIndex(_timing[id]));
            if (w.index != index) (w.index, w.spent) = (index, 0);
            // the allowance may have been lowered below what this window already spent: nothing is left
            uint256 left = k.perPeriod > w.spent ? k.perPeriod - w.spent : 0;
            // allowance of the current period window
            if (amount > left) revert PeriodAllowanceExceeded(id, token, amount, left);
            w.spent += uint128(amount);
            windowed = true;
        }
    }

    /// @dev Charges a spend by `id` to the caps of every ancestor (reverting with the ancestor's id when one
    /// binds). The walk is bounded by MAX_DEPTH.
    function _chargeAncestorCaps(uint256 id, address token, uint256 amount) internal {
        uint256 cur = _parentOf(id);
        while (cur != 0) {
            Core memory k = _core[cur];
            if (_hasCaps(k, token)) {
                (Window memory w, bool windowed) = _capsCheck(cur, token, amount);
                if (windowed) _windows[cur][token] = w;
            }
            cur = k.depth == 0 ? 0 : _parentOf(cur);
        }
    }

    /// @dev The view half of `_chargeAncestorCaps` (preflight, and a swap before anything moves).
    function _checkAncestorCaps(uint256 id, address token, uint256 amount) internal view {
        uint256 cur = _parentOf(id);
        while (cur != 0) {
            Core memory k = _core[cur];
            if (_hasCaps(k, token)) _capsCheck(cur, token, amount);
            cur = k.depth == 0 ? 0 : _parentOf(cur);
        }
    }

    /// @dev Whether session `id` (core `c`) has a budget row for `token`: only then may it hold that token.
    function _hasRow(uint256 id, Core memory c, address token) internal view returns (bool) {
        return token == NATIVE ? c.flags & _F_NATIVE_ROW != 0 : _holds(id, token);
    }

    /*//////////////////////////////////////////////////////////////
                            INTERNAL: TOKEN HOOKS
    //////////////////////////////////////////////////////////////*/

    /// @dev A session token sent to its own manager would make the manager its own refund address; sent to the
    /// executor, refunds would sit in a contract that must hold nothing between transactions. Mints go to the
    /// caller (never either of them: both are forbidden targets) and burns to nobody, so only transfers check.
    function _beforeTokenTransfer(address from, address to, uint256 id) internal view override {
        if (from == address(0) || to == address(0)) return;
        if (to == address(this) || to == _executor()) revert InvalidHolder(to);
        // a holder rotated out of the path cannot hand its lapsed control on (nor can an operator it approved)
        _requireNotRotatedOut(id, _core[id], from);
    }

    function _tokenUser(uint256 id) internal view override returns (address) {
        Core memory c = _core[id];
        return _statusOf(id, c) == Status.Active ? c.agent : address(0);
    }

    function _tokenExpires(uint256 id) internal view override returns (uint256) {
        return _core[id].expiry;
    }
}
