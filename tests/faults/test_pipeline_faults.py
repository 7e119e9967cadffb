"""Faults on JSON-RPC batches, through the SDK's pipelined paths: ``create_sessions`` (estimates in one batch,
raw sends in one batch, receipts polled in batches) and ``AgentPool.run`` (the same for executes).

A batch can fail as a whole (dropped, HTTP error, late, cut short), item by item (JSON-RPC errors), or come back
wrong (stale, reordered, items swapped or missing). Every recoverable case must end with each session created
once and each job executed once; a persistent one with typed errors and nothing half done.
"""

from __future__ import annotations

import time

import pytest

from agent_sessions import NATIVE, AgentPool, Job, SessionParams, TransientRPCError

from .conftest import RECEIPT_TIMEOUT, TIMEOUT, Books, flaky_client, nonce_of

SESSIONS = 12
CHUNK = 3  # 4 createSessions transactions in one batch
PAY = 3

BATCH_FAULTS = {
    "drop": {"kind": "drop"},
    "forward-drop": {"kind": "forward_drop"},
    "late-copy": {"kind": "delay", "delay": TIMEOUT + 0.3, "forward": "after"},
    "http503": {"kind": "http", "status": 503},
    "item-errors": {"kind": "rpc_error", "code": -32603, "message": "header not found"},
    "item-errors-after-forward": {"kind": "rpc_error", "code": -32603, "message": "internal error", "forward": True},
    "duplicate": {"kind": "duplicate"},
    "reorder": {"kind": "reorder"},
    "swap-ids": {"kind": "swap_ids"},
    "omit": {"kind": "omit"},
    "truncate": {"kind": "truncate"},
}
CASES = [
    ("eth_sendRawTransaction", f) for f in BATCH_FAULTS
] + [
    ("eth_getTransactionReceipt", f) for f in ("drop", "http503", "item-errors", "duplicate", "reorder", "swap-ids",
                                               "omit", "truncate")
] + [
    ("eth_estimateGas", f) for f in ("drop", "http503", "item-errors", "duplicate", "reorder", "omit", "truncate")
]


def workload(client, manager_address, owner_key, agent_key, recipient, prefix):
    """Open SESSIONS sessions in one pipelined call, then have the agent pay PAY from each (one AgentPool run)."""
    manager = client.manager(manager_address)
    params = [
        SessionParams(agent=agent_key.address, expiry="1d", budgets={NATIVE: 10**15}, any_target=True,
                      label=f"{prefix}-{i}")
        for i in range(SESSIONS)
    ]
    sessions = manager.create_sessions(params, owner_key, chunk_size=CHUNK)
    jobs = [Job(session=s.id, agent=agent_key, target=recipient, value=PAY, tag=s.label) for s in sessions]
    results = AgentPool(manager, receipt_timeout=RECEIPT_TIMEOUT).run(jobs)
    return sessions, results


@pytest.mark.parametrize("method, fault", CASES, ids=[f"{m}-{f}" for m, f in CASES])
def test_batched_workload_lands_exactly_once_through_fault(method, fault, proxy, flaky, chain_url, manager,
                                                           owner_key, agent_key, recipient):
    if fault == "duplicate":  # a previous answer per method to replay, from another client
        workload(flaky, manager.address, owner_key, agent_key, recipient, "warm")
    client = flaky_client(proxy.url)
    books = Books.take(chain_url, owner=owner_key.address, agent=agent_key.address, recipient=recipient)
    count_before = manager.count()
    rule = proxy.add(method, times=2, **BATCH_FAULTS[fault])

    sessions, results = workload(client, manager.address, owner_key, agent_key, recipient, "job")

    # the SDK's answers are the real ones
    assert [s.label for s in sessions] == [f"job-{i}" for i in range(SESSIONS)]
    assert all(r.ok for r in results), [r.error for r in results if not r.ok][:3]
    assert [r.job.tag for r in results] == [s.label for s in sessions]
    for r in results:
        assert r.receipt.sender.lower() == agent_key.address.lower()
    assert len({r.tx_hash for r in results}) == SESSIONS
    # and the chain agrees: each session once, each payment once, no extra transaction
    assert books.sent("owner") == SESSIONS // CHUNK
    assert books.sent("agent") == SESSIONS
    assert books.received("recipient") == SESSIONS * PAY
    assert manager.count() == count_before + SESSIONS
    listed = [s.state for s in manager.list_sessions() if s.state.label.startswith("job-")]
    assert sorted(s.label for s in listed) == sorted(f"job-{i}" for i in range(SESSIONS))
    assert all(s.budgets[NATIVE].spent == PAY for s in listed)
    for address in (owner_key.address, agent_key.address):
        assert nonce_of(chain_url, address, "pending") == nonce_of(chain_url, address)
    assert rule.fired >= 1, f"the fault was not exercised: {proxy.log}"


def test_persistently_dropped_batch_sends_fail_typed_and_leave_the_key_usable(proxy, chain_url, manager,
                                                                              owner_key, agent_key):
    """No raw-send batch ever reaches the node: after the bounded wait, create_sessions raises a typed error that
    names a transaction; nothing is on chain, no nonce stays reserved, and the next call works."""
    client = flaky_client(proxy.url)
    books = Books.take(chain_url, owner=owner_key.address)
    count_before = manager.count()
    proxy.add("eth_sendRawTransaction", "drop", times=1000)
    params = [SessionParams(agent=agent_key.address, expiry="1d", budgets={NATIVE: 5}, label=f"never-{i}")
              for i in range(SESSIONS)]

    start = time.monotonic()
    with pytest.raises(TransientRPCError) as info:
        client.manager(manager.address).create_sessions(params, owner_key, chunk_size=CHUNK)
    elapsed = time.monotonic() - start
    proxy.clear()

    assert getattr(info.value, "tx_hash", None), info.value
    assert elapsed < RECEIPT_TIMEOUT + 10
    assert books.sent("owner") == 0 and manager.count() == count_before
    assert nonce_of(chain_url, owner_key.address, "pending") == nonce_of(chain_url, owner_key.address)
    sessions = client.manager(manager.address).create_sessions(params[:CHUNK], owner_key, chunk_size=CHUNK)
    assert [s.label for s in sessions] == ["never-0", "never-1", "never-2"]
    assert books.sent("owner") == 1


def test_batch_sends_accepted_but_every_answer_lost_land_exactly_once(proxy, chain_url, manager, owner_key,
                                                                      agent_key, recipient):
    """Every raw-send batch reaches the node and no answer ever comes back: the pipeline resends the same bytes,
    then finds its transactions by hash, and waits for their receipts. Nothing is signed twice."""
    client = flaky_client(proxy.url)
    books = Books.take(chain_url, owner=owner_key.address, agent=agent_key.address, recipient=recipient)
    rule = proxy.add("eth_sendRawTransaction", "forward_drop", times=1000)

    sessions, results = workload(client, manager.address, owner_key, agent_key, recipient, "lost")

    assert [s.label for s in sessions] == [f"lost-{i}" for i in range(SESSIONS)]
    assert all(r.ok for r in results), [r.error for r in results if not r.ok][:3]
    assert rule.fired >= 2  # both pipelines' sends lost every answer
    assert books.sent("owner") == SESSIONS // CHUNK and books.sent("agent") == SESSIONS
    assert books.received("recipient") == SESSIONS * PAY
