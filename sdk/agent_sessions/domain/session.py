"""``Session``: one session of a manager, read and driven like the thing it is.

Properties (``status``, ``agent``, ``expires_at``, ``budgets``...) read a snapshot of ``getSession``, taken on
first use; ``refresh()`` takes a new one and every transaction sent through the object drops it, so the next
read is fresh. Live questions whose answer changes with every call are methods (``remaining(token)``,
``check(...)``).
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any, Iterable, Sequence

from ..base.models import NATIVE, Budget, Call, Permission, SessionParams, SessionState, Status
from ..base.results import CheckResult, Receipt

if TYPE_CHECKING:
    from .manager import Manager

__all__ = ["Session"]


class Session:
    """Session ``id`` of ``manager``."""

    def __init__(self, manager: Manager, id: int, state: SessionState | None = None) -> None:
        self.manager = manager
        self.id = int(id)
        self._state = state

    # --- identity -------------------------------------------------------------------------------------------

    def __int__(self) -> int:
        return self.id

    __index__ = __int__

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Session) and other.id == self.id and other.manager.address == self.manager.address

    def __hash__(self) -> int:
        return hash((self.manager.address, self.id))

    def __repr__(self) -> str:
        try:
            state = self.state
        except Exception:  # repr must not raise (e.g. node unreachable)
            return f"<Session {self.id} manager={_short(self.manager.address)}>"
        return f"<Session {self.id} {state.status} agent={_short(state.agent)}>"

    # --- snapshot -------------------------------------------------------------------------------------------

    @property
    def state(self) -> SessionState:
        """The last snapshot of ``getSession`` (taken now if there is none)."""
        if self._state is None:
            self._state = self.manager.state(self.id)
        return self._state

    def refresh(self) -> Session:
        """Re-read the session from the chain; returns self."""
        self._state = self.manager.state(self.id)
        return self

    def _sent(self, receipt: Receipt) -> Receipt:
        self._state = None
        return receipt

    @property
    def status(self) -> Status:
        return self.state.status

    @property
    def agent(self) -> str:
        return self.state.agent

    @property
    def holder(self) -> str:
        """Holder of the session token (zero once closed): it controls the session."""
        return self.state.holder

    @property
    def label(self) -> str:
        return self.state.label

    @property
    def expires_at(self) -> datetime:
        """Expiry (exclusive), UTC."""
        return self.state.expiry

    @property
    def max_idle(self) -> timedelta | None:
        return self.state.max_idle

    @property
    def period(self) -> timedelta | None:
        return self.state.period

    @property
    def depth(self) -> int:
        return self.state.depth

    @property
    def parent_id(self) -> int:
        return self.state.parent_id

    @property
    def is_root(self) -> bool:
        return self.state.parent_id == 0

    @property
    def closed(self) -> bool:
        return self.state.closed

    @property
    def budgets(self) -> dict[str, Budget]:
        return self.state.budgets

    @property
    def checkpoint_root(self) -> str:
        return self.state.checkpoint_root

    @property
    def task_count(self) -> int:
        return self.state.task_count

    @property
    def parent(self) -> Session | None:
        """The parent session (None for a root)."""
        return None if self.is_root else Session(self.manager, self.state.parent_id)

    @property
    def children(self) -> list[Session]:
        """Direct children, found by listing the manager's sessions (one page read per ``page_size``)."""
        return self.manager.list_sessions(parent=self.id, start=self.id + 1)

    # --- live views -----------------------------------------------------------------------------------------

    def remaining(self, token: str = NATIVE) -> int:
        """Unspent escrow of ``token`` held for this session (base units), read now."""
        return self.manager.remaining(self.id, token)

    def budget(self, token: str = NATIVE) -> Budget:
        return self.manager.budget(self.id, token)

    def check(self, target: Any, value: int = 0, data: bytes = b"", caller: Any = None) -> CheckResult:
        """Would ``execute(target, value, data)`` pass now (sent by ``caller``, default the agent)?"""
        return self.manager.check(self.id, target, value, data, caller=caller)

    def is_controller(self, account: Any) -> bool:
        return self.manager.is_controller(self.id, account)

    def guards(self) -> list[str]:
        return self.manager.guards_of(self.id)

    def token_uri(self) -> dict[str, Any]:
        return self.manager.token_uri(self.id)

    # --- acting (agent) -------------------------------------------------------------------------------------

    def execute(self, target: Any, value: int = 0, data: bytes = b"", *, sender: Any, **txn_kwargs: Any) -> Receipt:
        return self._sent(self.manager.execute(self.id, target, value, data, sender=sender, **txn_kwargs))

    def execute_batch(self, calls: Iterable[Call | dict[str, Any] | Sequence[Any]], *, sender: Any,
                      **txn_kwargs: Any) -> Receipt:
        return self._sent(self.manager.execute_batch(self.id, calls, sender=sender, **txn_kwargs))

    def transfer_token(self, token: Any, to: Any, amount: int | str, *, sender: Any, **txn_kwargs: Any) -> Receipt:
        return self._sent(self.manager.transfer_token(self.id, token, to, amount, sender=sender, **txn_kwargs))

    def swap(self, token_in: Any, amount_in: int | str, token_out: Any, min_amount_out: int | str, target: Any,
             data: bytes, *, sender: Any, **txn_kwargs: Any) -> Receipt:
        return self._sent(self.manager.swap(self.id, token_in, amount_in, token_out, min_amount_out, target, data,
                                            sender=sender, **txn_kwargs))

    def checkpoint(self, root: bytes | str, task_count: int, *, sender: Any, **txn_kwargs: Any) -> Receipt:
        return self._sent(self.manager.checkpoint(self.id, root, task_count, sender=sender, **txn_kwargs))

    def spawn_child(self, params: SessionParams | dict[str, Any], *, sender: Any, **txn_kwargs: Any) -> Session:
        child = self.manager.spawn_child(self.id, params, sender=sender, **txn_kwargs)
        self._state = None
        return child

    # --- lifecycle (controllers) ----------------------------------------------------------------------------

    def activate(self, *, sender: Any, **txn_kwargs: Any) -> Receipt:
        return self._sent(self.manager.activate(self.id, sender=sender, **txn_kwargs))

    def pause(self, *, sender: Any, **txn_kwargs: Any) -> Receipt:
        return self._sent(self.manager.pause(self.id, sender=sender, **txn_kwargs))

    def resume(self, *, sender: Any, **txn_kwargs: Any) -> Receipt:
        return self._sent(self.manager.resume(self.id, sender=sender, **txn_kwargs))

    def revoke(self, *, sender: Any, **txn_kwargs: Any) -> Receipt:
        return self._sent(self.manager.revoke(self.id, sender=sender, **txn_kwargs))

    def complete(self, *, sender: Any, **txn_kwargs: Any) -> Receipt:
        return self._sent(self.manager.complete(self.id, sender=sender, **txn_kwargs))

    def close(self, *, sender: Any, **txn_kwargs: Any) -> Receipt:
        return self._sent(self.manager.close(self.id, sender=sender, **txn_kwargs))

    def fund(self, token: Any, amount: int | str, *, sender: Any, **txn_kwargs: Any) -> Receipt:
        return self._sent(self.manager.fund(self.id, token, amount, sender=sender, **txn_kwargs))

    def rotate_agent(self, new_agent: Any, *, sender: Any, **txn_kwargs: Any) -> Receipt:
        return self._sent(self.manager.rotate_agent(self.id, new_agent, sender=sender, **txn_kwargs))

    def update_limits(self, token: Any, per_call_cap: int | str = 0, period_allowance: int | str = 0, *,
                      sender: Any, **txn_kwargs: Any) -> Receipt:
        return self._sent(self.manager.update_limits(self.id, token, per_call_cap, period_allowance, sender=sender,
                                                     **txn_kwargs))

    def update_expiry(self, expiry: datetime | timedelta | int | str, *, sender: Any, **txn_kwargs: Any) -> Receipt:
        return self._sent(self.manager.update_expiry(self.id, expiry, sender=sender, **txn_kwargs))

    def set_permissions(self, permissions: Iterable[Permission | Any], allowed: bool = True, *, sender: Any,
                        **txn_kwargs: Any) -> Receipt:
        return self._sent(self.manager.set_permissions(self.id, permissions, allowed, sender=sender, **txn_kwargs))

    def set_any_target(self, allowed: bool, *, sender: Any, **txn_kwargs: Any) -> Receipt:
        return self._sent(self.manager.set_any_target(self.id, allowed, sender=sender, **txn_kwargs))

    def add_guard(self, guard: Any, *, sender: Any, **txn_kwargs: Any) -> Receipt:
        return self._sent(self.manager.add_guard(self.id, guard, sender=sender, **txn_kwargs))

    def update_timing(self, max_idle: int | str = 0, period: int | str = 0, max_calls_per_period: int = 0, *,
                      sender: Any, **txn_kwargs: Any) -> Receipt:
        return self._sent(self.manager.update_timing(self.id, max_idle, period, max_calls_per_period, sender=sender,
                                                     **txn_kwargs))

    def transfer(self, to: Any, *, sender: Any, **txn_kwargs: Any) -> Receipt:
        """Hand the session token (and so control) to ``to``."""
        return self._sent(self.manager.transfer_session(self.id, to, sender=sender, **txn_kwargs))


def _short(address: str) -> str:
    return f"{address[:4].lower()}..{address[-2:].lower()}"
