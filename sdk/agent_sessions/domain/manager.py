"""``Manager``: one owner's SessionManager, every operation and view of ``IAgentSessions``.

Transactions take ``sender`` (a ``Sender``, an eth-account ``LocalAccount`` or a private key) and pass
``**txn_kwargs`` (gas, nonce, fees, timeout) through to the ``Sender``. Reverts, whether caught by the gas
estimate before signing or replayed from a mined receipt, are raised as typed exceptions from ``errors``.
"""

from __future__ import annotations

import base64
import functools
import json
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any, Iterable, Iterator, Sequence

from ..base import validate as v
from ..base.abi import artifact_abi
from ..base.errors import RPCError, SessionError, decode_revert, typed_error
from ..base.models import (
    NATIVE,
    Budget,
    Call,
    GlobalState,
    Permission,
    SessionParams,
    SessionState,
    Status,
    checksum,
    selector_of,
)
from ..base.results import CheckResult, Receipt
from ..base.units import parse_duration
from ..chain.contract import Contract
from ..chain.pipeline import TxRequest, estimate_limits, run_pipeline
from .deployment import deployment_block
from .listing import SessionFilter, iter_states
from .session import Session
from .spending import budget_with_eth_spent, spend_log_query, spent_from_answer, with_eth_spent

if TYPE_CHECKING:
    from .client import AgentSessions

__all__ = ["Manager"]

SessionRef = int | Session


def _params(value: SessionParams | dict[str, Any]) -> SessionParams:
    return value if isinstance(value, SessionParams) else SessionParams.model_validate(value)


def _sid(value: SessionRef, field: str = "session") -> int:
    return v.session_id(value, field)


def _data(value: bytes | str, field: str = "data") -> bytes:
    return v.hex_bytes(value, field)


def _eth(value: int | str, field: str) -> int:
    """An ETH amount (wei; ETH units only) as uint256."""
    return v.amount(value, field, symbol="ETH")


def _token_amount(token: str, value: int | str, field: str, bits: int = 256) -> int:
    """An amount of ``token`` (checksummed): ETH units only for NATIVE."""
    return v.amount(value, field, bits=bits, symbol=v.symbol_of(token))


class Manager(Contract):
    """A SessionManager bound to the full ``IAgentSessions`` ABI."""

    def __init__(self, client: AgentSessions, address: str) -> None:
        super().__init__(client, address, artifact_abi("IAgentSessions"), name="Manager")

    @functools.cached_property
    def first_block(self) -> int:
        """The block this manager was deployed in, where its event history (ETH spends, ``spending``) starts;
        found once per ``Manager`` (``deployment_block``), 0 on a node that keeps no past state."""
        return deployment_block(self.client, self.address)

    # ============================================================================================================
    # creation
    # ============================================================================================================

    def _needs_now(self, params: Iterable[SessionParams]) -> int | None:
        return self.client.now() if any(isinstance(p.expiry, timedelta) for p in params) else None

    def _created(self, receipt: Receipt) -> list[Session]:
        return [Session(self, session_id) for session_id in self.created_ids(receipt)]

    def created_ids(self, receipt: Receipt) -> list[int]:
        """Ids of the sessions ``receipt`` created here, in order (``SessionCreated``'s indexed id), read from the
        topics without decoding every log of a large batch."""
        topic = "0x" + next(e.topic for e in self.abi.events.values() if e.name == "SessionCreated").hex()
        address = self.address.lower()
        return [int(log["topics"][1], 16) for log in receipt.logs
                if log.get("topics") and log["topics"][0] == topic and str(log.get("address", "")).lower() == address]

    def create_session(self, params: SessionParams | dict[str, Any], sender: Any, **txn_kwargs: Any) -> Session:
        """Open a root session funded by ``sender`` (the manager owner): ETH budget sent as value, ERC-20
        budgets pulled with ``transferFrom`` (approve the manager first)."""
        p = _params(params)
        receipt = self.transact("createSession", p.to_tuple(self._needs_now([p])), sender=sender,
                                value=p.eth_value, **txn_kwargs)
        return self._created(receipt)[0]

    def create_sessions(
        self,
        params: Sequence[SessionParams | dict[str, Any]],
        sender: Any,
        *,
        chunk_size: int = 100,
        **txn_kwargs: Any,
    ) -> list[Session]:
        """Open many root sessions, ``chunk_size`` per ``createSessions`` transaction. Every chunk is checked by
        a gas estimate before any is signed (the first revert is raised, nothing sent); the chunks then go out
        pipelined (consecutive nonces, one batch) and are confirmed together."""
        return self._create_in_batches(None, params, sender, chunk_size, txn_kwargs)

    def spawn_child(self, parent: SessionRef, params: SessionParams | dict[str, Any], sender: Any,
                    **txn_kwargs: Any) -> Session:
        """Open a child of ``parent``, its budgets reserved out of the parent's unspent escrow. ``sender`` is the
        parent's agent or a controller; the child's token goes to it."""
        p = _params(params)
        receipt = self.transact("spawnChild", _sid(parent, "parent"), p.to_tuple(self._needs_now([p])), sender=sender,
                                **txn_kwargs)
        return self._created(receipt)[0]

    def spawn_children(self, parent: SessionRef, params: Sequence[SessionParams | dict[str, Any]], sender: Any, *,
                       chunk_size: int = 100, **txn_kwargs: Any) -> list[Session]:
        """Open many children of ``parent``, ``chunk_size`` per ``spawnChildren`` transaction, checked and sent
        like ``create_sessions``."""
        return self._create_in_batches(_sid(parent, "parent"), params, sender, chunk_size, txn_kwargs)

    def creation_call(self, params: Sequence[SessionParams], *, parent: int | None = None,
                      now: int | None = None) -> tuple[bytes, int]:
        """Calldata and ETH value of one batch-creation transaction: ``createSessions(params)`` for roots (their
        ETH budgets sent along), ``spawnChildren(parent, params)`` for children (reserved out of the parent)."""
        tuples = [p.to_tuple(now) for p in params]
        if parent is None:
            return self.fn("createSessions").encode(tuples), sum(p.eth_value for p in params)
        return self.fn("spawnChildren").encode(parent, tuples), 0

    def _create_in_batches(self, parent: int | None, params: Sequence[SessionParams | dict[str, Any]], sender: Any,
                           chunk_size: int, txn_kwargs: dict[str, Any]) -> list[Session]:
        """The batch-creation path (roots, or children of ``parent``): chunks estimated in batch requests, the
        first revert raised before anything is signed, then pipelined and confirmed together."""
        if chunk_size < 1:
            raise ValueError("chunk_size must be at least 1")
        parsed = [_params(p) for p in params]
        if not parsed:
            return []
        now = self._needs_now(parsed)
        wallet = self.client.sender(sender)
        calls = [self.creation_call(parsed[i : i + chunk_size], parent=parent, now=now)
                 for i in range(0, len(parsed), chunk_size)]
        gas = txn_kwargs.pop("gas", None) or txn_kwargs.pop("gas_limit", None)
        timeout = txn_kwargs.pop("timeout", None)
        txn_kwargs.pop("wait", None)
        fee_kwargs = self.client.fee_kwargs(txn_kwargs)
        limits: list[int] = []
        if gas is None:
            txs = [(wallet, self.address, data, value) for data, value in calls]
            for limit in estimate_limits(self.client.rpc, txs):
                if isinstance(limit, SessionError):
                    raise limit
                limits.append(limit)
        else:
            limits = [gas] * len(calls)
        requests = [TxRequest(wallet, self.address, data, value, limit) for (data, value), limit in zip(calls, limits)]
        outcomes = run_pipeline(self.client.rpc, requests, fee_kwargs=fee_kwargs,
                                timeout=timeout or wallet.receipt_timeout)
        sessions: list[Session] = []
        for outcome in outcomes:
            if outcome.error is not None:
                raise outcome.error
            assert outcome.receipt is not None
            sessions.extend(self._created(outcome.receipt))
        return sessions

    # ============================================================================================================
    # acting (agent)
    # ============================================================================================================

    def execute(self, session: SessionRef, target: Any, value: int | str = 0, data: bytes | str = b"", *,
                sender: Any, **txn_kwargs: Any) -> Receipt:
        """Call ``target`` with ``value`` wei and ``data`` on behalf of ``session`` (``sender`` = its agent)."""
        return self.transact("execute", _sid(session), checksum(target, "target"), _eth(value, "value"), _data(data),
                             sender=_required(sender), **txn_kwargs)

    def execute_batch(self, session: SessionRef, calls: Iterable[Call | dict[str, Any] | Sequence[Any]], *,
                      sender: Any, **txn_kwargs: Any) -> Receipt:
        """Execute ``calls`` in order; any failure reverts all (``BatchCallFailed`` with the index)."""
        parsed = []
        for c in calls:
            if isinstance(c, Call):
                parsed.append(c)
            elif isinstance(c, dict):
                parsed.append(Call.model_validate(c))
            else:
                items = list(c)
                items += [0, b""][len(items) - 1 :]  # (target,), (target, value) or (target, value, data)
                parsed.append(Call(target=items[0], value=items[1], data=items[2]))
        return self.transact("executeBatch", _sid(session), [c.to_tuple() for c in parsed], sender=sender,
                             **txn_kwargs)

    def transfer_token(self, session: SessionRef, token: Any, to: Any, amount: int | str, *, sender: Any,
                       **txn_kwargs: Any) -> Receipt:
        """Pay ``amount`` of ``token`` (ERC-20 or NATIVE) from the session's escrow to ``to`` (metered)."""
        token = checksum(token, "token")
        return self.transact("transferToken", _sid(session), token, checksum(to, "to"),
                             _token_amount(token, amount, "amount"), sender=_required(sender), **txn_kwargs)

    def swap(self, session: SessionRef, token_in: Any, amount_in: int | str, token_out: Any,
             min_amount_out: int | str, target: Any, data: bytes | str, *, sender: Any, **txn_kwargs: Any) -> Receipt:
        """Approve-call-reset through ``target``: charges what actually left, credits what came back.

        ``token_out`` must be a token the session has a budget row for (ETH included: declare it at creation,
        amount 0 is fine), else ``NoBudgetRow``; the session's and its ancestors' caps on ``token_in`` bind the
        charge; handing ``amount_in`` of an ERC-20 ``token_in`` over
        must lower the manager's balance by exactly that, else ``BalanceMismatch``."""
        token_in, token_out = checksum(token_in, "token_in"), checksum(token_out, "token_out")
        return self.transact("swap", _sid(session), token_in, _token_amount(token_in, amount_in, "amount_in"),
                             token_out, _token_amount(token_out, min_amount_out, "min_amount_out"),
                             checksum(target, "target"), _data(data), sender=_required(sender), **txn_kwargs)

    def checkpoint(self, session: SessionRef, root: bytes | str, task_count: int, *, sender: Any,
                   **txn_kwargs: Any) -> Receipt:
        """Anchor an off-chain state root and task counter (agent only; the counter never goes down)."""
        return self.transact("checkpoint", _sid(session), v.fixed_bytes(root, "root", 32),
                             v.uint(task_count, "task_count", 64), sender=_required(sender), **txn_kwargs)

    # ============================================================================================================
    # lifecycle and editing (controllers)
    # ============================================================================================================

    def activate(self, session: SessionRef, sender: Any, **txn_kwargs: Any) -> Receipt:
        return self.transact("activate", _sid(session), sender=sender, **txn_kwargs)

    def pause(self, session: SessionRef, sender: Any, **txn_kwargs: Any) -> Receipt:
        return self.transact("pause", _sid(session), sender=sender, **txn_kwargs)

    def resume(self, session: SessionRef, sender: Any, **txn_kwargs: Any) -> Receipt:
        return self.transact("resume", _sid(session), sender=sender, **txn_kwargs)

    def revoke(self, session: SessionRef, sender: Any, **txn_kwargs: Any) -> Receipt:
        """End ``session`` and its whole subtree (O(1)); its escrow stays until ``close``."""
        return self.transact("revoke", _sid(session), sender=sender, **txn_kwargs)

    def complete(self, session: SessionRef, sender: Any, **txn_kwargs: Any) -> Receipt:
        """End ``session`` as done and settle it at once (agent or controller)."""
        return self.transact("complete", _sid(session), sender=sender, **txn_kwargs)

    def close(self, session: SessionRef, sender: Any, **txn_kwargs: Any) -> Receipt:
        """Settle an ended session: burn its token, return its escrow up the tree (anyone may call)."""
        return self.transact("close", _sid(session), sender=sender, **txn_kwargs)

    def close_many(self, sessions: Iterable[SessionRef], sender: Any, **txn_kwargs: Any) -> Receipt:
        """``close`` for many; already closed ones are skipped."""
        return self.transact("closeMany", [_sid(s, "sessions") for s in sessions], sender=sender, **txn_kwargs)

    def claim(self, token: Any, to: Any, sender: Any, **txn_kwargs: Any) -> Receipt:
        """Send ``to`` everything of ``token`` owed to ``sender``: ERC-20 payouts the token refused at settlement
        (a blocklist, a pause). A payee the token blocks names another address. Raises NothingToClaim when
        nothing is owed."""
        return self.transact("claim", checksum(token, "token"), checksum(to, "to"), sender=sender, **txn_kwargs)

    def fund(self, session: SessionRef, token: Any, amount: int | str, sender: Any, **txn_kwargs: Any) -> Receipt:
        """Top up ``session``: a root from ``sender`` (ETH sent as value, ERC-20 pulled), a child from its
        parent's unspent escrow. Like a spawn, funding a child needs a parent that can act now (``SessionNotActive``
        otherwise) and counts as one call and activity of the parent; a paused session, or any during pause-all,
        takes no funds."""
        sid = _sid(session)
        token = checksum(token, "token")
        amount = _token_amount(token, amount, "amount")
        _required(sender)
        value = 0
        if token == NATIVE and self.state(sid).parent_id == 0:
            value = amount
        return self.transact("fund", sid, token, amount, sender=sender, value=value, **txn_kwargs)

    def rotate_agent(self, session: SessionRef, new_agent: Any, sender: Any, **txn_kwargs: Any) -> Receipt:
        """Replace the agent key; the old key stops working in the same block."""
        return self.transact("rotateAgent", _sid(session), checksum(new_agent, "new_agent"), sender=sender,
                             **txn_kwargs)

    def update_limits(self, session: SessionRef, token: Any, per_call_cap: int | str = 0,
                      period_allowance: int | str = 0, sender: Any = None, **txn_kwargs: Any) -> Receipt:
        token = checksum(token, "token")
        return self.transact("updateLimits", _sid(session), token,
                             _token_amount(token, per_call_cap, "per_call_cap", 128),
                             _token_amount(token, period_allowance, "period_allowance", 128),
                             sender=_required(sender), **txn_kwargs)

    def update_expiry(self, session: SessionRef, expiry: datetime | timedelta | int | str, sender: Any,
                      **txn_kwargs: Any) -> Receipt:
        """Move the expiry (read by ``parsing.parse_expiry``): a duration from the chain's now ("2d", 3600), an
        aware datetime or ISO date-time with a zone, or an explicit unix time (``UnixTime``, "unix:N")."""
        from ..base.parsing import parse_expiry

        sid = _sid(session)
        try:
            parsed = parse_expiry(expiry)
        except ValueError as exc:
            raise ValueError(f"expiry: {exc}") from None
        v.timestamp(parsed, "expiry", now=0)  # range before asking the chain for its time
        now = self.client.now() if isinstance(parsed, timedelta) else None
        return self.transact("updateExpiry", sid, v.timestamp(parsed, "expiry", now), sender=_required(sender),
                             **txn_kwargs)

    def set_permissions(self, session: SessionRef, permissions: Iterable[Permission | Any], allowed: bool = True,
                        sender: Any = None, **txn_kwargs: Any) -> Receipt:
        """Allow (or with ``allowed=False`` remove) allowlist entries of a draft session. Entries are
        ``Permission``s, ``(target, selector)`` pairs, or bare targets (every selector)."""
        perms = [p if isinstance(p, Permission) else _permission(p) for p in permissions]
        if not isinstance(allowed, bool):
            raise ValueError(f"allowed must be a bool, not {type(allowed).__name__}")
        return self.transact("setPermissions", _sid(session), [p.to_tuple() for p in perms], allowed,
                             sender=_required(sender), **txn_kwargs)

    def set_any_target(self, session: SessionRef, allowed: bool, sender: Any, **txn_kwargs: Any) -> Receipt:
        if not isinstance(allowed, bool):
            raise ValueError(f"allowed must be a bool, not {type(allowed).__name__}")
        return self.transact("setAnyTarget", _sid(session), allowed, sender=sender, **txn_kwargs)

    def add_guard(self, session: SessionRef, guard: Any, sender: Any, **txn_kwargs: Any) -> Receipt:
        return self.transact("addGuard", _sid(session), checksum(guard, "guard"), sender=sender, **txn_kwargs)

    def update_timing(self, session: SessionRef, max_idle: int | str = 0, period: int | str = 0,
                      max_calls_per_period: int = 0, sender: Any = None, **txn_kwargs: Any) -> Receipt:
        """Idle timeout, period length and calls per period of a draft session (durations: seconds or "1d")."""
        return self.transact("updateTiming", _sid(session), _seconds(max_idle, "max_idle"), _seconds(period, "period"),
                             v.uint(max_calls_per_period, "max_calls_per_period", 16), sender=_required(sender),
                             **txn_kwargs)

    def transfer_session(self, session: SessionRef, to: Any, sender: Any, **txn_kwargs: Any) -> Receipt:
        """Move the session token (and with it control of the session) from its holder to ``to``."""
        to = checksum(to, "to")
        holder = self.holder(session)
        return self.transact("transferFrom", holder, to, _sid(session), sender=sender, **txn_kwargs)

    # --- owner-wide -----------------------------------------------------------------------------------------

    def pause_all(self, sender: Any, **txn_kwargs: Any) -> Receipt:
        """Emergency stop: no session of this manager can act until ``unpause_all``."""
        return self.transact("pauseAll", sender=sender, **txn_kwargs)

    def unpause_all(self, sender: Any, **txn_kwargs: Any) -> Receipt:
        return self.transact("unpauseAll", sender=sender, **txn_kwargs)

    def revoke_all(self, sender: Any, **txn_kwargs: Any) -> Receipt:
        """Revoke every existing session in one O(1) transaction (new sessions are unaffected)."""
        return self.transact("revokeAll", sender=sender, **txn_kwargs)

    def transfer_ownership(self, new_owner: Any, sender: Any, **txn_kwargs: Any) -> Receipt:
        return self.transact("transferOwnership", checksum(new_owner, "new_owner"), sender=sender, **txn_kwargs)

    # ============================================================================================================
    # views
    # ============================================================================================================

    def owner(self) -> str:
        return checksum(self.call("owner"))

    def count(self) -> int:
        """Sessions ever created; ids run from 1 to this."""
        return int(self.call("sessionCount"))

    def _with_spends(self, call: tuple[str, list[Any]], ids: Iterable[int] | None) -> tuple[Any, dict[int, int]]:
        """One JSON-RPC batch: ``call`` and the log query of the ETH spends of ``ids`` (``spending``). Returns
        the call's raw answer and ETH spent per id."""
        wanted = list(ids) if ids is not None else None
        result, logs = self.client.rpc.batch([call, spend_log_query(self, wanted)])
        if isinstance(result, RPCError):
            raise typed_error(result)
        return result, spent_from_answer(self, wanted, logs)

    def _eth_call(self, name: str, *args: Any) -> tuple[str, list[Any]]:
        return "eth_call", [{"to": self.address, "data": "0x" + self.fn(name).encode(*args).hex()}, "latest"]

    def state(self, session: SessionRef) -> SessionState:
        """``getSession`` as a model (raises ``SessionNotFound``), its ETH ``spent`` summed from the session's
        events (``spending``) in the same JSON-RPC batch."""
        sid = _sid(session)
        result, spent = self._with_spends(self._eth_call("getSession", sid), [sid])
        (info,) = self.fn("getSession").decode_output(bytes.fromhex(result[2:]))
        return with_eth_spent(SessionState.from_chain(info), spent)

    def session(self, session: SessionRef) -> Session:
        """Session ``id`` with a fresh snapshot."""
        return Session(self, _sid(session), self.state(session))

    def sessions(self, ids: Iterable[SessionRef], *, chunk_size: int = 200) -> list[Session]:
        """Many sessions by id, ``getSessions`` in chunks sent as one JSON-RPC batch, with one log query for the
        ETH spent of them all (``spending``)."""
        id_list = [_sid(i, "ids") for i in ids]
        if not id_list:
            return []
        fn = self.fn("getSessions")
        chunks = [id_list[i : i + chunk_size] for i in range(0, len(id_list), chunk_size)]
        results = self.client.rpc.batch(
            [("eth_call", [{"to": self.address, "data": "0x" + fn.encode(c).hex()}, "latest"]) for c in chunks]
            + [spend_log_query(self, id_list)]
        )
        spent = spent_from_answer(self, id_list, results.pop())
        out: list[Session] = []
        for result in results:
            if isinstance(result, RPCError):
                raise typed_error(result)
            (infos,) = fn.decode_output(bytes.fromhex(result[2:]))
            out.extend(Session(self, info[0], with_eth_spent(SessionState.from_chain(info), spent)) for info in infos)
        return out

    def iter_sessions(self, *, page_size: int = 200, start: int = 1, status: Status | str | Iterable[Any] | None = None,
                      label: str | None = None, agent: Any = None, parent: SessionRef | None = None,
                      holder: Any = None, closed: bool | None = None) -> Iterator[Session]:
        """Page through every session (``listSessions``, ``page_size`` per call, pages fetched in JSON-RPC
        batches), yielding those that match the filters."""
        wanted = SessionFilter.build(status=status, label=label, agent=agent, parent=parent, holder=holder,
                                     closed=closed)
        for state in iter_states(self, page_size=page_size, start=start):
            if wanted.matches(state):
                yield Session(self, state.id, state)

    def list_sessions(self, *, page_size: int = 200, start: int = 1,
                      status: Status | str | Iterable[Any] | None = None, label: str | None = None,
                      agent: Any = None, parent: SessionRef | None = None, holder: Any = None,
                      closed: bool | None = None) -> list[Session]:
        """``iter_sessions`` as a list."""
        return list(self.iter_sessions(page_size=page_size, start=start, status=status, label=label, agent=agent,
                                       parent=parent, holder=holder, closed=closed))

    def status(self, session: SessionRef) -> Status:
        return Status(self.call("statusOf", _sid(session)))

    def remaining(self, session: SessionRef, token: Any = NATIVE) -> int:
        return int(self.call("remaining", _sid(session), checksum(token, "token")))

    def budget(self, session: SessionRef, token: Any = NATIVE) -> Budget:
        """``getBudget`` as a model; for ETH, ``spent`` is summed from the session's events (``spending``)."""
        sid, token = _sid(session), checksum(token, "token")
        if token != NATIVE:
            return Budget.from_chain(self.call("getBudget", sid, token))
        result, spent = self._with_spends(self._eth_call("getBudget", sid, token), [sid])
        (raw,) = self.fn("getBudget").decode_output(bytes.fromhex(result[2:]))
        return budget_with_eth_spent(Budget.from_chain(raw), sid, spent)

    def check(self, session: SessionRef, target: Any, value: int | str = 0, data: bytes | str = b"", *,
              caller: Any = None) -> CheckResult:
        """Would ``caller`` (default: the session's agent) pass ``execute(session, target, value, data)`` now?
        Sends nothing; the error is the typed exception the call would raise."""
        sid, target, value, data = _sid(session), checksum(target, "target"), _eth(value, "value"), _data(data)
        who = checksum(caller, "caller") if caller is not None else self.state(sid).agent
        ok, reason = self.call("check", sid, who, target, value, data)
        return CheckResult(ok=True) if ok else CheckResult(ok=False, error=decode_revert(reason))

    def is_controller(self, session: SessionRef, account: Any) -> bool:
        return bool(self.call("isController", _sid(session), checksum(account, "account")))

    def is_allowed(self, session: SessionRef, target: Any, selector: str | bytes = "0x00000000") -> bool:
        selector_bytes = bytes.fromhex(selector_of(selector)[2:])
        return bool(self.call("isAllowed", _sid(session), checksum(target, "target"), selector_bytes))

    def guards_of(self, session: SessionRef) -> list[str]:
        return [checksum(g) for g in self.call("guardsOf", _sid(session))]

    def global_state(self) -> GlobalState:
        epoch, paused = self.call("globalState")
        return GlobalState(epoch=epoch, paused_all=paused)

    def token_uri(self, session: SessionRef) -> dict[str, Any]:
        """The on-chain token metadata, decoded from its base64 JSON data URI."""
        uri: str = self.call("tokenURI", _sid(session))
        prefix = "data:application/json;base64,"
        if not uri.startswith(prefix):
            raise SessionError(f"unexpected tokenURI format: {uri[:40]!r}")
        return json.loads(base64.b64decode(uri[len(prefix):]))

    def holder(self, session: SessionRef) -> str:
        """Holder of the session token (raises for a closed session: its token is burned)."""
        return checksum(self.call("ownerOf", _sid(session)))

    def user_of(self, session: SessionRef) -> str:
        """ERC-4907 user: the agent while the session is active, else the zero address."""
        return checksum(self.call("userOf", _sid(session)))

    def is_escrow_token(self, token: Any) -> bool:
        return bool(self.call("isEscrowToken", checksum(token, "token")))

    def owed(self, payee: Any, token: Any) -> int:
        """What ``payee`` can ``claim`` of ``token`` (base units)."""
        return int(self.call("owed", checksum(payee, "payee"), checksum(token, "token")))

    def total_owed(self, token: Any) -> int:
        """What the manager owes in ``token`` to all payees together (base units): beyond the sessions' escrow."""
        return int(self.call("totalOwed", checksum(token, "token")))


def _permission(value: Any) -> Permission:
    if isinstance(value, (tuple, list)):
        target, selector = value
        return Permission(target=target, selector=selector)
    return Permission(target=value)


def _seconds(value: int | str, field: str) -> int:
    """A duration in seconds (int, timedelta or "1d") that fits in uint32."""
    try:
        seconds = parse_duration(value)
    except ValueError as exc:
        raise ValueError(v.named(field, str(exc))) from None
    return v.uint(seconds, field, 32)


def _required(sender: Any) -> Any:
    if sender is None:
        raise TypeError("sender is required: the key that signs this transaction")
    return sender
