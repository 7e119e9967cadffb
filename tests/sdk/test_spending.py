"""ETH spent, summed from the manager's events (``domain/spending.py``).

Since the storage layout v2 a manager keeps no lifetime counter of a session's ETH spending: ``getBudget(id,
NATIVE).spent`` is 0 on chain. The SDK fills ``Budget.spent`` of ETH from the spend events instead (Executed,
TokenTransferred of NATIVE, Swapped selling NATIVE, RelayFeePaid), wherever it reads sessions: ``state``,
``sessions``, the listing, ``budget``, ``Session`` snapshots. These tests spend ETH every way there is, across
several sessions, with reverted transactions in between, and check every reader against what actually left."""

from __future__ import annotations

import subprocess
import time
from pathlib import Path
from typing import Any, Iterator

import pytest

from agent_sessions import NATIVE, AgentSessions, BatchCallFailed, BudgetExceeded
from agent_sessions.base.errors import RPCError
from agent_sessions.domain import spending
from agent_sessions.domain.spending import eth_spent
from agent_sessions.fleet.chains import probe_chain_id
from agent_sessions.wallet import set_max_relay_fee, sign_execute, submit_execute

from scripts._ports import free_port

from .conftest import ETHER

MINED = {"gas": 1_500_000}  # a fixed gas limit skips the estimate: the revert is mined


def _every_reader(manager, session) -> dict[str, int]:
    """ETH spent of ``session`` as each way of reading it reports."""
    sid = session.id
    listed = {s.id: s for s in manager.list_sessions()}
    return {
        "state": manager.state(sid).budget(NATIVE).spent,
        "sessions": manager.sessions([sid])[0].state.budgets[NATIVE].spent,
        "list_sessions": listed[sid].budgets[NATIVE].spent,
        "budget": manager.budget(sid).spent,
        "session.budget": session.budget().spent,
        "snapshot": session.refresh().budgets[NATIVE].spent,
        "eth_spent": eth_spent(manager, [sid]).get(sid, 0),
    }


def test_eth_spent_is_what_left_through_every_door_across_sessions(manager, make_session, client, owner_key,
                                                                    agent_key, stranger_key, target, token, dex):
    paying = make_session(budgets={NATIVE: ETHER, token.address: 1})  # a token row: a swap's output needs one
    other = make_session(eth=ETHER)
    idle = make_session(eth=ETHER)
    stranger = stranger_key.address
    out_before = client.balance(stranger) + client.balance(target.address) + client.balance(dex.address)

    paying.execute(stranger, 100, sender=agent_key)
    paying.execute_batch([(stranger, 10), (target.address, 20, target.encode("ping"))], sender=agent_key)
    paying.transfer_token(NATIVE, stranger, 1_000, sender=agent_key)
    paying.swap(NATIVE, 5_000, token.address, 5_000, dex.address,
                dex.encode("swap", NATIVE, 5_000, token.address, manager.address), sender=agent_key)
    paying.transfer_token(token.address, stranger, 1, sender=agent_key)  # an ERC-20 spend: not ETH
    set_max_relay_fee(paying, 10**15, owner_key)
    relayer_before = client.balance(owner_key.address)
    signed = sign_execute(paying, stranger, 7, b"", agent_key, relay_fee=300)
    receipt = submit_execute(signed, owner_key, client=client)
    assert client.balance(owner_key.address) - relayer_before == 300 - receipt.gas_used * receipt.effective_gas_price
    other.execute(stranger, 42, sender=agent_key)

    # reverted transactions, mined: they move nothing and emit nothing
    with pytest.raises(BatchCallFailed):
        paying.execute_batch([(stranger, 50), (target.address, 0, target.encode("fail", 7))], sender=agent_key,
                             **MINED)
    with pytest.raises(BudgetExceeded):
        other.execute(stranger, 2 * ETHER, sender=agent_key, **MINED)

    spent_paying = 100 + 10 + 20 + 1_000 + 5_000 + 7 + 300
    out_after = client.balance(stranger) + client.balance(target.address) + client.balance(dex.address)
    assert out_after - out_before == spent_paying - 300 + 42  # the relay fee went to the relayer

    assert set(_every_reader(manager, paying).values()) == {spent_paying}
    assert set(_every_reader(manager, other).values()) == {42}
    assert set(_every_reader(manager, idle).values()) == {0}
    # what was granted is what is left plus what was spent
    assert manager.budget(paying).available == ETHER - spent_paying
    assert manager.budget(other).available == ETHER - 42
    # the chain itself keeps no ETH counter; ERC-20 budgets still count theirs
    assert manager.call("getBudget", paying.id, NATIVE)[2] == 0
    assert manager.budget(paying, token.address).spent == 1
    assert paying.state.budgets[token.address].spent == 1
    # one query for the whole manager
    assert {k: v for k, v in eth_spent(manager).items() if k in (paying.id, other.id, idle.id)} == {
        paying.id: spent_paying, other.id: 42}


def test_a_childs_spending_is_not_the_parents(manager, make_session, make_child, agent_key, sub_key, stranger_key):
    root = make_session(eth=ETHER)
    child = make_child(root, sub_key, eth=10**17)
    grandchild = make_child(child, stranger_key, eth=10**16, sender=sub_key)
    grandchild.execute(stranger_key.address, 3, sender=stranger_key)
    child.execute(stranger_key.address, 123, sender=sub_key)
    root.execute(stranger_key.address, 5, sender=agent_key)

    assert set(_every_reader(manager, root).values()) == {5}
    assert set(_every_reader(manager, child).values()) == {123}
    assert set(_every_reader(manager, grandchild).values()) == {3}
    assert [c.budgets[NATIVE].spent for c in root.children] == [123]
    assert manager.budget(root).available == ETHER - 10**17 - 5


def _count_log_queries(client, monkeypatch) -> list[str]:
    """Every eth_getLogs the client sends, alone or in a batch."""
    seen: list[str] = []
    rpc = client.rpc
    request, batch = rpc.request, rpc.batch

    def counted_request(method: str, params: Any = ()) -> Any:
        seen.append(method)
        return request(method, params)

    def counted_batch(calls: Any) -> Any:
        seen.extend(m for m, _ in calls)
        return batch(calls)

    monkeypatch.setattr(rpc, "request", counted_request)
    monkeypatch.setattr(rpc, "batch", counted_batch)
    return seen


@pytest.mark.parametrize("few_ids", [spending.FEW_IDS, 0], ids=["by-id", "whole-manager"])
def test_a_listing_costs_one_log_query_and_both_query_shapes_agree(manager, make_session, client, agent_key,
                                                                   stranger_key, monkeypatch, few_ids):
    monkeypatch.setattr(spending, "FEW_IDS", few_ids)
    sessions = [make_session(eth=ETHER) for _ in range(4)]
    for i, s in enumerate(sessions):
        s.execute_batch([(stranger_key.address, i + 1)] * (i + 1), sender=agent_key)
    expected = {s.id: (i + 1) ** 2 for i, s in enumerate(sessions)}
    seen = _count_log_queries(client, monkeypatch)

    listed = manager.list_sessions(page_size=2)
    assert seen.count("eth_getLogs") == 1
    assert {s.id: s.budgets[NATIVE].spent for s in listed if s.id in expected} == expected
    seen.clear()
    fetched = manager.sessions(list(expected), chunk_size=3)
    assert seen.count("eth_getLogs") == 1
    assert {s.id: s.budgets[NATIVE].spent for s in fetched} == expected


def test_the_sum_reads_each_event_by_its_abi_and_counts_only_eth():
    """Without a node: one log of each kind, the ERC-20 ones and another contract's ignored."""
    import eth_abi

    from agent_sessions.base.abi import artifact_abi
    from agent_sessions.domain.spending import eth_spent_from_logs

    abi = artifact_abi("IAgentSessions")
    me, elsewhere = "0x" + "ab" * 20, "0x" + "cd" * 20
    erc20, payee = "0x" + "11" * 20, "0x" + "22" * 20

    def word(value: Any) -> str:
        return "0x" + eth_abi.encode(["address" if isinstance(value, str) else "uint256"], [value]).hex()

    def log(name: str, sid: int, indexed: list, data: list, types: list, address: str = me) -> dict:
        topics = ["0x" + abi.event(name).topic.hex(), word(sid)] + [word(v) for v in indexed]
        return {"address": address, "topics": topics, "data": "0x" + eth_abi.encode(types, data).hex()}

    logs = [
        log("Executed", 1, [payee], [100, b"\x12\x34\x56\x78"], ["uint256", "bytes4"]),
        log("TokenTransferred", 1, [NATIVE, payee], [20], ["uint256"]),
        log("TokenTransferred", 1, [erc20, payee], [999], ["uint256"]),  # an ERC-20: not ETH
        log("Swapped", 2, [payee], [NATIVE, 3, erc20, 4], ["address", "uint256", "address", "uint256"]),
        log("Swapped", 2, [payee], [erc20, 777, NATIVE, 5], ["address", "uint256", "address", "uint256"]),  # bought ETH
        log("RelayFeePaid", 2, [payee], [7], ["uint256"]),
        log("Executed", 3, [payee], [0, b"\x00" * 4], ["uint256", "bytes4"]),  # no value
        log("Executed", 1, [payee], [10**18, b"\x00" * 4], ["uint256", "bytes4"], address=elsewhere),
        log("SessionFunded", 1, [NATIVE, payee], [10**18], ["uint256"]),  # not a spend
    ]
    assert eth_spent_from_logs(abi, logs, me) == {1: 120, 2: 10}


# ---------------------------------------------------------------------------------------------------------------
# Where the history is read from, and nodes that refuse to read it all at once
# ---------------------------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def archive_node() -> Iterator[str]:
    """An Anvil that keeps every past state (the test node runs with ``--prune-history``, as hosted nodes that are
    not archives do), on a free port."""
    binary = Path(__file__).resolve().parents[2] / "node_modules" / ".bin" / "anvil"
    url = f"http://127.0.0.1:{free_port()}"
    process = subprocess.Popen([str(binary), "--port", url.rsplit(":", 1)[1], "--silent", "--hardfork", "prague"],
                               stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 30
        while probe_chain_id(url, timeout=1.0) is None:
            assert process.poll() is None and time.monotonic() < deadline, "the archive Anvil did not start"
            time.sleep(0.1)
        yield url
    finally:
        process.terminate()
        process.wait(timeout=10)


def test_on_an_archive_node_spends_are_read_from_the_block_the_manager_was_deployed_in(archive_node, params,
                                                                                        owner_key, agent_key,
                                                                                        stranger_key):
    client = AgentSessions(archive_node)
    factory = client.deploy_factory(owner_key)
    for _ in range(3):
        client.rpc.request("evm_mine", [])
    fresh = factory.deploy_manager(owner_key.address, salt=0, sender=owner_key)
    deployed_in = client.rpc.block_number()  # one transaction per block on this node
    session = fresh.create_session(params(), owner_key)
    session.execute(stranger_key.address, 5, sender=agent_key)

    assert fresh.first_block == deployed_in > 4
    assert client.rpc.request("eth_getCode", [fresh.address, hex(deployed_in - 1)]) == "0x"
    (query,) = spending.spend_log_query(fresh)[1]
    assert query["fromBlock"] == hex(deployed_in)
    assert fresh.state(session.id).budget(NATIVE).spent == 5


def test_a_node_without_past_state_has_the_history_read_from_genesis(manager, make_session, client, agent_key,
                                                                     stranger_key):
    session = make_session(eth=ETHER)
    session.execute(stranger_key.address, 77, sender=agent_key)
    assert manager.first_block == 0  # the test node prunes its past states
    (query,) = spending.spend_log_query(manager)[1]
    assert query["fromBlock"] == "0x0"
    assert set(_every_reader(manager, session).values()) == {77}


CAP = 3  # blocks per eth_getLogs the capped node serves


class _CappedNode:
    """Stands in for a hosted provider that refuses ``eth_getLogs`` over more than ``CAP`` blocks (a JSON-RPC
    error, as Alchemy's and QuickNode's are); every other request goes to the node. Records the ranges it served."""

    def __init__(self, rpc: Any, monkeypatch: Any) -> None:
        self.rpc, self.served, self.refused = rpc, [], 0
        self._request_once, self._batch_once = rpc.request_once, rpc.batch_once
        monkeypatch.setattr(rpc, "request_once", self.request_once)
        monkeypatch.setattr(rpc, "batch_once", self.batch_once)

    def _range(self, params: Any) -> tuple[int, int]:
        query = params[0]
        bound = (lambda tag: self.rpc.block_number() if tag == "latest" else int(tag, 16))
        return bound(query["fromBlock"]), bound(query["toBlock"])

    def _refusal(self, method: str, params: Any) -> RPCError | None:
        if method != "eth_getLogs":
            return None
        low, high = self._range(params)
        if high - low + 1 > CAP:
            self.refused += 1
            return RPCError(f"query exceeds max block range {CAP}", code=-32602, method=method)
        self.served.append((low, high))
        return None

    def request_once(self, method: str, params: Any = ()) -> Any:
        refusal = self._refusal(method, params)
        if refusal is not None:
            raise refusal
        return self._request_once(method, params)

    def batch_once(self, calls: Any) -> list[Any]:
        refusals = [self._refusal(m, p) for m, p in calls]
        answers = self._batch_once(calls)
        return [r if r is not None else a for r, a in zip(refusals, answers)]


def test_a_node_capping_the_log_range_is_read_in_ranges_it_serves(manager, make_session, client, agent_key,
                                                                    stranger_key, monkeypatch):
    first = make_session(eth=ETHER)
    second = make_session(eth=ETHER)
    for n in range(1, 5):  # spends spread over several blocks
        first.execute(stranger_key.address, n, sender=agent_key)
        second.execute(stranger_key.address, 10 * n, sender=agent_key)
    assert client.rpc.block_number() - manager.first_block + 1 > 4 * CAP  # the history is over the cap

    node = _CappedNode(client.rpc, monkeypatch)
    assert set(_every_reader(manager, first).values()) == {1 + 2 + 3 + 4}
    assert set(_every_reader(manager, second).values()) == {100}
    assert node.refused and all(high - low + 1 <= CAP for low, high in node.served)

    # one reading covers every block from the deployment to the latest once, in order
    node.served.clear()
    assert eth_spent(manager, [first.id, second.id]) == {first.id: 10, second.id: 100}
    assert node.served[0][0] == manager.first_block and node.served[-1][1] == client.rpc.block_number()
    assert all(b[0] == a[1] + 1 for a, b in zip(node.served, node.served[1:]))


def test_a_transport_failure_of_the_log_query_is_raised_not_read_in_ranges(manager, make_session, client,
                                                                            monkeypatch):
    session = make_session(eth=ETHER)
    rpc = client.rpc
    batch_once = rpc.batch_once
    sent: list[str] = []

    def cut(calls: Any) -> list[Any]:
        sent.extend(m for m, _ in calls)
        answers = batch_once(calls)
        return [RPCError("connection reset by peer", method=m) if m == "eth_getLogs" else a
                for (m, _), a in zip(calls, answers)]

    manager.first_block  # looked up before the failures start
    monkeypatch.setattr(rpc, "batch_once", cut)
    monkeypatch.setattr(rpc, "request_once", lambda *a: pytest.fail("a transport failure was read in ranges"))
    with pytest.raises(RPCError, match="connection reset"):
        manager.state(session.id)
    assert sent.count("eth_getLogs") == 1
