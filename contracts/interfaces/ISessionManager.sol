// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

/// @title ISessionManager
/// @notice One owner's escrow of agent sessions. A session hands an agent key a bounded, revocable slice of
/// authority: budgets per token (total, per call, per period), a call-count limit per period, an expiry, an
/// idle timeout, the targets and selectors it may call, and optional guard contracts. Every session is an
/// ERC-721 token of this manager (token id = session id); whoever holds it controls the session, and the
/// controllers of a session's parent control it too.
///
/// Lifecycle: `Draft` (editable, cannot act) -> `Active` <-> `Paused` -> `Completed` | `Revoked`. `Expired` is
/// derived from time. A session also stops acting when any ancestor ends, after `revokeAll` (epoch bump) and
/// while `pauseAll` is on. Ending a session is O(1); settling it (`close`) burns its token and returns its
/// unspent escrow: a child's to its nearest unclosed ancestor, a root's to the holder of its token.
/// `complete` ends and settles in one call.
interface ISessionManager {
    /*//////////////////////////////////////////////////////////////
                                  TYPES
    //////////////////////////////////////////////////////////////*/

    /// @notice Lifecycle status. `None` marks an id that was never created.
    enum Status {
        None,
        Draft,
        Active,
        Paused,
        Completed,
        Revoked,
        Expired
    }

    /// @notice One token budget requested at creation (or for a child: reserved out of the parent).
    struct BudgetParams {
        /// @dev ERC-20 address, or NATIVE (0xEeee...EEeE, ERC-7528) for ETH.
        address token;
        /// @dev Escrowed amount (wei / token units). Funded by the caller for a root, reserved from the parent
        /// for a child.
        uint128 amount;
        /// @dev Largest amount one call may spend; 0 means no per-call cap.
        uint128 perCallCap;
        /// @dev Largest amount spent per period window; 0 means no periodic allowance (requires `period`).
        uint128 periodAllowance;
    }

    /// @notice One allowlist entry: `target` may be called with `selector` (ANY_SELECTOR for every selector,
    /// 0x00000000 for plain value transfers and token payments to `target`).
    struct Permission {
        address target;
        bytes4 selector;
    }

    /// @notice Everything needed to open a session.
    struct SessionParams {
        /// @dev The key allowed to act for the session.
        address agent;
        /// @dev Expiry (exclusive, unix seconds). A child's is capped by its parent's.
        uint40 expiry;
        /// @dev Seconds without activity after which the session counts as expired; 0 = never.
        uint32 maxIdle;
        /// @dev Length of a period window in seconds (fixed windows from activation); 0 = no periods.
        uint32 period;
        /// @dev Calls allowed per period window; 0 = unlimited. Requires `period`.
        uint16 maxCallsPerPeriod;
        /// @dev Open the session in `Draft` (editable, cannot act until `activate`).
        bool draft;
        /// @dev Allow every target and selector (still never the forbidden ones).
        bool anyTarget;
        /// @dev Free-form label (e.g. "swapper"), shown in views and token metadata.
        bytes32 label;
        BudgetParams[] budgets;
        Permission[] permissions;
        /// @dev Guard contracts asked before every call (ISessionGuard).
        address[] guards;
    }

    /// @notice One call of a batch.
    struct Call {
        address target;
        uint256 value;
        bytes data;
    }

    /// @notice A budget as seen by views.
    struct BudgetInfo {
        address token;
        /// @dev Unspent escrow held for the session itself (excludes what its children hold).
        uint256 available;
        /// @dev Spent by the session's own calls (only grows).
        uint256 spent;
        uint256 perCallCap;
        uint256 periodAllowance;
        /// @dev Spent in the current period window.
        uint256 spentInPeriod;
    }

    /// @notice A session as seen by views.
    struct SessionInfo {
        uint256 id;
        uint256 parentId;
        address agent;
        /// @dev Holder of the session token; zero once closed.
        address holder;
        /// @dev Effective status: accounts for time, ancestors, pause-all and revoke-all.
        Status status;
        uint8 depth;
        bool anyTarget;
        bool closed;
        uint40 expiry;
        uint40 lastActive;
        uint32 maxIdle;
        uint32 period;
        uint16 maxCallsPerPeriod;
        uint16 callsInPeriod;
        uint32 epoch;
        bytes32 label;
        bytes32 checkpointRoot;
        uint64 taskCount;
        BudgetInfo[] budgets;
    }

    /*//////////////////////////////////////////////////////////////
                                 ERRORS
    //////////////////////////////////////////////////////////////*/

    /// @notice `caller` is not the owner of this manager.
    error NotManagerOwner(address caller);
    /// @notice Only the factory may initialise a clone.
    error NotFactory(address caller);
    /// @notice No session `id` exists.
    error SessionNotFound(uint256 id);
    /// @notice `caller` is not the agent of session `id`.
    error NotAgent(uint256 id, address caller);
    /// @notice `caller` neither holds session `id` nor controls one of its ancestors.
    error NotController(uint256 id, address caller);
    /// @notice `caller` is neither the agent of `id` nor one of its controllers.
    error NotAgentOrController(uint256 id, address caller);
    /// @notice Session `id` cannot act: its effective status is `status`.
    error SessionNotActive(uint256 id, Status status);
    /// @notice Session `id` is not live (it ended); its effective status is `status`.
    error SessionEnded(uint256 id, Status status);
    /// @notice Session `id` is not in draft (its status is `status`), so it cannot be edited or activated.
    error SessionNotDraft(uint256 id, Status status);
    /// @notice Session `id` is not paused (its status is `status`).
    error SessionNotPaused(uint256 id, Status status);
    /// @notice Session `id` is still live (status `status`): end it before closing it.
    error SessionNotEnded(uint256 id, Status status);
    /// @notice Session `id` is already closed (token burned, escrow returned).
    error SessionAlreadyClosed(uint256 id);
    /// @notice Spending `requested` of `token` exceeds the `remaining` escrow of session `id`.
    error BudgetExceeded(uint256 id, address token, uint256 requested, uint256 remaining);
    /// @notice Spending `requested` of `token` in one call exceeds the per-call `cap` of session `id`.
    error PerCallCapExceeded(uint256 id, address token, uint256 requested, uint256 cap);
    /// @notice Spending `requested` of `token` exceeds what is left of this period's allowance.
    error PeriodAllowanceExceeded(uint256 id, address token, uint256 requested, uint256 remaining);
    /// @notice Session `id` used all `maxCalls` calls of the current period window.
    error CallLimitExceeded(uint256 id, uint16 maxCalls);
    /// @notice `target`/`selector` is not on the allowlist of session `id`.
    error TargetNotAllowed(uint256 id, address target, bytes4 selector);
    /// @notice `target` can never be called by a session (this manager, the factory, an escrowed token).
    error ForbiddenTarget(uint256 id, address target);
    /// @notice Guard `guard` refused the call of session `id`, with its own revert data `reason`.
    error GuardRejected(uint256 id, address guard, bytes reason);
    /// @notice The call of session `id` to `target` reverted with `reason`.
    error CallFailed(uint256 id, address target, bytes reason);
    /// @notice Call `index` of a batch of session `id` reverted with `reason`.
    error BatchCallFailed(uint256 id, uint256 index, bytes reason);
    /// @notice The call spent `spent` of `token`, more than the `approved` amount.
    error SwapOverspent(uint256 id, address token, uint256 approved, uint256 spent);
    /// @notice The call returned `received` of the output token, less than `minReceived`.
    error InsufficientOutput(uint256 id, address token, uint256 received, uint256 minReceived);
    /// @notice `expiry` is not in the future (now is `nowTs`).
    error ExpiryInPast(uint40 expiry, uint40 nowTs);
    /// @notice A child's `expiry` is later than its parent's `parentExpiry`.
    error ExpiryExceedsParent(uint256 parentId, uint40 expiry, uint40 parentExpiry);
    /// @notice Spawning under `parentId` would exceed the depth cap `maxDepth`.
    error DepthExceeded(uint256 parentId, uint8 maxDepth);
    /// @notice A child asked for everything (`anyTarget`) or a target/selector its parent lacks.
    error PermissionNotInParent(uint256 parentId, address target, bytes4 selector);
    /// @notice The agent key is the zero address.
    error ZeroAgent();
    /// @notice `msg.value` (`received`) differs from the ETH budgets requested (`expected`).
    error ValueMismatch(uint256 expected, uint256 received);
    /// @notice `token` appears twice in one session's budgets.
    error DuplicateToken(address token);
    /// @notice A periodic allowance or a call limit was set without a period.
    error PeriodRequired();
    /// @notice Moving `expected` of `token` changed the manager's balance by `actual` (a token whose transfer or
    /// balance misreports).
    error BalanceMismatch(address token, uint256 expected, uint256 actual);
    /// @notice An amount above 2^128 - 1.
    error AmountTooLarge(uint256 amount);
    /// @notice The clone was initialised already.
    error AlreadyInitialized();
    /// @notice More guards than `max` on one session.
    error TooManyGuards(uint256 max);
    /// @notice The guard address has no code.
    error InvalidGuard(address guard);
    /// @notice The manager accepts ETH only as funding or as the output of a metered call.
    error UnexpectedETH(address from);
    /// @notice A checkpoint's task counter went down (`previous` > `given`).
    error TaskCountDecreased(uint256 id, uint64 previous, uint64 given);
    /// @notice ETH cannot be sent with this call (a child is funded from its parent).
    error NoValueExpected(uint256 value);

    /*//////////////////////////////////////////////////////////////
                                 EVENTS
    //////////////////////////////////////////////////////////////*/

    /// @notice Session `id` was created under `parentId` (0 for a root) for `agent`; its token went to `holder`.
    event SessionCreated(
        uint256 indexed id,
        uint256 indexed parentId,
        address indexed agent,
        address holder,
        uint40 expiry,
        bytes32 label,
        Status status
    );
    /// @notice `amount` of `token` was added to the escrow of session `id` (from a parent: `from` is zero).
    event SessionFunded(uint256 indexed id, address indexed token, address indexed from, uint256 amount);
    event SessionActivated(uint256 indexed id, address indexed by);
    event SessionPaused(uint256 indexed id, address indexed by);
    event SessionResumed(uint256 indexed id, address indexed by);
    event SessionRevoked(uint256 indexed id, address indexed by);
    event SessionCompleted(uint256 indexed id, address indexed by);
    /// @notice Session `id` was settled: token burned, escrow returned (see EscrowReturned).
    event SessionClosed(uint256 indexed id, address indexed by, Status status);
    /// @notice `amount` of `token` left session `id` for session `toSession` (0 = paid out to `to`).
    event EscrowReturned(
        uint256 indexed id, address indexed token, uint256 indexed toSession, address to, uint256 amount
    );
    event AgentRotated(uint256 indexed id, address indexed previousAgent, address indexed newAgent);
    event ExpiryUpdated(uint256 indexed id, uint40 expiry);
    event LimitsUpdated(uint256 indexed id, address indexed token, uint128 perCallCap, uint128 periodAllowance);
    event TimingUpdated(uint256 indexed id, uint32 maxIdle, uint32 period, uint16 maxCallsPerPeriod);
    event PermissionSet(uint256 indexed id, address indexed target, bytes4 indexed selector, bool allowed);
    event AnyTargetSet(uint256 indexed id, bool allowed);
    event GuardAdded(uint256 indexed id, address indexed guard);
    /// @notice Session `id` called `target` with `value` wei and `selector`.
    event Executed(uint256 indexed id, address indexed target, uint256 value, bytes4 selector);
    /// @notice Session `id` paid `amount` of `token` to `to`.
    event TokenTransferred(uint256 indexed id, address indexed token, address indexed to, uint256 amount);
    /// @notice Session `id` spent `amountIn` of `tokenIn` through `target` and received `amountOut` of `tokenOut`.
    event Swapped(
        uint256 indexed id,
        address indexed target,
        address tokenIn,
        uint256 amountIn,
        address tokenOut,
        uint256 amountOut
    );
    event Checkpointed(uint256 indexed id, bytes32 root, uint64 taskCount);
    event AllPaused(address indexed by);
    event AllUnpaused(address indexed by);
    /// @notice Every session created before this point is revoked; new sessions carry `epoch`.
    event AllRevoked(address indexed by, uint32 epoch);
    event OwnershipTransferred(address indexed previousOwner, address indexed newOwner);

    /*//////////////////////////////////////////////////////////////
                               OWNER-WIDE
    //////////////////////////////////////////////////////////////*/

    /// @notice Sets the owner of a fresh clone. Only the factory, once.
    function initialize(address owner_) external;

    /// @notice The owner of this manager: creates root sessions, pauses or revokes everything.
    function owner() external view returns (address);

    /// @notice Hands the manager to `newOwner`.
    function transferOwnership(address newOwner) external;

    /// @notice Emergency stop: no session of this manager can act until `unpauseAll`. O(1).
    function pauseAll() external;

    /// @notice Lifts `pauseAll`.
    function unpauseAll() external;

    /// @notice Revokes every existing session in one O(1) transaction. Their escrow is returned by `close`.
    function revokeAll() external;

    /*//////////////////////////////////////////////////////////////
                                CREATION
    //////////////////////////////////////////////////////////////*/

    /// @notice Opens a root session funded by the caller (`msg.value` for ETH, `transferFrom` for ERC-20).
    /// The token is minted to the caller. Only the manager owner.
    function createSession(SessionParams calldata params) external payable returns (uint256 id);

    /// @notice Opens many root sessions; `msg.value` must equal the sum of their ETH budgets.
    function createSessions(SessionParams[] calldata params) external payable returns (uint256 firstId);

    /// @notice Opens a child of `parentId`, its budgets reserved out of the parent's unspent escrow. Called by
    /// the parent's agent or a controller of the parent; the child's token goes to the caller.
    function spawnChild(uint256 parentId, SessionParams calldata params) external returns (uint256 id);

    /// @notice Opens many children of `parentId` in one transaction.
    function spawnChildren(uint256 parentId, SessionParams[] calldata params) external returns (uint256 firstId);

    /// @notice Adds `amount` of `token` to session `id`: from the caller for a root (send ETH as value), from
    /// the parent's unspent escrow for a child. Called by a controller (or the parent's agent for a child).
    function fund(uint256 id, address token, uint256 amount) external payable;

    /*//////////////////////////////////////////////////////////////
                                 EDITING
    //////////////////////////////////////////////////////////////*/

    /// @notice Moves a draft session to `Active`. Controller only.
    function activate(uint256 id) external;

    /// @notice Sets allowlist entries of a draft session (a child's must stay within its parent's).
    function setPermissions(uint256 id, Permission[] calldata permissions, bool allowed) external;

    /// @notice Sets whether a draft session may call any target.
    function setAnyTarget(uint256 id, bool allowed) external;

    /// @notice Attaches a guard to a draft session.
    function addGuard(uint256 id, address guard) external;

    /// @notice Sets the idle timeout, period length and call limit of a draft session.
    function updateTiming(uint256 id, uint32 maxIdle, uint32 period, uint16 maxCallsPerPeriod) external;

    /// @notice Sets the per-call cap and periodic allowance for `token`. Controller, any live status.
    function updateLimits(uint256 id, address token, uint128 perCallCap, uint128 periodAllowance) external;

    /// @notice Moves the expiry (a child's stays within its parent's). Controller, any live status.
    function updateExpiry(uint256 id, uint40 expiry) external;

    /// @notice Replaces the agent key; the old key stops working in the same block. Controller only.
    function rotateAgent(uint256 id, address newAgent) external;

    /*//////////////////////////////////////////////////////////////
                               LIFECYCLE
    //////////////////////////////////////////////////////////////*/

    /// @notice Pauses session `id` (and so its descendants). Controller only.
    function pause(uint256 id) external;

    /// @notice Resumes a paused session. Controller only.
    function resume(uint256 id) external;

    /// @notice Ends session `id` and, through the ancestor check, its whole subtree. O(1), controller only.
    /// The escrow stays until `close`.
    function revoke(uint256 id) external;

    /// @notice Ends session `id` as done and settles it at once. Agent or controller.
    function complete(uint256 id) external;

    /// @notice Settles an ended session (revoked, completed, expired, revoked by epoch or under an ended
    /// ancestor): burns its token and returns its unspent escrow to its nearest unclosed ancestor, or for a
    /// root (or when every ancestor is closed) to the holder of the root token. Anyone may call it: the funds
    /// can only go to that fixed destination.
    function close(uint256 id) external;

    /// @notice `close` for many sessions; skips ids already closed.
    function closeMany(uint256[] calldata ids) external;

    /*//////////////////////////////////////////////////////////////
                                 ACTING
    //////////////////////////////////////////////////////////////*/

    /// @notice Calls `target` with `value` wei and `data` on behalf of session `id`. Agent only.
    function execute(uint256 id, address target, uint256 value, bytes calldata data)
        external
        returns (bytes memory result);

    /// @notice Executes `calls` in order; any failure reverts the whole batch. Agent only.
    function executeBatch(uint256 id, Call[] calldata calls) external returns (bytes[] memory results);

    /// @notice Pays `amount` of ERC-20 `token` from the session's escrow to `to` (metered). Agent only.
    function transferToken(uint256 id, address token, address to, uint256 amount) external;

    /// @notice Approve-call-reset for DEX-like calls: approves `target` for `amountIn` of `tokenIn` (or sends
    /// it as value for ETH), calls it, resets the allowance to zero, charges the actual decrease of `tokenIn`
    /// and credits the increase of `tokenOut` to the session. Agent only.
    function swap(
        uint256 id,
        address tokenIn,
        uint256 amountIn,
        address tokenOut,
        uint256 minAmountOut,
        address target,
        bytes calldata data
    ) external returns (uint256 spent, uint256 received);

    /// @notice Anchors the agent's off-chain state root and task counter (never decreasing). Agent only.
    function checkpoint(uint256 id, bytes32 root, uint64 taskCount) external;

    /*//////////////////////////////////////////////////////////////
                                  VIEWS
    //////////////////////////////////////////////////////////////*/

    /// @notice Number of sessions ever created; ids run from 1 to this.
    function sessionCount() external view returns (uint256);

    /// @notice Everything about session `id`.
    function getSession(uint256 id) external view returns (SessionInfo memory);

    /// @notice `getSession` for many ids.
    function getSessions(uint256[] calldata ids) external view returns (SessionInfo[] memory);

    /// @notice Up to `limit` sessions with ids from `fromId` upwards.
    function listSessions(uint256 fromId, uint256 limit) external view returns (SessionInfo[] memory);

    /// @notice Effective status of session `id`.
    function statusOf(uint256 id) external view returns (Status);

    /// @notice Unspent escrow of `token` held for session `id` itself.
    function remaining(uint256 id, address token) external view returns (uint256);

    /// @notice The budget of `token` for session `id`.
    function getBudget(uint256 id, address token) external view returns (BudgetInfo memory);

    /// @notice Whether `account` controls session `id` (holds it or controls an ancestor).
    function isController(uint256 id, address account) external view returns (bool);

    /// @notice Whether `target`/`selector` is on the allowlist of session `id` (exact or ANY_SELECTOR).
    function isAllowed(uint256 id, address target, bytes4 selector) external view returns (bool);

    /// @notice Guards attached to session `id`.
    function guardsOf(uint256 id) external view returns (address[] memory);

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

    /// @notice Whether the manager has ever escrowed `token` (such tokens are forbidden targets).
    function isEscrowToken(address token) external view returns (bool);

    /// @notice Manager-wide state: revoke-all epoch and pause-all flag.
    function globalState() external view returns (uint32 epoch, bool pausedAll);
}
