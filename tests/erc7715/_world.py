"""What the chain would hold for a session opened from ``SessionParams``: the ``SessionState`` the mapping reads,
built without a node (the chain tests check the real one against the same expectations)."""

from __future__ import annotations

import json
from datetime import timedelta
from pathlib import Path
from typing import Any

from agent_sessions.base.models import NATIVE, Budget, SessionParams, SessionState, Status

DATA = Path(__file__).parent / "data"
OWNER = "0xf39Fd6e51aad88F6F4ce6aB8827279cffFb92266"
MANAGER = "0x5FbDB2315678afecb367f032d93F642f64180aa3"


def example(name: str) -> dict[str, Any]:
    """A copied example payload (``source`` and ``note`` say where from and what was filled in)."""
    return json.loads((DATA / name).read_text())


def state_of(params: SessionParams, *, session_id: int = 7, holder: str = OWNER,
             status: Status = Status.ACTIVE, **changes: Any) -> SessionState:
    """A freshly opened root session of ``params`` (nothing spent), with ``changes`` applied."""
    budgets = {NATIVE: Budget(token=NATIVE, available=0, spent=0, per_call_cap=0, period_allowance=0,
                              spent_in_period=0)}
    for b in params.budgets:
        budgets[b.token] = Budget(token=b.token, available=b.amount, spent=0, per_call_cap=b.per_call_cap,
                                  period_allowance=b.period_allowance, spent_in_period=0)
    fields: dict[str, Any] = dict(
        id=session_id, parent_id=0, agent=params.agent, holder=holder, status=status, depth=0,
        any_target=params.any_target, closed=False, expiry=params.expiry, last_active=None, max_idle=None,
        period=timedelta(seconds=params.period) if params.period else None, max_calls_per_period=0,
        calls_in_period=0, epoch=0, label=params.label, checkpoint_root="0x" + "00" * 32, task_count=0,
        budgets=budgets,
    )
    fields.update(changes)
    return SessionState(**fields)
