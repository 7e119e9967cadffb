"""Spawn a whole fleet spec on its chains, idempotently.

    spec = load_spec("examples/fleet-20.yaml")
    with open_chains(spec) as chains:
        report = spawn_fleet(spec, chains, progress=lambda done, total, label: ...)
    print(report.summary())

What one call does, chain by chain: deploys the test tokens and contracts the spec asks for (deterministic
CREATE2 addresses, so a re-run finds them), finds or deploys each manager (CREATE2 from owner + salt), lists the
manager's sessions, and then creates only what is missing: roots in ``createSessions`` batches (ERC-20 budgets
approved first), children with one ``spawnChildren`` per parent, level by level. The batches are the manager's
own (``Manager.creation_call``, estimated with ``estimate_limits`` and sent by ``run_pipeline``, as
``Manager.create_sessions`` does); what is added here is waves across managers, splitting batches that exceed the
gas ceiling, and naming the spec item that fails.

Why it is safe to re-run, even after a crash: the label is the idempotency key. Before sending anything the
manager's sessions are listed; a label that exists live is skipped, one that exists but has ended (and is not
closed) is skipped and reported (``replace_ended=True`` closes it and opens a fresh one: that is how short-lived
sessions roll over). Every batch is one atomic transaction, approvals and test-token mints are computed from
what is still missing, so a re-run neither duplicates a session nor funds anything twice.

When a batch would revert, the failing spec item is found by dry-running growing prefixes of the batch (a
binary search over ``eth_estimateGas``) and ``FleetError`` names it, with the decoded on-chain error as its
cause. Nothing of a failed batch is on chain (batches are atomic).
"""

from __future__ import annotations

import logging
import time
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, Callable, Mapping, Sequence

from ..base.errors import ContractRevert, RPCError, SessionError, TransactionFailed, decode_revert
from ..base.models import NATIVE, BudgetParams, Permission, SessionParams, SessionState
from ..base.parsing import UnixTime
from ..base.results import Receipt
from ..chain.pipeline import TxRequest, estimate_limits, run_pipeline
from ..domain.client import AgentSessions, salt_bytes
from ..domain.deployment import deploy_deterministic, has_code
from ..domain.manager import Manager
from ..domain.session import Session
from .chains import ChainHandle
from .spec import ETH, FlatSession, FleetSpec, load_spec, parse_spec_amount

__all__ = ["CannotSimulate", "ChainCounts", "FleetError", "FleetReport", "Progress", "SpawnGas", "simulate_spawn_gas",
           "spawn_fleet"]

log = logging.getLogger(__name__)

#: ``progress(done, total, label)``: called after each spec item is settled (created, skipped...).
Progress = Callable[[int, int, str], None]

#: Per-transaction gas ceiling for batches (EIP-7825's cap, also well under Anvil's 30M block limit).
MAX_TX_GAS = 2**24
#: Solady SafeTransferLib's ``TransferFromFailed()``: the token refused ``transferFrom``.
_TRANSFER_FROM_FAILED = bytes.fromhex("7939f424")


class FleetError(SessionError):
    """Spawning a fleet failed at one spec item (``.label``, ``.path``, ``.chain``, ``.manager``); ``.cause`` is the
    decoded on-chain error (also ``__cause__``)."""

    def __init__(self, message: str, *, item: FlatSession | None = None, chain: str | None = None,
                 manager: str | None = None, cause: BaseException | None = None):
        self.item = item
        self.label = item.label if item is not None else None
        self.path = item.path if item is not None else None
        self.chain = chain or (item.chain if item is not None else None)
        self.manager = manager or (item.manager if item is not None else None)
        self.cause = cause
        where = []
        if item is not None:
            where.append(f"{item.path} {item.label!r}")
        if self.chain:
            where.append(f"on {self.chain}" + (f"/{self.manager}" if self.manager else ""))
        prefix = " ".join(where)
        super().__init__(f"{prefix}: {message}" if prefix else message)


@dataclass
class ChainCounts:
    """What happened on one chain."""

    created: int = 0
    skipped: int = 0
    ended: int = 0
    blocked: int = 0
    replaced: int = 0
    transactions: int = 0


@dataclass
class FleetReport:
    """The outcome of ``spawn_fleet``. Items are named by their key (the label; ``manager/label`` when several
    managers use the same label)."""

    #: Every spec item on chain now (created, already there, or ended-but-not-closed) as an SDK Session.
    sessions: dict[str, Session] = field(default_factory=dict)
    items: dict[str, FlatSession] = field(default_factory=dict)
    created: list[str] = field(default_factory=list)
    #: Already there and live: nothing sent.
    skipped: list[str] = field(default_factory=list)
    #: There but ended (expired, revoked, completed) and not closed: left alone (see ``replace_ended``).
    ended: list[str] = field(default_factory=list)
    #: Not created because an ancestor has ended.
    blocked: list[str] = field(default_factory=list)
    #: Ended sessions closed and opened afresh (``replace_ended=True``).
    replaced: list[str] = field(default_factory=list)
    #: Live sessions whose agent differed from the spec and was rotated to it (``rotate_agents=True``).
    rotated: list[str] = field(default_factory=list)
    #: Live sessions whose agent differs from the spec, left as they are (``rotate_agents=False``).
    stale_agents: list[str] = field(default_factory=list)
    managers: dict[str, dict[str, Manager]] = field(default_factory=dict)
    tokens: dict[str, dict[str, str]] = field(default_factory=dict)
    contracts: dict[str, dict[str, str]] = field(default_factory=dict)
    per_chain: dict[str, ChainCounts] = field(default_factory=dict)
    elapsed: float = 0.0

    def __getitem__(self, key: str) -> Session:
        return self.sessions[key]

    @property
    def transactions(self) -> int:
        return sum(c.transactions for c in self.per_chain.values())

    def summary(self) -> str:
        parts = [f"{len(self.created)} created", f"{len(self.skipped)} already there"]
        if self.replaced:
            parts.append(f"{len(self.replaced)} replaced")
        if self.rotated:
            parts.append(f"{len(self.rotated)} agents rotated")
        if self.stale_agents:
            parts.append(f"{len(self.stale_agents)} with another agent than the spec's")
        if self.ended:
            parts.append(f"{len(self.ended)} ended (not closed)")
        if self.blocked:
            parts.append(f"{len(self.blocked)} blocked (ancestor ended)")
        chains = ", ".join(f"{name}: {c.created}+{c.skipped}" for name, c in self.per_chain.items())
        return (f"{', '.join(parts)}; {self.transactions} transactions in {self.elapsed:.2f} s"
                + (f" ({chains})" if chains else ""))


def spawn_fleet(
    spec: FleetSpec | str,
    chains: Mapping[str, ChainHandle],
    *,
    progress: Progress | None = None,
    chunk_size: int = 100,
    replace_ended: bool = False,
    rotate_agents: bool = False,
    in_flight: int = 16,
) -> FleetReport:
    """Create every session of ``spec`` that is not on its chain yet (see the module docstring).

    ``chains``: the opened chains (``open_chains(spec)``), which must include every chain that holds a
    session. ``chunk_size`` bounds the roots per ``createSessions`` and the children per ``spawnChildren``
    (batches are split further to stay under the gas ceiling); ``in_flight`` batches are dry-run together, then
    sent pipelined and confirmed together (progress moves wave by wave). ``replace_ended`` closes spec sessions that have
    ended and opens them again; ``rotate_agents`` rotates live sessions whose agent is no longer the spec's
    (one ``rotateAgent`` each, by the manager owner: the old key stops in that block). Raises ``SpecError`` (keys) before sending anything, and ``FleetError`` naming the
    spec item whose batch would revert.
    """
    if chunk_size < 1 or in_flight < 1:
        raise ValueError("chunk_size and in_flight must be at least 1")
    fleet = spec if isinstance(spec, FleetSpec) else load_spec(spec)
    started = time.perf_counter()
    flat = fleet.sessions_flat()
    missing = [c for c in fleet.chains_used() if c not in chains]
    if missing:
        raise FleetError(f"chains {', '.join(missing)} hold sessions but were not opened")
    # every key is resolved before anything is sent (one SpecError lists them all)
    refs = {fleet.managers[i.manager].owner for i in flat}
    refs |= {i.spec.agent for i in flat if fleet.is_key(i.spec.agent)}
    if fleet.deployer is not None:
        refs.add(fleet.deployer)
    refs |= {c.owner for c in fleet.contracts.values() if c.owner is not None}
    fleet.resolve_keys(sorted(refs))

    report = FleetReport(items={i.key: i for i in flat})
    counter = _Counter(len(flat), progress)
    for chain_name in fleet.chains_used():
        items = [i for i in flat if i.chain == chain_name]
        run = _ChainRun(fleet, chains[chain_name], report, counter, chunk_size, replace_ended, rotate_agents,
                        in_flight)
        run.run(items)
    report.elapsed = time.perf_counter() - started
    return report


class _Counter:
    def __init__(self, total: int, progress: Progress | None) -> None:
        self.total = total
        self.done = 0
        self.progress = progress

    def tick(self, label: str) -> None:
        self.done += 1
        if self.progress is not None:
            self.progress(self.done, self.total, label)


@dataclass
class _Node:
    """One spec item's state during a run."""

    item: FlatSession
    state: str = "pending"  # pending | exists | ended | blocked | replace
    session: Session | None = None
    old: SessionState | None = None
    expiry: int = 0  # on-chain expiry (unix seconds) once known


class _ChainRun:
    """Everything ``spawn_fleet`` does on one chain."""

    def __init__(self, spec: FleetSpec, handle: ChainHandle, report: FleetReport, counter: _Counter,
                 chunk_size: int, replace_ended: bool, rotate_agents: bool = False, in_flight: int = 16) -> None:
        self.spec = spec
        self.handle = handle
        self.client: AgentSessions = handle.client
        self.name = handle.name
        self.report = report
        self.counter = counter
        self.chunk_size = chunk_size
        self.replace_ended = replace_ended
        self.rotate_agents = rotate_agents
        self.in_flight = in_flight
        self.stale: list[_Node] = []
        self.counts = report.per_chain.setdefault(handle.name, ChainCounts())
        self.tokens: dict[str, str] = {ETH: NATIVE}
        self.contracts: dict[str, str] = {}
        self.managers: dict[str, Manager] = {}
        self.nodes: dict[str, _Node] = {}
        self.key_by_path = {i.path: i.key for i in report.items.values()}
        self.now = 0
        self.gas_cap = MAX_TX_GAS

    # --- the steps ------------------------------------------------------------------------------------------

    def run(self, items: list[FlatSession]) -> None:
        self.now = self.client.now()
        block_limit = int(self.client.rpc.get_block("latest").get("gasLimit", hex(MAX_TX_GAS)), 16)
        self.gas_cap = min(MAX_TX_GAS, block_limit)
        manager_names = list(dict.fromkeys(i.manager for i in items))
        self.resolve_tokens(manager_names)
        self.resolve_contracts(items)
        for name in manager_names:
            self.managers[name] = self.find_or_deploy_manager(name)
        self.report.managers[self.name] = dict(self.managers)
        self.report.tokens[self.name] = {k: v for k, v in self.tokens.items() if k != ETH}
        self.report.contracts[self.name] = dict(self.contracts)
        self.classify(items)
        self.reconcile_agents()
        if self.replace_ended:
            self.close_replaced()
        for name in manager_names:
            self.create_roots(name, [self.nodes[i.key] for i in items if i.is_root and i.manager == name])
        for depth in range(1, max((i.depth for i in items), default=0) + 1):
            self.spawn_level([self.nodes[i.key] for i in items if i.depth == depth])

    def key(self, ref: str) -> Any:
        return self.spec.resolve_key(ref)

    def deployer(self) -> Any:
        key = self.spec.deployer_key()
        if key is None:
            raise FleetError("no key to pay for deployments: set deployer:", chain=self.name)
        return key

    def resolve_tokens(self, manager_names: list[str]) -> None:
        from ..domain.deployment import canonical_token_address

        owners = list(dict.fromkeys(self.key(self.spec.managers[m].owner) for m in manager_names))
        for name, token in self.spec.tokens.items():
            on_chain = token.chains.get(self.name)
            if on_chain is None:
                continue
            if on_chain.address is not None:
                address = on_chain.address
                if not has_code(self.client, address):
                    raise FleetError(f"token {name}: no contract at {address}", chain=self.name)
                try:
                    actual = int(self.client.contract("testing/TestToken", address).call("decimals"))
                except SessionError:
                    actual = token.decimals  # no decimals() view: trust the spec
                if actual != token.decimals:
                    raise FleetError(f"token {name} at {address} has {actual} decimals, the spec says "
                                     f"{token.decimals}", chain=self.name)
            else:
                address, deployed = deploy_deterministic(self.client, "testing/TestToken", f"Test {name}", name,
                                                         token.decimals, sender=self.deployer())
                assert address == canonical_token_address(name, token.decimals)
                if deployed:
                    self.counts.transactions += 1
                    if on_chain.mint is not None:
                        amount = parse_spec_amount(on_chain.mint, name, token.decimals)
                        erc20 = self.client.contract("testing/TestToken", address)
                        for owner in owners:
                            erc20.transact("mint", owner.address, amount, sender=owner)
                            self.counts.transactions += 1
            self.tokens[name] = address

    def resolve_contracts(self, items: list[FlatSession]) -> None:
        used: set[str] = set()
        for i in items:
            used |= {a.target.strip() for a in i.spec.allow} | {g.strip() for g in i.spec.guards}
        for name, contract in self.spec.contracts.items():
            if contract.address is not None:
                self.contracts[name] = contract.address
            elif contract.chains is not None:
                if self.name in contract.chains:
                    self.contracts[name] = contract.chains[self.name]
            elif name in used:
                assert contract.deploy is not None
                args: tuple[Any, ...] = ()
                if contract.deploy == "DenylistGuard":
                    assert contract.owner is not None
                    args = (self.spec.address_of(contract.owner),)
                artifact = contract.deploy if contract.deploy == "DenylistGuard" else f"testing/{contract.deploy}"
                address, deployed = deploy_deterministic(self.client, artifact, *args, sender=self.deployer())
                self.counts.transactions += int(deployed)
                self.contracts[name] = address

    def find_or_deploy_manager(self, name: str) -> Manager:
        mspec = self.spec.managers[name]
        owner = self.key(mspec.owner)
        factory = self.handle.factory
        predicted = factory.predict_manager(owner.address, mspec.salt)
        if has_code(self.client, predicted):
            manager = self.client.manager(predicted)
            actual = manager.owner()
            if actual != owner.address:
                raise FleetError(f"manager {name} at {predicted} is owned by {actual}, not by {owner.address} "
                                 f"({mspec.owner}): its sessions cannot be created with that key",
                                 chain=self.name, manager=name)
            return manager
        try:
            manager = factory.deploy_manager(owner.address, mspec.salt, sender=owner)
        except SessionError as exc:
            raise FleetError(f"cannot deploy manager {name}: {exc}", chain=self.name, manager=name,
                             cause=exc) from exc
        self.counts.transactions += 1
        return manager

    def classify(self, items: list[FlatSession]) -> None:
        """Decide per item: already there (skip), ended (skip or replace), blocked, or to create."""
        found = {name: self.live_by_label(name, manager) for name, manager in self.managers.items()}
        for item in items:
            node = _Node(item)
            self.nodes[item.key] = node
            parent = self.nodes[self._parent_key(item)] if item.parent is not None else None
            st = found[item.manager].get(item.label)
            manager = self.managers[item.manager]
            if parent is None or parent.state == "exists":
                if st is not None and st.status.is_live:
                    node.state, node.session, node.expiry = "exists", Session(manager, st.id, st), st.expiry_timestamp
                    if st.agent != self.spec.address_of(item.spec.agent):
                        self.stale.append(node)
                    if parent is not None and parent.session is not None and st.parent_id != parent.session.id:
                        log.warning("%s: %r exists under session %d, not under %r (%d)", self.name, item.label,
                                    st.parent_id, parent.item.label, parent.session.id)
                elif st is not None:
                    node.state = "replace" if self.replace_ended else "ended"
            elif parent.state in ("ended", "blocked"):
                # under an ended ancestor nothing can be spawned; what is there has ended with it
                node.state = "ended" if st is not None else "blocked"
            elif parent.state == "replace" and st is not None:
                node.state = "replace"  # ended with its parent: closed and opened again under the new parent
            if node.state == "ended":
                assert st is not None
                node.session = Session(manager, st.id, st)
            elif node.state == "replace":
                node.old = st
            if node.state in ("exists", "ended"):
                assert node.session is not None
                self.report.sessions[item.key] = node.session
            bucket = {"exists": (self.report.skipped, "skipped"), "ended": (self.report.ended, "ended"),
                      "blocked": (self.report.blocked, "blocked")}.get(node.state)
            if bucket is not None:
                bucket[0].append(item.key)
                setattr(self.counts, bucket[1], getattr(self.counts, bucket[1]) + 1)
                self.counter.tick(item.label)

    def live_by_label(self, name: str, manager: Manager) -> dict[str, SessionState]:
        """The manager's unclosed sessions by label: a live one wins over an ended one, the newest among equals."""
        by_label: dict[str, SessionState] = {}
        for session in manager.iter_sessions():
            st = session.state
            if st.closed:
                continue
            best = by_label.get(st.label)
            if best is None or (st.status.is_live, st.id) > (best.status.is_live, best.id):
                by_label[st.label] = st
        return by_label

    def _parent_key(self, item: FlatSession) -> str:
        assert item.parent_path is not None
        return self.key_by_path[item.parent_path]

    def reconcile_agents(self) -> None:
        for node in self.stale:
            item = node.item
            assert node.session is not None
            if not self.rotate_agents:
                log.warning("%s: %r has agent %s on chain, the spec says %s (rotate_agents=True rotates it)",
                            self.name, item.label, node.session.state.agent, item.spec.agent)
                self.report.stale_agents.append(item.key)
                continue
            owner = self.key(self.spec.managers[item.manager].owner)
            try:
                node.session.rotate_agent(self.spec.address_of(item.spec.agent), sender=owner)
            except SessionError as exc:
                raise FleetError(f"cannot rotate the agent: {_explain(exc)}", item=item, cause=exc) from exc
            self.counts.transactions += 1
            self.report.rotated.append(item.key)

    def close_replaced(self) -> None:
        by_manager: dict[str, list[_Node]] = defaultdict(list)
        for node in self.nodes.values():
            if node.state == "replace":
                by_manager[node.item.manager].append(node)
        for name, nodes in by_manager.items():
            owner = self.key(self.spec.managers[name].owner)
            ids = [n.old.id for n in sorted(nodes, key=lambda n: -n.item.depth) if n.old is not None]
            self.managers[name].close_many(ids, sender=owner)
            self.counts.transactions += 1
            for n in nodes:
                self.report.replaced.append(n.item.key)
                self.counts.replaced += 1
                n.state = "pending"

    # --- building parameters --------------------------------------------------------------------------------

    def params(self, node: _Node, parent_expiry: int | None = None) -> SessionParams:
        item, s = node.item, node.item.spec
        budgets = [
            BudgetParams(token=self.tokens[name], amount=b.total, per_call_cap=b.per_call,
                         period_allowance=b.per_period)
            for name, b in self.spec.budgets_of(item).items()
        ]
        if isinstance(item.expires, timedelta):
            expiry = self.now + int(item.expires.total_seconds())
            if parent_expiry is not None:
                # relative to this run's clock: a parent made by an earlier run may end a little sooner
                expiry = min(expiry, parent_expiry)
        else:
            assert isinstance(item.expires, datetime)
            expiry = int(item.expires.timestamp())
        node.expiry = expiry
        permissions = []
        if not s.any_target:
            for entry in s.allow:
                target = self.target(entry.target)
                permissions += [Permission(target=target, selector=sel) for sel in entry.selector_values()]
        return SessionParams(
            agent=self.spec.address_of(s.agent),
            expiry=UnixTime(expiry),
            budgets=budgets,
            permissions=permissions,
            guards=[self.target(g) for g in s.guards],
            label=s.label,
            draft=s.draft,
            any_target=s.any_target,
            max_idle=s.max_idle,
            period=s.period,
            max_calls_per_period=s.max_calls_per_period,
        )

    def target(self, text: str) -> str:
        text = text.strip()
        if text.startswith("0x"):
            return text
        if text.startswith("token:"):
            return self.tokens[text.removeprefix("token:")]
        return self.contracts[text]

    # --- roots ----------------------------------------------------------------------------------------------

    def create_roots(self, manager_name: str, nodes: list[_Node]) -> None:
        pending = [n for n in nodes if n.state == "pending"]
        if not pending:
            return
        manager = self.managers[manager_name]
        owner = self.key(self.spec.managers[manager_name].owner)
        params = [self.params(n) for n in pending]
        self.fund_erc20(manager, owner, params)
        wallet = self.client.sender(owner)

        def call(chunk: Sequence[SessionParams]) -> tuple[bytes, int]:
            return manager.creation_call(chunk)

        self.send_all([
            _Batch(manager, wallet, pending[i : i + self.chunk_size], params[i : i + self.chunk_size], call, "create")
            for i in range(0, len(pending), self.chunk_size)
        ])

    def fund_erc20(self, manager: Manager, owner: Any, params: list[SessionParams]) -> None:
        """Mint what test tokens the owner lacks, and approve the manager for exactly what the pending roots pull."""
        need: dict[str, int] = defaultdict(int)
        for p in params:
            for b in p.budgets:
                if b.token != NATIVE:
                    need[b.token] += b.amount
        test_tokens = {self.tokens[name] for name, t in self.spec.tokens.items()
                       if self.name in t.chains and t.chains[self.name].deploy == "test"}
        for token, amount in need.items():
            erc20 = self.client.contract("testing/TestToken", token)
            if token in test_tokens:
                balance = int(erc20.call("balanceOf", owner.address))
                if balance < amount:
                    self.token_call("mint test tokens", owner, erc20, "mint", owner.address, amount - balance)
            if int(erc20.call("allowance", owner.address, manager.address)) < amount:
                self.token_call("approve the manager", owner, erc20, "approve", manager.address, amount)

    def token_call(self, what: str, owner: Any, erc20: Any, fn: str, *args: Any) -> None:
        """One transaction of the owner to a token while funding roots (``what`` names it in a plan)."""
        erc20.transact(fn, *args, sender=owner)
        self.counts.transactions += 1

    # --- children -------------------------------------------------------------------------------------------

    def spawn_level(self, nodes: list[_Node]) -> None:
        """Every pending child at one depth: one ``spawnChildren`` per parent (and spawner), sent in waves."""
        groups: dict[tuple[int, str], list[_Node]] = defaultdict(list)
        parents: dict[int, _Node] = {}
        for node in nodes:
            if node.state != "pending":
                continue
            parent = self.nodes[self._parent_key(node.item)]
            assert parent.session is not None, f"parent of {node.item.label} has no session"
            spawner = (self.spec.managers[node.item.manager].owner if node.item.spec.spawned_by == "owner"
                       else parent.item.spec.agent)
            groups[(parent.session.id, spawner)].append(node)
            parents[parent.session.id] = parent
        batches = []
        for (parent_id, spawner), group in groups.items():
            parent = parents[parent_id]
            manager = self.managers[group[0].item.manager]
            wallet = self.client.sender(self.key(spawner))
            params = [self.params(n, parent.expiry) for n in group]

            def call(chunk: Sequence[SessionParams], pid: int = parent_id, manager: Manager = manager
                     ) -> tuple[bytes, int]:
                return manager.creation_call(chunk, parent=pid)

            batches += [
                _Batch(manager, wallet, group[i : i + self.chunk_size], params[i : i + self.chunk_size], call, "spawn")
                for i in range(0, len(group), self.chunk_size)
            ]
        self.send_all(batches)

    # --- sending --------------------------------------------------------------------------------------------

    def send_all(self, batches: list[_Batch]) -> None:
        """Send ``batches`` in waves of ``in_flight``: each wave is dry-run in one JSON-RPC batch (nothing of it is
        sent if one would revert), then signed and sent pipelined, and confirmed together."""
        for start in range(0, len(batches), self.in_flight):
            self.wave(batches[start : start + self.in_flight])

    def wave(self, batches: list[_Batch]) -> None:
        encoded = [b.call(b.params) for b in batches]
        txs = [(b.wallet, b.manager.address, data, value) for b, (data, value) in zip(batches, encoded)]
        limits = estimate_limits(self.client.rpc, txs)  # in one request (or more, under the request-size cap)
        ready: list[tuple[_Batch, TxRequest]] = []
        later: list[_Batch] = []
        for b, (data, value), limit in zip(batches, encoded, limits):
            if isinstance(limit, SessionError):
                if len(b.nodes) > 1 and _gas_trouble(limit):
                    later.append(b)  # too big for one transaction: sent alone, split
                    continue
                if not _refused(limit):
                    raise limit
                blamed = self.blame(b, limit)
                raise blamed from blamed.cause
            if limit > self.gas_cap and len(b.nodes) > 1:
                later.append(b)
                continue
            ready.append((b, TxRequest(b.wallet, b.manager.address, data, value, limit)))
        if ready:
            timeout = max(r.sender.receipt_timeout for _, r in ready)
            outcomes = run_pipeline(self.client.rpc, [r for _, r in ready], timeout=timeout)
            failed: tuple[_Batch, BaseException] | None = None
            for (b, _), outcome in zip(ready, outcomes):
                if outcome.error is None and outcome.receipt is not None and outcome.receipt.ok:
                    self.record(b, outcome.receipt)
                elif failed is None:
                    failed = (b, outcome.error or TransactionFailed(outcome.receipt.tx_hash if outcome.receipt
                                                                    else "?", outcome.receipt))
            if failed is not None:  # the state moved between the dry run and the block
                b, error = failed
                if not _refused(error):
                    raise error
                blamed = self.blame(b, error)
                raise blamed from blamed.cause
        for b in later:
            self.send(b)

    def send(self, b: _Batch) -> None:
        """One batch transaction on its own, split in halves while it does not fit under the gas ceiling."""
        data, value = b.call(b.params)
        try:
            estimate = b.wallet.estimate_gas(b.manager.address, data, value)
        except (ContractRevert, RPCError) as exc:
            if len(b.nodes) > 1 and _gas_trouble(exc):
                return self._split(b)
            if not _refused(exc):
                raise  # the node is unreachable or broken: nothing to blame on an item
            blamed = self.blame(b, exc)
            raise blamed from blamed.cause
        limit = b.wallet.gas_limit(estimate)
        if limit > self.gas_cap and len(b.nodes) > 1:
            return self._split(b)
        try:
            receipt = b.wallet.transact(b.manager.address, data, value, gas=limit)
        except ContractRevert as exc:  # the state moved between the estimate and the block
            blamed = self.blame(b, exc)
            raise blamed from blamed.cause
        self.record(b, receipt)

    def _split(self, b: _Batch) -> None:
        half = len(b.nodes) // 2
        self.send(_Batch(b.manager, b.wallet, b.nodes[:half], b.params[:half], b.call, b.verb))
        self.send(_Batch(b.manager, b.wallet, b.nodes[half:], b.params[half:], b.call, b.verb))

    def record(self, b: _Batch, receipt: Receipt) -> None:
        """The sessions a mined batch created, matched to its spec items in order."""
        self.counts.transactions += 1
        created = b.manager.created_ids(receipt)
        if len(created) != len(b.nodes):
            raise FleetError(f"expected {len(b.nodes)} SessionCreated events, got {len(created)} (tx "
                             f"{receipt.tx_hash})", item=b.nodes[0].item)
        for node, session_id in zip(b.nodes, created):
            node.session = Session(b.manager, session_id)
            node.state = "created"
            self.report.sessions[node.item.key] = node.session
            self.report.created.append(node.item.key)
            self.counts.created += 1
            self.counter.tick(node.item.label)

    def blame(self, b: _Batch, error: BaseException) -> FleetError:
        """The FleetError for the first item whose batch prefix fails: a binary search over dry runs."""

        def fails(k: int) -> BaseException | None:
            data, value = b.call(b.params[:k])
            try:
                b.wallet.estimate_gas(b.manager.address, data, value)
            except (ContractRevert, RPCError) as exc:
                if not _refused(exc):
                    raise
                return exc
            return None

        nodes = b.nodes
        lo, hi, cause = 1, len(nodes), error
        if len(nodes) > 1:
            while lo < hi:  # smallest k whose prefix fails
                mid = (lo + hi) // 2
                found = fails(mid)
                if found is not None:
                    hi, cause = mid, found
                else:
                    lo = mid + 1
            if hi == len(nodes):
                last = fails(hi)
                if last is None:  # the whole batch passes now: blame the batch
                    return FleetError(f"a batch of {len(nodes)} sessions starting here failed: {_explain(error)}",
                                      item=nodes[0].item, cause=error)
                cause = last
        what = "create" if b.verb == "create" else "spawn"
        return FleetError(f"cannot {what} this session: {_explain(cause)}", item=nodes[hi - 1].item, cause=cause)


@dataclass
class _Batch:
    """One ``createSessions`` / ``spawnChildren`` transaction to be: its spec items and their parameters."""

    manager: Manager
    wallet: Any
    nodes: list[_Node]
    params: list[SessionParams]
    call: Callable[[Sequence[SessionParams]], tuple[bytes, int]]
    verb: str


def _gas_trouble(exc: BaseException) -> bool:
    """The batch is too big for a transaction or a block (not a revert of its own)."""
    if isinstance(exc, RPCError) and exc.revert_data is None:
        message = exc.rpc_message.lower()
        return "gas" in message and "insufficient funds" not in message
    return False


def _refused(exc: BaseException) -> bool:
    """The chain refused the batch itself (a revert, or the sender cannot pay), as opposed to a transport failure."""
    if isinstance(exc, ContractRevert):
        return True
    if isinstance(exc, RPCError):
        return exc.revert_data is not None or "insufficient funds" in exc.rpc_message.lower()
    return False


def _explain(exc: BaseException) -> str:
    if isinstance(exc, ContractRevert) and bytes(getattr(exc, "data", b""))[:4] == _TRANSFER_FROM_FAILED:
        return "TransferFromFailed(): the token refused transferFrom (the owner's balance or allowance is too low)"
    return str(exc)


# ================================================================================================================
# Dry run: the gas of a spawn, simulated on the node
# ================================================================================================================


class CannotSimulate(SessionError):
    """The node cannot simulate this spawn (no factory yet, a test token or contract to deploy first, no
    ``eth_simulateV1``, a call that would revert...): the message says why."""


@dataclass
class SpawnGas:
    """What spawning a spec on one chain would use, simulated as its senders on the node's current state."""

    #: gas of every transaction the spawn would send, in order: (what, gas)
    transactions: list[tuple[str, int]]
    #: each spec session's share of its batch's gas (0 for a session already on chain: nothing is sent for it)
    per_session: dict[str, int]

    @property
    def total(self) -> int:
        return sum(gas for _, gas in self.transactions)


#: ``eth_simulateV1`` runs at most this many blocks per request (geth's cap); one transaction per block.
MAX_SIMULATED_TRANSACTIONS = 256


def simulate_spawn_gas(spec: FleetSpec, handle: ChainHandle, *, chunk_size: int = 100) -> SpawnGas:
    """The gas spawning ``spec``'s sessions on ``handle``'s chain would use now: every transaction the spawn would
    send (manager deployment, test-token mints and approvals, ``createSessions`` and ``spawnChildren`` batches),
    run in order by ``eth_simulateV1`` as its sender on the node's current state, with the senders' ETH balances
    topped up. Nothing is signed or sent. Raises ``CannotSimulate`` saying why when the node cannot tell."""
    flat = [i for i in spec.sessions_flat() if i.chain == handle.name]
    report = FleetReport(items={i.key: i for i in spec.sessions_flat()})
    run = _Simulation(spec, handle, report, _Counter(len(flat), None), chunk_size, False, False)
    run.run(flat)
    if len(run.calls) > MAX_SIMULATED_TRANSACTIONS:
        raise CannotSimulate(f"{len(run.calls)} transactions are more than one simulation runs "
                             f"({MAX_SIMULATED_TRANSACTIONS})")
    gas = run.simulate()
    per_session = {item.key: 0 for item in flat}
    for call, used in zip(run.calls, gas):
        for i, key in enumerate(call.sessions):
            share, rest = divmod(used, len(call.sessions))
            per_session[key] = share + (rest if i == 0 else 0)
    return SpawnGas([(call.what, used) for call, used in zip(run.calls, gas)], per_session)


@dataclass
class _Call:
    """One transaction a spawn would send."""

    what: str
    sender: str
    to: str
    data: bytes
    value: int = 0
    sessions: tuple[str, ...] = ()


class _Simulation(_ChainRun):
    """``_ChainRun`` that records what it would send instead of sending it (reads still go to the node)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.calls: list[_Call] = []
        self.missing_managers: set[str] = set()
        self.next_id: dict[str, int] = {}

    def resolve_tokens(self, manager_names: list[str]) -> None:
        from ..domain.deployment import canonical_token_address

        for name, token in self.spec.tokens.items():
            on_chain = token.chains.get(self.name)
            if on_chain is None:
                continue
            address = on_chain.address or canonical_token_address(name, token.decimals)
            if not has_code(self.client, address):
                raise CannotSimulate(f"token {name} is not deployed at {address} yet")
            self.tokens[name] = address

    def resolve_contracts(self, items: list[FlatSession]) -> None:
        from ..domain.deployment import create2_address, init_code

        for name, contract in self.spec.contracts.items():
            if contract.address is not None:
                self.contracts[name] = contract.address
            elif contract.chains is not None:
                if self.name in contract.chains:
                    self.contracts[name] = contract.chains[self.name]
            else:
                assert contract.deploy is not None
                args: tuple[Any, ...] = ()
                if contract.deploy == "DenylistGuard":
                    assert contract.owner is not None
                    args = (self.spec.address_of(contract.owner),)
                artifact = contract.deploy if contract.deploy == "DenylistGuard" else f"testing/{contract.deploy}"
                self.contracts[name] = create2_address(init_code(artifact, *args))

    def find_or_deploy_manager(self, name: str) -> Manager:
        mspec = self.spec.managers[name]
        owner = self.spec.address_of(mspec.owner)
        factory = self.handle.factory
        predicted = factory.predict_manager(owner, mspec.salt)
        manager = self.client.manager(predicted)
        if has_code(self.client, predicted):
            self.next_id[name] = manager.count()
            return manager
        self.missing_managers.add(name)
        self.next_id[name] = 0
        self.calls.append(_Call(f"deploy manager {name}", owner, factory.address,
                                factory.encode("deployManager", owner, salt_bytes(mspec.salt))))
        return manager

    def live_by_label(self, name: str, manager: Manager) -> dict[str, SessionState]:
        return {} if name in self.missing_managers else super().live_by_label(name, manager)

    def token_call(self, what: str, owner: Any, erc20: Any, fn: str, *args: Any) -> None:
        """Recorded for the simulation, not sent."""
        self.calls.append(_Call(what, owner.address, erc20.address, erc20.encode(fn, *args)))

    def send_all(self, batches: list[_Batch]) -> None:
        for b in batches:
            data, value = b.call(b.params)
            name = b.nodes[0].item.manager
            self.calls.append(_Call(f"{'createSessions' if b.verb == 'create' else 'spawnChildren'} "
                                    f"({len(b.nodes)})", b.wallet.address, b.manager.address, data, value,
                                    tuple(n.item.key for n in b.nodes)))
            for node in b.nodes:  # ids are handed out in order: the children's parents are known ahead
                self.next_id[name] += 1
                node.session = Session(b.manager, self.next_id[name])
                node.state = "created"

    def simulate(self) -> list[int]:
        """Gas used by each recorded call, run in order (one block each) by ``eth_simulateV1``."""
        senders = {call.sender for call in self.calls}
        overrides = {sender: {"balance": hex(10**30)} for sender in senders}
        blocks = [{"calls": [{"from": c.sender, "to": c.to, "data": "0x" + c.data.hex(), "value": hex(c.value)}]}
                  for c in self.calls]
        if not blocks:
            return []
        blocks[0]["stateOverrides"] = overrides
        try:
            result = self.client.rpc.request("eth_simulateV1", [{"blockStateCalls": blocks, "validation": False},
                                                                "latest"])
        except RPCError as exc:
            raise CannotSimulate(f"the node does not simulate ({exc.rpc_message})") from None
        gas = []
        for call, block in zip(self.calls, result):
            (outcome,) = block["calls"]
            if int(outcome.get("status", "0x0"), 16) != 1:
                reason = decode_revert(outcome.get("returnData") or "0x")
                raise CannotSimulate(f"{call.what} would revert: {reason}")
            gas.append(int(outcome["gasUsed"], 16))
        return gas
