"""Worlds for the `agent-sessions` command tests: the commands run through click's CliRunner against the Anvil that
`ape test` starts on a free port, exactly as a user's shell would run them (`--rpc URL`), the SDK talking to the
real node.

The world is spawned once per test session from a fleet spec by the command itself (`spawn --config`): a manager
"treasury" owned by development account 11 (funded here; the other suites on this node use accounts 0-9 and
expect to own every manager of account 0, so this suite stays out of their way; it is also the default signer), a test token CUSD (6 decimals), a root "swapper" (agent 1, ETH + CUSD, a child "scout"
of agent 2 spawned by the swapper) and a root "ops-today" (agent 3). Ape snapshots the chain around every test and
reverts it afterwards, so each test starts from that world. `AGENT_SESSIONS_HOME` points at a fresh directory per
test: no state leaks between tests or from the user's own node.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable
from urllib.parse import urlparse

import pytest
from click.testing import CliRunner, Result

from agent_sessions import AgentSessions
from agent_sessions.cli import cli
from agent_sessions.fleet.throughput import dev_keys
from tests.helpers import Run

#: The development account that owns the world's manager (and signs by default).
OWNER_INDEX = 11

SPEC = """\
chains:
  local: {{anvil: {{chain_id: 31337, port: {port}}}}}
keys: {{treasury: anvil:11, swapper: anvil:1, scout: anvil:2, ops: anvil:3}}
tokens:
  CUSD: {{decimals: 6, chains: {{local: {{deploy: test, mint: "1000000 CUSD"}}}}}}
managers: {{treasury: {{owner: treasury, salt: cli}}}}
sessions:
  - label: swapper
    chain: local
    manager: treasury
    agent: swapper
    expires: 30d
    period: 1d
    budgets:
      ETH: {{total: 1 ether, per_call: 0.25 ether, per_period: 0.5 ether}}
      CUSD: {{total: 1000 CUSD, per_call: 100 CUSD}}
    allow: any
    children:
      - {{label: scout, agent: scout, spawned_by: agent, budgets: {{ETH: 0.2 ether}}, allow: any}}
  - label: ops-today
    chain: local
    manager: treasury
    agent: ops
    expires: 1d
    budgets: {{ETH: 0.5 ether}}
    allow: any
"""


@pytest.fixture(scope="session")
def rpc_url(chain) -> str:
    uri = getattr(chain.provider, "uri", None) or os.environ.get("APE_FOUNDRY_HOST")
    assert uri, "no RPC URL: run through `ape test` with APE_FOUNDRY_HOST set"
    return uri


def invoke(*args: Any, env: dict[str, str] | None = None) -> Run:
    """``agent-sessions ARGS`` in-process; an unexpected exception (a traceback) fails the test at once."""
    runner = CliRunner(mix_stderr=False)
    result = runner.invoke(cli, [str(a) for a in args], catch_exceptions=True, prog_name="agent-sessions", env=env)
    if result.exception is not None and not isinstance(result.exception, SystemExit):
        raise AssertionError(f"agent-sessions {' '.join(map(str, args))} raised {result.exception!r}") \
            from result.exception
    return Run(result)


@pytest.fixture(scope="session")
def spec_file(rpc_url, tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("cli") / "fleet.yaml"
    path.write_text(SPEC.format(port=urlparse(rpc_url).port))
    return path


@pytest.fixture(scope="session")
def world(rpc_url, spec_file, tmp_path_factory) -> dict[str, Any]:
    """The fleet of SPEC, spawned by `agent-sessions spawn --config` (its JSON report)."""
    home = tmp_path_factory.mktemp("home")
    funder, treasury = dev_keys(1)[0], dev_keys(1, start=OWNER_INDEX)[0]
    AgentSessions(rpc_url).transfer(funder, treasury.address, 1000 * 10**18)
    run = invoke("spawn", "--config", spec_file, "--json", env={"AGENT_SESSIONS_HOME": str(home)})
    assert run.code == 0, run
    report = run.json
    ids = {label: s["id"] for label, s in report["sessions"].items()}
    assert set(ids) == {"swapper", "scout", "ops-today"}, report
    return {"ids": ids, "manager": report["managers"]["local"]["treasury"], "usdc": report["tokens"]["local"]["CUSD"],
            "report": report}


@pytest.fixture
def run(rpc_url, world, tmp_path, monkeypatch) -> Callable[..., Run]:
    """``run("list", "--json")``: the command against the test node (``--rpc``), a fresh state directory."""
    monkeypatch.setenv("AGENT_SESSIONS_HOME", str(tmp_path / "home"))
    monkeypatch.setenv("AGENT_SESSIONS_KEY", f"anvil:{OWNER_INDEX}")  # the world's owner signs unless --as
    monkeypatch.delenv("AGENT_SESSIONS_CONFIG", raising=False)
    monkeypatch.delenv("AGENT_SESSIONS_RPC", raising=False)

    def go(*args: Any) -> Run:
        if not args or args[0] == "node" or str(args[0]).startswith("-"):
            return invoke(*args)
        named = {"--manager", "--config", "--owner"} & {str(a) for a in args}
        if args[0] in ("deploy", "spawn") or named:
            return invoke(*args, "--rpc", rpc_url)
        # the world's manager: other suites on this node give account 0 managers of their own
        return invoke(*args, "--rpc", rpc_url, "--manager", world["manager"])

    return go
