"""A transaction that fails because of another one mined before it in the same block is explained at its own
position in the block: the typed error with the state it met, not "replaying it did not revert".

The node here keeps its history (no --prune-history), as a production node does: the explanation traces the mined
transaction. (A pruned node has no state of earlier blocks to replay on; the SDK then falls back to the latest
state.)"""

from __future__ import annotations

import subprocess
import time

import pytest

from agent_sessions import NATIVE, AgentSessions, BudgetExceeded, SessionParams
from agent_sessions.chain.transport import explain_failure, wait_for_receipt
from agent_sessions.domain.deployment import ensure_deployment
from agent_sessions.fleet.chains import find_anvil, probe_chain_id
from agent_sessions.fleet.throughput import dev_keys
from scripts._ports import free_port

ETHER = 10**18
DEAD = "0x000000000000000000000000000000000000dEaD"


@pytest.fixture(scope="module")
def history_node():
    """An Anvil that keeps every state (the one `ape test` runs prunes its history), on a free port."""
    binary = find_anvil()
    port = free_port()
    process = subprocess.Popen([binary, "--port", str(port), "--silent", "--hardfork", "prague"],
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while probe_chain_id(url) != 31337:
            assert process.poll() is None and time.monotonic() < deadline, "anvil did not start"
            time.sleep(0.05)
        yield url
    finally:
        process.terminate()
        process.wait(10)


def test_a_spend_that_lost_the_race_in_its_block_is_explained_as_budget_exceeded(history_node):
    owner, agent = dev_keys(2)
    client = AgentSessions(history_node)
    factory = ensure_deployment(client, owner)
    manager = factory.deploy_manager(owner.address, salt=0, sender=owner)
    session = manager.create_session(SessionParams(agent=agent.address, expiry="1d", any_target=True,
                                                   budgets={NATIVE: "1 ether"}), owner)
    sender = client.sender(agent)
    data = manager.encode("execute", session.id, DEAD, 8 * ETHER // 10, b"")
    # both are signed against the same state: a fixed gas limit lets the second be mined (and fail)
    nonce = sender.reserve(2)
    first, second = (sender.sign(sender.unsigned(manager.address, data, 0, gas=200_000, nonce=n))
                     for n in (nonce, nonce + 1))
    client.rpc.request("evm_setAutomine", [False])
    try:
        for signed in (first, second):
            sender.submit(signed)
        client.rpc.request("evm_mine", [])
    finally:
        client.rpc.request("evm_setAutomine", [True])
    receipts = [wait_for_receipt(client.rpc, s.hash, timeout=10) for s in (first, second)]
    assert [r.ok for r in receipts] == [True, False]
    assert receipts[0].block_number == receipts[1].block_number  # one block, the first one won
    # a later top-up: replayed on the latest state the second spend would pass, so only its own position explains it
    manager.fund(session.id, NATIVE, "1 ether", sender=owner)

    error = explain_failure(client.rpc, second, receipts[1])

    assert isinstance(error, BudgetExceeded), error
    assert (error.session, error.token, error.requested, error.remaining) == (session.id, NATIVE, 8 * ETHER // 10,
                                                                              2 * ETHER // 10)
    assert error.tx_hash == second.hash and error.receipt == receipts[1]
