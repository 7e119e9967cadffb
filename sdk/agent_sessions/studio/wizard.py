"""The create-session wizard: a form's fields (amounts with units, durations as people write them) turned into
``SessionParams`` checked by the SDK's own model, and the params JSON a grant or a script can send.

``build_session_params`` also gives the ``SessionParams`` themselves: the app turns them into the EIP-712 Grant
the manager's owner signs (``wallet.grants``).
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime, timedelta
from typing import Any

from pydantic import ValidationError

from ..base.models import NATIVE, SessionParams, checksum
from ..base.parsing import UnixTime
from ..base.units import parse_duration
from ..domain.tokens import TokenBook

__all__ = ["WizardError", "build_params", "build_session_params"]


class WizardError(ValueError):
    """The form has problems; ``.problems`` maps a field to what is wrong with it."""

    def __init__(self, problems: dict[str, str]):
        self.problems = problems
        super().__init__("; ".join(f"{k}: {v}" for k, v in problems.items()))


def _duration(text: Any, field: str, problems: dict[str, str]) -> int:
    text = str(text or "").strip()
    if not text:
        return 0
    try:
        return parse_duration(text if not text.isdigit() else int(text))
    except ValueError as exc:
        problems[field] = str(exc)
        return 0


def _expiry(text: Any, problems: dict[str, str]) -> tuple[int | None, int | None]:
    """``(seconds from now, unix seconds)``: one of them."""
    text = str(text or "").strip()
    if not text:
        problems["expires"] = "give a duration such as 72h or 7d, or an ISO date with a timezone"
        return None, None
    try:
        seconds = parse_duration(text)
    except ValueError:
        try:
            moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
        except ValueError:
            problems["expires"] = f"cannot read {text!r}: a duration (72h, 7d) or an ISO datetime with a timezone"
            return None, None
        if moment.tzinfo is None:
            problems["expires"] = "an ISO datetime needs a timezone (e.g. ...Z)"
            return None, None
        return None, int(moment.timestamp())
    if seconds <= 0:
        problems["expires"] = "must be in the future"
    return seconds, None


def _token(text: str, book: TokenBook, known: Iterable[str]) -> str:
    """ETH, a token address, or the symbol of a token the manager already escrows."""
    if text.upper() in ("ETH", "NATIVE"):
        return NATIVE
    if text.lower().startswith("0x"):
        return checksum(text, "token")
    for token in known:
        if book.get(token).symbol.lower() == text.lower():
            return token
    raise ValueError(f"{text!r} is not ETH, an address, nor the symbol of a token this manager escrows")


def build_params(form: dict[str, Any], book: TokenBook | None = None, known_tokens: Iterable[str] = ()) -> dict[str, Any]:
    """The params JSON for ``form``; raises ``WizardError`` listing every problem. ``known_tokens`` may be named by
    their symbol."""
    return build_session_params(form, book, known_tokens)[1]


def build_session_params(form: dict[str, Any], book: TokenBook | None = None,
                         known_tokens: Iterable[str] = ()) -> tuple[SessionParams, dict[str, Any]]:
    """``(SessionParams, params JSON)`` for ``form`` (see ``build_params``)."""
    book = book or TokenBook()
    problems: dict[str, str] = {}
    try:
        agent = checksum(str(form.get("agent") or "").strip(), "agent")
    except ValueError as exc:
        problems["agent"] = str(exc)
        agent = None
    in_seconds, unix = _expiry(form.get("expires"), problems)
    period = _duration(form.get("period"), "period", problems)
    max_idle = _duration(form.get("max_idle"), "max_idle", problems)
    try:
        max_calls = int(str(form.get("max_calls_per_period") or "0").strip() or 0)
    except ValueError:
        problems["max_calls_per_period"] = "a whole number"
        max_calls = 0
    budgets = []
    for i, row in enumerate(form.get("budgets") or []):
        token_text = str(row.get("token") or "ETH").strip()
        if not str(row.get("amount") or "").strip():
            continue
        try:
            token = _token(token_text, book, known_tokens)
        except ValueError as exc:
            problems[f"budgets[{i}].token"] = str(exc)
            continue
        info = book.get(token)
        entry: dict[str, Any] = {"token": token, "symbol": info.symbol}
        for name, key in (("amount", "amount"), ("per_call_cap", "per_call"), ("period_allowance", "per_period")):
            text = str(row.get(key) or "").strip()
            try:
                entry[name] = info.parse(text) if text else 0
            except ValueError as exc:
                problems[f"budgets[{i}].{key}"] = str(exc)
                entry[name] = 0
        budgets.append(entry)
    permissions = []
    for i, row in enumerate(form.get("permissions") or []):
        target = str(row.get("target") or "").strip()
        if not target:
            continue
        permissions.append({"target": target, "selector": str(row.get("selector") or "*").strip() or "*"})
    guards = [g.strip() for g in (form.get("guards") or []) if str(g).strip()]
    if problems:
        raise WizardError(problems)
    try:
        params = SessionParams(
            agent=agent, expiry=timedelta(seconds=in_seconds) if in_seconds is not None else UnixTime(unix),
            label=str(form.get("label") or ""),
            budgets=[{"token": b["token"], "amount": b["amount"], "per_call_cap": b["per_call_cap"],
                      "period_allowance": b["period_allowance"]} for b in budgets],
            permissions=permissions, guards=guards, draft=bool(form.get("draft")),
            any_target=bool(form.get("any_target")), max_idle=max_idle, period=period,
            max_calls_per_period=max_calls,
        )
    except ValidationError as exc:
        raise WizardError({".".join(str(p) for p in e["loc"]) or "params": e["msg"] for e in exc.errors()}) from None
    except ValueError as exc:
        raise WizardError({"params": str(exc)}) from None
    out: dict[str, Any] = {
        "agent": params.agent,
        "label": params.label,
        "expiry": {"seconds_from_now": in_seconds} if in_seconds is not None else {"unix": unix},
        "max_idle": params.max_idle,
        "period": params.period,
        "max_calls_per_period": params.max_calls_per_period,
        "draft": params.draft,
        "any_target": params.any_target,
        "budgets": [{"token": b.token, "amount": str(b.amount), "per_call_cap": str(b.per_call_cap),
                     "period_allowance": str(b.period_allowance)} for b in params.budgets],
        "permissions": [{"target": p.target, "selector": p.selector} for p in params.permissions],
        "guards": list(params.guards),
        "value": str(params.eth_value),
    }
    return params, out
