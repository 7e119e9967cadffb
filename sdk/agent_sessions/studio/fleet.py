"""What the studio shows, read through the SDK and kept fresh block by block.

    view = FleetView.from_spec("examples/fleet-20.yaml")        # or FleetView.from_rpc([url], managers=[addr])
    view.start()                                                # a poller thread: new blocks, their events
    rows = view.select(SessionQuery(status="active"))            # filtered, over every manager of every chain

Why a cache: the fleet page of 10,000 sessions must answer in milliseconds, and a listing of that many takes a
good fraction of a second. So every manager's sessions are listed once (``Manager.iter_sessions``), and then each
new block is read as events (``eth_getLogs`` over the managers' addresses): the sessions an event names, their
subtrees (a pause or a revoke changes the effective status of every descendant) and any new ids are read again
with ``Manager.sessions``. A manager-wide switch (pause-all, revoke-all) and a slow timer (time alone expires
sessions, and no event says so) list a manager again in full.
"""

from __future__ import annotations

import logging
import threading
import time
from collections import deque
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any

from eth_utils import to_checksum_address

from ..base.errors import RPCError, SessionError
from ..base.models import NATIVE, SessionState, Status
from ..domain.client import AgentSessions
from ..domain.deployment import canonical_factory_address, has_code
from ..domain.manager import Manager
from ..domain.tokens import TokenBook
from ..fleet.chains import ChainSet, open_chains
from ..fleet.spec import FleetSpec, load_spec

__all__ = ["ActivityEvent", "ChainView", "FleetView", "ManagerView", "SessionQuery", "SpendPoint"]

log = logging.getLogger(__name__)

#: Events whose first indexed argument is a session id.
_SESSION_EVENTS = {
    "AgentRotated", "AnyTargetSet", "Checkpointed", "EscrowReturned", "Executed", "ExpiryUpdated", "GuardAdded",
    "LimitsUpdated", "PayoutDeferred", "PermissionSet", "SessionActivated", "SessionClosed", "SessionCompleted",
    "SessionCreated", "SessionFunded", "SessionPaused", "SessionResumed", "SessionRevoked", "Swapped",
    "TimingUpdated", "TokenTransferred",
}
#: Events that change a session's effective status for its whole subtree.
_SUBTREE_EVENTS = {"SessionPaused", "SessionResumed", "SessionRevoked", "SessionCompleted", "SessionClosed",
                   "ExpiryUpdated", "AgentRotated"}
#: Manager-wide switches: the whole manager is listed again.
_MANAGER_EVENTS = {"AllPaused", "AllUnpaused", "AllRevoked"}
#: ERC-721 plumbing, not shown in the activity feed (every create and close also emits them).
QUIET_EVENTS = {"Transfer", "UpdateUser", "Approval", "ApprovalForAll"}


@dataclass(frozen=True)
class SessionQuery:
    """Filters of the fleet page; every given one must hold. Text filters match a part, case-insensitively."""

    label: str = ""
    status: str = ""
    agent: str = ""
    holder: str = ""
    chain: str = ""
    manager: str = ""
    include_closed: bool = False
    #: One of ``HEALTH``: sessions that need a look.
    health: str = ""

    @property
    def empty(self) -> bool:
        return not (self.label or self.status or self.agent or self.holder or self.chain or self.manager
                    or self.health)

    def matches(self, mv: ManagerView, s: SessionState, now: int = 0) -> bool:
        if s.closed and not self.include_closed and self.status != "closed":
            return False
        if self.chain and mv.chain != self.chain:
            return False
        if self.manager and mv.key != self.manager:
            return False
        if self.status:
            if self.status == "closed":
                if not s.closed:
                    return False
            elif str(s.status) != self.status:
                return False
        if self.label and self.label.lower() not in s.label.lower():
            return False
        if self.agent and self.agent.lower() not in s.agent.lower():
            return False
        if self.holder and self.holder.lower() not in s.holder.lower():
            return False
        if self.health and not _healthy_match(self.health, mv, s, now):
            return False
        return True


#: The fleet page's health filters: what each keeps.
HEALTH = {
    "low": "less than 20% of a budget left",
    "window": "more than 80% of a period window used (amount or calls)",
    "expiring": "expiring within 24 hours",
    "idle": "past half of its idle limit",
    "blocked": "stopped by a paused or ended ancestor",
}


def _healthy_match(kind: str, mv: ManagerView, s: SessionState, now: int) -> bool:
    if kind == "low":
        return any(b.available + b.spent and b.available * 5 < b.available + b.spent for b in s.budgets.values())
    if kind == "window":
        return (any(b.period_allowance and b.spent_in_period * 5 > b.period_allowance * 4 for b in s.budgets.values())
                or bool(s.max_calls_per_period and s.calls_in_period * 5 > s.max_calls_per_period * 4))
    if kind == "expiring":
        return s.status.is_live and now <= s.expiry_timestamp <= now + 86_400
    if kind == "idle":
        if not s.max_idle or s.last_active is None:
            return False
        return now - int(s.last_active.timestamp()) > s.max_idle.total_seconds() / 2
    if kind == "blocked":
        return mv.blocking_ancestor(s.id) is not None
    return True


@dataclass(frozen=True)
class ActivityEvent:
    """One decoded manager event, for the activity feed and a session's history."""

    chain: str
    manager_key: str
    block: int
    timestamp: int
    log_index: int
    tx_hash: str
    name: str
    session: int | None
    args: dict[str, Any]

    @property
    def when(self) -> datetime:
        return datetime.fromtimestamp(self.timestamp, tz=timezone.utc)


@dataclass(frozen=True)
class SpendPoint:
    """One metered spend of a session's own calls."""

    timestamp: int
    block: int
    token: str
    amount: int
    kind: str  # Executed, TokenTransferred, Swapped
    tx_hash: str


@dataclass
class ChainView:
    """One chain: its client, the latest block seen and its timestamp (the chain's clock)."""

    name: str
    client: AgentSessions
    block: int = 0
    timestamp: int = 0
    seen_at: float = 0.0  # monotonic time of the last new block

    @property
    def chain_id(self) -> int:
        return self.client.chain_id


@dataclass
class ManagerView:
    """One manager and a cache of all its sessions."""

    chain: str
    name: str
    manager: Manager
    book: TokenBook
    states: dict[int, SessionState] = field(default_factory=dict)
    children: dict[int, list[int]] = field(default_factory=dict)
    paused_all: bool = False
    epoch: int = 0
    owner: str = ""
    loaded_at: float = 0.0
    load_seconds: float = 0.0

    @property
    def address(self) -> str:
        return self.manager.address

    @property
    def key(self) -> str:
        """How URLs name the manager: ``<chain>:<address>``."""
        return f"{self.chain}:{self.manager.address}"

    def rebuild_children(self) -> None:
        tree: dict[int, list[int]] = {}
        for sid in sorted(self.states):
            tree.setdefault(self.states[sid].parent_id, []).append(sid)
        self.children = tree

    def subtree(self, sid: int) -> list[int]:
        out, stack = [], [sid]
        while stack:
            current = stack.pop()
            out.append(current)
            stack.extend(self.children.get(current, ()))
        return out

    def ancestors(self, sid: int) -> list[SessionState]:
        """Parent first, root last (those in the cache)."""
        out = []
        state = self.states.get(sid)
        while state is not None and state.parent_id:
            state = self.states.get(state.parent_id)
            if state is not None:
                out.append(state)
        return out

    def blocking_ancestor(self, sid: int) -> SessionState | None:
        """The ancestor that stops ``sid`` from acting (paused or ended), if any: the one nearest the root, since
        every session under it reports the same effective status."""
        for ancestor in reversed(self.ancestors(sid)):
            if ancestor.status is Status.PAUSED or ancestor.status.is_ended or ancestor.closed:
                return ancestor
        return None


class FleetView:
    """Every manager on every chain the studio was pointed at, with their sessions cached and kept fresh."""

    def __init__(self, chains: Sequence[ChainView], managers: Sequence[ManagerView], *,
                 chain_set: ChainSet | None = None, spec: FleetSpec | None = None, poll_interval: float = 0.2,
                 full_refresh: float = 15.0, activity_size: int = 500) -> None:
        self.chains: dict[str, ChainView] = {c.name: c for c in chains}
        self.managers: dict[str, ManagerView] = {m.key: m for m in managers}
        self.spec = spec
        self.poll_interval = poll_interval
        self.full_refresh = full_refresh
        self.activity: deque[ActivityEvent] = deque(maxlen=activity_size)
        self.version = 0
        #: (version, sessions it changed) of the last versions, for pages that show a few sessions
        self.touched: deque[tuple[int, frozenset[str]]] = deque(maxlen=200)
        self.lock = threading.RLock()
        self.changed = threading.Condition(self.lock)
        self._chain_set = chain_set
        self._stop = threading.Event()
        self._polling = threading.Lock()
        self._thread: threading.Thread | None = None
        self._timestamps: dict[tuple[str, int], int] = {}
        self._session_logs: dict[tuple[str, int], tuple[int, list[ActivityEvent]]] = {}
        self.errors: deque[str] = deque(maxlen=20)
        #: What the last poll failed with (None while polls succeed): the pages say the view may be stale.
        self.failing: str | None = None

    # ------------------------------------------------------------------------------------------------------------
    # opening
    # ------------------------------------------------------------------------------------------------------------

    @classmethod
    def from_spec(cls, spec: FleetSpec | str, *, ports: dict[str, int] | None = None, **kwargs: Any) -> FleetView:
        """Every manager of a fleet spec on every chain it is used on. Local chains are opened as ``open_chains``
        does (their Anvil started or reused); endpoints (``rpc:``) are only read: the studio deploys nothing
        there, and a chain without the factory simply has no manager to show. Managers not deployed yet are left
        out."""
        fleet = spec if isinstance(spec, FleetSpec) else load_spec(spec)
        local = [name for name, chain in fleet.chains.items() if chain.is_local]
        chain_set = open_chains(fleet, ports=ports, only=local) if local else ChainSet()
        handles: dict[str, tuple[AgentSessions, Any]] = {n: (h.client, h.factory) for n, h in chain_set.items()}
        try:
            for name, chain in fleet.chains.items():
                if chain.is_local:
                    continue
                assert chain.rpc is not None
                client = AgentSessions(chain.rpc, chain_id=chain.expected_chain_id)
                factory = client.factory(chain.factory or canonical_factory_address())
                handles[name] = (client, factory if has_code(client, factory.address) else None)
        except BaseException:
            chain_set.close()
            raise
        used: dict[str, set[str]] = {}
        for item in fleet.sessions_flat():
            used.setdefault(item.chain, set()).add(item.manager)
        chains, managers = [], []
        for name, (client, factory) in handles.items():
            chains.append(ChainView(name, client))
            if factory is None:
                continue
            book = TokenBook(client)
            for mname, mspec in fleet.managers.items():
                if used and mname not in used.get(name, set()):
                    continue
                owner = fleet.address_of(mspec.owner)
                address = factory.predict_manager(owner, mspec.salt)
                if has_code(client, address):
                    managers.append(ManagerView(name, mname, client.manager(address), book))
        return cls(chains, managers, chain_set=chain_set, spec=fleet, **kwargs)

    @classmethod
    def from_rpc(cls, urls: Sequence[str], *, managers: Sequence[str] = (), owners: Sequence[str] = (),
                 names: Sequence[str] = (), **kwargs: Any) -> FleetView:
        """Managers by address (and every manager of ``owners`` under the canonical factory) on each endpoint
        where they have code. Chains are named ``names`` in order, else ``chain-<id>``."""
        chains, views = [], []
        for i, url in enumerate(urls):
            client = AgentSessions(url)
            name = names[i] if i < len(names) else f"chain-{client.chain_id}"
            chains.append(ChainView(name, client))
            book = TokenBook(client)
            found: dict[str, Manager] = {}
            for address in managers:
                checked = to_checksum_address(address)
                if has_code(client, checked):
                    found[checked] = client.manager(checked)
            factory = client.factory(canonical_factory_address())
            if owners and has_code(client, factory.address):
                for owner in owners:
                    for m in factory.managers_of(owner):
                        found.setdefault(m.address, m)
            views += [ManagerView(name, m.address[:10], m, book) for m in found.values()]
        return cls(chains, views, **kwargs)

    # ------------------------------------------------------------------------------------------------------------
    # lifecycle
    # ------------------------------------------------------------------------------------------------------------

    def load(self) -> FleetView:
        """List every manager in full and read every chain's head."""
        for chain in self.chains.values():
            head = chain.client.rpc.get_block("latest")
            chain.block, chain.timestamp = int(head["number"], 16), int(head["timestamp"], 16)
            chain.seen_at = time.monotonic()
        for mv in self.managers.values():
            self._load_manager(mv)
        with self.lock:
            self.version += 1
        return self

    def start(self) -> FleetView:
        """Load (if not done) and follow new blocks in a daemon thread."""
        if not any(mv.loaded_at for mv in self.managers.values()) or not self.managers:
            self.load()
        self._thread = threading.Thread(target=self._run, name="studio-poller", daemon=True)
        self._thread.start()
        return self

    def close(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=5)
        with self.changed:
            self.changed.notify_all()
        if self._chain_set is not None:
            self._chain_set.close()

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                self.poll()
            except Exception as exc:  # a node hiccup must not kill the poller
                text = f"{type(exc).__name__}: {exc}"
                if text != self.failing:
                    log.warning("studio poller: %s", text)
                    self.errors.append(text)
                self.failing = text
            else:
                self.failing = None
            self._stop.wait(self.poll_interval)

    # ------------------------------------------------------------------------------------------------------------
    # reading
    # ------------------------------------------------------------------------------------------------------------

    def _stale(self, mv: ManagerView) -> bool:
        """Time for a full listing: ``full_refresh`` seconds, or 20 times what the last one took (a big manager
        is listed less often)."""
        return time.monotonic() - mv.loaded_at > max(self.full_refresh, 20 * mv.load_seconds)

    def _load_manager(self, mv: ManagerView) -> None:
        started = time.monotonic()
        states = {s.id: s.state for s in mv.manager.iter_sessions(page_size=200)}
        glob = mv.manager.global_state()
        owner = mv.manager.owner()
        tokens = {t for s in states.values() for t in s.budgets}
        mv.book.prefetch(tokens)
        with self.lock:
            mv.states = states
            mv.paused_all, mv.epoch, mv.owner = glob.paused_all, glob.epoch, owner
            mv.rebuild_children()
            mv.loaded_at = time.monotonic()
            mv.load_seconds = mv.loaded_at - started

    def _reread(self, mv: ManagerView, ids: Iterable[int]) -> None:
        wanted = sorted(set(ids))
        if not wanted:
            return
        fresh = mv.manager.sessions(wanted)
        mv.book.prefetch({t for s in fresh for t in s.state.budgets})
        with self.lock:
            new_ids = [s.id for s in fresh if s.id not in mv.states]
            for s in fresh:
                mv.states[s.id] = s.state
            if new_ids:
                mv.rebuild_children()

    def poll(self) -> bool:
        """Read new blocks on every chain; returns True when something shown changed. One poll at a time (the
        poller thread, and a request that just sent a transaction), so no block is read twice."""
        with self._polling:
            return self._poll()

    def _poll(self) -> bool:
        changed = False
        touched_keys: set[str] = set()  # "<manager key>:<id>", or "<manager key>:*" for a whole manager
        for chain in self.chains.values():
            head = chain.client.rpc.get_block("latest")
            number, stamp = int(head["number"], 16), int(head["timestamp"], 16)
            mine = [mv for mv in self.managers.values() if mv.chain == chain.name]
            if number < chain.block:  # the node was reset (or reverted): start over
                for mv in mine:
                    self._load_manager(mv)
                    touched_keys.add(f"{mv.key}:*")
                chain.block, chain.timestamp = number, stamp
                changed = True
                continue
            if number == chain.block:
                stale = [mv for mv in mine if self._stale(mv)]
                for mv in stale:
                    self._load_manager(mv)
                    touched_keys.add(f"{mv.key}:*")
                    changed = True
                continue
            self._timestamps[(chain.name, number)] = stamp
            events = self._read_events(chain, mine, chain.block + 1, number) if mine else []
            for mv in mine:
                names = [e for e in events if e.manager_key == mv.key]
                if any(e.name in _MANAGER_EVENTS for e in names) or self._stale(mv):
                    self._load_manager(mv)
                    touched_keys.add(f"{mv.key}:*")
                    continue
                touched: set[int] = set()
                for e in names:
                    if e.session is None:
                        continue
                    touched.add(e.session)
                    # a spend counts against every ancestor's limits, a child's funding reserves out of its parent
                    touched.update(a.id for a in mv.ancestors(e.session))
                    if e.name in _SUBTREE_EVENTS:
                        touched.update(mv.subtree(e.session))
                    if e.name == "SessionCreated" and e.args.get("parentId"):
                        touched.add(int(e.args["parentId"]))  # a spawn reserves out of the parent
                    if e.name in ("EscrowReturned",) and e.args.get("toSession"):
                        touched.add(int(e.args["toSession"]))
                count = mv.manager.count()
                known = max(mv.states, default=0)
                touched.update(range(known + 1, count + 1))
                self._reread(mv, touched)
                touched_keys.update(f"{mv.key}:{sid}" for sid in touched)
            with self.lock:
                chain.block, chain.timestamp, chain.seen_at = number, stamp, time.monotonic()
                for e in sorted(events, key=lambda e: (e.block, e.log_index)):
                    if e.name not in QUIET_EVENTS:
                        self.activity.appendleft(e)
            changed = True
        if changed:
            with self.changed:
                self.version += 1
                self.touched.append((self.version, frozenset(touched_keys)))
                self.changed.notify_all()
        return changed

    def touched_since(self, version: int) -> frozenset[str] | None:
        """Sessions (``<manager key>:<id>``, ``<manager key>:*`` for all of one) that changed after ``version``;
        None when that is too long ago to say (then anything may have)."""
        with self.lock:
            if version >= self.version:
                return frozenset()
            known = [keys for v, keys in self.touched if v > version]
            if not self.touched or self.touched[0][0] > version + 1 or len(known) != self.version - version:
                return None
            return frozenset().union(*known)

    def _block_times(self, chain: ChainView, blocks: Iterable[int]) -> dict[int, int]:
        missing = sorted({b for b in blocks if (chain.name, b) not in self._timestamps})
        for start in range(0, len(missing), 100):
            part = missing[start:start + 100]
            answers = chain.client.rpc.batch([("eth_getBlockByNumber", [hex(b), False]) for b in part])
            for b, answer in zip(part, answers):
                if isinstance(answer, dict):
                    self._timestamps[(chain.name, b)] = int(answer["timestamp"], 16)
        return {b: self._timestamps.get((chain.name, b), 0) for b in blocks}

    def _logs(self, chain: ChainView, addresses: list[str], start: int, end: int,
              topics: list[Any] | None = None) -> list[dict[str, Any]]:
        query: dict[str, Any] = {"address": addresses, "fromBlock": hex(start), "toBlock": hex(end)}
        if topics:
            query["topics"] = topics
        return chain.client.rpc.request("eth_getLogs", [query]) or []

    def _decode(self, chain: ChainView, mvs: Sequence[ManagerView], logs: list[dict[str, Any]]) -> list[ActivityEvent]:
        by_address = {mv.address.lower(): mv for mv in mvs}
        times = self._block_times(chain, {int(log_["blockNumber"], 16) for log_ in logs})
        out = []
        for log_ in logs:
            mv = by_address.get(str(log_["address"]).lower())
            if mv is None:
                continue
            try:
                decoded = mv.manager.abi.decode_logs([log_])
            except Exception:  # an event this ABI cannot read: skip it
                continue
            for ev in decoded:
                session = ev.args.get("id") if ev.name in _SESSION_EVENTS else None
                if ev.name in ("Transfer", "Approval", "UpdateUser"):
                    session = ev.args.get("tokenId")
                out.append(ActivityEvent(chain.name, mv.key, ev.block_number, times.get(ev.block_number, 0),
                                         ev.log_index, ev.tx_hash, ev.name,
                                         int(session) if session is not None else None, dict(ev.args)))
        return out

    def _read_events(self, chain: ChainView, mvs: list[ManagerView], start: int, end: int) -> list[ActivityEvent]:
        logs = self._logs(chain, [mv.address for mv in mvs], start, end)
        return self._decode(chain, mvs, logs)

    def backfill_activity(self, blocks: int = 2_000) -> None:
        """Fill the activity feed with the events of the last ``blocks`` blocks of every chain."""
        collected: list[ActivityEvent] = []
        for chain in self.chains.values():
            mine = [mv for mv in self.managers.values() if mv.chain == chain.name]
            if not mine or chain.block == 0:
                continue
            start = max(0, chain.block - blocks)
            events = self._read_events(chain, mine, start, chain.block)
            collected += [e for e in events if e.name not in QUIET_EVENTS]
        collected.sort(key=lambda e: (e.timestamp, e.block, e.log_index))
        with self.lock:
            self.activity.clear()
            for e in collected[-(self.activity.maxlen or 500):]:
                self.activity.appendleft(e)

    def session_events(self, mv: ManagerView, sid: int) -> list[ActivityEvent]:
        """Every event naming session ``sid`` (its id as the first indexed argument), oldest first. Read once,
        then only the blocks since the last read."""
        chain = self.chains[mv.chain]
        head = chain.block or chain.client.rpc.block_number()
        seen, events = self._session_logs.get((mv.key, sid), (-1, []))
        if seen > head:  # the chain went back: read it all again
            seen, events = -1, []
        if seen < head:
            topic = "0x" + sid.to_bytes(32, "big").hex()
            logs = self._logs(chain, [mv.address], seen + 1, head, topics=[None, topic])
            fresh = [e for e in self._decode(chain, [mv], logs) if e.session == sid]
            events = sorted(events + fresh, key=lambda e: (e.block, e.log_index))
            with self.lock:
                if len(self._session_logs) > 2_000:
                    self._session_logs.clear()
                self._session_logs[(mv.key, sid)] = (head, events)
        return list(events)

    @staticmethod
    def spends(events: Iterable[ActivityEvent]) -> list[SpendPoint]:
        """The metered spends among ``events`` (what adds to the session's ``spent``)."""
        out = []
        for e in events:
            if e.name == "Executed" and int(e.args.get("value", 0)):
                out.append(SpendPoint(e.timestamp, e.block, NATIVE, int(e.args["value"]), e.name, e.tx_hash))
            elif e.name == "TokenTransferred":
                out.append(SpendPoint(e.timestamp, e.block, to_checksum_address(e.args["token"]),
                                      int(e.args["amount"]), e.name, e.tx_hash))
            elif e.name == "Swapped":
                out.append(SpendPoint(e.timestamp, e.block, to_checksum_address(e.args["tokenIn"]),
                                      int(e.args["amountIn"]), e.name, e.tx_hash))
            elif e.name == "RelayFeePaid" and int(e.args.get("fee", 0)):
                out.append(SpendPoint(e.timestamp, e.block, NATIVE, int(e.args["fee"]), e.name, e.tx_hash))
        return out

    # ------------------------------------------------------------------------------------------------------------
    # questions the pages ask
    # ------------------------------------------------------------------------------------------------------------

    def manager(self, key: str) -> ManagerView:
        try:
            return self.managers[key]
        except KeyError:
            raise KeyError(f"no manager {key!r} in this studio") from None

    def now(self, chain: str) -> int:
        """The chain's time (its latest block), advanced by the wall clock since that block was seen."""
        c = self.chains[chain]
        return c.timestamp + int(max(0.0, time.monotonic() - c.seen_at)) if c.seen_at else c.timestamp

    def total(self) -> int:
        return sum(len(mv.states) for mv in self.managers.values())

    def iter_all(self) -> Iterator[tuple[ManagerView, SessionState]]:
        for mv in self.managers.values():
            for sid in sorted(mv.states):
                yield mv, mv.states[sid]

    def select(self, query: SessionQuery) -> list[tuple[ManagerView, SessionState]]:
        """Sessions matching ``query``, manager by manager, ids ascending."""
        with self.lock:
            nows = {name: self.now(name) for name in self.chains}
            return [(mv, s) for mv, s in self.iter_all() if query.matches(mv, s, nows.get(mv.chain, 0))]

    def visible_tree(self, query: SessionQuery) -> dict[str, set[int]]:
        """Per manager, the ids the tree shows: the matches and every ancestor of one."""
        out: dict[str, set[int]] = {}
        with self.lock:
            for mv, s in self.select(query):
                shown = out.setdefault(mv.key, set())
                shown.add(s.id)
                parent = s.parent_id
                while parent and parent not in shown:
                    shown.add(parent)
                    state = mv.states.get(parent)
                    parent = state.parent_id if state is not None else 0
        return out

    def counts(self) -> dict[str, int]:
        counts: dict[str, int] = {}
        with self.lock:
            for _, s in self.iter_all():
                key = "closed" if s.closed else str(s.status)
                counts[key] = counts.get(key, 0) + 1
        return counts

    def find(self, key: str, sid: int) -> tuple[ManagerView, SessionState]:
        mv = self.manager(key)
        with self.lock:
            state = mv.states.get(sid)
        if state is None:
            try:
                state = mv.manager.state(sid)
            except (SessionError, RPCError):
                raise KeyError(f"no session {sid} in {key}") from None
        return mv, state
