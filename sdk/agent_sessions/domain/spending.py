"""ETH spent per session, summed from the manager's events.

Why: since the storage layout v2 a manager keeps no lifetime counter of the ETH a session spent (a session is
two storage words; ``getBudget(id, NATIVE).spent`` and the ETH row of ``getSession(id)`` say 0). Every ETH spend
is in an event of the manager instead, and a reverted transaction emits none, so their sum per session id is
exactly what the counter held:

====================  ===========================================
``Executed``          ``value`` (``execute`` and every call of ``executeBatch``)
``TokenTransferred``  ``amount`` when ``token`` is NATIVE
``Swapped``           ``amountIn`` when ``tokenIn`` is NATIVE
``RelayFeePaid``      ``fee`` (a relay fee is paid in ETH)
====================  ===========================================

ERC-20 budgets still count ``spent`` on chain; only the ETH row is filled in here. A child's spends carry the
child's id, so they never count as the parent's.

How: one ``eth_getLogs`` over the manager's address with the four event topics (topic0 as a list) from the
block the manager was deployed in (``Manager.first_block``, found once by bisection over past states; genesis on
a node that keeps none) to the latest block; when few ids are wanted (at most ``FEW_IDS``) the query also filters
on topic1 (the indexed id), otherwise it reads every spend of the manager and sums them all, so a listing of a
whole fleet costs one log query, not one per session. The query is built by ``spend_log_query`` so a caller can
send it in the same JSON-RPC batch as its ``eth_call`` reads (``Manager.state``, ``Manager.sessions``,
``iter_states`` do) and read the answer with ``spent_from_answer``; the amounts are read at the positions the
manager's ABI gives for each event's arguments.

Hosted providers cap ``eth_getLogs`` (a block range of 2,000 or 10,000, or 10,000 logs per answer) and refuse
a query past the cap with a JSON-RPC error. Then, and only then, the logs are read again in consecutive block
ranges, halving the range until the node accepts it and keeping that size for the rest (``eth_spent``); a
transport failure is not taken for a cap and is raised.

``Manager`` and the listing fill ``Budget.spent`` of NATIVE through ``with_eth_spent``: every reader of the SDK
(``SessionState.budgets``, ``Session.budgets``, ``Manager.budget``, the CLI, the fleet console, the Studio,
the ERC-7715 mapping) sees one number. A manager of the earlier layout, which reports a nonzero counter, keeps it.
"""

from __future__ import annotations

import logging
from collections import defaultdict
from typing import TYPE_CHECKING, Any, Iterable, Mapping, Sequence

from ..base.abi import ContractABI, EventDef
from ..base.errors import RPCError, typed_error
from ..base.models import NATIVE, Budget, SessionState

if TYPE_CHECKING:
    from .manager import Manager

__all__ = [
    "FEW_IDS",
    "SPEND_EVENTS",
    "budget_with_eth_spent",
    "eth_spent",
    "eth_spent_from_logs",
    "fill_eth_spent",
    "spend_log_query",
    "spent_from_answer",
    "with_eth_spent",
]

log = logging.getLogger(__name__)

#: The manager's events that carry ETH leaving a session's budget.
SPEND_EVENTS = ("Executed", "TokenTransferred", "Swapped", "RelayFeePaid")

#: Up to this many ids, the log query filters on the id (topic1); beyond, it reads every spend of the manager.
FEW_IDS = 100


def _topics(abi: ContractABI) -> list[str]:
    return ["0x" + abi.event(name).topic.hex() for name in SPEND_EVENTS]


def spend_log_query(manager: Manager, ids: Iterable[int] | None = None, *, from_block: int | None = None,
                    to_block: int | str = "latest") -> tuple[str, list[Any]]:
    """The ``("eth_getLogs", params)`` request for the ETH spends of ``ids`` (None: every session) of
    ``manager`` from ``from_block`` (None: the manager's ``first_block``), ready for ``rpc.request`` or a JSON-RPC
    batch."""
    if from_block is None:
        from_block = manager.first_block
    topics: list[Any] = [_topics(manager.abi)]
    if ids is not None:
        wanted = sorted({int(i) for i in ids})
        if len(wanted) <= FEW_IDS:
            topics.append(["0x" + i.to_bytes(32, "big").hex() for i in wanted])
    query = {"address": manager.address, "fromBlock": hex(from_block),
             "toBlock": to_block if isinstance(to_block, str) else hex(to_block), "topics": topics}
    return "eth_getLogs", [query]


#: Per spend event: the argument holding the amount, and the one naming the token (None: always ETH).
_AMOUNT_AND_TOKEN = {
    "Executed": ("value", None),
    "TokenTransferred": ("amount", "token"),
    "Swapped": ("amountIn", "tokenIn"),
    "RelayFeePaid": ("fee", None),
}

_STATIC = ("uint", "int", "address", "bool", "bytes")  # one word each (bytesN only; dynamic bytes excluded below)


def _where(event: EventDef, name: str) -> tuple[bool, int]:
    """Where argument ``name`` of ``event`` sits: (True, topic index) or (False, data word index)."""
    k = event.names.index(name)
    if event.indexed[k]:
        return True, 1 + sum(event.indexed[:k])
    before = [t for t, ix in zip(event.types[:k], event.indexed[:k]) if not ix]
    if not all(t.startswith(_STATIC) and t not in ("bytes", "string") and "[" not in t for t in before):
        raise ValueError(f"{event.name}.{name} follows a dynamic argument")  # not so in this ABI
    return False, len(before)


_Readers = dict[str, tuple[str, tuple[bool, int], tuple[bool, int] | None]]
_READERS: dict[int, tuple[ContractABI, _Readers]] = {}


def _readers(abi: ContractABI) -> _Readers:
    """topic0 -> (event name, where its amount is, where its token is): taken from the ABI's event definitions
    (once per ABI object)."""
    cached = _READERS.get(id(abi))
    if cached is not None and cached[0] is abi:
        return cached[1]
    out: _Readers = {}
    for name, (amount, token) in _AMOUNT_AND_TOKEN.items():
        event = abi.event(name)
        out["0x" + event.topic.hex()] = (name, _where(event, amount), _where(event, token) if token else None)
    _READERS[id(abi)] = (abi, out)
    return out


def _read(log: Mapping[str, Any], where: tuple[bool, int]) -> int:
    in_topic, k = where
    if in_topic:
        return int(log["topics"][k], 16)
    data: str = log["data"]
    return int(data[2 + 64 * k : 66 + 64 * k], 16)


_NATIVE_INT = int(NATIVE, 16)


def eth_spent_from_logs(abi: ContractABI, logs: Iterable[Mapping[str, Any]], address: str) -> dict[int, int]:
    """ETH spent per session id in ``logs`` (JSON-RPC form) of the manager at ``address``, its ``abi`` naming the
    events. Why not ``abi.decode_logs``: the four events are static words at positions the ABI gives, and reading
    those words is about ten times faster than decoding every log, which a fleet's history would pay on each
    listing."""
    readers = _readers(abi)
    wanted = address.lower()
    spent: dict[int, int] = defaultdict(int)
    for entry in logs:
        topics = entry.get("topics") or []
        reader = readers.get(str(topics[0]).lower()) if topics else None
        if reader is None or str(entry.get("address", "")).lower() != wanted:
            continue
        _, amount_at, token_at = reader
        if token_at is not None and _read(entry, token_at) != _NATIVE_INT:
            continue
        amount = _read(entry, amount_at)
        if amount:
            spent[int(topics[1], 16)] += amount
    return dict(spent)


def _refused(exc: RPCError) -> bool:
    """The node answered with a JSON-RPC error (a negative code), as providers refuse a log query over more blocks
    or logs than they serve; a transport failure (no code, or an HTTP status) is no such refusal."""
    return isinstance(exc.code, int) and exc.code < 0


def _logs_in_ranges(manager: Manager, wanted: set[int] | None, first: int, last: int) -> list[dict[str, Any]]:
    """The spend logs of blocks ``first``..``last`` in consecutive ranges the node accepts: after a refusal the
    range is halved (and stays so), down to one block, whose refusal is raised."""
    rpc = manager.client.rpc
    logs: list[dict[str, Any]] = []
    size = max(1, (last - first + 1) // 2)  # the whole range was just refused
    start = first
    while start <= last:
        end = min(last, start + size - 1)
        method, params = spend_log_query(manager, wanted, from_block=start, to_block=end)
        try:
            logs.extend(rpc.request_once(method, params) or [])
        except RPCError as exc:
            if size == 1 or not _refused(exc):
                raise typed_error(exc) from exc
            size = max(1, size // 2)
            log.debug("eth_getLogs of %d blocks refused (%s); reading %d at a time", end - start + 1, exc, size)
            continue
        start = end + 1
    return logs


def _logs_after_refusal(manager: Manager, wanted: set[int] | None, first: int, to_block: int | str,
                        refusal: RPCError) -> list[dict[str, Any]]:
    """The spend logs from ``first`` to ``to_block`` read in ranges, after the node refused one query over them
    all; any other failure is raised."""
    if not _refused(refusal):
        raise typed_error(refusal)
    rpc = manager.client.rpc
    last = to_block if isinstance(to_block, int) else int(rpc.get_block(to_block)["number"], 16)
    return _logs_in_ranges(manager, wanted, first, last)


def _sums(manager: Manager, logs: Iterable[Mapping[str, Any]], wanted: set[int] | None) -> dict[int, int]:
    totals = eth_spent_from_logs(manager.abi, logs, manager.address)
    return totals if wanted is None else {i: s for i, s in totals.items() if i in wanted}


def eth_spent(manager: Manager, ids: Iterable[int] | None = None, *, from_block: int | None = None,
              to_block: int | str = "latest") -> dict[int, int]:
    """ETH spent (wei) per session id of ``manager``: ``ids`` only, or every session with None, from
    ``from_block`` (None: the manager's ``first_block``). Ids that spent nothing are absent. One ``eth_getLogs``,
    or several over consecutive block ranges when the node refuses one over them all."""
    wanted = None if ids is None else {int(i) for i in ids}
    first = manager.first_block if from_block is None else from_block
    method, params = spend_log_query(manager, wanted, from_block=first, to_block=to_block)
    try:
        logs = manager.client.rpc.request(method, params) or []
    except RPCError as exc:
        logs = _logs_after_refusal(manager, wanted, first, to_block, exc)
    return _sums(manager, logs, wanted)


def spent_from_answer(manager: Manager, ids: Iterable[int] | None, answer: Any) -> dict[int, int]:
    """ETH spent per session id from the ``answer`` a JSON-RPC batch gave to ``spend_log_query(manager, ids)``
    (``ids`` only, or every session with None). When the node refused that one query (a provider's range or
    result cap), the logs are read again in ranges it accepts; any other error is raised, typed."""
    wanted = None if ids is None else {int(i) for i in ids}
    if isinstance(answer, RPCError):
        return _sums(manager, _logs_after_refusal(manager, wanted, manager.first_block, "latest", answer), wanted)
    return _sums(manager, list(answer or []), wanted)


def with_eth_spent(state: SessionState, spent: Mapping[int, int]) -> SessionState:
    """``state`` with the ETH budget's ``spent`` taken from ``spent`` (by session id, e.g. ``eth_spent``'s answer).
    A nonzero counter reported by the chain (a manager of the earlier layout) is kept."""
    amount = spent.get(state.id, 0)
    budget = state.budgets.get(NATIVE)
    if not amount or budget is None or budget.spent:
        return state
    budgets = dict(state.budgets)
    budgets[NATIVE] = budget.model_copy(update={"spent": amount})
    return state.model_copy(update={"budgets": budgets})


def budget_with_eth_spent(budget: Budget, session_id: int, spent: Mapping[int, int]) -> Budget:
    """``with_eth_spent`` for one ``getBudget`` row."""
    amount = spent.get(session_id, 0)
    if budget.token != NATIVE or not amount or budget.spent:
        return budget
    return budget.model_copy(update={"spent": amount})


def fill_eth_spent(manager: Manager, states: Sequence[SessionState]) -> list[SessionState]:
    """``states`` of ``manager`` with their ETH spent filled in (one log query for all of them)."""
    if not states:
        return []
    spent = eth_spent(manager, [s.id for s in states])
    return [with_eth_spent(s, spent) for s in states]
