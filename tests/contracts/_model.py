"""Python reference model of one SessionManager, written from the specification (interfaces' NatSpec,
../shared/DESIGN.md, the brief), used by the stateful property test in `test_invariants.py`.

Every operation either applies its effects and returns, or raises `Revert(name, *args)` without changing
anything: the custom error the chain must answer with. Time is explicit: `now` is the timestamp of the
latest block (what views see) and a transaction runs at `now + 1` (the test makes Anvil mine one block per
transaction, one second apart). The driver advances `now` after each mined transaction or time jump.

Addresses are lower-case hex strings, selectors 4-byte `bytes`, amounts ints.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass, field
from enum import IntEnum

from eth_abi import encode
from eth_utils import keccak

NATIVE = "0xeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeee"
ZERO = "0x0000000000000000000000000000000000000000"
ANY_SELECTOR = b"\xff\xff\xff\xff"
NO_SELECTOR = b"\x00\x00\x00\x00"
BLOCKED = keccak(text="Blocked(address)")[:4]  # the blocklist token's refusal (bubbled by the dex)
TRANSFER_FAILED = keccak(text="TransferFailed()")[:4]  # Solady SafeTransferLib
MAX_DEPTH = 8


class Status(IntEnum):
    NONE = 0
    DRAFT = 1
    ACTIVE = 2
    PAUSED = 3
    COMPLETED = 4
    REVOKED = 5
    EXPIRED = 6


LIVE = (Status.DRAFT, Status.ACTIVE, Status.PAUSED)
ENDED = (Status.COMPLETED, Status.REVOKED, Status.EXPIRED)


class Revert(Exception):
    """The custom error an operation must revert with (`name` as in the ABI, `args` in ABI order)."""

    def __init__(self, name: str, *args):
        super().__init__(name, *args)
        self.name = name
        self.args_ = tuple(args)

    def __repr__(self) -> str:
        return f"{self.name}{self.args_!r}"


@dataclass
class Budget:
    token: str
    amount: int
    per_call: int = 0
    per_period: int = 0


@dataclass
class Params:
    """SessionParams with absolute values (no guards, no label: they play no part in these properties)."""

    agent: str
    expiry: int
    max_idle: int = 0
    period: int = 0
    max_calls: int = 0
    draft: bool = False
    any_target: bool = False
    budgets: list[Budget] = field(default_factory=list)
    permissions: list[tuple[str, bytes]] = field(default_factory=list)


@dataclass
class Call:
    """What the called target does: `reverts` with `reason` (raw revert data) or succeeds."""

    reverts: bool = False
    reason: bytes = b""


@dataclass
class Session:
    id: int
    parent: int  # 0 for a root
    depth: int
    agent: str
    holder: str | None  # None once closed (token burned)
    stored: Status  # stored status (effective status: Model.status)
    expiry: int  # exclusive
    epoch: int
    any_target: bool
    perms: set[tuple[str, bytes]]
    closed: bool = False
    # timing (only meaningful when `timed`)
    timed: bool = False
    last_active: int = 0
    max_idle: int = 0
    period: int = 0
    start: int = 0
    max_calls: int = 0
    calls: int = 0
    calls_window: int = 0
    # escrow, per token
    available: dict[str, int] = field(default_factory=dict)
    spent: dict[str, int] = field(default_factory=dict)
    erc20s: list[str] = field(default_factory=list)  # ERC-20 budget rows, in order
    eth_row: bool = False  # an ETH budget row (declared at creation or by a top-up)
    rotated_out: set[str] = field(default_factory=set)  # keys a controller rotated out of this session
    caps: dict[str, tuple[int, int]] = field(default_factory=dict)  # token -> (perCall, perPeriod)
    windows: dict[str, list[int]] = field(default_factory=dict)  # token -> [spent, index]
    # everything ever credited to this session (reservation, fundings, returns from closed descendants)
    inflow: dict[str, int] = field(default_factory=dict)
    # last checkpoint
    checkpoint_root: bytes = b"\x00" * 32
    task_count: int = 0

    def tokens(self) -> list[str]:
        return [NATIVE, *self.erc20s]


class Model:
    def __init__(
        self,
        *,
        owner: str,
        manager: str,
        factory: str,
        executor: str,
        erc20s: list[str],
        now: int,
        balances: dict[str, dict[str, int]],
        call_outcome,
    ):
        """`balances[token][account]`: balances of the tracked accounts (ETH under NATIVE); `call_outcome(target,
        value, data) -> Call` says what a called target does."""
        self.owner = owner
        self.manager = manager
        self.factory = factory
        self.executor = executor
        self.erc20_tokens = list(erc20s)
        self.now = now
        self.balances = copy.deepcopy(balances)
        self.call_outcome = call_outcome
        self.sessions: dict[int, Session] = {}
        self.count = 0
        self.paused_all = False
        self.epoch = 0
        self.escrowed: set[str] = set()
        self.settled_to: dict[int, str] = {}
        # independent ledger of what the manager must hold for its sessions, per token
        self.escrow: dict[str, int] = {t: 0 for t in [NATIVE, *erc20s]}
        # per ERC-20: the accounts its issuer blocks (every transfer from or to them reverts)
        self.blocked: dict[str, set[str]] = {t: set() for t in erc20s}
        # payouts a token refused at settlement, claimable by their payee: (payee, token) -> amount
        self.owed: dict[tuple[str, str], int] = {}
        self.owed_total: dict[str, int] = {t: 0 for t in erc20s}

    # ------------------------------------------------------------------ copies

    def fork(self) -> Model:
        """A deep copy for operations that change several things before they can fail."""
        call_outcome, self.call_outcome = self.call_outcome, None
        try:
            m = copy.deepcopy(self)
        finally:
            self.call_outcome = call_outcome
        m.call_outcome = call_outcome
        return m

    def commit(self, other: Model) -> None:
        self.__dict__.update(other.__dict__)

    # ------------------------------------------------------------------ derived state

    @property
    def tx_time(self) -> int:
        return self.now + 1

    def get(self, sid: int) -> Session:
        s = self.sessions.get(sid)
        if s is None:
            raise Revert("SessionNotFound", sid)
        return s

    def ancestors(self, s: Session):
        while s.parent:
            s = self.sessions[s.parent]
            yield s

    def root_of(self, s: Session) -> Session:
        for a in self.ancestors(s):
            s = a
        return s

    def timed_out(self, s: Session, t: int) -> bool:
        if t >= s.expiry:
            return True
        return s.timed and s.max_idle != 0 and t >= s.last_active + s.max_idle

    def window(self, s: Session, t: int) -> int:
        if not s.timed or s.period == 0 or t < s.start:
            return 0
        return (t - s.start) // s.period

    def status(self, sid: int, t: int | None = None) -> Status:
        """Effective status at time `t` (default: now, as views see it)."""
        t = self.now if t is None else t
        s = self.sessions[sid]
        if s.stored in ENDED:
            return s.stored
        if s.epoch != self.epoch:
            return Status.REVOKED
        if self.timed_out(s, t):
            return Status.EXPIRED
        paused = s.stored == Status.PAUSED or self.paused_all
        for a in self.ancestors(s):
            # a session ends with any ancestor
            if a.stored in ENDED or self.timed_out(a, t):
                return Status.REVOKED
            if a.stored == Status.PAUSED:
                paused = True
        if s.stored == Status.DRAFT:
            return Status.DRAFT
        return Status.PAUSED if paused else Status.ACTIVE

    def ancestor_ended(self, sid: int, t: int | None = None) -> bool:
        """Whether any ancestor ended or timed out, or the session was revoked by epoch."""
        t = self.now if t is None else t
        s = self.sessions[sid]
        if s.epoch != self.epoch:
            return True
        return any(a.stored in ENDED or self.timed_out(a, t) for a in self.ancestors(s))

    def path(self, sid: int) -> list[Session]:
        """The session and its ancestors, nearest first."""
        s = self.sessions[sid]
        return [s, *self.ancestors(s)]

    def is_stale(self, sid: int, key: str) -> bool:
        """A controller rotated `key` out of the session or an ancestor `y`, and `key` is not the agent of `y` or
        of any session above it now: every power it had over that subtree lapsed."""
        stale = False
        for a in self.path(sid):
            if key in a.rotated_out:
                stale = True
            if stale and a.agent == key:
                stale = False
        return stale

    def is_controller(self, sid: int, account: str) -> bool:
        """The holder of the session or of an ancestor, unless a controller rotated it out of the path since."""
        if not any(a.holder == account for a in self.path(sid)):
            return False
        return not self.is_stale(sid, account)

    def has_row(self, s: Session, token: str) -> bool:
        """Whether the session has a budget row for `token` (only then may it receive it)."""
        return s.eth_row if token == NATIVE else token in s.erc20s

    def is_allowed(self, s: Session, target: str, selector: bytes) -> bool:
        if selector == ANY_SELECTOR:
            return (target, ANY_SELECTOR) in s.perms
        return (target, selector) in s.perms or (target, ANY_SELECTOR) in s.perms

    def spent_in_period(self, s: Session, token: str, t: int | None = None) -> int:
        t = self.now if t is None else t
        w = s.windows.get(token)
        if w is None:
            return 0
        return w[0] if w[1] == self.window(s, t) else 0

    def calls_in_period(self, s: Session, t: int | None = None) -> int:
        t = self.now if t is None else t
        if not s.timed:
            return 0
        return s.calls if s.calls_window == self.window(s, t) else 0

    def nft_balance(self, account: str) -> int:
        return sum(1 for s in self.sessions.values() if s.holder == account)

    # ------------------------------------------------------------------ escrow helpers

    def _move(self, token: str, frm: str | None, to: str | None, amount: int) -> None:
        """Moves `amount` of `token` between tracked accounts; None stands for an untracked party."""
        bal = self.balances[token]
        if frm is not None and frm in bal:
            bal[frm] -= amount
        if to is not None and to in bal:
            bal[to] += amount

    def _credit(self, s: Session, token: str, amount: int) -> None:
        # an ERC-20 row is registered (and the token escrowed) even for zero: a row declares the token
        if token != NATIVE and token not in s.erc20s:
            s.erc20s.append(token)
            self.escrowed.add(token)
        if amount == 0:
            return
        s.available[token] = s.available.get(token, 0) + amount
        s.inflow[token] = s.inflow.get(token, 0) + amount

    def _reserve(self, parent: Session, token: str, amount: int) -> None:
        """Sets `amount` aside from `parent` for a child, out of its unspent escrow (never shared). Not a spend:
        no cap or allowance is charged; they bind the child's spends, at every level, when they happen."""
        available = parent.available.get(token, 0)
        if amount > available:
            raise Revert("BudgetExceeded", parent.id, token, amount, available)
        parent.available[token] = available - amount

    def moves(self, token: str, frm: str, to: str) -> bool:
        """Whether `token` lets `frm` send to `to` (neither is blocked)."""
        blocked = self.blocked.get(token, ())
        return frm not in blocked and to not in blocked

    def _pull(self, caller: str, token: str, amount: int) -> None:
        """ERC-20 funding from outside (a root's creation or top-up); ETH comes as value, checked by the caller."""
        if token == NATIVE or amount == 0:
            return
        if not self.moves(token, caller, self.manager):
            raise Revert("TransferFromFailed")
        self._move(token, caller, self.manager, amount)
        self.escrow[token] += amount
        self.escrowed.add(token)

    # ------------------------------------------------------------------ creation

    def _open(self, sid: int, parent: Session | None, p: Params, caller: str, epoch: int) -> int:
        """Writes session `sid`; returns the ETH a root must be sent."""
        t = self.tx_time
        # an agent key is required
        if p.agent == ZERO:
            raise Revert("ZeroAgent")
        # the expiry is in the future and, for a child, within the parent's
        if p.expiry <= t:
            raise Revert("ExpiryInPast", p.expiry, t)
        if parent is not None and p.expiry > parent.expiry:
            raise Revert("ExpiryExceedsParent", parent.id, p.expiry, parent.expiry)
        # a call limit counts per period
        if p.max_calls and not p.period:
            raise Revert("PeriodRequired")
        # a child never gets more than its parent
        if p.any_target and parent is not None and not parent.any_target:
            raise Revert("PermissionNotInParent", parent.id, ZERO, ANY_SELECTOR)
        s = Session(
            id=sid,
            parent=parent.id if parent else 0,
            depth=parent.depth + 1 if parent else 0,
            agent=p.agent,
            holder=caller,
            stored=Status.DRAFT if p.draft else Status.ACTIVE,
            expiry=p.expiry,
            epoch=epoch,
            any_target=p.any_target,
            perms=set(),
        )
        if p.max_idle or p.period or p.max_calls:
            s.timed = True
            s.last_active = s.start = t
            s.max_idle, s.period, s.max_calls = p.max_idle, p.period, p.max_calls
        for target, selector in p.permissions:
            if parent is not None and not parent.any_target:
                if (target == ZERO and selector == ANY_SELECTOR) or not self.is_allowed(parent, target, selector):
                    raise Revert("PermissionNotInParent", parent.id, target, selector)
            s.perms.add((target, selector))
        eth = 0
        seen: list[str] = []
        s.available[NATIVE] = 0
        for b in p.budgets:
            # one budget per token
            if b.token in seen:
                raise Revert("DuplicateToken", b.token)
            seen.append(b.token)
            # periodic allowances need a period
            if b.per_period and not p.period:
                raise Revert("PeriodRequired")
            if parent is not None:
                # a child holds only tokens its parent has a row for
                if not self.has_row(parent, b.token):
                    raise Revert("NoBudgetRow", parent.id, b.token)
                self._reserve(parent, b.token, b.amount)
            elif b.token == NATIVE:
                eth += b.amount
            else:
                self._pull(caller, b.token, b.amount)
            self._credit(s, b.token, b.amount)
            if b.token == NATIVE:
                s.eth_row = True
            if b.per_call or b.per_period:
                s.caps[b.token] = (b.per_call, b.per_period)
        self.sessions[sid] = s
        return eth

    def create_sessions(self, caller: str, params: list[Params], value: int) -> int:
        """createSession (one element) or createSessions; returns the first id."""
        # only the manager owner opens roots
        if caller != self.owner:
            raise Revert("NotManagerOwner", caller)
        m = self.fork()
        first = m.count + 1
        m.count += len(params)
        eth = 0
        for i, p in enumerate(params):
            eth += m._open(first + i, None, p, caller, m.epoch)
        # the ETH sent must be exactly the ETH budgets
        if eth != value:
            raise Revert("ValueMismatch", eth, value)
        m._move(NATIVE, caller, self.manager, value)
        m.escrow[NATIVE] += value
        self.commit(m)
        return first

    def spawn_child(self, caller: str, parent_id: int, p: Params) -> int:
        return self.spawn_children(caller, parent_id, [p])

    def spawn_children(self, caller: str, parent_id: int, params: list[Params]) -> int:
        """spawnChild (one element) or spawnChildren; returns the first id."""
        parent = self.get(parent_id)
        t = self.tx_time
        # the parent's agent or a controller of the parent spawns
        if caller != parent.agent and not self.is_controller(parent_id, caller):
            raise Revert("NotAgentOrController", parent_id, caller)
        # only a parent that can act now spawns
        status = self.status(parent_id, t)
        if status != Status.ACTIVE:
            raise Revert("SessionNotActive", parent_id, status)
        # an agent rotated out above its session acts for nobody
        if caller == parent.agent and self.is_stale(parent_id, caller):
            raise Revert("RotatedOut", parent_id, caller)
        # depth stays bounded
        if parent.depth >= MAX_DEPTH:
            raise Revert("DepthExceeded", parent_id, MAX_DEPTH)
        m = self.fork()
        first = m.count + 1
        m.count += len(params)
        for i, p in enumerate(params):
            m._open(first + i, m.sessions[parent_id], p, caller, parent.epoch)
        self.commit(m)
        return first

    # ------------------------------------------------------------------ funding

    def fund(self, caller: str, sid: int, token: str, amount: int, value: int) -> None:
        s = self.get(sid)
        status = self.status(sid, self.tx_time)
        if status not in LIVE:
            raise Revert("SessionEnded", sid, status)
        if s.depth == 0:
            # a root is funded by a controller from outside, ETH as value
            if not self.is_controller(sid, caller):
                raise Revert("NotController", sid, caller)
            # not while it is paused, nor during pause-all
            if s.stored == Status.PAUSED or self.paused_all:
                raise Revert("SessionNotActive", sid, Status.PAUSED)
            # only the manager owner brings a new token into the escrow
            if token != NATIVE and token not in self.escrowed and caller != self.owner:
                raise Revert("TokenNotEscrowed", sid, token)
            if token == NATIVE:
                if value != amount:
                    raise Revert("ValueMismatch", amount, value)
                self._move(NATIVE, caller, self.manager, value)
                self.escrow[NATIVE] += value
            else:
                if value != 0:
                    raise Revert("NoValueExpected", value)
                self._pull(caller, token, amount)
        else:
            # a child is funded out of its parent's unspent escrow, by who has rights over the parent
            parent = self.sessions[s.parent]
            if caller != parent.agent and not self.is_controller(parent.id, caller):
                raise Revert("NotAgentOrController", parent.id, caller)
            # only a parent that can act now funds (like a spawn); a paused child takes nothing either
            parent_status = self.status(parent.id, self.tx_time)
            if parent_status != Status.ACTIVE:
                raise Revert("SessionNotActive", parent.id, parent_status)
            if caller == parent.agent and self.is_stale(parent.id, caller):
                raise Revert("RotatedOut", parent.id, caller)
            # a child holds only tokens its parent has a row for
            if not self.has_row(parent, token):
                raise Revert("NoBudgetRow", parent.id, token)
            if s.stored == Status.PAUSED:
                raise Revert("SessionNotActive", sid, Status.PAUSED)
            if value != 0:
                raise Revert("NoValueExpected", value)
            # one call of the parent: its call limit and its ancestors' count it
            t = self.tx_time
            for a in [parent, *self.ancestors(parent)]:
                if a.timed and a.max_calls and self.calls_in_period(a, t) + 1 > a.max_calls:
                    raise Revert("CallLimitExceeded", a.id, a.max_calls)
            self._reserve(parent, token, amount)
            # and activity: the parent's idle clock restarts
            self._touch(parent, 1)
        self._credit(s, token, amount)
        if token == NATIVE:
            s.eth_row = True

    # ------------------------------------------------------------------ acting

    def _authorize(self, caller: str, sid: int, calls: int) -> Session:
        """Agent, liveness (own, ancestors, epoch, pause-all, time), call limit. Returns the session; the timing
        update is applied by `_touch` once the whole operation passed."""
        s = self.get(sid)
        t = self.tx_time
        # only the agent key acts
        if caller != s.agent:
            raise Revert("NotAgent", sid, caller)
        # the session and every ancestor must be able to act: a session that cannot (ended, under an ended or
        # paused ancestor, revoked by epoch, expired) reports SessionNotActive, whatever else would refuse it
        status = self.status(sid, t)
        if status != Status.ACTIVE:
            raise Revert("SessionNotActive", sid, status)
        # no controller rotated this key out of the path
        if s.depth and self.is_stale(sid, caller):
            raise Revert("RotatedOut", sid, caller)
        # calls per period window, of the session and of every ancestor that limits calls (a call limit
        # bounds a whole subtree)
        if s.timed and s.max_calls and self.calls_in_period(s, t) + calls > s.max_calls:
            raise Revert("CallLimitExceeded", sid, s.max_calls)
        if calls:
            for a in self.ancestors(s):
                if a.timed and a.max_calls and self.calls_in_period(a, t) + calls > a.max_calls:
                    raise Revert("CallLimitExceeded", a.id, a.max_calls)
        return s

    def _count_calls(self, s: Session, calls: int) -> None:
        w = self.window(s, self.tx_time)
        if s.calls_window != w:
            s.calls_window, s.calls = w, 0
        s.calls += calls

    def _touch(self, s: Session, calls: int) -> None:
        """Records activity: the session's idle clock and call counter, and the call counters of ancestors."""
        if calls:
            for a in self.ancestors(s):
                if a.timed and a.max_calls:
                    self._count_calls(a, calls)
        if not s.timed:
            return
        if s.max_calls:
            self._count_calls(s, calls)
        s.last_active = self.tx_time

    def _selector(self, s: Session, data: bytes) -> bytes:
        """Selector 0 means empty calldata, and only that: 1 to 3 bytes are refused."""
        if len(data) >= 4:
            return data[:4]
        if data:
            raise Revert("CalldataTooShort", s.id, len(data))
        return NO_SELECTOR

    def _check_target(self, s: Session, target: str, selector: bytes, with_data: bool = False,
                      erc20_payout: bool = False) -> None:
        # never the manager, its executor, the factory or an escrowed token (an ERC-20 payout never calls its
        # payee, so it may go to an escrowed token)
        if target in (self.manager, self.executor, self.factory):
            raise Revert("ForbiddenTarget", s.id, target)
        if target in self.escrowed and (with_data or not erc20_payout):
            raise Revert("ForbiddenTarget", s.id, target)
        if s.any_target:
            return
        # selector 0 with calldata is a real selector: only ANY_SELECTOR covers it, never the plain-transfer entry
        if selector == NO_SELECTOR and with_data:
            allowed = (target, ANY_SELECTOR) in s.perms
        else:
            allowed = self.is_allowed(s, target, selector)
        if not allowed:
            raise Revert("TargetNotAllowed", s.id, target, selector)

    def _spend_check(self, s: Session, token: str, amount: int):
        """Returns the new [spent, index] of the period window, or None when the token has no allowance."""
        available = s.available.get(token, 0)
        # never more than the unspent escrow
        if amount > available:
            raise Revert("BudgetExceeded", s.id, token, amount, available)
        return self._caps_check(s, token, amount)

    def _caps_check(self, s: Session, token: str, amount: int):
        """The per-call cap and period allowance of `token` in `s`: returns the window after the spend, or None."""
        per_call, per_period = s.caps.get(token, (0, 0))
        # per-call cap
        if per_call and amount > per_call:
            raise Revert("PerCallCapExceeded", s.id, token, amount, per_call)
        if per_period:
            index = self.window(s, self.tx_time)
            used = self.spent_in_period(s, token, self.tx_time)
            left = max(per_period - used, 0)  # the allowance may have been lowered below what was spent
            # allowance of the current period window
            if amount > left:
                raise Revert("PeriodAllowanceExceeded", s.id, token, amount, left)
            return [used + amount, index]
        return None

    def _ancestor_windows(self, s: Session, token: str, amount: int) -> list:
        """Every ancestor's caps bind a spend of `s` (nearest first, each raising with its own id); returns the
        ancestors' windows after it, to apply with `_spend`."""
        return [(a, self._caps_check(a, token, amount)) for a in self.ancestors(s)]

    def _spend(self, s: Session, token: str, amount: int, window, ancestors=()) -> None:
        s.available[token] = s.available.get(token, 0) - amount
        s.spent[token] = s.spent.get(token, 0) + amount
        if window is not None:
            s.windows[token] = window
        for a, w in ancestors:
            if w is not None:
                a.windows[token] = w

    def execute(self, caller: str, sid: int, target: str, value: int, data: bytes) -> None:
        s = self._authorize(caller, sid, 1)
        selector = self._selector(s, data)
        self._check_target(s, target, selector, bool(data))
        window = self._spend_check(s, NATIVE, value) if value else None
        above = self._ancestor_windows(s, NATIVE, value) if value else []
        outcome = self.call_outcome(target, value, data)
        if outcome.reverts:
            raise Revert("CallFailed", sid, target, outcome.reason)
        self._touch(s, 1)
        if value:
            self._spend(s, NATIVE, value, window, above)
            self._move(NATIVE, self.manager, target, value)
            self.escrow[NATIVE] -= value

    def execute_batch(self, caller: str, sid: int, calls: list[tuple[str, int, bytes]]) -> None:
        """Calls in order; a reverting call reverts the whole batch with BatchCallFailed(id, index, reason)."""
        self._authorize(caller, sid, len(calls))
        m = self.fork()
        s = m.sessions[sid]
        for i, (target, value, data) in enumerate(calls):
            selector = m._selector(s, data)
            m._check_target(s, target, selector, bool(data))
            if value:
                window = m._spend_check(s, NATIVE, value)
                m._spend(s, NATIVE, value, window, m._ancestor_windows(s, NATIVE, value))
            outcome = m.call_outcome(target, value, data)
            if outcome.reverts:
                raise Revert("BatchCallFailed", sid, i, outcome.reason)
            m._move(NATIVE, m.manager, target, value)
            m.escrow[NATIVE] -= value
        m._touch(s, len(calls))
        self.commit(m)

    def swap(self, caller: str, sid: int, dex: str, selector: bytes, token_in: str, amount: int, token_out: str,
             min_out: int, recipient: str, half: bool) -> None:
        """A swap through the executor on `dex` (MockDex at rate 1: `swap` takes `amount` and pays as much,
        `swapHalf` takes and pays half, the rest of the input comes back); the output goes to `recipient` (the
        manager, or the executor, which sends it on). Token B's blocklist can refuse any hop."""
        if token_in == token_out:
            raise Revert("SameToken", token_in)
        if amount == 0:
            raise Revert("ZeroAmount")
        s = self._authorize(caller, sid, 1)
        self._check_target(s, dex, selector, True)
        # proceeds only in a token the session has a budget row for
        if not self.has_row(s, token_out):
            raise Revert("NoBudgetRow", sid, token_out)
        self._spend_check(s, token_in, amount)
        self._ancestor_windows(s, token_in, amount)
        ex = self.executor

        def refused(token: str, frm: str, to: str) -> bool:
            return token != NATIVE and not self.moves(token, frm, to)

        # the manager hands the input to the executor
        if refused(token_in, self.manager, ex):
            raise Revert("TransferFailed")
        # the dex pulls the input and pays the output: a blocked party makes the token revert Blocked(account)
        for token, frm, to in ((token_in, ex, dex), (token_out, dex, recipient)):
            if refused(token, frm, to):
                blocked = frm if frm in self.blocked[token] else to
                raise Revert("CallFailed", sid, dex, BLOCKED + encode(["address"], [blocked]))
        # the executor sends back what is left of the input and any output it received
        taken = amount // 2 if half else amount
        sweeps = [(token_in, taken < amount), (token_out, recipient == ex)]
        if any(moved and refused(token, ex, self.manager) for token, moved in sweeps):
            raise Revert("CallFailed", sid, dex, TRANSFER_FAILED)
        received = taken
        if received < min_out:
            raise Revert("InsufficientOutput", sid, token_out, received, min_out)
        self._touch(s, 1)
        self._spend(s, token_in, taken, self._spend_check(s, token_in, taken), self._ancestor_windows(s, token_in, taken))
        self.escrow[token_in] -= taken
        self._credit(s, token_out, received)
        self.escrow[token_out] += received

    def checkpoint(self, caller: str, sid: int, root: bytes, task_count: int) -> None:
        s = self._authorize(caller, sid, 0)
        # the task counter never goes back
        if task_count < s.task_count:
            raise Revert("TaskCountDecreased", sid, s.task_count, task_count)
        self._touch(s, 0)
        s.checkpoint_root, s.task_count = root, task_count

    def transfer_token(self, caller: str, sid: int, token: str, to: str, amount: int) -> None:
        # a zero payment would only make the manager call an arbitrary `token`
        if amount == 0:
            raise Revert("ZeroAmount")
        s = self._authorize(caller, sid, 1)
        # the recipient is a payee: allowed like a plain transfer
        self._check_target(s, to, NO_SELECTOR, erc20_payout=token != NATIVE)
        window = self._spend_check(s, token, amount)
        above = self._ancestor_windows(s, token, amount)
        if token == NATIVE:
            outcome = self.call_outcome(to, amount, b"")
            if outcome.reverts:
                raise Revert("ETHTransferFailed")
        elif not self.moves(token, self.manager, to):
            raise Revert("TransferFailed")
        self._touch(s, 1)
        self._spend(s, token, amount, window, above)
        self._move(token, self.manager, to, amount)
        self.escrow[token] -= amount

    # ------------------------------------------------------------------ lifecycle

    def _require_live_controller(self, caller: str, sid: int) -> Session:
        s = self.get(sid)
        status = self.status(sid, self.tx_time)
        if status not in LIVE:
            raise Revert("SessionEnded", sid, status)
        if not self.is_controller(sid, caller):
            raise Revert("NotController", sid, caller)
        return s

    def pause(self, caller: str, sid: int) -> None:
        s = self._require_live_controller(caller, sid)
        # only an active session pauses
        if s.stored != Status.ACTIVE:
            raise Revert("SessionNotActive", sid, s.stored)
        s.stored = Status.PAUSED

    def resume(self, caller: str, sid: int) -> None:
        s = self._require_live_controller(caller, sid)
        # only a paused session resumes
        if s.stored != Status.PAUSED:
            raise Revert("SessionNotPaused", sid, s.stored)
        s.stored = Status.ACTIVE

    def activate(self, caller: str, sid: int) -> None:
        s = self._require_live_controller(caller, sid)
        if s.stored != Status.DRAFT:
            raise Revert("SessionNotDraft", sid, s.stored)
        s.stored = Status.ACTIVE
        if s.timed:
            # windows and idleness count from activation
            s.start = s.last_active = self.tx_time

    def update_limits(self, caller: str, sid: int, token: str, per_call: int, per_period: int) -> None:
        s = self._require_live_controller(caller, sid)
        # periodic allowances need a period
        if per_period and not s.period:
            raise Revert("PeriodRequired")
        # an allowance added where there was none counts from now: a fresh window count
        if per_period and not s.caps.get(token, (0, 0))[1]:
            s.windows.pop(token, None)
        s.caps[token] = (per_call, per_period)

    def update_expiry(self, caller: str, sid: int, expiry: int) -> None:
        s = self._require_live_controller(caller, sid)
        t = self.tx_time
        if expiry <= t:
            raise Revert("ExpiryInPast", expiry, t)
        if s.parent and expiry > self.sessions[s.parent].expiry:
            raise Revert("ExpiryExceedsParent", s.parent, expiry, self.sessions[s.parent].expiry)
        s.expiry = expiry

    def rotate_agent(self, caller: str, sid: int, new_agent: str) -> None:
        s = self._require_live_controller(caller, sid)
        if new_agent == ZERO:
            raise Revert("ZeroAgent")
        # a controller took the role away: the old key's powers over the subtree lapse (not when a key rotates
        # itself out as a controller); a key given the role again has it again
        if caller != s.agent:
            s.rotated_out.add(s.agent)
        s.rotated_out.discard(new_agent)
        s.agent = new_agent

    def revoke(self, caller: str, sid: int) -> None:
        s = self.get(sid)
        if not self.is_controller(sid, caller):
            raise Revert("NotController", sid, caller)
        # an ended session stays as it ended; an expired one too
        if s.stored in ENDED:
            raise Revert("SessionEnded", sid, s.stored)
        if self.timed_out(s, self.tx_time):
            raise Revert("SessionEnded", sid, Status.EXPIRED)
        s.stored = Status.REVOKED

    def complete(self, caller: str, sid: int) -> None:
        s = self.get(sid)
        if caller != s.agent and not self.is_controller(sid, caller):
            raise Revert("NotAgentOrController", sid, caller)
        status = self.status(sid, self.tx_time)
        if status not in LIVE:
            raise Revert("SessionEnded", sid, status)
        if caller == s.agent and self.is_stale(sid, caller):
            raise Revert("RotatedOut", sid, caller)
        self._close(s, Status.COMPLETED)

    def _close_ended(self, sid: int, skip_closed: bool) -> None:
        s = self.get(sid)
        if s.closed:
            if skip_closed:
                return
            raise Revert("SessionAlreadyClosed", sid)
        status = self.status(sid, self.tx_time)
        # a live session is ended by revoke or complete first
        if status in LIVE:
            raise Revert("SessionNotEnded", sid, status)
        self._close(s, status)

    def close(self, caller: str, sid: int) -> None:
        self._close_ended(sid, False)

    def close_many(self, caller: str, ids: list[int]) -> None:
        m = self.fork()
        for sid in ids:
            m._close_ended(sid, True)
        self.commit(m)

    def _close(self, s: Session, final: Status) -> None:
        """Freezes the final status, burns the token, returns the unspent escrow to the nearest unclosed
        ancestor, else to the root's holder (recorded when the root closed)."""
        s.stored = final
        s.closed = True
        dest = s.parent
        while dest and self.sessions[dest].closed:
            dest = self.sessions[dest].parent
        payee = None
        if dest == 0:
            if s.depth == 0:
                payee = s.holder
                self.settled_to[s.id] = payee
            else:
                payee = self.settled_to[self.root_of(s).id]
        s.holder = None
        for token in s.tokens():
            amount = s.available.get(token, 0)
            if amount == 0:
                continue
            s.available[token] = 0
            if dest:
                self._credit(self.sessions[dest], token, amount)
                continue
            self.escrow[token] -= amount
            if token == NATIVE or self.moves(token, self.manager, payee):
                self._move(token, self.manager, payee, amount)
            else:
                # the token refuses this payout: it stays with the manager, claimable by the payee
                self.owed[(payee, token)] = self.owed.get((payee, token), 0) + amount
                self.owed_total[token] += amount

    def claim(self, caller: str, token: str, to: str) -> int:
        amount = self.owed.get((caller, token), 0)
        if amount == 0:
            raise Revert("NothingToClaim", caller, token)
        if not self.moves(token, self.manager, to):
            raise Revert("TransferFailed")
        del self.owed[(caller, token)]
        self.owed_total[token] -= amount
        self._move(token, self.manager, to, amount)
        return amount

    def set_blocked(self, token: str, account: str, blocked: bool) -> None:
        """The issuer (anyone, for the test token) blocks or unblocks `account`."""
        (self.blocked[token].add if blocked else self.blocked[token].discard)(account)

    # ------------------------------------------------------------------ owner-wide

    def _require_owner(self, caller: str) -> None:
        if caller != self.owner:
            raise Revert("NotManagerOwner", caller)

    def pause_all(self, caller: str) -> None:
        self._require_owner(caller)
        self.paused_all = True

    def unpause_all(self, caller: str) -> None:
        self._require_owner(caller)
        self.paused_all = False

    def revoke_all(self, caller: str) -> None:
        self._require_owner(caller)
        self.epoch += 1

    # ------------------------------------------------------------------ ERC-721

    def transfer_from(self, caller: str, sid: int, frm: str, to: str) -> None:
        # a session token never goes to its own manager (it would become its own refund address) nor to the
        # executor (which holds nothing between transactions)
        if to in (self.manager, self.executor):
            raise Revert("InvalidHolder", to)
        # a holder rotated out of the path cannot hand its lapsed control on
        if sid in self.sessions and self.is_stale(sid, frm):
            raise Revert("RotatedOut", sid, frm)
        s = self.get(sid) if sid in self.sessions else None
        holder = s.holder if s else None
        if holder is None:
            raise Revert("TokenDoesNotExist")
        if holder != frm:
            raise Revert("TransferFromIncorrectOwner")
        if caller != frm:
            raise Revert("NotOwnerNorApproved")
        s.holder = to
