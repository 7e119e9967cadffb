"""Rendering sessions for people (``rich``) and for machines (JSON-ready dicts), shared by the scripts and the demo.

    console.print(sessions_table(states, book=TokenBook(client), now=client.now()))
    console.print(session_tree(states))
    console.print(session_panel(state))
    console.print(audit_table(report))
    Dashboard(manager, refresh=1.0).run()          # live view until Ctrl-C
    json.dumps([to_jsonable(s) for s in states])
    print(error_line(exc, book))                   # BudgetExceeded(session=7, token=ETH, requested=2 ETH, ...)

Amounts are shown in token units (``TokenBook``: ``1.5 ETH``, ``250 TUSD``), times relative to ``now`` (pass the
chain's time: tests and forks move it; the machine's clock is only the fallback). JSON keeps amounts as decimal
strings of base units, so no precision is lost on the way to JavaScript.
"""

from __future__ import annotations

import time
from collections import Counter, defaultdict
from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime, timedelta, timezone
from typing import TYPE_CHECKING, Any

from rich.console import Console, Group, RenderableType
from rich.panel import Panel
from rich.table import Table
from rich.text import Text
from rich.tree import Tree

from ..base.errors import CallReverted, ContractError, ContractRevert, SessionError, decode_revert
from ..base.models import NATIVE, SessionState, Status
from ..domain.tokens import TokenBook, short_address

if TYPE_CHECKING:
    from ..domain.audit import AuditReport
    from ..domain.manager import Manager
    from .spawn import FleetReport

__all__ = [
    "STATUS_STYLES",
    "Dashboard",
    "audit_table",
    "error_explanation",
    "error_line",
    "fleet_outcomes",
    "fleet_states",
    "fleet_table",
    "fleet_to_jsonable",
    "relative_time",
    "session_panel",
    "session_tree",
    "sessions_table",
    "status_text",
    "to_jsonable",
]

#: Color of each status.
STATUS_STYLES: dict[Status, str] = {
    Status.NONE: "dim",
    Status.DRAFT: "cyan",
    Status.ACTIVE: "green",
    Status.PAUSED: "yellow",
    Status.COMPLETED: "blue",
    Status.REVOKED: "red",
    Status.EXPIRED: "magenta",
}

StateLike = SessionState | Any  # a SessionState or anything with ``.state`` (a Session)


# ================================================================================================================
# small pieces
# ================================================================================================================


def _state(item: StateLike) -> SessionState:
    return item if isinstance(item, SessionState) else item.state


def _states(items: Iterable[StateLike]) -> list[SessionState]:
    return [_state(i) for i in items]


def _now(now: datetime | int | float | None) -> datetime:
    if now is None:
        return datetime.now(timezone.utc)
    if isinstance(now, datetime):
        return now if now.tzinfo else now.replace(tzinfo=timezone.utc)
    return datetime.fromtimestamp(int(now), tz=timezone.utc)


def _book(book: TokenBook | None) -> TokenBook:
    return book if book is not None else TokenBook()


def _span(seconds: float) -> str:
    seconds = int(abs(seconds))
    days, rest = divmod(seconds, 86_400)
    hours, rest = divmod(rest, 3_600)
    minutes, secs = divmod(rest, 60)
    if days:
        return f"{days}d {hours}h" if hours else f"{days}d"
    if hours:
        return f"{hours}h {minutes}m" if minutes else f"{hours}h"
    if minutes:
        return f"{minutes}m {secs}s" if secs else f"{minutes}m"
    return f"{secs}s"


def relative_time(moment: datetime, now: datetime | int | None = None) -> str:
    """``in 23h 59m`` / ``5m ago`` / ``now``, against ``now`` (the chain's time when given)."""
    delta = (moment - _now(now)).total_seconds()
    if abs(delta) < 1:
        return "now"
    return f"in {_span(delta)}" if delta > 0 else f"{_span(delta)} ago"


def status_text(state: StateLike) -> Text:
    """The status in its color; ``(closed)`` appended once the session is settled."""
    s = _state(state)
    text = Text(str(s.status), style=STATUS_STYLES.get(s.status, ""))
    if s.closed:
        text.append(" closed", style="dim")
    return text


def _tokens(states: Sequence[SessionState]) -> list[str]:
    """ETH first, then every other token in order of first appearance."""
    seen: dict[str, None] = {NATIVE: None}
    for s in states:
        for token in s.budgets:
            seen.setdefault(token, None)
    return list(seen)


def _budget_cell(state: SessionState, token: str, book: TokenBook) -> Text:
    budget = state.budgets.get(token)
    if budget is None or (budget.spent == 0 and budget.available == 0 and not budget.per_call_cap):
        return Text("—", style="dim")
    info = book.get(token)
    text = Text(info.format(budget.spent).removesuffix(" " + info.symbol), style="yellow" if budget.spent else "dim")
    text.append(" / ")
    text.append(info.format(budget.available), style="bold" if budget.available else "dim")
    return text


def _calls(state: SessionState) -> str:
    if state.max_calls_per_period:
        return f"{state.calls_in_period}/{state.max_calls_per_period}"
    return str(state.calls_in_period) if state.calls_in_period else "—"


def _expiry(state: SessionState, now: datetime) -> Text:
    text = relative_time(state.expiry, now)
    style = "red" if state.expiry <= now else ("yellow" if state.expiry - now < timedelta(hours=1) else "")
    return Text(text, style=style)


def _label(state: SessionState) -> str:
    return state.label or ""


def _tree_order(states: Sequence[SessionState]) -> list[tuple[SessionState, str]]:
    """States depth-first (children under their parent, ids ascending), each with its tree guide
    (``├─ `` / ``└─ `` prefixes). A session whose parent is not in ``states`` is shown as a root."""
    by_id = {s.id: s for s in states}
    children: dict[int, list[SessionState]] = defaultdict(list)
    roots: list[SessionState] = []
    for s in sorted(states, key=lambda s: s.id):
        if s.parent_id and s.parent_id in by_id:
            children[s.parent_id].append(s)
        else:
            roots.append(s)
    out: list[tuple[SessionState, str]] = []

    def walk(node: SessionState, lead: str, guide: str) -> None:
        out.append((node, guide))
        kids = children.get(node.id, [])
        for i, kid in enumerate(kids):
            last = i == len(kids) - 1
            walk(kid, lead + ("   " if last else "│  "), lead + ("└─ " if last else "├─ "))

    for root in roots:
        walk(root, "", "")
    return out


# ================================================================================================================
# tables, trees, panels
# ================================================================================================================


def sessions_table(states: Iterable[StateLike], *, book: TokenBook | None = None, now: datetime | int | None = None,
                   title: str | None = None, tree: bool = True) -> Table:
    """One row per session: id (indented under its parent when ``tree``), label, status, agent, holder,
    spent / remaining per token, calls in the current period, expiry relative to ``now``."""
    items = _states(states)
    book = _book(book)
    moment = _now(now)
    tokens = _tokens(items)
    book.prefetch(tokens)
    table = Table(title=title, title_justify="left", header_style="bold")
    table.add_column("id", no_wrap=True)
    table.add_column("label")
    table.add_column("status", no_wrap=True)
    table.add_column("agent", no_wrap=True)
    table.add_column("holder", no_wrap=True)
    for token in tokens:
        table.add_column(f"{book.symbol(token)} spent / left", justify="right", no_wrap=True)
    table.add_column("calls", justify="right")
    table.add_column("expires", no_wrap=True)
    rows = _tree_order(items) if tree else [(s, "") for s in sorted(items, key=lambda s: s.id)]
    for state, guide in rows:
        table.add_row(
            Text(guide, style="dim") + Text(f"#{state.id}"),
            _label(state),
            status_text(state),
            short_address(state.agent),
            short_address(state.holder),
            *(_budget_cell(state, token, book) for token in tokens),
            _calls(state),
            _expiry(state, moment),
        )
    if not items:
        table.caption = "no sessions"
    return table


def _node_text(state: SessionState, book: TokenBook, now: datetime) -> Text:
    text = Text(f"#{state.id}", style="bold")
    if state.label:
        text.append(f" {state.label}")
    text.append("  ")
    text.append_text(status_text(state))
    text.append(f"  agent {short_address(state.agent)}", style="dim")
    for token, budget in state.budgets.items():
        if budget.available or budget.spent:
            info = book.get(token)
            text.append(f"  {info.format(budget.available)} left")
            if budget.spent:
                text.append(f" ({info.format(budget.spent)} spent)", style="yellow")
    text.append("  expires ")
    text.append_text(_expiry(state, now))
    return text


def session_tree(states: Iterable[StateLike], *, book: TokenBook | None = None, now: datetime | int | None = None,
                 title: str = "sessions") -> Tree:
    """Sessions as a tree: each child under its parent (sessions whose parent is absent hang off the top)."""
    items = _states(states)
    book = _book(book)
    moment = _now(now)
    book.prefetch(_tokens(items))
    root = Tree(Text(title, style="bold"), guide_style="dim")
    nodes: dict[int, Tree] = {}
    for state in sorted(items, key=lambda s: s.id):
        parent = nodes.get(state.parent_id, root)
        nodes[state.id] = parent.add(_node_text(state, book, moment))
    return root


def session_panel(state: StateLike, *, book: TokenBook | None = None, now: datetime | int | None = None,
                  guards: Sequence[str] = (), children: Iterable[StateLike] = ()) -> Panel:
    """Everything about one session (``sessions inspect``): identity, timing, every budget, children."""
    s = _state(state)
    book = _book(book)
    moment = _now(now)
    book.prefetch(s.budgets)
    facts = Table.grid(padding=(0, 2))
    facts.add_column(style="bold", no_wrap=True)
    facts.add_column()
    facts.add_row("status", status_text(s))
    facts.add_row("label", s.label or Text("—", style="dim"))
    facts.add_row("parent", f"#{s.parent_id}" if s.parent_id else Text("— (root)", style="dim"))
    facts.add_row("depth", str(s.depth))
    facts.add_row("agent", s.agent)
    facts.add_row("holder", s.holder if int(s.holder, 16) else Text("— (token burned)", style="dim"))
    facts.add_row("expires", Text(f"{s.expiry.isoformat()} (") + _expiry(s, moment) + Text(")"))
    if s.last_active:
        facts.add_row("last active", f"{s.last_active.isoformat()} ({relative_time(s.last_active, moment)})")
    facts.add_row("max idle", _span(s.max_idle.total_seconds()) if s.max_idle else Text("—", style="dim"))
    facts.add_row("period", _span(s.period.total_seconds()) if s.period else Text("—", style="dim"))
    facts.add_row("calls", _calls(s))
    facts.add_row("targets", "any" if s.any_target else "allowlist")
    if guards:
        facts.add_row("guards", ", ".join(guards))
    facts.add_row("epoch", str(s.epoch))
    facts.add_row("checkpoint", f"{s.checkpoint_root} (tasks: {s.task_count})" if s.task_count or
                  int(s.checkpoint_root, 16) else Text("—", style="dim"))

    budgets = Table(header_style="bold", box=None)
    for col in ("token", "left", "spent", "per call", "per period", "spent in period"):
        budgets.add_column(col, justify="left" if col == "token" else "right")
    for token, b in s.budgets.items():
        info = book.get(token)
        budgets.add_row(
            info.symbol if info.is_native else f"{info.symbol} {short_address(token)}",
            info.format(b.available),
            info.format(b.spent),
            info.format(b.per_call_cap) if b.per_call_cap else "—",
            info.format(b.period_allowance) if b.period_allowance else "—",
            info.format(b.spent_in_period) if b.period_allowance else "—",
        )
    parts: list[RenderableType] = [facts, Text(""), budgets]
    kids = _states(children)
    if kids:
        parts += [Text(""), session_tree(kids, book=book, now=moment, title="children")]
    return Panel(Group(*parts), title=f"session #{s.id}", title_align="left", expand=False)


def audit_table(report: AuditReport) -> Group:
    """The audit per token (balance, escrow, owed payouts, difference, executor, verdict), then the sessions awaiting
    ``close`` and one line per problem."""
    table = Table(title=f"audit of {report.manager} at block {report.block}", title_justify="left",
                  header_style="bold")
    for col in ("token", "balance", "escrowed", "owed", "difference", "executor", "awaiting close", "verdict"):
        table.add_column(col, justify="left" if col in ("token", "verdict") else "right", no_wrap=True)
    for t in report.tokens:
        diff = t.difference
        diff_text = Text(("+" if diff > 0 else "-" if diff < 0 else "") + t.format(abs(diff)),
                         style="red" if diff < 0 else "yellow" if diff > 0 else "green")
        verdict_style = {"ok": "green", "surplus": "yellow"}.get(t.verdict, "bold red")
        table.add_row(
            t.symbol if t.token == NATIVE else f"{t.symbol} {short_address(t.token)}",
            t.format(t.balance),
            t.format(t.escrowed),
            t.format(t.owed) if t.owed else Text("—", style="dim"),
            diff_text,
            Text(t.format(t.executor_balance), style="bold red" if t.executor_balance else "dim"),
            t.format(t.awaiting_close) if t.awaiting_close else Text("—", style="dim"),
            Text(t.verdict, style=verdict_style),
        )
    parts: list[RenderableType] = [table]
    summary = Text(f"{report.session_count} sessions, {report.unclosed_count} not closed; executor "
                   f"{short_address(report.executor)}", style="dim")
    parts.append(summary)
    if not report.consistent:
        parts.append(Text("blocks kept coming while reading: figures may straddle blocks", style="yellow"))
    if report.awaiting_close:
        ids = ", ".join(f"#{s.id} ({s.status})" for s in report.awaiting_close[:20])
        more = f" and {len(report.awaiting_close) - 20} more" if len(report.awaiting_close) > 20 else ""
        parts.append(Text(f"ended, awaiting close: {ids}{more}", style="magenta"))
    for line in report.problems():
        parts.append(Text(line, style="red" if "deficit" in line or "executor" in line else "yellow"))
    parts.append(Text("OK" if report.ok else ("NOT OK (surplus only)" if report.surplus_only else "NOT OK"),
                      style="bold green" if report.ok else "bold red"))
    return Group(*parts)


# ================================================================================================================
# fleets (spawn_fleet's report)
# ================================================================================================================


def fleet_outcomes(report: FleetReport) -> dict[str, str]:
    """What ``spawn_fleet`` did with each spec item, by item key: created, exists, ended, blocked, replaced
    (rotated / stale agent appended, e.g. ``exists, rotated``)."""
    out: dict[str, str] = {}
    for name, keys in (("created", report.created), ("exists", report.skipped), ("ended", report.ended),
                       ("blocked", report.blocked), ("replaced", report.replaced)):
        for key in keys:
            out[key] = name
    for name, keys in (("rotated", report.rotated), ("stale agent", report.stale_agents)):
        for key in keys:
            out[key] = f"{out[key]}, {name}" if key in out else name
    return out


def fleet_states(report: FleetReport) -> dict[str, SessionState]:
    """The current state of every session of the report, read with one ``getSessions`` batch per manager."""
    groups: dict[tuple[int, str], list[tuple[str, Any]]] = defaultdict(list)
    for key, session in report.sessions.items():
        groups[(id(session.manager.client), session.manager.address)].append((key, session))
    out: dict[str, SessionState] = {}
    for members in groups.values():
        manager = members[0][1].manager
        fresh = manager.sessions([s.id for _, s in members])
        for (key, _), session in zip(members, fresh):
            out[key] = session.state
    return out


_OUTCOME_STYLES = {"created": "green", "exists": "dim", "ended": "magenta", "blocked": "red", "replaced": "cyan"}


def fleet_table(report: FleetReport, states: Mapping[str, SessionState] | None = None, *,
                books: Mapping[str, TokenBook] | None = None, max_rows: int = 60) -> Table:
    """One row per spec item, in spec order (children indented): chain, manager, session id, outcome, status,
    agent, and what each budget has left. ``books`` names tokens per chain."""
    states = fleet_states(report) if states is None else states
    outcomes = fleet_outcomes(report)
    table = Table(title="fleet", title_justify="left", header_style="bold")
    for col in ("session", "chain", "manager", "id", "outcome", "status", "agent", "left"):
        table.add_column(col, justify="right" if col == "id" else "left", no_wrap=col != "left")
    items = list(report.items.items())
    for key, item in items[:max_rows]:
        state = states.get(key)
        book = (books or {}).get(item.chain) or TokenBook()
        outcome = outcomes.get(key, "—")
        label = Text("   " * item.depth + ("└─ " if item.depth else ""), style="dim") + Text(key)
        if state is None:
            table.add_row(label, item.chain, item.manager, "—", Text(outcome, style=_OUTCOME_STYLES.get(outcome, "")),
                          "—", "—", "—")
            continue
        left = ", ".join(book.format(token, b.available) for token, b in state.budgets.items()
                         if b.available or token != NATIVE) or "—"
        table.add_row(label, item.chain, item.manager, f"#{state.id}",
                      Text(outcome, style=_OUTCOME_STYLES.get(outcome.split(",")[0], "")), status_text(state),
                      short_address(state.agent), left)
    if len(items) > max_rows:
        table.caption = f"… {len(items) - max_rows} more (--json lists them all)"
    return table


def fleet_to_jsonable(report: FleetReport, states: Mapping[str, SessionState] | None = None, *,
                      books: Mapping[str, TokenBook] | None = None) -> dict[str, Any]:
    """The report as JSON types: outcome lists, managers / tokens / contracts per chain, and every session
    (chain, manager name and address, path in the spec, parent, outcome, then ``to_jsonable``)."""
    states = fleet_states(report) if states is None else states
    outcomes = fleet_outcomes(report)
    sessions: dict[str, Any] = {}
    for key, item in report.items.items():
        entry: dict[str, Any] = {"chain": item.chain, "manager": item.manager, "path": item.path,
                                 "parent": item.parent, "outcome": outcomes.get(key)}
        session = report.sessions.get(key)
        if session is not None:
            entry["manager_address"] = session.manager.address
        state = states.get(key)
        if state is not None:
            entry.update(to_jsonable(state, book=(books or {}).get(item.chain)))
        sessions[key] = entry
    return {
        "summary": report.summary(),
        "elapsed": round(report.elapsed, 3),
        "transactions": report.transactions,
        "created": list(report.created),
        "skipped": list(report.skipped),
        "ended": list(report.ended),
        "blocked": list(report.blocked),
        "replaced": list(report.replaced),
        "rotated": list(report.rotated),
        "stale_agents": list(report.stale_agents),
        "managers": {chain: {name: m.address for name, m in managers.items()}
                     for chain, managers in report.managers.items()},
        "tokens": {chain: dict(tokens) for chain, tokens in report.tokens.items()},
        "contracts": {chain: dict(contracts) for chain, contracts in report.contracts.items()},
        "sessions": sessions,
    }


# ================================================================================================================
# JSON
# ================================================================================================================


def to_jsonable(state: StateLike, *, book: TokenBook | None = None) -> dict[str, Any]:
    """A session as plain JSON types: times as unix seconds and ISO strings, durations in seconds, amounts as
    decimal strings of base units (``"1500000000000000000"``); with ``book``, each budget also has its symbol,
    decimals and formatted amounts."""
    s = _state(state)
    budgets: dict[str, Any] = {}
    for token, b in s.budgets.items():
        entry: dict[str, Any] = {
            "available": str(b.available),
            "spent": str(b.spent),
            "per_call_cap": str(b.per_call_cap),
            "period_allowance": str(b.period_allowance),
            "spent_in_period": str(b.spent_in_period),
        }
        if book is not None:
            info = book.get(token)
            entry.update(symbol=info.symbol, decimals=info.decimals, available_formatted=info.format(b.available),
                         spent_formatted=info.format(b.spent))
        budgets[token] = entry
    return {
        "id": s.id,
        "parent_id": s.parent_id,
        "label": s.label,
        "status": str(s.status),
        "closed": s.closed,
        "agent": s.agent,
        "holder": s.holder,
        "depth": s.depth,
        "any_target": s.any_target,
        "expiry": s.expiry_timestamp,
        "expiry_iso": s.expiry.isoformat(),
        "last_active": int(s.last_active.timestamp()) if s.last_active else None,
        "max_idle": int(s.max_idle.total_seconds()) if s.max_idle else 0,
        "period": int(s.period.total_seconds()) if s.period else 0,
        "max_calls_per_period": s.max_calls_per_period,
        "calls_in_period": s.calls_in_period,
        "epoch": s.epoch,
        "checkpoint_root": s.checkpoint_root,
        "task_count": s.task_count,
        "budgets": budgets,
    }


# ================================================================================================================
# errors
# ================================================================================================================

_AMOUNT_FIELDS = {"requested", "remaining", "cap", "approved", "spent", "received", "min_received", "expected",
                  "actual", "amount", "fee", "needed", "available"}
_ETH_ERRORS = {"ValueMismatch", "NoValueExpected", "RelayFeeAboveCap", "DepositTooLow"}
_TIME_FIELDS = {"expiry", "now", "parent_expiry", "deadline", "latest"}


def _show(name: str, value: Any, unit: Any, book: TokenBook) -> str:
    if isinstance(value, Status):
        return str(value)
    if isinstance(value, str) and value.lower() == NATIVE.lower():
        return "ETH"
    if isinstance(value, int) and not isinstance(value, bool):
        if unit is not None and name in _AMOUNT_FIELDS | {"value"}:
            return unit.format(value)
        if name in _TIME_FIELDS and 0 < value < 2**40:
            return datetime.fromtimestamp(value, tz=timezone.utc).isoformat()
        return str(value)
    if isinstance(value, (bytes, bytearray)):
        raw = bytes(value)
        if len(raw) == 4:
            return "0x" + raw.hex()
        if not raw:
            return "(no data)"
        inner = decode_revert(raw)
        if isinstance(inner, ContractRevert) and not inner.__class__.__name__ == "UnknownRevert":
            return error_line(inner, book)
        return "0x" + raw.hex()
    return str(value)


def error_line(exc: BaseException, book: TokenBook | None = None) -> str:
    """One line for an error: a contract revert as its Solidity name with readable arguments
    (``BudgetExceeded(session=7, token=ETH, requested=2 ETH, remaining=1 ETH)``; a wrapped ``reason`` decoded in
    turn), anything else as its message."""
    if not isinstance(exc, ContractRevert) or exc.__class__.__name__ == "UnknownRevert":
        return str(exc)
    book = _book(book)
    if isinstance(exc, ContractError):
        name, arguments = exc.name, exc.arguments
    else:
        name, arguments = exc.error_name, exc.arguments
    unit = None
    token = arguments.get("token")
    if isinstance(token, str):
        try:
            unit = book.get(token)
        except (ValueError, SessionError):
            unit = None
    elif name in _ETH_ERRORS:
        unit = book.get(NATIVE)
    shown = ", ".join(f"{key}={_show(key, value, unit, book)}" for key, value in arguments.items())
    line = f"{name}({shown})"
    if isinstance(exc, CallReverted) and not getattr(exc, "reason", b""):
        line += " without a reason"
    return line


def error_explanation(exc: BaseException, book: TokenBook | None = None) -> str | None:
    """What a typed contract error means, in a sentence with readable amounts (``session 7: spending 2 ETH of
    ETH exceeds the remaining 1 ETH``); None for other errors."""
    if not isinstance(exc, ContractRevert) or isinstance(exc, ContractError) or not exc.template:
        return None
    book = _book(book)
    arguments = exc.arguments
    token = arguments.get("token")
    unit = book.get(token) if isinstance(token, str) else (book.get(NATIVE) if exc.error_name in _ETH_ERRORS
                                                            else None)
    shown = {key: (_show(key, value, unit, book) if key != "reason" else "") for key, value in arguments.items()}
    try:
        return exc.template.format(**shown)
    except (KeyError, IndexError, ValueError):
        return None


# ================================================================================================================
# dashboard
# ================================================================================================================


class Dashboard:
    """A live view of one or more managers' sessions, redrawn every ``refresh`` seconds.

    Per session: status (colored), agent, spent / remaining per token, calls in the current period, expiry
    relative to the chain's time, children indented under their parent. Above: totals across sessions (escrow
    left and spent per token, how many sessions in each status). Closed sessions are counted but not listed
    unless ``include_closed``; at most ``max_rows`` rows per manager are drawn.

        Dashboard(manager).run()                # until Ctrl-C
        Dashboard([m1, m2]).run(duration=30)    # for 30 s
        console.print(Dashboard(manager).render())   # one frame
    """

    def __init__(self, managers: Manager | Sequence[Manager], refresh: float = 1.0, *, console: Console | None = None,
                 book: TokenBook | None = None, include_closed: bool = False, max_rows: int = 40) -> None:
        self.managers: list[Manager] = list(managers) if isinstance(managers, Sequence) else [managers]
        if not self.managers:
            raise ValueError("a dashboard needs at least one manager")
        if refresh <= 0:
            raise ValueError("refresh must be a positive number of seconds")
        self.refresh = refresh
        self.console = console or Console()
        self.book = book or TokenBook(self.managers[0].client)
        self.include_closed = include_closed
        self.max_rows = max_rows
        self.frames = 0

    def snapshot(self) -> tuple[int, dict[str, list[SessionState]]]:
        """The chain's time and every session of every manager, read now."""
        now = self.managers[0].client.now()
        return now, {m.address: [s.state for s in m.iter_sessions()] for m in self.managers}

    def render(self, snapshot: tuple[int, dict[str, list[SessionState]]] | None = None) -> RenderableType:
        """One frame."""
        now, by_manager = snapshot or self.snapshot()
        everything = [s for states in by_manager.values() for s in states]
        self.book.prefetch(_tokens(everything))
        parts: list[RenderableType] = [self._header(now, everything)]
        for address, states in by_manager.items():
            shown = states if self.include_closed else [s for s in states if not s.closed]
            hidden = len(states) - len(shown)
            table = sessions_table(shown[: self.max_rows], book=self.book, now=now,
                                   title=f"manager {address}")
            notes = []
            if len(shown) > self.max_rows:
                notes.append(f"… {len(shown) - self.max_rows} more")
            if hidden:
                notes.append(f"{hidden} closed not shown")
            if notes:
                table.caption = "; ".join(notes)
            parts.append(table)
        return Group(*parts)

    def _header(self, now: int, states: Sequence[SessionState]) -> RenderableType:
        counts = Counter(s.status for s in states if not s.closed)
        closed = sum(1 for s in states if s.closed)
        left: dict[str, int] = defaultdict(int)
        spent: dict[str, int] = defaultdict(int)
        for s in states:
            for token, b in s.budgets.items():
                spent[token] += b.spent
                if not s.closed:
                    left[token] += b.available
        line = Text()
        line.append(f"{len(states)} sessions: ", style="bold")
        for status in Status:
            if counts.get(status):
                line.append(f"{counts[status]} {status}", style=STATUS_STYLES[status])
                line.append("  ")
        if closed:
            line.append(f"{closed} closed", style="dim")
        totals = Table.grid(padding=(0, 2))
        totals.add_column(style="bold")
        totals.add_column(justify="right")
        totals.add_column(justify="right")
        totals.add_row("token", "escrow left", "spent")
        for token in _tokens(states):
            info = self.book.get(token)
            totals.add_row(info.symbol, info.format(left.get(token, 0)), info.format(spent.get(token, 0)))
        moment = _now(now)
        title = (f"Agent Sessions · chain {self.managers[0].client.chain_id} · "
                 f"{moment.strftime('%Y-%m-%d %H:%M:%S')} UTC (chain time) · refresh {self.refresh:g}s")
        return Panel(Group(line, totals), title=title, title_align="left")

    def run(self, *, once: bool = False, duration: float | None = None) -> int:
        """Draw frames until Ctrl-C, or for ``duration`` seconds, or one frame with ``once`` (printed plainly,
        no live region). Returns the number of frames drawn."""
        if once:
            self.console.print(self.render())
            self.frames += 1
            return self.frames
        from rich.live import Live

        deadline = None if duration is None else time.monotonic() + duration
        try:
            with Live(self.render(), console=self.console, refresh_per_second=4, transient=False) as live:
                self.frames += 1
                while deadline is None or time.monotonic() < deadline:
                    pause = self.refresh if deadline is None else max(0.0, min(self.refresh,
                                                                             deadline - time.monotonic()))
                    time.sleep(pause)
                    if deadline is not None and time.monotonic() >= deadline:
                        break
                    live.update(self.render())
                    self.frames += 1
        except KeyboardInterrupt:
            pass
        return self.frames

