"""Nonce trouble: stuck transactions (mined later, replaced, or lost by the node), transactions sent with the
same key from elsewhere (before ours, or leaving a gap), a fee lookup failing after a nonce was reserved, and
two SDK clients sending with one key at once.

What the SDK guarantees for one key used by several clients (``Sender`` objects, threads or processes):
every call either returns the receipt of its own transaction, mined once, or raises a typed error, and a call
that raised left nothing on chain unless its error names the transaction (``SendUnconfirmed.tx_hash``,
``ReceiptTimeout.tx_hash``). Nonce clashes between the clients are resolved by asking the node ("nonce too
low" -> resync -> sign again; a new signature only ever goes out for a nonce the node has confirmed taken by
*another* transaction). A call that keeps clashing gives up with an ``RPCError`` ("nonce kept clashing") and
sent nothing. A waiting call whose transaction lost its nonce to another raises ``TransactionReplaced``: it
can happen with two clients on one key when the node accepts a transaction into its pool just as another one
with the same nonce is mined, and then drops it. The SDK does not sign that action again by itself (a
replacement may be a deliberate cancel): the caller decides.

These tests run on their own Anvil (a second one, on a free port): they switch automine off and on.
"""

from __future__ import annotations

import threading
import time
from typing import Any

import pytest

from agent_sessions import (
    AgentPool,
    AgentSessions,
    Job,
    ReceiptTimeout,
    RPCError,
    TransactionReplaced,
    TransientRPCError,
)
from agent_sessions.chain.signing import Signer, UnsignedTx

from ._anvil import fresh_anvil, rpc
from ._proxy import FaultProxy, wait_until
from .conftest import Books, flaky_client, nonce_of

BUDGET = 10**15


@pytest.fixture(scope="module")
def chain_url() -> Any:
    anvil = fresh_anvil()
    yield anvil.url
    anvil.stop()


@pytest.fixture
def automine(chain_url):
    """Switch automine off (``automine(False)``); it is switched back on (mining what waits) after the test."""

    def switch(on: bool) -> None:
        rpc(chain_url, "evm_setAutomine", [on])

    yield switch
    switch(True)


@pytest.fixture
def session(direct, manager, owner_key, params):
    return manager.create_session(params("nonces", eth=BUDGET), owner_key)


def raw_send(url: str, key: Any, nonce: int, to: str, value: int, fee: int = 10**10, tip: int = 10**9) -> str:
    """A plain transfer signed and sent outside the SDK (another program holding the same key)."""
    signed = Signer(key).sign(UnsignedTx(31337, nonce, 21_000, to, value, b"", fee, tip))
    return rpc(url, "eth_sendRawTransaction", [signed.raw_hex])


def spent(manager, session) -> int:
    return manager.budget(session.id).spent


def test_stuck_transaction_times_out_with_its_hash_then_mines_once(chain_url, automine, manager, session,
                                                                   agent_key, recipient):
    client = AgentSessions(chain_url)
    mine = client.manager(manager.address)
    books = Books.take(chain_url, agent=agent_key.address, recipient=recipient)
    automine(False)

    start = time.monotonic()
    with pytest.raises(ReceiptTimeout) as info:
        mine.execute(session, recipient, 5, sender=agent_key, timeout=1.0)
    assert 1.0 <= time.monotonic() - start < 3
    stuck = info.value.tx_hash
    assert stuck in str(info.value)
    assert rpc(chain_url, "eth_getTransactionByHash", [stuck])["blockNumber"] is None  # pending, not lost
    # the Sender kept its nonce in step: the next call queues behind the stuck one, no gap, no clash
    second = client.sender(agent_key).transact(manager.address, manager.encode("execute", session.id, recipient, 6,
                                                                                 b""), wait=False)
    automine(True)  # mines both, in nonce order

    assert client.sender(agent_key).wait(stuck).ok and client.sender(agent_key).wait(second).ok
    assert books.sent("agent") == 2 and books.received("recipient") == 11
    assert spent(manager, session) == 11


def test_stuck_transaction_replaced_fails_fast_with_typed_error(chain_url, automine, manager, session,
                                                                agent_key, recipient):
    client = AgentSessions(chain_url)
    books = Books.take(chain_url, agent=agent_key.address, recipient=recipient)
    n = nonce_of(chain_url, agent_key.address)
    automine(False)
    outcome: dict[str, Any] = {}

    def waiter() -> None:
        try:
            outcome["receipt"] = client.manager(manager.address).execute(session, recipient, 5, sender=agent_key,
                                                                         timeout=20)
        except Exception as exc:  # noqa: BLE001 (the test inspects it)
            outcome["error"] = exc

    thread = threading.Thread(target=waiter)
    thread.start()
    assert wait_until(lambda: nonce_of(chain_url, agent_key.address, "pending") == n + 1)
    # the key's owner cancels it: the same nonce, a 0-ETH transfer to itself, a much higher fee
    raw_send(chain_url, agent_key, n, agent_key.address, 0, fee=10**12, tip=10**11)
    rpc(chain_url, "evm_mine")
    replaced_at = time.monotonic()
    thread.join(10)

    assert not thread.is_alive()
    error = outcome.get("error")
    assert isinstance(error, TransactionReplaced), outcome
    assert error.nonce == n and error.tx_hash in str(error)
    assert time.monotonic() - replaced_at < 3  # well before its 20 s timeout
    assert books.sent("agent") == 1 and books.received("recipient") == 0
    assert spent(manager, session) == 0
    automine(True)
    assert client.manager(manager.address).execute(session, recipient, 1, sender=agent_key).ok  # and carries on
    assert books.sent("agent") == 2


def test_transaction_lost_by_the_node_is_sent_again_and_mined_once(chain_url, automine, manager, session,
                                                                   agent_key, recipient):
    client = AgentSessions(chain_url)
    books = Books.take(chain_url, agent=agent_key.address, recipient=recipient)
    n = nonce_of(chain_url, agent_key.address)
    automine(False)
    outcome: dict[str, Any] = {}

    def waiter() -> None:
        outcome["receipt"] = client.manager(manager.address).execute(session, recipient, 5, sender=agent_key,
                                                                     timeout=15)

    thread = threading.Thread(target=waiter)
    thread.start()
    assert wait_until(lambda: nonce_of(chain_url, agent_key.address, "pending") == n + 1)
    pending = rpc(chain_url, "txpool_content")["pending"]
    (lost,) = [tx["hash"] for tx in pending[agent_key.address.lower()].values()]
    rpc(chain_url, "anvil_dropTransaction", [lost])  # the node forgets it (a restart, an evicted pool entry)
    assert nonce_of(chain_url, agent_key.address, "pending") == n
    assert wait_until(lambda: nonce_of(chain_url, agent_key.address, "pending") == n + 1, timeout=5)  # sent again
    rpc(chain_url, "evm_mine")
    thread.join(10)

    assert outcome["receipt"].ok and outcome["receipt"].tx_hash == lost
    assert books.sent("agent") == 1 and books.received("recipient") == 5
    assert spent(manager, session) == 5


def test_transaction_sent_elsewhere_with_the_same_key_is_detected_and_resynced(chain_url, manager, session,
                                                                               agent_key, recipient):
    client = AgentSessions(chain_url)
    mine = client.manager(manager.address)
    books = Books.take(chain_url, agent=agent_key.address, recipient=recipient)
    mine.execute(session, recipient, 1, sender=agent_key)  # the Sender now caches the next nonce
    raw_send(chain_url, agent_key, nonce_of(chain_url, agent_key.address), recipient, 100)  # takes that nonce

    assert mine.execute(session, recipient, 2, sender=agent_key).ok  # "nonce too low" -> resync -> next nonce

    assert books.sent("agent") == 3 and books.received("recipient") == 103
    assert spent(manager, session) == 3


def test_nonce_gap_left_by_another_client_is_filled_and_the_sdk_resyncs(chain_url, manager, session, agent_key,
                                                                        recipient):
    client = AgentSessions(chain_url)
    mine = client.manager(manager.address)
    books = Books.take(chain_url, agent=agent_key.address, recipient=recipient)
    n = nonce_of(chain_url, agent_key.address)
    raw_send(chain_url, agent_key, n + 1, recipient, 100)  # queued behind a gap at n

    assert mine.execute(session, recipient, 1, sender=agent_key).ok  # fills n; the queued n + 1 follows
    assert wait_until(lambda: nonce_of(chain_url, agent_key.address) == n + 2)
    assert mine.execute(session, recipient, 2, sender=agent_key).ok  # its cached n + 1 is taken: resync

    assert books.sent("agent") == 3 and books.received("recipient") == 103
    assert spent(manager, session) == 3


def test_fee_lookup_failing_after_the_nonce_was_fetched_leaves_no_gap(chain_url, manager, session, agent_key,
                                                                      recipient):
    with FaultProxy(chain_url) as proxy:
        client = flaky_client(proxy.url)
        mine = client.manager(manager.address)
        books = Books.take(chain_url, agent=agent_key.address, recipient=recipient)
        for method in ("eth_feeHistory", "eth_gasPrice", "eth_maxPriorityFeePerGas"):
            proxy.add(method, "http", status=503, times=1000)

        with pytest.raises(TransientRPCError, match="eth_feeHistory"):
            mine.execute(session, recipient, 1, sender=agent_key)
        assert books.sent("agent") == 0
        proxy.clear()

        start = time.monotonic()
        assert mine.execute(session, recipient, 2, sender=agent_key).ok  # its nonce, not one past a hole
        assert time.monotonic() - start < 2
    assert books.sent("agent") == 1 and books.received("recipient") == 2
    assert nonce_of(chain_url, agent_key.address, "pending") == nonce_of(chain_url, agent_key.address)


def _run_client(url: str, manager_address: str, session_id: int, key: Any, recipient: str, values: list[int],
                out: dict[str, Any], barrier: threading.Barrier) -> None:
    client = AgentSessions(url)  # its own Sender for the shared key
    manager = client.manager(manager_address)
    landed, failed = [], []
    barrier.wait()
    for value in values:
        try:
            receipt = manager.execute(session_id, recipient, value, sender=key)
            assert receipt.ok and receipt.sender.lower() == key.address.lower()
            landed.append(value)
        except RPCError as exc:
            failed.append((value, exc))
    out["landed"], out["failed"] = landed, failed


def test_two_clients_on_one_key_each_action_lands_once_or_fails_clearly(chain_url, manager, session, agent_key):
    """Two clients, each with its own Sender for the same key, each paying its own recipient distinct powers of
    two: the recipients' balances then spell out exactly which actions landed."""
    recipients = [f"0x{'a1' * 20}", f"0x{'b2' * 20}"]
    books = Books.take(chain_url, agent=agent_key.address, a=recipients[0], b=recipients[1])
    values = [[2**i for i in range(15)], [2**i for i in range(15, 30)]]
    outs: list[dict[str, Any]] = [{}, {}]
    barrier = threading.Barrier(2)
    threads = [threading.Thread(target=_run_client, args=(chain_url, manager.address, session.id, agent_key,
                                                          recipients[k], values[k], outs[k], barrier))
               for k in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)

    landed = outs[0]["landed"] + outs[1]["landed"]
    for out in outs:
        for value, error in out["failed"]:
            # the two ways a call may give up here, both saying nothing happened
            assert isinstance(error, TransactionReplaced) or "nonce kept clashing" in str(error), error
    assert books.received("a") == sum(outs[0]["landed"])  # exactly the ones reported landed, once each
    assert books.received("b") == sum(outs[1]["landed"])
    assert books.sent("agent") == len(landed)  # no stray transaction either
    assert spent(manager, session) == sum(landed)
    assert len(landed) >= 20, outs  # clashes are resolved, not merely reported


def test_two_agent_pools_on_one_key_each_job_lands_once_or_fails_clearly(chain_url, manager, session, agent_key):
    recipients = [f"0x{'c3' * 20}", f"0x{'d4' * 20}"]
    books = Books.take(chain_url, agent=agent_key.address, a=recipients[0], b=recipients[1])
    results: list[list[Any]] = [[], []]
    barrier = threading.Barrier(2)

    def pool(k: int) -> None:
        client = AgentSessions(chain_url)
        jobs = [Job(session.id, agent_key, recipients[k], 2 ** (15 * k + i)) for i in range(15)]
        barrier.wait()
        results[k] = AgentPool(client.manager(manager.address), receipt_timeout=10).run(jobs)

    threads = [threading.Thread(target=pool, args=(k,)) for k in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)

    for k, name in enumerate("ab"):
        ok = [r.job.value for r in results[k] if r.ok]
        for r in results[k]:
            if not r.ok:  # refused for its nonce ("nonce too low") or replaced while pending
                assert isinstance(r.error, RPCError) and "nonce" in str(r.error).lower(), r.error
        assert books.received(name) == sum(ok)
    landed = sum(r.ok for rs in results for r in rs)
    assert books.sent("agent") == landed
    assert spent(manager, session) == sum(books.received(n) for n in "ab")
    assert landed >= 15
