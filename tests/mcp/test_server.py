"""`agent-sessions mcp` end to end: the official MCP SDK's own stdio client starts the server as a process and
talks to it; the server acts on the Anvil `ape test` runs (a free port). Every tool is listed with its schema and
called; an over-budget execute is explained in words and nothing is sent; a revoked session is refused."""

from __future__ import annotations

import json
import os
import re
import sys
from typing import Any

import anyio
import pytest

from agent_sessions import NATIVE, AgentSessions, SessionParams
from agent_sessions.fleet.throughput import dev_keys

mcp = pytest.importorskip("mcp")
from mcp import ClientSession, StdioServerParameters, stdio_client  # noqa: E402

ETHER = 10**18
DEAD = "0x000000000000000000000000000000000000dEaD"
TOOLS = {"check_session_inventory", "session_status", "preflight", "execute", "transfer_token", "swap", "spawn_child",
         "checkpoint", "spend_history"}


@pytest.fixture(scope="module")
def rpc_url(chain) -> str:
    uri = getattr(chain.provider, "uri", None) or os.environ.get("APE_FOUNDRY_HOST")
    assert uri
    return uri


@pytest.fixture
def world(rpc_url) -> dict[str, Any]:
    """A manager of development account 12 (funded here: accounts 0-9 belong to the other suites on this node)
    with two sessions of agent 1: #a (1 ETH, 0.5 ETH per call) and #b (revoked)."""
    funder, agent, sub = dev_keys(3)
    owner = dev_keys(1, start=12)[0]
    client = AgentSessions(rpc_url)
    if client.balance(owner.address) < 100 * ETHER:
        client.transfer(funder, owner.address, 1000 * ETHER)
    factory = client.ensure_factory(owner)
    existing = factory.managers_of(owner.address)
    manager = existing[0] if existing else factory.deploy_manager(owner.address, salt=0, sender=owner)
    a = manager.create_session(SessionParams(
        agent=agent.address, expiry="1d", label="mcp-a", any_target=True,
        budgets={NATIVE: {"amount": "1 ether", "per_call_cap": "0.5 ether"}}), owner)
    b = manager.create_session(SessionParams(agent=agent.address, expiry="1d", label="mcp-b", any_target=True,
                                             budgets={NATIVE: "0.1 ether"}), owner)
    b.revoke(sender=owner)
    c = manager.create_session(SessionParams(agent=agent.address, expiry="1d", label="mcp-c", any_target=True,
                                             budgets={NATIVE: "0.2 ether"}), owner)
    return {"client": client, "manager": manager, "a": a.id, "b": b.id, "c": c.id, "agent": agent, "sub": sub}


def call(url: str, manager: str, agent_key: str, steps: list[tuple[str, dict[str, Any]]], *extra: str):
    """Start the server with the SDK's stdio client, list its tools, run ``steps``; returns (tools, results)."""
    params = StdioServerParameters(
        command=sys.executable,
        args=["-m", "agent_sessions", "mcp", "--rpc", url, "--manager", manager, "--as", "env:TEST_AGENT_KEY", *extra],
        env={"TEST_AGENT_KEY": agent_key, "AGENT_SESSIONS_HOME": os.environ.get("TMPDIR", "/tmp") + "/as-mcp-home"},
    )

    async def main():
        async with stdio_client(params) as (read, write):
            async with ClientSession(read, write) as session:
                await session.initialize()
                listed = await session.list_tools()
                results = []
                for name, arguments in steps:
                    result = await session.call_tool(name, arguments)
                    text = "".join(getattr(c, "text", "") for c in result.content)
                    results.append((result.is_error, text))
                return listed.tools, results

    return anyio.run(main)


def test_every_tool_is_listed_with_a_schema_and_a_description(world, rpc_url):
    tools, _ = call(rpc_url, world["manager"].address, world["agent"].key.hex(), [])
    by_name = {t.name: t for t in tools}
    assert set(by_name) == TOOLS  # owner powers are off unless asked for
    for tool in tools:
        assert tool.description and tool.input_schema["type"] == "object"
    execute = by_name["execute"].input_schema
    assert execute["required"] == ["session", "target"]
    assert "'0.1 ether'" in execute["properties"]["value"]["description"]


def test_owner_powers_add_their_tools_only_when_asked(world, rpc_url):
    tools, _ = call(rpc_url, world["manager"].address, world["agent"].key.hex(), [], "--owner-powers")
    assert {t.name for t in tools} == TOOLS | {"pause_session", "resume_session", "revoke_session"}


def test_each_tool_works_and_a_refusal_is_explained_with_nothing_sent(world, rpc_url):
    client, a, b = world["client"], world["a"], world["b"]
    agent, sub = world["agent"], world["sub"]
    nonce_before = client.w3.eth.get_transaction_count(agent.address)
    root = "0x" + "ab" * 32
    steps = [
        ("check_session_inventory", {}),
        ("session_status", {"session": a}),
        ("preflight", {"session": a, "target": DEAD, "value": "0.1 ether"}),
        ("execute", {"session": a, "target": DEAD, "value": "0.25 ether"}),
        ("execute", {"session": a, "target": DEAD, "value": "0.6 ether"}),   # over the per-call cap
        ("transfer_token", {"session": a, "token": "ETH", "to": DEAD, "amount": "0.05"}),
        ("spawn_child", {"parent": a, "agent": sub.address, "budget": "0.1 ether", "label": "helper"}),
        ("checkpoint", {"session": a, "root": root, "task_count": 3}),
        ("spend_history", {"session": a}),
        ("execute", {"session": b, "target": DEAD, "value": "0.01 ether"}),  # revoked
        ("session_status", {"session": b}),
        ("swap", {"session": a, "token_in": "ETH", "amount_in": "0.1", "token_out": DEAD, "min_amount_out": "0",
                  "target": DEAD, "data": "0x"}),
        ("execute", {"session": a, "target": DEAD, "value": "lots"}),
    ]
    _, results = call(rpc_url, world["manager"].address, agent.key.hex(), steps)
    (inv_err, inventory), (st_err, status), (pf_err, pre), (ex_err, executed), (over_err, over), \
        (tt_err, transferred), (sp_err, spawned), (cp_err, checkpointed), (hist_err, history), \
        (rev_err, revoked), (bst_err, b_status), (swap_err, swapped), (bad_err, bad) = results

    assert not inv_err
    mine = {s["id"]: s for s in json.loads(inventory)["sessions"]}
    assert mine[a]["budgets"]["ETH"]["remaining"] == "1 ETH" and mine[b]["status"] == "revoked"
    assert not st_err and json.loads(status)["can_act"] is True
    assert not pf_err and json.loads(pre) == {"ok": True, "session": a, "value": "0.1 ETH"}
    assert not ex_err and json.loads(executed)["remaining"] == {"ETH": "0.75 ETH"}

    assert over_err
    assert over == (f"Error executing tool execute: PerCallCapExceeded: session {a}: spending 0.6 ETH of ETH in one "
                    "call exceeds the per-call cap 0.5 ETH; nothing was sent")

    assert not tt_err and json.loads(transferred)["remaining"] == {"ETH": "0.7 ETH"}
    assert not sp_err and json.loads(spawned)["budgets"]["ETH"]["remaining"] == "0.1 ETH"
    assert not cp_err and json.loads(checkpointed)["task_count"] == 3
    assert not hist_err
    kinds = [(e["kind"], e.get("value") or e.get("amount")) for e in json.loads(history)["entries"]]
    assert kinds == [("Executed", "0.25 ETH"), ("TokenTransferred", "0.05 ETH")]

    assert rev_err and revoked == (f"Error executing tool execute: SessionNotActive: session {b} cannot act: it is "
                                   "revoked; nothing was sent")
    assert not bst_err and json.loads(b_status)["why"] == f"session {b} cannot act: it was revoked"
    # DEAD is no token the session may swap into: the contract's typed refusal, nothing sent
    assert swap_err and re.match(r"Error executing tool swap: (TokenNotEscrowed|NoBudgetRow): session \d+ ", swapped)
    assert swapped.endswith("; nothing was sent")
    assert bad_err and bad.startswith("Error executing tool execute: value: cannot read 'lots' as an amount")

    # over-budget, revoked and bad calls sent nothing: the agent sent exactly execute, transfer, spawn, checkpoint
    assert client.w3.eth.get_transaction_count(agent.address) == nonce_before + 4
    assert world["manager"].state(a).checkpoint_root == root


def test_an_over_budget_execute_says_what_was_asked_and_what_is_left_and_sends_nothing(world, rpc_url):
    client, agent = world["client"], world["agent"]
    nonce = client.w3.eth.get_transaction_count(agent.address)
    _, results = call(rpc_url, world["manager"].address, agent.key.hex(),
                      [("execute", {"session": world["c"], "target": DEAD, "value": "0.5 ether"})])
    ((is_error, text),) = results
    assert is_error and text == (f"Error executing tool execute: BudgetExceeded: session {world['c']}: spending "
                                 "0.5 ETH of ETH exceeds the remaining 0.2 ETH; nothing was sent")
    assert client.w3.eth.get_transaction_count(agent.address) == nonce


def test_a_session_outside_the_subtree_is_refused(world, rpc_url):
    _, results = call(rpc_url, world["manager"].address, world["agent"].key.hex(),
                      [("session_status", {"session": world["b"]})], "--session", str(world["a"]))
    ((is_error, text),) = results
    assert is_error and text == (f"Error executing tool session_status: session {world['b']} is outside the subtree "
                                 f"of session {world['a']} this server may act on")
