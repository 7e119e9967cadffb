"""The package as a user gets it: the wheel, installed into a fresh virtualenv with no extras, runs the SDK and the
`agent-sessions` command against a real Anvil (on a free port) without Ape, pytest or Hypothesis.

pip may fetch the pinned runtime dependencies from the package index (its wheel cache makes re-runs quick).
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import textwrap
import zipfile
from pathlib import Path

import pytest

from scripts._ports import open_fresh_anvil

ROOT = Path(__file__).resolve().parents[2]

ROUND_TRIP = textwrap.dedent("""
    import json, sys
    import agent_sessions
    from agent_sessions import NATIVE, AgentSessions, SessionParams
    from agent_sessions.fleet.throughput import dev_keys

    owner, agent = dev_keys(2)
    client = AgentSessions(sys.argv[1])
    factory = client.ensure_factory(owner)
    manager = factory.deploy_manager(owner.address, salt=0, sender=owner)
    session = manager.create_session(SessionParams(agent=agent.address, expiry="1d", label="wheel",
                                                   budgets={NATIVE: "1 ether"}, any_target=True), owner)
    session.execute("0x000000000000000000000000000000000000dEaD", "0.25 ether", sender=agent)
    listed = manager.list_sessions()
    print(json.dumps({"file": agent_sessions.__file__, "ids": [s.id for s in listed],
                      "labels": [s.state.label for s in listed], "remaining": str(session.remaining(NATIVE)),
                      "manager": manager.address}))
""")


@pytest.fixture(scope="module")
def venv(tmp_path_factory) -> Path:
    """A fresh virtualenv with only the wheel of this checkout (and its pinned runtime dependencies)."""
    where = tmp_path_factory.mktemp("wheel")
    # build from a copy of the sources: setuptools writes build/ and *.egg-info next to them
    source = where / "source"
    shutil.copytree(ROOT / "sdk", source / "sdk", ignore=shutil.ignore_patterns("__pycache__", "*.egg-info"))
    shutil.copy(ROOT / "pyproject.toml", source / "pyproject.toml")
    subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--quiet",
                    "--disable-pip-version-check", "-w", str(where / "dist"), str(source)], check=True, timeout=600,
                   cwd=where)
    (wheel,) = (where / "dist").glob("agent_sessions-*.whl")
    env_dir = where / "venv"
    subprocess.run([sys.executable, "-m", "venv", str(env_dir)], check=True, timeout=120)
    subprocess.run([str(env_dir / "bin" / "pip"), "install", "--quiet", "--disable-pip-version-check", str(wheel)],
                   check=True, timeout=600, cwd=where)
    return env_dir


def run(venv: Path, *args: str, cwd: Path, **kwargs) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("APE_", "AGENT_SESSIONS_", "PYTHON"))}
    env["PATH"] = f"{venv / 'bin'}:{env.get('PATH', '')}"
    env["AGENT_SESSIONS_HOME"] = str(cwd / "home")
    return subprocess.run(list(args), capture_output=True, text=True, timeout=180, cwd=cwd, env=env, **kwargs)


def test_wheel_installs_without_extras_and_runs_the_sdk_and_the_command(venv, tmp_path):
    (wheel,) = (venv.parent / "dist").glob("agent_sessions-*.whl")
    names = zipfile.ZipFile(wheel).namelist()
    assert "agent_sessions/artifacts/IAgentSessions.json" in names
    assert "agent_sessions/artifacts/testing/TestToken.json" in names
    assert "agent_sessions/py.typed" in names and "agent_sessions/cli/_app.py" in names
    entry_points = next(n for n in names if n.endswith(".dist-info/entry_points.txt"))
    assert "agent-sessions = agent_sessions.cli:main" in zipfile.ZipFile(wheel).read(entry_points).decode()

    python = str(venv / "bin" / "python")
    missing = run(venv, python, "-c", "import importlib.util as u; print([m for m in ('ape', 'pytest', 'hypothesis', "
                                      "'agent_sessions') if u.find_spec(m) is None])", cwd=tmp_path)
    assert missing.stdout.strip() == "['ape', 'pytest', 'hypothesis']", missing

    # every module imports without the extras, but those that exist for them (Ape's plugin, the MCP wiring, the
    # Studio's web app; its command, which the CLI registers, imports without it)
    every = run(venv, python, "-c", "import importlib, pkgutil, agent_sessions as a; skip = {'agent_sessions.cli.ape_plugin', "
                                    "'agent_sessions.mcp.server'}; names = [m.name for m in pkgutil.walk_packages("
                                    "a.__path__, 'agent_sessions.') if m.name not in skip and (not m.name.startswith("
                                    "'agent_sessions.studio.') or m.name == 'agent_sessions.studio.command')]; "
                                    "[importlib.import_module(n) for n in names]; print(len(names))", cwd=tmp_path)
    assert every.returncode == 0 and int(every.stdout) > 30, every
    no_mcp = run(venv, str(venv / "bin" / "agent-sessions"), "mcp", "--rpc", "http://127.0.0.1:9", cwd=tmp_path)
    assert no_mcp.returncode == 1 and "pip install 'agent-sessions[mcp]'" in no_mcp.stderr, no_mcp

    version = run(venv, str(venv / "bin" / "agent-sessions"), "--version", cwd=tmp_path)
    assert version.returncode == 0 and version.stdout.strip() == "agent-sessions, version 0.1.0", version

    with open_fresh_anvil() as anvil:
        trip = run(venv, python, "-c", ROUND_TRIP, anvil.url, cwd=tmp_path)
        assert trip.returncode == 0, trip.stderr
        result = json.loads(trip.stdout)
        assert result["file"].startswith(str(venv)), result  # the installed copy, not the checkout
        assert result["ids"] == [1] and result["labels"] == ["wheel"]
        assert result["remaining"] == str(75 * 10**16)
        listed = run(venv, str(venv / "bin" / "agent-sessions"), "list", "--rpc", anvil.url, "--manager",
                     result["manager"], "--json", cwd=tmp_path)
        assert listed.returncode == 0, listed.stderr
        (row,) = json.loads(listed.stdout)
        assert (row["id"], row["label"], row["status"]) == (1, "wheel", "active")
        module = run(venv, python, "-m", "agent_sessions", "inspect", "1", "--rpc", anvil.url, "--manager",
                     result["manager"], cwd=tmp_path)
        assert module.returncode == 0 and "0.75 ETH" in module.stdout, module
