"""The studio's actions: what each one sends, the contract's answer before sending, and sending it.

Every action is first asked of the chain without a transaction: the manager's views (``statusOf``,
``isController``, ``globalState``, ``owner``) and a dry run of the very calldata from the signer
(``eth_call``), whose revert comes back as the SDK's typed error. Sending goes through the SDK's ``Manager``
methods with a local key (dev mode) or is handed to the browser's wallet as an unsigned transaction (EIP-1193);
the key itself never leaves this process.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Callable

from ..base.errors import ContractRevert, RPCError, SessionError, typed_error
from ..base.models import NATIVE, Status, checksum
from ..base.results import Receipt
from ..domain.tokens import TokenBook
from ..fleet.console import error_explanation, error_line
from .fleet import ManagerView

__all__ = ["ACTIONS", "ActionError", "ActionSpec", "Preflight", "build_call", "describe_error", "preflight", "send"]


class ActionError(SessionError, ValueError):
    """An action request the studio cannot even build (unknown action, missing or malformed argument)."""


@dataclass(frozen=True)
class ActionSpec:
    name: str
    title: str
    #: "session" actions name a session; "manager" actions act on the whole manager.
    scope: str
    #: Who may send it, in words.
    who: str
    #: Argument names the form asks for.
    inputs: tuple[str, ...] = ()
    danger: bool = False


ACTIONS: dict[str, ActionSpec] = {a.name: a for a in (
    ActionSpec("pause", "Pause", "session", "a controller (the token holder or an ancestor's holder)"),
    ActionSpec("resume", "Resume", "session", "a controller"),
    ActionSpec("revoke", "Revoke", "session", "a controller", danger=True),
    ActionSpec("rotate", "Rotate agent", "session", "a controller", inputs=("new_agent",)),
    ActionSpec("fund", "Fund", "session", "a controller (a root) or the parent's agent or a controller (a child)",
               inputs=("token", "amount")),
    ActionSpec("close", "Close", "session", "anyone, once the session has ended"),
    ActionSpec("pause-all", "Pause all", "manager", "the manager's owner", danger=True),
    ActionSpec("unpause-all", "Unpause all", "manager", "the manager's owner"),
)}


@dataclass
class Call:
    """One transaction an action sends: calldata and ETH value to the manager."""

    action: str
    session: int | None
    data: bytes
    value: int
    #: Runs the action through the SDK with a key (dev mode).
    run: Callable[[Any], Receipt]
    summary: str
    #: The token a fund moves.
    token: str | None = None


@dataclass
class Preflight:
    """The chain's answer before sending."""

    action: str
    signer: str
    ok: bool
    facts: list[tuple[str, str]] = field(default_factory=list)
    error: str | None = None
    explanation: str | None = None
    error_name: str | None = None

    def to_json(self) -> dict[str, Any]:
        return {"action": self.action, "signer": self.signer, "ok": self.ok, "facts": self.facts,
                "error": self.error, "explanation": self.explanation, "error_name": self.error_name}


def describe_error(exc: BaseException, book: TokenBook | None = None) -> tuple[str, str | None, str]:
    """``(one line, sentence or None, error name)`` for an error, contract reverts with readable amounts."""
    name = getattr(exc, "error_name", "") or getattr(exc, "name", "") or type(exc).__name__
    return error_line(exc, book), error_explanation(exc, book), name


def _session_id(args: dict[str, Any]) -> int:
    try:
        sid = int(args.get("session"))  # type: ignore[arg-type]
    except (TypeError, ValueError):
        raise ActionError("this action needs a session id") from None
    if sid < 1:
        raise ActionError("session ids start at 1")
    return sid


def _token(mv: ManagerView, text: str) -> str:
    text = (text or "ETH").strip()
    if text.upper() in ("ETH", "NATIVE"):
        return NATIVE
    for token in {t for s in mv.states.values() for t in s.budgets}:
        if mv.book.get(token).symbol.lower() == text.lower():
            return token
    try:
        return checksum(text, "token")
    except ValueError as exc:
        raise ActionError(f"token {text!r}: give ETH, a symbol the manager escrows or an address ({exc})") from None


def build_call(mv: ManagerView, action: str, args: dict[str, Any]) -> Call:
    """The transaction ``action`` sends with ``args`` (session, new_agent, token, amount)."""
    spec = ACTIONS.get(action)
    if spec is None:
        raise ActionError(f"unknown action {action!r} (known: {', '.join(ACTIONS)})")
    m = mv.manager
    if spec.scope == "manager":
        fn = "pauseAll" if action == "pause-all" else "unpauseAll"
        run = (lambda key: m.pause_all(key)) if action == "pause-all" else (lambda key: m.unpause_all(key))
        return Call(action, None, m.encode(fn), 0, run, f"{spec.title} on manager {m.address}")
    sid = _session_id(args)
    if action in ("pause", "resume", "revoke", "close"):
        method = getattr(m, action)
        return Call(action, sid, m.encode(action, sid), 0, lambda key: method(sid, key),
                    f"{spec.title} session #{sid}")
    if action == "rotate":
        try:
            new_agent = checksum(args.get("new_agent") or "", "new_agent")
        except ValueError as exc:
            raise ActionError(str(exc)) from None
        return Call(action, sid, m.encode("rotateAgent", sid, new_agent), 0,
                    lambda key: m.rotate_agent(sid, new_agent, key), f"Rotate the agent of #{sid} to {new_agent}")
    # fund
    token = _token(mv, str(args.get("token") or "ETH"))
    info = mv.book.get(token)
    try:
        amount = info.parse(str(args.get("amount") or "").strip())
    except ValueError as exc:
        raise ActionError(f"amount: {exc}") from None
    if amount == 0:
        raise ActionError("amount: give more than 0")
    state = mv.states.get(sid) or m.state(sid)
    value = amount if token == NATIVE and state.parent_id == 0 else 0
    return Call(action, sid, m.encode("fund", sid, token, amount), value,
                lambda key: m.fund(sid, token, amount, key), f"Fund #{sid} with {info.format(amount)}", token)


def _controller_fact(mv: ManagerView, sid: int, signer: str) -> tuple[str, str]:
    try:
        yes = mv.manager.is_controller(sid, signer)
    except SessionError as exc:
        return ("controller", f"unknown ({exc})")
    return ("signer controls the session", "yes" if yes else "no")


def preflight(mv: ManagerView, call: Call, signer: str) -> Preflight:
    """The manager's views for ``call`` and a dry run of it from ``signer``."""
    m = mv.manager
    signer = checksum(signer, "signer")
    facts: list[tuple[str, str]] = [("signer", signer)]
    glob = m.global_state()
    facts.append(("manager pause-all", "on" if glob.paused_all else "off"))
    if call.session is not None:
        try:
            status = m.status(call.session)
            facts.append((f"status of #{call.session} (statusOf)", str(status)))
        except SessionError as exc:
            status = Status.NONE
            facts.append(("status", str(exc)))
        facts.append(_controller_fact(mv, call.session, signer))
        state = mv.states.get(call.session)
        if state is not None and state.parent_id:
            parent = mv.states.get(state.parent_id)
            facts.append(("parent", f"#{state.parent_id} ({parent.status if parent else '?'})"))
            if call.action == "fund" and parent is not None:
                facts.append(("signer is the parent's agent", "yes" if parent.agent == signer else "no"))
        if call.action == "fund" and call.token is not None:
            info = mv.book.get(call.token)
            facts.append((f"#{call.session} has (remaining)", info.format(m.remaining(call.session, call.token))))
            if state is not None and state.parent_id:
                facts.append((f"parent #{state.parent_id} has (remaining)",
                              info.format(m.remaining(state.parent_id, call.token))))
    else:
        owner = m.owner()
        facts.append(("manager owner", owner))
        facts.append(("signer is the owner", "yes" if owner == signer else "no"))
    try:
        m.client.rpc.call(m.address, call.data, sender=signer, value=call.value)
    except RPCError as exc:
        error: BaseException = typed_error(exc)
        line, sentence, name = describe_error(error, mv.book)
        return Preflight(call.action, signer, False, facts, line, sentence, name)
    return Preflight(call.action, signer, True, facts)


def send(mv: ManagerView, call: Call, key: Any) -> dict[str, Any]:
    """Send ``call`` through the SDK with ``key``; the receipt or the typed error, as JSON types."""
    try:
        receipt = call.run(key)
    except ContractRevert as exc:
        line, sentence, name = describe_error(exc, mv.book)
        return {"ok": False, "error": line, "explanation": sentence, "error_name": name,
                "tx_hash": getattr(exc, "tx_hash", None)}
    except SessionError as exc:
        line, sentence, name = describe_error(exc, mv.book)
        return {"ok": False, "error": line, "explanation": sentence, "error_name": name, "tx_hash": None}
    return {"ok": receipt.ok, "tx_hash": receipt.tx_hash, "block": receipt.block_number, "gas_used": receipt.gas_used,
            "summary": call.summary}
