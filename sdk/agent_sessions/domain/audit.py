"""Reconcile a manager's on-chain balances with the escrow its sessions account for.

The contract promises that, for every token, the manager holds exactly the unspent escrow of its unclosed
sessions (each session's ``available``; a child's reservation is already out of its parent's) and that its
``SessionExecutor`` holds nothing between transactions. ``audit(manager)`` checks both from the chain alone:

- a **deficit** (balance below escrow) means sessions are promised funds the manager does not have: a bug;
- a **surplus** (balance above escrow) means tokens arrived outside the contract's entry points (someone
  transferred ERC-20 straight to the manager): nobody's escrow, and no entry point pays it out;
- any **executor balance** means a call left funds behind in the executor: a bug.

It also lists sessions that ended (revoked, expired, under an ended ancestor) but were not closed yet: their
funds are still escrowed and flow back up the tree when anyone calls ``close``.

    report = audit(manager)
    report.ok            # every token exactly balanced, executor empty
    report.solvent       # no deficit and executor empty (a surplus alone is not a solvency problem)

Reads use the latest block; if a block is mined while reading, the audit reads again (``attempts``), so the
balances and the sessions it compares come from the same block whenever the chain lets it.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Iterable

import eth_abi
from eth_utils import keccak

from ..base.errors import RPCError
from ..base.models import NATIVE, SessionState, checksum
from .listing import iter_states
from .tokens import TokenBook

if TYPE_CHECKING:
    from .manager import Manager

__all__ = ["AuditReport", "TokenAudit", "audit"]

_BALANCE_OF = keccak(text="balanceOf(address)")[:4]


@dataclass(frozen=True)
class TokenAudit:
    """One token: what the manager holds against what its sessions are owed (base units)."""

    token: str
    symbol: str
    decimals: int
    #: The manager's balance of the token.
    balance: int
    #: Sum of ``available`` over the manager's unclosed sessions.
    escrowed: int
    #: The executor's balance of the token (must be 0).
    executor_balance: int = 0
    #: Part of ``escrowed`` held by ended sessions that wait for ``close``.
    awaiting_close: int = 0
    #: Payouts the token refused at settlement, held for their payees to ``claim`` (``totalOwed``).
    owed: int = 0

    @property
    def difference(self) -> int:
        """``balance - escrowed - owed``: positive is a surplus (donations), negative a deficit (a bug)."""
        return self.balance - self.escrowed - self.owed

    @property
    def surplus(self) -> int:
        return max(self.difference, 0)

    @property
    def deficit(self) -> int:
        return max(-self.difference, 0)

    @property
    def solvent(self) -> bool:
        """Every session's escrow is covered and the executor holds nothing."""
        return self.deficit == 0 and self.executor_balance == 0

    @property
    def ok(self) -> bool:
        """Exactly balanced and the executor holds nothing."""
        return self.difference == 0 and self.executor_balance == 0

    @property
    def verdict(self) -> str:
        """``ok``, ``deficit``, ``executor`` (funds left in the executor) or ``surplus``, worst first."""
        if self.deficit:
            return "deficit"
        if self.executor_balance:
            return "executor"
        if self.surplus:
            return "surplus"
        return "ok"

    def format(self, amount: int) -> str:
        from ..base.units import format_amount

        return format_amount(amount, self.decimals, self.symbol)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready (amounts as decimal strings of base units, so no precision is lost)."""
        return {
            "token": self.token,
            "symbol": self.symbol,
            "decimals": self.decimals,
            "balance": str(self.balance),
            "escrowed": str(self.escrowed),
            "difference": str(self.difference),
            "executor_balance": str(self.executor_balance),
            "awaiting_close": str(self.awaiting_close),
            "owed": str(self.owed),
            "verdict": self.verdict,
            "ok": self.ok,
        }


@dataclass(frozen=True)
class AuditReport:
    """The audit of one manager at one block."""

    manager: str
    executor: str
    #: The block the figures were read at (the latest block when the audit ran).
    block: int
    #: False when blocks kept coming while reading (figures may then straddle a few blocks).
    consistent: bool
    tokens: tuple[TokenAudit, ...]
    #: Sessions that ended but were not closed: their funds are still escrowed, waiting for ``close``.
    awaiting_close: tuple[SessionState, ...] = ()
    #: Sessions ever created / not closed yet.
    session_count: int = 0
    unclosed_count: int = 0
    errors: tuple[str, ...] = field(default=())

    @property
    def ok(self) -> bool:
        """Every token exactly balanced and the executor empty."""
        return all(t.ok for t in self.tokens) and not self.errors

    @property
    def solvent(self) -> bool:
        """No deficit and the executor empty (a surplus from donations alone keeps a manager solvent)."""
        return all(t.solvent for t in self.tokens) and not self.errors

    @property
    def surplus_only(self) -> bool:
        """Not ok only because of surpluses (tokens sent straight to the manager)."""
        return self.solvent and not self.ok

    def token(self, token: Any) -> TokenAudit:
        address = checksum(token)
        for item in self.tokens:
            if item.token == address:
                return item
        raise KeyError(address)

    def problems(self) -> list[str]:
        """One line per thing that is not ok."""
        lines = list(self.errors)
        for t in self.tokens:
            if t.deficit:
                lines.append(f"{t.symbol}: deficit of {t.format(t.deficit)} (balance {t.format(t.balance)} < "
                             f"escrow {t.format(t.escrowed)})")
            elif t.surplus:
                lines.append(f"{t.symbol}: surplus of {t.format(t.surplus)} (sent to the manager outside the "
                             f"contract's entry points)")
            if t.executor_balance:
                lines.append(f"{t.symbol}: the executor holds {t.format(t.executor_balance)}")
        return lines

    def to_dict(self) -> dict[str, Any]:
        return {
            "manager": self.manager,
            "executor": self.executor,
            "block": self.block,
            "consistent": self.consistent,
            "ok": self.ok,
            "solvent": self.solvent,
            "sessions": self.session_count,
            "unclosed": self.unclosed_count,
            "tokens": [t.to_dict() for t in self.tokens],
            "awaiting_close": [
                {"id": s.id, "status": str(s.status), "label": s.label,
                 "available": {token: str(b.available) for token, b in s.budgets.items() if b.available}}
                for s in self.awaiting_close
            ],
            "problems": self.problems(),
        }


def audit(manager: Manager, *, tokens: Iterable[Any] = (), book: TokenBook | None = None, attempts: int = 3,
          page_size: int = 200) -> AuditReport:
    """Reconcile ``manager``'s balances with its sessions' escrow, for ETH, every token any session has a
    budget in, and any extra ``tokens``. ``book`` supplies token symbols and decimals (one is made if absent)."""
    client = manager.client
    book = book or TokenBook(client)
    executor = checksum(manager.call("executor"))
    extra = [checksum(t) for t in tokens]
    for attempt in range(max(1, attempts)):
        start = client.rpc.block_number()
        states = list(iter_states(manager, page_size=page_size))
        token_list = _tokens_of(states, extra)
        balances, owed = _balances(manager, token_list, [manager.address, executor])
        end = client.rpc.block_number()
        if start == end:
            break
    consistent = start == end

    escrowed: dict[str, int] = defaultdict(int)
    waiting: dict[str, int] = defaultdict(int)
    awaiting: list[SessionState] = []
    unclosed = 0
    for state in states:
        if state.closed:
            continue
        unclosed += 1
        ended = state.status.is_ended
        if ended:
            awaiting.append(state)
        for token, b in state.budgets.items():
            escrowed[token] += b.available
            if ended:
                waiting[token] += b.available

    book.prefetch(token_list)
    rows = []
    errors = []
    for token in token_list:
        info = book.get(token)
        held, in_executor = balances[token]
        if held is None or in_executor is None:
            errors.append(f"{info.symbol} ({token}): balanceOf failed, so it cannot be audited")
            held, in_executor = held or 0, in_executor or 0
        rows.append(TokenAudit(token=token, symbol=info.symbol, decimals=info.decimals, balance=held,
                               escrowed=escrowed.get(token, 0), executor_balance=in_executor,
                               awaiting_close=waiting.get(token, 0), owed=owed[token]))
    return AuditReport(manager=manager.address, executor=executor, block=end, consistent=consistent,
                       tokens=tuple(rows), awaiting_close=tuple(awaiting), session_count=len(states),
                       unclosed_count=unclosed, errors=tuple(errors))


def _tokens_of(states: list[SessionState], extra: list[str]) -> list[str]:
    """ETH first, then every other token in order of first appearance."""
    seen: dict[str, None] = {NATIVE: None}
    for state in states:
        for token in state.budgets:
            seen.setdefault(token, None)
    for token in extra:
        seen.setdefault(token, None)
    return list(seen)


def _balances(manager: Manager, tokens: list[str],
              holders: list[str]) -> tuple[dict[str, tuple[int | None, ...]], dict[str, int]]:
    """In one JSON-RPC batch: ``{token: (balance of holders[0], balance of holders[1], ...)}``, ``None`` where a
    token's ``balanceOf`` failed; and ``{token: manager.totalOwed(token)}`` (ETH is never owed: it is always
    sent)."""
    calls: list[tuple[str, list[Any]]] = []
    for token in tokens:
        for holder in holders:
            if token == NATIVE:
                calls.append(("eth_getBalance", [holder, "latest"]))
            else:
                data = _BALANCE_OF + eth_abi.encode(["address"], [holder])
                calls.append(("eth_call", [{"to": token, "data": "0x" + data.hex()}, "latest"]))
    erc20s = [t for t in tokens if t != NATIVE]
    for token in erc20s:
        data = manager.encode("totalOwed", token)
        calls.append(("eth_call", [{"to": manager.address, "data": "0x" + data.hex()}, "latest"]))
    results = manager.client.rpc.batch(calls)
    out: dict[str, tuple[int | None, ...]] = {}
    for i, token in enumerate(tokens):
        values: list[int | None] = []
        for j in range(len(holders)):
            result = results[i * len(holders) + j]
            if isinstance(result, RPCError) or not isinstance(result, str):
                values.append(None)
                continue
            raw = result[2:]
            values.append(int(raw[:64], 16) if raw else None)
        out[token] = tuple(values)
    owed = dict.fromkeys(tokens, 0)
    for token, result in zip(erc20s, results[len(tokens) * len(holders):]):
        if isinstance(result, RPCError):
            raise result  # the manager's own view: no answer means no audit
        owed[token] = int(result[2:66], 16)
    return out, owed

