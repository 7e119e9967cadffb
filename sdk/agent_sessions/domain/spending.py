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

How: one ``eth_getLogs`` over the manager's address with the four event topics (topic0 as a list) from
``from_block`` (0: the SDK keeps no deployment block) to the latest block; when few ids are wanted (at most
``FEW_IDS``) the query also filters on topic1 (the indexed id), otherwise it reads every spend of the manager
and sums them all, so a listing of a whole fleet costs one log query, not one per session. The query is built
by ``spend_log_query`` so a caller can send it in the same JSON-RPC batch as its ``eth_call`` reads
(``Manager.state``, ``Manager.sessions``, ``iter_states`` do), and the logs are decoded with the manager's ABI.

``Manager`` and the listing fill ``Budget.spent`` of NATIVE through ``with_eth_spent``: every reader of the SDK
(``SessionState.budgets``, ``Session.budgets``, ``Manager.budget``, the CLI, the fleet console, the Studio,
the ERC-7715 mapping) sees one number. A manager of the earlier layout, which reports a nonzero counter, keeps it.
"""

from __future__ import annotations

from collections import defaultdict
from typing import TYPE_CHECKING, Any, Iterable, Mapping, Sequence

from ..base.abi import ContractABI
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
    "logs_result",
    "spend_log_query",
    "with_eth_spent",
]

#: The manager's events that carry ETH leaving a session's budget.
SPEND_EVENTS = ("Executed", "TokenTransferred", "Swapped", "RelayFeePaid")

#: Up to this many ids, the log query filters on the id (topic1); beyond, it reads every spend of the manager.
FEW_IDS = 100


def _topics(abi: ContractABI) -> list[str]:
    return ["0x" + abi.event(name).topic.hex() for name in SPEND_EVENTS]


def spend_log_query(manager: Manager, ids: Iterable[int] | None = None, *, from_block: int = 0,
                    to_block: int | str = "latest") -> tuple[str, list[Any]]:
    """The ``("eth_getLogs", params)`` request for the ETH spends of ``ids`` (None: every session) of
    ``manager``, ready for ``rpc.request`` or a JSON-RPC batch."""
    topics: list[Any] = [_topics(manager.abi)]
    if ids is not None:
        wanted = sorted({int(i) for i in ids})
        if len(wanted) <= FEW_IDS:
            topics.append(["0x" + i.to_bytes(32, "big").hex() for i in wanted])
    query = {"address": manager.address, "fromBlock": hex(from_block),
             "toBlock": to_block if isinstance(to_block, str) else hex(to_block), "topics": topics}
    return "eth_getLogs", [query]


def eth_spent_from_logs(abi: ContractABI, logs: Iterable[Mapping[str, Any]], address: str) -> dict[int, int]:
    """ETH spent per session id in ``logs`` of the manager at ``address`` (decoded with its ``abi``)."""
    spent: dict[int, int] = defaultdict(int)
    for event in abi.decode_logs(logs, address=address):
        args = event.args
        if event.name == "Executed":
            amount = args["value"]
        elif event.name == "TokenTransferred":
            amount = args["amount"] if args["token"] == NATIVE else 0
        elif event.name == "Swapped":
            amount = args["amountIn"] if args["tokenIn"] == NATIVE else 0
        elif event.name == "RelayFeePaid":
            amount = args["fee"]
        else:
            continue
        if amount:
            spent[int(args["id"])] += int(amount)
    return dict(spent)


def logs_result(result: Any) -> list[dict[str, Any]]:
    """The answer to a ``spend_log_query`` taken out of a JSON-RPC batch (its error raised)."""
    if isinstance(result, RPCError):
        raise typed_error(result)
    return list(result or [])


def eth_spent(manager: Manager, ids: Iterable[int] | None = None, *, from_block: int = 0,
              to_block: int | str = "latest") -> dict[int, int]:
    """ETH spent (wei) per session id of ``manager``: ``ids`` only, or every session with None. Ids that spent
    nothing are absent. One ``eth_getLogs``."""
    wanted = None if ids is None else {int(i) for i in ids}
    method, params = spend_log_query(manager, wanted, from_block=from_block, to_block=to_block)
    logs = manager.client.rpc.request(method, params) or []
    totals = eth_spent_from_logs(manager.abi, logs, manager.address)
    return totals if wanted is None else {i: s for i, s in totals.items() if i in wanted}


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
