"""`agent-sessions mcp --relay URL`: a keyless agent acts through a relayer. The relayer (`agent-sessions relay
--http` on a free port, a funded key) and the MCP server (an agent key holding 0 ETH) run as processes; the MCP SDK's
own stdio client calls `execute`: the payment lands and the agent still has 0 ETH; an over-budget execute is
explained before anything is signed and never reaches the relayer; a relay fee above the session's cap is refused by
the relayer, in words; a relayer that cannot be reached is said so."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from typing import Any

import pytest
from eth_account import Account

from agent_sessions import NATIVE, AgentSessions, SessionParams
from agent_sessions.fleet.throughput import dev_keys
from agent_sessions.wallet import set_max_relay_fee

from .test_server import call, rpc_url  # noqa: F401 - the node fixture of that module

pytest.importorskip("mcp")

ETHER = 10**18
MILLI = 10**15
DEAD = "0x000000000000000000000000000000000000dEaD"


@pytest.fixture
def world(rpc_url) -> dict[str, Any]:
    """A manager of development account 12 with a session (0.1 ETH) for a fresh agent key that holds no ETH, relay
    fees up to 0.001 ETH allowed; development account 13 is the relayer (funded here)."""
    funder = dev_keys(1)[0]
    owner, relayer = dev_keys(2, start=12)
    client = AgentSessions(rpc_url)
    for account in (owner, relayer):
        if client.balance(account.address) < 100 * ETHER:
            client.transfer(funder, account.address, 1000 * ETHER)
    factory = client.ensure_factory(owner)
    existing = factory.managers_of(owner.address)
    manager = existing[0] if existing else factory.deploy_manager(owner.address, salt=0, sender=owner)
    agent = Account.create()
    session = manager.create_session(SessionParams(agent=agent.address, expiry="1d", label="mcp-relay",
                                                   any_target=True, budgets={NATIVE: "0.1 ether"}), owner)
    set_max_relay_fee(session, MILLI, owner)
    return {"client": client, "manager": manager, "session": session.id, "agent": agent, "relayer": relayer}


@pytest.fixture
def relayer(world, rpc_url, tmp_path):
    """`agent-sessions relay --http --port 0` for the world's manager; yields (url, process)."""
    env = dict(os.environ, AGENT_SESSIONS_HOME=str(tmp_path), TEST_RELAYER_KEY=world["relayer"].key.hex())
    process = subprocess.Popen([sys.executable, "-m", "agent_sessions", "relay", "--http", "--port", "0", "--rpc",
                                rpc_url, "--manager", world["manager"].address, "--as", "env:TEST_RELAYER_KEY"],
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
    try:
        first = json.loads(process.stdout.readline())
        assert first["relayer"] == world["relayer"].address
        yield first["listening"], process
    finally:
        process.terminate()
        process.wait(timeout=10)


def test_a_keyless_agent_pays_through_the_relayer(world, relayer, rpc_url):
    url, process = relayer
    client, sid, agent = world["client"], world["session"], world["agent"]
    relayer_nonce = client.w3.eth.get_transaction_count(world["relayer"].address)
    before = client.balance(DEAD)
    tools, results = call(rpc_url, world["manager"].address, agent.key.hex(), [
        ("execute", {"session": sid, "target": DEAD, "value": "0.01 ether"}),
        ("execute", {"session": sid, "target": DEAD, "value": "0.5 ether"}),  # over budget: never signed
    ], "--relay", url)
    (ok_err, ok), (over_err, over) = results

    description = {t.name: t for t in tools}["execute"].description
    assert f"through a relayer ({url})" in description and "maxRelayFee" in description

    assert not ok_err
    done = json.loads(ok)
    assert done["sent"] is True and done["relayed"] is True and done["relayer"] == url
    assert done["tx"].startswith("0x") and done["relay_fee"] == "0 ETH"
    assert done["remaining"] == {"ETH": "0.09 ETH"}
    assert client.balance(DEAD) - before == 10 * MILLI
    assert client.balance(agent.address) == 0
    assert client.w3.eth.get_transaction_count(agent.address) == 0

    assert over_err and over == (f"Error executing tool execute: BudgetExceeded: session {sid}: spending 0.5 ETH of "
                                 "ETH exceeds the remaining 0.09 ETH; nothing was sent")
    # the relayer sent one transaction and logged one outcome: the over-budget execute never reached it
    assert client.w3.eth.get_transaction_count(world["relayer"].address) == relayer_nonce + 1
    process.terminate()
    logged = [json.loads(line) for line in process.stdout.read().splitlines()]
    assert [(o["status"], o["tx"]) for o in logged] == [("mined", done["tx"])]


def test_a_relay_fee_within_the_cap_pays_the_relayer(world, relayer, rpc_url):
    url, _ = relayer
    client, sid = world["client"], world["session"]
    before = client.balance(DEAD)
    _, results = call(rpc_url, world["manager"].address, world["agent"].key.hex(),
                      [("execute", {"session": sid, "target": DEAD, "value": "0.01 ether"}),
                       ("spend_history", {"session": sid})],
                      "--relay", url, "--relay-fee", "0.001")
    (is_error, text), (history_error, history) = results
    assert not is_error and not history_error
    done = json.loads(text)
    assert done["relay_fee"] == "0.001 ETH" and done["remaining"] == {"ETH": "0.089 ETH"}
    assert client.balance(DEAD) - before == 10 * MILLI
    assert client.balance(world["agent"].address) == 0
    # the fee is ETH the session spent: in its history, and in its ETH spent (summed from the events)
    entries = json.loads(history)["entries"]
    assert sorted((e["kind"], e.get("value") or e.get("fee")) for e in entries) == [
        ("Executed", "0.01 ETH"), ("RelayFeePaid", "0.001 ETH")]
    assert world["manager"].state(sid).budgets[NATIVE].spent == 11 * MILLI


def test_a_relay_fee_above_the_cap_is_refused_in_words(world, relayer, rpc_url):
    url, _ = relayer
    client, sid = world["client"], world["session"]
    before = client.balance(DEAD)
    _, results = call(rpc_url, world["manager"].address, world["agent"].key.hex(),
                      [("execute", {"session": sid, "target": DEAD, "value": "0.01 ether"})],
                      "--relay", url, "--relay-fee", "0.002 ether")
    ((is_error, text),) = results
    assert is_error and text == (f"Error executing tool execute: RelayFeeAboveCap: session {sid}: a relay fee of "
                                 "0.002 ETH is above the cap 0.001 ETH of the session or an ancestor (a controller "
                                 f"sets it: setMaxRelayFee); the relayer at {url} refused it and sent nothing")
    assert client.balance(DEAD) == before and world["manager"].state(sid).budgets[NATIVE].available == ETHER // 10


def test_an_unreachable_relayer_is_said_in_words(world, rpc_url):
    from scripts._ports import free_port

    url = f"http://127.0.0.1:{free_port()}"  # nothing listens there
    _, results = call(rpc_url, world["manager"].address, world["agent"].key.hex(),
                      [("execute", {"session": world["session"], "target": DEAD, "value": "0.01 ether"})],
                      "--relay", url)
    ((is_error, text),) = results
    assert is_error and text.startswith(f"Error executing tool execute: the relayer at {url} could not be reached (")
    assert text.endswith("); the signed execute was not submitted")
