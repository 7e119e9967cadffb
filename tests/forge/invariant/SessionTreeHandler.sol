// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

import {CommonBase} from "forge-std/Base.sol";
import {StdCheats} from "forge-std/StdCheats.sol";
import {StdUtils} from "forge-std/StdUtils.sol";
import {IAgentSessions} from "../../../contracts/interfaces/IAgentSessions.sol";
import {ISessionTypes} from "../../../contracts/interfaces/ISessionTypes.sol";
import {TestToken} from "../../../contracts/test/TestToken.sol";
import {FeeToken} from "../../../contracts/test/FeeToken.sol";
import {WeirdBlocklistToken} from "../../../contracts/test/WeirdBlocklistToken.sol";
import {WeirdFalseToken} from "../../../contracts/test/WeirdFalseToken.sol";
import {GasBurnerToken} from "../../../contracts/test/GasBurnerToken.sol";
import {MockDex} from "../../../contracts/test/MockDex.sol";
import {Target} from "../../../contracts/test/Target.sol";
import {SessionTypedData} from "../utils/SessionTypedData.sol";

/// @notice Drives one manager through random sequences of every mutating entry point, as every role (manager
/// owner, token holder, transferee, agent, parent agent, sub-agent, rotated-out key, stranger), across time, over
/// trees up to the depth cap, with ETH and five kinds of ERC-20. It keeps its own ghost of the session tree, written
/// from the README's promises rather than from the contract, and records every moment a promise is broken:
/// the invariant functions then only read those records and the chain.
///
/// Ghost accounting is per subtree: `subIn[x][t]` is everything that entered x's subtree from outside it (the
/// parent's reservation or an outside funder into x, swap proceeds credited to any session in it) and `subOut[x][t]`
/// everything that left it through a call of any of its sessions. Escrow that moves between sessions of the same
/// subtree (a reservation to a grandchild, a refund to the nearest open ancestor) changes neither.
contract SessionTreeHandler is CommonBase, StdCheats, StdUtils {
    /*//////////////////////////////////////////////////////////////
                               CONSTANTS
    //////////////////////////////////////////////////////////////*/

    address internal constant NATIVE = 0xEeeeeEeeeEeEeeEeEeEeeEEEeeeeEeeeeeeeEEeE;
    uint256 internal constant MAX_SESSIONS = 48;
    /// @dev Few live roots at a time, so the calls go into growing and spending through trees.
    uint256 internal constant MAX_LIVE_ROOTS = 3;
    uint256[] internal roots;
    uint8 internal constant MAX_DEPTH = 8;
    /// @dev Gas a close is given in the settlement check: a generous single-transaction budget.
    uint256 internal constant CLOSE_GAS = 3_000_000;

    /*//////////////////////////////////////////////////////////////
                                 WORLD
    //////////////////////////////////////////////////////////////*/

    IAgentSessions public immutable manager;
    address public immutable executor;
    address public immutable owner;
    address public immutable stranger;
    address public immutable payee;
    Target public immutable target;
    MockDex public immutable dex;

    TestToken public immutable usdc;
    FeeToken public immutable feeToken;
    WeirdBlocklistToken public immutable blockToken;
    WeirdFalseToken public immutable falseToken;
    GasBurnerToken public immutable burnerA;
    GasBurnerToken public immutable burnerB;

    /// @dev Every token the campaign escrows: ETH first.
    address[] public tokens;
    /// @dev Tokens the dex trades (plain ERC-20 semantics on its side).
    address[] internal swappable;

    /*//////////////////////////////////////////////////////////////
                                 GHOST
    //////////////////////////////////////////////////////////////*/

    /// @dev The ghost of one session, kept from the calls that succeeded.
    struct Node {
        uint256 parent;
        uint8 depth;
        address agent;
        uint40 expiry;
        uint32 maxIdle;
        uint32 period;
        uint16 maxCalls;
        uint40 start;
        uint40 lastActive;
        /// @dev How many revoke-alls had happened when it opened: a later one ends it.
        uint32 epoch;
        bool draft;
        bool paused;
        bool ended;
        bool closed;
    }

    uint256[] public ids;
    mapping(uint256 id => Node) public nodes;
    /// @dev Keys rotated out of a session (never granted anything again: new agents and transferees are fresh keys).
    mapping(uint256 id => address[]) internal rotatedOut;
    mapping(uint256 id => mapping(address token => uint256)) public subIn;
    mapping(uint256 id => mapping(address token => uint256)) public subOut;
    mapping(uint256 id => mapping(address token => mapping(uint256 window => uint256))) internal windowOut;
    mapping(uint256 id => mapping(uint256 window => uint256)) internal windowCalls;
    /// @dev ETH spent by the session's own calls (the manager keeps no lifetime ETH counter; the ghost does).
    mapping(uint256 id => uint256) internal ethOut;
    uint32 internal epoch;
    bool internal pausedAll;

    /// @dev Every address that ever held a role, for actor picks and final claims.
    address[] public keys;
    uint256 internal freshKeys;

    /*//////////////////////////////////////////////////////////////
                               FINDINGS
    //////////////////////////////////////////////////////////////*/

    /// @dev Names of the promises (see SessionTreeInvariants), as recorded.
    bytes32 public constant PER_CALL = "perCallCapBindsEveryAncestor";
    bytes32 public constant PERIOD = "periodAllowanceBindsSubtree";
    bytes32 public constant ENDED = "endedPausedExpiredNeverAct";
    bytes32 public constant ROTATION = "rotatedKeyHasNoPower";
    bytes32 public constant CALLS = "callLimitCountsSubtree";
    bytes32 public constant EXECUTOR = "executorHoldsNothing";
    bytes32 public constant CLOSE = "closeAlwaysCompletes";
    bytes32 public constant SIGNED = "signaturesKeepTheirWord";

    mapping(bytes32 property => uint256) public broken;
    mapping(bytes32 property => string) public firstBreak;

    /// @dev Handler calls made (each one an attempted operation), and the operations that went through, by name.
    uint256 public calls;
    mapping(string operation => uint256) public succeeded;
    /// @dev The deepest session opened so far (roots are depth 0).
    uint8 public deepest;

    /*//////////////////////////////////////////////////////////////
                          THE WALLET DOOR'S GHOST
    //////////////////////////////////////////////////////////////*/

    /// @dev Every key is made from a private key, so any role can sign.
    mapping(address key => uint256 privateKey) internal keyOf;
    /// @dev Who submits signed calls (and is paid relay fees).
    address public immutable relayer;
    /// @dev Nonces a signer's signature went through with (a second success is a replay).
    mapping(address signer => mapping(uint256 nonce => bool)) internal usedNonce;
    mapping(address signer => uint256) internal lastNonce;
    uint256 internal nonceCounter;
    /// @dev ETH deposited and not withdrawn or drawn by a grant, per depositor, and in all.
    mapping(address account => uint256) public deposited;
    uint256 public depositTotal;

    uint256 internal constant SECP256K1_N = 0xFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFEBAAEDCE6AF48A03BBFD25E8CD0364141;

    constructor(IAgentSessions manager_, uint256 ownerKey, Target target_) {
        manager = manager_;
        executor = manager_.executor();
        owner = vm.addr(ownerKey);
        keyOf[owner] = ownerKey;
        target = target_;
        stranger = _fresh();
        payee = _fresh();
        relayer = _fresh();
        dex = new MockDex();
        usdc = new TestToken("USD Coin", "USDC", 6);
        feeToken = new FeeToken();
        feeToken.setFeeBps(100);
        blockToken = new WeirdBlocklistToken();
        falseToken = new WeirdFalseToken();
        burnerA = new GasBurnerToken("Burner A", "BRNA");
        burnerB = new GasBurnerToken("Burner B", "BRNB");
        tokens.push(NATIVE);
        tokens.push(address(usdc));
        tokens.push(address(feeToken));
        tokens.push(address(blockToken));
        tokens.push(address(falseToken));
        tokens.push(address(burnerA));
        tokens.push(address(burnerB));
        swappable.push(NATIVE);
        swappable.push(address(usdc));
        swappable.push(address(blockToken));
        // liquidity for the dex, and the owner's funds
        vm.deal(address(dex), 1e30);
        usdc.mint(address(dex), 1e30);
        blockToken.mint(address(dex), 1e30);
        _fundActor(owner);
    }

    /*//////////////////////////////////////////////////////////////
                      DISPATCHERS (WHAT THE FUZZER CALLS)
    //////////////////////////////////////////////////////////////*/

    // The fuzzer picks uniformly among the selectors it targets: spending, funding, spawning and time each get one,
    // the rarer moves share one per group, so a sequence spends and nests often enough to reach deep trees.

    /// @notice Pause, resume, activate, revoke, complete, close, close-many or checkpoint, by a drawn role.
    function lifecycle(uint8 op, uint256 seed, uint256 actorSeed) external {
        uint256 k = op % 8;
        if (k < 6) _lifecycleMove(k, seed, actorSeed);
        else if (k == 6) closeMany(seed, uint8(actorSeed));
        else checkpoint(seed, actorSeed, bytes32(actorSeed));
    }

    /// @notice Rotate the agent, change limits, expiry or a draft's timing, or hand the session token on.
    function edit(uint8 op, uint256 seed, uint256 actorSeed, uint128 a, uint128 b) external {
        uint256 k = op % 5;
        if (k == 0) rotateAgent(seed, actorSeed);
        else if (k == 1) updateLimits(seed, actorSeed, a, b);
        else if (k == 2) updateExpiry(seed, actorSeed, uint40(a));
        else if (k == 3) updateTiming(seed, actorSeed, uint32(a));
        else transferSession(seed, actorSeed);
    }

    /// @notice Pause-all, unpause-all, revoke-all (rarely), or a payee's claim.
    function ownerWide(uint8 op, bool asOwner, uint256 seed) external {
        uint256 k = op % 8;
        if (k == 0) pauseAll(asOwner);
        else if (k <= 2) unpauseAll(asOwner);
        else if (k == 3) revokeAll(uint8(seed));
        else claim(seed, uint8(seed >> 8));
    }

    /// @notice The rest of the wallet door (signed executes are a move of their own): the owner's signed grant (ETH
    /// out of its deposit), a parent agent's signed spawn, a relay-fee cap set by a drawn role, a deposit or a
    /// withdrawal.
    function signed(uint8 op, uint256 seed, uint256 actorSeed, uint256 value, uint128 fee) external {
        uint256 k = op % 5;
        if (k == 0) signedGrant(seed, value);
        else if (k == 1) signedSpawn(seed, actorSeed, value);
        else if (k == 2) setMaxRelayFee(seed, actorSeed, fee);
        else depositOrWithdraw(seed, value);
    }

    /// @notice The tokens misbehave or relent: a blocklist entry, false returns, gas burning.
    function weather(uint8 op, uint8 who, bool on) external {
        uint256 k = op % 3;
        if (k == 0) toggleBlocked(who, on);
        else if (k == 1) toggleFalse(on);
        else toggleBurner(who % 2 == 0, on);
    }

    /*//////////////////////////////////////////////////////////////
                          HANDLERS: CREATION
    //////////////////////////////////////////////////////////////*/

    /// @notice The manager owner opens a root session with up to three budgets and random limits.
    function createRoot(uint256 seed, uint128[3] memory amounts, uint128[3] memory caps, uint32 timing) external {
        calls++;
        if (ids.length >= MAX_SESSIONS || _liveRoots() >= MAX_LIVE_ROOTS) return;
        ISessionTypes.SessionParams memory p = _randomParams(_fresh(), seed, timing, type(uint40).max);
        p.draft = seed % 11 == 0;
        uint256 n = 1 + seed % 3;
        p.budgets = new ISessionTypes.BudgetParams[](n);
        uint256 eth;
        for (uint256 i; i < n; ++i) {
            address token = tokens[(seed >> (8 * (i + 1))) % tokens.length];
            // one budget per token: rotate on a clash
            for (uint256 j; j < i; ++j) {
                if (p.budgets[j].token == token) token = tokens[(_indexOf(token) + 1) % tokens.length];
            }
            for (uint256 j; j < i; ++j) {
                if (p.budgets[j].token == token) return;
            }
            uint128 amount = uint128(bound(amounts[i], 0, 100 ether));
            p.budgets[i] = _budgetRow(token, amount, caps[i], p.period, seed >> (60 + i));
            if (token == NATIVE) eth += amount;
        }
        // most roots also declare an empty row of a swappable token: a swap may bring it in, under its caps
        if (seed % 4 != 0) _addEmptyRow(p, 0, seed, caps[0]);
        uint256[] memory before = _managerBalances();
        vm.prank(owner);
        (bool ok, bytes memory ret) = address(manager).call{value: eth}(abi.encodeCall(manager.createSession, (p)));
        if (!ok) return;
        uint256 id = abi.decode(ret, (uint256));
        roots.push(id);
        _record(id, 0, p);
        _maybeAllowRelayFees(owner, id, seed);
        uint256[] memory afterwards = _managerBalances();
        // what entered the new subtree from outside: what actually arrived (fee-on-transfer credits less)
        for (uint256 t; t < tokens.length; ++t) {
            subIn[id][tokens[t]] += afterwards[t] - before[t];
        }
    }

    /// @notice A parent's agent or a controller spawns a child out of the parent's unspent budget. Half of the time
    /// the spawner names itself the child's agent (an agent's own sub-agent).
    function spawnChild(uint256 parentSeed, uint256 actorSeed, uint128[2] memory amounts, uint128[2] memory caps, uint32 timing)
        external
    {
        calls++;
        if (ids.length == 0 || ids.length >= MAX_SESSIONS) return;
        uint256 parentId = _pick(parentSeed);
        address actor = _actorFor(parentId, actorSeed, true);
        // an agent's own sub-agent half of the time; every other new agent is a fresh key
        address childAgent = actor == nodes[parentId].agent && actorSeed % 2 == 0 ? actor : _fresh();
        ISessionTypes.SessionParams memory p =
            _randomParams(childAgent, parentSeed, timing, nodes[parentId].expiry);
        p.budgets = _childBudgets(parentId, actorSeed, amounts, caps, p.period);
        // most children also declare an empty row of a swappable token their parent has a row for
        if (parentSeed % 4 != 0) _addEmptyRow(p, parentId, parentSeed, caps[0]);
        _doSpawn(actor, parentId, p);
    }

    function _doSpawn(address actor, uint256 parentId, ISessionTypes.SessionParams memory p)
        internal
        returns (bool ok, uint256 id)
    {
        bool blocked = _blocked(parentId);
        vm.prank(actor);
        bytes memory ret;
        (ok, ret) = address(manager).call(abi.encodeCall(manager.spawnChild, (parentId, p)));
        if (!ok) return (false, 0);
        id = abi.decode(ret, (uint256));
        _record(id, parentId, p);
        for (uint256 i; i < p.budgets.length; ++i) {
            subIn[id][p.budgets[i].token] += p.budgets[i].amount;
        }
        _afterSuccess(actor, parentId, blocked, "spawnChild");
        _maybeAllowRelayFees(actor, id, parentId);
    }

    /// @notice Tops up a session: a root from its controller's wallet, a child out of its parent's escrow.
    function fund(uint256 seed, uint256 actorSeed, uint128 amount) external {
        calls++;
        if (ids.length == 0) return;
        // children most of the time: topping up a child is where a parent's limits are tested
        uint256 id = _pick(seed);
        if (nodes[id].depth == 0 && seed % 3 != 0) id = _pick(seed >> 1);
        Node memory n = nodes[id];
        // a root is topped up by its controllers; a child out of its parent, so by the parent's roles
        address actor = n.depth == 0 ? _actorFor(id, actorSeed, false) : _actorFor(n.parent, actorSeed, true);
        address token = n.depth == 0 ? tokens[(seed >> 8) % tokens.length] : _heldToken(n.parent, seed >> 8);
        uint256 value;
        if (n.depth == 0) {
            amount = uint128(bound(amount, 0, 10 ether));
            _fundActor(actor);
            if (token == NATIVE) value = amount;
        } else {
            // a reservation out of the parent: often just within the caps on the parent's path, to try slicing
            amount = uint128(_amount(n.parent, token, amount));
        }
        _doFund(actor, id, token, amount, value);
    }

    function _doFund(address actor, uint256 id, address token, uint256 amount, uint256 value) internal returns (bool ok) {
        // a draft may be funded while it is set up; an ended or paused session (or tree) may not
        bool blocked = pausedAll || _ended(id) || _pausedOnPath(id);
        uint256 before = _balanceOf(token, address(manager));
        vm.prank(actor);
        (ok,) = address(manager).call{value: value}(abi.encodeCall(manager.fund, (id, token, amount)));
        if (!ok) return false;
        // into a root: what arrived from outside; into a child: what its parent set aside
        subIn[id][token] += nodes[id].depth == 0 ? _balanceOf(token, address(manager)) - before : amount;
        _afterSuccess(actor, id, blocked, "fund");
        // funding a child is one call and the activity of its parent
        if (nodes[id].depth != 0) _afterParentCall(nodes[id].parent, "fund");
    }

    /// @dev After a successful call made on behalf of `id` that moves nothing out of the subtree (funding a child):
    /// restart its idle clock and count the call in its and its ancestors' windows, like `_afterSpend` does.
    function _afterParentCall(uint256 id, string memory what) internal {
        nodes[id].lastActive = uint40(block.timestamp);
        for (uint256 x = id; x != 0; x = nodes[x].parent) {
            Node memory n = nodes[x];
            if (n.period != 0) {
                uint256 w = block.timestamp < n.start ? 0 : (block.timestamp - n.start) / n.period;
                uint256 callsInWindow = windowCalls[x][w] += 1;
                // a call limit counts every call made anywhere in the subtree
                if (n.maxCalls != 0 && callsInWindow > n.maxCalls) _break(CALLS, what, x, callsInWindow, n.maxCalls);
            }
            if (n.depth == 0) break;
        }
    }

    /*//////////////////////////////////////////////////////////////
                          HANDLERS: SPENDING
    //////////////////////////////////////////////////////////////*/

    /// @notice A session pays ETH to the target (with calldata) or to a payee (a plain transfer).
    function execute(uint256 seed, uint256 actorSeed, uint256 value, bool withData) external {
        calls++;
        if (ids.length == 0) return;
        uint256 id = _pick(seed);
        address actor = _actorFor(id, actorSeed, true);
        value = _amount(id, NATIVE, value);
        (address to, bytes memory data) =
            withData ? (address(target), abi.encodeCall(Target.ping, ())) : (payee, bytes(""));
        _doExecute(actor, id, to, value, data);
    }

    function _doExecute(address actor, uint256 id, address to, uint256 value, bytes memory data)
        internal
        returns (bool ok)
    {
        bool blocked = _blocked(id);
        vm.prank(actor);
        (ok,) = address(manager).call(abi.encodeCall(manager.execute, (id, to, value, data)));
        if (ok) _afterSpend(actor, id, NATIVE, value, 1, blocked, "execute");
    }

    /// @notice A session makes two or three payments in one transaction.
    function executeBatch(uint256 seed, uint256 actorSeed, uint256[3] memory values, uint8 count) external {
        calls++;
        if (ids.length == 0) return;
        uint256 id = _pick(seed);
        address actor = _actorFor(id, actorSeed, true);
        uint256 n = 2 + count % 2;
        ISessionTypes.Call[] memory batch = new ISessionTypes.Call[](n);
        uint256 left = manager.remaining(id, NATIVE);
        for (uint256 i; i < n; ++i) {
            // half the time a slice of what the tightest cap on the path lets through (the path's caps bind each
            // call), else anything up to half the budget
            uint256 value = values[i] % 2 == 0 ? _amount(id, NATIVE, values[i] >> 1) / n : bound(values[i], 0, left / 2 + 1);
            batch[i] = ISessionTypes.Call(address(target), value, abi.encodeCall(Target.ping, ()));
        }
        bool blocked = _blocked(id);
        vm.prank(actor);
        (bool ok,) = address(manager).call(abi.encodeCall(manager.executeBatch, (id, batch)));
        if (!ok) return;
        // every call of the batch is one external call: each is checked against the caps on its own
        for (uint256 i; i < n; ++i) {
            _afterSpend(actor, id, NATIVE, batch[i].value, i == 0 ? n : 0, blocked, "executeBatch");
        }
    }

    /// @notice A session pays a token to a payee, to the target, or to the executor (which must never hold funds).
    function transferToken(uint256 seed, uint256 actorSeed, uint256 amount, uint8 toSeed) external {
        calls++;
        if (ids.length == 0) return;
        uint256 id = _pick(seed);
        address actor = _actorFor(id, actorSeed, true);
        address token = _heldToken(id, seed >> 8);
        amount = _amount(id, token, amount);
        if (amount == 0) amount = 1;
        address to = toSeed % 8 == 0 ? executor : toSeed % 2 == 0 ? payee : address(target);
        _doTransfer(actor, id, token, to, amount);
    }

    function _doTransfer(address actor, uint256 id, address token, address to, uint256 amount)
        internal
        returns (bool ok)
    {
        bool blocked = _blocked(id);
        vm.prank(actor);
        (ok,) = address(manager).call(abi.encodeCall(manager.transferToken, (id, token, to, amount)));
        if (ok) _afterSpend(actor, id, token, amount, 1, blocked, "transferToken");
    }

    /// @notice A session swaps through the dex (output back to the executor or straight to the manager).
    function swap(uint256 seed, uint256 actorSeed, uint256 amountIn, uint8 pair) external {
        calls++;
        if (ids.length == 0) return;
        uint256 id = _pick(seed);
        address actor = _actorFor(id, actorSeed, true);
        // sell what the session holds, mostly; buy one of the others
        address tokenIn = _swapInput(id, pair);
        address tokenOut = _swapOutput(id, tokenIn, pair);
        amountIn = _amount(id, tokenIn, amountIn);
        if (amountIn == 0) amountIn = 1;
        _swapAndRecord(actor, id, tokenIn, amountIn, tokenOut, pair % 2 == 0 ? executor : address(manager));
    }

    /// @dev One swap, and the ghost kept in step with it.
    function _swapAndRecord(
        address actor,
        uint256 id,
        address tokenIn,
        uint256 amountIn,
        address tokenOut,
        address recipient
    ) internal {
        bool blocked = _blocked(id);
        (bool ok, uint256 spent, uint256 received) = _swapVia(actor, id, tokenIn, amountIn, tokenOut, recipient);
        if (!ok) return;
        // the proceeds entered the subtree of the session and of every ancestor
        for (uint256 x = id; x != 0; x = nodes[x].parent) {
            subIn[x][tokenOut] += received;
            if (nodes[x].depth == 0) break;
        }
        _afterSpend(actor, id, tokenIn, spent, 1, blocked, "swap");
    }

    /// @dev The input of a swap: mostly a token the session holds.
    function _swapInput(uint256 id, uint8 pair) internal view returns (address tokenIn) {
        tokenIn = swappable[pair % swappable.length];
        for (uint256 i; i < swappable.length && manager.remaining(id, tokenIn) == 0; ++i) {
            tokenIn = swappable[(pair + i + 1) % swappable.length];
        }
    }

    /// @dev The output of a swap selling `tokenIn`: mostly a token the session has a budget row for (the only ones it
    /// may receive), else any other, which the manager refuses.
    function _swapOutput(uint256 id, address tokenIn, uint8 pair) internal view returns (address tokenOut) {
        tokenOut = swappable[(_swapIndex(tokenIn) + 1 + (pair >> 4) % (swappable.length - 1)) % swappable.length];
        if (pair % 8 == 7) return tokenOut;
        for (uint256 i; i < swappable.length; ++i) {
            address t = swappable[(pair + i) % swappable.length];
            if (t != tokenIn && _hasRow(id, t)) return t;
        }
    }

    /// @dev One swap through the dex as `actor`; what left and what arrived are the manager's balance changes.
    function _swapVia(address actor, uint256 id, address tokenIn, uint256 amountIn, address tokenOut, address recipient)
        internal
        returns (bool ok, uint256 spent, uint256 received)
    {
        bytes memory data = abi.encodeCall(MockDex.swap, (tokenIn, amountIn, tokenOut, recipient));
        uint256 inBefore = _balanceOf(tokenIn, address(manager));
        uint256 outBefore = _balanceOf(tokenOut, address(manager));
        vm.prank(actor);
        (ok,) = address(manager).call(
            abi.encodeCall(manager.swap, (id, tokenIn, amountIn, tokenOut, 0, address(dex), data))
        );
        if (!ok) return (false, 0, 0);
        spent = inBefore - _balanceOf(tokenIn, address(manager));
        received = _balanceOf(tokenOut, address(manager)) - outBefore;
    }

    /// @notice The agent anchors a checkpoint (activity, no spending).
    function checkpoint(uint256 seed, uint256 actorSeed, bytes32 root) public {
        calls++;
        if (ids.length == 0) return;
        uint256 id = _pick(seed);
        address actor = _actorFor(id, actorSeed, true);
        bool blocked = _blocked(id);
        vm.prank(actor);
        (bool ok,) = address(manager).call(abi.encodeCall(manager.checkpoint, (id, root, uint64(calls))));
        if (!ok) return;
        nodes[id].lastActive = uint40(block.timestamp);
        _afterSuccess(actor, id, blocked, "checkpoint");
    }

    /*//////////////////////////////////////////////////////////////
                          HANDLERS: LIFECYCLE
    //////////////////////////////////////////////////////////////*/

    /// @dev One lifecycle move by a drawn role on a drawn session: pause (0), resume (1), activate (2), revoke (3),
    /// complete (4) or close (5); the ghost follows what went through.
    function _lifecycleMove(uint256 k, uint256 seed, uint256 actorSeed) internal {
        calls++;
        if (ids.length == 0) return;
        uint256 id = _pick(seed);
        address actor = _actorFor(id, actorSeed, false);
        bytes4[6] memory moves = [
            manager.pause.selector,
            manager.resume.selector,
            manager.activate.selector,
            manager.revoke.selector,
            manager.complete.selector,
            manager.close.selector
        ];
        string[6] memory names = ["pause", "resume", "activate", "revoke", "complete", "close"];
        vm.prank(actor);
        (bool ok,) = address(manager).call(abi.encodeWithSelector(moves[k], id));
        if (!ok) return;
        Node storage n = nodes[id];
        if (k == 0) n.paused = true;
        else if (k == 1) n.paused = false;
        else if (k == 2) (n.draft, n.start, n.lastActive) = (false, uint40(block.timestamp), uint40(block.timestamp));
        else if (k == 3) n.ended = true;
        else if (k == 4) (n.ended, n.closed) = (true, true);
        else n.closed = true;
        // anyone may settle an ended session: every other move is a power a rotated-out key must not have
        if (k != 5) _checkNoStalePower(actor, id, names[k]);
    }

    /// @notice Closes a run of sessions in one call (already closed ones are skipped).
    function closeMany(uint256 seed, uint8 count) public {
        calls++;
        if (ids.length == 0) return;
        uint256 n = 1 + count % 4;
        uint256[] memory batch = new uint256[](n);
        for (uint256 i; i < n; ++i) {
            batch[i] = _pick(seed + i);
        }
        vm.prank(stranger);
        (bool ok,) = address(manager).call(abi.encodeCall(manager.closeMany, (batch)));
        if (!ok) return;
        for (uint256 i; i < n; ++i) {
            nodes[batch[i]].closed = true;
        }
    }

    function rotateAgent(uint256 seed, uint256 actorSeed) public {
        calls++;
        if (ids.length == 0) return;
        uint256 id = _pick(seed);
        address actor = _actorFor(id, actorSeed, false);
        address newAgent = _fresh();
        address old = nodes[id].agent;
        vm.prank(actor);
        (bool ok,) = address(manager).call(abi.encodeCall(manager.rotateAgent, (id, newAgent)));
        if (!ok) return;
        _checkNoStalePower(actor, id, "rotateAgent");
        // a key that rotates itself out (as the session's holder) keeps its holder's power: only a rotation done to
        // it by a controller takes power away
        if (actor != old) rotatedOut[id].push(old);
        nodes[id].agent = newAgent;
    }

    /// @notice A controller changes the caps of one token (possibly lifting them).
    function updateLimits(uint256 seed, uint256 actorSeed, uint128 perCall, uint128 perPeriod) public {
        calls++;
        if (ids.length == 0) return;
        uint256 id = _pick(seed);
        address actor = _actorFor(id, actorSeed, false);
        address token = tokens[(seed >> 8) % tokens.length];
        perCall = uint128(bound(perCall, 0, 20 ether));
        perPeriod = nodes[id].period == 0 ? 0 : uint128(bound(perPeriod, 0, 40 ether));
        bool ended = _ended(id);
        uint256 before = manager.getBudget(id, token).periodAllowance;
        vm.prank(actor);
        (bool ok,) = address(manager).call(abi.encodeCall(manager.updateLimits, (id, token, perCall, perPeriod)));
        if (!ok) return;
        if (ended) _break(ENDED, "updateLimits on an ended session", id, 0, 0);
        if (before == 0 && perPeriod != 0) _restartWindow(id, token);
        _checkNoStalePower(actor, id, "updateLimits");
    }

    /// @dev An allowance counts from the moment it is set: one added where there was none starts the current window
    /// of the ghost at zero, as the manager does.
    function _restartWindow(uint256 id, address token) internal {
        Node memory n = nodes[id];
        if (n.period == 0) return;
        uint256 w = block.timestamp < n.start ? 0 : (block.timestamp - n.start) / n.period;
        windowOut[id][token][w] = 0;
    }

    function updateExpiry(uint256 seed, uint256 actorSeed, uint40 ttl) public {
        calls++;
        if (ids.length == 0) return;
        uint256 id = _pick(seed);
        address actor = _actorFor(id, actorSeed, false);
        uint40 expiry = uint40(block.timestamp + bound(ttl, 1, 60 days));
        bool ended = _ended(id);
        vm.prank(actor);
        (bool ok,) = address(manager).call(abi.encodeCall(manager.updateExpiry, (id, expiry)));
        if (!ok) return;
        if (ended) _break(ENDED, "updateExpiry on an ended session", id, 0, 0);
        nodes[id].expiry = expiry;
        _checkNoStalePower(actor, id, "updateExpiry");
    }

    /// @notice A draft's timing is edited (period windows restart at activation).
    function updateTiming(uint256 seed, uint256 actorSeed, uint32 timing) public {
        calls++;
        if (ids.length == 0) return;
        uint256 id = _pick(seed);
        address actor = _actorFor(id, actorSeed, false);
        (uint32 maxIdle, uint32 period, uint16 maxCalls) = _timing(timing);
        vm.prank(actor);
        (bool ok,) = address(manager).call(abi.encodeCall(manager.updateTiming, (id, maxIdle, period, maxCalls)));
        if (!ok) return;
        Node storage n = nodes[id];
        (n.maxIdle, n.period, n.maxCalls) = (maxIdle, period, maxCalls);
        (n.start, n.lastActive) = (uint40(block.timestamp), uint40(block.timestamp));
        _checkNoStalePower(actor, id, "updateTiming");
    }

    /// @notice The holder hands the session token to a fresh address (a new controller).
    function transferSession(uint256 seed, uint256 actorSeed) public {
        calls++;
        if (ids.length == 0) return;
        uint256 id = _pick(seed);
        address actor = _actorFor(id, actorSeed, false);
        address to = _fresh();
        vm.prank(actor);
        (bool ok,) = address(manager).call(abi.encodeWithSignature("transferFrom(address,address,uint256)", actor, to, id));
        if (!ok) return;
        _checkNoStalePower(actor, id, "transferFrom");
    }

    /*//////////////////////////////////////////////////////////////
                          HANDLERS: OWNER-WIDE
    //////////////////////////////////////////////////////////////*/

    function pauseAll(bool asOwner) public {
        calls++;
        vm.prank(asOwner ? owner : stranger);
        (bool ok,) = address(manager).call(abi.encodeCall(manager.pauseAll, ()));
        if (ok) pausedAll = true;
    }

    function unpauseAll(bool asOwner) public {
        calls++;
        vm.prank(asOwner ? owner : stranger);
        (bool ok,) = address(manager).call(abi.encodeCall(manager.unpauseAll, ()));
        if (ok) pausedAll = false;
    }

    /// @notice Rare on purpose: it ends every session at once.
    function revokeAll(uint8 dice) public {
        calls++;
        if (dice % 16 != 0) return;
        vm.prank(owner);
        (bool ok,) = address(manager).call(abi.encodeCall(manager.revokeAll, ()));
        if (ok) epoch++;
    }

    /// @notice A payee collects a payout a token refused at settlement.
    function claim(uint256 keySeed, uint8 tokenSeed) public {
        calls++;
        if (keys.length == 0) return;
        address who = keys[keySeed % keys.length];
        vm.prank(who);
        (bool ok,) = address(manager).call(abi.encodeCall(manager.claim, (tokens[tokenSeed % tokens.length], who)));
        ok;
    }

    /*//////////////////////////////////////////////////////////////
                       HANDLERS: TIME AND TOKENS
    //////////////////////////////////////////////////////////////*/

    /// @notice Moves time: seconds, an hour, most of a day, a day and a bit, a week.
    function warp(uint8 kind, uint32 jitter) external {
        calls++;
        // mostly short steps, so sessions live long enough to build trees; now and then a jump across windows
        uint256[16] memory steps = [
            uint256(13), 13, 13, 13, 13, 13, 13, 13, 1 hours, 1 hours, 1 hours, 3 hours, 20 hours, 1 days, 1 days + 3 hours, 7 days
        ];
        vm.warp(block.timestamp + steps[kind % 16] + jitter % 600);
    }

    /// @notice The blocklist token blocks or unblocks an account (owner, payee, manager, executor, a key).
    function toggleBlocked(uint8 who, bool blocked) public {
        calls++;
        address[5] memory pool = [owner, payee, address(manager), executor, keys.length == 0 ? stranger : keys[who % keys.length]];
        blockToken.setBlocked(pool[who % 5], blocked);
    }

    /// @notice The false-returning token starts or stops refusing every transfer.
    function toggleFalse(bool failAll) public {
        calls++;
        falseToken.setFailAll(failAll);
    }

    /// @notice A gas-burning token starts or stops swallowing the gas of its transfers.
    function toggleBurner(bool which, bool burning) public {
        calls++;
        (which ? burnerA : burnerB).setBurning(burning);
    }

    /*//////////////////////////////////////////////////////////////
                  HANDLERS: AN AGENT TRYING TO ESCALATE
    //////////////////////////////////////////////////////////////*/

    /// @notice An agent's strategy against its own limits: open a sub-agent for its own key with what its caps let it
    /// set aside, top it up in slices (each within the caps, with time passing between them when `gaps` says so),
    /// then have the sub-agent spend everything it holds in one call. The parameters (session, token, slices, time,
    /// how to spend) are the fuzzer's; whether it breaks a promise is judged by the same checks as every move.
    function agentEscalatesThroughChild(uint256 seed, uint8 slices, uint8 gaps, uint32 timing) external {
        calls++;
        if (ids.length == 0 || ids.length >= MAX_SESSIONS) return;
        uint256 parentId = _pick(seed);
        address agent_ = nodes[parentId].agent;
        address token = _heldToken(parentId, seed >> 8);
        ISessionTypes.SessionParams memory p = _randomParams(agent_, seed, timing, nodes[parentId].expiry);
        p.budgets = new ISessionTypes.BudgetParams[](1);
        // the sub-agent gets no caps of its own: only its ancestors' limits stand between it and the funds
        p.budgets[0] = ISessionTypes.BudgetParams(token, uint128(_amount(parentId, token, 2 + 6 * (seed >> 20))), 0, 0);
        (bool ok, uint256 child) = _doSpawn(agent_, parentId, p);
        if (!ok) return;
        _sliceInto(agent_, parentId, child, token, seed, slices, gaps);
        uint256 all = manager.remaining(child, token);
        if (all == 0) return;
        if (token == NATIVE) _doExecute(agent_, child, payee, all, "");
        else _doTransfer(agent_, child, token, payee, all);
    }

    /// @dev Tops `child` up from `parentId` in one to four slices within the caps, time passing between some.
    function _sliceInto(address agent_, uint256 parentId, uint256 child, address token, uint256 seed, uint8 slices, uint8 gaps)
        internal
    {
        uint256 n = 1 + slices % 4;
        for (uint256 i; i < n; ++i) {
            if ((gaps >> i) & 1 == 1) vm.warp(block.timestamp + ((gaps >> 4) % 2 == 0 ? 1 hours : 1 days) + 1);
            uint256 amount = _amount(parentId, token, 2 + 6 * (seed >> (32 + 8 * i)));
            _doFund(agent_, child, token, amount, 0);
        }
    }

    /*//////////////////////////////////////////////////////////////
                     HANDLERS: THE ROTATED-OUT KEY
    //////////////////////////////////////////////////////////////*/

    /// @notice A key rotated out of a session tries every power it might have kept over it or a descendant.
    function rotatedKeyStrikes(uint256 seed, uint8 move, uint128 amount) external {
        calls++;
        if (ids.length == 0) return;
        uint256 id = _pick(seed);
        (address key, bool found) = _staleKeyOver(id, seed);
        if (!found) return;
        uint256 m = move % 9;
        uint256 value = m == 4 ? bound(amount, 0, manager.remaining(id, NATIVE)) : bound(amount, 1, 1 ether);
        bytes memory call_;
        if (m == 0) call_ = abi.encodeCall(manager.rotateAgent, (id, key));
        else if (m == 1) call_ = abi.encodeCall(manager.updateLimits, (id, NATIVE, 0, 0));
        else if (m == 2) call_ = abi.encodeCall(manager.resume, (id));
        else if (m == 3) call_ = abi.encodeCall(manager.pause, (id));
        else if (m == 4) call_ = abi.encodeCall(manager.execute, (id, payee, value, ""));
        else if (m == 5) call_ = abi.encodeCall(manager.revoke, (id));
        else if (m == 6) call_ = abi.encodeCall(manager.updateExpiry, (id, uint40(block.timestamp + 1 hours)));
        else if (m == 7) call_ = abi.encodeCall(manager.fund, (id, NATIVE, value));
        else call_ = abi.encodeWithSignature("transferFrom(address,address,uint256)", key, key, id);
        bool blocked = _blocked(id);
        vm.prank(key);
        (bool ok,) = address(manager).call(call_);
        if (!ok) return;
        // the strike worked: record it, and keep the ghost in step with what it changed
        _break(ROTATION, "a rotated-out key acted on the session or a descendant", id, m, uint160(key));
        if (m == 0) nodes[id].agent = key;
        else if (m == 2) nodes[id].paused = false;
        else if (m == 3) nodes[id].paused = true;
        else if (m == 4) _afterSpend(key, id, NATIVE, value, 1, blocked, "execute");
        else if (m == 5) nodes[id].ended = true;
        else if (m == 6) nodes[id].expiry = uint40(block.timestamp + 1 hours);
        else if (m == 7 && nodes[id].depth != 0) subIn[id][NATIVE] += value;
    }

    /*//////////////////////////////////////////////////////////////
                         SETTLEMENT OF EVERYTHING
    //////////////////////////////////////////////////////////////*/

    /// @notice Ends every session (revoke-all), closes each within a single-transaction gas budget, then makes every
    /// payee claim what a refusing token deferred. Afterwards nothing may be left in the manager or the executor.
    /*//////////////////////////////////////////////////////////////
                        HANDLERS: THE WALLET DOOR
    //////////////////////////////////////////////////////////////*/

    /// @notice A drawn role signs an execute of a session (its agent most of the time, else a parent's agent, the
    /// owner, a stranger or a rotated-out key); a relayer submits it and is paid the fee. A signed execute must keep
    /// every promise a direct one does, its fee too (a spend of its own), and a nonce works once.
    function signedExecute(uint256 seed, uint256 actorSeed, uint256 value, uint128 fee) public {
        calls++;
        if (ids.length == 0) return;
        uint256 id = _pick(seed);
        address signer = _actorFor(id, actorSeed, true);
        value = _amount(id, NATIVE, value);
        fee = _relayFee(id, seed, fee);
        // a fresh nonce, or now and then one the signer already used (a replay)
        uint256 nonce = seed % 7 == 0 && lastNonce[signer] != 0 ? lastNonce[signer] : ++nonceCounter;
        bytes memory call_ = _signedPayment(signer, id, value, nonce, fee);
        bool replay = usedNonce[signer][nonce];
        bool blocked = _blocked(id);
        uint256 relayerBefore = relayer.balance;
        vm.prank(relayer);
        (bool ok,) = address(manager).call(call_);
        if (!ok) return;
        if (replay) _break(SIGNED, "a signature went through twice", id, nonce, uint160(signer));
        (usedNonce[signer][nonce], lastNonce[signer]) = (true, nonce);
        _afterSignedPayment(signer, id, value, fee, blocked, relayer.balance - relayerBefore);
    }

    /// @dev The ghost of a signed payment that went through: the payment and the fee are spends of their own (one
    /// call); the fee stays within the relay-fee cap of the session and of every ancestor and is all the relayer got.
    function _afterSignedPayment(address signer, uint256 id, uint256 value, uint256 fee, bool blocked, uint256 paid)
        internal
    {
        if (value != 0) {
            _afterSpend(signer, id, NATIVE, value, 1, blocked, "executeWithSig");
        } else {
            _afterSuccess(signer, id, blocked, "executeWithSig");
            _afterParentCall(id, "executeWithSig");
        }
        if (paid != fee) _break(SIGNED, "the relayer was paid other than the fee", id, paid, fee);
        if (fee == 0) return;
        for (uint256 x = id; x != 0; x = nodes[x].parent) {
            uint256 cap = manager.maxRelayFee(x);
            if (fee > cap) _break(SIGNED, "a relay fee above a cap on the path", x, fee, cap);
            if (nodes[x].depth == 0) break;
        }
        _afterSpend(signer, id, NATIVE, fee, 0, blocked, "relayFee");
    }

    /// @dev No fee, a fee within every relay-fee cap on the session's path, or (now and then) any fee at all.
    function _relayFee(uint256 id, uint256 seed, uint128 fee) internal view returns (uint128) {
        uint256 kind = (seed >> 16) % 8;
        if (kind < 3) return 0;
        if (kind == 7) return uint128(_amount(id, NATIVE, fee) / 4);
        uint256 cap = type(uint256).max;
        for (uint256 x = id; x != 0; x = nodes[x].parent) {
            uint256 c = manager.maxRelayFee(x);
            if (c < cap) cap = c;
            if (nodes[x].depth == 0) break;
        }
        return uint128(bound(fee, 0, cap));
    }

    /// @dev The calldata of `signer`'s signed payment of `value` to the payee out of `id`, paying the relayer `fee`.
    function _signedPayment(address signer, uint256 id, uint256 value, uint256 nonce, uint256 fee)
        internal
        view
        returns (bytes memory)
    {
        bytes memory sig =
            _sign(signer, SessionTypedData.executeHash(id, payee, value, "", nonce, block.timestamp, fee));
        return abi.encodeCall(manager.executeWithSig, (id, payee, value, "", nonce, block.timestamp, fee, sig));
    }

    /// @notice The owner signs a grant of a root (ETH out of its deposit, USDC on its allowance); a relayer submits it.
    function signedGrant(uint256 seed, uint256 amount) public {
        calls++;
        if (ids.length >= MAX_SESSIONS || _liveRoots() >= MAX_LIVE_ROOTS) return;
        ISessionTypes.SessionParams memory p = _randomParams(_fresh(), seed, uint32(seed >> 32), type(uint40).max);
        uint128 eth = uint128(bound(amount, 0, 20 ether));
        p.budgets = new ISessionTypes.BudgetParams[](2);
        p.budgets[0] = _budgetRow(NATIVE, eth, uint128(seed >> 64), p.period, seed >> 100);
        p.budgets[1] = _budgetRow(address(usdc), uint128(amount % 1e12), uint128(seed >> 140), p.period, seed >> 180);
        // most of the time the owner's deposit covers the grant first
        if (seed % 5 != 0 && manager.depositOf(owner) < eth) _deposit(owner, eth);
        uint256 nonce = ++nonceCounter;
        bytes memory sig = _ownerGrant(p, nonce);
        uint256[] memory before = _managerBalances();
        uint256 depositBefore = manager.depositOf(owner);
        vm.prank(relayer);
        (bool ok, bytes memory ret) = address(manager).call(
            abi.encodeCall(manager.createSessionWithSig, (p, owner, nonce, block.timestamp, sig))
        );
        if (!ok) return;
        _afterGrant(abi.decode(ret, (uint256)), p, before, depositBefore, eth, seed);
    }

    /// @dev The ghost of a grant that went through: what entered the new subtree (ERC-20s that arrived, ETH drawn
    /// from the deposit, which must be exactly its ETH budget); most granted roots then let relayers be paid.
    function _afterGrant(
        uint256 id,
        ISessionTypes.SessionParams memory p,
        uint256[] memory before,
        uint256 depositBefore,
        uint256 eth,
        uint256 seed
    ) internal {
        roots.push(id);
        _record(id, 0, p);
        uint256[] memory afterwards = _managerBalances();
        for (uint256 t; t < tokens.length; ++t) {
            subIn[id][tokens[t]] += afterwards[t] - before[t];
        }
        uint256 drawn = depositBefore - manager.depositOf(owner);
        if (drawn != eth) _break(SIGNED, "a grant drew other than its ETH budget from the deposit", id, drawn, eth);
        subIn[id][NATIVE] += drawn;
        deposited[owner] -= drawn;
        depositTotal -= drawn;
        succeeded["createSessionWithSig"]++;
        _maybeAllowRelayFees(owner, id, seed);
    }

    /// @dev Most new sessions let relayers be paid, up to a cap their holder sets right away.
    function _maybeAllowRelayFees(address holder, uint256 id, uint256 seed) internal {
        seed = uint256(keccak256(abi.encode(seed, id)));
        if (seed % 4 == 0) return;
        vm.prank(holder);
        (bool ok,) = address(manager).call(abi.encodeCall(manager.setMaxRelayFee, (id, bound(seed >> 8, 0, 0.5 ether))));
        if (ok) succeeded["setMaxRelayFee"]++;
    }

    /// @notice A drawn role signs a child of a session (only the parent's agent's signature may go through); a
    /// relayer submits it.
    function signedSpawn(uint256 seed, uint256 actorSeed, uint256 amount) public {
        calls++;
        if (ids.length == 0 || ids.length >= MAX_SESSIONS) return;
        uint256 parentId = _pick(seed);
        address signer = _actorFor(parentId, actorSeed, true);
        ISessionTypes.SessionParams memory p =
            _randomParams(_fresh(), seed, uint32(actorSeed >> 32), nodes[parentId].expiry);
        p.budgets = _childBudgets(
            parentId, actorSeed, [uint128(amount), uint128(amount >> 128)], [uint128(seed >> 8), uint128(seed >> 136)], p.period
        );
        uint256 nonce = ++nonceCounter;
        bytes memory sig = _sign(signer, SessionTypedData.spawnHash(parentId, p, nonce, block.timestamp));
        bool blocked = _blocked(parentId);
        vm.prank(relayer);
        (bool ok, bytes memory ret) =
            address(manager).call(abi.encodeCall(manager.spawnChildWithSig, (parentId, p, nonce, block.timestamp, sig)));
        if (!ok) return;
        uint256 id = abi.decode(ret, (uint256));
        _record(id, parentId, p);
        for (uint256 i; i < p.budgets.length; ++i) {
            subIn[id][p.budgets[i].token] += p.budgets[i].amount;
        }
        if (signer != nodes[parentId].agent) _break(SIGNED, "a spawn signed by other than the parent's agent", id, 0, uint160(signer));
        _afterSuccess(signer, parentId, blocked, "spawnChildWithSig");
    }

    function setMaxRelayFee(uint256 seed, uint256 actorSeed, uint128 fee) public {
        calls++;
        if (ids.length == 0) return;
        uint256 id = _pick(seed);
        address actor = _actorFor(id, actorSeed, false);
        bool ended = _ended(id);
        vm.prank(actor);
        (bool ok,) = address(manager).call(abi.encodeCall(manager.setMaxRelayFee, (id, bound(fee, 0, 2 ether))));
        if (!ok) return;
        if (ended) _break(ENDED, "setMaxRelayFee on an ended session", id, 0, 0);
        _checkNoStalePower(actor, id, "setMaxRelayFee");
        succeeded["setMaxRelayFee"]++;
    }

    /// @notice The owner or a stranger deposits ETH, or withdraws some of its deposit.
    function depositOrWithdraw(uint256 seed, uint256 amount) public {
        calls++;
        address who = seed % 2 == 0 ? owner : stranger;
        if (seed % 4 < 2) {
            _deposit(who, bound(amount, 1, 5 ether));
            return;
        }
        uint256 d = manager.depositOf(who);
        if (d == 0) return;
        amount = bound(amount, 1, d);
        vm.prank(who);
        manager.withdraw(amount, who);
        deposited[who] -= amount;
        depositTotal -= amount;
    }

    function _deposit(address who, uint256 amount) internal {
        if (amount == 0) return;
        vm.deal(who, who.balance + amount);
        vm.prank(who);
        manager.deposit{value: amount}();
        deposited[who] += amount;
        depositTotal += amount;
    }

    /// @dev The owner's signature of a grant of the one session `p`, valid until now.
    function _ownerGrant(ISessionTypes.SessionParams memory p, uint256 nonce) internal view returns (bytes memory) {
        ISessionTypes.SessionParams[] memory one = new ISessionTypes.SessionParams[](1);
        one[0] = p;
        return _sign(owner, SessionTypedData.grantHash(owner, one, nonce, block.timestamp));
    }

    /// @dev `signer`'s signature of `structHash` in the manager's domain (a key without a private key signs nothing
    /// valid: an empty signature).
    function _sign(address signer, bytes32 structHash) internal view returns (bytes memory) {
        uint256 privateKey = keyOf[signer];
        if (privateKey == 0) return "";
        (uint8 v, bytes32 r, bytes32 s) = vm.sign(privateKey, SessionTypedData.digest(address(manager), structHash));
        return abi.encodePacked(r, s, v);
    }

    function settleEverything() external {
        vm.prank(owner);
        manager.revokeAll();
        epoch++;
        vm.prank(owner);
        manager.unpauseAll();
        pausedAll = false;
        for (uint256 i; i < ids.length; ++i) {
            uint256 id = ids[i];
            if (nodes[id].closed) continue;
            vm.prank(stranger);
            (bool ok,) = address(manager).call{gas: CLOSE_GAS}(abi.encodeCall(manager.close, (id)));
            if (!ok) {
                _break(CLOSE, "a close ran out of its gas budget or reverted", id, 0, 0);
                // settle it anyway with every token behaving, so the rest of the accounting can be checked
                burnerA.setBurning(false);
                burnerB.setBurning(false);
                falseToken.setFailAll(false);
                vm.prank(stranger);
                manager.close(id);
            }
            nodes[id].closed = true;
        }
        // a closed session holds nothing, in any token
        for (uint256 i; i < ids.length; ++i) {
            for (uint256 t; t < tokens.length; ++t) {
                uint256 left = manager.remaining(ids[i], tokens[t]);
                if (left != 0) _break(CLOSE, "a closed session still reads escrow", ids[i], left, 0);
            }
        }
        // every refusing token relents, and every payee collects
        burnerA.setBurning(false);
        burnerB.setBurning(false);
        falseToken.setFailAll(false);
        address[5] memory pool = [owner, payee, address(manager), executor, stranger];
        for (uint256 i; i < 5; ++i) {
            blockToken.setBlocked(pool[i], false);
        }
        // every depositor takes its deposit back
        address[2] memory depositors = [owner, stranger];
        for (uint256 i; i < 2; ++i) {
            uint256 d = manager.depositOf(depositors[i]);
            if (d == 0) continue;
            vm.prank(depositors[i]);
            manager.withdraw(d, depositors[i]);
            deposited[depositors[i]] -= d;
            depositTotal -= d;
        }
        for (uint256 k; k <= keys.length; ++k) {
            address who = k == keys.length ? owner : keys[k];
            blockToken.setBlocked(who, false);
            for (uint256 t; t < tokens.length; ++t) {
                if (manager.owed(who, tokens[t]) == 0) continue;
                vm.prank(who);
                manager.claim(tokens[t], who);
            }
        }
    }

    /*//////////////////////////////////////////////////////////////
                                 VIEWS
    //////////////////////////////////////////////////////////////*/

    /// @dev The unspent escrow of every unclosed session in `token` (a closed one must hold nothing, so it is not
    /// read: anything left in it shows as a gap in the escrow promise).
    function openEscrow(address token) external view returns (uint256 sum) {
        for (uint256 i; i < ids.length; ++i) {
            if (!nodes[ids[i]].closed) sum += manager.remaining(ids[i], token);
        }
    }

    /// @dev The escrow that closed sessions still read in `token`: a close returns everything, so it must be 0 (an ETH
    /// escrow lives in the token's ownership word, which a burn leaves in place).
    function closedEscrow(address token) external view returns (uint256 sum) {
        for (uint256 i; i < ids.length; ++i) {
            if (nodes[ids[i]].closed) sum += manager.remaining(ids[i], token);
        }
    }

    /// @dev The first unclosed session whose subtree holds other than what entered it minus what left it, in one
    /// pass from the youngest (a parent is older than its children, so each subtree is summed before its parent).
    function subtreeMismatch() external view returns (bool found, uint256 id, address token, uint256 held, uint256 expected) {
        uint256 n = ids.length;
        for (uint256 t; t < tokens.length; ++t) {
            token = tokens[t];
            uint256[] memory sums = new uint256[](n + 1);
            for (uint256 i = n; i >= 1; --i) {
                id = ids[i - 1];
                Node storage node = nodes[id];
                if (!node.closed) sums[i] += manager.remaining(id, token);
                if (!node.closed && sums[i] != subIn[id][token] - subOut[id][token]) {
                    return (true, id, token, sums[i], subIn[id][token] - subOut[id][token]);
                }
                // ids are 1..n in creation order, so a session's index is its id
                if (node.parent != 0) sums[node.parent] += sums[i];
            }
        }
        return (false, 0, address(0), 0, 0);
    }

    /// @dev The first session whose subtree spent more of a token than entered it.
    function overspentSubtree() external view returns (bool found, uint256 id, address token) {
        for (uint256 i; i < ids.length; ++i) {
            for (uint256 t; t < tokens.length; ++t) {
                if (subOut[ids[i]][tokens[t]] > subIn[ids[i]][tokens[t]]) return (true, ids[i], tokens[t]);
            }
        }
        return (false, 0, address(0));
    }

    function sessionCount() external view returns (uint256) {
        return ids.length;
    }

    function tokenCount() external view returns (uint256) {
        return tokens.length;
    }

    function isClosed(uint256 id) external view returns (bool) {
        return nodes[id].closed;
    }

    function parentOf(uint256 id) external view returns (uint256) {
        return nodes[id].parent;
    }

    function balanceOf(address token, address account) external view returns (uint256) {
        return _balanceOf(token, account);
    }

    /*//////////////////////////////////////////////////////////////
                          INTERNAL: THE PROMISES
    //////////////////////////////////////////////////////////////*/

    /// @dev After a successful spend of `amount` of `token` by session `id` in one external call: charge the ghost
    /// of the session and every ancestor, and check the promises that bind each of them.
    function _afterSpend(
        address actor,
        uint256 id,
        address token,
        uint256 amount,
        uint256 callCount,
        bool blocked,
        string memory what
    ) internal {
        _afterSuccess(actor, id, blocked, what);
        nodes[id].lastActive = uint40(block.timestamp);
        if (token == NATIVE) ethOut[id] += amount;
        for (uint256 x = id; x != 0; x = nodes[x].parent) {
            subOut[x][token] += amount;
            ISessionTypes.BudgetInfo memory b = manager.getBudget(x, token);
            // no single call moves more than the per-call cap of the session or of any ancestor
            if (b.perCallCap != 0 && amount > b.perCallCap) _break(PER_CALL, what, x, amount, b.perCallCap);
            Node memory n = nodes[x];
            if (n.period != 0) {
                uint256 w = block.timestamp < n.start ? 0 : (block.timestamp - n.start) / n.period;
                uint256 spentInWindow = windowOut[x][token][w] += amount;
                // within any window, what left the subtree stays within the allowance of its root (a call that moves
                // nothing breaks nothing: an allowance lowered below what the window already spent leaves exactly 0)
                if (amount != 0 && b.periodAllowance != 0 && spentInWindow > b.periodAllowance) {
                    _break(PERIOD, what, x, spentInWindow, b.periodAllowance);
                }
                uint256 callsInWindow = windowCalls[x][w] += callCount;
                // a call limit counts every call made anywhere in the subtree
                if (n.maxCalls != 0 && callsInWindow > n.maxCalls) _break(CALLS, what, x, callsInWindow, n.maxCalls);
            }
            if (n.depth == 0) break;
        }
    }

    /// @dev After any successful operation by `actor` on session `id`: neither an ended, paused or expired session
    /// (or one under such an ancestor) nor a rotated-out key may have done it.
    function _afterSuccess(address actor, uint256 id, bool blocked, string memory what) internal {
        succeeded[what]++;
        if (blocked) _break(ENDED, what, id, 0, 0);
        _checkNoStalePower(actor, id, what);
    }

    /// @dev Records a break when `actor` was rotated out of `id` or one of its ancestors and holds no agent role on
    /// the path since (new roles only ever go to fresh keys, so nothing was granted to it again).
    function _checkNoStalePower(address actor, uint256 id, string memory what) internal {
        if (_isStale(actor, id)) _break(ROTATION, what, id, 0, uint160(actor));
    }

    /// @dev `actor` was rotated out of `id` or of an ancestor `y`, and is not the agent of `y` or of any session above
    /// it now. Roles it still has below `y` were granted before the rotation: the promise is that they lapse with it.
    function _isStale(address actor, uint256 id) internal view returns (bool) {
        for (uint256 y = id; y != 0; y = nodes[y].parent) {
            address[] storage out = rotatedOut[y];
            for (uint256 i; i < out.length; ++i) {
                if (out[i] == actor && !_agentOnPath(actor, y)) return true;
            }
            if (nodes[y].depth == 0) break;
        }
        return false;
    }

    function _agentOnPath(address key, uint256 id) internal view returns (bool) {
        for (uint256 x = id; x != 0; x = nodes[x].parent) {
            if (nodes[x].agent == key) return true;
            if (nodes[x].depth == 0) break;
        }
        return false;
    }

    /// @dev A key rotated out of `id` or one of its ancestors that holds no agent role on the path now.
    function _staleKeyOver(uint256 id, uint256 seed) internal view returns (address key, bool found) {
        for (uint256 x = id; x != 0; x = nodes[x].parent) {
            address[] storage out = rotatedOut[x];
            if (out.length != 0) {
                key = out[seed % out.length];
                if (_isStale(key, id)) return (key, true);
            }
            if (nodes[x].depth == 0) break;
        }
    }

    /// @dev Whether the session or an ancestor ended (completed, revoked, revoke-all, expired, idle) by the ghost.
    function _ended(uint256 id) internal view returns (bool) {
        for (uint256 x = id; x != 0; x = nodes[x].parent) {
            Node memory n = nodes[x];
            if (n.ended || n.closed || n.epoch != epoch || block.timestamp >= n.expiry) return true;
            if (n.maxIdle != 0 && block.timestamp >= uint256(n.lastActive) + n.maxIdle) return true;
            if (n.depth == 0) break;
        }
        return false;
    }

    /// @dev Whether the session may not act now by the ghost: ended, paused, a draft, or under such an ancestor.
    function _blocked(uint256 id) internal view returns (bool) {
        return pausedAll || _ended(id) || _pausedOnPath(id) || nodes[id].draft;
    }

    function _pausedOnPath(uint256 id) internal view returns (bool) {
        for (uint256 x = id; x != 0; x = nodes[x].parent) {
            if (nodes[x].paused) return true;
            if (nodes[x].depth == 0) break;
        }
        return false;
    }

    function _break(bytes32 property, string memory what, uint256 id, uint256 a, uint256 b) internal {
        if (broken[property]++ == 0) {
            firstBreak[property] = string.concat(
                what, " (session ", vm.toString(id), ", ", vm.toString(a), " vs ", vm.toString(b), ")"
            );
        }
    }

    /*//////////////////////////////////////////////////////////////
                           INTERNAL: BUILDING
    //////////////////////////////////////////////////////////////*/

    function _record(uint256 id, uint256 parentId, ISessionTypes.SessionParams memory p) internal {
        ids.push(id);
        if (parentId != 0 && nodes[parentId].depth + 1 > deepest) deepest = nodes[parentId].depth + 1;
        nodes[id] = Node({
            parent: parentId,
            depth: parentId == 0 ? 0 : nodes[parentId].depth + 1,
            agent: p.agent,
            expiry: p.expiry,
            maxIdle: p.maxIdle,
            period: p.period,
            maxCalls: p.maxCallsPerPeriod,
            start: uint40(block.timestamp),
            lastActive: uint40(block.timestamp),
            // revoke-all ends every session opened before it, children included, and none opened after
            epoch: epoch,
            draft: p.draft,
            paused: false,
            ended: false,
            closed: false
        });
    }

    function _randomParams(address agent_, uint256 seed, uint32 timing, uint40 maxExpiry)
        internal
        view
        returns (ISessionTypes.SessionParams memory p)
    {
        p.agent = agent_;
        uint256 ttl = [uint256(6 hours), 3 days, 20 days, 60 days][(seed >> 4) % 4];
        uint256 expiry = block.timestamp + ttl;
        p.expiry = uint40(expiry > maxExpiry ? maxExpiry : expiry);
        (p.maxIdle, p.period, p.maxCallsPerPeriod) = _timing(timing);
        p.anyTarget = true;
        p.label = bytes32(seed);
    }

    /// @dev Timing drawn from a seed: no period half of the time, else an hour or a day; sometimes a call limit and
    /// an idle timeout.
    function _timing(uint32 timing) internal pure returns (uint32 maxIdle, uint32 period, uint16 maxCalls) {
        period = [uint32(0), 0, 1 hours, 1 days][timing % 4];
        if (period != 0 && (timing >> 2) % 3 == 0) maxCalls = uint16(1 + (timing >> 4) % 6);
        if ((timing >> 8) % 5 == 0) maxIdle = uint32(2 hours + (timing >> 12) % 1 days);
    }

    function _liveRoots() internal view returns (uint256 live) {
        for (uint256 i; i < roots.length; ++i) {
            if (!_ended(roots[i])) live++;
        }
    }

    /// @dev A token session `id` holds some of, searched from a seeded start (any token when it holds none).
    function _heldToken(uint256 id, uint256 seed) internal view returns (address) {
        uint256 n = tokens.length;
        for (uint256 i; i < n; ++i) {
            // reduced first: a seed near 2**256 must not overflow (a reverting move is a move lost)
            address token = tokens[(seed % n + i) % n];
            if (manager.remaining(id, token) != 0) return token;
        }
        return tokens[seed % n];
    }

    /// @dev Adds to `p` an empty row of a swappable token (see `_withEmptyRow`), drawn from `seed`.
    function _addEmptyRow(ISessionTypes.SessionParams memory p, uint256 parentId, uint256 seed, uint128 cap)
        internal
        view
    {
        p.budgets = _withEmptyRow(p.budgets, parentId, seed >> 200, cap, p.period, seed >> 90);
    }

    /// @dev `rows` plus an empty row (caps drawn from `cap`) of the first swappable token from `token` on that is not
    /// among them yet and that `parentId` (if any) has a row for; `rows` as they are when there is none.
    function _withEmptyRow(ISessionTypes.BudgetParams[] memory rows, uint256 parentId, uint256 start, uint128 cap, uint32 period, uint256 seed)
        internal
        view
        returns (ISessionTypes.BudgetParams[] memory out)
    {
        address token;
        for (uint256 k; k < swappable.length && token == address(0); ++k) {
            address t = swappable[(start + k) % swappable.length];
            bool present;
            for (uint256 i; i < rows.length; ++i) {
                if (rows[i].token == t) present = true;
            }
            if (!present && (parentId == 0 || _hasRow(parentId, t))) token = t;
        }
        if (token == address(0)) return rows;
        out = new ISessionTypes.BudgetParams[](rows.length + 1);
        for (uint256 i; i < rows.length; ++i) {
            out[i] = rows[i];
        }
        out[rows.length] = _budgetRow(token, 0, cap, period, seed);
    }

    /// @dev Whether session `id` has a budget row for `token`, as far as the views and the ghost tell: an ERC-20 it
    /// lists, or ETH it holds or has spent (by the ghost: the manager keeps no lifetime ETH counter).
    function _hasRow(uint256 id, address token) internal view returns (bool) {
        ISessionTypes.BudgetInfo[] memory rows = manager.getSession(id).budgets;
        if (token == NATIVE) return rows[0].available != 0 || ethOut[id] != 0;
        for (uint256 i = 1; i < rows.length; ++i) {
            if (rows[i].token == token) return true;
        }
        return false;
    }

    /// @dev An amount of `token` for session `id` to spend or reserve, drawn where bugs hide: everything it has, just
    /// within the tightest per-call cap or period allowance on its path, or anything up to one more than it has.
    function _amount(uint256 id, address token, uint256 seed) internal view returns (uint256) {
        uint256 left = manager.remaining(id, token);
        uint256 mode = seed % 6;
        if (mode <= 1) return left;
        if (mode <= 4) {
            uint256 tightest = type(uint256).max;
            for (uint256 x = id; x != 0; x = nodes[x].parent) {
                ISessionTypes.BudgetInfo memory b = manager.getBudget(x, token);
                if (b.perCallCap != 0 && b.perCallCap < tightest) tightest = b.perCallCap;
                if (b.periodAllowance != 0 && b.periodAllowance < tightest) tightest = b.periodAllowance;
                if (nodes[x].depth == 0) break;
            }
            if (tightest > left) tightest = left;
            return bound(seed >> 3, tightest / 2, tightest);
        }
        return bound(seed >> 3, 0, left + 1);
    }

    /// @dev One or two budget rows for a child, each within what the parent has left of that token.
    function _childBudgets(uint256 parentId, uint256 seed, uint128[2] memory amounts, uint128[2] memory caps, uint32 period)
        internal
        view
        returns (ISessionTypes.BudgetParams[] memory rows)
    {
        address t0 = _heldToken(parentId, seed);
        address t1 = _heldToken(parentId, seed >> 8);
        rows = new ISessionTypes.BudgetParams[](t0 == t1 ? 1 : 2);
        rows[0] = _budgetRow(t0, uint128(_amount(parentId, t0, amounts[0])), caps[0], period, seed >> 16);
        if (rows.length == 2) {
            rows[1] = _budgetRow(t1, uint128(_amount(parentId, t1, amounts[1])), caps[1], period, seed >> 24);
        }
    }

    /// @dev A budget row with caps drawn from `capSeed` (a third uncapped, a third with a per-call cap, a third with
    /// both when the session has periods).
    function _budgetRow(address token, uint128 amount, uint128 capSeed, uint32 period, uint256 kind)
        internal
        pure
        returns (ISessionTypes.BudgetParams memory row)
    {
        row.token = token;
        row.amount = amount;
        uint256 k = kind % 3;
        if (k >= 1) row.perCallCap = uint128(bound(capSeed, 1, 5 ether));
        if (k == 2 && period != 0) row.periodAllowance = uint128(bound(capSeed >> 64, 1, 10 ether));
    }

    /// @dev The acting address for an operation on `id`: mostly the role the operation is for (the agent when
    /// `asAgent`, else the session token's holder), sometimes another role that may or may not act: the parent's
    /// agent, the manager owner, a stranger, a key rotated out of the path, any key seen so far.
    function _actorFor(uint256 id, uint256 seed, bool asAgent) internal view returns (address) {
        Node memory n = nodes[id];
        uint256 r = seed % 32;
        if (r < 22) return asAgent ? n.agent : _holderOf(id);
        if (r < 25) return n.depth == 0 ? owner : nodes[n.parent].agent;
        if (r < 27) return owner;
        if (r == 27) return stranger;
        if (r < 30) {
            (address key, bool found) = _staleKeyOver(id, seed >> 8);
            return found ? key : stranger;
        }
        return keys[(seed >> 8) % keys.length];
    }

    /// @dev The holder of a session's token (the owner once it is burned).
    function _holderOf(uint256 id) internal view returns (address) {
        (bool ok, bytes memory ret) = address(manager).staticcall(abi.encodeWithSignature("ownerOf(uint256)", id));
        return ok ? abi.decode(ret, (address)) : owner;
    }

    /// @dev A session id from a seed, leaning towards the newest (the deepest trees) and towards live ones (a dead
    /// one is still drawn now and then: nothing may go through it).
    function _pick(uint256 seed) internal view returns (uint256 id) {
        uint256 n = ids.length;
        for (uint256 i; i < 3; ++i) {
            uint256 s = uint256(keccak256(abi.encode(seed, i)));
            id = s % 3 == 0 ? ids[n - 1 - (s >> 2) % (n < 4 ? n : 4)] : ids[(s >> 2) % n];
            if (!_ended(id)) return id;
        }
    }

    /// @dev A key never used before (with its private key, so it can sign); remembered as a possible actor and payee.
    function _fresh() internal returns (address key) {
        uint256 privateKey = uint256(keccak256(abi.encode("agent-sessions.key", ++freshKeys))) % (SECP256K1_N - 1) + 1;
        key = vm.addr(privateKey);
        keyOf[key] = privateKey;
        keys.push(key);
    }

    /// @dev Gives `who` ETH and every mintable token, approved to the manager.
    function _fundActor(address who) internal {
        vm.deal(who, 1e24);
        usdc.mint(who, 1e24);
        feeToken.mint(who, 1e24);
        if (!blockToken.blocked(who)) blockToken.mint(who, 1e24);
        falseToken.mint(who, 1e24);
        burnerA.mint(who, 1e24);
        burnerB.mint(who, 1e24);
        vm.startPrank(who);
        usdc.approve(address(manager), type(uint256).max);
        feeToken.approve(address(manager), type(uint256).max);
        blockToken.approve(address(manager), type(uint256).max);
        falseToken.approve(address(manager), type(uint256).max);
        burnerA.approve(address(manager), type(uint256).max);
        burnerB.approve(address(manager), type(uint256).max);
        vm.stopPrank();
    }

    function _managerBalances() internal view returns (uint256[] memory balances) {
        balances = new uint256[](tokens.length);
        for (uint256 t; t < tokens.length; ++t) {
            balances[t] = _balanceOf(tokens[t], address(manager));
        }
    }

    function _balanceOf(address token, address account) internal view returns (uint256) {
        if (token == NATIVE) return account.balance;
        return TestToken(token).balanceOf(account);
    }

    function _indexOf(address token) internal view returns (uint256) {
        for (uint256 i; i < tokens.length; ++i) {
            if (tokens[i] == token) return i;
        }
        return 0;
    }

    function _swapIndex(address token) internal view returns (uint256) {
        for (uint256 i; i < swappable.length; ++i) {
            if (swappable[i] == token) return i;
        }
        return 0;
    }
}
