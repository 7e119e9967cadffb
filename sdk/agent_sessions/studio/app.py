"""The studio's web app (Starlette + Jinja2 templates + htmx): pages, fragments, the live stream and actions.

    app = create_app(Studio(view, allow_actions=True, dev_keys=[key]))
    uvicorn.run(app, host="127.0.0.1", port=8700)

Read-only unless ``allow_actions``. State-changing requests are POSTs that carry the page's CSRF token in
``X-CSRF-Token`` and come from the studio's own origin; the Host header must name the loopback address the
server is bound to (no DNS rebinding). Keys stay in this process: a browser either signs with its own wallet
(EIP-1193, the server only prepares the unsigned transaction) or, in dev mode, asks the server to sign with a
local key, which the pages say loudly. The wizard's grants follow the same rule: the server builds the EIP-712
Grant, the owner's wallet signs it, and the server checks and submits the signature (dev mode) or hands the
signed grant back as JSON.
"""

from __future__ import annotations

import asyncio
import hmac
import json
import math
import secrets
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

from jinja2 import Environment, FileSystemLoader, select_autoescape
from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.middleware.trustedhost import TrustedHostMiddleware
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, RedirectResponse, Response, StreamingResponse
from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles

from ..base.errors import RPCError, SessionError, typed_error
from ..base.models import NATIVE, ZERO_ADDRESS, SessionState, Status, checksum
from ..domain.tokens import short_address
from ..fleet.console import relative_time
from . import actions as act
from .fleet import HEALTH, QUIET_EVENTS, FleetView, ManagerView, SessionQuery
from ..wallet.grants import SignedGrant, deposit_of, grant_typed_data, sign_grant, submit_grant
from .wizard import WizardError, build_params, build_session_params

__all__ = ["PAGE_SIZE", "Studio", "create_app"]

HERE = Path(__file__).resolve().parent
PAGE_SIZE = 50
MAX_CHILDREN = 200
#: A filtered tree opens every branch that leads to a match when at most this many sessions are shown.
AUTO_OPEN = 300
STATUSES = [str(s) for s in Status if s is not Status.NONE] + ["closed"]


def _left_ratio(item: tuple[ManagerView, SessionState]) -> float:
    """The smallest share of a budget left (1.0 without a budget)."""
    ratios = [b.available / (b.available + b.spent) for b in item[1].budgets.values() if b.available + b.spent]
    return min(ratios, default=1.0)


#: Orders of the fleet table (the default is manager by manager, ids ascending).
SORTS: dict[str, tuple[str, Any]] = {
    "expiry": ("expiring first", lambda item: item[1].expiry_timestamp),
    "left": ("least budget left first", _left_ratio),
    "active": ("most recently active first", lambda item: -(item[1].last_active.timestamp()
                                                             if item[1].last_active else 0)),
}


@dataclass
class Studio:
    """What the app serves: the fleet view, whether actions are allowed, the dev keys (dev mode)."""

    view: FleetView
    allow_actions: bool = False
    dev_keys: list[Any] = field(default_factory=list)
    csrf_token: str = field(default_factory=lambda: secrets.token_urlsafe(32))
    title: str = "Session Studio"

    @property
    def dev_mode(self) -> bool:
        return self.allow_actions and bool(self.dev_keys)

    def dev_addresses(self) -> list[str]:
        return [k.address for k in self.dev_keys]

    def signer_for(self, mv: ManagerView, call: act.Call) -> Any:
        """The dev key that may send ``call``: the owner for manager actions, a controller (or, to fund a child,
        the parent's agent) for session ones; else the first key (the preflight then says why it fails)."""
        keys = self.dev_keys
        if not keys:
            return None
        if call.session is None:
            owner = mv.owner or mv.manager.owner()
            return next((k for k in keys if k.address == owner), keys[0])
        state = mv.states.get(call.session)
        if call.action == "fund" and state is not None and state.parent_id:
            parent = mv.states.get(state.parent_id)
            for k in keys:
                if parent is not None and parent.agent == k.address:
                    return k
            for k in keys:
                if mv.manager.is_controller(state.parent_id, k.address):
                    return k
            return keys[0]
        for k in keys:
            try:
                if mv.manager.is_controller(call.session, k.address):
                    return k
            except SessionError:
                break
        return keys[0]


# ================================================================================================================
# presenting
# ================================================================================================================


def _span(seconds: float) -> str:
    seconds = int(abs(seconds))
    days, rest = divmod(seconds, 86_400)
    hours, rest = divmod(rest, 3_600)
    minutes, secs = divmod(rest, 60)
    if days:
        return f"{days}d {hours}h"
    if hours:
        return f"{hours}h {minutes}m"
    if minutes:
        return f"{minutes}m {secs}s"
    return f"{secs}s"


def _ratio(part: int, whole: int) -> float:
    return 0.0 if whole <= 0 else max(0.0, min(1.0, part / whole))


def session_row(studio: Studio, mv: ManagerView, s: SessionState) -> dict[str, Any]:
    """Everything a fleet row or tree node shows about one session."""
    view = studio.view
    now = view.now(mv.chain)
    tokens = []
    for token, b in s.budgets.items():
        if token == NATIVE and not (b.available or b.spent or b.per_call_cap):
            continue
        info = mv.book.get(token)
        total = b.available + b.spent
        tokens.append({
            "symbol": info.symbol,
            "left": info.format(b.available),
            "spent": info.format(b.spent),
            "left_ratio": round(_ratio(b.available, total), 3),
            "period_ratio": round(_ratio(b.spent_in_period, b.period_allowance), 3) if b.period_allowance else None,
            "period_text": (f"{info.format(b.spent_in_period)} of {info.format(b.period_allowance)}"
                            if b.period_allowance else ""),
        })
    blocker = mv.blocking_ancestor(s.id)
    expiry = s.expiry_timestamp
    last = int(s.last_active.timestamp()) if s.last_active else None
    idle_limit = int(s.max_idle.total_seconds()) if s.max_idle else 0
    return {
        "key": mv.key,
        "chain": mv.chain,
        "manager": mv.name,
        "id": s.id,
        "label": s.label,
        "status": "closed" if s.closed else str(s.status),
        "effective": str(s.status),
        "closed": s.closed,
        "agent": s.agent,
        "agent_short": short_address(s.agent),
        "holder": s.holder,
        "holder_short": short_address(s.holder),
        "depth": s.depth,
        "parent": s.parent_id,
        "children": len(mv.children.get(s.id, ())),
        "tokens": tokens,
        "calls": (f"{s.calls_in_period}/{s.max_calls_per_period}" if s.max_calls_per_period else ""),
        "calls_ratio": round(_ratio(s.calls_in_period, s.max_calls_per_period), 3) if s.max_calls_per_period else None,
        "expiry": expiry,
        "expiry_text": relative_time(s.expiry, now),
        "expired": expiry <= now,
        "last_active": last,
        "idle_text": (_span(now - last) if last else "never active"),
        "idle_limit": idle_limit,
        "idle_limit_text": _span(idle_limit) if idle_limit else "",
        "blocker": (f"{'closed' if blocker.closed else blocker.status} ancestor #{blocker.id}"
                    if blocker is not None else ""),
        "blocker_id": blocker.id if blocker is not None else None,
    }


def _query(request: Request) -> SessionQuery:
    q = request.query_params
    return SessionQuery(label=q.get("label", "").strip(), status=q.get("status", "").strip(),
                        agent=q.get("agent", "").strip(), holder=q.get("holder", "").strip(),
                        chain=q.get("chain", "").strip(), manager=q.get("manager", "").strip(),
                        include_closed=q.get("closed") in ("1", "on", "true"),
                        health=q.get("health", "").strip() if q.get("health", "").strip() in HEALTH else "")


def _nodes(request: Request, name: str) -> set[str]:
    """Tree nodes (``<chain>:<manager>:<id>``) listed in a query parameter, comma-separated."""
    return {p for p in request.query_params.get(name, "").split(",") if p}


def _page(request: Request) -> int:
    try:
        return max(1, int(request.query_params.get("page", "1")))
    except ValueError:
        return 1


class Pages:
    """Route handlers over one ``Studio``."""

    def __init__(self, studio: Studio) -> None:
        self.studio = studio
        self.env = Environment(loader=FileSystemLoader(HERE / "templates"), autoescape=select_autoescape(["html"]),
                               trim_blocks=True, lstrip_blocks=True)
        self.env.filters["short"] = short_address
        self.env.filters["ts"] = lambda t: datetime.fromtimestamp(int(t), tz=timezone.utc).strftime(
            "%Y-%m-%d %H:%M:%S UTC") if t else "—"
        self.env.filters["tojson_attr"] = lambda v: json.dumps(v)

    # --- rendering ----------------------------------------------------------------------------------------------

    def render(self, request: Request, template: str, status_code: int = 200, **context: Any) -> HTMLResponse:
        studio = self.studio
        view = studio.view
        chains = [{"name": c.name, "chain_id": c.chain_id, "block": c.block, "timestamp": c.timestamp}
                  for c in view.chains.values()]
        base = {
            "request": request,
            "studio": studio,
            "title": studio.title,
            "csrf": studio.csrf_token,
            "chains": chains,
            "chains_json": json.dumps({c["name"]: c for c in chains}).replace("</", "<\\/"),
            "allow_actions": studio.allow_actions,
            "dev_mode": studio.dev_mode,
            "dev_addresses": studio.dev_addresses(),
            "version": view.version,
        }
        base.update(context)
        html = self.env.get_template(template).render(**base)
        return HTMLResponse(html, status_code=status_code, headers={"Cache-Control": "no-store"})

    # --- fleet --------------------------------------------------------------------------------------------------

    def _summary(self) -> dict[str, Any]:
        view = self.studio.view
        managers = [{"key": mv.key, "name": mv.name, "chain": mv.chain, "address": mv.address,
                     "count": len(mv.states), "paused_all": mv.paused_all, "owner": mv.owner}
                    for mv in view.managers.values()]
        return {"managers": managers, "counts": view.counts(), "total": view.total()}

    def _results_context(self, request: Request) -> dict[str, Any]:
        view = self.studio.view
        query = _query(request)
        mode = "tree" if request.query_params.get("view") == "tree" else "table"
        page = _page(request)
        opened = _nodes(request, "open")
        shut = _nodes(request, "shut")
        if mode == "table":
            matches = view.select(query)
            order = request.query_params.get("sort", "")
            if order in SORTS:
                matches.sort(key=SORTS[order][1])
            pages = max(1, math.ceil(len(matches) / PAGE_SIZE))
            page = min(page, pages)
            rows = [session_row(self.studio, mv, s) for mv, s in matches[(page - 1) * PAGE_SIZE: page * PAGE_SIZE]]
            return {"mode": mode, "rows": rows, "matched": len(matches), "page": page, "pages": pages,
                    "query": query, "nav": self._nav(request, page, pages)}
        visible = view.visible_tree(query)
        roots: list[tuple[ManagerView, SessionState]] = []
        with view.lock:
            for mv in view.managers.values():
                shown = visible.get(mv.key, set())
                for sid in mv.children.get(0, ()):
                    if sid in shown:
                        roots.append((mv, mv.states[sid]))
        matched = sum(len(v) for v in visible.values())
        pages = max(1, math.ceil(len(roots) / PAGE_SIZE))
        page = min(page, pages)
        # a filtered tree opens the way to what matched (when that is a screenful or so)
        unfold = not query.empty and matched <= AUTO_OPEN
        nodes = [self._node(mv, s, visible.get(mv.key, set()), opened, unfold, shut)
                 for mv, s in roots[(page - 1) * PAGE_SIZE: page * PAGE_SIZE]]
        return {"mode": mode, "nodes": nodes, "matched": matched, "roots": len(roots), "page": page, "pages": pages,
                "query": query, "nav": self._nav(request, page, pages)}

    def _node(self, mv: ManagerView, s: SessionState, visible: set[int], opened: set[str],
              unfold: bool = False, shut: frozenset[str] | set[str] = frozenset()) -> dict[str, Any]:
        """A tree node: open when opened by hand, or unfolded by a filter and not closed by hand."""
        row = session_row(self.studio, mv, s)
        kids = [k for k in mv.children.get(s.id, ()) if k in visible]
        row["kids"] = len(kids)
        node_id = f"{mv.key}:{s.id}"
        row["node"] = node_id
        row["open"] = (node_id in opened or (unfold and node_id not in shut)) and bool(kids)
        row["sub"] = ([self._node(mv, mv.states[k], visible, opened, unfold, shut) for k in kids[:MAX_CHILDREN]]
                      if row["open"] else [])
        row["more"] = max(0, len(kids) - MAX_CHILDREN) if row["open"] else 0
        return row

    def _nav(self, request: Request, page: int, pages: int) -> dict[str, str | None]:
        params = dict(request.query_params)
        params.pop("open", None)
        params.pop("shut", None)

        def link(n: int) -> str:
            return "/fleet?" + urlencode({**params, "page": str(n)})

        return {"prev": link(page - 1) if page > 1 else None, "next": link(page + 1) if page < pages else None,
                "first": link(1) if page > 1 else None, "last": link(pages) if page < pages else None}

    async def fleet(self, request: Request) -> HTMLResponse:
        context = await asyncio.to_thread(self._results_context, request)
        context.update(self._summary())
        if request.headers.get("HX-Request") and request.headers.get("HX-Target") == "results":
            return self.render(request, "_results.html", oob=True, **context)
        return self.render(request, "fleet.html", statuses=STATUSES, chain_names=list(self.studio.view.chains),
                           health=HEALTH, sorts={k: v[0] for k, v in SORTS.items()},
                           sort=request.query_params.get("sort", ""), **context)

    async def children(self, request: Request) -> HTMLResponse:
        view = self.studio.view
        key = request.query_params.get("m", "")
        try:
            sid = int(request.query_params.get("id", "0"))
            mv = view.manager(key)
        except (KeyError, ValueError):
            return HTMLResponse("unknown session", status_code=404)
        query = _query(request)
        visible = view.visible_tree(query).get(mv.key, set())
        opened = _nodes(request, "open") | {f"{mv.key}:{sid}"}
        shut = _nodes(request, "shut") - {f"{mv.key}:{sid}"}
        unfold = not query.empty and len(visible) <= AUTO_OPEN
        with view.lock:
            state = mv.states.get(sid)
            if state is None:
                return HTMLResponse("unknown session", status_code=404)
            node = self._node(mv, state, visible | {sid}, opened, unfold, shut)
        return self.render(request, "_children.html", node=node)

    # --- session ------------------------------------------------------------------------------------------------

    def _session_context(self, key: str, sid: int) -> dict[str, Any]:
        view = self.studio.view
        mv, state = view.find(key, sid)
        now = view.now(mv.chain)
        row = session_row(self.studio, mv, state)
        events = view.session_events(mv, sid)
        budgets = []
        for token, b in state.budgets.items():
            info = mv.book.get(token)
            budgets.append({
                "token": token, "symbol": info.symbol, "native": token == NATIVE,
                "left": info.format(b.available), "spent": info.format(b.spent),
                "left_ratio": _ratio(b.available, b.available + b.spent),
                "per_call": info.format(b.per_call_cap) if b.per_call_cap else "—",
                "per_period": info.format(b.period_allowance) if b.period_allowance else "—",
                "in_period": info.format(b.spent_in_period) if b.period_allowance else "—",
                "period_ratio": _ratio(b.spent_in_period, b.period_allowance) if b.period_allowance else None,
                "left_raw": str(b.available),
            })
        # the period windows run from activation (creation for a session opened active)
        started = next((e.timestamp for e in events if e.name == "SessionActivated"), None)
        created = next((e for e in events if e.name == "SessionCreated"), None)
        if started is None and created is not None and int(created.args.get("status", 0)) != int(Status.DRAFT):
            started = created.timestamp
        window = None
        if state.period and started:
            length = int(state.period.total_seconds())
            index = max(0, (now - started) // length)
            window = {"length": _span(length), "index": index, "start": started + index * length,
                      "end": started + (index + 1) * length}
        allow: dict[tuple[str, str], bool] = {}
        for e in events:
            if e.name == "PermissionSet":
                selector = e.args["selector"]
                selector = "0x" + bytes(selector).hex() if isinstance(selector, (bytes, bytearray)) else str(selector)
                allow[(checksum(e.args["target"]), selector)] = bool(e.args["allowed"])
        allowlist = [{"target": t, "selector": sel, "any": sel == "0xffffffff"} for (t, sel), ok in allow.items() if ok]
        try:
            guards = mv.manager.guards_of(sid)
        except SessionError:
            guards = []
        with view.lock:
            kids = [session_row(self.studio, mv, mv.states[k]) for k in mv.children.get(sid, ())][:MAX_CHILDREN]
            ancestors = [session_row(self.studio, mv, a) for a in reversed(mv.ancestors(sid))]
        checkpoints = [{"block": e.block, "when": e.timestamp, "root": "0x" + bytes(e.args["root"]).hex()
                        if isinstance(e.args["root"], (bytes, bytearray)) else str(e.args["root"]),
                        "tasks": int(e.args["taskCount"])} for e in events if e.name == "Checkpointed"]
        spends = [{"when": p.timestamp, "block": p.block, "amount": mv.book.format(p.token, p.amount),
                   "kind": p.kind, "tx": p.tx_hash} for p in view.spends(events)]
        history = [self._event_row(mv, e) for e in reversed(events) if e.name not in QUIET_EVENTS][:200]
        related = " ".join(f"{mv.key}:{i}" for i in [sid, *(a["id"] for a in ancestors), *(k["id"] for k in kids)])
        return {"row": row, "state": state, "mv": mv, "budgets": budgets, "related": related, "window": window, "allowlist": allowlist,
                "guards": guards, "kids": kids, "ancestors": ancestors, "checkpoints": checkpoints,
                "spends": spends, "history": history, "now": now,
                "actions": [a for a in act.ACTIONS.values() if a.scope == "session"],
                "holder_burned": int(state.holder, 16) == 0, "zero": ZERO_ADDRESS}

    def _event_row(self, mv: ManagerView, e: Any) -> dict[str, Any]:
        return {"name": e.name, "block": e.block, "when": e.timestamp, "session": e.session, "chain": e.chain,
                "key": e.manager_key, "manager": mv.name, "tx": e.tx_hash, "text": describe_event(mv, e)}

    async def session(self, request: Request) -> Response:
        key = request.path_params["key"]
        try:
            sid = int(request.path_params["sid"])
            context = await asyncio.to_thread(self._session_context, key, sid)
        except (KeyError, ValueError) as exc:
            return self.render(request, "missing.html", status_code=404, message=str(exc).strip("'\""))
        if request.headers.get("HX-Request") and request.headers.get("HX-Target") == "session-live":
            return self.render(request, "_session_live.html", **context)
        return self.render(request, "session.html", **context)

    async def history(self, request: Request) -> JSONResponse:
        """The session's own spends over time, cumulative per token (for the chart)."""
        key = request.path_params["key"]
        try:
            sid = int(request.path_params["sid"])
            mv, state = self.studio.view.find(key, sid)
        except (KeyError, ValueError):
            return JSONResponse({"error": "unknown session"}, status_code=404)
        events = await asyncio.to_thread(self.studio.view.session_events, mv, sid)
        points = self.studio.view.spends(events)
        start = next((e.timestamp for e in events if e.name == "SessionCreated"), None)
        tokens = list(dict.fromkeys([p.token for p in points]))
        # one point per spend (a block may hold several at the same second), after the creation at zero
        times = ([start] if start else []) + [p.timestamp for p in points]
        series = []
        for token in tokens:
            info = mv.book.get(token)
            total, values = 0, [0.0] if start else []
            for p in points:
                if p.token == token:
                    total += p.amount
                values.append(total / 10**info.decimals)
            series.append({"token": token, "symbol": info.symbol, "values": values, "total": info.format(total)})
        return JSONResponse({"times": times, "series": series, "spent": {
            mv.book.symbol(t): mv.book.format(t, b.spent) for t, b in state.budgets.items()}})

    async def check_spend(self, request: Request) -> HTMLResponse:
        """``Manager.check``: would the agent's ``execute(target, value)`` pass now, and if not, why."""
        q = request.query_params
        try:
            mv, state = self.studio.view.find(q.get("m", ""), int(q.get("id", "0")))
        except (KeyError, ValueError):
            return HTMLResponse("unknown session", status_code=404)
        try:
            target = checksum(q.get("target", "").strip(), "target")
            value = mv.book.get(NATIVE).parse(q.get("value", "0").strip() or "0")
        except ValueError as exc:
            return self.render(request, "_check.html", ok=False, error=str(exc), explanation=None, error_name="input")
        result = await asyncio.to_thread(mv.manager.check, state.id, target, value)
        if result.ok:
            return self.render(request, "_check.html", ok=True, value=mv.book.format(NATIVE, value), target=target)
        line, sentence, name = act.describe_error(result.error, mv.book)  # type: ignore[arg-type]
        return self.render(request, "_check.html", ok=False, error=line, explanation=sentence, error_name=name)

    # --- activity -----------------------------------------------------------------------------------------------

    def _feed(self, request: Request) -> list[dict[str, Any]]:
        view = self.studio.view
        kind = request.query_params.get("kind", "")
        chain = request.query_params.get("chain", "")
        with view.lock:
            events = list(view.activity)
        out = []
        for e in events:
            if kind and e.name != kind:
                continue
            if chain and e.chain != chain:
                continue
            out.append(self._event_row(view.managers[e.manager_key], e))
            if len(out) >= 200:
                break
        return out

    async def activity(self, request: Request) -> HTMLResponse:
        feed = self._feed(request)
        if request.headers.get("HX-Request") and request.headers.get("HX-Target") == "feed":
            return self.render(request, "_feed.html", feed=feed)
        kinds = sorted({"SessionCreated", "Executed", "SessionPaused", "SessionResumed", "SessionRevoked",
                        "SessionClosed", "SessionCompleted", "SessionFunded", "AgentRotated", "TokenTransferred",
                        "Swapped", "Checkpointed", "AllPaused", "AllUnpaused", "AllRevoked", "EscrowReturned"})
        return self.render(request, "activity.html", feed=feed, kinds=kinds, kind=request.query_params.get("kind", ""),
                           chain=request.query_params.get("chain", ""), chain_names=list(self.studio.view.chains))

    # --- wizard -------------------------------------------------------------------------------------------------

    async def wizard(self, request: Request) -> HTMLResponse:
        managers = [{"key": mv.key, "name": mv.name, "chain": mv.chain} for mv in self.studio.view.managers.values()]
        return self.render(request, "wizard.html", managers=managers)

    async def wizard_params(self, request: Request) -> JSONResponse:
        denied = self._guard(request, needs_actions=False)
        if denied is not None:
            return denied
        form = await request.json()
        book, known = None, set()
        key = form.get("manager")
        if key and key in self.studio.view.managers:
            mv = self.studio.view.managers[key]
            book = mv.book
            with self.studio.view.lock:
                known = {t for st in mv.states.values() for t in st.budgets}
        try:
            params = await asyncio.to_thread(build_params, form, book, known)
        except WizardError as exc:
            return JSONResponse({"ok": False, "problems": exc.problems}, status_code=422)
        return JSONResponse({"ok": True, "params": params})

    # --- grants: the wizard's params signed by the manager's owner (EIP-712), submitted by the studio ------------

    async def _grant_params(self, request: Request) -> tuple[ManagerView, Any, dict[str, Any]] | JSONResponse:
        """The manager and ``SessionParams`` a grant request's wizard form names."""
        try:
            form = await request.json()
        except ValueError:
            return JSONResponse({"ok": False, "error": "the body is not JSON"}, status_code=400)
        mv = self.studio.view.managers.get(str(form.get("manager") or ""))
        if mv is None:
            return JSONResponse({"ok": False, "error": "choose the manager the grant is for"}, status_code=404)
        with self.studio.view.lock:
            known = {t for st in mv.states.values() for t in st.budgets}
        try:
            params, _ = await asyncio.to_thread(build_session_params, form, mv.book, known)
        except WizardError as exc:
            return JSONResponse({"ok": False, "problems": exc.problems}, status_code=422)
        return mv, params, form

    @staticmethod
    def _is_contract(mv: ManagerView, account: str) -> bool:
        return bool(mv.manager.client.rpc.code(account))

    def _prepare_grant(self, mv: ManagerView, params: Any, wallet: str) -> JSONResponse:
        owner = mv.manager.owner()
        contract_owner = self._is_contract(mv, owner)
        try:
            wallet = checksum(wallet, "wallet account")
        except ValueError as exc:
            return JSONResponse({"ok": False, "error": str(exc)}, status_code=422)
        if wallet != owner and not contract_owner:
            return JSONResponse({"ok": False, "error_name": "not the owner", "error": (
                f"The connected account {wallet} is not the owner of manager {mv.address}."), "explanation": (
                f"Only the owner, {owner}, can sign a grant (its deposit pays the ETH budgets): connect that "
                "account in your wallet. Nothing was signed or sent.")}, status_code=403)
        typed = grant_typed_data(mv.manager, params, owner)
        needed = sum(b.amount for b in params.budgets if b.token == NATIVE)
        return JSONResponse({"ok": True, "typedData": typed, "owner": owner, "ownerIsContract": contract_owner,
                             "chainId": hex(mv.manager.client.chain_id),
                             "deposit": mv.book.format(NATIVE, deposit_of(mv.manager, owner)),
                             "needed": mv.book.format(NATIVE, needed)})

    async def grant_typed_data(self, request: Request) -> JSONResponse:
        """The unsigned Grant for a browser wallet's ``eth_signTypedData_v4`` (``from``: the connected account,
        which must be the manager's owner unless the owner is a contract)."""
        denied = self._guard(request, needs_actions=False)
        if denied is not None:
            return denied
        built = await self._grant_params(request)
        if isinstance(built, JSONResponse):
            return built
        mv, params, form = built
        return await asyncio.to_thread(self._prepare_grant, mv, params, str(form.get("from") or ""))

    def _submit_grant(self, mv: ManagerView, signed: SignedGrant) -> JSONResponse:
        """Check that the manager's owner signed ``signed``; send it with a dev key (dev mode) or give it back."""
        owner = mv.manager.owner()
        if signed.owner != owner:
            return JSONResponse({"ok": False, "error_name": "not the owner", "error": (
                f"The grant names {signed.owner} as its owner; the owner of manager {mv.address} is {owner}."),
                "explanation": "Nothing was sent."}, status_code=403)
        recovered = signed.recovered
        if recovered != owner and not self._is_contract(mv, owner):
            return JSONResponse({"ok": False, "error_name": "not the owner", "error": (
                f"The signature is by {recovered or 'no key'}, not by the manager's owner {owner}."),
                "explanation": "Only the owner can sign a grant. Nothing was sent."}, status_code=403)
        if not self.studio.dev_mode:
            out: dict[str, Any] = {"ok": True, "submitted": False, "signed": signed.to_dict(),
                                   "filename": f"grant-{signed.nonce & 0xFFFFFFFF:08x}.json"}
            try:  # what the contract would say now, for whoever submits it
                mv.manager.client.rpc.call(mv.address, signed.calldata(mv.manager), sender=owner)
            except RPCError as exc:
                line, sentence, name = act.describe_error(typed_error(exc), mv.book)
                out.update({"warning": line, "explanation": sentence, "error_name": name})
            return JSONResponse(out)
        sender = next((k for k in self.studio.dev_keys if k.address == owner), self.studio.dev_keys[0])
        try:
            sessions = submit_grant(signed, sender, client=mv.manager)
        except SessionError as exc:
            line, sentence, name = act.describe_error(exc, mv.book)
            return JSONResponse({"ok": False, "error": line, "explanation": sentence, "error_name": name,
                                 "signed": signed.to_dict()})
        self.studio.view.poll()
        return JSONResponse({"ok": True, "submitted": True, "sender": sender.address,
                             "sessions": [{"id": x.id, "url": f"/session/{mv.key}/{x.id}"} for x in sessions]})

    async def grant_submit(self, request: Request) -> JSONResponse:
        """``{typedData, signature}`` from the owner's wallet: checked, then submitted or handed back as JSON."""
        denied = self._guard(request, needs_actions=False)
        if denied is not None:
            return denied
        try:
            body = await request.json()
            signed = SignedGrant.from_dict({"typedData": body.get("typedData"), "signature": body.get("signature")})
        except (ValueError, AttributeError) as exc:
            return JSONResponse({"ok": False, "error": f"not a signed grant: {exc}"}, status_code=422)
        mv = next((m for m in self.studio.view.managers.values()
                   if m.address == signed.manager_address and m.manager.client.chain_id == signed.chain_id), None)
        if mv is None:
            return JSONResponse({"ok": False, "error": (f"manager {signed.manager_address} on chain "
                                                        f"{signed.chain_id} is not one this studio watches")},
                                status_code=404)
        return await asyncio.to_thread(self._submit_grant, mv, signed)  # type: ignore[arg-type]

    async def grant_dev(self, request: Request) -> JSONResponse:
        """Dev mode, no browser wallet: the dev key that is the manager's owner signs the grant, and it is sent."""
        denied = self._guard(request)
        if denied is not None:
            return denied
        if not self.studio.dev_mode:
            return JSONResponse({"ok": False, "error": "no dev key on this studio: sign with your wallet"},
                                status_code=403)
        built = await self._grant_params(request)
        if isinstance(built, JSONResponse):
            return built
        mv, params, _ = built

        def run() -> JSONResponse:
            owner = mv.manager.owner()
            key = next((k for k in self.studio.dev_keys if k.address == owner), None)
            if key is None:
                return JSONResponse({"ok": False, "error_name": "not the owner", "error": (
                    f"No dev key is the owner of manager {mv.address} ({owner})."), "explanation": (
                    "Connect the owner's wallet to sign the grant. Nothing was signed or sent.")}, status_code=403)
            return self._submit_grant(mv, sign_grant(mv.manager, params, key))  # type: ignore[arg-type]

        return await asyncio.to_thread(run)

    # --- actions ------------------------------------------------------------------------------------------------

    def _guard(self, request: Request, *, needs_actions: bool = True) -> JSONResponse | None:
        """CSRF token, same origin, and actions switched on."""
        token = request.headers.get("x-csrf-token", "")
        if not hmac.compare_digest(token.encode(), self.studio.csrf_token.encode()):
            return JSONResponse({"ok": False, "error": "missing or wrong CSRF token"}, status_code=403)
        origin = request.headers.get("origin")
        if origin and origin.rstrip("/") != f"{request.url.scheme}://{request.headers.get('host', '')}":
            return JSONResponse({"ok": False, "error": f"cross-origin request from {origin} refused"},
                                status_code=403)
        if needs_actions and not self.studio.allow_actions:
            return JSONResponse({"ok": False, "error": "actions are off: start the studio with --allow-actions"},
                                status_code=403)
        return None

    async def _call(self, request: Request) -> tuple[ManagerView, act.Call, dict[str, Any]] | JSONResponse:
        denied = self._guard(request)
        if denied is not None:
            return denied
        try:
            body = await request.json()
        except ValueError:
            return JSONResponse({"ok": False, "error": "the body is not JSON"}, status_code=400)
        try:
            mv = self.studio.view.manager(str(body.get("manager", "")))
            call = await asyncio.to_thread(act.build_call, mv, str(body.get("action", "")), body)
        except KeyError as exc:
            return JSONResponse({"ok": False, "error": str(exc).strip("'\"")}, status_code=404)
        except (act.ActionError, SessionError, ValueError) as exc:
            line, sentence, name = act.describe_error(exc)
            return JSONResponse({"ok": False, "error": line, "explanation": sentence, "error_name": name},
                                status_code=422)
        return mv, call, body

    async def preflight(self, request: Request) -> JSONResponse:
        built = await self._call(request)
        if isinstance(built, JSONResponse):
            return built
        mv, call, body = built
        signer = body.get("from")
        if not signer:
            key = await asyncio.to_thread(self.studio.signer_for, mv, call)
            if key is None:
                return JSONResponse({"ok": False, "error": "no signer: connect a wallet, or start the studio with "
                                                           "--dev-key for dev mode"}, status_code=422)
            signer = key.address
        try:
            answer = await asyncio.to_thread(act.preflight, mv, call, signer)
        except ValueError as exc:
            return JSONResponse({"ok": False, "error": str(exc)}, status_code=422)
        out = answer.to_json()
        out["summary"] = call.summary
        out["mode"] = "wallet" if body.get("from") else "dev"
        return JSONResponse(out)

    async def send(self, request: Request) -> JSONResponse:
        built = await self._call(request)
        if isinstance(built, JSONResponse):
            return built
        mv, call, _ = built
        if not self.studio.dev_mode:
            return JSONResponse({"ok": False, "error": "no dev key on this studio: sign with your wallet"},
                                status_code=403)
        key = await asyncio.to_thread(self.studio.signer_for, mv, call)
        result = await asyncio.to_thread(act.send, mv, call, key)
        result["signer"] = key.address
        if result.get("ok"):
            await asyncio.to_thread(self.studio.view.poll)
        return JSONResponse(result)

    async def prepare(self, request: Request) -> JSONResponse:
        """The unsigned transaction for a browser wallet (EIP-1193 ``eth_sendTransaction``)."""
        built = await self._call(request)
        if isinstance(built, JSONResponse):
            return built
        mv, call, _ = built
        return JSONResponse({"ok": True, "tx": {"to": mv.address, "data": "0x" + call.data.hex(),
                                                "value": hex(call.value)},
                             "chainId": hex(mv.manager.client.chain_id), "summary": call.summary})

    # --- live ---------------------------------------------------------------------------------------------------

    def _heads(self) -> dict[str, Any]:
        return {c.name: {"name": c.name, "chain_id": c.chain_id, "block": c.block, "timestamp": c.timestamp}
                for c in self.studio.view.chains.values()}

    async def stream(self, request: Request) -> StreamingResponse:
        """Server-sent events: ``block`` for every new head (chain, number, time), ``changed`` when what the pages
        show changed (they refresh their live parts)."""
        view = self.studio.view

        try:  # the version the page was rendered at: a change in between is sent at once
            version = int(request.query_params.get("v", ""))
        except ValueError:
            version = view.version

        def changed() -> str:
            nonlocal version
            touched = view.touched_since(version)
            version = view.version
            data = {"version": version, "sessions": None if touched is None else sorted(touched)}
            return f"event: changed\ndata: {json.dumps(data)}\n\n"

        async def events() -> Any:
            heads = self._heads()
            failing = view.failing
            yield f"retry: 500\nevent: block\ndata: {json.dumps(heads)}\n\n"
            yield f"event: health\ndata: {json.dumps({'error': failing})}\n\n"
            if view.version != version:
                yield changed()
            quiet = 0
            while not getattr(request.app.state, "stopping", False):
                if await request.is_disconnected():
                    return
                await asyncio.sleep(0.1)
                if view.failing != failing:
                    failing = view.failing
                    yield f"event: health\ndata: {json.dumps({'error': failing})}\n\n"
                now_heads = self._heads()
                if now_heads != heads:
                    heads = now_heads
                    yield f"event: block\ndata: {json.dumps(heads)}\n\n"
                if view.version != version:
                    yield changed()
                quiet += 1
                if quiet >= 150:
                    quiet = 0
                    yield ": keep-alive\n\n"

        return StreamingResponse(events(), media_type="text/event-stream",
                                 headers={"Cache-Control": "no-store", "X-Accel-Buffering": "no"})

    async def health(self, request: Request) -> JSONResponse:
        view = self.studio.view
        return JSONResponse({"sessions": view.total(), "managers": len(view.managers), "version": view.version,
                             "chains": self._heads(), "errors": list(view.errors)})


def describe_event(mv: ManagerView, e: Any) -> str:
    """One line for an event, amounts in token units."""
    a = e.args
    book = mv.book

    def amount(token: Any, value: Any) -> str:
        try:
            return book.format(checksum(token), int(value))
        except (ValueError, SessionError):
            return str(value)

    name = e.name
    if name == "SessionCreated":
        parent = int(a.get("parentId", 0))
        label = a.get("label")
        text = bytes(label).rstrip(b"\x00").decode(errors="replace") if isinstance(label, (bytes, bytearray)) else ""
        return (f"created{' as child of #' + str(parent) if parent else ' (root)'}"
                f"{' “' + text + '”' if text else ''}, agent {short_address(a['agent'])}")
    if name == "Executed":
        return f"called {short_address(a['target'])} with {amount(NATIVE, a['value'])}"
    if name == "TokenTransferred":
        return f"paid {amount(a['token'], a['amount'])} to {short_address(a['to'])}"
    if name == "Swapped":
        return (f"swapped {amount(a['tokenIn'], a['amountIn'])} for {amount(a['tokenOut'], a['amountOut'])} "
                f"through {short_address(a['target'])}")
    if name == "SessionFunded":
        return f"funded with {amount(a['token'], a['amount'])}"
    if name == "AgentRotated":
        return f"agent {short_address(a['previousAgent'])} → {short_address(a['newAgent'])}"
    if name == "EscrowReturned":
        where = f"session #{a['toSession']}" if int(a.get("toSession", 0)) else short_address(a["to"])
        return f"returned {amount(a['token'], a['amount'])} to {where}"
    if name == "Checkpointed":
        return f"checkpoint, {a['taskCount']} tasks"
    if name in ("SessionPaused", "SessionResumed", "SessionRevoked", "SessionCompleted", "SessionActivated"):
        return f"{name.removeprefix('Session').lower()} by {short_address(a['by'])}"
    if name == "SessionClosed":
        return f"closed by {short_address(a['by'])} ({Status(int(a['status']))})"
    if name in ("AllPaused", "AllUnpaused", "AllRevoked"):
        return {"AllPaused": "every session paused", "AllUnpaused": "pause-all lifted",
                "AllRevoked": "every session revoked"}[name] + f" by {short_address(a['by'])}"
    if name == "ExpiryUpdated":
        return f"expiry moved to {datetime.fromtimestamp(int(a['expiry']), tz=timezone.utc):%Y-%m-%d %H:%M} UTC"
    if name == "PermissionSet":
        selector = a["selector"]
        selector = "0x" + bytes(selector).hex() if isinstance(selector, (bytes, bytearray)) else str(selector)
        what = "every selector" if selector == "0xffffffff" else f"selector {selector}"
        return f"{'allowed' if a['allowed'] else 'removed'} {short_address(a['target'])}, {what}"
    if name == "AnyTargetSet":
        return "any target allowed" if a["allowed"] else "allowlist only"
    if name == "GuardAdded":
        return f"guard {short_address(a['guard'])} added"
    if name == "TimingUpdated":
        return f"timing: max idle {a['maxIdle']} s, period {a['period']} s, {a['maxCallsPerPeriod']} calls per period"
    if name == "PayoutDeferred":
        return f"payout of {amount(a['token'], a['amount'])} to {short_address(a['payee'])} deferred (claimable)"
    if name == "LimitsUpdated":
        return (f"limits of {book.symbol(a['token'])}: per call {amount(a['token'], a['perCallCap'])}, per period "
                f"{amount(a['token'], a['periodAllowance'])}")
    return ", ".join(f"{k}={v}" for k, v in a.items() if k != "id")


def create_app(studio: Studio, *, allowed_hosts: list[str] | None = None) -> Starlette:
    """The ASGI app. ``allowed_hosts``: Host header values accepted (default: the loopback names)."""
    pages = Pages(studio)
    routes = [
        Route("/", lambda request: RedirectResponse("/fleet")),
        Route("/fleet", pages.fleet),
        Route("/fleet/children", pages.children),
        Route("/session/{key}/{sid}", pages.session),
        Route("/session/{key}/{sid}/history.json", pages.history),
        Route("/check", pages.check_spend),
        Route("/activity", pages.activity),
        Route("/wizard", pages.wizard),
        Route("/api/params", pages.wizard_params, methods=["POST"]),
        Route("/api/grant/typed-data", pages.grant_typed_data, methods=["POST"]),
        Route("/api/grant/submit", pages.grant_submit, methods=["POST"]),
        Route("/api/grant/dev", pages.grant_dev, methods=["POST"]),
        Route("/api/preflight", pages.preflight, methods=["POST"]),
        Route("/api/send", pages.send, methods=["POST"]),
        Route("/api/prepare", pages.prepare, methods=["POST"]),
        Route("/stream", pages.stream),
        Route("/health", pages.health),
        Mount("/static", StaticFiles(directory=HERE / "static"), name="static"),
    ]
    hosts = allowed_hosts or ["127.0.0.1", "localhost"]
    app = Starlette(routes=routes, middleware=[Middleware(TrustedHostMiddleware, allowed_hosts=hosts)])
    app.state.studio = studio
    app.state.stopping = False
    return app
