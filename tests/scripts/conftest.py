"""Worlds for the script tests: the commands run through click's CliRunner against the Anvil that `ape test`
starts (APE_FOUNDRY_HOST), exactly as `ape run <name>` would run them: the same click objects, Ape's network
connection (ConnectedProviderCommand), the SDK talking to the real node.

The world (canonical factory, the owner's manager, a 6-decimals token, three sessions) is built once per test
session through the SDK; Ape snapshots the chain around every test and reverts it afterwards, so each test starts
from the same world whatever the previous one sent. Every command invocation makes its own SDK client, so no
cached nonce outlives a revert.
"""

from __future__ import annotations

import importlib
import json
import os
from dataclasses import dataclass
from typing import Any, Callable

import click
import pytest
from click.testing import CliRunner, Result

from agent_sessions import NATIVE, AgentSessions, Contract, Manager, SessionParams
from agent_sessions.domain.admin import ensure_manager
from agent_sessions.fleet.throughput import dev_keys
from tests.helpers import Run

ETHER = 10**18
TUSD = 10**6  # the test token has 6 decimals


@pytest.fixture(scope="session")
def rpc_url(chain) -> str:
    uri = getattr(chain.provider, "uri", None) or os.environ.get("APE_FOUNDRY_HOST")
    assert uri, "no RPC URL: run through `ape test` with APE_FOUNDRY_HOST set"
    return uri


@pytest.fixture(scope="session")
def keys(accounts) -> list[Any]:
    """The test accounts' keys (owner = 0, agent = 1, sub-agent = 2, third agent = 3, payee = 4...)."""
    derived = dev_keys(10)
    assert [k.address for k in derived] == [a.address for a in list(accounts)[:10]]
    return derived


@dataclass(frozen=True)
class World:
    manager: str
    factory: str
    token: str
    #: session ids by label
    alpha: int
    beta: int
    gamma: int


@pytest.fixture(scope="session")
def world(rpc_url, keys) -> World:
    """The canonical factory, the owner's manager and three sessions:

    - #alpha (root, agent 1): 1 ETH (0.1 ETH spent) + 250 TUSD (10 TUSD per call), 1 day, period 1d, 5 calls/period
    - #beta (child of alpha, agent 2, spawned by agent 1): 0.3 ETH
    - #gamma (root, agent 3): 0.5 ETH, 2 hours
    """
    owner, agent, sub, third, payee = keys[:5]
    client = AgentSessions(rpc_url)
    deployment = ensure_manager(client, owner)
    manager = deployment.manager
    token = client.deploy("testing/TestToken", "Test USD", "TUSD", 6, sender=owner)
    token.transact("mint", owner.address, 10**18, sender=owner)
    token.transact("approve", manager.address, 2**256 - 1, sender=owner)
    alpha = manager.create_session(SessionParams(
        agent=agent.address, expiry="1d", any_target=True, label="alpha", period="1d", max_calls_per_period=5,
        budgets={NATIVE: "1 ether", token.address: {"amount": 250 * TUSD, "per_call_cap": 10 * TUSD}},
    ), owner)
    beta = alpha.spawn_child(SessionParams(agent=sub.address, expiry=alpha.state.expiry, any_target=True,
                                           label="beta", budgets={NATIVE: "0.3 ether"}), sender=agent)
    gamma = manager.create_session(SessionParams(agent=third.address, expiry="2h", any_target=True, label="gamma",
                                                 budgets={NATIVE: "0.5 ether"}), owner)
    alpha.execute(payee.address, "0.1 ether", sender=agent)
    return World(manager.address, deployment.factory.address, token.address, alpha.id, beta.id, gamma.id)


@pytest.fixture
def client(rpc_url, world) -> AgentSessions:
    """A fresh SDK client per test (no nonce cached across Ape's snapshot revert)."""
    return AgentSessions(rpc_url)


@pytest.fixture
def manager(client, world) -> Manager:
    return client.manager(world.manager)


@pytest.fixture
def token(client, world) -> Contract:
    return client.contract("testing/TestToken", world.token)


def load_command(name: str) -> click.Command:
    """The `cli` object of scripts/<name>.py, as `ape run <name>` finds it."""
    module = importlib.import_module(f"scripts.{name}")
    command = module.cli
    assert isinstance(command, click.Command)
    return command


@pytest.fixture(autouse=True)
def _own_state_dir(tmp_path, monkeypatch):
    """The commands record deployments in a state directory: a fresh one per test, never the user's."""
    monkeypatch.setenv("AGENT_SESSIONS_HOME", str(tmp_path / "agent-sessions-home"))
    for name in ("AGENT_SESSIONS_KEY", "AGENT_SESSIONS_RPC", "AGENT_SESSIONS_CONFIG"):
        monkeypatch.delenv(name, raising=False)


@pytest.fixture
def run(world) -> Callable[..., Run]:
    """``run("sessions", "list", "--json")``: invokes scripts/sessions.py's command in-process, as `ape run` would.

    Unexpected exceptions are not swallowed: a traceback fails the test at once."""

    def invoke(name: str, *args: Any, input: str | None = None) -> Run:
        runner = CliRunner(mix_stderr=False)
        result = runner.invoke(load_command(name), [str(a) for a in args], input=input, catch_exceptions=True,
                               prog_name=f"ape run {name}")
        if result.exception is not None and not isinstance(result.exception, SystemExit):
            raise AssertionError(f"{name} {' '.join(map(str, args))} raised {result.exception!r}") \
                from result.exception
        return Run(result)

    return invoke
