// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

/// @title ISessionTypes
/// @notice The vocabulary of a SessionManager: its types, custom errors and events. Shared by the manager
/// (ISessionManager, the hot paths) and its extension (ISessionManagerExtension, editing and listing).
interface ISessionTypes {
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
        /// @dev Spent by the session's own calls (only grows). ERC-20 budgets only: an ETH budget's lifetime
        /// spending is not kept on chain (0 here); its events carry every ETH spend (Executed, TokenTransferred,
        /// Swapped, RelayFeePaid), and the SDK sums them.
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
        /// @dev The revoke-all generation the session belongs to: the current one, or the one before it when the
        /// latest revoke-all revoked it (sessions are not stamped with one: revoke-all revokes every id up to the
        /// last one handed out).
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
    /// @notice Only the factory may initialise a manager.
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
    /// @notice `payee` is owed nothing in `token` (see PayoutDeferred).
    error NothingToClaim(address payee, address token);
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
    /// @notice `target` can never be called or paid by a session (this manager, its executor, the factory, an
    /// escrowed token).
    error ForbiddenTarget(uint256 id, address target);
    /// @notice Session `id` sent `length` bytes of calldata (1 to 3): neither a plain transfer (none) nor a call
    /// (a 4-byte selector first).
    error CalldataTooShort(uint256 id, uint256 length);
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
    /// @notice `expiry` is after the latest a session can have (`latest`, 2106-02-07: expiries are 32-bit).
    error ExpiryTooLate(uint40 expiry, uint40 latest);
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
    /// @notice The manager has handed out every id a session can have (`max`: ids are 32-bit).
    error SessionLimitReached(uint256 max);
    /// @notice The manager was initialised already.
    error AlreadyInitialized();
    /// @notice More guards than `max` on one session.
    error TooManyGuards(uint256 max);
    /// @notice The guard address has no code.
    error InvalidGuard(address guard);
    /// @notice The manager accepts ETH only as funding or as the output of a metered call.
    error UnexpectedETH(address from);
    /// @notice A checkpoint's task counter went down (`previous` > `given`).
    error TaskCountDecreased(uint256 id, uint64 previous, uint64 given);
    /// @notice A session token cannot be held by `holder` (its own manager would become its refund address).
    error InvalidHolder(address holder);
    /// @notice A swap must take one token and give another (`token` on both sides).
    error SameToken(address token);
    /// @notice Only the manager owner brings a new token into the escrow: `token` is not escrowed yet (root `id`).
    error TokenNotEscrowed(uint256 id, address token);
    /// @notice Session `id` has no budget row for `token`: it cannot receive it (a swap's output, a child's
    /// budget or top-up, which must be a token of the parent's rows).
    error NoBudgetRow(uint256 id, address token);
    /// @notice A controller rotated `key` out of session `id` or of an ancestor: its powers over them lapsed.
    error RotatedOut(uint256 id, address key);
    /// @notice A settlement payout needs `needed` gas for its stipend; the transaction had `gasLeft` left.
    error PayoutGasTooLow(uint256 gasLeft, uint256 needed);
    /// @notice A payment of zero.
    error ZeroAmount();
    /// @notice ETH cannot be sent with this call (a child is funded from its parent).
    error NoValueExpected(uint256 value);

    // The wallet door (signed grants and executes, deposits).
    /// @notice The signature's deadline has passed.
    error SignatureExpired(uint256 deadline);
    /// @notice The signature recovers to `recovered`, not the key that must sign (`expected`).
    error InvalidSigner(address expected, address recovered);
    /// @notice The ECDSA signature has a high `s` (its malleable twin): only the canonical form is accepted.
    error InvalidSignatureS(bytes32 s);
    /// @notice An ECDSA signature is 65 bytes (r, s, v).
    error InvalidSignatureLength(uint256 length);
    /// @notice The contract that must sign (ERC-1271) reverted or did not answer the magic value.
    error ContractSignatureRejected(address signer, bytes answer);
    /// @notice `signer` already used (or cancelled) `nonce`.
    error NonceUsed(address signer, uint256 nonce);
    /// @notice The relay fee is above the most session `id` (the session or an ancestor) lets a relayer take.
    error RelayFeeAboveCap(uint256 id, uint256 fee, uint256 cap);
    /// @notice `account`'s deposit holds `available`, less than the `needed` ETH.
    error DepositTooLow(address account, uint256 needed, uint256 available);

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
    /// @notice `token` refused to pay `amount` from session `id` to `payee` at settlement (it blocklists one of
    /// them, or is paused): the amount stays with the manager, claimable by `payee` (see `claim`), and the rest
    /// of the settlement went ahead.
    event PayoutDeferred(uint256 indexed id, address indexed token, address indexed payee, uint256 amount);
    /// @notice `payee` claimed `amount` of `token` it was owed, sent to `to`.
    event PayoutClaimed(address indexed payee, address indexed token, address to, uint256 amount);
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

    // The wallet door.
    /// @notice `account` added `amount` of ETH to its deposit (unallocated funds signed grants draw on).
    event Deposited(address indexed account, uint256 amount);
    /// @notice `account` took `amount` of its deposit out to `to`.
    event Withdrawn(address indexed account, address indexed to, uint256 amount);
    /// @notice `signer` cancelled the nonces `mask` of word `wordPos`.
    event NoncesInvalidated(address indexed signer, uint256 indexed wordPos, uint256 mask);
    /// @notice A controller set the most a relayer may be paid per signed execute of session `id`.
    event MaxRelayFeeSet(uint256 indexed id, uint256 fee);
    /// @notice `relayer` was paid `fee` in ETH out of session `id` for submitting its agent's signed execute.
    event RelayFeePaid(uint256 indexed id, address indexed relayer, uint256 fee);
}
