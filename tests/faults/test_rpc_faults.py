"""Faults on single JSON-RPC requests, through the SDK: each one on each method the SDK's transactions and views
use. A recoverable fault must leave the operation done exactly once (nonces, balances, session count, label,
spent, the receipt's own hash); a persistent one must surface as a typed error after bounded retries, with no
side effect the error does not name.

The operation: the owner opens a session (gas estimate, nonce, fees, raw send, receipt), its agent pays the
recipient from it (the same again), and two views read it back (eth_call).
"""

from __future__ import annotations

import time

import pytest

from agent_sessions import ReceiptTimeout, TransientRPCError

from ._anvil import rpc
from .conftest import RECEIPT_TIMEOUT, RETRIES, TIMEOUT, Books, flaky_client, nonce_of

PAY = 7
BUDGET = 10**15

METHODS = (
    "eth_sendRawTransaction",
    "eth_getTransactionReceipt",
    "eth_call",
    "eth_estimateGas",
    "eth_getTransactionCount",
)
#: fault -> proxy options; each breaks two requests of the method in a row (``duplicate``: after one).
FAULTS = {
    "drop": {"kind": "drop"},
    "late-copy": {"kind": "delay", "delay": TIMEOUT + 0.3, "forward": "after"},
    "slow-node": {"kind": "delay", "delay": TIMEOUT + 0.3, "forward": "before"},
    "http500": {"kind": "http", "status": 500},
    "http502": {"kind": "http", "status": 502},
    "http503": {"kind": "http", "status": 503},
    "header-not-found": {"kind": "rpc_error", "code": -32603, "message": "header not found"},
    "error-after-forward": {"kind": "rpc_error", "code": -32603, "message": "internal error", "forward": True},
    "duplicate": {"kind": "duplicate", "skip": 1},
    "forward-drop": {"kind": "forward_drop"},
    "truncate": {"kind": "truncate"},
}


def operation(client, manager_address, owner_key, agent_key, recipient, params, label):
    manager = client.manager(manager_address)
    session = manager.create_session(params(label, eth=BUDGET), owner_key)
    receipt = session.execute(recipient, PAY, sender=agent_key)
    return session, receipt, manager.remaining(session), manager.state(session)


def assert_done_once(chain_url, manager, books, result, label, agent_key, count_before):
    session, receipt, remaining, state = result
    # the SDK's answers are the real ones: the session it named, the agent's own receipt, the right views
    assert state.label == label and state.id == session.id
    tx = rpc(chain_url, "eth_getTransactionByHash", [receipt.tx_hash])
    assert tx["from"].lower() == agent_key.address.lower() and receipt.ok
    assert remaining == BUDGET - PAY
    # and the chain agrees: one session, one payment, one transaction per key, nothing left pending
    assert books.sent("owner") == 1 and books.sent("agent") == 1
    assert books.received("recipient") == PAY
    assert manager.count() == count_before + 1
    assert len(manager.list_sessions(label=label)) == 1
    assert manager.budget(session.id).spent == PAY
    for key in ("owner", "agent"):
        address = books.addresses[key]
        assert nonce_of(chain_url, address, "pending") == nonce_of(chain_url, address)


@pytest.mark.parametrize("fault", list(FAULTS))
@pytest.mark.parametrize("method", METHODS)
def test_operation_completes_exactly_once_through_fault(method, fault, proxy, flaky, chain_url, manager,
                                                        owner_key, agent_key, recipient, params):
    if fault == "duplicate":  # a previous answer per method to replay, from another client
        operation(flaky, manager.address, owner_key, agent_key, recipient, params, "warm-up")
    client = flaky_client(proxy.url)  # fresh: fetches its nonces and fees again
    books = Books.take(chain_url, owner=owner_key.address, agent=agent_key.address, recipient=recipient)
    count_before = manager.count()
    rule = proxy.add(method, times=2, **FAULTS[fault])

    result = operation(client, manager.address, owner_key, agent_key, recipient, params, f"{method}/{fault}"[-31:])

    assert_done_once(chain_url, manager, books, result, f"{method}/{fault}"[-31:], agent_key, count_before)
    assert rule.fired == 2, f"the fault was not exercised: {proxy.log}"


def test_send_accepted_but_every_answer_lost_completes_once(proxy, chain_url, manager, owner_key,
                                                            agent_key, recipient, params):
    """The node takes every copy of the transaction but no answer ever comes back. The SDK must not sign a second
    transaction: it resends the same bytes, then finds its transaction by hash and waits for its receipt."""
    client = flaky_client(proxy.url)
    books = Books.take(chain_url, owner=owner_key.address, agent=agent_key.address, recipient=recipient)
    count_before = manager.count()
    rule = proxy.add("eth_sendRawTransaction", "forward_drop", times=100)

    result = operation(client, manager.address, owner_key, agent_key, recipient, params, "all-answers-lost")

    assert rule.fired == 2 * (RETRIES + 1)  # every attempt of both transactions, no more
    assert_done_once(chain_url, manager, books, result, "all-answers-lost", agent_key, count_before)


#: Persistent faults: (method, fault) -> the typed error expected.
PERSISTENT = {
    ("eth_estimateGas", "http503"): TransientRPCError,
    ("eth_getTransactionCount", "http503"): TransientRPCError,
    ("eth_call", "header-not-found"): TransientRPCError,
    ("eth_call", "late-copy"): TransientRPCError,
    ("eth_sendRawTransaction", "drop"): TransientRPCError,
    ("eth_sendRawTransaction", "http502"): TransientRPCError,
    ("eth_getTransactionReceipt", "http503"): ReceiptTimeout,
}


@pytest.mark.parametrize("method, fault", list(PERSISTENT), ids=[f"{m}-{f}" for m, f in PERSISTENT])
def test_persistent_fault_surfaces_as_typed_error_after_bounded_retries(method, fault, proxy, direct, chain_url,
                                                                         manager, owner_key, params):
    client = flaky_client(proxy.url)
    view_of = direct.manager(manager.address).create_session(params("for-views"), owner_key)
    books = Books.take(chain_url, owner=owner_key.address)
    count_before = manager.count()
    rule = proxy.add(method, times=1000, **{k: v for k, v in FAULTS[fault].items() if k != "skip"})
    flaky_manager = client.manager(manager.address)

    start = time.monotonic()
    with pytest.raises(PERSISTENT[(method, fault)]) as info:
        if method == "eth_call":
            flaky_manager.remaining(view_of)
        else:
            flaky_manager.create_session(params("never-twice"), owner_key)
    elapsed = time.monotonic() - start
    proxy.clear()
    per_attempt = TIMEOUT + 1.0  # a timeout plus the longest backoff

    if method == "eth_getTransactionReceipt":
        # the transaction went out: the error names it, it is mined exactly once, its receipt is there to fetch
        error = info.value
        assert error.tx_hash and error.tx_hash in str(error)
        assert RECEIPT_TIMEOUT <= elapsed < RECEIPT_TIMEOUT + per_attempt * (RETRIES + 1)
        assert client.sender(owner_key).wait(error.tx_hash).ok
        assert books.sent("owner") == 1 and manager.count() == count_before + 1
        assert len(manager.list_sessions(label="never-twice")) == 1
        return
    # bounded: the first attempt and RETRIES more, then the typed error; nothing happened on chain
    assert rule.seen == RETRIES + 1, proxy.log
    assert elapsed < per_attempt * (RETRIES + 1) + 1
    assert method in str(info.value)
    assert books.sent("owner") == 0 and manager.count() == count_before
    assert nonce_of(chain_url, owner_key.address, "pending") == nonce_of(chain_url, owner_key.address)
    if method == "eth_sendRawTransaction":
        error = info.value
        assert error.tx_hash in str(error)  # the transaction it could not send, by hash
    # and the same client carries on: no nonce was burnt or left reserved
    flaky_manager.create_session(params("after-the-storm"), owner_key)
    assert books.sent("owner") == 1
