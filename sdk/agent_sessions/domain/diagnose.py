"""Why a session cannot act: which session of its lineage stopped it, and how.

A session's effective status folds in its ancestors: a child under an expired, timed-out, completed or revoked
ancestor reads ``revoked`` (or ``expired``) on-chain without saying which ancestor ended or why.
``ancestors_report`` walks the lineage from the root down and names the first session that ended (or is
paused), with the cause read from its own fields: its expiry passed, its idle timeout ran out, it was completed,
revoked, revoked by ``revokeAll``, or the whole manager is paused.

    report = ancestors_report(manager, 12)
    report.describe()   # "session 12 cannot act: its ancestor #3 expired at 2030-01-01T00:00:00Z (1h ago)"
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import TYPE_CHECKING, Any

from ..base.models import SessionState, Status

if TYPE_CHECKING:
    from .manager import Manager

__all__ = ["Lineage", "ancestors_report", "explain_inactive", "own_reason"]

_LIVE = (Status.ACTIVE, Status.DRAFT)
#: Reasons that only restate a session's own status.
_PLAIN = ("was revoked", "was completed", "is paused", "expired")


def _iso(moment: datetime) -> str:
    return moment.astimezone(timezone.utc).isoformat().replace("+00:00", "Z")


def own_reason(state: SessionState, now: int, epoch: int, paused_all: bool) -> str | None:
    """Why ``state`` itself (not its ancestors) cannot act at chain time ``now``; None when nothing of its own
    stops it."""
    if state.closed:
        verb = {Status.COMPLETED: "completed", Status.REVOKED: "revoked", Status.EXPIRED: "expired"}.get(
            state.status, str(state.status))
        return f"was {verb} and closed"
    if state.epoch < epoch:
        return "was revoked by revoke-all"
    if state.expiry.timestamp() <= now:
        return f"expired at {_iso(state.expiry)}"
    if state.max_idle is not None and state.last_active is not None and \
            state.last_active.timestamp() + state.max_idle.total_seconds() <= now:
        deadline = datetime.fromtimestamp(state.last_active.timestamp() + state.max_idle.total_seconds(),
                                          tz=timezone.utc)
        return f"timed out: idle since {_iso(state.last_active)} (max idle {int(state.max_idle.total_seconds())} s, " \
               f"ended {_iso(deadline)})"
    if paused_all:
        return "is paused with the whole manager (pause-all)"
    return None


@dataclass(frozen=True)
class Lineage:
    """A session and its ancestors (root first), and the one that stops it (None when it may act)."""

    session: int
    status: Status
    chain: list[SessionState]
    #: The session (itself or an ancestor) that stops it, and why.
    blocker: int | None = None
    reason: str | None = None
    statuses: dict[int, str] = field(default_factory=dict)

    @property
    def can_act(self) -> bool:
        return self.blocker is None

    def describe(self) -> str:
        if self.blocker is None:
            return f"session {self.session} is {self.status}: every ancestor can act"
        if self.blocker == self.session:
            return f"session {self.session} cannot act: it {self.reason}"
        return f"session {self.session} cannot act: its ancestor #{self.blocker} {self.reason}"

    def to_dict(self) -> dict[str, Any]:
        return {"session": self.session, "status": str(self.status), "can_act": self.can_act,
                "blocked_by": self.blocker, "reason": self.reason,
                "lineage": [{"id": s.id, "status": str(s.status), "closed": s.closed} for s in self.chain]}


def ancestors_report(manager: Manager, session: int) -> Lineage:
    """The lineage of ``session`` (root first) and the first session in it, from the root down, that cannot act,
    with the cause (see the module docstring)."""
    now = manager.client.now()
    g = manager.global_state()
    chain: list[SessionState] = []
    current = manager.state(session)
    chain.append(current)
    while current.parent_id:
        current = manager.state(current.parent_id)
        chain.append(current)
    chain.reverse()
    for state in chain:
        reason = own_reason(state, now, g.epoch, g.paused_all)
        if reason is None and state.status not in _LIVE:
            # its own effective status says it ended or paused (its ancestors were fine: we walk from the root)
            reason = {Status.COMPLETED: "was completed", Status.REVOKED: "was revoked",
                      Status.PAUSED: "is paused", Status.EXPIRED: "expired"}.get(state.status, f"is {state.status}")
        if reason is not None:
            return Lineage(session, chain[-1].status, chain, state.id, reason)
    return Lineage(session, chain[-1].status, chain)


def explain_inactive(manager: Manager, error: BaseException) -> str | None:
    """For an error that says a session cannot act (``SessionNotActive``, ``SessionEnded``), which session of its
    lineage stops it and why (None for other errors, or when the chain cannot be read)."""
    from ..base.errors import SessionEnded, SessionError, SessionNotActive

    if not isinstance(error, (SessionNotActive, SessionEnded)):
        return None
    try:
        lineage = ancestors_report(manager, int(error.session))
    except (SessionError, ValueError, TypeError):
        return None
    if lineage.can_act:
        return None
    if lineage.blocker == lineage.session and lineage.reason in _PLAIN:
        return None  # the error's own status already says it all
    return lineage.describe()
