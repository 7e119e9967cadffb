"""`agent-sessions node start|stop|status` (a real Anvil on a free port, recorded for later commands) and the
command as a process: `python -m agent_sessions`, one-line errors and exit codes without a traceback."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from scripts._ports import free_port

from .conftest import invoke


@pytest.fixture
def home(tmp_path, monkeypatch):
    path = tmp_path / "home"
    monkeypatch.setenv("AGENT_SESSIONS_HOME", str(path))
    monkeypatch.delenv("AGENT_SESSIONS_RPC", raising=False)
    monkeypatch.delenv("AGENT_SESSIONS_KEY", raising=False)
    yield path
    invoke("node", "stop")  # never leave a node behind, whatever the test did


def test_node_start_records_a_node_that_later_commands_use_then_stop(home):
    started = invoke("node", "start", "--json")
    assert started.code == 0, started
    record = started.json
    assert record["running"] is True and record["chain_id"] == 31337
    assert record["url"] == f"http://127.0.0.1:{record['port']}" and record["port"] != 8545
    assert json.loads((home / "node.json").read_text())["pid"] == record["pid"]
    again = invoke("node", "start", "--json")
    assert again.json["pid"] == record["pid"]  # one node, not two
    # later commands find it without --rpc
    deployed = invoke("deploy", "--json")
    assert deployed.code == 0, deployed
    assert deployed.json["chain_id"] == 31337 and deployed.json["manager_created"] is True
    assert invoke("list", "--json").json == []
    status = invoke("node", "status", "--json")
    assert status.code == 0 and status.json["block"] >= 2
    stopped = invoke("node", "stop", "--json")
    assert stopped.code == 0 and stopped.json["running"] is False
    assert not (home / "node.json").exists()
    down = invoke("node", "status")
    assert down.code == 1 and "not running" in down.out


def test_node_start_on_a_chosen_port(home):
    port = free_port()
    r = invoke("node", "start", "--port", port, "--json")
    assert r.code == 0 and r.json["port"] == port


def test_unreachable_node_is_one_line_and_exit_1(home):
    url = f"http://127.0.0.1:{free_port()}"  # nothing listens there
    r = invoke("list", "--rpc", url)
    assert r.code == 1
    lines = r.err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("Error: ") and "is the node running?" in lines[0]


def test_python_dash_m_runs_the_command(home):
    env = dict(os.environ, AGENT_SESSIONS_HOME=str(home))
    version = subprocess.run([sys.executable, "-m", "agent_sessions", "--version"], capture_output=True, text=True,
                             env=env, timeout=60)
    assert version.returncode == 0 and version.stdout.strip() == "agent-sessions, version 0.1.0"
    usage = subprocess.run([sys.executable, "-m", "agent_sessions", "inspect"], capture_output=True, text=True,
                           env=env, timeout=60)
    assert usage.returncode == 2 and "Missing argument 'ID'" in usage.stderr and "Traceback" not in usage.stderr
